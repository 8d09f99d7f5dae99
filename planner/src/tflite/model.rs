//! The model as the reader returns it: subgraph 0's tensors and operators, with constant data borrowed.

use std::fmt;

/// Element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float.
    Float32,
    /// 16-bit float.
    Float16,
    /// 32-bit signed integer.
    Int32,
    /// 8-bit unsigned integer.
    UInt8,
    /// 64-bit signed integer.
    Int64,
    /// Boolean (one byte).
    Bool,
    /// 16-bit signed integer.
    Int16,
    /// 8-bit signed integer.
    Int8,
    /// Any other TFLite type code.
    Other(i8),
}

impl DType {
    /// From the TFLite `TensorType` code.
    pub fn from_code(code: i8) -> Self {
        match code {
            0 => DType::Float32,
            1 => DType::Float16,
            2 => DType::Int32,
            3 => DType::UInt8,
            4 => DType::Int64,
            6 => DType::Bool,
            7 => DType::Int16,
            9 => DType::Int8,
            other => DType::Other(other),
        }
    }

    /// Bytes per element (`None` for types without a fixed size).
    pub fn elem_size(self) -> Option<usize> {
        match self {
            DType::Float32 | DType::Int32 => Some(4),
            DType::Float16 | DType::Int16 => Some(2),
            DType::UInt8 | DType::Int8 | DType::Bool => Some(1),
            DType::Int64 => Some(8),
            DType::Other(10) => Some(8),
            DType::Other(_) => None,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DType::Other(code) => write!(f, "type code {code}"),
            DType::Float32
            | DType::Float16
            | DType::Int32
            | DType::UInt8
            | DType::Int64
            | DType::Bool
            | DType::Int16
            | DType::Int8 => write!(f, "{}", format!("{self:?}").to_uppercase()),
        }
    }
}

/// Affine quantisation: `real = scale * (q - zero_point)`, per tensor or per channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantization {
    /// One scale per tensor, or per channel along `quantized_dimension`.
    pub scales: Vec<f32>,
    /// Zero points, parallel to `scales`.
    pub zero_points: Vec<i64>,
    /// The channel axis of per-channel quantisation.
    pub quantized_dimension: usize,
}

/// One tensor of subgraph 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor<'a> {
    /// Its index in the subgraph.
    pub index: usize,
    /// Its name.
    pub name: &'a str,
    /// Its shape (a scalar has an empty shape).
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: DType,
    /// Index of its buffer in the model.
    pub buffer: u32,
    /// Constant data, borrowed from the model bytes (`None` for activations).
    pub data: Option<&'a [u8]>,
    /// Quantisation parameters, when present.
    pub quantization: Option<Quantization>,
    /// Whether it is a variable (state kept across inferences).
    pub is_variable: bool,
    /// Elements times element size.
    pub byte_size: usize,
}

impl Tensor<'_> {
    /// Number of elements.
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }
}

/// SAME or VALID padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Padding {
    /// Output size `ceil(in / stride)`, zero-point padding around.
    Same,
    /// No padding.
    Valid,
}

/// A fused activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// None.
    None,
    /// max(x, 0).
    Relu,
    /// clamp(x, -1, 1).
    ReluN1To1,
    /// clamp(x, 0, 6).
    Relu6,
}

/// Options of CONV_2D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv2dOptions {
    /// Padding.
    pub padding: Padding,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Fused activation.
    pub activation: Activation,
    /// Horizontal dilation.
    pub dilation_w: usize,
    /// Vertical dilation.
    pub dilation_h: usize,
}

/// Options of DEPTHWISE_CONV_2D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DepthwiseConv2dOptions {
    /// Padding.
    pub padding: Padding,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Output channels per input channel.
    pub depth_multiplier: usize,
    /// Fused activation.
    pub activation: Activation,
    /// Horizontal dilation.
    pub dilation_w: usize,
    /// Vertical dilation.
    pub dilation_h: usize,
}

/// Options of FULLY_CONNECTED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FullyConnectedOptions {
    /// Fused activation.
    pub activation: Activation,
    /// Whether the output keeps the input's leading dimensions.
    pub keep_num_dims: bool,
}

/// Options of AVERAGE_POOL_2D and MAX_POOL_2D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pool2dOptions {
    /// Padding.
    pub padding: Padding,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Window width.
    pub filter_w: usize,
    /// Window height.
    pub filter_h: usize,
    /// Fused activation.
    pub activation: Activation,
}

