//! TANH, int8 (`tanh_s8`): the input rescaled to Q4.27, gemmlowp-style fixed-point tanh, output zero point 0
//! and scale 1/128 (as TFLM's reference kernel).

use super::softmax_s8::{exp_on_negative_values, saturating_rounding_mul_by_pot};
use crate::program::LogisticParams;
use crate::quant::{
    multiply_by_quantized_multiplier, rounding_divide_by_pot, saturating_rounding_doubling_high_mul as mul,
};
use crate::KernelError;

/// Scratch bytes of TANH: none.
pub fn tanh_s8_scratch_bytes(_params: &LogisticParams) -> usize {
    0
}

/// (1 - a) / (1 + a) for a in [0, 1), Q0.31 in and out (Newton-Raphson, three iterations).
fn one_minus_x_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    // (a + 1) / 2, rounded, in Q0.31 (1 is i32::MAX there).
    let sum = a as i64 + i32::MAX as i64;
    let half_denominator = ((sum + if sum >= 0 { 1 } else { -1 }) / 2) as i32;
    const C48_OVER_17: i32 = 1515870810; // Q2.29
    const CNEG32_OVER_17: i32 = -1010580540; // Q2.29
    const ONE_Q2: i32 = 1 << 29;
    let mut x = C48_OVER_17.wrapping_add(mul(half_denominator, CNEG32_OVER_17));
    for _ in 0..3 {
        let one_minus = ONE_Q2.wrapping_sub(mul(half_denominator, x));
        x = x.wrapping_add(saturating_rounding_mul_by_pot(mul(x, one_minus), 2));
    }
    // x - 1, from Q2.29 to Q0.31.
    saturating_rounding_mul_by_pot(x.wrapping_sub(ONE_Q2), 2)
}

/// tanh(a) for `a` in Q4.27, result in Q0.31.
fn tanh_q4(a: i32) -> i32 {
    if a == 0 {
        return 0;
    }
    let negative = a < 0;
    let n = if negative { a } else { a.wrapping_neg() };
    // exp(2n): the same raw value read with one more integer bit.
    let t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, 5));
    if negative {
        t.wrapping_neg()
    } else {
        t
    }
}

/// Elementwise tanh.
pub fn tanh_s8(p: &LogisticParams, input: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    if input.len() != output.len() {
        return Err(KernelError::BadLength { kernel: "tanh_s8" });
    }
    for (&x, out) in input.iter().zip(output.iter_mut()) {
        let value = x as i8 as i32 - p.input_zero_point;
        *out = if value <= -p.input_range_radius {
            -128i8 as u8
        } else if value >= p.input_range_radius {
            127i8 as u8
        } else {
            let q4 = multiply_by_quantized_multiplier(value, p.input_multiplier, p.input_left_shift);
            rounding_divide_by_pot(tanh_q4(q4), 31 - 7).clamp(-128, 127) as i8 as u8
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_is_odd_and_close_to_the_real_function() {
        for k in [-20i32, -3, 1, 7, 26] {
            let a = k << 24; // k / 8 in Q4.27
            let real = ((k as f64) / 8.0).tanh();
            let got = tanh_q4(a) as f64 / 2f64.powi(31);
            assert!((got - real).abs() < 1e-6, "tanh({}) = {got}, expected {real}", k as f64 / 8.0);
            assert_eq!(tanh_q4(a), tanh_q4(-a).wrapping_neg());
        }
    }
}
