//! TRANSPOSE, int8 (`transpose_s8`): a permutation of up to six dimensions; values are moved, never changed.

use crate::program::{TransposeParams, TRANSPOSE_MAX_DIMS};
use crate::KernelError;

/// Scratch bytes of TRANSPOSE: none.
pub fn transpose_s8_scratch_bytes(_params: &TransposeParams) -> usize {
    0
}

/// Output dimension `d` is input dimension `p.perm[d]`; the output is written in row-major order.
pub fn transpose_s8(p: &TransposeParams, input: &[u8], output: &mut [u8]) -> Result<(), KernelError> {
    const N: usize = TRANSPOSE_MAX_DIMS;
    let bad = KernelError::BadLength { kernel: "transpose_s8" };
    let mut seen = [false; N];
    for &axis in &p.perm {
        let slot = seen.get_mut(axis as usize).ok_or(bad)?;
        if *slot {
            return Err(bad);
        }
        *slot = true;
    }
    let count = p.input.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d as usize)).ok_or(bad)?;
    if input.len() != count || output.len() != count {
        return Err(bad);
    }
    // Row-major strides of the input, then read in the output's order.
    let mut in_stride = [0usize; N];
    let mut acc = 1;
    for d in (0..N).rev() {
        in_stride[d] = acc;
        acc *= p.input[d] as usize;
    }
    let out_shape: [usize; N] = core::array::from_fn(|d| p.input[p.perm[d] as usize] as usize);
    let stride: [usize; N] = core::array::from_fn(|d| in_stride[p.perm[d] as usize]);
    let mut index = [0usize; N];
    for out in output.iter_mut() {
        let offset: usize = index.iter().zip(&stride).map(|(i, s)| i * s).sum();
        *out = input[offset];
        // Advance the output index, last dimension fastest.
        for d in (0..N).rev() {
            index[d] += 1;
            if index[d] < out_shape[d] {
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
    fn transposes_a_matrix_and_refuses_a_bad_permutation() {
        let p = TransposeParams { input: [1, 1, 1, 1, 2, 3], perm: [0, 1, 2, 3, 5, 4] };
        let mut out = [0u8; 6];
        transpose_s8(&p, &[1, 2, 3, 4, 5, 6], &mut out).unwrap();
        assert_eq!(out, [1, 4, 2, 5, 3, 6]);
        let twice = TransposeParams { perm: [0, 1, 2, 3, 4, 4], ..p };
        assert!(transpose_s8(&twice, &[1, 2, 3, 4, 5, 6], &mut out).is_err());
    }
}
