//! CONV_2D and DEPTHWISE_CONV_2D, int8 with per-channel requantisation, optimized (`conv2d_s8`,
//! `conv2d_s8_1x1`, `dwconv2d_s8_3x3`, `dwconv2d_s8`).
//!
//! Dispatch inside [`conv2d_s8`] (see the [module overview](super) for the two formulations):
//! - CONV_2D 1x1, stride 1, no padding: no im2col. Lanes (channels a multiple of 4, at least 16 pixels): a
//!   channel pair's filter rows widened once into `scratch`, 2 pixels x 2 channels SMLAD blocks reading the
//!   input rows (`dot_2x2_rows`); Wide: one int8 dot product per pixel and channel. Both fold
//!   `input_offset * sum(weights)` into the bias.
//! - Every other CONV_2D (any filter, stride, dilation and padding): im2col of 2 output pixels into
//!   `scratch`, then 2 pixels x 2 output channels SMLAD blocks (Lanes) or two vectorised dot products per
//!   channel (Wide).
//! - DEPTHWISE_CONV_2D 3x3, depth multiplier 1 (Lanes): 4 channels at a time, two taps per SMLAD; border pixels
//!   through a zero-point-padded copy of their window; leftover channels (not a multiple of 4) take the
//!   general path.
//! - Every other depthwise case: blocks of channels outer, pixels, taps, then the block's channels innermost.
//! - An input offset outside `-255..=255` (no valid int8 zero point gives one): the reference kernel.

use super::dsp::{
    dot_2x2_groups, dot_2x2_rows, halves_mut, hi16, lo16, pack16, sadd16, smlad, sxtb16, sxtb16_ror8, words_mut,
    Dw3x3Window,
};
use super::{le_i32, Engine, Requant};
use crate::program::ConvParams;
use crate::reference::conv2d_s8::operands_fit;
use crate::KernelError;

/// Scratch bytes [`conv2d_s8`] needs: `4 * filter_h * filter_w * in_channels + 3` for CONV_2D (two im2col
/// columns of `i16`, plus slack to align them to 4 bytes), 0 for DEPTHWISE_CONV_2D.
pub fn conv2d_s8_scratch_bytes(p: &ConvParams, depthwise: bool) -> usize {
    if depthwise {
        0
    } else {
        4 * p.filter_h as usize * p.filter_w as usize * p.input[3] as usize + 3
    }
}

/// Shapes in `usize`/`isize`, read once.
struct Geometry {
    in_h: usize,
    in_w: usize,
    in_c: usize,
    out_h: usize,
    out_w: usize,
    out_c: usize,
    k_h: usize,
    k_w: usize,
    stride_h: isize,
    stride_w: isize,
    dil_h: isize,
    dil_w: isize,
    pad_h: isize,
    pad_w: isize,
}

impl Geometry {
    fn new(p: &ConvParams) -> Self {
        Geometry {
            in_h: p.input[1] as usize,
            in_w: p.input[2] as usize,
            in_c: p.input[3] as usize,
            out_h: p.output[1] as usize,
            out_w: p.output[2] as usize,
            out_c: p.output[3] as usize,
            k_h: p.filter_h as usize,
            k_w: p.filter_w as usize,
            stride_h: p.stride_h as isize,
            stride_w: p.stride_w as isize,
            dil_h: p.dilation_h as isize,
            dil_w: p.dilation_w as isize,
            pad_h: p.pad_h as isize,
            pad_w: p.pad_w as isize,
        }
    }

    /// Batch, and top-left input coordinates of the window of flat output pixel `n`.
    #[inline(always)]
    fn origin(&self, n: usize) -> (usize, isize, isize) {
        let per_image = self.out_h * self.out_w;
        let (b, rem) = (n / per_image, n % per_image);
        let (oy, ox) = (rem / self.out_w, rem % self.out_w);
        (b, oy as isize * self.stride_h - self.pad_h, ox as isize * self.stride_w - self.pad_w)
    }

    /// Byte offset of input pixel `(b, y, x)` if it lies inside the image.
    #[inline(always)]
    fn pixel(&self, b: usize, y: isize, x: isize) -> Option<usize> {
        if y < 0 || x < 0 || y >= self.in_h as isize || x >= self.in_w as isize {
            None
        } else {
            Some(((b * self.in_h + y as usize) * self.in_w + x as usize) * self.in_c)
        }
    }
}

/// Run a convolution, bit-exact with [`crate::reference::conv2d_s8::conv2d_s8`] (same operands and layouts),
/// using `scratch` of at least [`conv2d_s8_scratch_bytes`] bytes.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_s8(
    p: &ConvParams,
    depthwise: bool,
    input: &[u8],
    filter: &[u8],
    bias: &[u8],
    multipliers: &[u8],
    shifts: &[u8],
    scratch: &mut [u8],
    output: &mut [u8],
) -> Result<(), KernelError> {
    let (i, f, b, m, s, o) = (input.len(), filter.len(), bias.len(), multipliers.len(), shifts.len(), output.len());
    let ok = operands_fit(p, depthwise, i, f, b, m, s, o) && scratch.len() >= conv2d_s8_scratch_bytes(p, depthwise);
    if !ok {
        return Err(KernelError::BadLength { kernel: if depthwise { "dwconv2d_s8" } else { "conv2d_s8" } });
    }
    if !(-255..=255).contains(&p.input_offset) {
        return crate::reference::conv2d_s8::conv2d_s8(p, depthwise, input, filter, bias, multipliers, shifts, output);
    }
    run(Engine::NATIVE, p, depthwise, input, filter, bias, multipliers, shifts, scratch, output);
    Ok(())
}