/// Options of CONCATENATION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConcatenationOptions {
    /// Axis (negative counts from the end).
    pub axis: i32,
    /// Fused activation.
    pub activation: Activation,
}

/// Options of MEAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReducerOptions {
    /// Whether reduced axes stay as size 1.
    pub keep_dims: bool,
}

/// Options of SOFTMAX.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoftmaxOptions {
    /// The inverse temperature.
    pub beta: f32,
}

/// Options of TRANSPOSE_CONV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransposeConvOptions {
    /// Padding (of the equivalent forward convolution from the output to the input).
    pub padding: Padding,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Fused activation.
    pub activation: Activation,
}

/// Options of STRIDED_SLICE (bit `d` of a mask concerns dimension `d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StridedSliceOptions {
    /// Dimensions whose begin index is ignored (the slice starts at the edge).
    pub begin_mask: i32,
    /// Dimensions whose end index is ignored (the slice runs to the edge).
    pub end_mask: i32,
    /// The ellipsis dimension (not supported by the kernels when set).
    pub ellipsis_mask: i32,
    /// New dimensions of size 1 (not supported by the kernels when set).
    pub new_axis_mask: i32,
    /// Dimensions taken at one index and removed from the output.
    pub shrink_axis_mask: i32,
    /// Whether `end` is relative to `begin`.
    pub offset: bool,
}

/// Options of RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResizeNearestNeighborOptions {
    /// Corners of input and output aligned.
    pub align_corners: bool,
    /// Pixel centres at half-integer coordinates.
    pub half_pixel_centers: bool,
}

/// A supported operator with its options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OpKind {
    /// CONV_2D.
    Conv2d(Conv2dOptions),
    /// DEPTHWISE_CONV_2D.
    DepthwiseConv2d(DepthwiseConv2dOptions),
    /// FULLY_CONNECTED.
    FullyConnected(FullyConnectedOptions),
    /// ADD.
    Add {
        /// Fused activation.
        activation: Activation,
    },
    /// MUL.
    Mul {
        /// Fused activation.
        activation: Activation,
    },
    /// AVERAGE_POOL_2D.
    AveragePool2d(Pool2dOptions),
    /// MAX_POOL_2D.
    MaxPool2d(Pool2dOptions),
    /// MEAN.
    Mean(ReducerOptions),
    /// SOFTMAX.
    Softmax(SoftmaxOptions),
    /// LOGISTIC.
    Logistic,
    /// HARD_SWISH.
    HardSwish,
    /// RESHAPE.
    Reshape,
    /// CONCATENATION.
    Concatenation(ConcatenationOptions),
    /// PAD.
    Pad,
    /// PADV2.
    PadV2,
    /// QUANTIZE.
    Quantize,
    /// DEQUANTIZE.
    Dequantize,
    /// RELU.
    Relu,
    /// RELU6.
    Relu6,
    /// TRANSPOSE (the permutation is its second, constant input).
    Transpose,
    /// LEAKY_RELU.
    LeakyRelu {
        /// Slope below zero.
        alpha: f32,
    },
    /// TANH.
    Tanh,
    /// SUB.
    Sub {
        /// Fused activation.
        activation: Activation,
    },
    /// MAXIMUM.
    Maximum,
    /// MINIMUM.
    Minimum,
    /// STRIDED_SLICE (begin, end and strides are constant inputs 1 to 3).
    StridedSlice(StridedSliceOptions),
    /// SLICE (begin and size are constant inputs 1 and 2).
    Slice,
    /// SPLIT (the axis is constant input 0, the data input 1).
    Split {
        /// Number of outputs.
        num_splits: i32,
    },
    /// SPLIT_V (data, sizes, axis).
    SplitV {
        /// Number of outputs.
        num_splits: i32,
    },
    /// SQUEEZE.
    Squeeze,
    /// EXPAND_DIMS.
    ExpandDims,
    /// RESIZE_NEAREST_NEIGHBOR (the output size is constant input 1).
    ResizeNearestNeighbor(ResizeNearestNeighborOptions),
    /// RESIZE_BILINEAR (the output size is constant input 1; same options as nearest neighbour).
    ResizeBilinear(ResizeNearestNeighborOptions),
    /// PRELU (the slopes are input 1, broadcast against the input).
    Prelu,
    /// PACK: the inputs stacked along a new axis.
    Pack {
        /// Number of inputs.
        values_count: i32,
        /// The new axis in the output (negative counts from the end).
        axis: i32,
    },
    /// TRANSPOSE_CONV (inputs: output shape, filter `[cout, kh, kw, cin]`, input, optional bias).
    TransposeConv(TransposeConvOptions),
    /// UNPACK: the input cut along an axis into outputs without it.
    Unpack {
        /// Number of outputs.
        num: i32,
        /// The axis (negative counts from the end).
        axis: i32,
    },
}

