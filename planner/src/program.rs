//! Lowering a validated [`Plan`] to a kernels [`Program`]: every per-op constant TFLM computes at preparation
//! (requantisation multipliers and shifts, padding, activation ranges) is computed here, once, on the host.

use arenaplan_kernels::io::{ElementType, TensorDescriptor, MAX_RANK};
use arenaplan_kernels::program::{
    AddParams, BroadcastParams, ClampParams, ConcatParams, ConvParams, FullyConnectedParams, HardSwishParams,
    InputRowsParams, KernelId, LeakyReluParams, LogisticParams, MeanParams, MulParams, Operand, PadParams, PoolParams,
    PreluParams, Program, QuantizeParams, ReluParams, ResizeParams, Slice, SliceParams, SoftmaxParams, Step,
    StepParams, StreamParams, TransposeParams, Variant, MAX_OPERANDS, SLICE_MAX_DIMS, TRANSPOSE_MAX_DIMS,
};

use crate::graph::{Graph, OpId, TensorId};
use crate::plan::{KernelVariant, Plan};
use crate::problem::BufferOrigin;
use crate::segments::FusedSegment;
use crate::tflite::geometry::{constant_i32s, permutation, resolve_axis, slice_box, strided_slice_box, AxisBox};
use crate::tflite::{
    Activation, ConcatenationOptions, DType, FullyConnectedOptions, OpKind, Operator, Padding, Pool2dOptions,
    ResizeNearestNeighborOptions, SoftmaxOptions, StridedSliceOptions, Tensor, TransposeConvOptions,
};
use crate::validate::ValidationError;

/// Why a plan could not be compiled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompileError {
    /// The plan does not match the model, or is not valid.
    #[error("the plan is not valid for this model: {0}")]
    Invalid(#[from] ValidationError),
    /// The plan's schedule or request cannot be lowered again.
    #[error("the plan cannot be lowered again: {0}")]
    Lowering(String),
    /// No kernel implements this operator (yet).
    #[error("operator {op} ({name}) has no kernel in the reference set yet")]
    Unsupported {
        /// Operator index.
        op: usize,
        /// Its builtin name.
        name: &'static str,
    },
    /// A tensor lacks what its kernel needs (quantisation, data, a 4-D shape).
    #[error("operator {op}: {what}")]
    BadTensor {
        /// Operator index.
        op: usize,
        /// What is missing.
        what: String,
    },
}

/// A compiled program with the storage its [`Program`] view borrows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledProgram {
    /// The steps.
    pub steps: Vec<Step>,
    /// The operator each step computes (parallel to `steps`); `None` for a fused segment's header, which
    /// computes nothing itself (its members follow it).
    pub step_ops: Vec<Option<u32>>,
    /// The precomputed constants (little-endian `i32`s).
    pub precomputed: Vec<u8>,
    /// Model input slices in the arena.
    pub inputs: Vec<Slice>,
    /// Model output slices in the arena.
    pub outputs: Vec<Slice>,
    /// The arena the program needs.
    pub arena_bytes: u32,
    /// Shape, type, quantisation and arena slice of each model input (parallel to `inputs`).
    pub input_descriptors: Vec<TensorDescriptor>,
    /// The same for each model output (parallel to `outputs`).
    pub output_descriptors: Vec<TensorDescriptor>,
    /// SHA-256 of the model file the program was compiled from (its `Model` operands are offsets into it);
    /// firmware checks the bytes it is given with `arenaplan_kernels::model_check::check_model`.
    pub model_sha256: [u8; 32],
}

impl CompiledProgram {
    /// The program, borrowing the model bytes it was compiled from.
    pub fn program<'a>(&'a self, model: &'a [u8]) -> Program<'a> {
        Program {
            steps: &self.steps,
            model,
            precomputed: &self.precomputed,
            arena_bytes: self.arena_bytes,
            inputs: &self.inputs,
            outputs: &self.outputs,
        }
    }

    /// The program over `model`, once `model` is checked to be the file it was compiled from.
    pub fn checked_program<'a>(
        &'a self,
        model: &'a [u8],
    ) -> Result<Program<'a>, arenaplan_kernels::model_check::ModelMismatch> {
        arenaplan_kernels::model_check::checked_program(self.program(model), &self.model_sha256)
    }

    /// Bytes of the program's own state (steps and precomputed constants): constant data that firmware keeps in
    /// flash, reported beside the arena.
    pub fn constant_bytes(&self) -> usize {
        self.steps.len() * std::mem::size_of::<Step>() + self.precomputed.len()
    }
}

/// `x = m * 2^e` with `m` in `[0.5, 1)`, for finite positive `x`.
fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let (x, bias) = if x.abs() < f64::MIN_POSITIVE { (x * 2f64.powi(54), -54) } else { (x, 0) };
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let mantissa = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (mantissa, exp - 1022 + bias)
}

/// TFLite's `QuantizeMultiplier`: a Q31 multiplier and a power-of-two shift with `m * 2^shift == real`.
pub fn quantize_multiplier(real: f64) -> (i32, i32) {
    if real == 0.0 {
        return (0, 0);
    }
    let (q, mut shift) = frexp(real);
    let mut q_fixed = (q * (1i64 << 31) as f64).round() as i64;
    if q_fixed == 1i64 << 31 {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return (0, 0);
    }
    if shift > 30 {
        return (i32::MAX, 30);
    }
    (q_fixed as i32, shift)
}

/// A Q31 multiplier rounded to Q15, saturating (TFLite's `DownScaleInt32ToInt16Multiplier`).
fn downscale_to_int16(multiplier: i32) -> i16 {
    const ROUNDING: i32 = 1 << 15;
    if multiplier >= i32::MAX - ROUNDING {
        i16::MAX
    } else {
        ((multiplier + ROUNDING) >> 16) as i16
    }
}

/// The int8 clamp range of a fused activation for an output of `scale` and `zero_point`. Saturating: a tiny
/// scale cannot overflow (the compiler refuses a range whose minimum exceeds its maximum).
pub fn activation_range_s8(activation: Activation, scale: f32, zero_point: i32) -> (i32, i32) {
    let quantize = |x: f32| (zero_point as i64).saturating_add((x / scale).round() as i64);
    let (lo, hi) = match activation {
        Activation::None => (-128, 127),
        Activation::Relu => (quantize(0.0), 127),
        Activation::Relu6 => (quantize(0.0), quantize(6.0)),
        Activation::ReluN1To1 => (quantize(-1.0), quantize(1.0)),
    };
    (lo.clamp(-128, 127) as i32, hi.clamp(-128, 127) as i32)
}

/// Padding before the first row/column, as TFLite computes it.
fn padding(padding: Padding, input: u32, output: u32, filter: u32, stride: u32, dilation: u32) -> u32 {
    match padding {
        Padding::Valid => 0,
        Padding::Same => {
            // 64-bit: no shape or option of a corrupt file can overflow (a pad past u32 saturates).
            let effective = (filter as i64 - 1).max(0) * dilation as i64 + 1;
            let total = ((output as i64 - 1) * stride as i64 + effective - input as i64).max(0);
            u32::try_from(total / 2).unwrap_or(u32::MAX)
        }
    }
}

/// The parameters of an AVERAGE_POOL_2D or MAX_POOL_2D with options `o` from `input` to `output` (NHWC shapes),
/// clamped to `(act_min, act_max)`. Shared by the compiler and by the lowering, whose memory behaviours read the
/// window geometry, so both see the same padding.
pub fn pool_params(o: Pool2dOptions, input: [u32; 4], output: [u32; 4], (act_min, act_max): (i32, i32)) -> PoolParams {
    let (fh, fw, sh, sw) = (o.filter_h as u32, o.filter_w as u32, o.stride_h as u32, o.stride_w as u32);
    PoolParams {
        input,
        output,
        filter_h: fh,
        filter_w: fw,
        stride_h: sh,
        stride_w: sw,
        pad_h: padding(o.padding, input[1], output[1], fh, sh, 1),
        pad_w: padding(o.padding, input[2], output[2], fw, sw, 1),
        act_min,
        act_max,
    }
}

