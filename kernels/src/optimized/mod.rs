//! Optimized int8 kernels, bit-exact with [`crate::reference`] for every valid input.
//!
//! Same file and function names as the reference kernels; a kernel that needs working memory takes a `scratch`
//! slice and has a `*_scratch_bytes` function giving exactly how many bytes it checks for. The formula is the
//! same on every target, so a plan made on the host fits the firmware:
//!
//! | kernel | scratch bytes |
//! |---|---|
//! | CONV_2D (every shape) | `4 * filter_h * filter_w * in_channels + 3` |
//! | DEPTHWISE_CONV_2D | 0 |
//! | FULLY_CONNECTED | `4 * depth + 3` |
//!
//! Each kernel has two formulations with identical results, chosen by target:
//!
//! - **Lanes** (Cortex-M with the DSP extension): two 16-bit lanes per 32-bit word. CONV_2D builds a partial
//!   im2col of two output pixels, widened to `i16` with the input offset added (padding as 0), in the lane
//!   order SXTB16 / SXTB16-ROR-8 produce, so the filter bytes, widened the same way as they are read, meet
//!   matching lanes in every SMLAD; a 2 pixels x 2 output channels block does 16 MACs per 4 filter bytes in an
//!   assembly loop. 1x1 convolutions with stride 1, no padding, channels a multiple of 4 and at least 16
//!   pixels skip the im2col: the two filter rows of a channel pair are widened once into the scratch, the input
//!   offset is folded into their biases as `input_offset * sum(weights)`, and the input rows are read and
//!   widened on the fly (SXTB16 on the input word gives the same lanes as on the filter word), 16 instructions
//!   per 16 MACs; other 1x1 convolutions take the im2col route (a plain widening copy). FULLY_CONNECTED is the
//!   same matrix multiply with batches as pixels. DEPTHWISE_CONV_2D 3x3 with depth
//!   multiplier 1 works on 4 channels at a time with the input offset folded into the bias as
//!   `input_offset * sum(weights)`: inputs of two taps are paired with halfword packs so one SMLAD does two taps
//!   of one channel; border pixels run the same code on a copy of their window padded with the zero point.
//! - **Wide** (every other target, the host): plain loops over `i16`/`i32` in fixed blocks that the compiler
//!   vectorises (PMADDWD-shaped dot products for CONV_2D and FULLY_CONNECTED, channel-vectorised depthwise);
//!   1x1 stride-1 convolutions without padding are int8 dot products straight from the input rows with the
//!   input offset folded into the bias.
//!
//! Outputs whose range is all of int8 (`act_min = -128`, `act_max = 127`) are clamped by one saturation.
//!
//! Other depthwise shapes use a channel-blocked loop in both. Requantisation uses a shorter, equal form of
//! TFLite's arithmetic (see [`requantize`]). Input offsets outside `-255..=255` (no int8 zero point gives one)
//! are handed to the reference kernels.
//!
//! The lane operations are single instructions (inline assembly in a private module, the only `unsafe` of the
//! crate) on the hard-float bare-metal M-profile targets, and plain Rust computing the same bits elsewhere, so
//! the host tests also run the Lanes formulation exactly as the microcontroller does. Stable Rust has no
//! `target_feature = "dsp"` cfg on ARM: the gate is the target (see the `dsp` module), and a Cortex-M33 built
//! without its optional DSP extension must not use `thumbv8m.main-none-eabihf` with these kernels.

mod dsp;
#[cfg(test)]
mod tests;

pub mod conv2d_s8;
pub mod fully_connected_s8;

use crate::quant::{multiply_by_quantized_multiplier, rounding_divide_by_pot};

/// Which formulation of a kernel runs: both give identical bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    /// Two 16-bit lanes per 32-bit word, SMLAD dot products: single instructions on Cortex-M with the DSP
    /// extension, emulated (slowly, for the tests) elsewhere.
    Lanes,
    /// Plain loops over `i16`/`i32` that the compiler vectorises: the host's choice.
    Wide,
}

impl Engine {
    /// The formulation this target runs.
    pub(crate) const NATIVE: Engine = if dsp::HAS_DSP { Engine::Lanes } else { Engine::Wide };
}

/// TFLite's `MultiplyByQuantizedMultiplier(x, multiplier, shift)`, equal to
/// [`crate::quant::multiply_by_quantized_multiplier`] for every input, computed as
/// `((x << left) * multiplier + 2^30) >> 31` in 64 bits followed by the rounding right shift: the reference's
/// sign-dependent nudge and truncating division give the same value as this single floor, except for the one
/// saturating case (`i32::MIN * i32::MIN`), which this function hands to the reference.
#[inline(always)]
pub fn requantize(x: i32, multiplier: i32, shift: i32) -> i32 {
    Requant::new(multiplier, shift).apply(x)
}

