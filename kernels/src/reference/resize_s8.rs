//! RESIZE_NEAREST_NEIGHBOR, int8 (`resize_nearest_neighbor_s8`): each output pixel copies the input pixel its
//! row and column tables name (computed on the host with TFLite's float rounding rules). RESIZE_BILINEAR, int8
//! (`resize_bilinear_s8`): TFLite's integer recipe, four neighbours weighted in units of 1/1024, rounded half
//! away from zero.

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

/// Scratch bytes of RESIZE_BILINEAR: none.
pub fn resize_bilinear_s8_scratch_bytes(_params: &ResizeParams) -> usize {
    0
}

/// `rows` holds `(y0, y1, y)` per output row (lower and upper source row, source position times 1024), `cols`
/// the same per output column (little-endian `i32`); every index is checked against the input.
pub fn resize_bilinear_s8(
    p: &ResizeParams,
    input: &[u8],
    rows: &[u8],
    cols: &[u8],
    output: &mut [u8],
) -> Result<(), KernelError> {
    let bad = KernelError::BadLength { kernel: "resize_bilinear_s8" };
    let [n, ih, iw, c] = p.input.map(|d| d as usize);
    let [on, oh, ow, oc] = p.output.map(|d| d as usize);
    let count = |d: [u32; 4]| d.iter().try_fold(1usize, |acc, &x| acc.checked_mul(x as usize));
    if n != on || c != oc || count(p.input) != Some(input.len()) || count(p.output) != Some(output.len()) {
        return Err(bad);
    }
    if rows.len() != 12 * oh || cols.len() != 12 * ow {
        return Err(bad);
    }
    // (lower, upper, position) of entry `i`, both indices inside `size`.
    let entry = |table: &[u8], i: usize, size: usize| -> Result<(usize, usize, i64), KernelError> {
        let index = |k| usize::try_from(le_i32(table, 3 * i + k)).ok().filter(|&v| v < size).ok_or(bad);
        Ok((index(0)?, index(1)?, le_i32(table, 3 * i + 2) as i64))
    };
    for i in 0..oh {
        entry(rows, i, ih)?;
    }
    for j in 0..ow {
        entry(cols, j, iw)?;
    }
    let at = |b: usize, y: usize, x: usize, ch: usize| input[((b * ih + y) * iw + x) * c + ch] as i8 as i64;
    let mut out = 0;
    for b in 0..n {
        for y in 0..oh {
            let (y0, y1, py) = entry(rows, y, ih)?;
            let dy = py - 1024 * y0 as i64;
            for x in 0..ow {
                let (x0, x1, px) = entry(cols, x, iw)?;
                let dx = px - 1024 * x0 as i64;
                for ch in 0..c {
                    let sum = at(b, y0, x0, ch) * (1024 - dy) * (1024 - dx)
                        + at(b, y1, x0, ch) * dy * (1024 - dx)
                        + at(b, y0, x1, ch) * (1024 - dy) * dx
                        + at(b, y1, x1, ch) * dy * dx;
                    let round = if sum > 0 { 1i64 << 19 } else { -(1i64 << 19) };
                    output[out] = ((sum + round) / (1i64 << 20)) as i8 as u8;
                    out += 1;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(values: &[i32]) -> [u8; 12] {
        let mut out = [0u8; 12];
        for (k, v) in values.iter().enumerate() {
            out[4 * k..4 * k + 4].copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    #[test]
    fn bilinear_weights_the_four_neighbours_and_rounds_half_away_from_zero() {
        // One output pixel halfway between two rows and a quarter of the way between two columns.
        let p = ResizeParams { input: [1, 2, 2, 1], output: [1, 1, 1, 1] };
        let rows = table(&[0, 1, 512]);
        let cols = table(&[0, 1, 256]);
        let mut out = [0u8; 1];
        // 0.5 * (0.75 * 10 + 0.25 * 20) + 0.5 * (0.75 * 30 + 0.25 * 40) = 22.5 -> 23.
        resize_bilinear_s8(&p, &[10, 20, 30, 40], &rows, &cols, &mut out).unwrap();
        assert_eq!(out[0] as i8, 23);
        resize_bilinear_s8(&p, &[(-10i8) as u8, (-20i8) as u8, (-30i8) as u8, (-40i8) as u8], &rows, &cols, &mut out)
            .unwrap();
        assert_eq!(out[0] as i8, -23);
        // An index outside the input is refused.
        assert!(resize_bilinear_s8(&p, &[0; 4], &table(&[0, 2, 512]), &cols, &mut out).is_err());
    }
}