/// The parameters of a CONV_2D or DEPTHWISE_CONV_2D operator: shapes, strides, padding, offsets and the
/// activation range. Shared by the compiler and by the lowering, which sizes the optimized kernels' scratch from
/// them, so both see the same geometry.
pub fn conv_params(graph: &Graph<'_>, op_id: OpId) -> Result<ConvParams, CompileError> {
    let op = op_id.0 as usize;
    let operator = graph.op(op_id);
    let bad = |what: String| CompileError::BadTensor { op, what };
    let tensor = |k: usize| -> Result<(usize, &Tensor<'_>), CompileError> {
        let t = operator.inputs.get(k).copied().flatten().ok_or_else(|| bad(format!("input {k} is missing")))?;
        Ok((t, graph.tensor(TensorId(t as u32))))
    };
    let (x, input) = tensor(0)?;
    let (w, filter) = tensor(1)?;
    let out_t = *operator.outputs.first().ok_or_else(|| bad("no output".into()))?;
    let output = graph.tensor(TensorId(out_t as u32));
    let zero_point = |t: usize, tensor: &Tensor<'_>| -> Result<(f32, i32), CompileError> {
        let q = tensor.quantization.as_ref().ok_or_else(|| bad(format!("tensor {t} is not quantised")))?;
        let scale = *q.scales.first().ok_or_else(|| bad(format!("tensor {t} has no scale")))?;
        let zp = q.zero_points.first().copied().unwrap_or(0);
        let zp = i32::try_from(zp).map_err(|_| bad(format!("tensor {t} has zero point {zp}, outside i32")))?;
        Ok((scale, zp))
    };
    let (_, in_zp) = zero_point(x, input)?;
    let (out_scale, out_zp) = zero_point(out_t, output)?;
    let shape4 = |t: usize, tensor: &Tensor<'_>| -> Result<[u32; 4], CompileError> {
        let s = &tensor.shape;
        if s.len() > 4 {
            return Err(bad(format!("tensor {t} has more than 4 dimensions")));
        }
        let mut out = [1u32; 4];
        out[4 - s.len()..].iter_mut().zip(s).for_each(|(o, &d)| *o = d as u32);
        Ok(out)
    };
    let (in_shape, out_shape, w_shape) = (shape4(x, input)?, shape4(out_t, output)?, shape4(w, filter)?);
    let (pad, sh, sw, dh, dw, act, dm) = if let OpKind::Conv2d(o) = operator.kind {
        (o.padding, o.stride_h, o.stride_w, o.dilation_h, o.dilation_w, o.activation, 1)
    } else if let OpKind::DepthwiseConv2d(o) = operator.kind {
        (o.padding, o.stride_h, o.stride_w, o.dilation_h, o.dilation_w, o.activation, o.depth_multiplier)
    } else {
        return Err(bad(format!("{} is not a convolution", operator.kind.name())));
    };
    let (act_min, act_max) = activation_range_s8(act, out_scale, out_zp);
    let (kh, kw) = (w_shape[1], w_shape[2]);
    Ok(ConvParams {
        input: in_shape,
        output: out_shape,
        filter_h: kh,
        filter_w: kw,
        stride_h: sh as u32,
        stride_w: sw as u32,
        dilation_h: dh as u32,
        dilation_w: dw as u32,
        pad_h: padding(pad, in_shape[1], out_shape[1], kh, sh as u32, dh as u32),
        pad_w: padding(pad, in_shape[2], out_shape[2], kw, sw as u32, dw as u32),
        depth_multiplier: dm as u32,
        input_offset: -in_zp,
        output_offset: out_zp,
        act_min,
        act_max,
    })
}

/// The fused-activation clamp of a step's parameters, when it has one.
fn activation_bounds(params: &StepParams) -> Option<(i32, i32)> {
    match params {
        StepParams::Conv(p) => Some((p.act_min, p.act_max)),
        StepParams::FullyConnected(p) => Some((p.act_min, p.act_max)),
        StepParams::Add(p) => Some((p.act_min, p.act_max)),
        StepParams::Mul(p) => Some((p.act_min, p.act_max)),
        StepParams::Pool(p) => Some((p.act_min, p.act_max)),
        StepParams::Relu(p) => Some((p.act_min, p.act_max)),
        StepParams::Clamp(p) => Some((p.min, p.max)),
        StepParams::Mean(_)
        | StepParams::Softmax(_)
        | StepParams::Pad(_)
        | StepParams::Concat(_)
        | StepParams::HardSwish(_)
        | StepParams::Logistic(_)
        | StepParams::Quantize(_)
        | StepParams::Transpose(_)
        | StepParams::LeakyRelu(_)
        | StepParams::Tanh(_)
        | StepParams::Broadcast(_)
        | StepParams::StridedSlice(_)
        | StepParams::Resize(_)
        | StepParams::Prelu(_)
        | StepParams::Stream(_)
        | StepParams::InputRows(_)
        | StepParams::NoParams => None,
    }
}

struct Compiler<'g, 'a> {
    graph: &'g Graph<'a>,
    offsets: Vec<Option<u64>>,
    /// The bytes of each tensor a fused segment holds as a ring (its slice is the ring, not the whole tensor).
    ring_bytes: Vec<Option<u64>>,
    precomputed: Vec<u8>,
}

/// What every operator's compile function starts from: the operator, its first output's place and quantisation.
struct OpContext {
    /// Operator index.
    op: usize,
    /// Its id.
    op_id: OpId,
    /// The operator.
    operator: Operator,
    /// Its first output tensor.
    out_t: usize,
    /// Scales of that output.
    out_scales: Vec<f32>,
    /// Its zero point.
    out_zp: i32,
}

impl OpContext {
    /// Input `k`, if present.
    fn input(&self, k: usize) -> Option<usize> {
        self.operator.inputs.get(k).copied().flatten()
    }

    /// Input `k`, or an error naming it.
    fn need(&self, k: usize) -> Result<usize, CompileError> {
        self.input(k).ok_or_else(|| Compiler::bad(self.op, format!("input {k} is missing")))
    }

    /// The (first) output scale.
    fn out_scale(&self) -> f32 {
        self.out_scales[0]
    }
}

/// A compiled operator before its output is attached: kernel, parameters and operands.
type Compiled = (KernelId, StepParams, [Operand; MAX_OPERANDS]);

/// Operands with `first` as the only one.
fn one_operand(first: Operand) -> [Operand; MAX_OPERANDS] {
    let mut inputs = [Operand::Unused; MAX_OPERANDS];
    inputs[0] = first;
    inputs
}

