//! ADD with broadcasting (`add_s8`), and the byte copy of RESHAPE (`copy_s8`).

use super::clamp_s8;
use crate::program::AddParams;
use crate::quant::multiply_by_quantized_multiplier;
use crate::KernelError;

/// Scratch bytes of ADD: none.
pub fn add_s8_scratch_bytes(_params: &AddParams) -> usize {
    0
}

/// Offset of output index `idx` (4-D) in an operand of shape `dims`, broadcasting dimensions of size 1.
fn broadcast_offset(idx: [usize; 4], dims: [u32; 4]) -> usize {
    let mut offset = 0;
    for d in 0..4 {
        let size = dims[d] as usize;
        offset = offset * size + if size == 1 { 0 } else { idx[d] };
    }
    offset
}

/// TFLite's int8 ADD: both inputs rescaled to a common scale with 20 bits of headroom, summed, rescaled to
/// the output. Shapes are 4-D; a dimension of size 1 in an input broadcasts.
pub fn add_s8(p: &AddParams, a: &[u8], b: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    let count = |d: [u32; 4]| d.iter().map(|&x| x as usize).product::<usize>();
    let broadcastable = (0..4).all(|d| {
        let o = p.output[d];
        (p.input1[d] == o || p.input1[d] == 1) && (p.input2[d] == o || p.input2[d] == 1)
    });
    if !broadcastable || a.len() != count(p.input1) || b.len() != count(p.input2) || output.len() != count(p.output) {
        return Err(KernelError::BadLength { kernel: "add_s8" });
    }
    let [n, h, w, c] = p.output.map(|d| d as usize);
    let mut out = 0;
    for i0 in 0..n {
        for i1 in 0..h {
            for i2 in 0..w {
                for i3 in 0..c {
                    let idx = [i0, i1, i2, i3];
                    let x = (a[broadcast_offset(idx, p.input1)] as i8 as i32 + p.input1_offset) << p.left_shift;
                    let y = (b[broadcast_offset(idx, p.input2)] as i8 as i32 + p.input2_offset) << p.left_shift;
                    let sx = multiply_by_quantized_multiplier(x, p.input1_multiplier, p.input1_shift);
                    let sy = multiply_by_quantized_multiplier(y, p.input2_multiplier, p.input2_shift);
                    let sum = multiply_by_quantized_multiplier(sx + sy, p.output_multiplier, p.output_shift);
                    output[out] = clamp_s8(sum + p.output_offset, p.act_min, p.act_max);
                    out += 1;
                }
            }
        }
    }
    Ok(())
}

/// Copy the input bytes unchanged (RESHAPE: same data, new shape).
pub fn copy_s8(input: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    if input.len() != output.len() {
        return Err(KernelError::BadLength { kernel: "copy_s8" });
    }
    output.copy_from_slice(input);
    Ok(())
}