/// The kernel after validation, in the chosen formulation.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    engine: Engine,
    p: &ConvParams,
    depthwise: bool,
    input: &[u8],
    filter: &[u8],
    bias: &[u8],
    multipliers: &[u8],
    shifts: &[u8],
    scratch: &mut [u8],
    output: &mut [u8],
) {
    let batches = p.input[0] as usize;
    let (out_h, out_w, out_c) = (p.output[1] as usize, p.output[2] as usize, p.output[3] as usize);
    let (k_h, k_w) = (p.filter_h as usize, p.filter_w as usize);
    let g = Geometry::new(p);
    let mut consts =
        Consts { bias, multipliers, shifts, out_offset: p.output_offset, min: p.act_min, max: p.act_max, fused: false };
    consts.fused = (0..out_c).all(|oc| consts.requant(oc).is_fused());
    if !depthwise {
        match engine {
            Engine::Lanes if direct_1x1(&g, batches) => {
                conv_1x1_lanes(&g, batches, p.input_offset, input, filter, &consts, scratch, output)
            }
            Engine::Lanes => conv_im2col(&g, batches, p.input_offset, input, filter, &consts, scratch, output),
            Engine::Wide if is_1x1_s1(&g) => conv_1x1_wide(&g, batches, p.input_offset, input, filter, &consts, output),
            Engine::Wide => conv_wide(&g, batches, p.input_offset, input, filter, &consts, scratch, output),
        }
    } else if engine == Engine::Lanes && p.depth_multiplier == 1 && k_h == 3 && k_w == 3 {
        dwconv_3x3(&g, batches, p.input_offset, input, filter, &consts, output);
    } else {
        let dm = p.depth_multiplier as usize;
        dwconv_general(&g, dm, p.input_offset, input, filter, &consts, 0..batches * out_h * out_w, 0..out_c, output);
    }
}

/// Per-output-channel constants and the output range.
struct Consts<'a> {
    bias: &'a [u8],
    multipliers: &'a [u8],
    shifts: &'a [u8],
    out_offset: i32,
    min: i32,
    max: i32,
    /// Every channel's requantisation has the fused form.
    fused: bool,
}

impl Consts<'_> {
    #[inline(always)]
    fn bias(&self, oc: usize) -> i32 {
        if self.bias.is_empty() {
            0
        } else {
            le_i32(self.bias, oc)
        }
    }

    /// The requantisation of channel `oc`.
    #[inline(always)]
    fn requant(&self, oc: usize) -> Requant {
        Requant::new(le_i32(self.multipliers, oc), le_i32(self.shifts, oc))
    }

    /// Add the bias of channel `oc` to `acc`, requantise, offset and clamp.
    #[inline(always)]
    fn out(&self, acc: i32, oc: usize) -> u8 {
        self.out_with(acc.wrapping_add(self.bias(oc)), &self.requant(oc))
    }

    /// Requantise `acc` (bias already included) with `rq`, offset and clamp.
    #[inline(always)]
    fn out_with(&self, acc: i32, rq: &Requant) -> u8 {
        rq.output(acc, self.out_offset, self.min, self.max)
    }

    /// [`Consts::out_as`], with the output range known to be all of int8 when `FULL`.
    #[inline(always)]
    fn out_range<const FUSED: bool, const FULL: bool>(&self, acc: i32, rq: &Requant) -> u8 {
        if FULL {
            let v = if FUSED { rq.apply_fused(acc) } else { rq.apply(acc) };
            v.wrapping_add(self.out_offset).clamp(-128, 127) as i8 as u8
        } else {
            self.out_as::<FUSED>(acc, rq)
        }
    }

    /// [`Consts::out_with`], with the fused form known to apply when `FUSED`.
    #[inline(always)]
    fn out_as<const FUSED: bool>(&self, acc: i32, rq: &Requant) -> u8 {
        let v = if FUSED { rq.apply_fused(acc) } else { rq.apply(acc) };
        Requant::clamp(v, self.out_offset, self.min, self.max)
    }
}

// ---------------------------------------------------------------------------------------------------------
// CONV_2D: im2col of two pixels + 2x2 SMLAD block.
// ---------------------------------------------------------------------------------------------------------

/// Layout of a two-pixel column of `k` taps (one word per tap and pixel pair, `k` words in all): for each full
/// group `q` of 4 taps `t0..t3`, words `4q..4q+4` are pixel 0 `(t0, t2)`, pixel 1 `(t0, t2)`, pixel 0 `(t1, t3)`,
/// pixel 1 `(t1, t3)` (low halfword first: the lane order of SXTB16 and SXTB16 ROR 8 on the filter word); the
/// `k % 4` leftover taps follow, one word each holding `(pixel 0, pixel 1)`. Values are `x + input_offset`, or 0
/// where the tap falls in the padding.
#[allow(clippy::too_many_arguments)]
fn conv_im2col(
    g: &Geometry,
    batches: usize,
    input_offset: i32,
    input: &[u8],
    filter: &[u8],
    c: &Consts<'_>,
    scratch: &mut [u8],
    output: &mut [u8],
) {
    let k = g.k_h * g.k_w * g.in_c;
    let col = &mut words_mut(scratch)[..k];
    let pixels = batches * g.out_h * g.out_w;
    let out_c = g.out_c;
    let mut n = 0;
    while n < pixels {
        // An odd last pixel is computed twice and written once.
        let n1 = if n + 1 < pixels { n + 1 } else { n };
        fill_column(g, input_offset, input, n, 0, col);
        fill_column(g, input_offset, input, n1, 1, col);
        let (head, tail) = output[n * out_c..].split_at_mut(out_c);
        let out1 = if n1 != n { Some(&mut tail[..out_c]) } else { None };
        if c.fused {
            conv_channels::<true>(col, k, filter, c, head, out1);
        } else {
            conv_channels::<false>(col, k, filter, c, head, out1);
        }
        n += 2;
    }
}

