//! The compiled program: a flat list of steps, each a kernel with precomputed integer parameters and the
//! places of its operands, run in one arena by [`run`](crate::run).
//!
//! Operands are byte ranges of three blobs: the arena (activations and scratch), the model file (weights and
//! biases, borrowed from the `.tflite`, never copied) and a precomputed blob (per-channel multipliers and
//! shifts, little-endian `i32`). Everything a step needs is here, computed before inference, so the RAM an
//! inference uses is the arena alone. A step is plain data, constructible in a `static`, so a plan can be
//! exported as Rust constants for firmware.
//!
//! An aliasing step is one whose output range overlaps an input range as [`crate::memory`] declares safe; a
//! row-streamed fused segment is a [`KernelId::RowStreamS8`] header followed by its member steps, whose
//! outputs are rings of rows ([`crate::stream`]).

/// A byte range of one of the program's blobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Slice {
    /// First byte.
    pub offset: u32,
    /// Length in bytes.
    pub len: u32,
}

impl Slice {
    /// The range as `usize`s, if it does not overflow.
    pub fn range(&self) -> Option<core::ops::Range<usize>> {
        let start = self.offset as usize;
        Some(start..start.checked_add(self.len as usize)?)
    }
}

/// Where an operand lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Operand {
    /// Not used by this step.
    #[default]
    Unused,
    /// A range of the arena.
    Arena(Slice),
    /// A range of the model file (constant weights and biases).
    Model(Slice),
    /// A range of the precomputed blob (requantisation multipliers and shifts).
    Precomputed(Slice),
}

/// The closed set of kernels. Sizing and dispatch both match on it, so they cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum KernelId {
    /// Reference CONV_2D.
    Conv2dS8,
    /// Reference DEPTHWISE_CONV_2D.
    DepthwiseConv2dS8,
    /// Reference FULLY_CONNECTED.
    FullyConnectedS8,
    /// Reference ADD with broadcasting.
    AddS8,
    /// Reference AVERAGE_POOL_2D.
    AvgPool2dS8,
    /// Reference MAX_POOL_2D.
    MaxPool2dS8,
    /// A byte copy (RESHAPE).
    CopyS8,
    /// Reference MEAN over height and width.
    MeanS8,
    /// Reference SOFTMAX.
    SoftmaxS8,
    /// Reference MUL with broadcasting.
    MulS8,
    /// PAD with a constant.
    PadS8,
    /// CONCATENATION (all inputs share the output's quantisation).
    ConcatS8,
    /// Reference HARD_SWISH.
    HardSwishS8,
    /// Reference LOGISTIC.
    LogisticS8,
    /// Reference QUANTIZE (int8 to int8 requantisation).
    QuantizeS8,
    /// TRANSPOSE (up to [`TRANSPOSE_MAX_DIMS`] dimensions).
    TransposeS8,
    /// Reference RELU (requantising).
    ReluS8,
    /// Reference RELU6 (a clamp of the raw input, as TFLM's kernel does).
    Relu6S8,
    /// Reference LEAKY_RELU.
    LeakyReluS8,
    /// Reference TANH.
    TanhS8,
    /// Reference SUB with broadcasting.
    SubS8,
    /// MAXIMUM with broadcasting (raw values: inputs and output share the quantisation).
    MaximumS8,
    /// MINIMUM with broadcasting.
    MinimumS8,
    /// A strided box of the input (STRIDED_SLICE, SLICE, and each output of SPLIT).
    StridedSliceS8,
    /// RESIZE_NEAREST_NEIGHBOR (index tables precomputed).
    ResizeNearestNeighborS8,
    /// RESIZE_BILINEAR (TFLite's 10-bit fixed-point weights; index tables precomputed).
    ResizeBilinearS8,
    /// Reference PRELU with broadcasting slopes.
    PreluS8,
    /// Reference TRANSPOSE_CONV (per-channel requantisation; parameters as the convolutions').
    TransposeConv2dS8,
    /// The header of a row-streamed fused segment: the [`StreamParams::members`] steps that follow it run row
    /// by row, their intermediate outputs held as ring buffers of rows ([`crate::stream`]). Its input is the
    /// segment's input and its output the segment's output; it computes nothing itself.
    RowStreamS8,
    /// A segment member that reads rows of a model input from the caller ([`crate::run_streaming`]) into its
    /// ring, so the input never sits whole in the arena.
    InputRowsS8,
}

