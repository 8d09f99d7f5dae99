//! Descriptors of a model's inputs and outputs: what firmware needs to put sensor data into the arena and to
//! read the scores back without parsing the `.tflite` file.
//!
//! A [`TensorDescriptor`] is plain data (constructible in a `static`): the tensor's shape, element type,
//! affine quantisation (`real = scale * (q - zero_point)`) and its place in the arena. Its helpers quantise
//! and dequantise with TFLM's own arithmetic, so a value quantised here is the value TFLM's QUANTIZE kernel
//! would produce from the same `f32`.

use crate::program::Slice;

/// Most dimensions a descriptor records.
pub const MAX_RANK: usize = 8;

/// The element type of a model input or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ElementType {
    /// 8-bit signed integer (every tensor the kernels of this crate read or write).
    Int8,
    /// 8-bit unsigned integer.
    UInt8,
    /// 16-bit signed integer.
    Int16,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// 16-bit float.
    Float16,
    /// 32-bit float.
    Float32,
    /// Boolean (one byte).
    Bool,
}

impl ElementType {
    /// Bytes of one element.
    pub fn size_bytes(self) -> usize {
        match self {
            ElementType::Int8 | ElementType::UInt8 | ElementType::Bool => 1,
            ElementType::Int16 | ElementType::Float16 => 2,
            ElementType::Int32 | ElementType::Float32 => 4,
            ElementType::Int64 => 8,
        }
    }

    /// Its name, as TFLite spells it.
    pub fn name(self) -> &'static str {
        match self {
            ElementType::Int8 => "int8",
            ElementType::UInt8 => "uint8",
            ElementType::Int16 => "int16",
            ElementType::Int32 => "int32",
            ElementType::Int64 => "int64",
            ElementType::Float16 => "float16",
            ElementType::Float32 => "float32",
            ElementType::Bool => "bool",
        }
    }
}

/// Why data could not be moved between `f32` values and a tensor of the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoError {
    /// The helpers quantise to and from int8 only; this tensor has another element type.
    NotInt8(ElementType),
    /// The caller's buffer does not hold one value per element of the tensor.
    LengthMismatch {
        /// Elements of the tensor.
        expected: usize,
        /// Values the caller gave room for.
        got: usize,
    },
    /// The tensor's slice does not lie inside the arena given.
    OutsideArena {
        /// End of the tensor's slice.
        end: usize,
        /// Length of the arena given.
        arena: usize,
    },
}

impl core::fmt::Display for IoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            IoError::NotInt8(t) => write!(f, "the tensor holds {} values, not int8", t.name()),
            IoError::LengthMismatch { expected, got } => {
                write!(f, "the tensor has {expected} elements but {got} values were given")
            }
            IoError::OutsideArena { end, arena } => {
                write!(f, "the tensor ends at byte {end} of an arena of {arena} bytes")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for IoError {}

/// One model input or output: shape, element type, quantisation and place in the arena.
///
/// A tensor without quantisation parameters is described with `scale` 1 and `zero_point` 0 (its values are
/// the raw integers). Descriptors compare equal when every field is equal, the scale by its bit pattern.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TensorDescriptor {
    /// Dimensions, outermost first; only the first `rank` entries count (the rest are 0).
    pub dims: [u32; MAX_RANK],
    /// Number of dimensions (0 for a scalar).
    pub rank: u8,
    /// Element type.
    pub element: ElementType,
    /// Quantisation scale: `real = scale * (q - zero_point)`.
    pub scale: f32,
    /// Quantisation zero point.
    pub zero_point: i32,
    /// Its bytes in the arena.
    pub slice: Slice,
}

impl PartialEq for TensorDescriptor {
    fn eq(&self, other: &Self) -> bool {
        self.dims == other.dims
            && self.rank == other.rank
            && self.element == other.element
            && self.scale.to_bits() == other.scale.to_bits()
            && self.zero_point == other.zero_point
            && self.slice == other.slice
    }
}

impl Eq for TensorDescriptor {}

impl TensorDescriptor {
    /// The dimensions, outermost first.
    pub fn shape(&self) -> &[u32] {
        &self.dims[..(self.rank as usize).min(MAX_RANK)]
    }

    /// Number of elements (the product of the dimensions, 1 for a scalar; saturating).
    pub fn elements(&self) -> usize {
        self.shape().iter().fold(1usize, |n, &d| n.saturating_mul(d as usize))
    }

    /// The int8 value of `real`, as TFLM's QUANTIZE computes it: `round(real / scale) + zero_point` with the
    /// division in `f32`, rounding half away from zero, then clamped to `[-128, 127]`. NaN quantises to the
    /// zero point.
    pub fn quantize(&self, real: f32) -> i8 {
        let rounded = round_half_away_from_zero(real / self.scale);
        // `as` saturates (and maps NaN to 0), so a huge quotient clamps instead of wrapping.
        let unclamped = (rounded as i64).saturating_add(self.zero_point as i64);
        unclamped.clamp(i8::MIN as i64, i8::MAX as i64) as i8
    }

    /// The real value of `q`, as TFLM's DEQUANTIZE computes it: `scale * (q - zero_point)` in `f64`, rounded
    /// to `f32`.
    pub fn dequantize(&self, q: i8) -> f32 {
        (self.scale as f64 * (q as i64 - self.zero_point as i64) as f64) as f32
    }

