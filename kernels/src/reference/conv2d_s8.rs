//! CONV_2D and DEPTHWISE_CONV_2D, int8 with per-channel requantisation (`conv2d_s8`, `dwconv2d_s8`).

use super::access::{ByteSink, ByteSource};
use super::{clamp_s8, le_i32};
use crate::program::ConvParams;
use crate::quant::multiply_by_quantized_multiplier;
use crate::KernelError;

/// Scratch bytes of the reference convolutions: none.
pub fn conv2d_s8_scratch_bytes(_params: &ConvParams) -> usize {
    0
}

/// Whether operands of these byte lengths fit a convolution of `p` (the layouts [`conv2d_s8`] documents), with
/// non-zero strides. Shared by the reference and the optimized convolutions.
#[allow(clippy::too_many_arguments)]
pub(crate) fn operands_fit(
    p: &ConvParams,
    depthwise: bool,
    input: usize,
    filter: usize,
    bias: usize,
    multipliers: usize,
    shifts: usize,
    output: usize,
) -> bool {
    let [batches, in_h, in_w, in_c] = p.input.map(|d| d as usize);
    let [_, out_h, out_w, out_c] = p.output.map(|d| d as usize);
    let (k_h, k_w) = (p.filter_h as usize, p.filter_w as usize);
    let filter_len = if depthwise { k_h * k_w * out_c } else { out_c * k_h * k_w * in_c };
    input == batches * in_h * in_w * in_c
        && output == batches * out_h * out_w * out_c
        && filter == filter_len
        && (bias == 0 || bias == 4 * out_c)
        && multipliers == 4 * out_c
        && shifts == 4 * out_c
        && (!depthwise || out_c == in_c * p.depth_multiplier as usize)
        && p.stride_h > 0
        && p.stride_w > 0
}

/// Run a convolution. `depthwise` selects DEPTHWISE_CONV_2D (filter `[1, kh, kw, cout]`, `cout = cin *
/// depth_multiplier`) instead of CONV_2D (filter `[cout, kh, kw, cin]`). `bias` holds `cout` little-endian
/// `i32`s or is empty; `multipliers` and `shifts` hold `cout` little-endian `i32`s each.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_s8(
    p: &ConvParams,
    depthwise: bool,
    input: &[u8],
    filter: &[u8],
    bias: &[u8],
    multipliers: &[u8],
    shifts: &[u8],
    output: &mut [u8],
) -> Result<(), KernelError> {
    conv2d_s8_over(p, depthwise, input, filter, bias, multipliers, shifts, output)
}

/// [`conv2d_s8`] reading its input through a [`ByteSource`] and writing through a [`ByteSink`]: the same loop
/// over plain slices or over one arena whose output may overlap the input (output row-major, each output
/// element computed from its window, then written; [`crate::memory`] derives the allowed overlap from this
/// order).
#[allow(clippy::too_many_arguments)]
pub fn conv2d_s8_over<I: ByteSource + ?Sized, O: ByteSink + ?Sized>(
    p: &ConvParams,
    depthwise: bool,
    input: &I,
    filter: &[u8],
    bias: &[u8],
    multipliers: &[u8],
    shifts: &[u8],
    output: &mut O,
) -> Result<(), KernelError> {
    let out_h = p.output[1] as usize;
    conv2d_s8_rows(p, depthwise, input, filter, bias, multipliers, shifts, output, 0..out_h)
}

/// [`conv2d_s8_over`] computing only the output rows `rows` (of every batch): the same per-element loop, so a
/// row computed here is bit-identical to that row of a whole run. Row-streamed execution
/// ([`crate::stream`]) calls it one row at a time, with its input and output seen through ring buffers.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_s8_rows<I: ByteSource + ?Sized, O: ByteSink + ?Sized>(
    p: &ConvParams,
    depthwise: bool,
    input: &I,
    filter: &[u8],
    bias: &[u8],
    multipliers: &[u8],
    shifts: &[u8],
    output: &mut O,
    rows: core::ops::Range<usize>,
) -> Result<(), KernelError> {
    let (input_len, output_len) = (input.byte_len(), output.byte_len());
    if !operands_fit(p, depthwise, input_len, filter.len(), bias.len(), multipliers.len(), shifts.len(), output_len) {
        return Err(KernelError::BadLength { kernel: if depthwise { "dwconv2d_s8" } else { "conv2d_s8" } });
    }
    let [batches, in_h, in_w, in_c] = p.input.map(|d| d as usize);
    let [_, out_h, out_w, out_c] = p.output.map(|d| d as usize);
    let (k_h, k_w) = (p.filter_h as usize, p.filter_w as usize);
    let (stride_h, stride_w) = (p.stride_h as isize, p.stride_w as isize);
    let (dil_h, dil_w) = (p.dilation_h as isize, p.dilation_w as isize);
    for b in 0..batches {
        for oy in rows.start..rows.end.min(out_h) {
            for ox in 0..out_w {
                let y0 = oy as isize * stride_h - p.pad_h as isize;
                let x0 = ox as isize * stride_w - p.pad_w as isize;
                for oc in 0..out_c {
                    let mut acc: i32 = 0;
                    for ky in 0..k_h {
                        let y = y0 + ky as isize * dil_h;
                        if y < 0 || y >= in_h as isize {
                            continue;
                        }
                        for kx in 0..k_w {
                            let x = x0 + kx as isize * dil_w;
                            if x < 0 || x >= in_w as isize {
                                continue;
                            }
                            let pixel = input.row_start(b * in_h + y as usize, in_w * in_c) + x as usize * in_c;
                            if depthwise {
                                let ic = oc / p.depth_multiplier as usize;
                                let w = filter[(ky * k_w + kx) * out_c + oc] as i8 as i32;
                                acc = acc.wrapping_add(w * (input.byte(pixel + ic) as i8 as i32 + p.input_offset));
                            } else {
                                let row = ((oc * k_h + ky) * k_w + kx) * in_c;
                                for ic in 0..in_c {
                                    let w = filter[row + ic] as i8 as i32;
                                    acc = acc.wrapping_add(w * (input.byte(pixel + ic) as i8 as i32 + p.input_offset));
                                }
                            }
                        }
                    }
                    let at = output.out_row_start(b * out_h + oy, out_w * out_c) + ox * out_c + oc;
                    output.set_byte(at, requantize(p, acc, bias, multipliers, shifts, oc));
                }
            }
        }
    }
    Ok(())
}