/// A 1x1 convolution with stride 1 and no padding over whole 4-channel groups: output pixel `n` reads input
/// pixel `n`, so the input rows are the matrix operand as they lie. With fewer than 16 pixels the filter rows
/// widened per channel pair cost more than the im2col they save.
fn direct_1x1(g: &Geometry, batches: usize) -> bool {
    batches * g.out_h * g.out_w >= 16 && is_1x1_s1(g) && g.in_c % 4 == 0
}

/// A 1x1 convolution with stride 1 and no padding: output pixel `n` reads input pixel `n`.
fn is_1x1_s1(g: &Geometry) -> bool {
    g.k_h == 1
        && g.k_w == 1
        && g.stride_h == 1
        && g.stride_w == 1
        && g.pad_h == 0
        && g.pad_w == 0
        && g.out_h == g.in_h
        && g.out_w == g.in_w
        && g.in_c > 0
}

/// CONV_2D 1x1 without an im2col (see [`direct_1x1`]): pairs of output channels outer, their filter rows widened
/// once into `scratch` and `input_offset * sum(weights)` folded into their biases; pairs of pixels inner, read
/// straight from the input and widened on the fly ([`dot_2x2_rows`]). An odd last channel or pixel is computed
/// as a pair with itself and written once.
#[allow(clippy::too_many_arguments)]
fn conv_1x1_lanes(
    g: &Geometry,
    batches: usize,
    input_offset: i32,
    input: &[u8],
    filter: &[u8],
    c: &Consts<'_>,
    scratch: &mut [u8],
    output: &mut [u8],
) {
    let k = g.in_c;
    let out_c = g.out_c;
    let pixels = batches * g.out_h * g.out_w;
    let wcol = &mut words_mut(scratch)[..k];
    let mut oc = 0;
    while oc < out_c {
        let oc1 = if oc + 1 < out_c { oc + 1 } else { oc };
        let (w0, w1) = (&filter[oc * k..(oc + 1) * k], &filter[oc1 * k..(oc1 + 1) * k]);
        // Lane sums of the widened weights: SMLAD with (1, 1).
        const ONES: u32 = 0x0001_0001;
        let (mut s0, mut s1) = (0i32, 0i32);
        for ((d, u), v) in wcol.chunks_exact_mut(4).zip(w0.chunks_exact(4)).zip(w1.chunks_exact(4)) {
            let u = u32::from_le_bytes([u[0], u[1], u[2], u[3]]);
            let v = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
            let (u02, v02, u13, v13) = (sxtb16(u), sxtb16(v), sxtb16_ror8(u), sxtb16_ror8(v));
            s0 = smlad(u13, ONES, smlad(u02, ONES, s0));
            s1 = smlad(v13, ONES, smlad(v02, ONES, s1));
            d[0] = u02;
            d[1] = v02;
            d[2] = u13;
            d[3] = v13;
        }
        let b0 = c.bias(oc).wrapping_add(input_offset.wrapping_mul(s0));
        let b1 = c.bias(oc1).wrapping_add(input_offset.wrapping_mul(s1));
        let pair = Pair1x1 { oc, oc1, bias: [b0, b1], rq: [c.requant(oc), c.requant(oc1)] };
        let fused = pair.rq[0].is_fused() && pair.rq[1].is_fused();
        match (fused, c.min == -128 && c.max == 127) {
            (true, true) => conv_1x1_pixels::<true, true>(k, out_c, pixels, input, wcol, c, &pair, output),
            (true, false) => conv_1x1_pixels::<true, false>(k, out_c, pixels, input, wcol, c, &pair, output),
            (false, true) => conv_1x1_pixels::<false, true>(k, out_c, pixels, input, wcol, c, &pair, output),
            (false, false) => conv_1x1_pixels::<false, false>(k, out_c, pixels, input, wcol, c, &pair, output),
        }
        oc += 2;
    }
}

/// The two output channels of one [`conv_1x1_lanes`] pass.
struct Pair1x1 {
    /// The channels (equal for an odd last channel).
    oc: usize,
    oc1: usize,
    /// Their biases with `input_offset * sum(weights)` added.
    bias: [i32; 2],
    rq: [Requant; 2],
}

/// Every pixel of one channel pair of [`conv_1x1_lanes`]; `FUSED` when both channels' requantisation has the
/// fused form, `FULL` when the output range is all of int8 (the clamp is then one saturation).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn conv_1x1_pixels<const FUSED: bool, const FULL: bool>(
    k: usize,
    out_c: usize,
    pixels: usize,
    input: &[u8],
    wcol: &[u32],
    c: &Consts<'_>,
    pair: &Pair1x1,
    output: &mut [u8],
) {
    let (oc, oc1) = (pair.oc, pair.oc1);
    let [b0, b1] = pair.bias;
    let [r0, r1] = &pair.rq;
    let both = oc1 != oc;
    let full = pixels / 2;
    for (x, o) in input.chunks_exact(2 * k).zip(output.chunks_exact_mut(2 * out_c)).take(full) {
        let (x0, x1) = x.split_at(k);
        let [a00, a10, a01, a11] = dot_2x2_rows(x0, x1, wcol, [b0, b0, b1, b1]);
        let (o0, o1) = o.split_at_mut(out_c);
        o0[oc] = c.out_range::<FUSED, FULL>(a00, r0);
        o1[oc] = c.out_range::<FUSED, FULL>(a10, r0);
        if both {
            o0[oc1] = c.out_range::<FUSED, FULL>(a01, r1);
            o1[oc1] = c.out_range::<FUSED, FULL>(a11, r1);
        }
    }
    if pixels % 2 == 1 {
        let n = pixels - 1;
        let x0 = &input[n * k..(n + 1) * k];
        let [a00, _, a01, _] = dot_2x2_rows(x0, x0, wcol, [b0, b0, b1, b1]);
        output[n * out_c + oc] = c.out_range::<FUSED, FULL>(a00, r0);
        if both {
            output[n * out_c + oc1] = c.out_range::<FUSED, FULL>(a01, r1);
        }
    }
}

