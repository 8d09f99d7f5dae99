//! Reference int8 kernels with TFLite's semantics, bit-exact with TFLM's reference kernels.
//!
//! Activations and weights are passed as raw bytes (`u8`, reinterpreted as `i8`), 32-bit constants as
//! little-endian bytes, so no slice ever needs alignment. Every kernel checks the lengths it is given.

pub mod access;
pub mod activation_s8;
pub mod aliased;
pub mod binary_s8;
pub mod conv2d_s8;
pub mod elementwise_s8;
pub mod fully_connected_s8;
pub mod hard_swish_s8;
pub mod logistic_s8;
pub mod pool2d_s8;
pub mod reduce_s8;
pub mod resize_s8;
pub mod slice_s8;
pub mod softmax_s8;
pub mod tanh_s8;
pub mod transpose_conv2d_s8;
pub mod transpose_s8;

/// Read the `i`-th little-endian `i32` of `bytes`.
pub(crate) fn le_i32(bytes: &[u8], i: usize) -> i32 {
    i32::from_le_bytes([bytes[4 * i], bytes[4 * i + 1], bytes[4 * i + 2], bytes[4 * i + 3]])
}

/// Clamp to `[min, max]` and narrow to a byte.
pub(crate) fn clamp_s8(value: i32, min: i32, max: i32) -> u8 {
    value.clamp(min, max) as i8 as u8
}
