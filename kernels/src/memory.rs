//! The memory behaviour of each kernel: which of a step's inputs its output may overlap, and by how much.
//!
//! Every step writes its output into the arena. By default the output must be disjoint from every arena
//! input. A kernel that reads each input byte before it writes over it can instead run with its output placed
//! *over* an input, as long as the output begins at least `d` bytes before that input:
//! `output.start + d <= input.start` (placing the output lower still, or wholly disjoint, is also correct).
//! [`output_lead_bytes`] declares that `d` per kernel, variant, parameters and input; `None` means the output
//! must stay disjoint from the input.
//!
//! - Elementwise kernels (RELU, RELU6, LEAKY_RELU, HARD_SWISH, LOGISTIC, TANH, QUANTIZE, the byte copy of
//!   RESHAPE/SQUEEZE/EXPAND_DIMS, and ADD, SUB, MUL, MAXIMUM, MINIMUM when that input is not broadcast): `d = 0`
//!   (in place), with input and output of equal length. Run aliased, they process the input in small chunks
//!   read into the stack before the chunk's output is written.
//! - The reference CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D and MAX_POOL_2D: `d` derived exactly from the
//!   kernel's loop order ([`window_lead_bytes`]): the output is written row-major, one element at a time,
//!   each after reading its whole window. Writing output element `q` at input position `q - d` is harmless
//!   when every input byte read after that write lies at or above `q - d + 1`; `d` is the least lead for which
//!   that holds for every `q`.
//! - A row-streamed fused segment ([`KernelId::RowStreamS8`], [`crate::stream`]): `d` between the segment's
//!   output and its input, derived from the segment's row order ([`stream_lead_bytes`]).
//! - The optimized convolutions (im2col, several pixels per pass, reordered channel loops) and every other
//!   kernel: `None`. No allowance is guessed.
//!
//! `kernels/tests/memory_behaviour.rs` proves every declared allowance by running the kernels in a poisoned
//! arena at exactly that lead, and shows that one byte less breaks them.

use crate::program::{ConvParams, KernelId, Operand, PoolParams, Step, StepParams, Variant};

/// The geometry of a sliding-window kernel: what [`window_lead_bytes`] needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowGeometry {
    /// Input shape `[n, h, w, c]`.
    pub input: [u32; 4],
    /// Output shape `[n, h, w, c]`.
    pub output: [u32; 4],
    /// Window height and width.
    pub filter: [u32; 2],
    /// Strides (rows, columns).
    pub stride: [u32; 2],
    /// Dilations (rows, columns).
    pub dilation: [u32; 2],
    /// Padding above and on the left.
    pub pad: [u32; 2],
    /// Which input channels output channel `oc` reads.
    pub channels: WindowChannels,
}

/// Which input channels an output channel reads at each window pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowChannels {
    /// All of them (CONV_2D).
    All,
    /// Channel `oc / multiplier` (DEPTHWISE_CONV_2D with that depth multiplier; pooling with 1).
    Divided(u32),
}

impl WindowGeometry {
    /// The geometry of a reference convolution.
    pub fn conv(p: &ConvParams, depthwise: bool) -> Self {
        WindowGeometry {
            input: p.input,
            output: p.output,
            filter: [p.filter_h, p.filter_w],
            stride: [p.stride_h, p.stride_w],
            dilation: [p.dilation_h, p.dilation_w],
            pad: [p.pad_h, p.pad_w],
            channels: if depthwise { WindowChannels::Divided(p.depth_multiplier) } else { WindowChannels::All },
        }
    }

    /// The geometry of a reference pooling kernel.
    pub fn pool(p: &PoolParams) -> Self {
        WindowGeometry {
            input: p.input,
            output: p.output,
            filter: [p.filter_h, p.filter_w],
            stride: [p.stride_h, p.stride_w],
            dilation: [1, 1],
            pad: [p.pad_h, p.pad_w],
            channels: WindowChannels::Divided(1),
        }
    }
}

/// The first coordinate a window reads along one axis: the smallest `start + k * dilation`, `k < taps`, inside
/// `0..size`, or `None` when the window misses the image.
fn first_inside(start: i64, taps: u32, dilation: u32, size: u32) -> Option<i64> {
    let dilation = i64::from(dilation.max(1));
    let k = if start >= 0 { 0 } else { (-start + dilation - 1) / dilation };
    let at = start + k * dilation;
    (k < i64::from(taps) && at < i64::from(size)).then_some(at)
}

