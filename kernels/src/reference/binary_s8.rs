//! Broadcasting binary operators: SUB (`sub_s8`, TFLite's ADD recipe with the second input negated), MAXIMUM
//! (`maximum_s8`) and MINIMUM (`minimum_s8`) on raw values (their inputs and output share the quantisation), and
//! PRELU (`prelu_s8`) with broadcasting slopes.

use super::clamp_s8;
use super::elementwise_s8::broadcast_binary;
use crate::program::{AddParams, BroadcastParams, PreluParams};
use crate::quant::multiply_by_quantized_multiplier;
use crate::KernelError;

/// Scratch bytes of SUB: none.
pub fn sub_s8_scratch_bytes(_params: &AddParams) -> usize {
    0
}

/// TFLite's int8 SUB: both inputs rescaled to a common scale with `left_shift` bits of headroom, subtracted,
/// rescaled to the output. Shapes are 4-D; a dimension of size 1 in an input broadcasts.
pub fn sub_s8(p: &AddParams, a: &[u8], b: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    broadcast_binary("sub_s8", [p.input1, p.input2, p.output], a, b, output, |x, y| {
        let x = (x + p.input1_offset) << p.left_shift;
        let y = (y + p.input2_offset) << p.left_shift;
        let sx = multiply_by_quantized_multiplier(x, p.input1_multiplier, p.input1_shift);
        let sy = multiply_by_quantized_multiplier(y, p.input2_multiplier, p.input2_shift);
        let diff = multiply_by_quantized_multiplier(sx - sy, p.output_multiplier, p.output_shift);
        clamp_s8(diff.wrapping_add(p.output_offset), p.act_min, p.act_max)
    })
}

/// Scratch bytes of MAXIMUM and MINIMUM: none.
pub fn maximum_minimum_s8_scratch_bytes(_params: &BroadcastParams) -> usize {
    0
}

/// Elementwise maximum of the raw values.
pub fn maximum_s8(p: &BroadcastParams, a: &[u8], b: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    broadcast_binary("maximum_s8", [p.input1, p.input2, p.output], a, b, output, |x, y| x.max(y) as i8 as u8)
}

/// Elementwise minimum of the raw values.
pub fn minimum_s8(p: &BroadcastParams, a: &[u8], b: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    broadcast_binary("minimum_s8", [p.input1, p.input2, p.output], a, b, output, |x, y| x.min(y) as i8 as u8)
}

/// Scratch bytes of PRELU: none.
pub fn prelu_s8_scratch_bytes(_params: &PreluParams) -> usize {
    0
}

/// TFLite's int8 PRELU: `x >= 0 ? requant1(x) : requant2(x * alpha)` (both offset by their zero points), plus
/// the output zero point, clamped to int8; the slopes broadcast against the input.
pub fn prelu_s8(p: &PreluParams, input: &[u8], alpha: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    broadcast_binary("prelu_s8", [p.input, p.alpha, p.output], input, alpha, output, |x, a| {
        let x = x + p.input_offset;
        let v = if x >= 0 {
            multiply_by_quantized_multiplier(x, p.multiplier_identity, p.shift_identity)
        } else {
            multiply_by_quantized_multiplier(x * (a + p.alpha_offset), p.multiplier_alpha, p.shift_alpha)
        };
        clamp_s8(v.saturating_add(p.output_offset), -128, 127)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maximum_and_minimum_broadcast_the_second_input() {
        let p = BroadcastParams { input1: [1, 1, 2, 2], input2: [1, 1, 1, 2], output: [1, 1, 2, 2] };
        let a = [1u8, (-5i8) as u8, 7, 0];
        let b = [3u8, (-1i8) as u8];
        let mut out = [0u8; 4];
        maximum_s8(&p, &a, &b, &mut out).unwrap();
        assert_eq!(out.map(|v| v as i8), [3, -1, 7, 0]);
        minimum_s8(&p, &a, &b, &mut out).unwrap();
        assert_eq!(out.map(|v| v as i8), [1, -5, 3, -1]);
    }
}