    /// This tensor's bytes in `arena`.
    pub fn bytes<'a>(&self, arena: &'a [u8]) -> Result<&'a [u8], IoError> {
        let range = self.range_in(arena.len())?;
        Ok(&arena[range])
    }

    /// This tensor's bytes in `arena`, writable.
    pub fn bytes_mut<'a>(&self, arena: &'a mut [u8]) -> Result<&'a mut [u8], IoError> {
        let range = self.range_in(arena.len())?;
        Ok(&mut arena[range])
    }

    /// Quantise `reals` (one per element, in the tensor's row-major order) into this tensor's bytes of
    /// `arena`. The tensor must be int8.
    pub fn quantize_into(&self, reals: &[f32], arena: &mut [u8]) -> Result<(), IoError> {
        self.check_int8(reals.len())?;
        let bytes = self.bytes_mut(arena)?;
        for (byte, &real) in bytes.iter_mut().zip(reals) {
            *byte = self.quantize(real) as u8;
        }
        Ok(())
    }

    /// Dequantise this tensor's bytes of `arena` into `reals` (one per element). The tensor must be int8.
    pub fn dequantize_from(&self, arena: &[u8], reals: &mut [f32]) -> Result<(), IoError> {
        self.check_int8(reals.len())?;
        let bytes = self.bytes(arena)?;
        for (real, &byte) in reals.iter_mut().zip(bytes) {
            *real = self.dequantize(byte as i8);
        }
        Ok(())
    }

    fn check_int8(&self, values: usize) -> Result<(), IoError> {
        if self.element != ElementType::Int8 {
            return Err(IoError::NotInt8(self.element));
        }
        let expected = self.elements();
        if values != expected || self.slice.len as usize != expected {
            return Err(IoError::LengthMismatch { expected: self.slice.len as usize, got: values });
        }
        Ok(())
    }

    fn range_in(&self, arena: usize) -> Result<core::ops::Range<usize>, IoError> {
        let outside = IoError::OutsideArena { end: usize::MAX, arena };
        let range = self.slice.range().ok_or(outside)?;
        if range.end > arena {
            return Err(IoError::OutsideArena { end: range.end, arena });
        }
        Ok(range)
    }
}

/// C's `round` for `f32` (halfway cases away from zero), without `std`.
fn round_half_away_from_zero(x: f32) -> f32 {
    // From 2^23 on every f32 is an integer (and NaN and the infinities round to themselves).
    if x.is_nan() || x.abs() >= 8_388_608.0 {
        return x;
    }
    let truncated = x as i32 as f32;
    let fraction = x - truncated; // exact: both have the same exponent range
    if fraction >= 0.5 {
        truncated + 1.0
    } else if fraction <= -0.5 {
        truncated - 1.0
    } else {
        truncated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(scale: f32, zero_point: i32) -> TensorDescriptor {
        let mut dims = [0; MAX_RANK];
        dims[..2].copy_from_slice(&[1, 4]);
        TensorDescriptor {
            dims,
            rank: 2,
            element: ElementType::Int8,
            scale,
            zero_point,
            slice: Slice { offset: 2, len: 4 },
        }
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        for (x, want) in [(0.5, 1.0), (-0.5, -1.0), (1.5, 2.0), (2.5, 3.0), (-2.5, -3.0), (0.49999997, 0.0)] {
            assert_eq!(round_half_away_from_zero(x), want, "round({x})");
        }
        assert_eq!(round_half_away_from_zero(1e9), 1e9);
        assert!(round_half_away_from_zero(f32::NAN).is_nan());
    }

    #[test]
    fn quantize_rounds_then_offsets_then_clamps() {
        let d = descriptor(0.5, -3);
        assert_eq!(d.quantize(0.25), -3 + 1); // 0.5 rounds away from zero
        assert_eq!(d.quantize(-0.25), -3 - 1);
        assert_eq!(d.quantize(1000.0), 127);
        assert_eq!(d.quantize(-1000.0), -128);
        assert_eq!(d.quantize(f32::INFINITY), 127);
        assert_eq!(d.quantize(f32::NAN), -3);
    }

    #[test]
    fn dequantize_inverts_quantize_on_the_grid() {
        let d = descriptor(0.125, 7);
        for q in i8::MIN..=i8::MAX {
            assert_eq!(d.quantize(d.dequantize(q)), q);
        }
    }

    #[test]
    fn arena_helpers_check_type_length_and_bounds() {
        let d = descriptor(1.0, 0);
        let mut arena = [0u8; 8];
        d.quantize_into(&[1.0, -2.0, 3.0, 200.0], &mut arena).unwrap();
        assert_eq!(arena, [0, 0, 1, 254, 3, 127, 0, 0]);
        let mut back = [0.0; 4];
        d.dequantize_from(&arena, &mut back).unwrap();
        assert_eq!(back, [1.0, -2.0, 3.0, 127.0]);
        assert_eq!(d.quantize_into(&[1.0], &mut arena), Err(IoError::LengthMismatch { expected: 4, got: 1 }));
        assert_eq!(d.bytes(&arena[..5]), Err(IoError::OutsideArena { end: 6, arena: 5 }));
        let float = TensorDescriptor { element: ElementType::Float32, ..d };
        assert_eq!(float.dequantize_from(&arena, &mut back), Err(IoError::NotInt8(ElementType::Float32)));
    }
}