impl KernelId {
    /// The CMSIS-NN-style name.
    pub fn name(self) -> &'static str {
        match self {
            KernelId::Conv2dS8 => "conv2d_s8",
            KernelId::DepthwiseConv2dS8 => "dwconv2d_s8",
            KernelId::FullyConnectedS8 => "fully_connected_s8",
            KernelId::AddS8 => "add_s8",
            KernelId::AvgPool2dS8 => "avgpool2d_s8",
            KernelId::MaxPool2dS8 => "maxpool2d_s8",
            KernelId::CopyS8 => "copy_s8",
            KernelId::MeanS8 => "mean_s8",
            KernelId::SoftmaxS8 => "softmax_s8",
            KernelId::MulS8 => "mul_s8",
            KernelId::PadS8 => "pad_s8",
            KernelId::ConcatS8 => "concat_s8",
            KernelId::HardSwishS8 => "hard_swish_s8",
            KernelId::LogisticS8 => "logistic_s8",
            KernelId::QuantizeS8 => "quantize_s8",
            KernelId::TransposeS8 => "transpose_s8",
            KernelId::ReluS8 => "relu_s8",
            KernelId::Relu6S8 => "relu6_s8",
            KernelId::LeakyReluS8 => "leaky_relu_s8",
            KernelId::TanhS8 => "tanh_s8",
            KernelId::SubS8 => "sub_s8",
            KernelId::MaximumS8 => "maximum_s8",
            KernelId::MinimumS8 => "minimum_s8",
            KernelId::StridedSliceS8 => "strided_slice_s8",
            KernelId::ResizeNearestNeighborS8 => "resize_nearest_neighbor_s8",
            KernelId::ResizeBilinearS8 => "resize_bilinear_s8",
            KernelId::PreluS8 => "prelu_s8",
            KernelId::TransposeConv2dS8 => "transpose_conv2d_s8",
            KernelId::RowStreamS8 => "row_stream_s8",
            KernelId::InputRowsS8 => "input_rows_s8",
        }
    }

    /// Whether the kernel may write its output over its first input (same range).
    pub fn in_place(self) -> bool {
        matches!(self, KernelId::CopyS8)
    }
}

/// Which implementation of its kernel a step runs. Both give identical outputs; they differ in speed and in
/// scratch needs (see [`crate::scratch_bytes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Variant {
    /// The reference kernel, bit-exact with TFLM's reference kernels.
    #[default]
    Reference,
    /// The optimized kernel (`crate::optimized`), bit-exact with the reference; falls back to the reference
    /// for kernels that have no optimized version.
    Optimized,
}

impl Variant {
    /// Its name, as in plans and exports.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Reference => "reference",
            Variant::Optimized => "optimized",
        }
    }
}

/// Parameters of the convolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ConvParams {
    /// Input shape `[n, h, w, c]`.
    pub input: [u32; 4],
    /// Output shape `[n, h, w, c]`.
    pub output: [u32; 4],
    /// Filter height.
    pub filter_h: u32,
    /// Filter width.
    pub filter_w: u32,
    /// Vertical stride.
    pub stride_h: u32,
    /// Horizontal stride.
    pub stride_w: u32,
    /// Vertical dilation.
    pub dilation_h: u32,
    /// Horizontal dilation.
    pub dilation_w: u32,
    /// Rows of padding above.
    pub pad_h: u32,
    /// Columns of padding on the left.
    pub pad_w: u32,
    /// Output channels per input channel (depthwise only).
    pub depth_multiplier: u32,
    /// `-input_zero_point`.
    pub input_offset: i32,
    /// `output_zero_point`.
    pub output_offset: i32,
    /// Lower clamp (fused activation).
    pub act_min: i32,
    /// Upper clamp.
    pub act_max: i32,
}

/// Parameters of FULLY_CONNECTED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FullyConnectedParams {
    /// Rows of the input.
    pub batches: u32,
    /// Input features.
    pub depth: u32,
    /// Output features.
    pub units: u32,
    /// `-input_zero_point`.
    pub input_offset: i32,
    /// `-filter_zero_point`.
    pub filter_offset: i32,
    /// `output_zero_point`.
    pub output_offset: i32,
    /// Lower clamp.
    pub act_min: i32,
    /// Upper clamp.
    pub act_max: i32,
}