impl OpKind {
    /// The TFLite builtin name, e.g. `CONV_2D`.
    pub fn name(&self) -> &'static str {
        match self {
            OpKind::Conv2d(_) => "CONV_2D",
            OpKind::DepthwiseConv2d(_) => "DEPTHWISE_CONV_2D",
            OpKind::FullyConnected(_) => "FULLY_CONNECTED",
            OpKind::Add { .. } => "ADD",
            OpKind::Mul { .. } => "MUL",
            OpKind::AveragePool2d(_) => "AVERAGE_POOL_2D",
            OpKind::MaxPool2d(_) => "MAX_POOL_2D",
            OpKind::Mean(_) => "MEAN",
            OpKind::Softmax(_) => "SOFTMAX",
            OpKind::Logistic => "LOGISTIC",
            OpKind::HardSwish => "HARD_SWISH",
            OpKind::Reshape => "RESHAPE",
            OpKind::Concatenation(_) => "CONCATENATION",
            OpKind::Pad => "PAD",
            OpKind::PadV2 => "PADV2",
            OpKind::Quantize => "QUANTIZE",
            OpKind::Dequantize => "DEQUANTIZE",
            OpKind::Relu => "RELU",
            OpKind::Relu6 => "RELU6",
            OpKind::Transpose => "TRANSPOSE",
            OpKind::LeakyRelu { .. } => "LEAKY_RELU",
            OpKind::Tanh => "TANH",
            OpKind::Sub { .. } => "SUB",
            OpKind::Maximum => "MAXIMUM",
            OpKind::Minimum => "MINIMUM",
            OpKind::StridedSlice(_) => "STRIDED_SLICE",
            OpKind::Slice => "SLICE",
            OpKind::Split { .. } => "SPLIT",
            OpKind::SplitV { .. } => "SPLIT_V",
            OpKind::Squeeze => "SQUEEZE",
            OpKind::ExpandDims => "EXPAND_DIMS",
            OpKind::ResizeNearestNeighbor(_) => "RESIZE_NEAREST_NEIGHBOR",
            OpKind::ResizeBilinear(_) => "RESIZE_BILINEAR",
            OpKind::Prelu => "PRELU",
            OpKind::Pack { .. } => "PACK",
            OpKind::Unpack { .. } => "UNPACK",
            OpKind::TransposeConv(_) => "TRANSPOSE_CONV",
        }
    }
}

/// One operator of subgraph 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    /// Its index in the subgraph (the file's execution order).
    pub index: usize,
    /// What it computes.
    pub kind: OpKind,
    /// Input tensor indices; `None` for an omitted optional input (-1 in the file).
    pub inputs: Vec<Option<usize>>,
    /// Output tensor indices.
    pub outputs: Vec<usize>,
}

/// One entry of the model's metadata list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata<'a> {
    /// Its name, e.g. `OfflineMemoryAllocation`.
    pub name: &'a str,
    /// The buffer holding its data.
    pub buffer: u32,
    /// The data, when the buffer holds any.
    pub data: Option<&'a [u8]>,
}

/// A TFLite model as arenaplan sees it: subgraph 0, with constant data borrowed from the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Model<'a> {
    /// The whole file.
    pub bytes: &'a [u8],
    /// Schema version.
    pub version: u32,
    /// The description string, if any.
    pub description: Option<&'a str>,
    /// Tensors of subgraph 0.
    pub tensors: Vec<Tensor<'a>>,
    /// Operators of subgraph 0, in file (execution) order.
    pub operators: Vec<Operator>,
    /// Subgraph 0's input tensors.
    pub inputs: Vec<usize>,
    /// Subgraph 0's output tensors.
    pub outputs: Vec<usize>,
    /// Number of subgraphs.
    pub subgraph_count: usize,
    /// Tensors over all subgraphs (what TFLM's offline plan format counts).
    pub total_tensor_count: usize,
    /// The metadata entries.
    pub metadata: Vec<Metadata<'a>>,
}