/// CONV_2D 1x1 with stride 1 and no padding for the host (see [`is_1x1_s1`]): output channels outer, with
/// `input_offset * sum(weights)` folded into the bias, then one int8 dot product per pixel straight from the
/// input rows (no im2col).
fn conv_1x1_wide(
    g: &Geometry,
    batches: usize,
    input_offset: i32,
    input: &[u8],
    filter: &[u8],
    c: &Consts<'_>,
    output: &mut [u8],
) {
    let k = g.in_c;
    let out_c = g.out_c;
    let pixels = batches * g.out_h * g.out_w;
    for (oc, w) in filter.chunks_exact(k).enumerate().take(out_c) {
        let sum: i32 = w.iter().map(|&b| b as i8 as i32).sum();
        let bias = c.bias(oc).wrapping_add(input_offset.wrapping_mul(sum));
        let rq = c.requant(oc);
        let full = c.min == -128 && c.max == 127;
        let outs = output.iter_mut().skip(oc).step_by(out_c).take(pixels);
        match (c.fused, full) {
            (true, true) => {
                for (o, x) in outs.zip(input.chunks_exact(k)) {
                    *o = c.out_range::<true, true>(bias.wrapping_add(dot_i8(x, w)), &rq);
                }
            }
            (true, false) => {
                for (o, x) in outs.zip(input.chunks_exact(k)) {
                    *o = c.out_range::<true, false>(bias.wrapping_add(dot_i8(x, w)), &rq);
                }
            }
            _ => {
                for (o, x) in outs.zip(input.chunks_exact(k)) {
                    *o = c.out_range::<false, false>(bias.wrapping_add(dot_i8(x, w)), &rq);
                }
            }
        }
    }
}

/// `sum x[i] * w[i]` (wrapping) over two int8 rows of equal length, in fixed blocks of 32 and 8 that the
/// compiler turns into widening multiply-adds (PMADDWD on x86).
#[inline(always)]
fn dot_i8(x: &[u8], w: &[u8]) -> i32 {
    #[inline(always)]
    fn block<const N: usize>(x: &[u8], w: &[u8]) -> i32 {
        let (Ok(x), Ok(w)) = (<&[u8; N]>::try_from(x), <&[u8; N]>::try_from(w)) else { return 0 };
        let mut part = 0i32;
        for i in 0..N {
            part = part.wrapping_add(x[i] as i8 as i16 as i32 * (w[i] as i8 as i16 as i32));
        }
        part
    }
    let w = &w[..x.len()];
    let mut sum = 0i32;
    let (mut x, mut w) = (x, w);
    while x.len() >= 32 {
        sum = sum.wrapping_add(block::<32>(&x[..32], &w[..32]));
        (x, w) = (&x[32..], &w[32..]);
    }
    while x.len() >= 8 {
        sum = sum.wrapping_add(block::<8>(&x[..8], &w[..8]));
        (x, w) = (&x[8..], &w[8..]);
    }
    for (&a, &b) in x.iter().zip(w) {
        sum = sum.wrapping_add(a as i8 as i32 * (b as i8 as i32));
    }
    sum
}

/// CONV_2D for the host: the im2col column of one pixel as `i16` (`x + input_offset`, 0 in the padding), then one
/// dot product per output channel, in loops the compiler vectorises.
#[allow(clippy::too_many_arguments)]
fn conv_wide(
    g: &Geometry,
    batches: usize,
    input_offset: i32,
    input: &[u8],
    filter: &[u8],
    c: &Consts<'_>,
    scratch: &mut [u8],
    output: &mut [u8],
) {
    let k = g.k_h * g.k_w * g.in_c;
    let (col0, rest) = halves_mut(scratch).split_at_mut(k);
    let col1 = &mut rest[..k];
    let out_c = g.out_c;
    let pixels = batches * g.out_h * g.out_w;
    let mut n = 0;
    while n < pixels {
        // An odd last pixel is computed twice and written once.
        let n1 = if n + 1 < pixels { n + 1 } else { n };
        fill_column_wide(g, input_offset, input, n, col0);
        fill_column_wide(g, input_offset, input, n1, col1);
        let mut oc = 0;
        // Two channels at a time when the columns are whole blocks (typically 1x1 convolutions); a partial block
        // is cheaper one channel at a time.
        while k % 32 == 0 && oc + 2 <= out_c {
            let [a00, a10, a01, a11] =
                dot_2x2_wide(col0, col1, &filter[oc * k..(oc + 1) * k], &filter[(oc + 1) * k..(oc + 2) * k]);
            for (j, (a0, a1)) in [(a00, a10), (a01, a11)].into_iter().enumerate() {
                let (bias, rq) = (c.bias(oc + j), c.requant(oc + j));
                if c.fused {
                    output[n * out_c + oc + j] = c.out_as::<true>(a0.wrapping_add(bias), &rq);
                    output[n1 * out_c + oc + j] = c.out_as::<true>(a1.wrapping_add(bias), &rq);
                } else {
                    output[n * out_c + oc + j] = c.out_as::<false>(a0.wrapping_add(bias), &rq);
                    output[n1 * out_c + oc + j] = c.out_as::<false>(a1.wrapping_add(bias), &rq);
                }
            }
            oc += 2;
        }
        for oc in oc..out_c {
            let w = &filter[oc * k..(oc + 1) * k];
            let (a0, a1) = (dot_wide(col0, w), dot_wide(col1, w));
            let (bias, rq) = (c.bias(oc), c.requant(oc));
            if c.fused {
                output[n * out_c + oc] = c.out_as::<true>(a0.wrapping_add(bias), &rq);
                output[n1 * out_c + oc] = c.out_as::<true>(a1.wrapping_add(bias), &rq);
            } else {
                output[n * out_c + oc] = c.out_as::<false>(a0.wrapping_add(bias), &rq);
                output[n1 * out_c + oc] = c.out_as::<false>(a1.wrapping_add(bias), &rq);
            }
        }
        n += 2;
    }
}

