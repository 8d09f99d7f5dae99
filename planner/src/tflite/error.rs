//! Why a `.tflite` file could not be read.

use super::model::DType;

/// A model the reader rejects, with the problem and the operator or tensor it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The file is shorter than a FlatBuffer header.
    #[error("file too short ({len} bytes) to be a TFLite model")]
    TooShort {
        /// File length.
        len: usize,
    },
    /// Bytes 4..8 are not the TFLite identifier.
    #[error("not a TFLite model: the file identifier is {found:?}, expected \"TFL3\"")]
    NotTflite {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// An offset points past the end of the file (a truncated or corrupt file).
    #[error("truncated or corrupt model: {what} at byte {offset} points outside the file")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Where.
        offset: usize,
    },
    /// A string is not UTF-8.
    #[error("corrupt model: {what} is not valid UTF-8")]
    BadString {
        /// What was being read.
        what: &'static str,
    },
    /// The model has no subgraph.
    #[error("the model has no subgraph")]
    NoSubgraph,
    /// An index points past the table it refers to.
    #[error("{owner} refers to {kind} {index}, but the model has only {count}")]
    IndexOutOfRange {
        /// Who holds the index (e.g. "operator 3 input 1").
        owner: String,
        /// What kind of index ("tensor", "buffer", "operator code").
        kind: &'static str,
        /// The index.
        index: i64,
        /// How many exist.
        count: usize,
    },
    /// A tensor's type is not supported (e.g. a float model).
    #[error("tensor {tensor} (`{name}`) has type {dtype}: only int8 models are supported (is this a float model?)")]
    UnsupportedType {
        /// Tensor index.
        tensor: usize,
        /// Tensor name.
        name: String,
        /// Its type.
        dtype: DType,
    },
    /// An operator arenaplan has no kernel for.
    #[error("operator {op_index} is {name} (builtin code {code}), which arenaplan does not support")]
    UnsupportedOp {
        /// Operator index.
        op_index: usize,
        /// Builtin code.
        code: i32,
        /// Builtin name when known.
        name: String,
    },
    /// A fused activation arenaplan does not support.
    #[error("operator {op_index} has fused activation code {code}, which arenaplan does not support")]
    UnsupportedActivation {
        /// Operator index.
        op_index: usize,
        /// The activation code.
        code: i8,
    },
    /// A tensor has a negative dimension or a size that overflows.
    #[error("tensor {tensor} has shape {shape:?}, whose size is negative or overflows")]
    BadShape {
        /// Tensor index.
        tensor: usize,
        /// Its shape as stored.
        shape: Vec<i32>,
    },
    /// A buffer's data lie outside the file.
    #[error("buffer {buffer}: its data (offset {offset}, size {size}) lie outside the file")]
    BufferOutOfRange {
        /// Buffer index.
        buffer: usize,
        /// Offset.
        offset: u64,
        /// Size.
        size: u64,
    },
    /// An operator's options are missing or malformed.
    #[error("operator {op_index}: {what}")]
    BadOptions {
        /// Operator index.
        op_index: usize,
        /// What is wrong.
        what: String,
    },
    /// A tensor's quantisation parameters cannot be computed with (non-finite or non-positive scale, zero
    /// point out of range for the type, per-channel parameters that do not fit the shape).
    #[error("tensor {tensor} (`{name}`): {what}")]
    BadQuantization {
        /// Tensor index.
        tensor: usize,
        /// Tensor name.
        name: String,
        /// What is wrong.
        what: String,
    },
    /// An operator's output shape does not follow from its inputs and options, or its inputs do not fit
    /// together.
    #[error("operator {op_index} ({op}): {what}")]
    ShapeMismatch {
        /// Operator index.
        op_index: usize,
        /// Its builtin name.
        op: &'static str,
        /// What is wrong.
        what: String,
    },
    /// A constant tensor's data are not the size its shape and type give.
    #[error("tensor {tensor} (`{name}`) holds {found} bytes of data, its shape and type need {expected}")]
    DataSize {
        /// Tensor index.
        tensor: usize,
        /// Tensor name.
        name: String,
        /// Bytes in the file.
        found: usize,
        /// Bytes the shape and type give.
        expected: usize,
    },
    /// The model exceeds a resource limit of [`crate::limits`].
    #[error(transparent)]
    Limit(#[from] crate::limits::LimitError),
}