/// The least lead `d` (bytes) such that the reference window kernel of `g` is correct with its output placed
/// at `d` or more bytes before its input (see the module documentation), or `None` for a shape the kernel
/// refuses (zero strides, a depth multiplier of 0) or too large to derive (more than 2^32 output elements).
///
/// Walks the output in the kernel's order: for each element, the lowest input byte its window reads; the
/// suffix minimum of those is the lowest byte still needed after each write. `O(output elements)`.
pub fn window_lead_bytes(g: &WindowGeometry) -> Option<u64> {
    let [batches, in_h, in_w, _] = g.input;
    let [_, out_h, out_w, out_c] = g.output;
    if g.stride.contains(&0) || matches!(g.channels, WindowChannels::Divided(0)) {
        return None;
    }
    let elements = u64::from(batches) * u64::from(out_h) * u64::from(out_w) * u64::from(out_c);
    if elements > u64::from(u32::MAX) {
        return None;
    }
    if batches == 0 || out_h == 0 || out_w == 0 || out_c == 0 || in_h == 0 || in_w == 0 {
        return Some(0);
    }
    let mut lead: i64 = 0;
    let mut needed_after = i64::MAX;
    // Backwards: `needed_after` = the lowest byte read by any element after `q`.
    for q in (0..elements as i64).rev() {
        if needed_after != i64::MAX {
            lead = lead.max(q + 1 - needed_after);
        }
        needed_after = needed_after.min(lowest_read(g, q as u64));
    }
    Some(lead as u64)
}

/// The lowest input byte read by output element `q` (in write order), or `i64::MAX` when its window reads
/// nothing.
fn lowest_read(g: &WindowGeometry, q: u64) -> i64 {
    let [_, in_h, in_w, in_c] = g.input;
    let [_, out_h, out_w, out_c] = g.output;
    let oc = (q % u64::from(out_c)) as u32;
    let pixel = q / u64::from(out_c);
    let ox = (pixel % u64::from(out_w)) as i64;
    let oy = ((pixel / u64::from(out_w)) % u64::from(out_h)) as i64;
    let b = (pixel / u64::from(out_w) / u64::from(out_h)) as i64;
    let y0 = oy * i64::from(g.stride[0]) - i64::from(g.pad[0]);
    let x0 = ox * i64::from(g.stride[1]) - i64::from(g.pad[1]);
    let (Some(y), Some(x)) =
        (first_inside(y0, g.filter[0], g.dilation[0], in_h), first_inside(x0, g.filter[1], g.dilation[1], in_w))
    else {
        return i64::MAX;
    };
    let channel = match g.channels {
        WindowChannels::All if in_c == 0 => return i64::MAX,
        WindowChannels::All => 0,
        WindowChannels::Divided(m) => i64::from(oc / m),
    };
    ((b * i64::from(in_h) + y) * i64::from(in_w) + x) * i64::from(in_c) + channel
}

/// Whether kernel `kernel` reads each input element once, only to compute the output element of the same
/// index (elementwise: in place with `d = 0`).
pub fn is_elementwise(kernel: KernelId) -> bool {
    matches!(
        kernel,
        KernelId::ReluS8
            | KernelId::Relu6S8
            | KernelId::LeakyReluS8
            | KernelId::HardSwishS8
            | KernelId::LogisticS8
            | KernelId::TanhS8
            | KernelId::QuantizeS8
            | KernelId::CopyS8
    )
}

/// Whether kernel `kernel` is a binary elementwise op with broadcasting (in place on an input whose shape is
/// the output's when neither input broadcasts).
pub fn is_binary_elementwise(kernel: KernelId) -> bool {
    matches!(kernel, KernelId::AddS8 | KernelId::SubS8 | KernelId::MulS8 | KernelId::MaximumS8 | KernelId::MinimumS8)
}

/// The shapes `[input1, input2, output]` of a binary elementwise step, if its parameters carry them.
pub fn binary_shapes(params: &StepParams) -> Option<[[u32; 4]; 3]> {
    match params {
        StepParams::Add(p) => Some([p.input1, p.input2, p.output]),
        StepParams::Mul(p) => Some([p.input1, p.input2, p.output]),
        StepParams::Broadcast(p) => Some([p.input1, p.input2, p.output]),
        _ => None,
    }
}