/// Output pixel `n`'s im2col column as `i16` (`x + input_offset`, 0 in the padding).
fn fill_column_wide(g: &Geometry, input_offset: i32, input: &[u8], n: usize, col: &mut [i16]) {
    let (b, y0, x0) = g.origin(n);
    let mut t = 0;
    for ky in 0..g.k_h {
        let y = y0 + ky as isize * g.dil_h;
        for kx in 0..g.k_w {
            let x = x0 + kx as isize * g.dil_w;
            let dst = &mut col[t..t + g.in_c];
            match g.pixel(b, y, x) {
                Some(at) => {
                    for (d, &s) in dst.iter_mut().zip(&input[at..at + g.in_c]) {
                        *d = (s as i8 as i32 + input_offset) as i16;
                    }
                }
                None => dst.fill(0),
            }
            t += g.in_c;
        }
    }
}

/// The four dot products of two `i16` columns with two int8 filter rows, `[x0 . w0, x1 . w0, x0 . w1, x1 . w1]`,
/// in blocks of 32 (each column block loaded once for both rows).
#[inline(always)]
fn dot_2x2_wide(x0: &[i16], x1: &[i16], w0: &[u8], w1: &[u8]) -> [i32; 4] {
    const BLOCK: usize = 32;
    let n = x0.len();
    let (xs, ws) = ([x0, &x1[..n]], [&w0[..n], &w1[..n]]);
    let full = n / BLOCK * BLOCK;
    let mut sums = [0i32; 4];
    let mut q = 0;
    while q < full {
        for (j, s) in sums.iter_mut().enumerate() {
            let (Ok(xc), Ok(wc)) = (
                <&[i16; BLOCK]>::try_from(&xs[j % 2][q..q + BLOCK]),
                <&[u8; BLOCK]>::try_from(&ws[j / 2][q..q + BLOCK]),
            ) else {
                continue;
            };
            let mut part = 0i32;
            for i in 0..BLOCK {
                part = part.wrapping_add(xc[i] as i32 * (wc[i] as i8 as i32));
            }
            *s = s.wrapping_add(part);
        }
        q += BLOCK;
    }
    for (j, s) in sums.iter_mut().enumerate() {
        for i in full..n {
            *s = s.wrapping_add(xs[j % 2][i] as i32 * (ws[j / 2][i] as i8 as i32));
        }
    }
    sums
}

/// `sum x[i] * w[i]` (wrapping) over `i16` values and int8 weights. Blocks of 32 with a fixed trip count are what
/// the compiler turns into widening multiply-adds (PMADDWD on x86).
#[inline(always)]
pub(crate) fn dot_wide(x: &[i16], w: &[u8]) -> i32 {
    const BLOCK: usize = 32;
    let w = &w[..x.len()];
    let full = x.len() / BLOCK * BLOCK;
    let (xb, xt) = x.split_at(full);
    let (wb, wt) = w.split_at(full);
    let mut sum = 0i32;
    for (xc, wc) in xb.chunks_exact(BLOCK).zip(wb.chunks_exact(BLOCK)) {
        let (Ok(xc), Ok(wc)) = (<&[i16; BLOCK]>::try_from(xc), <&[u8; BLOCK]>::try_from(wc)) else { continue };
        let mut part = 0i32;
        for i in 0..BLOCK {
            part = part.wrapping_add(xc[i] as i32 * (wc[i] as i8 as i32));
        }
        sum = sum.wrapping_add(part);
    }
    for (&x, &w) in xt.iter().zip(wt) {
        sum = sum.wrapping_add(x as i32 * (w as i8 as i32));
    }
    sum
}

/// Every output channel of a pixel pair whose two-pixel column is `col`: pairs of channels through the 2x2
/// block, an odd last channel through the 2x1 block. `out1` is `None` when the second pixel is a duplicate.
fn conv_channels<const FUSED: bool>(
    col: &[u32],
    k: usize,
    filter: &[u8],
    c: &Consts<'_>,
    out0: &mut [u8],
    mut out1: Option<&mut [u8]>,
) {
    let out_c = out0.len();
    let pairs = out_c / 2;
    for (q, w) in filter.chunks_exact(2 * k.max(1)).take(pairs).enumerate() {
        let oc = 2 * q;
        let (w0, w1) = w.split_at(k);
        let (b0, b1) = (c.bias(oc), c.bias(oc + 1));
        let [a00, a10, a01, a11] = dot_2x2(col, w0, w1, [b0, b0, b1, b1]);
        let (r0, r1) = (c.requant(oc), c.requant(oc + 1));
        if let [o0, o1, ..] = &mut out0[oc..] {
            *o0 = c.out_as::<FUSED>(a00, &r0);
            *o1 = c.out_as::<FUSED>(a01, &r1);
        }
        if let Some([o0, o1, ..]) = out1.as_deref_mut().map(|o| &mut o[oc..]) {
            *o0 = c.out_as::<FUSED>(a10, &r0);
            *o1 = c.out_as::<FUSED>(a11, &r1);
        }
    }
    if k == 0 {
        // No taps: every output is its bias, requantised.
        for oc in 0..2 * pairs {
            out0[oc] = c.out(0, oc);
            if let Some(o) = out1.as_deref_mut() {
                o[oc] = c.out(0, oc);
            }
        }
    }
    if out_c % 2 == 1 {
        let oc = out_c - 1;
        let [a00, a10] = dot_2x1(col, &filter[oc * k..(oc + 1) * k]);
        out0[oc] = c.out(a00, oc);
        if let Some(o) = out1 {
            o[oc] = c.out(a10, oc);
        }
    }
}

/// Word and half (false: low) of tap `t` of pixel `slot` in a two-pixel column whose full groups end at `full`.
#[inline(always)]
fn column_place(t: usize, slot: usize, full: usize) -> (usize, bool) {
    if t < full {
        (t / 4 * 4 + 2 * (t & 1) + slot, (t & 2) != 0)
    } else {
        (t, slot == 1)
    }
}

