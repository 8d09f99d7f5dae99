//! HARD_SWISH, int8 (`hard_swish_s8`): TFLite's 16-bit fixed-point recipe, `x * relu6(x + 3) / 6` with the
//! "relu-ish" factor rescaled to [0, 1] and careful saturation.

use crate::program::HardSwishParams;
use crate::KernelError;

/// Scratch bytes of HARD_SWISH: none.
pub fn hard_swish_s8_scratch_bytes(_params: &HardSwishParams) -> usize {
    0
}

/// 16-bit saturating rounding doubling high multiply.
fn srdhm16(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        return i16::MAX;
    }
    let ab = a as i32 * b as i32;
    let nudge = if ab >= 0 { 1 << 14 } else { 1 - (1 << 14) };
    ((ab + nudge) / (1 << 15)) as i16
}

/// 16-bit saturating doubling high multiply, truncating (cancels the bias of the rounding one).
fn sdhm16(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        return i16::MAX;
    }
    ((a as i32 * b as i32) / (1 << 15)) as i16
}

fn saturating_left_shift16(x: i16, amount: i32) -> i16 {
    (x as i32 * (1 << amount)).clamp(i16::MIN as i32, i16::MAX as i32) as i16
}

fn rounding_divide_by_pot16(x: i16, exponent: i32) -> i16 {
    let mask = ((1i32 << exponent) - 1) as i16;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i16::from(x < 0);
    (x >> exponent) + i16::from(remainder > threshold)
}

/// Elementwise hard swish.
pub fn hard_swish_s8(p: &HardSwishParams, input: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    if input.len() != output.len() || p.output_multiplier_exponent > 0 {
        return Err(KernelError::BadLength { kernel: "hard_swish_s8" });
    }
    for (&x, out) in input.iter().zip(output.iter_mut()) {
        let value = (x as i8 as i32 - p.input_zero_point) as i16;
        let hires = value.wrapping_mul(1 << 7);
        let preshift_output = srdhm16(hires, p.output_multiplier_fixedpoint_int16);
        let mut reluish = hires;
        if p.reluish_multiplier_exponent > 0 {
            reluish = saturating_left_shift16(reluish, p.reluish_multiplier_exponent - 1);
        }
        reluish = srdhm16(reluish, p.reluish_multiplier_fixedpoint_int16);
        if p.reluish_multiplier_exponent > 0 {
            reluish = saturating_left_shift16(reluish, 1);
        }
        if p.reluish_multiplier_exponent < 0 {
            reluish = rounding_divide_by_pot16(reluish, -p.reluish_multiplier_exponent);
        }
        let reluish = ((reluish as i32 + (1 << 15)) >> 1) as i16;
        let preshift = sdhm16(reluish, preshift_output);
        let result = rounding_divide_by_pot16(preshift, -p.output_multiplier_exponent) as i32 + p.output_zero_point;
        *out = result.clamp(-128, 127) as i8 as u8;
    }
    Ok(())
}