/// The lead `d` of `step`'s output over its input `input` (an index into `step.inputs`): the step is correct
/// with `output.start + d <= input.start`; `None` when the output must be disjoint from that input (or the
/// operand is not in the arena).
pub fn output_lead_bytes(step: &Step, input: usize) -> Option<u64> {
    let Some(Operand::Arena(slice)) = step.inputs.get(input) else { return None };
    let same_length = slice.len == step.output.len;
    let reference = step.variant == Variant::Reference;
    match (step.kernel, &step.params) {
        (KernelId::Conv2dS8, StepParams::Conv(p)) if reference && input == 0 => {
            window_lead_bytes(&WindowGeometry::conv(p, false))
        }
        (KernelId::DepthwiseConv2dS8, StepParams::Conv(p)) if reference && input == 0 => {
            window_lead_bytes(&WindowGeometry::conv(p, true))
        }
        // Pooling has no optimized version: both variants run the reference loop.
        (KernelId::AvgPool2dS8 | KernelId::MaxPool2dS8, StepParams::Pool(p)) if input == 0 => {
            window_lead_bytes(&WindowGeometry::pool(p))
        }
        (kernel, _) if is_elementwise(kernel) && input == 0 && same_length => Some(0),
        (kernel, params) if is_binary_elementwise(kernel) && input < 2 && same_length => {
            let [a, b, out] = binary_shapes(params)?;
            (a == out && b == out).then_some(0)
        }
        _ => None,
    }
}

/// The lead `d` of a row-streamed segment's output (its last member's output) over the segment's input (the
/// first member's input 0), for the members `members` (the steps after the header): the segment is correct
/// with `output.start + d <= input.start`. `None` when the members do not form a segment
/// ([`crate::stream::segment_rows`]).
///
/// Follows the segment's one order ([`crate::stream::drive`]): every member that reads the segment's input
/// (through a window, or row `y` for an ADD) reads it while computing its row. Reads made while pulling the
/// rows an output row needs come before that row is written; the last member's own reads are counted after
/// its row is written, except that an ADD as the last member reads each chunk before writing it (in place at
/// equal row bytes). `d` is the least lead under which no write lands on an input byte read later.
pub fn stream_lead_bytes(members: &[Step]) -> Option<u64> {
    use crate::program::MAX_STREAM_MEMBERS;
    use crate::stream::{drive, segment_rows, Source};
    let n = members.len();
    if !(2..=MAX_STREAM_MEMBERS).contains(&n) {
        return None;
    }
    let rows = segment_rows(members)?;
    let segment_input = members[0].inputs[0];
    let held: [usize; MAX_STREAM_MEMBERS] = core::array::from_fn(|j| rows[j].out_rows);
    // `written`: one past the last output byte written so far; `lead`: the least lead so far.
    let (mut written, mut lead) = (0u64, 0u64);
    let last = rows[n - 1];
    let last_in_place = members[n - 1].kernel == KernelId::AddS8;
    drive(&rows[..n], &held[..n], 0, |j, y| {
        let mut lows = [None; crate::stream::MEMBER_INPUTS];
        for (k, input) in rows[j].inputs.iter().enumerate() {
            let Some(input) = input else { continue };
            let reads_segment_input = input.source == Source::Whole && members[j].inputs[k] == segment_input;
            if reads_segment_input && input.first_needed(y) < input.needed_end(y) {
                lows[k] = Some((input.first_needed(y) * input.row_bytes) as u64);
            }
        }
        let row_end = ((y + 1) * last.out_row_bytes) as u64;
        let before_write = j + 1 < n || last_in_place;
        if !before_write {
            written = row_end;
        }
        for low in lows.into_iter().flatten() {
            lead = lead.max(written.saturating_sub(low));
        }
        if j + 1 == n {
            written = row_end;
        }
        Ok(())
    })
    .ok()?;
    Some(lead)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointwise(in_c: u32, out_c: u32, pixels: u32) -> WindowGeometry {
        WindowGeometry {
            input: [1, 1, pixels, in_c],
            output: [1, 1, pixels, out_c],
            filter: [1, 1],
            stride: [1, 1],
            dilation: [1, 1],
            pad: [0, 0],
            channels: WindowChannels::All,
        }
    }

    #[test]
    fn a_1x1_projection_needs_a_lead_of_one_pixel_of_output_less_one() {
        // 8 -> 2 channels over 5 pixels: writing channel 0 of pixel 0 must not touch input byte 0, which channel
        // 1 still reads; by hand: d = out_c - 1 = 1.
        assert_eq!(window_lead_bytes(&pointwise(8, 2, 5)), Some(1));
    }

    #[test]
    fn a_1x1_expansion_ends_its_output_with_its_input() {
        // 2 -> 8 channels over 5 pixels: the last pixel's first seven writes must stay below input byte 8 (its own
        // pixel): q = 4*8 + 6 = 38 -> d = 38 + 1 - 8 = 31.
        assert_eq!(window_lead_bytes(&pointwise(2, 8, 5)), Some(31));
    }

    #[test]
    fn zero_strides_have_no_declaration() {
        let mut g = pointwise(1, 1, 1);
        g.stride = [0, 1];
        assert_eq!(window_lead_bytes(&g), None);
    }
}
