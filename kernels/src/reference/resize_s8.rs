//! RESIZE_NEAREST_NEIGHBOR, int8 (`resize_nearest_neighbor_s8`): each output pixel copies the input pixel its
//! row and column tables name (computed on the host with TFLite's float rounding rules).

use super::le_i32;
use crate::program::ResizeParams;
use crate::KernelError;

/// Scratch bytes of RESIZE_NEAREST_NEIGHBOR: none.
pub fn resize_nearest_neighbor_s8_scratch_bytes(_params: &ResizeParams) -> usize {
    0
}

/// `rows` holds the source row of each output row, `cols` the source column of each output column
/// (little-endian `i32`); every entry is checked against the input.
pub fn resize_nearest_neighbor_s8(
    p: &ResizeParams,
    input: &[u8],
    rows: &[u8],
    cols: &[u8],
    output: &mut [u8],
) -> Result<(), KernelError> {
    let bad = KernelError::BadLength { kernel: "resize_nearest_neighbor_s8" };
    let [n, ih, iw, c] = p.input.map(|d| d as usize);
    let [on, oh, ow, oc] = p.output.map(|d| d as usize);
    let count = |d: [u32; 4]| d.iter().try_fold(1usize, |acc, &x| acc.checked_mul(x as usize));
    if n != on || c != oc || count(p.input) != Some(input.len()) || count(p.output) != Some(output.len()) {
        return Err(bad);
    }
    if rows.len() != 4 * oh || cols.len() != 4 * ow {
        return Err(bad);
    }
    let index =
        |table: &[u8], i: usize, size: usize| usize::try_from(le_i32(table, i)).ok().filter(|&v| v < size).ok_or(bad);
    for i in 0..oh {
        index(rows, i, ih)?;
    }
    for j in 0..ow {
        index(cols, j, iw)?;
    }
    let mut out = 0;
    for b in 0..n {
        for y in 0..oh {
            let sy = index(rows, y, ih)?;
            for x in 0..ow {
                let sx = index(cols, x, iw)?;
                let from = ((b * ih + sy) * iw + sx) * c;
                output[out..out + c].copy_from_slice(&input[from..from + c]);
                out += c;
            }
        }
    }
    Ok(())
}
