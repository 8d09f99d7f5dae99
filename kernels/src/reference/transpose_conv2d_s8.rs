//! TRANSPOSE_CONV, int8 with per-channel requantisation (`transpose_conv2d_s8`).
//!
//! TFLM scatters each input pixel times the filter into int32 accumulators the size of the output (a scratch
//! buffer), then requantises. This kernel gathers instead: each output element sums the same products (the
//! input pixels whose scattered window covers it), so the integer sums and the outputs are identical, with no
//! scratch buffer.

use super::{clamp_s8, le_i32};
use crate::program::ConvParams;
use crate::quant::multiply_by_quantized_multiplier;
use crate::KernelError;

/// Scratch bytes of the reference transpose convolution: none (it gathers).
pub fn transpose_conv2d_s8_scratch_bytes(_params: &ConvParams) -> usize {
    0
}

/// Run a transpose convolution: filter `[cout, kh, kw, cin]`; input pixel `(y, x)` contributes to output
/// `(y * stride_h - pad_h + ky, x * stride_w - pad_w + kx)`. `bias` holds `cout` little-endian `i32`s or is
/// empty; `multipliers` and `shifts` hold `cout` little-endian `i32`s each.
#[allow(clippy::too_many_arguments)]
pub fn transpose_conv2d_s8(
    p: &ConvParams,
    input: &[u8],
    filter: &[u8],
    bias: &[u8],
    multipliers: &[u8],
    shifts: &[u8],
    output: &mut [u8],
) -> Result<(), KernelError> {
    let bad = KernelError::BadLength { kernel: "transpose_conv2d_s8" };
    let [batches, in_h, in_w, in_c] = p.input.map(|d| d as usize);
    let [out_b, out_h, out_w, out_c] = p.output.map(|d| d as usize);
    let (k_h, k_w) = (p.filter_h as usize, p.filter_w as usize);
    let product = |dims: &[usize]| dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let ok = batches == out_b
        && product(&[batches, in_h, in_w, in_c]) == Some(input.len())
        && product(&[batches, out_h, out_w, out_c]) == Some(output.len())
        && product(&[out_c, k_h, k_w, in_c]) == Some(filter.len())
        && (bias.is_empty() || bias.len() == 4 * out_c)
        && multipliers.len() == 4 * out_c
        && shifts.len() == 4 * out_c
        && p.stride_h > 0
        && p.stride_w > 0;
    if !ok {
        return Err(bad);
    }
    let (stride_h, stride_w) = (p.stride_h as isize, p.stride_w as isize);
    // The input rows (or columns) whose window covers output row `o`: `o + pad - k` a multiple of the stride.
    let sources = |o: usize, k: usize, pad: u32, stride: isize, size: usize| {
        let t = o as isize + pad as isize - k as isize;
        (t >= 0 && t % stride == 0 && ((t / stride) as usize) < size).then(|| (t / stride) as usize)
    };
    for b in 0..batches {
        for oy in 0..out_h {
            for ox in 0..out_w {
                for oc in 0..out_c {
                    let mut acc: i32 = 0;
                    for ky in 0..k_h {
                        let Some(y) = sources(oy, ky, p.pad_h, stride_h, in_h) else { continue };
                        for kx in 0..k_w {
                            let Some(x) = sources(ox, kx, p.pad_w, stride_w, in_w) else { continue };
                            let pixel = ((b * in_h + y) * in_w + x) * in_c;
                            let row = ((oc * k_h + ky) * k_w + kx) * in_c;
                            for ic in 0..in_c {
                                let w = filter[row + ic] as i8 as i32;
                                acc = acc.wrapping_add((input[pixel + ic] as i8 as i32 + p.input_offset) * w);
                            }
                        }
                    }
                    if !bias.is_empty() {
                        acc = acc.wrapping_add(le_i32(bias, oc));
                    }
                    let scaled = multiply_by_quantized_multiplier(acc, le_i32(multipliers, oc), le_i32(shifts, oc));
                    output[((b * out_h + oy) * out_w + ox) * out_c + oc] =
                        clamp_s8(scaled.wrapping_add(p.output_offset), p.act_min, p.act_max);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stride_2_transpose_conv_scatters_each_pixel_over_its_window() {
        // One channel, 2x1 input, 2x2 filter of ones, stride 2, no padding: each input pixel fills a 2x2 block.
        let p = ConvParams {
            input: [1, 2, 1, 1],
            output: [1, 4, 2, 1],
            filter_h: 2,
            filter_w: 2,
            stride_h: 2,
            stride_w: 2,
            dilation_h: 1,
            dilation_w: 1,
            act_min: -128,
            act_max: 127,
            ..ConvParams::default()
        };
        let one = (1i32 << 30).to_le_bytes(); // 0.5 * 2^1 = 1
        let shift = 1i32.to_le_bytes();
        let mut out = [0u8; 8];
        transpose_conv2d_s8(&p, &[3, 5], &[1, 1, 1, 1], &[], &one, &shift, &mut out).unwrap();
        assert_eq!(out, [3, 3, 3, 3, 5, 5, 5, 5]);
        assert!(transpose_conv2d_s8(&p, &[3], &[1, 1, 1, 1], &[], &one, &shift, &mut out).is_err());
    }
}