impl<'a> Compiler<'_, 'a> {
    fn tensor(&self, t: usize) -> &Tensor<'a> {
        self.graph.tensor(TensorId(t as u32))
    }

    fn bad(op: usize, what: impl Into<String>) -> CompileError {
        CompileError::BadTensor { op, what: what.into() }
    }

    fn arena(&self, op: usize, t: usize) -> Result<Slice, CompileError> {
        let offset = self.offsets[t].ok_or_else(|| Self::bad(op, format!("tensor {t} has no place in the plan")))?;
        let len = self.ring_bytes[t].unwrap_or(self.tensor(t).byte_size as u64);
        Ok(Slice { offset: offset as u32, len: len as u32 })
    }

    /// An operand: the arena for planned tensors, the model bytes for constants.
    fn operand(&self, op: usize, t: Option<usize>) -> Result<Operand, CompileError> {
        let Some(t) = t else { return Ok(Operand::Unused) };
        match self.tensor(t).data {
            Some(data) => {
                let offset = data.as_ptr() as usize - self.graph.model().bytes.as_ptr() as usize;
                Ok(Operand::Model(Slice { offset: offset as u32, len: data.len() as u32 }))
            }
            None => self.arena(op, t).map(Operand::Arena),
        }
    }

    fn push_i32s(&mut self, values: &[i32]) -> Operand {
        let offset = self.precomputed.len() as u32;
        for v in values {
            self.precomputed.extend_from_slice(&v.to_le_bytes());
        }
        Operand::Precomputed(Slice { offset, len: 4 * values.len() as u32 })
    }

    fn quant(&self, op: usize, t: usize) -> Result<(Vec<f32>, i32), CompileError> {
        let q = self
            .tensor(t)
            .quantization
            .as_ref()
            .ok_or_else(|| Self::bad(op, format!("tensor {t} is not quantised")))?;
        let zp = q.zero_points.first().copied().unwrap_or(0);
        let zp =
            i32::try_from(zp).map_err(|_| Self::bad(op, format!("tensor {t} has zero point {zp}, outside i32")))?;
        if !q.scales.iter().all(|s| s.is_finite() && *s > 0.0) {
            return Err(Self::bad(op, format!("tensor {t} has a scale that is not finite and positive")));
        }
        Ok((q.scales.clone(), zp))
    }

    /// The values of a constant int32 tensor.
    fn constant_i32s(&self, op: usize, t: usize) -> Result<Vec<i32>, CompileError> {
        let tensor = self.tensor(t);
        let data = tensor.data.ok_or_else(|| Self::bad(op, format!("tensor {t} is not constant")))?;
        if tensor.dtype != DType::Int32 {
            return Err(Self::bad(op, format!("tensor {t} has type {}, not INT32", tensor.dtype)));
        }
        Ok(data.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }

    fn shape4(&self, op: usize, t: usize) -> Result<[u32; 4], CompileError> {
        let s = &self.tensor(t).shape;
        if s.len() > 4 {
            return Err(Self::bad(op, format!("tensor {t} has more than 4 dimensions")));
        }
        let mut out = [1u32; 4];
        out[4 - s.len()..].iter_mut().zip(s).for_each(|(o, &d)| *o = d as u32);
        Ok(out)
    }

    /// The context of operator `op_id`: its first output must be planned and quantised.
    fn context(&self, op_id: OpId) -> Result<OpContext, CompileError> {
        let op = op_id.0 as usize;
        let operator = self.graph.op(op_id).clone();
        let out_t = *operator.outputs.first().ok_or_else(|| Self::bad(op, "no output"))?;
        let (out_scales, out_zp) = self.quant(op, out_t)?;
        Ok(OpContext { op, op_id, operator, out_t, out_scales, out_zp })
    }

    /// The steps of one operator, in order: one step for every operator but SPLIT and SPLIT_V, which write
    /// each output with a step of its own.
    fn steps(&mut self, op_id: OpId) -> Result<Vec<Step>, CompileError> {
        let cx = self.context(op_id)?;
        let unsupported = || CompileError::Unsupported { op: cx.op, name: cx.operator.kind.name() };
        let compiled = match cx.operator.kind {
            OpKind::Conv2d(_) => self.conv(&cx, KernelId::Conv2dS8)?,
            OpKind::DepthwiseConv2d(_) => self.conv(&cx, KernelId::DepthwiseConv2dS8)?,
            OpKind::FullyConnected(o) => self.fully_connected(&cx, o)?,
            OpKind::Add { activation } => self.add(&cx, activation, KernelId::AddS8)?,
            OpKind::Sub { activation } => self.add(&cx, activation, KernelId::SubS8)?,
            OpKind::AveragePool2d(o) => self.pool(&cx, o, KernelId::AvgPool2dS8)?,
            OpKind::MaxPool2d(o) => self.pool(&cx, o, KernelId::MaxPool2dS8)?,
            OpKind::Mean(_) => self.mean(&cx)?,
            OpKind::Softmax(o) => self.softmax(&cx, o)?,
            OpKind::Mul { activation } => self.mul(&cx, activation)?,
            OpKind::Pad => self.pad(&cx, false)?,
            OpKind::PadV2 => self.pad(&cx, true)?,
            OpKind::Concatenation(o) => self.concatenation(&cx, o)?,
            OpKind::HardSwish => self.hard_swish(&cx)?,
            OpKind::Logistic => self.logistic(&cx, KernelId::LogisticS8)?,
            OpKind::Tanh => self.logistic(&cx, KernelId::TanhS8)?,
            OpKind::Quantize => self.quantize(&cx)?,
            OpKind::Reshape | OpKind::Squeeze | OpKind::ExpandDims => self.reshape(&cx)?,
            OpKind::Relu => self.relu(&cx)?,
            OpKind::Relu6 => self.relu6(&cx)?,
            OpKind::LeakyRelu { alpha } => self.leaky_relu(&cx, alpha)?,
            OpKind::Maximum => self.maximum_minimum(&cx, KernelId::MaximumS8)?,
            OpKind::Minimum => self.maximum_minimum(&cx, KernelId::MinimumS8)?,
            OpKind::Transpose => self.transpose(&cx)?,
            OpKind::StridedSlice(o) => self.strided_slice(&cx, o)?,
            OpKind::Slice => self.slice(&cx)?,
            OpKind::Split { .. } => return self.split(&cx, 1, 0),
            OpKind::SplitV { .. } => return self.split(&cx, 0, 2),
            OpKind::ResizeNearestNeighbor(o) => self.resize_nearest_neighbor(&cx, o)?,
            OpKind::ResizeBilinear(o) => self.resize_bilinear(&cx, o)?,
            OpKind::Prelu => self.prelu(&cx)?,
            OpKind::TransposeConv(o) => self.transpose_conv(&cx, o)?,
            OpKind::Pack { axis, .. } => self.pack(&cx, axis)?,
            OpKind::Unpack { axis, .. } => return self.unpack(&cx, axis),
            OpKind::Dequantize => return Err(unsupported()),
        };
        Ok(vec![self.finish(&cx, cx.out_t, compiled)?])
    }

    /// A step writing `out_t`, once its fused activation range is known to be non-empty.
    fn finish(&self, cx: &OpContext, out_t: usize, compiled: Compiled) -> Result<Step, CompileError> {
        let (kernel, params, inputs) = compiled;
        let output = self.arena(cx.op, out_t)?;
        if let Some((act_min, act_max)) = activation_bounds(&params) {
            if act_min > act_max {
                return Err(Self::bad(
                    cx.op,
                    format!("output tensor {out_t}: fused activation range [{act_min}, {act_max}] is empty"),
                ));
            }
        }
        Ok(Step { kernel, variant: Variant::Reference, params, inputs, output, scratch: None })
    }

    /// A constant INT32 input of the operator, or an error naming its role.
    fn constant_input(&self, cx: &OpContext, k: usize, role: &str) -> Result<Vec<i32>, CompileError> {
        let t = cx.need(k)?;
        constant_i32s(self.tensor(t))
            .ok_or_else(|| Self::bad(cx.op, format!("{role} tensor {t} is not a constant INT32 tensor")))
    }

    /// RELU: requantised to the output scale, clamped at the output's zero.
    fn relu(&mut self, cx: &OpContext) -> Result<Compiled, CompileError> {
        let x = cx.need(0)?;
        let (in_scales, in_zp) = self.quant(cx.op, x)?;
        let (multiplier, shift) = quantize_multiplier(in_scales[0] as f64 / cx.out_scale() as f64);
        let p = ReluParams {
            input_zero_point: in_zp,
            output_zero_point: cx.out_zp,
            multiplier,
            shift,
            act_min: cx.out_zp.max(-128),
            act_max: 127,
        };
        Ok((KernelId::ReluS8, StepParams::Relu(p), one_operand(self.operand(cx.op, Some(x))?)))
    }

    /// RELU6 as TFLM runs it: the raw input clamped to the input's quantised 0 and 6 (the output quantisation
    /// is not applied).
    fn relu6(&mut self, cx: &OpContext) -> Result<Compiled, CompileError> {
        let x = cx.need(0)?;
        let (in_scales, in_zp) = self.quant(cx.op, x)?;
        let six = ((6.0f32 / in_scales[0]).round() as i64 + in_zp as i64).clamp(-128, 127) as i32;
        let p = ClampParams { min: in_zp, max: six };
        if p.min > p.max {
            return Err(Self::bad(cx.op, format!("RELU6 range [{}, {}] is empty", p.min, p.max)));
        }
        Ok((KernelId::Relu6S8, StepParams::Clamp(p), one_operand(self.operand(cx.op, Some(x))?)))
    }

    /// LEAKY_RELU: TFLite forms both multipliers in float, then widens them.
    fn leaky_relu(&mut self, cx: &OpContext, alpha: f32) -> Result<Compiled, CompileError> {
        let x = cx.need(0)?;
        let (in_scales, in_zp) = self.quant(cx.op, x)?;
        let (multiplier_alpha, shift_alpha) = quantize_multiplier((in_scales[0] * alpha / cx.out_scale()) as f64);
        let (multiplier_identity, shift_identity) = quantize_multiplier((in_scales[0] / cx.out_scale()) as f64);
        let p = LeakyReluParams {
            input_zero_point: in_zp,
            output_zero_point: cx.out_zp,
            multiplier_identity,
            shift_identity,
            multiplier_alpha,
            shift_alpha,
        };
        Ok((KernelId::LeakyReluS8, StepParams::LeakyRelu(p), one_operand(self.operand(cx.op, Some(x))?)))
    }

    /// MAXIMUM and MINIMUM on raw values, with broadcasting.
    fn maximum_minimum(&mut self, cx: &OpContext, kernel: KernelId) -> Result<Compiled, CompileError> {
        let (a, b) = (cx.need(0)?, cx.need(1)?);
        let p = BroadcastParams {
            input1: self.shape4(cx.op, a)?,
            input2: self.shape4(cx.op, b)?,
            output: self.shape4(cx.op, cx.out_t)?,
        };
        let mut inputs = one_operand(self.operand(cx.op, Some(a))?);
        inputs[1] = self.operand(cx.op, Some(b))?;
        Ok((kernel, StepParams::Broadcast(p), inputs))
    }

    /// TRANSPOSE: shape and permutation padded at the front to the kernel's dimensions.
    fn transpose(&mut self, cx: &OpContext) -> Result<Compiled, CompileError> {
        let x = cx.need(0)?;
        let shape = self.tensor(x).shape.clone();
        let rank = shape.len();
        let perm = self.constant_input(cx, 1, "permutation")?;
        let perm = permutation(&perm, rank).map_err(|e| Self::bad(cx.op, e))?;
        if rank > TRANSPOSE_MAX_DIMS {
            return Err(Self::bad(cx.op, format!("TRANSPOSE of {rank} dimensions")));
        }
        let pad = TRANSPOSE_MAX_DIMS - rank;
        let mut p = TransposeParams { input: [1; TRANSPOSE_MAX_DIMS], perm: core::array::from_fn(|d| d as u32) };
        for d in 0..rank {
            p.input[pad + d] = shape[d] as u32;
            p.perm[pad + d] = (pad + perm[d]) as u32;
        }
        Ok((KernelId::TransposeS8, StepParams::Transpose(p), one_operand(self.operand(cx.op, Some(x))?)))
    }

    /// The strided-slice step of a box of input `x`.
    fn slice_step(&self, cx: &OpContext, x: usize, b: &[AxisBox]) -> Result<Compiled, CompileError> {
        let shape = &self.tensor(x).shape;
        let rank = shape.len();
        if rank > SLICE_MAX_DIMS || b.len() != rank {
            return Err(Self::bad(cx.op, format!("a slice of {rank} dimensions")));
        }
        let pad = SLICE_MAX_DIMS - rank;
        let mut p = SliceParams {
            input: [1; SLICE_MAX_DIMS],
            output: [1; SLICE_MAX_DIMS],
            begin: [0; SLICE_MAX_DIMS],
            stride: [1; SLICE_MAX_DIMS],
        };
        for d in 0..rank {
            p.input[pad + d] = shape[d] as u32;
            p.output[pad + d] = b[d].count as u32;
            p.begin[pad + d] = b[d].begin as u32;
            p.stride[pad + d] = b[d].stride as i32;
        }
        Ok((KernelId::StridedSliceS8, StepParams::StridedSlice(p), one_operand(self.operand(cx.op, Some(x))?)))
    }

    /// STRIDED_SLICE: TFLite's start/stop rules resolved to a box on the host.
    fn strided_slice(&mut self, cx: &OpContext, o: StridedSliceOptions) -> Result<Compiled, CompileError> {
        let x = cx.need(0)?;
        let begin = self.constant_input(cx, 1, "begin")?;
        let end = self.constant_input(cx, 2, "end")?;
        let strides = self.constant_input(cx, 3, "strides")?;
        let b =
            strided_slice_box(&self.tensor(x).shape, &begin, &end, &strides, &o).map_err(|e| Self::bad(cx.op, e))?;
        self.slice_step(cx, x, &b)
    }

    /// SLICE: `size` elements from `begin` per dimension.
    fn slice(&mut self, cx: &OpContext) -> Result<Compiled, CompileError> {
        let x = cx.need(0)?;
        let begin = self.constant_input(cx, 1, "begin")?;
        let size = self.constant_input(cx, 2, "size")?;
        let b = slice_box(&self.tensor(x).shape, &begin, &size).map_err(|e| Self::bad(cx.op, e))?;
        self.slice_step(cx, x, &b)
    }

    /// SPLIT and SPLIT_V: one strided-slice step per output, each taking its part along the axis (the outputs
    /// share the input's quantisation, as TFLM requires).
    fn split(&mut self, cx: &OpContext, data: usize, axis_input: usize) -> Result<Vec<Step>, CompileError> {
        let x = cx.need(data)?;
        let shape = self.tensor(x).shape.clone();
        let axis = self.constant_input(cx, axis_input, "axis")?;
        let axis = match axis.as_slice() {
            [a] => resolve_axis(*a, shape.len()),
            _ => None,
        }
        .ok_or_else(|| Self::bad(cx.op, format!("axis {axis:?} of a rank-{} input", shape.len())))?;
        let mut steps = Vec::with_capacity(cx.operator.outputs.len());
        let mut begin = 0;
        for &out_t in &cx.operator.outputs {
            if self.quant(cx.op, out_t)? != self.quant(cx.op, x)? {
                return Err(Self::bad(cx.op, format!("output tensor {out_t} has another quantisation than the input")));
            }
            let count = self.tensor(out_t).shape.get(axis).copied().unwrap_or(0);
            let b: Vec<AxisBox> = shape
                .iter()
                .enumerate()
                .map(|(d, &n)| {
                    let (start, count) = if d == axis { (begin, count) } else { (0, n) };
                    AxisBox { begin: start, count, stride: 1, shrunk: false }
                })
                .collect();
            begin += count;
            let compiled = self.slice_step(cx, x, &b)?;
            steps.push(self.finish(cx, out_t, compiled)?);
        }
        Ok(steps)
    }

    /// TRANSPOSE_CONV: per-channel multipliers and shifts as the convolutions'; the padding is the one of the
    /// forward convolution from the output to the input, as TFLite computes it.
    fn transpose_conv(&mut self, cx: &OpContext, o: TransposeConvOptions) -> Result<Compiled, CompileError> {
        let op = cx.op;
        let (w, x) = (cx.need(1)?, cx.need(2)?);
        let (in_scales, in_zp) = self.quant(op, x)?;
        let (w_scales, _) = self.quant(op, w)?;
        let input = self.shape4(op, x)?;
        let output = self.shape4(op, cx.out_t)?;
        let filter = self.shape4(op, w)?;
        let mut multipliers = Vec::with_capacity(output[3] as usize);
        let mut shifts = Vec::with_capacity(output[3] as usize);
        for c in 0..output[3] as usize {
            let ws = *w_scales.get(c).or(w_scales.first()).unwrap_or(&0.0);
            let (m, s) = quantize_multiplier(in_scales[0] as f64 * ws as f64 / cx.out_scale() as f64);
            multipliers.push(m);
            shifts.push(s);
        }
        let (kh, kw) = (filter[1], filter[2]);
        let (sh, sw) = (o.stride_h as u32, o.stride_w as u32);
        // TFLite's output size of the forward convolution over the output (SAME: ceil, VALID: floor).
        let forward = |size: u32, k: u32, stride: u32| match o.padding {
            Padding::Same => size.div_ceil(stride),
            Padding::Valid => (size + stride).saturating_sub(k) / stride,
        };
        let (act_min, act_max) = activation_range_s8(o.activation, cx.out_scale(), cx.out_zp);
        let p = ConvParams {
            input,
            output,
            filter_h: kh,
            filter_w: kw,
            stride_h: sh,
            stride_w: sw,
            dilation_h: 1,
            dilation_w: 1,
            pad_h: padding(o.padding, output[1], forward(output[1], kh, sh), kh, sh, 1),
            pad_w: padding(o.padding, output[2], forward(output[2], kw, sw), kw, sw, 1),
            depth_multiplier: 1,
            input_offset: -in_zp,
            output_offset: cx.out_zp,
            act_min,
            act_max,
        };
        let mut inputs = one_operand(self.operand(op, Some(x))?);
        inputs[1] = self.operand(op, Some(w))?;
        inputs[2] = self.operand(op, cx.input(3))?;
        inputs[3] = self.push_i32s(&multipliers);
        inputs[4] = self.push_i32s(&shifts);
        Ok((KernelId::TransposeConv2dS8, StepParams::Conv(p), inputs))
    }

    /// PACK: a concatenation along a new axis (values are copied, as TFLM does, without requantisation).
    fn pack(&mut self, cx: &OpContext, axis: i32) -> Result<Compiled, CompileError> {
        let parts: Vec<usize> = cx.operator.inputs.iter().flatten().copied().collect();
        let out_shape = self.tensor(cx.out_t).shape.clone();
        let axis = resolve_axis(axis, out_shape.len())
            .ok_or_else(|| Self::bad(cx.op, format!("PACK axis {axis} of a rank-{} output", out_shape.len())))?;
        if parts.is_empty() || parts.len() > 4 {
            return Err(Self::bad(cx.op, format!("PACK of {} inputs (the kernel takes 1 to 4)", parts.len())));
        }
        let outer: usize = out_shape[..axis].iter().product();
        let mut chunks = [0u32; 4];
        let mut inputs = [Operand::Unused; MAX_OPERANDS];
        for (k, &t) in parts.iter().enumerate() {
            chunks[k] = (self.tensor(t).elements() / outer.max(1)) as u32;
            inputs[k] = self.operand(cx.op, Some(t))?;
        }
        let p = ConcatParams { outer: outer as u32, chunks, count: parts.len() as u32 };
        Ok((KernelId::ConcatS8, StepParams::Concat(p), inputs))
    }

    /// UNPACK: one strided-slice step per output, each the input at one index of the axis.
    fn unpack(&mut self, cx: &OpContext, axis: i32) -> Result<Vec<Step>, CompileError> {
        let x = cx.need(0)?;
        let shape = self.tensor(x).shape.clone();
        let axis = resolve_axis(axis, shape.len())
            .ok_or_else(|| Self::bad(cx.op, format!("UNPACK axis {axis} of a rank-{} input", shape.len())))?;
        let mut steps = Vec::with_capacity(cx.operator.outputs.len());
        for (k, &out_t) in cx.operator.outputs.iter().enumerate() {
            let b: Vec<AxisBox> = shape
                .iter()
                .enumerate()
                .map(|(d, &n)| {
                    let (begin, count) = if d == axis { (k, 1) } else { (0, n) };
                    AxisBox { begin, count, stride: 1, shrunk: d == axis }
                })
                .collect();
            let compiled = self.slice_step(cx, x, &b)?;
            steps.push(self.finish(cx, out_t, compiled)?);
        }
        Ok(steps)
    }

    /// PRELU: TFLite's two requantisations (alone above zero, times the slope below), slopes broadcast.
    fn prelu(&mut self, cx: &OpContext) -> Result<Compiled, CompileError> {
        let (x, alpha) = (cx.need(0)?, cx.need(1)?);
        let (in_scales, in_zp) = self.quant(cx.op, x)?;
        let (alpha_scales, alpha_zp) = self.quant(cx.op, alpha)?;
        if alpha_scales.len() != 1 {
            return Err(Self::bad(cx.op, "PRELU with per-channel slope quantisation is not implemented"));
        }
        let out_scale = cx.out_scale() as f64;
        let (multiplier_identity, shift_identity) = quantize_multiplier(in_scales[0] as f64 / out_scale);
        let (multiplier_alpha, shift_alpha) =
            quantize_multiplier(in_scales[0] as f64 * alpha_scales[0] as f64 / out_scale);
        let p = PreluParams {
            input: self.shape4(cx.op, x)?,
            alpha: self.shape4(cx.op, alpha)?,
            output: self.shape4(cx.op, cx.out_t)?,
            input_offset: -in_zp,
            alpha_offset: -alpha_zp,
            output_offset: cx.out_zp,
            multiplier_identity,
            shift_identity,
            multiplier_alpha,
            shift_alpha,
        };
        let mut inputs = one_operand(self.operand(cx.op, Some(x))?);
        inputs[1] = self.operand(cx.op, Some(alpha))?;
        Ok((KernelId::PreluS8, StepParams::Prelu(p), inputs))
    }

    /// RESIZE_BILINEAR: per output row and column, TFLite's integer interpolation values (lower and upper source
    /// index, position in units of 1/1024) as precomputed tables.
    fn resize_bilinear(&mut self, cx: &OpContext, o: ResizeNearestNeighborOptions) -> Result<Compiled, CompileError> {
        let x = cx.need(0)?;
        let input = self.shape4(cx.op, x)?;
        let output = self.shape4(cx.op, cx.out_t)?;
        if input.iter().chain(&output).any(|&d| d == 0 || d > 1 << 20) {
            return Err(Self::bad(cx.op, format!("RESIZE_BILINEAR from {input:?} to {output:?}")));
        }
        let table = |out_size: u32, in_size: u32| -> Vec<i32> {
            let (out_size, in_size) = (out_size as i64, in_size as i64);
            let scale_10 = if o.align_corners && out_size > 1 {
                ((1 << 10) * (in_size - 1) + (out_size - 1) / 2) / (out_size - 1)
            } else {
                ((1 << 10) * in_size + out_size / 2) / out_size
            };
            let mut values = Vec::with_capacity(3 * out_size as usize);
            for i in 0..out_size {
                let scaled = if o.half_pixel_centers { i * scale_10 + scale_10 / 2 - (1 << 9) } else { i * scale_10 };
                // Division truncates toward zero, as in the reference.
                let lower = (scaled / (1 << 10)).max(0);
                let upper = ((scaled + (1 << 10) - 1) / (1 << 10)).min(in_size - 1);
                values.extend([lower as i32, upper as i32, scaled as i32]);
            }
            values
        };
        let rows = table(output[1], input[1]);
        let cols = table(output[2], input[2]);
        let mut inputs = one_operand(self.operand(cx.op, Some(x))?);
        inputs[1] = self.push_i32s(&rows);
        inputs[2] = self.push_i32s(&cols);
        Ok((KernelId::ResizeBilinearS8, StepParams::Resize(ResizeParams { input, output }), inputs))
    }

    /// RESIZE_NEAREST_NEIGHBOR: the source row and column of every output row and column, with TFLite's float
    /// arithmetic, as precomputed tables.
    fn resize_nearest_neighbor(
        &mut self,
        cx: &OpContext,
        o: ResizeNearestNeighborOptions,
    ) -> Result<Compiled, CompileError> {
        let x = cx.need(0)?;
        let input = self.shape4(cx.op, x)?;
        let output = self.shape4(cx.op, cx.out_t)?;
        let nearest = |out_size: u32, in_size: u32| -> Vec<i32> {
            let scale = if o.align_corners && out_size > 1 {
                (in_size as f32 - 1.0) / (out_size as f32 - 1.0)
            } else {
                in_size as f32 / out_size as f32
            };
            let offset = if o.half_pixel_centers { 0.5f32 } else { 0.0 };
            (0..out_size)
                .map(|i| {
                    let v = (i as f32 + offset) * scale;
                    let v = if o.align_corners { v.round() as i32 } else { v.floor() as i32 };
                    let v = v.min(in_size as i32 - 1);
                    if o.half_pixel_centers {
                        v.max(0)
                    } else {
                        v
                    }
                })
                .collect()
        };
        let rows = nearest(output[1], input[1]);
        let cols = nearest(output[2], input[2]);
        let mut inputs = one_operand(self.operand(cx.op, Some(x))?);
        inputs[1] = self.push_i32s(&rows);
        inputs[2] = self.push_i32s(&cols);
        let p = ResizeParams { input, output };
        Ok((KernelId::ResizeNearestNeighborS8, StepParams::Resize(p), inputs))
    }

    /// CONV_2D and DEPTHWISE_CONV_2D: per-channel multipliers and shifts in the precomputed blob.
    fn conv(&mut self, cx: &OpContext, kernel: KernelId) -> Result<Compiled, CompileError> {
        let op = cx.op;
        let (x, w) = (cx.need(0)?, cx.need(1)?);
        let (in_scales, _) = self.quant(op, x)?;
        let (w_scales, _) = self.quant(op, w)?;
        let channels = self.shape4(op, cx.out_t)?[3] as usize;
        let mut multipliers = Vec::with_capacity(channels);
        let mut shifts = Vec::with_capacity(channels);
        for c in 0..channels {
            let ws = *w_scales.get(c).or(w_scales.first()).unwrap_or(&0.0);
            let (m, s) = quantize_multiplier(in_scales[0] as f64 * ws as f64 / cx.out_scale() as f64);
            multipliers.push(m);
            shifts.push(s);
        }
        let p = conv_params(self.graph, cx.op_id)?;
        let mut inputs = one_operand(self.operand(op, Some(x))?);
        inputs[1] = self.operand(op, Some(w))?;
        inputs[2] = self.operand(op, cx.input(2))?;
        inputs[3] = self.push_i32s(&multipliers);
        inputs[4] = self.push_i32s(&shifts);
        Ok((kernel, StepParams::Conv(p), inputs))
    }

    /// FULLY_CONNECTED: per-tensor or per-channel requantisation.
    fn fully_connected(&mut self, cx: &OpContext, o: FullyConnectedOptions) -> Result<Compiled, CompileError> {
        let op = cx.op;
        let out_scale = cx.out_scale();
        let (x, w) = (cx.need(0)?, cx.need(1)?);
        let (in_scales, in_zp) = self.quant(op, x)?;
        let (w_scales, w_zp) = self.quant(op, w)?;
        let w_shape = &self.tensor(w).shape;
        let (units, depth) = (*w_shape.first().unwrap_or(&0) as u32, *w_shape.last().unwrap_or(&0) as u32);
        let batches = (self.tensor(x).elements() as u32).checked_div(depth).unwrap_or(0);
        let (multipliers, shifts): (Vec<i32>, Vec<i32>) = if w_scales.len() > 1 {
            w_scales.iter().map(|&ws| quantize_multiplier(in_scales[0] as f64 * ws as f64 / out_scale as f64)).unzip()
        } else {
            // TFLite multiplies the two float scales before widening to double.
            let product = (in_scales[0] * w_scales[0]) as f64;
            let (m, s) = quantize_multiplier(product / out_scale as f64);
            (vec![m], vec![s])
        };
        let (act_min, act_max) = activation_range_s8(o.activation, out_scale, cx.out_zp);
        let mut inputs = one_operand(self.operand(op, Some(x))?);
        inputs[1] = self.operand(op, Some(w))?;
        inputs[2] = self.operand(op, cx.input(2))?;
        inputs[3] = self.push_i32s(&multipliers);
        inputs[4] = self.push_i32s(&shifts);
        let p = FullyConnectedParams {
            batches,
            depth,
            units,
            input_offset: -in_zp,
            filter_offset: -w_zp,
            output_offset: cx.out_zp,
            act_min,
            act_max,
        };
        Ok((KernelId::FullyConnectedS8, StepParams::FullyConnected(p), inputs))
    }

    /// The parameters TFLite's ADD and SUB prepare (20 bits of headroom, both inputs rescaled to twice the
    /// larger input scale).
    fn add_params(&self, cx: &OpContext, activation: Activation) -> Result<(AddParams, usize, usize), CompileError> {
        let op = cx.op;
        let out_scale = cx.out_scale();
        let (a, b) = (cx.need(0)?, cx.need(1)?);
        let ((sa, za), (sb, zb)) = (self.quant(op, a)?, self.quant(op, b)?);
        let left_shift = 20;
        let twice_max = 2.0 * sa[0].max(sb[0]) as f64;
        let (m1, s1) = quantize_multiplier(sa[0] as f64 / twice_max);
        let (m2, s2) = quantize_multiplier(sb[0] as f64 / twice_max);
        let (mo, so) = quantize_multiplier(twice_max / ((1 << left_shift) as f64 * out_scale as f64));
        let (act_min, act_max) = activation_range_s8(activation, out_scale, cx.out_zp);
        let p = AddParams {
            input1: self.shape4(op, a)?,
            input2: self.shape4(op, b)?,
            output: self.shape4(op, cx.out_t)?,
            left_shift,
            input1_offset: -za,
            input1_multiplier: m1,
            input1_shift: s1,
            input2_offset: -zb,
            input2_multiplier: m2,
            input2_shift: s2,
            output_multiplier: mo,
            output_shift: so,
            output_offset: cx.out_zp,
            act_min,
            act_max,
        };
        Ok((p, a, b))
    }

    /// ADD and SUB with broadcasting.
    fn add(&mut self, cx: &OpContext, activation: Activation, kernel: KernelId) -> Result<Compiled, CompileError> {
        let (p, a, b) = self.add_params(cx, activation)?;
        let mut inputs = one_operand(self.operand(cx.op, Some(a))?);
        inputs[1] = self.operand(cx.op, Some(b))?;
        Ok((kernel, StepParams::Add(p), inputs))
    }

    /// AVERAGE_POOL_2D and MAX_POOL_2D.
    fn pool(&mut self, cx: &OpContext, o: Pool2dOptions, kernel: KernelId) -> Result<Compiled, CompileError> {
        let op = cx.op;
        let x = cx.need(0)?;
        let in_shape = self.shape4(op, x)?;
        let out_shape = self.shape4(op, cx.out_t)?;
        let act = activation_range_s8(o.activation, cx.out_scale(), cx.out_zp);
        let p = pool_params(o, in_shape, out_shape, act);
        Ok((kernel, StepParams::Pool(p), one_operand(self.operand(op, Some(x))?)))
    }

    /// MEAN over height and width of a 4-D tensor.
    fn mean(&mut self, cx: &OpContext) -> Result<Compiled, CompileError> {
        let op = cx.op;
        let x = cx.need(0)?;
        let axes = self.constant_i32s(op, cx.need(1)?)?;
        let mut sorted = axes.clone();
        sorted.sort_unstable();
        if self.tensor(x).shape.len() != 4 || sorted != [1, 2] {
            return Err(Self::bad(op, format!("MEAN over axes {axes:?} of a non-4-D tensor is not implemented")));
        }
        let (in_scales, in_zp) = self.quant(op, x)?;
        let (multiplier, shift) = quantize_multiplier(in_scales[0] as f64 / cx.out_scale() as f64);
        let p = MeanParams {
            input: self.shape4(op, x)?,
            input_zero_point: in_zp,
            output_zero_point: cx.out_zp,
            multiplier,
            shift,
        };
        Ok((KernelId::MeanS8, StepParams::Mean(p), one_operand(self.operand(op, Some(x))?)))
    }

    /// SOFTMAX over the last dimension.
    fn softmax(&mut self, cx: &OpContext, o: SoftmaxOptions) -> Result<Compiled, CompileError> {
        let op = cx.op;
        let x = cx.need(0)?;
        let (in_scales, _) = self.quant(op, x)?;
        let real = (o.beta as f64 * in_scales[0] as f64 * (1i64 << 26) as f64).min((1i64 << 31) as f64 - 1.0);
        let (input_multiplier, input_left_shift) = quantize_multiplier(real);
        if !(0..=30).contains(&input_left_shift) || input_multiplier <= 0 {
            return Err(Self::bad(op, "SOFTMAX input scale times beta is outside the kernel's range"));
        }
        if *self.tensor(x).shape.last().unwrap_or(&0) >= 1 << 12 {
            return Err(Self::bad(op, "SOFTMAX over 4096 or more values overflows the kernel's Q12 sum"));
        }
        let max_input_rescaled = 31.0 * (1i64 << 26) as f64 / (1i64 << input_left_shift) as f64;
        let p = SoftmaxParams {
            depth: *self.tensor(x).shape.last().unwrap_or(&0) as u32,
            input_multiplier,
            input_left_shift,
            diff_min: -(max_input_rescaled.floor() as i32),
        };
        Ok((KernelId::SoftmaxS8, StepParams::Softmax(p), one_operand(self.operand(op, Some(x))?)))
    }

    /// MUL with broadcasting.
    fn mul(&mut self, cx: &OpContext, activation: Activation) -> Result<Compiled, CompileError> {
        let op = cx.op;
        let (a, b) = (cx.need(0)?, cx.need(1)?);
        let ((sa, za), (sb, zb)) = (self.quant(op, a)?, self.quant(op, b)?);
        let (multiplier, shift) = quantize_multiplier(sa[0] as f64 * sb[0] as f64 / cx.out_scale() as f64);
        let (act_min, act_max) = activation_range_s8(activation, cx.out_scale(), cx.out_zp);
        let mut inputs = one_operand(self.operand(op, Some(a))?);
        inputs[1] = self.operand(op, Some(b))?;
        let p = MulParams {
            input1: self.shape4(op, a)?,
            input2: self.shape4(op, b)?,
            output: self.shape4(op, cx.out_t)?,
            input1_offset: -za,
            input2_offset: -zb,
            output_offset: cx.out_zp,
            multiplier,
            shift,
            act_min,
            act_max,
        };
        Ok((KernelId::MulS8, StepParams::Mul(p), inputs))
    }

    /// PAD and PADV2 (the padding value of PADV2 from its constant third input).
    fn pad(&mut self, cx: &OpContext, v2: bool) -> Result<Compiled, CompileError> {
        let op = cx.op;
        let x = cx.need(0)?;
        let pads = self.constant_i32s(op, cx.need(1)?)?;
        let rank = self.tensor(x).shape.len();
        if pads.len() != 2 * rank || rank > 4 || pads.iter().any(|&v| v < 0) {
            return Err(Self::bad(op, format!("paddings {pads:?} do not fit a rank-{rank} input")));
        }
        let mut before = [0u32; 4];
        for d in 0..rank {
            before[4 - rank + d] = pads[2 * d] as u32;
        }
        let value = cx
            .input(2)
            .filter(|_| v2)
            .and_then(|v| self.tensor(v).data.and_then(|d| d.first()))
            .map_or(cx.out_zp, |&b| b as i8 as i32);
        let p = PadParams { input: self.shape4(op, x)?, output: self.shape4(op, cx.out_t)?, before, value };
        Ok((KernelId::PadS8, StepParams::Pad(p), one_operand(self.operand(op, Some(x))?)))
    }

    /// CONCATENATION of up to four inputs that share the output's quantisation.
    fn concatenation(&mut self, cx: &OpContext, o: ConcatenationOptions) -> Result<Compiled, CompileError> {
        let op = cx.op;
        let parts: Vec<usize> = cx.operator.inputs.iter().flatten().copied().collect();
        let out_shape = self.tensor(cx.out_t).shape.clone();
        let rank = out_shape.len() as i32;
        let axis = if o.axis < 0 { o.axis + rank } else { o.axis };
        if parts.len() > 4 || !(0..rank).contains(&axis) {
            return Err(Self::bad(op, format!("CONCATENATION of {} inputs on axis {}", parts.len(), o.axis)));
        }
        let outer: usize = out_shape[..axis as usize].iter().product();
        let mut chunks = [0u32; 4];
        let mut inputs = [Operand::Unused; MAX_OPERANDS];
        for (k, &t) in parts.iter().enumerate() {
            if self.quant(op, t)? != (cx.out_scales.clone(), cx.out_zp) {
                return Err(Self::bad(op, "CONCATENATION of inputs with another quantisation than the output"));
            }
            chunks[k] = (self.tensor(t).elements() / outer.max(1)) as u32;
            inputs[k] = self.operand(op, Some(t))?;
        }
        let p = ConcatParams { outer: outer as u32, chunks, count: parts.len() as u32 };
        Ok((KernelId::ConcatS8, StepParams::Concat(p), inputs))
    }

    /// HARD_SWISH, with TFLite's 16-bit multipliers.
    fn hard_swish(&mut self, cx: &OpContext) -> Result<Compiled, CompileError> {
        let op = cx.op;
        let x = cx.need(0)?;
        let (in_scales, in_zp) = self.quant(op, x)?;
        // TFLite prepares these in float, then widens to double.
        let hires_input_scale = (1.0f32 / 128.0) * in_scales[0];
        let reluish_scale = 3.0f32 / 32768.0;
        let (out_m, out_e) = quantize_multiplier((hires_input_scale / cx.out_scale()) as f64);
        let (relu_m, relu_e) = quantize_multiplier((hires_input_scale / reluish_scale) as f64);
        if !(-15..=0).contains(&out_e) || !(-15..=15).contains(&relu_e) {
            return Err(Self::bad(op, "HARD_SWISH output scale too small for the reference recipe"));
        }
        let p = HardSwishParams {
            input_zero_point: in_zp,
            output_zero_point: cx.out_zp,
            reluish_multiplier_fixedpoint_int16: downscale_to_int16(relu_m),
            reluish_multiplier_exponent: relu_e,
            output_multiplier_fixedpoint_int16: downscale_to_int16(out_m),
            output_multiplier_exponent: out_e,
        };
        Ok((KernelId::HardSwishS8, StepParams::HardSwish(p), one_operand(self.operand(op, Some(x))?)))
    }

    /// LOGISTIC and TANH: the input rescaled to Q4.27 (both kernels prepare the same way).
    fn logistic(&mut self, cx: &OpContext, kernel: KernelId) -> Result<Compiled, CompileError> {
        let op = cx.op;
        let x = cx.need(0)?;
        let (in_scales, in_zp) = self.quant(op, x)?;
        let (input_multiplier, input_left_shift) = quantize_multiplier(in_scales[0] as f64 * (1i64 << (31 - 4)) as f64);
        let radius = 15.0 * (1i64 << 27) as f64 / 2f64.powi(input_left_shift);
        let p = LogisticParams {
            input_zero_point: in_zp,
            input_range_radius: radius.floor() as i32,
            input_multiplier,
            input_left_shift,
        };
        let params = if kernel == KernelId::TanhS8 { StepParams::Tanh(p) } else { StepParams::Logistic(p) };
        Ok((kernel, params, one_operand(self.operand(op, Some(x))?)))
    }

    /// QUANTIZE from int8 to int8.
    fn quantize(&mut self, cx: &OpContext) -> Result<Compiled, CompileError> {
        let op = cx.op;
        let x = cx.need(0)?;
        if self.tensor(x).dtype != DType::Int8 {
            return Err(Self::bad(op, "QUANTIZE is only implemented from int8 to int8"));
        }
        let (in_scales, in_zp) = self.quant(op, x)?;
        let (multiplier, shift) = quantize_multiplier(in_scales[0] as f64 / cx.out_scale() as f64);
        let p = QuantizeParams { input_zero_point: in_zp, output_zero_point: cx.out_zp, multiplier, shift };
        Ok((KernelId::QuantizeS8, StepParams::Quantize(p), one_operand(self.operand(op, Some(x))?)))
    }

    /// The header step of fused segment `segment`: its input, its output and its member count.
    fn segment_header(&self, segment: &FusedSegment) -> Result<Step, CompileError> {
        let first = segment.ops[0].0 as usize;
        // A segment that reads the model input row by row has no input in the arena; its first member is the
        // `InputRowsS8` step.
        let (inputs, sources) = match segment.streamed_input {
            Some(_) => ([Operand::Unused; MAX_OPERANDS], 1),
            None => (one_operand(Operand::Arena(self.arena(first, segment.input.0 as usize)?)), 0),
        };
        Ok(Step {
            kernel: KernelId::RowStreamS8,
            variant: Variant::Reference,
            params: StepParams::Stream(StreamParams { members: (segment.ops.len() + sources) as u32 }),
            inputs,
            output: self.arena(first, segment.output.0 as usize)?,
            scratch: None,
        })
    }

    /// The first member of a segment that reads model input `t` row by row: it fills the input's ring.
    fn input_rows(&self, op: usize, t: TensorId) -> Result<Step, CompileError> {
        let shape = &self.tensor(t.0 as usize).shape;
        let [n, h, w, c] = shape.as_slice() else {
            return Err(Self::bad(op, "a streamed model input must be 4-D"));
        };
        let index = self.graph.model().inputs.iter().position(|&i| i == t.0 as usize).unwrap_or(0);
        let params = InputRowsParams { input: index as u32, shape: [*n as u32, *h as u32, *w as u32, *c as u32] };
        Ok(Step {
            kernel: KernelId::InputRowsS8,
            variant: Variant::Reference,
            params: StepParams::InputRows(params),
            inputs: [Operand::Unused; MAX_OPERANDS],
            output: self.arena(op, t.0 as usize)?,
            scratch: None,
        })
    }

    /// RESHAPE: a byte copy.
    fn reshape(&mut self, cx: &OpContext) -> Result<Compiled, CompileError> {
        Ok((KernelId::CopyS8, StepParams::NoParams, one_operand(self.operand(cx.op, Some(cx.need(0)?))?)))
    }
}