/// Parameters of ADD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AddParams {
    /// First input shape (4-D, 1 where it broadcasts).
    pub input1: [u32; 4],
    /// Second input shape.
    pub input2: [u32; 4],
    /// Output shape.
    pub output: [u32; 4],
    /// Headroom bits (20).
    pub left_shift: i32,
    /// `-zero_point` of the first input.
    pub input1_offset: i32,
    /// Multiplier of the first input.
    pub input1_multiplier: i32,
    /// Shift of the first input.
    pub input1_shift: i32,
    /// `-zero_point` of the second input.
    pub input2_offset: i32,
    /// Multiplier of the second input.
    pub input2_multiplier: i32,
    /// Shift of the second input.
    pub input2_shift: i32,
    /// Output multiplier.
    pub output_multiplier: i32,
    /// Output shift.
    pub output_shift: i32,
    /// `output_zero_point`.
    pub output_offset: i32,
    /// Lower clamp.
    pub act_min: i32,
    /// Upper clamp.
    pub act_max: i32,
}

/// Parameters of the pooling kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PoolParams {
    /// Input shape `[n, h, w, c]`.
    pub input: [u32; 4],
    /// Output shape.
    pub output: [u32; 4],
    /// Window height.
    pub filter_h: u32,
    /// Window width.
    pub filter_w: u32,
    /// Vertical stride.
    pub stride_h: u32,
    /// Horizontal stride.
    pub stride_w: u32,
    /// Rows of padding above.
    pub pad_h: u32,
    /// Columns of padding on the left.
    pub pad_w: u32,
    /// Lower clamp.
    pub act_min: i32,
    /// Upper clamp.
    pub act_max: i32,
}

/// Parameters of MEAN over height and width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MeanParams {
    /// Input shape `[n, h, w, c]`.
    pub input: [u32; 4],
    /// Input zero point.
    pub input_zero_point: i32,
    /// Output zero point.
    pub output_zero_point: i32,
    /// Multiplier of `input_scale / output_scale`.
    pub multiplier: i32,
    /// Its shift.
    pub shift: i32,
}

/// Parameters of SOFTMAX.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SoftmaxParams {
    /// Length of the softmax dimension (the last).
    pub depth: u32,
    /// Multiplier of `beta * input_scale` in Q5.26.
    pub input_multiplier: i32,
    /// Its left shift.
    pub input_left_shift: i32,
    /// Differences to the row maximum below this give 0.
    pub diff_min: i32,
}

/// Parameters of MUL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MulParams {
    /// First input shape (4-D, 1 where it broadcasts).
    pub input1: [u32; 4],
    /// Second input shape.
    pub input2: [u32; 4],
    /// Output shape.
    pub output: [u32; 4],
    /// `-zero_point` of the first input.
    pub input1_offset: i32,
    /// `-zero_point` of the second input.
    pub input2_offset: i32,
    /// `output_zero_point`.
    pub output_offset: i32,
    /// Multiplier of `s1 * s2 / s_out`.
    pub multiplier: i32,
    /// Its shift.
    pub shift: i32,
    /// Lower clamp.
    pub act_min: i32,
    /// Upper clamp.
    pub act_max: i32,
}

/// Parameters of PAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PadParams {
    /// Input shape (4-D).
    pub input: [u32; 4],
    /// Output shape.
    pub output: [u32; 4],
    /// Padding before each dimension.
    pub before: [u32; 4],
    /// The padding value.
    pub value: i32,
}

/// Parameters of CONCATENATION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ConcatParams {
    /// Product of the dimensions before the axis.
    pub outer: u32,
    /// Bytes each input contributes per outer index.
    pub chunks: [u32; 4],
    /// Number of inputs.
    pub count: u32,
}

/// Parameters of HARD_SWISH (16-bit multipliers, as TFLite prepares them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HardSwishParams {
    /// Input zero point.
    pub input_zero_point: i32,
    /// Output zero point.
    pub output_zero_point: i32,
    /// Q15 multiplier from the high-resolution input scale to the "relu-ish" scale.
    pub reluish_multiplier_fixedpoint_int16: i16,
    /// Its exponent.
    pub reluish_multiplier_exponent: i32,
    /// Q15 multiplier from the high-resolution input scale to the output scale.
    pub output_multiplier_fixedpoint_int16: i16,
    /// Its exponent (never positive).
    pub output_multiplier_exponent: i32,
}

