//! SOFTMAX, int8 in and out (`softmax_s8`): TFLite's fixed-point recipe (exp of the scaled difference to the
//! row maximum, a fixed-point reciprocal of the sum, output zero point -128, scale 1/256).

use crate::program::SoftmaxParams;
use crate::quant::{rounding_divide_by_pot, saturating_rounding_doubling_high_mul as mul};
use crate::KernelError;

/// Scratch bytes of SOFTMAX: none.
pub fn softmax_s8_scratch_bytes(_params: &SoftmaxParams) -> usize {
    0
}

/// `x * 2^exponent`, saturating (for `exponent > 0`) or rounding (for `exponent < 0`).
pub(crate) fn saturating_rounding_mul_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent > 0 {
        let threshold = (1i32 << (31 - exponent)) - 1;
        if x > threshold {
            i32::MAX
        } else if x < -threshold {
            i32::MIN
        } else {
            x << exponent
        }
    } else {
        rounding_divide_by_pot(x, -exponent)
    }
}

/// exp(a) for a in [-1/4, 0), Q0.31 in and out: a Taylor expansion around -1/8.
fn exp_on_interval_between_negative_one_quarter_and_0_excl(a: i32) -> i32 {
    const EXP_MINUS_ONE_EIGHTH: i32 = 1895147668;
    const ONE_THIRD: i32 = 715827883;
    let x = a.wrapping_add(1 << 28);
    let x2 = mul(x, x);
    let x3 = mul(x2, x);
    let x4 = mul(x2, x2);
    let x4_over_4 = saturating_rounding_mul_by_pot(x4, -2);
    let poly = saturating_rounding_mul_by_pot(mul(x4_over_4.wrapping_add(x3), ONE_THIRD).wrapping_add(x2), -1);
    EXP_MINUS_ONE_EIGHTH.wrapping_add(mul(EXP_MINUS_ONE_EIGHTH, x.wrapping_add(poly)))
}

/// exp(a) for a <= 0 given with `integer_bits` integer bits (at most 5); result in Q0.31.
pub(crate) fn exp_on_negative_values(a: i32, integer_bits: i32) -> i32 {
    let fractional_bits = 31 - integer_bits;
    let one_quarter = 1i32 << (fractional_bits - 2);
    let mask = one_quarter - 1;
    let a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter;
    let mut result = exp_on_interval_between_negative_one_quarter_and_0_excl(saturating_rounding_mul_by_pot(
        a_mod_quarter_minus_one_quarter,
        integer_bits,
    ));
    let remainder = a_mod_quarter_minus_one_quarter.wrapping_sub(a);
    // exp(-2^k) for k = -2..=4, in Q0.31; a step applies while the input has more integer bits than k.
    const BARREL: [(i32, i32); 7] =
        [(-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535), (3, 720401), (4, 242)];
    for (exponent, multiplier) in BARREL {
        if integer_bits > exponent && remainder & (1 << (fractional_bits + exponent)) != 0 {
            result = mul(result, multiplier);
        }
    }
    if a == 0 {
        i32::MAX
    } else {
        result
    }
}

/// 1 / (1 + a) for a in [0, 1), Q0.31 in and out (Newton-Raphson, three iterations).
pub(crate) fn one_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    // (a + 1) / 2, rounded, in Q0.31 (1 is i32::MAX there).
    let sum = a as i64 + i32::MAX as i64;
    let half_denominator = ((sum + if sum >= 0 { 1 } else { -1 }) / 2) as i32;
    const C48_OVER_17: i32 = 1515870810; // Q2.29
    const CNEG32_OVER_17: i32 = -1010580540; // Q2.29
    const ONE_Q2: i32 = 1 << 29;
    let mut x = C48_OVER_17.wrapping_add(mul(half_denominator, CNEG32_OVER_17));
    for _ in 0..3 {
        let half_denominator_times_x = mul(half_denominator, x);
        let one_minus = ONE_Q2.wrapping_sub(half_denominator_times_x);
        x = x.wrapping_add(saturating_rounding_mul_by_pot(mul(x, one_minus), 2));
    }
    // x / 2, from Q2.29 to Q0.31: same raw value read as Q1.30, then rescaled by 2^1.
    saturating_rounding_mul_by_pot(x, 1)
}

/// Softmax over the last dimension, `rows` rows of `depth` values.
pub fn softmax_s8(p: &SoftmaxParams, input: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    let depth = p.depth as usize;
    if depth == 0 || input.len() % depth != 0 || output.len() != input.len() {
        return Err(KernelError::BadLength { kernel: "softmax_s8" });
    }
    let scaled = |diff: i32| mul(diff.wrapping_mul(1 << p.input_left_shift), p.input_multiplier);
    for (row, out) in input.chunks(depth).zip(output.chunks_mut(depth)) {
        let max = row.iter().map(|&v| v as i8 as i32).max().unwrap_or(0);
        // Sum of exps in Q12.19.
        let mut sum: i32 = 0;
        for &v in row {
            let diff = v as i8 as i32 - max;
            if diff >= p.diff_min {
                sum = sum.wrapping_add(saturating_rounding_mul_by_pot(exp_on_negative_values(scaled(diff), 5), -12));
            }
        }
        let headroom_plus_one = (sum as u32).leading_zeros() as i32;
        let num_bits_over_unit = 12 - headroom_plus_one;
        let shifted_sum_minus_one = ((sum as u32) << headroom_plus_one).wrapping_sub(1u32 << 31) as i32;
        let shifted_scale = one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
        for (&v, o) in row.iter().zip(out.iter_mut()) {
            let diff = v as i8 as i32 - max;
            *o = if diff >= p.diff_min {
                let exp = exp_on_negative_values(scaled(diff), 5);
                let unsat = rounding_divide_by_pot(mul(shifted_scale, exp), num_bits_over_unit + 31 - 8);
                (unsat - 128).clamp(-128, 127) as i8 as u8
            } else {
                -128i8 as u8
            };
        }
    }
    Ok(())
}