/// Compile a plan of `graph` to a program. The plan is checked first against an independent lowering of the
/// model with the plan's schedule and request, so an invalid plan is never executed.
pub fn compile(graph: &Graph<'_>, plan: &Plan) -> Result<CompiledProgram, CompileError> {
    let checked = crate::check::check_plan(graph, plan)?;
    compile_checked(graph, plan, &checked)
}

/// [`compile`] for a plan already checked by [`check_plan`](crate::check::check_plan), whose re-lowering is
/// `checked` (so an export that checked the plan does not lower and validate it twice).
pub fn compile_checked(
    graph: &Graph<'_>,
    plan: &Plan,
    checked: &crate::check::CheckedPlan,
) -> Result<CompiledProgram, CompileError> {
    let schedule = checked.schedule();
    let problem = checked.problem();
    let mut offsets = vec![None; graph.tensor_count()];
    let mut scratch = vec![None; graph.op_count()];
    for (buffer, &offset) in problem.buffers.iter().zip(&plan.offsets) {
        match buffer.origin {
            BufferOrigin::Tensor(t) => offsets[t as usize] = Some(offset),
            BufferOrigin::Scratch(op) => {
                let slot = &mut scratch[op as usize];
                if slot.is_none() {
                    *slot = Some(Slice { offset: offset as u32, len: buffer.size_bytes as u32 });
                }
            }
            BufferOrigin::Instance => {}
        }
    }
    let mut ring_bytes = vec![None; graph.tensor_count()];
    for ring in checked.lowering.segments.iter().flat_map(|s| &s.rings) {
        ring_bytes[ring.tensor.0 as usize] = Some(ring.bytes);
    }
    let mut compiler = Compiler { graph, offsets, ring_bytes, precomputed: Vec::new() };
    let mut steps = Vec::with_capacity(schedule.len());
    let mut step_ops = Vec::with_capacity(schedule.len());
    for (&op, &variant) in schedule.iter().zip(&plan.kernels) {
        if let Some(segment) = checked.lowering.segments.iter().find(|s| s.ops[0] == op) {
            steps.push(compiler.segment_header(segment)?);
            step_ops.push(None);
            if let Some(t) = segment.streamed_input {
                steps.push(compiler.input_rows(segment.ops[0].0 as usize, t)?);
                step_ops.push(None);
            }
        }
        let op_steps = compiler.steps(op)?;
        if op_steps.len() != 1 && checked.lowering.segments.iter().any(|s| s.ops.contains(&op)) {
            return Err(Compiler::bad(op.0 as usize, "a fused segment's operator must compile to one step"));
        }
        for mut step in op_steps {
            step.variant = variant.to_kernels();
            // The reference kernels use no arena scratch (TFLM's MEAN scratch is reserved in the plan, unused);
            // the optimized ones get the buffer the lowering sized for them.
            if variant == KernelVariant::Optimized {
                step.scratch = scratch[op.0 as usize];
            }
            steps.push(step);
            step_ops.push(Some(op.0));
        }
    }
    let model = graph.model();
    let slices =
        |ts: &[usize]| -> Result<Vec<Slice>, CompileError> { ts.iter().map(|&t| compiler.arena(0, t)).collect() };
    let inputs = slices(&model.inputs)?;
    let outputs = slices(&model.outputs)?;
    let descriptors = |ts: &[usize], slices: &[Slice]| -> Result<Vec<TensorDescriptor>, CompileError> {
        ts.iter().zip(slices).map(|(&t, &slice)| io_descriptor(compiler.tensor(t), slice)).collect()
    };
    let input_descriptors = descriptors(&model.inputs, &inputs)?;
    let output_descriptors = descriptors(&model.outputs, &outputs)?;
    Ok(CompiledProgram {
        steps,
        step_ops,
        precomputed: compiler.precomputed,
        inputs,
        outputs,
        arena_bytes: plan.arena_bytes as u32,
        input_descriptors,
        output_descriptors,
        model_sha256: arenaplan_kernels::model_check::sha256(model.bytes),
    })
}