/// Write output pixel `n`'s im2col column into `slot` (0 or 1) of the two-pixel column `col`.
fn fill_column(g: &Geometry, input_offset: i32, input: &[u8], n: usize, slot: usize, col: &mut [u32]) {
    let (b, y0, x0) = g.origin(n);
    let cin = g.in_c;
    if cin % 4 == 0 {
        // Every tap is a whole number of 4-channel groups: widen a word of input at a time.
        let off2 = pack16(input_offset, input_offset);
        let groups_per_tap = cin / 4;
        let mut q = 0;
        for ky in 0..g.k_h {
            let y = y0 + ky as isize * g.dil_h;
            for kx in 0..g.k_w {
                let x = x0 + kx as isize * g.dil_w;
                let dst = &mut col[4 * q..4 * (q + groups_per_tap)];
                match g.pixel(b, y, x) {
                    Some(at) => {
                        for (d, s) in dst.chunks_exact_mut(4).zip(input[at..at + cin].chunks_exact(4)) {
                            let v = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                            d[slot] = sadd16(sxtb16(v), off2);
                            d[2 + slot] = sadd16(sxtb16_ror8(v), off2);
                        }
                    }
                    None => {
                        for d in dst.chunks_exact_mut(4) {
                            d[slot] = 0;
                            d[2 + slot] = 0;
                        }
                    }
                }
                q += groups_per_tap;
            }
        }
    } else {
        // Groups straddle taps: place one value at a time.
        let full = col.len() / 4 * 4;
        let mut t = 0;
        for ky in 0..g.k_h {
            let y = y0 + ky as isize * g.dil_h;
            for kx in 0..g.k_w {
                let x = x0 + kx as isize * g.dil_w;
                let at = g.pixel(b, y, x);
                for ic in 0..cin {
                    let v = match at {
                        Some(at) => input[at + ic] as i8 as i32 + input_offset,
                        None => 0,
                    };
                    let (word, high) = column_place(t, slot, full);
                    let old = col[word];
                    col[word] = if high { pack16(lo16(old), v) } else { pack16(v, hi16(old)) };
                    t += 1;
                }
            }
        }
    }
}

/// Dot products of the two-pixel column with two filter rows, added to `acc`: `[pixel 0 . w0, pixel 1 . w0,
/// pixel 0 . w1, pixel 1 . w1]`, wrapping like the reference's `i32` sums.
#[inline(always)]
pub(crate) fn dot_2x2(col: &[u32], w0: &[u8], w1: &[u8], acc: [i32; 4]) -> [i32; 4] {
    let full = col.len() / 4 * 4;
    let (body, tail) = col.split_at(full);
    let [mut a00, mut a10, mut a01, mut a11] = dot_2x2_groups(body, w0, w1, acc);
    for ((&x, &u), &v) in tail.iter().zip(&w0[full..]).zip(&w1[full..]) {
        let (u, v) = (u as i8 as i32, v as i8 as i32);
        a00 = a00.wrapping_add(lo16(x) * u);
        a10 = a10.wrapping_add(hi16(x) * u);
        a01 = a01.wrapping_add(lo16(x) * v);
        a11 = a11.wrapping_add(hi16(x) * v);
    }
    [a00, a10, a01, a11]
}

/// Dot products of the two-pixel column with one filter row: `[pixel 0 . w0, pixel 1 . w0]`.
#[inline(always)]
pub(crate) fn dot_2x1(col: &[u32], w0: &[u8]) -> [i32; 2] {
    let full = col.len() / 4 * 4;
    let (body, tail) = col.split_at(full);
    let (w0b, w0t) = w0.split_at(full);
    let (mut a00, mut a10) = (0i32, 0i32);
    for (x, u) in body.chunks_exact(4).zip(w0b.chunks_exact(4)) {
        let u = u32::from_le_bytes([u[0], u[1], u[2], u[3]]);
        let (u02, u13) = (sxtb16(u), sxtb16_ror8(u));
        a00 = smlad(x[0], u02, a00);
        a10 = smlad(x[1], u02, a10);
        a00 = smlad(x[2], u13, a00);
        a10 = smlad(x[3], u13, a10);
    }
    for (&x, &u) in tail.iter().zip(w0t) {
        let u = u as i8 as i32;
        a00 = a00.wrapping_add(lo16(x) * u);
        a10 = a10.wrapping_add(hi16(x) * u);
    }
    [a00, a10]
}

/// Shared with FULLY_CONNECTED: the two-pixel column of two input rows (`x + input_offset`), same layout as
/// [`conv_im2col`]'s, and the 2x2 / 2x1 dot blocks.
pub(crate) mod matmul {
    use super::{column_place, hi16, lo16, pack16, sadd16, sxtb16, sxtb16_ror8};
    pub(crate) use super::{dot_2x1, dot_2x2};

    /// Write row `x` (`x.len() == col.len()`), offset by `input_offset`, into `slot` of `col`; returns the sum
    /// of the offset values (wrapping).
    pub(crate) fn fill_row(x: &[u8], input_offset: i32, slot: usize, col: &mut [u32]) -> i32 {
        let full = col.len() / 4 * 4;
        let off2 = pack16(input_offset, input_offset);
        let (body, tail) = col.split_at_mut(full);
        let (xb, xt) = x.split_at(full);
        let mut sum = 0i32;
        for (d, s) in body.chunks_exact_mut(4).zip(xb.chunks_exact(4)) {
            let v = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
            let (e, o) = (sadd16(sxtb16(v), off2), sadd16(sxtb16_ror8(v), off2));
            sum = sum.wrapping_add(lo16(e) + hi16(e) + lo16(o) + hi16(o));
            d[slot] = e;
            d[2 + slot] = o;
        }
        for (t, &s) in xt.iter().enumerate() {
            let v = s as i8 as i32 + input_offset;
            sum = sum.wrapping_add(v);
            let (word, high) = column_place(full + t, slot, full);
            let d = &mut tail[word - full];
            *d = if high { pack16(lo16(*d), v) } else { pack16(v, hi16(*d)) };
        }
        sum
    }
}

