//! RELU (`relu_s8`), RELU6 (`relu6_s8`) and LEAKY_RELU (`leaky_relu_s8`), int8, as TFLM's reference kernels
//! compute them: RELU and LEAKY_RELU requantise from the input to the output scale; RELU6 clamps the raw input
//! between the input's quantised 0 and 6 (TFLM's kernel does not requantise it).

use super::clamp_s8;
use crate::program::{ClampParams, LeakyReluParams, ReluParams};
use crate::quant::multiply_by_quantized_multiplier;
use crate::KernelError;

fn same_length(kernel: &'static str, input: &[u8], output: &[u8]) -> Result<(), KernelError> {
    if input.len() == output.len() {
        Ok(())
    } else {
        Err(KernelError::BadLength { kernel })
    }
}

/// Scratch bytes of RELU: none.
pub fn relu_s8_scratch_bytes(_params: &ReluParams) -> usize {
    0
}

/// RELU: `output_zero_point + requant(x - input_zero_point)`, clamped to `[act_min, act_max]`.
pub fn relu_s8(p: &ReluParams, input: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    same_length("relu_s8", input, output)?;
    for (&x, out) in input.iter().zip(output.iter_mut()) {
        let v = multiply_by_quantized_multiplier(x as i8 as i32 - p.input_zero_point, p.multiplier, p.shift);
        *out = clamp_s8(v.saturating_add(p.output_zero_point), p.act_min, p.act_max);
    }
    Ok(())
}

/// Scratch bytes of RELU6: none.
pub fn relu6_s8_scratch_bytes(_params: &ClampParams) -> usize {
    0
}

/// RELU6: the raw input clamped to `[min, max]`.
pub fn relu6_s8(p: &ClampParams, input: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    same_length("relu6_s8", input, output)?;
    if p.min > p.max {
        return Err(KernelError::BadLength { kernel: "relu6_s8" });
    }
    for (&x, out) in input.iter().zip(output.iter_mut()) {
        *out = clamp_s8(x as i8 as i32, p.min, p.max);
    }
    Ok(())
}

/// Scratch bytes of LEAKY_RELU: none.
pub fn leaky_relu_s8_scratch_bytes(_params: &LeakyReluParams) -> usize {
    0
}

/// LEAKY_RELU: inputs at or above the zero point requantised by the identity multiplier, those below by the
/// alpha multiplier; then the output zero point, clamped to int8.
pub fn leaky_relu_s8(p: &LeakyReluParams, input: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    same_length("leaky_relu_s8", input, output)?;
    for (&x, out) in input.iter().zip(output.iter_mut()) {
        let v = x as i8 as i32 - p.input_zero_point;
        let scaled = if v >= 0 {
            multiply_by_quantized_multiplier(v, p.multiplier_identity, p.shift_identity)
        } else {
            multiply_by_quantized_multiplier(v, p.multiplier_alpha, p.shift_alpha)
        };
        *out = clamp_s8(scaled.saturating_add(p.output_zero_point), -128, 127);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaky_relu_scales_negative_inputs_by_alpha() {
        // Identity 1.0 (2^30 * 2^1), alpha 0.25 (2^30 * 2^-1); zero points 0.
        let p = LeakyReluParams {
            input_zero_point: 0,
            output_zero_point: 0,
            multiplier_identity: 1 << 30,
            shift_identity: 1,
            multiplier_alpha: 1 << 30,
            shift_alpha: -1,
        };
        let mut out = [0u8; 3];
        leaky_relu_s8(&p, &[100, (-100i8) as u8, 0], &mut out).unwrap();
        assert_eq!(out.map(|b| b as i8), [100, -25, 0]);
    }

    #[test]
    fn relu6_clamps_raw_values() {
        let mut out = [0u8; 3];
        relu6_s8(&ClampParams { min: -10, max: 20 }, &[(-50i8) as u8, 5, 100], &mut out).unwrap();
        assert_eq!(out.map(|b| b as i8), [-10, 5, 20]);
    }
}