/// The descriptor of a model input or output placed at `slice`: a tensor without quantisation is described
/// with scale 1 and zero point 0; per-channel quantisation, more than [`MAX_RANK`] dimensions or an element
/// type the kernels' descriptors cannot name are refused.
fn io_descriptor(tensor: &Tensor<'_>, slice: Slice) -> Result<TensorDescriptor, CompileError> {
    let bad = |what: String| CompileError::BadTensor {
        op: 0,
        what: format!("model input/output tensor {} ({}): {what}", tensor.index, tensor.name),
    };
    let element = match tensor.dtype {
        DType::Int8 => ElementType::Int8,
        DType::UInt8 => ElementType::UInt8,
        DType::Int16 => ElementType::Int16,
        DType::Int32 => ElementType::Int32,
        DType::Int64 => ElementType::Int64,
        DType::Float16 => ElementType::Float16,
        DType::Float32 => ElementType::Float32,
        DType::Bool => ElementType::Bool,
        DType::Other(code) => return Err(bad(format!("element type code {code} has no descriptor"))),
    };
    if tensor.shape.len() > MAX_RANK {
        return Err(bad(format!("{} dimensions, more than the {MAX_RANK} a descriptor records", tensor.shape.len())));
    }
    let mut dims = [0u32; MAX_RANK];
    for (dim, &size) in dims.iter_mut().zip(&tensor.shape) {
        *dim = u32::try_from(size).map_err(|_| bad(format!("dimension {size} does not fit 32 bits")))?;
    }
    let (scale, zero_point) = match &tensor.quantization {
        None => (1.0, 0),
        Some(q) if q.scales.is_empty() => (1.0, 0),
        Some(q) if q.scales.len() > 1 => return Err(bad("per-channel quantisation of a model input/output".into())),
        Some(q) => {
            let zero_point = q.zero_points.first().copied().unwrap_or(0);
            let zero_point =
                i32::try_from(zero_point).map_err(|_| bad(format!("zero point {zero_point} does not fit 32 bits")))?;
            (q.scales[0], zero_point)
        }
    };
    Ok(TensorDescriptor { dims, rank: tensor.shape.len() as u8, element, scale, zero_point, slice })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_multiplier_matches_the_definition() {
        assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
        assert_eq!(quantize_multiplier(0.25), (1 << 30, -1));
        assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
        let (m, s) = quantize_multiplier(0.0123);
        let back = m as f64 / (1u64 << 31) as f64 * 2f64.powi(s);
        assert!((back - 0.0123).abs() < 1e-9);
    }

    #[test]
    fn activation_ranges_clamp_to_int8() {
        assert_eq!(activation_range_s8(Activation::None, 0.1, 3), (-128, 127));
        assert_eq!(activation_range_s8(Activation::Relu, 0.1, -20), (-20, 127));
        assert_eq!(activation_range_s8(Activation::Relu6, 0.05, -128), (-128, -8));
    }
}
