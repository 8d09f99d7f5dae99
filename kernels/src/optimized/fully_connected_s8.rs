//! FULLY_CONNECTED, int8, per-tensor or per-channel requantisation, optimized (`fully_connected_s8`).
//!
//! Lanes (Cortex-M): two input rows (batches) at a time are widened to `i16` with the input offset added (the
//! same two-pixel column as the convolution's im2col), then multiplied with two weight rows at a time by the
//! 2x2 SMLAD block; a single row is computed as a pair with itself. Wide (host): one widened row, one
//! vectorised dot product per unit. A non-zero filter offset adds `filter_offset * sum(x + input_offset)` once
//! per row and unit.

use super::conv2d_s8::dot_wide;
use super::conv2d_s8::matmul::{dot_2x1, dot_2x2, fill_row};
use super::dsp::{halves_mut, words_mut};
use super::{le_i32, Engine, Requant};
use crate::program::FullyConnectedParams;
use crate::reference::fully_connected_s8::operands_fit;
use crate::KernelError;

/// Scratch bytes [`fully_connected_s8`] needs: `4 * depth + 3` (two widened input rows, aligned to 4 bytes).
pub fn fully_connected_s8_scratch_bytes(p: &FullyConnectedParams) -> usize {
    4 * p.depth as usize + 3
}

/// `output[b, o] = requant(sum_i (w[o, i] + filter_offset) * (x[b, i] + input_offset) + bias[o])`, bit-exact
/// with [`crate::reference::fully_connected_s8::fully_connected_s8`], using `scratch` of at least
/// [`fully_connected_s8_scratch_bytes`] bytes.
#[allow(clippy::too_many_arguments)]
pub fn fully_connected_s8(
    p: &FullyConnectedParams,
    input: &[u8],
    weights: &[u8],
    bias: &[u8],
    multipliers: &[u8],
    shifts: &[u8],
    scratch: &mut [u8],
    output: &mut [u8],
) -> Result<(), KernelError> {
    let ok = operands_fit(p, input.len(), weights.len(), bias.len(), multipliers.len(), shifts.len(), output.len())
        && scratch.len() >= fully_connected_s8_scratch_bytes(p);
    if !ok {
        return Err(KernelError::BadLength { kernel: "fully_connected_s8" });
    }
    if !(-255..=255).contains(&p.input_offset) {
        return crate::reference::fully_connected_s8::fully_connected_s8(
            p,
            input,
            weights,
            bias,
            multipliers,
            shifts,
            output,
        );
    }
    run(Engine::NATIVE, p, input, weights, bias, multipliers, shifts, scratch, output);
    Ok(())
}

/// The kernel after validation, in the chosen formulation.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    engine: Engine,
    p: &FullyConnectedParams,
    input: &[u8],
    weights: &[u8],
    bias: &[u8],
    multipliers: &[u8],
    shifts: &[u8],
    scratch: &mut [u8],
    output: &mut [u8],
) {
    let (batches, depth, units) = (p.batches as usize, p.depth as usize, p.units as usize);
    let per_channel = multipliers.len() == 4 * units && units > 1;
    let fo = p.filter_offset;
    let out = |acc: i32, sum_x: i32, o: usize| -> u8 {
        let mut acc = acc.wrapping_add(fo.wrapping_mul(sum_x));
        if !bias.is_empty() {
            acc = acc.wrapping_add(le_i32(bias, o));
        }
        let q = if per_channel { o } else { 0 };
        Requant::new(le_i32(multipliers, q), le_i32(shifts, q)).output(acc, p.output_offset, p.act_min, p.act_max)
    };
    if engine == Engine::Wide {
        let col = &mut halves_mut(scratch)[..depth];
        for b in 0..batches {
            let mut sum = 0i32;
            for (d, &x) in col.iter_mut().zip(&input[b * depth..(b + 1) * depth]) {
                let v = x as i8 as i32 + p.input_offset;
                sum = sum.wrapping_add(v);
                *d = v as i16;
            }
            for o in 0..units {
                output[b * units + o] = out(dot_wide(col, &weights[o * depth..(o + 1) * depth]), sum, o);
            }
        }
        return;
    }
    let col = &mut words_mut(scratch)[..depth];
    let mut b = 0;
    while b < batches {
        // An odd last row is computed twice and written once.
        let b1 = if b + 1 < batches { b + 1 } else { b };
        let s0 = fill_row(&input[b * depth..(b + 1) * depth], p.input_offset, 0, col);
        let s1 = fill_row(&input[b1 * depth..(b1 + 1) * depth], p.input_offset, 1, col);
        let mut o = 0;
        while o + 2 <= units {
            let w0 = &weights[o * depth..(o + 1) * depth];
            let w1 = &weights[(o + 1) * depth..(o + 2) * depth];
            let [a00, a10, a01, a11] = dot_2x2(col, w0, w1, [0; 4]);
            output[b * units + o] = out(a00, s0, o);
            output[b * units + o + 1] = out(a01, s0, o + 1);
            if b1 != b {
                output[b1 * units + o] = out(a10, s1, o);
                output[b1 * units + o + 1] = out(a11, s1, o + 1);
            }
            o += 2;
        }
        if o < units {
            let [a00, a10] = dot_2x1(col, &weights[o * depth..(o + 1) * depth]);
            output[b * units + o] = out(a00, s0, o);
            if b1 != b {
                output[b1 * units + o] = out(a10, s1, o);
            }
        }
        b += 2;
    }
}