// ---------------------------------------------------------------------------------------------------------
// DEPTHWISE_CONV_2D.
// ---------------------------------------------------------------------------------------------------------

/// Channels accumulated at once by the general depthwise path (its stack block of accumulators and
/// requantisation constants): 32 on the host for wide vectors, 16 on Cortex-M to keep the stack small.
const DW_BLOCK: usize = if super::dsp::HAS_DSP { 16 } else { 32 };

/// General depthwise convolution of output pixels `pixels` over output channels `channels`: blocks of channels
/// outer (their requantisation prepared once), pixels, then taps, then the block's channels innermost (a loop the
/// compiler vectorises); padding taps are skipped, so the sum is exactly the reference's, in another order.
#[allow(clippy::too_many_arguments)]
fn dwconv_general(
    g: &Geometry,
    dm: usize,
    input_offset: i32,
    input: &[u8],
    filter: &[u8],
    c: &Consts<'_>,
    pixels: core::ops::Range<usize>,
    channels: core::ops::Range<usize>,
    output: &mut [u8],
) {
    let out_c = g.out_c;
    // |x + input_offset| <= 383 fits i16; i16 x i16 -> i32 products vectorise well.
    let off = input_offset as i16;
    let mut start = channels.start;
    while start < channels.end {
        let end = (start + DW_BLOCK).min(channels.end);
        let nb = end - start;
        let mut rq = [Requant::new(1 << 30, -1); DW_BLOCK];
        let mut bias = [0i32; DW_BLOCK];
        for i in 0..nb {
            rq[i] = c.requant(start + i);
            bias[i] = c.bias(start + i);
        }
        let fused = rq[..nb].iter().all(Requant::is_fused);
        for n in pixels.clone() {
            let (b, y0, x0) = g.origin(n);
            let mut acc = bias;
            for ky in 0..g.k_h {
                let y = y0 + ky as isize * g.dil_h;
                for kx in 0..g.k_w {
                    let x = x0 + kx as isize * g.dil_w;
                    let Some(at) = g.pixel(b, y, x) else { continue };
                    let w = &filter[(ky * g.k_w + kx) * out_c + start..(ky * g.k_w + kx) * out_c + end];
                    if dm == 1 {
                        let xs = &input[at + start..at + end];
                        if let (Ok(w), Ok(xs)) = (<&[u8; DW_BLOCK]>::try_from(w), <&[u8; DW_BLOCK]>::try_from(xs)) {
                            for i in 0..DW_BLOCK {
                                acc[i] = acc[i].wrapping_add(w[i] as i8 as i32 * (xs[i] as i8 as i16 + off) as i32);
                            }
                        } else {
                            for ((a, &w), &x) in acc.iter_mut().zip(w).zip(xs) {
                                *a = a.wrapping_add(w as i8 as i32 * (x as i8 as i16 + off) as i32);
                            }
                        }
                    } else {
                        for (i, (a, &w)) in acc.iter_mut().zip(w).enumerate() {
                            let x = input[at + (start + i) / dm] as i8 as i32;
                            *a = a.wrapping_add(w as i8 as i32 * (x + input_offset));
                        }
                    }
                }
            }
            let out = &mut output[n * out_c + start..n * out_c + end];
            if fused {
                for ((o, &a), r) in out.iter_mut().zip(&acc).zip(&rq) {
                    *o = Requant::clamp(r.apply_fused(a), c.out_offset, c.min, c.max);
                }
            } else {
                for ((o, &a), r) in out.iter_mut().zip(&acc).zip(&rq) {
                    *o = c.out_with(a, r);
                }
            }
        }
        start = end;
    }
}

/// Depthwise 3x3, depth multiplier 1: groups of 4 channels outer, pixels inner.
fn dwconv_3x3(
    g: &Geometry,
    batches: usize,
    input_offset: i32,
    input: &[u8],
    filter: &[u8],
    c: &Consts<'_>,
    output: &mut [u8],
) {
    let ch = g.out_c;
    let window = Dw3x3Window::new(input, g.dil_w as usize * ch, g.dil_h as usize * g.in_w * ch);
    let groups = ch / 4;
    for q in 0..groups {
        let c0 = 4 * q;
        // Filter of the 4 channels in the order Dw3x3Window::mac consumes it.
        let wt = |t: usize, i: usize| filter[t * ch + c0 + i] as i8 as i32;
        let mut weights = [0u32; 18];
        for (half, (first, second)) in [(0, 2), (1, 3)].into_iter().enumerate() {
            for j in 0..4 {
                weights[9 * half + 2 * j] = pack16(wt(2 * j, first), wt(2 * j + 1, first));
                weights[9 * half + 2 * j + 1] = pack16(wt(2 * j, second), wt(2 * j + 1, second));
            }
            weights[9 * half + 8] = pack16(wt(8, first), wt(8, second));
        }
        // Interior pixels start from bias + input_offset * sum(weights).
        let mut init = [0i32; 4];
        for (i, v) in init.iter_mut().enumerate() {
            let sum: i32 = (0..9).map(|t| wt(t, i)).sum();
            *v = c.bias(c0 + i).wrapping_add(input_offset.wrapping_mul(sum));
        }
        let rq = [c.requant(c0), c.requant(c0 + 1), c.requant(c0 + 2), c.requant(c0 + 3)];
        let group = Dw3x3Group { c0, weights, init, rq };
        let args = (g, batches, input_offset, input, filter, c, &window, &group);
        match (rq.iter().all(Requant::is_fused), c.min == -128 && c.max == 127) {
            (true, true) => dw3x3_group::<true, true>(args, output),
            (true, false) => dw3x3_group::<true, false>(args, output),
            (false, true) => dw3x3_group::<false, true>(args, output),
            (false, false) => dw3x3_group::<false, false>(args, output),
        }
    }
    if groups * 4 < ch {
        dwconv_general(g, 1, input_offset, input, filter, c, 0..batches * g.out_h * g.out_w, groups * 4..ch, output);
    }
}

