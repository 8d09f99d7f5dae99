//! LOGISTIC, int8 (`logistic_s8`): the input rescaled to Q4.27, gemmlowp-style fixed-point logistic, output
//! zero point -128 and scale 1/256.

use super::softmax_s8::{exp_on_negative_values, one_over_one_plus_x_for_x_in_0_1};
use crate::program::LogisticParams;
use crate::quant::{multiply_by_quantized_multiplier, rounding_divide_by_pot};
use crate::KernelError;

/// Scratch bytes of LOGISTIC: none.
pub fn logistic_s8_scratch_bytes(_params: &LogisticParams) -> usize {
    0
}

/// logistic(a) for `a` in Q4.27, result in Q0.31.
fn logistic_q4(a: i32) -> i32 {
    if a == 0 {
        return 1 << 30;
    }
    let positive = a > 0;
    let abs = if positive { a } else { a.wrapping_neg() };
    let on_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(abs.wrapping_neg(), 4));
    if positive {
        on_positive
    } else {
        i32::MAX.wrapping_sub(on_positive)
    }
}

/// Elementwise logistic.
pub fn logistic_s8(p: &LogisticParams, input: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    if input.len() != output.len() {
        return Err(KernelError::BadLength { kernel: "logistic_s8" });
    }
    for (&x, out) in input.iter().zip(output.iter_mut()) {
        let value = x as i8 as i32 - p.input_zero_point;
        *out = if value <= -p.input_range_radius {
            -128i8 as u8
        } else if value >= p.input_range_radius {
            127i8 as u8
        } else {
            let q4 = multiply_by_quantized_multiplier(value, p.input_multiplier, p.input_left_shift);
            let q23 = rounding_divide_by_pot(logistic_q4(q4), 31 - 8);
            (q23 - 128).clamp(-128, 127) as i8 as u8
        };
    }
    Ok(())
}
