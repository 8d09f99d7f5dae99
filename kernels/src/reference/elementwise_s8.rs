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

/// Apply `f` to every pair of int8 inputs of a 4-D broadcasting binary op, writing the output in order.
pub(crate) fn broadcast_binary(
    kernel: &'static str,
    shapes: [[u32; 4]; 3],
    a: &[u8],
    b: &[u8],
    output: &mut [u8],
    f: impl Fn(i32, i32) -> u8,
) -> Result<(), KernelError> {
    let [in1, in2, out_shape] = shapes;
    let count = |d: [u32; 4]| d.iter().map(|&x| x as usize).product::<usize>();
    let broadcastable = (0..4).all(|d| {
        let o = out_shape[d];
        (in1[d] == o || in1[d] == 1) && (in2[d] == o || in2[d] == 1)
    });
    if !broadcastable || a.len() != count(in1) || b.len() != count(in2) || output.len() != count(out_shape) {
        return Err(KernelError::BadLength { kernel });
    }
    let [n, h, w, c] = out_shape.map(|d| d as usize);
    let mut out = 0;
    for i0 in 0..n {
        for i1 in 0..h {
            for i2 in 0..w {
                for i3 in 0..c {
                    let idx = [i0, i1, i2, i3];
                    let x = a[broadcast_offset(idx, in1)] as i8 as i32;
                    let y = b[broadcast_offset(idx, in2)] as i8 as i32;
                    output[out] = f(x, y);
                    out += 1;
                }
            }
        }
    }
    Ok(())
}

/// TFLite's int8 ADD: both inputs rescaled to a common scale with 20 bits of headroom, summed, rescaled to
/// the output. Shapes are 4-D; a dimension of size 1 in an input broadcasts.
pub fn add_s8(p: &AddParams, a: &[u8], b: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    broadcast_binary("add_s8", [p.input1, p.input2, p.output], a, b, output, |x, y| {
        let x = (x + p.input1_offset) << p.left_shift;
        let y = (y + p.input2_offset) << p.left_shift;
        let sx = multiply_by_quantized_multiplier(x, p.input1_multiplier, p.input1_shift);
        let sy = multiply_by_quantized_multiplier(y, p.input2_multiplier, p.input2_shift);
        let sum = multiply_by_quantized_multiplier(sx + sy, p.output_multiplier, p.output_shift);
        clamp_s8(sum.wrapping_add(p.output_offset), p.act_min, p.act_max)
    })
}

/// Copy the input bytes unchanged (RESHAPE: same data, new shape).
pub fn copy_s8(input: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    if input.len() != output.len() {
        return Err(KernelError::BadLength { kernel: "copy_s8" });
    }
    output.copy_from_slice(input);
    Ok(())
}

/// Scratch bytes of MUL: none.
pub fn mul_s8_scratch_bytes(_params: &crate::program::MulParams) -> usize {
    0
}

/// TFLite's int8 MUL: `requant((a + a_offset) * (b + b_offset)) + output_offset`, with 4-D broadcasting.
pub fn mul_s8(p: &crate::program::MulParams, a: &[u8], b: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    broadcast_binary("mul_s8", [p.input1, p.input2, p.output], a, b, output, |x, y| {
        let product = (x + p.input1_offset) * (y + p.input2_offset);
        let v = multiply_by_quantized_multiplier(product, p.multiplier, p.shift).wrapping_add(p.output_offset);
        clamp_s8(v, p.act_min, p.act_max)
    })
}

/// PAD: the input placed at `before` inside an output filled with `p.value`.
pub fn pad_s8(p: &crate::program::PadParams, input: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    let count = |d: [u32; 4]| d.iter().map(|&x| x as usize).product::<usize>();
    let fits = (0..4).all(|d| p.before[d] + p.input[d] <= p.output[d]);
    if !fits || input.len() != count(p.input) || output.len() != count(p.output) {
        return Err(KernelError::BadLength { kernel: "pad_s8" });
    }
    output.fill(p.value as u8);
    let [n, h, w, c] = p.input.map(|d| d as usize);
    let [_, oh, ow, oc] = p.output.map(|d| d as usize);
    let [bn, bh, bw, bc] = p.before.map(|d| d as usize);
    for i0 in 0..n {
        for i1 in 0..h {
            for i2 in 0..w {
                let src = ((i0 * h + i1) * w + i2) * c;
                let dst = (((i0 + bn) * oh + i1 + bh) * ow + i2 + bw) * oc + bc;
                output[dst..dst + c].copy_from_slice(&input[src..src + c]);
            }
        }
    }
    Ok(())
}

/// CONCATENATION of up to four inputs: for each of `outer` rows, each input contributes `chunk[k]` bytes.
pub fn concat_s8(p: &crate::program::ConcatParams, inputs: &[&[u8]], output: &mut [u8]) -> Result<(), KernelError> {
    let k = p.count as usize;
    let outer = p.outer as usize;
    let row: usize = p.chunks[..k.min(4)].iter().map(|&c| c as usize).sum();
    let ok = k <= 4
        && inputs.len() >= k
        && (0..k).all(|i| inputs[i].len() == outer * p.chunks[i] as usize)
        && output.len() == outer * row;
    if !ok {
        return Err(KernelError::BadLength { kernel: "concat_s8" });
    }
    let mut at = 0;
    for o in 0..outer {
        for (i, input) in inputs.iter().enumerate().take(k) {
            let len = p.chunks[i] as usize;
            output[at..at + len].copy_from_slice(&input[o * len..(o + 1) * len]);
            at += len;
        }
    }
    Ok(())
}

/// Scratch bytes of QUANTIZE: none.
pub fn quantize_s8_scratch_bytes(_params: &crate::program::QuantizeParams) -> usize {
    0
}

/// QUANTIZE int8 to int8 (TFLite's `Requantize`): `requant(x - input_zero_point) + output_zero_point`.
pub fn quantize_s8(p: &crate::program::QuantizeParams, input: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    if input.len() != output.len() {
        return Err(KernelError::BadLength { kernel: "quantize_s8" });
    }
    for (&x, out) in input.iter().zip(output.iter_mut()) {
        let v = multiply_by_quantized_multiplier(x as i8 as i32 - p.input_zero_point, p.multiplier, p.shift);
        *out = clamp_s8(v.wrapping_add(p.output_zero_point), -128, 127);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::QuantizeParams;

    #[test]
    fn quantize_rescales_around_the_zero_points() {
        // Scale halves (multiplier 0.5 = 2^30 in Q31, shift 0): x=10 with zp 2 -> (10-2)/2 = 4, + zp -3 = 1.
        let p = QuantizeParams { input_zero_point: 2, output_zero_point: -3, multiplier: 1 << 30, shift: 0 };
        let input = [10i8 as u8, 2, 127, (-128i8) as u8];
        let mut out = [0u8; 4];
        quantize_s8(&p, &input, &mut out).unwrap();
        // 127: (125)/2 = 62.5 -> 63 - 3 = 60; -128: -130/2 = -65 - 3 = -68.
        assert_eq!(out.map(|b| b as i8), [1, -3, 60, -68]);
    }

    #[test]
    fn mismatched_lengths_are_errors() {
        let p = QuantizeParams::default();
        assert!(quantize_s8(&p, &[0; 3], &mut [0; 4]).is_err());
    }
}