/// What the 3x3 depthwise kernel precomputes for one group of 4 channels.
struct Dw3x3Group {
    /// First channel.
    c0: usize,
    /// The filter of the 4 channels, as [`Dw3x3Window::mac`] takes it.
    weights: [u32; 18],
    /// `bias + input_offset * sum(weights)`: the start of an interior pixel's accumulators.
    init: [i32; 4],
    /// Requantisation of the 4 channels.
    rq: [Requant; 4],
}

/// Requantise the 4 accumulators of a group and write them at `output[at..at + 4]` (inlined into the pixel loop).
#[inline(always)]
fn dw3x3_store<const FUSED: bool, const FULL: bool>(
    c: &Consts<'_>,
    rq: &[Requant; 4],
    output: &mut [u8],
    at: usize,
    [a0, a1, a2, a3]: [i32; 4],
) {
    let o = [
        c.out_range::<FUSED, FULL>(a0, &rq[0]),
        c.out_range::<FUSED, FULL>(a1, &rq[1]),
        c.out_range::<FUSED, FULL>(a2, &rq[2]),
        c.out_range::<FUSED, FULL>(a3, &rq[3]),
    ];
    output[at..at + 4].copy_from_slice(&o);
}

/// What [`dw3x3_group`] reads: geometry, batches, input offset, input, filter, constants, the input's windows and
/// the group.
type Dw3x3Args<'a, 'b> =
    (&'a Geometry, usize, i32, &'a [u8], &'a [u8], &'a Consts<'b>, &'a Dw3x3Window<'b>, &'a Dw3x3Group);

/// All output pixels of one 4-channel group; `FUSED` when every channel's requantisation has the fused form,
/// `FULL` when the output range is all of int8 (the clamp is then one saturation).
#[inline(always)]
fn dw3x3_group<const FUSED: bool, const FULL: bool>(args: Dw3x3Args<'_, '_>, output: &mut [u8]) {
    let (g, batches, input_offset, input, filter, c, window, group) = args;
    let ch = g.out_c;
    let c0 = group.c0;
    let (span_h, span_w) = (2 * g.dil_h, 2 * g.dil_w);
    let rq = &group.rq;
    let store =
        |output: &mut [u8], n: usize, acc: [i32; 4]| dw3x3_store::<FUSED, FULL>(c, rq, output, n * ch + c0, acc);
    // A border pixel: copy its window, the padding taps holding the zero point (x + input_offset = 0, so they add
    // nothing beyond the input_offset * sum(weights) already in `init`); without an int8 zero point, the general
    // path.
    // Output pixel `n` of batch `b` has its window's top-left input pixel at (y0, x0).
    let border = |output: &mut [u8], n: usize, b: usize, y0: isize, x0: isize| {
        if let Ok(zero_point) = i8::try_from(-input_offset) {
            let mut taps = [zero_point as u8; 36];
            for (ky, row) in taps.chunks_exact_mut(12).enumerate() {
                let y = y0 + ky as isize * g.dil_h;
                if y < 0 || y >= g.in_h as isize {
                    continue;
                }
                let line = ((b * g.in_h + y as usize) * g.in_w) * ch + c0;
                for (kx, dst) in row.chunks_exact_mut(4).enumerate() {
                    let x = x0 + kx as isize * g.dil_w;
                    if x >= 0 && x < g.in_w as isize {
                        let at = line + x as usize * ch;
                        dst.copy_from_slice(&input[at..at + 4]);
                    }
                }
            }
            store(output, n, Dw3x3Window::new(&taps, 4, 12).mac(0, &group.weights, group.init));
        } else {
            dwconv_general(g, 1, input_offset, input, filter, c, n..n + 1, c0..c0 + 4, output);
        }
    };
    // Output columns whose window lies inside the image horizontally: x0 = ox * stride - pad >= 0 and
    // x0 + span_w < in_w.
    let (sw, pw) = (g.stride_w, g.pad_w);
    let first = ((pw + sw - 1) / sw).clamp(0, g.out_w as isize) as usize;
    let limit = g.in_w as isize - span_w + pw;
    let end = if limit > 0 { ((limit + sw - 1) / sw).clamp(0, g.out_w as isize) as usize } else { 0 };
    let end = end.max(first);
    let step = g.stride_w as usize * ch;
    for b in 0..batches {
        for oy in 0..g.out_h {
            let row = (b * g.out_h + oy) * g.out_w;
            let y0 = oy as isize * g.stride_h - g.pad_h;
            let x0_of = |n: usize| (n - row) as isize * sw - pw;
            if !(y0 >= 0 && y0 + span_h < g.in_h as isize) {
                for n in row..row + g.out_w {
                    border(output, n, b, y0, x0_of(n));
                }
                continue;
            }
            for n in row..row + first {
                border(output, n, b, y0, x0_of(n));
            }
            let x0 = first as isize * sw - pw;
            // Wrapping: with no interior column (`end <= first`) `x0` may be negative and `base` is never used.
            let mut base =
                ((b * g.in_h + y0 as usize) * g.in_w).wrapping_add(x0 as usize).wrapping_mul(ch).wrapping_add(c0);
            for n in row + first..row + end {
                dw3x3_store::<FUSED, FULL>(c, rq, output, n * ch + c0, window.mac(base, &group.weights, group.init));
                base += step;
            }
            for n in row + end..row + g.out_w {
                border(output, n, b, y0, x0_of(n));
            }
        }
    }
}
