//! The TFLite reader: our own bounds-checked reading of the `.tflite` FlatBuffer, borrowing constant data.

mod check;
mod error;
mod flatbuf;
pub(crate) mod geometry;
mod model;
mod read;

pub use error::ReadError;
pub use model::{
    Activation, ConcatenationOptions, Conv2dOptions, DType, DepthwiseConv2dOptions, FullyConnectedOptions, Metadata,
    Model, OpKind, Operator, Padding, Pool2dOptions, Quantization, ReducerOptions, ResizeNearestNeighborOptions,
    SoftmaxOptions, StridedSliceOptions, Tensor, TransposeConvOptions,
};
pub use read::{read_model, read_model_within};