/// The two-step form (left shift, rounding doubling high multiply, rounding right shift), for shifts the fused
/// form does not cover.
#[inline(never)]
fn requantize_unfused(x: i32, multiplier: i32, shift: i32) -> i32 {
    if multiplier == i32::MIN || !(-31..=31).contains(&shift) {
        return multiply_by_quantized_multiplier(x, multiplier, shift);
    }
    let left = if shift > 0 { shift as u32 } else { 0 };
    let right = if shift > 0 { 0 } else { -shift };
    let x = x.wrapping_shl(left);
    let high = ((x as i64 * multiplier as i64 + (1 << 30)) >> 31) as i32;
    rounding_divide_by_pot(high, right)
}

/// Read the `i`-th little-endian `i32` of `bytes` (one unaligned LDR on ARMv7-M).
#[inline(always)]
pub(crate) fn le_i32(bytes: &[u8], i: usize) -> i32 {
    le_u32(bytes, 4 * i) as i32
}

/// Read 4 bytes at `offset` as a little-endian word (one unaligned LDR on ARMv7-M).
#[inline(always)]
pub(crate) fn le_u32(bytes: &[u8], offset: usize) -> u32 {
    let b: [u8; 4] = bytes[offset..offset + 4].try_into().unwrap_or([0; 4]);
    u32::from_le_bytes(b)
}

/// One channel's requantisation, with everything that depends only on the multiplier and shift computed once.
///
/// For the usual case (a right shift `r >= 2`) the reference's two roundings collapse into one multiply-add:
/// with `T = x * m + 2^30`, `h = floor(T / 2^31)` is the rounding doubling high multiply and the rounding right
/// shift is `floor((h + 2^(r-1) - [h < 0]) / 2^r)`. Nested floors by powers of two combine, so the result is
/// `floor((x * m + 2^30 - [h < 0] * 2^31 + 2^(30+r)) / 2^(31+r))`. `[h < 0]` may be replaced by `[x * m < 0]`
/// (the sign of `x ^ m`): the two differ only when `0 <= T <= 2^30`, where `h = 0` and both give 0. The last
/// term has a zero low word (`r >= 2`), so the result is `(hi + 2^(r-2)) >> (r - 1)` where `hi` is the high
/// word of the 64-bit `x * m + 2^30 - [x * m < 0] * 2^31` (one SMLAL on Cortex-M).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Requant {
    multiplier: i32,
    shift: i32,
    /// `2^(r - 2)`.
    round_hi: i32,
    /// `r - 1`.
    shift_hi: u32,
    /// The fused form applies (`r >= 2` and the multiplier is not `i32::MIN`).
    fused: bool,
}

impl Requant {
    #[inline(always)]
    pub(crate) fn new(multiplier: i32, shift: i32) -> Self {
        let fused = multiplier != i32::MIN && (-31..=-2).contains(&shift);
        let r = if fused { (-shift) as u32 } else { 2 };
        Requant { multiplier, shift, round_hi: 1 << (r - 2), shift_hi: r - 1, fused }
    }

    /// Whether [`Requant::apply_fused`] is exact for this channel.
    #[inline(always)]
    pub(crate) fn is_fused(&self) -> bool {
        self.fused
    }

    /// [`requantize`] of `x` with this channel's multiplier and shift.
    #[inline(always)]
    pub(crate) fn apply(&self, x: i32) -> i32 {
        if self.fused {
            self.apply_fused(x)
        } else {
            requantize_unfused(x, self.multiplier, self.shift)
        }
    }

    /// The fused form; exact only if [`Requant::is_fused`].
    #[inline(always)]
    pub(crate) fn apply_fused(&self, x: i32) -> i32 {
        let negative = (x ^ self.multiplier) >> 31;
        let start = ((negative as i64) << 31) + (1 << 30);
        let high = ((x as i64 * self.multiplier as i64 + start) >> 32) as i32;
        (high + self.round_hi) >> self.shift_hi
    }

    /// Add the output offset to a requantised value and clamp to `[min, max]` (`min <= max`).
    #[inline(always)]
    pub(crate) fn clamp(v: i32, output_offset: i32, min: i32, max: i32) -> u8 {
        v.wrapping_add(output_offset).max(min).min(max) as i8 as u8
    }

    /// Requantise, add the output offset and clamp to `[min, max]`.
    #[inline(always)]
    pub(crate) fn output(&self, acc: i32, output_offset: i32, min: i32, max: i32) -> u8 {
        Self::clamp(self.apply(acc), output_offset, min, max)
    }
}
