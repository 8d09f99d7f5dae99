//! Strided slice, int8 (`strided_slice_s8`): the box of STRIDED_SLICE, SLICE and each output of SPLIT, with
//! every start, stop and mask already resolved to a first index and a step per dimension.

use crate::program::{SliceParams, SLICE_MAX_DIMS};
use crate::KernelError;

/// Scratch bytes of a strided slice: none.
pub fn strided_slice_s8_scratch_bytes(_params: &SliceParams) -> usize {
    0
}

/// Output element `i` (per dimension) is input element `begin + i * stride`; every index read must lie inside
/// the input, which is checked before anything is written.
pub fn strided_slice_s8(p: &SliceParams, input: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    const N: usize = SLICE_MAX_DIMS;
    let bad = KernelError::BadLength { kernel: "strided_slice_s8" };
    let count = |d: &[u32; N]| d.iter().try_fold(1usize, |acc, &x| acc.checked_mul(x as usize));
    if count(&p.input) != Some(input.len()) || count(&p.output) != Some(output.len()) {
        return Err(bad);
    }
    for d in 0..N {
        if p.output[d] == 0 {
            return Ok(());
        }
        let last = p.begin[d] as i64 + (p.output[d] as i64 - 1) * p.stride[d] as i64;
        if p.begin[d] >= p.input[d] || !(0..p.input[d] as i64).contains(&last) {
            return Err(bad);
        }
    }
    let mut in_stride = [0i64; N];
    let mut acc = 1i64;
    for d in (0..N).rev() {
        in_stride[d] = acc;
        acc *= p.input[d] as i64;
    }
    let mut index = [0i64; N];
    for out in output.iter_mut() {
        let offset: i64 = (0..N).map(|d| (p.begin[d] as i64 + index[d] * p.stride[d] as i64) * in_stride[d]).sum();
        *out = input[offset as usize];
        for d in (0..N).rev() {
            index[d] += 1;
            if index[d] < p.output[d] as i64 {
                break;
            }
            index[d] = 0;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_every_other_column_backwards_and_refuses_a_box_outside_the_input() {
        let p = SliceParams {
            input: [1, 1, 1, 2, 4],
            output: [1, 1, 1, 2, 2],
            begin: [0, 0, 0, 0, 3],
            stride: [1, 1, 1, 1, -2],
        };
        let mut out = [0u8; 4];
        strided_slice_s8(&p, &[0, 1, 2, 3, 4, 5, 6, 7], &mut out).unwrap();
        assert_eq!(out, [3, 1, 7, 5]);
        let outside = SliceParams { stride: [1, 1, 1, 1, 2], ..p };
        assert!(strided_slice_s8(&outside, &[0; 8], &mut out).is_err());
    }
}
