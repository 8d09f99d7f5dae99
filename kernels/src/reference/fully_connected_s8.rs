//! FULLY_CONNECTED, int8, per-tensor or per-channel requantisation (`fully_connected_s8`).

use super::{clamp_s8, le_i32};
use crate::program::FullyConnectedParams;
use crate::quant::multiply_by_quantized_multiplier;
use crate::KernelError;

/// Scratch bytes of the reference fully connected kernel: none.
pub fn fully_connected_s8_scratch_bytes(_params: &FullyConnectedParams) -> usize {
    0
}

/// Whether operands of these byte lengths fit a fully connected layer of `p` (per-tensor or per-channel
/// requantisation). Shared by the reference and the optimized kernels.
pub(crate) fn operands_fit(
    p: &FullyConnectedParams,
    input: usize,
    weights: usize,
    bias: usize,
    multipliers: usize,
    shifts: usize,
    output: usize,
) -> bool {
    let (batches, depth, units) = (p.batches as usize, p.depth as usize, p.units as usize);
    input == batches * depth
        && weights == units * depth
        && output == batches * units
        && (bias == 0 || bias == 4 * units)
        && (multipliers == 4 || multipliers == 4 * units)
        && shifts == multipliers
}

/// `output[b, o] = requant(sum_i (w[o, i] + filter_offset) * (x[b, i] + input_offset) + bias[o])`.
/// `multipliers`/`shifts` hold one little-endian `i32` (per tensor) or `units` of them (per channel).
pub fn fully_connected_s8(
    p: &FullyConnectedParams,
    input: &[u8],
    weights: &[u8],
    bias: &[u8],
    multipliers: &[u8],
    shifts: &[u8],
    output: &mut [u8],
) -> Result<(), KernelError> {
    let (batches, depth, units) = (p.batches as usize, p.depth as usize, p.units as usize);
    let per_channel = multipliers.len() == 4 * units && units > 1;
    if !operands_fit(p, input.len(), weights.len(), bias.len(), multipliers.len(), shifts.len(), output.len()) {
        return Err(KernelError::BadLength { kernel: "fully_connected_s8" });
    }
    for b in 0..batches {
        let x = &input[b * depth..(b + 1) * depth];
        for o in 0..units {
            let w = &weights[o * depth..(o + 1) * depth];
            let mut acc: i32 = 0;
            for i in 0..depth {
                acc = acc.wrapping_add((w[i] as i8 as i32 + p.filter_offset) * (x[i] as i8 as i32 + p.input_offset));
            }
            if !bias.is_empty() {
                acc = acc.wrapping_add(le_i32(bias, o));
            }
            let q = if per_channel { o } else { 0 };
            let scaled = multiply_by_quantized_multiplier(acc, le_i32(multipliers, q), le_i32(shifts, q));
            output[b * units + o] = clamp_s8(scaled.wrapping_add(p.output_offset), p.act_min, p.act_max);
        }
    }
    Ok(())
}
