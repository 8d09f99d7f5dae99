//! AVERAGE_POOL_2D and MAX_POOL_2D, int8 (`avgpool2d_s8`, `maxpool2d_s8`).

use super::access::{ByteSink, ByteSource};
use super::clamp_s8;
use crate::program::PoolParams;
use crate::KernelError;

/// Scratch bytes of the reference pooling kernels: none.
pub fn pool2d_s8_scratch_bytes(_params: &PoolParams) -> usize {
    0
}

/// Pool over windows clipped to the image (padding is never counted). `average` selects the rounded mean
/// (TFLite's rounding: half away from zero), else the maximum.
pub fn pool2d_s8(p: &PoolParams, average: bool, input: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    pool2d_s8_over(p, average, input, output)
}

/// [`pool2d_s8`] reading through a [`ByteSource`] and writing through a [`ByteSink`]: the same loop over plain
/// slices or over one arena whose output may overlap the input (output row-major, each output element pooled
/// from its window, then written; [`crate::memory`] derives the allowed overlap from this order).
pub fn pool2d_s8_over<I: ByteSource + ?Sized, O: ByteSink + ?Sized>(
    p: &PoolParams,
    average: bool,
    input: &I,
    output: &mut O,
) -> Result<(), KernelError> {
    pool2d_s8_rows(p, average, input, output, 0..p.output[1] as usize)
}

/// [`pool2d_s8_over`] computing only the output rows `rows` (of every batch): the same per-element loop, so a
/// row computed here is bit-identical to that row of a whole run (used by [`crate::stream`]).
pub fn pool2d_s8_rows<I: ByteSource + ?Sized, O: ByteSink + ?Sized>(
    p: &PoolParams,
    average: bool,
    input: &I,
    output: &mut O,
    rows: core::ops::Range<usize>,
) -> Result<(), KernelError> {
    let [batches, in_h, in_w, ch] = p.input.map(|d| d as usize);
    let [_, out_h, out_w, out_c] = p.output.map(|d| d as usize);
    let (input_len, output_len) = (input.byte_len(), output.byte_len());
    if input_len != batches * in_h * in_w * ch || output_len != batches * out_h * out_w * ch || out_c != ch {
        return Err(KernelError::BadLength { kernel: if average { "avgpool2d_s8" } else { "maxpool2d_s8" } });
    }
    for b in 0..batches {
        for oy in rows.start..rows.end.min(out_h) {
            for ox in 0..out_w {
                let y0 = (oy * p.stride_h as usize) as isize - p.pad_h as isize;
                let x0 = (ox * p.stride_w as usize) as isize - p.pad_w as isize;
                let ys = y0.max(0) as usize..((y0 + p.filter_h as isize).min(in_h as isize)).max(0) as usize;
                let xs = x0.max(0) as usize..((x0 + p.filter_w as isize).min(in_w as isize)).max(0) as usize;
                for c in 0..ch {
                    let (mut sum, mut max, mut count) = (0i32, i32::MIN, 0i32);
                    for y in ys.clone() {
                        for x in xs.clone() {
                            let v = input.byte(input.row_start(b * in_h + y, in_w * ch) + x * ch + c) as i8 as i32;
                            sum = sum.wrapping_add(v);
                            max = max.max(v);
                            count += 1;
                        }
                    }
                    let value = if !average {
                        max
                    } else if count == 0 {
                        0
                    } else if sum > 0 {
                        sum.wrapping_add(count / 2) / count
                    } else {
                        sum.wrapping_sub(count / 2) / count
                    };
                    let at = output.out_row_start(b * out_h + oy, out_w * ch) + ox * ch + c;
                    output.set_byte(at, clamp_s8(value, p.act_min, p.act_max));
                }
            }
        }
    }
    Ok(())
}
