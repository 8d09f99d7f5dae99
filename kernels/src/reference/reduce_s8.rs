//! MEAN over the spatial dimensions (`mean_s8`), TFLite's integer recipe: a 32-bit sum per output, the
//! division by the element count folded into the requantisation multiplier.

use crate::program::MeanParams;
use crate::quant::multiply_by_quantized_multiplier;
use crate::KernelError;

/// Scratch bytes of the reference MEAN: the 32-bit sums TFLM keeps in its arena (our kernel accumulates in
/// registers and needs none).
pub fn mean_s8_scratch_bytes(_params: &MeanParams) -> usize {
    0
}

/// Mean over `h * w` for each of `n * c` outputs of an `[n, h, w, c]` input.
pub fn mean_s8(p: &MeanParams, input: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    let [n, h, w, c] = p.input.map(|d| d as usize);
    let count = (h * w) as i64;
    if input.len() != n * h * w * c || output.len() != n * c || count == 0 {
        return Err(KernelError::BadLength { kernel: "mean_s8" });
    }
    // Fold 1/count into the multiplier, keeping the right shift within 31 bits.
    let mut shift = 63 - (count as u64).leading_zeros() as i32;
    shift = shift.min(32).min(31 + p.shift);
    let multiplier = (((p.multiplier as i64) << shift) / count) as i32;
    let out_shift = p.shift - shift;
    for b in 0..n {
        for ch in 0..c {
            let mut sum: i32 = 0;
            for i in 0..h * w {
                sum = sum.wrapping_add(input[(b * h * w + i) * c + ch] as i8 as i32);
            }
            let shifted = sum.wrapping_sub(p.input_zero_point.wrapping_mul(count as i32));
            let value =
                multiply_by_quantized_multiplier(shifted, multiplier, out_shift).wrapping_add(p.output_zero_point);
            output[b * c + ch] = value.clamp(-128, 127) as i8 as u8;
        }
    }
    Ok(())
}