/// Parameters of LOGISTIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LogisticParams {
    /// Input zero point.
    pub input_zero_point: i32,
    /// Inputs this far from the zero point saturate.
    pub input_range_radius: i32,
    /// Multiplier to Q4.27.
    pub input_multiplier: i32,
    /// Its left shift.
    pub input_left_shift: i32,
}

/// Parameters of QUANTIZE (int8 to int8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct QuantizeParams {
    /// Input zero point.
    pub input_zero_point: i32,
    /// Output zero point.
    pub output_zero_point: i32,
    /// Multiplier of `input_scale / output_scale`.
    pub multiplier: i32,
    /// Its shift.
    pub shift: i32,
}

/// Most dimensions TRANSPOSE handles.
pub const TRANSPOSE_MAX_DIMS: usize = 6;

/// Parameters of TRANSPOSE: output dimension `d` is input dimension `perm[d]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TransposeParams {
    /// Input shape, padded at the front with 1s to [`TRANSPOSE_MAX_DIMS`] dimensions.
    pub input: [u32; TRANSPOSE_MAX_DIMS],
    /// The permutation, over the padded dimensions.
    pub perm: [u32; TRANSPOSE_MAX_DIMS],
}

/// Parameters of RELU: `output_zero_point + requant(x - input_zero_point)`, clamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ReluParams {
    /// Input zero point.
    pub input_zero_point: i32,
    /// Output zero point.
    pub output_zero_point: i32,
    /// Multiplier of `input_scale / output_scale`.
    pub multiplier: i32,
    /// Its shift.
    pub shift: i32,
    /// Lower clamp (the output's zero point).
    pub act_min: i32,
    /// Upper clamp.
    pub act_max: i32,
}

/// Parameters of a clamp of raw values (RELU6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ClampParams {
    /// Lower bound.
    pub min: i32,
    /// Upper bound.
    pub max: i32,
}

/// Parameters of LEAKY_RELU: one requantisation for inputs at or above the zero point, one (times alpha) below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LeakyReluParams {
    /// Input zero point.
    pub input_zero_point: i32,
    /// Output zero point.
    pub output_zero_point: i32,
    /// Multiplier of `input_scale / output_scale`.
    pub multiplier_identity: i32,
    /// Its shift.
    pub shift_identity: i32,
    /// Multiplier of `input_scale * alpha / output_scale`.
    pub multiplier_alpha: i32,
    /// Its shift.
    pub shift_alpha: i32,
}

/// Shapes of a broadcasting binary operator on raw values (MAXIMUM, MINIMUM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BroadcastParams {
    /// First input shape (4-D, 1 where it broadcasts).
    pub input1: [u32; 4],
    /// Second input shape.
    pub input2: [u32; 4],
    /// Output shape.
    pub output: [u32; 4],
}

/// Most dimensions a strided slice handles.
pub const SLICE_MAX_DIMS: usize = 5;

/// Parameters of a strided slice: output element `i` (per dimension) is input element `begin + i * stride`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SliceParams {
    /// Input shape, padded at the front with 1s.
    pub input: [u32; SLICE_MAX_DIMS],
    /// Output shape (before any axis is shrunk away), padded the same way.
    pub output: [u32; SLICE_MAX_DIMS],
    /// First input index per dimension.
    pub begin: [u32; SLICE_MAX_DIMS],
    /// Step per dimension (may be negative).
    pub stride: [i32; SLICE_MAX_DIMS],
}

/// Parameters of RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR. The source rows and columns are precomputed
/// tables (operands 1 and 2, little-endian `i32`): nearest neighbour, one source index per output row or
/// column; bilinear, three values per output row or column: the lower and upper source index and the source
/// position in units of 1/1024.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ResizeParams {
    /// Input shape `[n, h, w, c]`.
    pub input: [u32; 4],
    /// Output shape.
    pub output: [u32; 4],
}