/// Output channel `oc`'s byte from its accumulator: the bias added (when there is one), requantised by the
/// channel's multiplier and shift, offset and clamped to the activation range.
fn requantize(p: &ConvParams, acc: i32, bias: &[u8], multipliers: &[u8], shifts: &[u8], oc: usize) -> u8 {
    let acc = if bias.is_empty() { acc } else { acc.wrapping_add(le_i32(bias, oc)) };
    let scaled = multiply_by_quantized_multiplier(acc, le_i32(multipliers, oc), le_i32(shifts, oc));
    clamp_s8(scaled.wrapping_add(p.output_offset), p.act_min, p.act_max)
}

/// Bytes of the window [`conv2d_s8_rows_gathered`] gathers on the stack.
pub const GATHER_BYTES: usize = 1024;

/// Taps (window positions) [`conv2d_s8_rows_gathered`] tracks on the stack.
const GATHER_TAPS: usize = 64;

/// [`conv2d_s8_rows`] for CONV_2D that first copies each output pixel's window into a stack buffer (when it
/// fits [`GATHER_BYTES`] and at most 64 taps; otherwise it runs [`conv2d_s8_rows`]), then computes every output
/// channel from that plain copy. The same integer arithmetic (wrapping sums are order-free), so the same bytes;
/// all of a pixel's input bytes are read before any of its outputs is written, which only moves reads earlier
/// than the per-element order [`crate::memory`] assumes. For inputs read through a ring of rows, where every
/// byte read costs a wrap test, this reads each window byte once per pixel instead of once per output channel.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_s8_rows_gathered<I: ByteSource + ?Sized, O: ByteSink + ?Sized>(
    p: &ConvParams,
    input: &I,
    filter: &[u8],
    bias: &[u8],
    multipliers: &[u8],
    shifts: &[u8],
    output: &mut O,
    rows: core::ops::Range<usize>,
) -> Result<(), KernelError> {
    let [_, _, _, in_c] = p.input.map(|d| d as usize);
    let (k_h, k_w) = (p.filter_h as usize, p.filter_w as usize);
    if k_h * k_w > GATHER_TAPS || k_h * k_w * in_c > GATHER_BYTES {
        return conv2d_s8_rows(p, false, input, filter, bias, multipliers, shifts, output, rows);
    }
    let (input_len, output_len) = (input.byte_len(), output.byte_len());
    if !operands_fit(p, false, input_len, filter.len(), bias.len(), multipliers.len(), shifts.len(), output_len) {
        return Err(KernelError::BadLength { kernel: "conv2d_s8" });
    }
    let [batches, in_h, in_w, _] = p.input.map(|d| d as usize);
    let [_, out_h, out_w, out_c] = p.output.map(|d| d as usize);
    let (stride_h, stride_w) = (p.stride_h as isize, p.stride_w as isize);
    let (dil_h, dil_w) = (p.dilation_h as isize, p.dilation_w as isize);
    let mut window = [0u8; GATHER_BYTES];
    let mut inside = [false; GATHER_TAPS];
    for b in 0..batches {
        for oy in rows.start..rows.end.min(out_h) {
            for ox in 0..out_w {
                let y0 = oy as isize * stride_h - p.pad_h as isize;
                let x0 = ox as isize * stride_w - p.pad_w as isize;
                for ky in 0..k_h {
                    let y = y0 + ky as isize * dil_h;
                    for kx in 0..k_w {
                        let x = x0 + kx as isize * dil_w;
                        let tap = ky * k_w + kx;
                        inside[tap] = y >= 0 && y < in_h as isize && x >= 0 && x < in_w as isize;
                        if inside[tap] {
                            let pixel = input.row_start(b * in_h + y as usize, in_w * in_c) + x as usize * in_c;
                            for ic in 0..in_c {
                                window[tap * in_c + ic] = input.byte(pixel + ic);
                            }
                        }
                    }
                }
                for oc in 0..out_c {
                    let mut acc: i32 = 0;
                    for tap in (0..k_h * k_w).filter(|&t| inside[t]) {
                        let weights = &filter[(oc * k_h * k_w + tap) * in_c..][..in_c];
                        let values = &window[tap * in_c..][..in_c];
                        for (&w, &v) in weights.iter().zip(values) {
                            acc = acc.wrapping_add(w as i8 as i32 * (v as i8 as i32 + p.input_offset));
                        }
                    }
                    let at = output.out_row_start(b * out_h + oy, out_w * out_c) + ox * out_c + oc;
                    output.set_byte(at, requantize(p, acc, bias, multipliers, shifts, oc));
                }
            }
        }
    }
    Ok(())
}
