//! Index geometry of the data-movement operators (STRIDED_SLICE, SLICE, SPLIT, TRANSPOSE), computed once with
//! TFLite's rules and shared by the load-time shape checks and the compiler, so both see the same box.

use super::model::{DType, StridedSliceOptions, Tensor};

/// The values of a constant INT32 tensor, `None` when it is not one.
pub(crate) fn constant_i32s(t: &Tensor<'_>) -> Option<Vec<i32>> {
    let data = t.data.filter(|_| t.dtype == DType::Int32)?;
    Some(data.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// A negative axis counted from the end, checked against the rank.
pub(crate) fn resolve_axis(axis: i32, rank: usize) -> Option<usize> {
    let axis = if axis < 0 { axis as i64 + rank as i64 } else { axis as i64 };
    usize::try_from(axis).ok().filter(|&a| a < rank)
}

/// One dimension of a strided box: `count` elements from `begin`, `stride` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AxisBox {
    /// First index (inside the dimension whenever `count > 0`).
    pub begin: usize,
    /// Number of elements.
    pub count: usize,
    /// Step (never 0).
    pub stride: i64,
    /// Whether STRIDED_SLICE removes this dimension from its output.
    pub shrunk: bool,
}

/// The box of a STRIDED_SLICE, with TFLite's start/stop rules (masks, negative indices, clamping).
pub(crate) fn strided_slice_box(
    shape: &[usize],
    begin: &[i32],
    end: &[i32],
    strides: &[i32],
    o: &StridedSliceOptions,
) -> Result<Vec<AxisBox>, String> {
    let rank = shape.len();
    if begin.len() != rank || end.len() != rank || strides.len() != rank {
        return Err(format!(
            "begin, end and strides have {}, {} and {} values for a rank-{rank} input",
            begin.len(),
            end.len(),
            strides.len()
        ));
    }
    if o.ellipsis_mask != 0 || o.new_axis_mask != 0 || o.offset {
        return Err("ellipsis_mask, new_axis_mask and offset are not supported".to_owned());
    }
    let bit = |mask: i32, d: usize| d < 32 && mask & (1 << d) != 0;
    let mut out = Vec::with_capacity(rank);
    for d in 0..rank {
        let size = shape[d] as i64;
        let stride = strides[d] as i64;
        if stride == 0 {
            return Err(format!("stride 0 on axis {d}"));
        }
        let clamp = |v: i64| if stride > 0 { v.clamp(0, size) } else { v.clamp(-1, size - 1) };
        let mut start = if bit(o.begin_mask, d) {
            if stride > 0 {
                i32::MIN as i64
            } else {
                i32::MAX as i64
            }
        } else {
            begin[d] as i64
        };
        if start < 0 {
            start += size;
        }
        let start = clamp(start);
        let shrunk = bit(o.shrink_axis_mask, d);
        let stop = if shrunk {
            start + 1
        } else {
            let mut stop = if bit(o.end_mask, d) {
                if stride > 0 {
                    i32::MAX as i64
                } else {
                    i32::MIN as i64
                }
            } else {
                end[d] as i64
            };
            if stop < 0 {
                stop += size;
            }
            clamp(stop)
        };
        let span = if stride > 0 { stop - start } else { start - stop };
        let count = if span > 0 { (span + stride.abs() - 1) / stride.abs() } else { 0 };
        if shrunk && (count != 1 || !(0..size).contains(&start)) {
            return Err(format!("axis {d} is shrunk at index {}, outside its {size} elements", begin[d]));
        }
        out.push(AxisBox { begin: if count > 0 { start as usize } else { 0 }, count: count as usize, stride, shrunk });
    }
    Ok(out)
}

/// The box of a SLICE: `size` elements from `begin` per dimension (`-1`: to the end).
pub(crate) fn slice_box(shape: &[usize], begin: &[i32], size: &[i32]) -> Result<Vec<AxisBox>, String> {
    let rank = shape.len();
    if begin.len() != rank || size.len() != rank {
        return Err(format!("begin and size have {} and {} values for a rank-{rank} input", begin.len(), size.len()));
    }
    let mut out = Vec::with_capacity(rank);
    for d in 0..rank {
        let (b, n, dim) = (begin[d] as i64, size[d] as i64, shape[d] as i64);
        let n = if n == -1 { dim - b } else { n };
        if b < 0 || n < 0 || b + n > dim {
            return Err(format!("begin {} size {} on axis {d} of {dim} elements", begin[d], size[d]));
        }
        out.push(AxisBox { begin: b as usize, count: n as usize, stride: 1, shrunk: false });
    }
    Ok(out)
}

/// The output shape of a box (shrunk dimensions removed).
pub(crate) fn box_shape(b: &[AxisBox]) -> Vec<usize> {
    b.iter().filter(|a| !a.shrunk).map(|a| a.count).collect()
}

/// A TRANSPOSE permutation: one entry per input dimension, each dimension once.
pub(crate) fn permutation(perm: &[i32], rank: usize) -> Result<Vec<usize>, String> {
    let mut seen = vec![false; rank];
    let mut out = Vec::with_capacity(rank);
    if perm.len() != rank {
        return Err(format!("permutation {perm:?} for a rank-{rank} input"));
    }
    for &p in perm {
        let axis =
            resolve_axis(p, rank).filter(|&a| !seen[a]).ok_or_else(|| format!("{perm:?} is not a permutation"))?;
        seen[axis] = true;
        out.push(axis);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> StridedSliceOptions {
        StridedSliceOptions {
            begin_mask: 0,
            end_mask: 0,
            ellipsis_mask: 0,
            new_axis_mask: 0,
            shrink_axis_mask: 0,
            offset: false,
        }
    }

    #[test]
    fn strided_slice_follows_tflite_start_and_stop_rules() {
        // x[1:8:2, ::3, -2:] on [9, 8, 6]: begin mask on axis 1, end past the edge clamps.
        let o = StridedSliceOptions { begin_mask: 0b010, end_mask: 0b010, ..opts() };
        let b = strided_slice_box(&[9, 8, 6], &[1, 0, -2], &[8, 0, 100], &[2, 3, 1], &o).unwrap();
        assert_eq!(box_shape(&b), vec![4, 3, 2]);
        assert_eq!(b[2].begin, 4);
        // A negative stride walks backwards from the end.
        let o = StridedSliceOptions { begin_mask: 1, end_mask: 1, ..opts() };
        let b = strided_slice_box(&[5], &[0], &[0], &[-2], &o).unwrap();
        assert_eq!((b[0].begin, b[0].count), (4, 3));
        // A shrunk axis disappears from the shape.
        let o = StridedSliceOptions { shrink_axis_mask: 1, ..opts() };
        assert_eq!(box_shape(&strided_slice_box(&[3, 4], &[-1, 0], &[0, 4], &[1, 1], &o).unwrap()), vec![4]);
        assert!(strided_slice_box(&[3], &[0], &[3], &[0], &opts()).is_err());
    }

    #[test]
    fn slice_and_permutation_are_checked() {
        assert_eq!(box_shape(&slice_box(&[7, 6], &[2, 1], &[-1, 3]).unwrap()), vec![5, 3]);
        assert!(slice_box(&[7, 6], &[5, 0], &[3, 1]).is_err());
        assert_eq!(permutation(&[0, 3, 1, 2], 4).unwrap(), vec![0, 3, 1, 2]);
        assert!(permutation(&[0, 1, 1], 3).is_err());
    }
}