/// Parameters of PRELU: inputs at or above the zero point requantised alone, those below multiplied by their
/// slope first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PreluParams {
    /// Input shape (4-D).
    pub input: [u32; 4],
    /// Slope shape (4-D, 1 where it broadcasts).
    pub alpha: [u32; 4],
    /// Output shape.
    pub output: [u32; 4],
    /// `-input_zero_point`.
    pub input_offset: i32,
    /// `-alpha_zero_point`.
    pub alpha_offset: i32,
    /// `output_zero_point`.
    pub output_offset: i32,
    /// Multiplier of `input_scale / output_scale`.
    pub multiplier_identity: i32,
    /// Its shift.
    pub shift_identity: i32,
    /// Multiplier of `input_scale * alpha_scale / output_scale`.
    pub multiplier_alpha: i32,
    /// Its shift.
    pub shift_alpha: i32,
}

/// The parameters of one step, one variant per parameter layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum StepParams {
    /// Convolutions.
    Conv(ConvParams),
    /// Fully connected.
    FullyConnected(FullyConnectedParams),
    /// ADD.
    Add(AddParams),
    /// Pooling.
    Pool(PoolParams),
    /// MEAN.
    Mean(MeanParams),
    /// SOFTMAX.
    Softmax(SoftmaxParams),
    /// MUL.
    Mul(MulParams),
    /// PAD.
    Pad(PadParams),
    /// CONCATENATION.
    Concat(ConcatParams),
    /// HARD_SWISH.
    HardSwish(HardSwishParams),
    /// LOGISTIC.
    Logistic(LogisticParams),
    /// QUANTIZE.
    Quantize(QuantizeParams),
    /// TRANSPOSE.
    Transpose(TransposeParams),
    /// RELU.
    Relu(ReluParams),
    /// RELU6.
    Clamp(ClampParams),
    /// LEAKY_RELU.
    LeakyRelu(LeakyReluParams),
    /// TANH (the same preparation as LOGISTIC).
    Tanh(LogisticParams),
    /// MAXIMUM and MINIMUM.
    Broadcast(BroadcastParams),
    /// STRIDED_SLICE, SLICE, SPLIT.
    StridedSlice(SliceParams),
    /// RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR.
    Resize(ResizeParams),
    /// PRELU.
    Prelu(PreluParams),
    /// No parameters (a copy).
    NoParams,
    /// [`KernelId::RowStreamS8`].
    Stream(StreamParams),
    /// [`KernelId::InputRowsS8`].
    InputRows(InputRowsParams),
}

/// Most steps a row-streamed segment fuses ([`StreamParams::members`]).
pub const MAX_STREAM_MEMBERS: usize = 8;

/// Parameters of [`KernelId::RowStreamS8`], the header of a row-streamed fused segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StreamParams {
    /// How many of the following steps the segment fuses (2 to [`MAX_STREAM_MEMBERS`]).
    pub members: u32,
}

/// Parameters of [`KernelId::InputRowsS8`]: which model input it reads, and that input's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct InputRowsParams {
    /// The model input (index into [`Program::inputs`]).
    pub input: u32,
    /// Its shape `[1, h, w, c]`: rows of `w x c` bytes.
    pub shape: [u32; 4],
}

/// Most operands a step takes (data, weights, bias, multipliers, shifts).
pub const MAX_OPERANDS: usize = 5;

/// One kernel invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Step {
    /// The kernel.
    pub kernel: KernelId,
    /// Which implementation of the kernel runs.
    pub variant: Variant,
    /// Its parameters.
    pub params: StepParams,
    /// Its operands, in the kernel's order (unused ones are [`Operand::Unused`]).
    pub inputs: [Operand; MAX_OPERANDS],
    /// Where it writes, in the arena.
    pub output: Slice,
    /// Its scratch buffer in the arena, if it needs one.
    pub scratch: Option<Slice>,
}

/// A whole model, ready to run in one arena.
#[derive(Debug, Clone, Copy)]
pub struct Program<'a> {
    /// The steps, in execution order.
    pub steps: &'a [Step],
    /// The model file (weights and biases are read from it).
    pub model: &'a [u8],
    /// The precomputed constants.
    pub precomputed: &'a [u8],
    /// The arena the program needs.
    pub arena_bytes: u32,
    /// Where the model inputs go, in the arena.
    pub inputs: &'a [Slice],
    /// Where the model outputs are, in the arena.
    pub outputs: &'a [Slice],
}
