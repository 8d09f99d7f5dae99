//! Lowering a validated [`Plan`] to a kernels [`Program`]: every per-op constant TFLM computes at preparation
//! (requantisation multipliers and shifts, padding, activation ranges) is computed here, once, on the host.

use arenaplan_kernels::program::{
    AddParams, ConcatParams, ConvParams, FullyConnectedParams, HardSwishParams, KernelId, LogisticParams, MeanParams,
    MulParams, Operand, PadParams, PoolParams, Program, QuantizeParams, Slice, SoftmaxParams, Step, StepParams,
    Variant, MAX_OPERANDS,
};

use crate::graph::{Graph, OpId, TensorId};
use crate::plan::{KernelVariant, Plan};
use crate::problem::BufferOrigin;
use crate::tflite::{Activation, OpKind, Padding, Tensor};
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
    /// The precomputed constants (little-endian `i32`s).
    pub precomputed: Vec<u8>,
    /// Model input slices in the arena.
    pub inputs: Vec<Slice>,
    /// Model output slices in the arena.
    pub outputs: Vec<Slice>,
    /// The arena the program needs.
    pub arena_bytes: u32,
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
    let (pad, sh, sw, dh, dw, act, dm) = match operator.kind {
        OpKind::Conv2d(o) => (o.padding, o.stride_h, o.stride_w, o.dilation_h, o.dilation_w, o.activation, 1),
        OpKind::DepthwiseConv2d(o) => {
            (o.padding, o.stride_h, o.stride_w, o.dilation_h, o.dilation_w, o.activation, o.depth_multiplier)
        }
        ref other => return Err(bad(format!("{} is not a convolution", other.name()))),
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
        _ => None,
    }
}

struct Compiler<'g, 'a> {
    graph: &'g Graph<'a>,
    offsets: Vec<Option<u64>>,
    precomputed: Vec<u8>,
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
        Ok(Slice { offset: offset as u32, len: self.tensor(t).byte_size as u32 })
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
        let data = self.tensor(t).data.ok_or_else(|| Self::bad(op, format!("tensor {t} is not constant")))?;
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

    fn step(&mut self, op_id: OpId) -> Result<Step, CompileError> {
        let op = op_id.0 as usize;
        let operator = self.graph.op(op_id).clone();
        let input = |k: usize| operator.inputs.get(k).copied().flatten();
        let need = |k: usize| input(k).ok_or_else(|| Self::bad(op, format!("input {k} is missing")));
        let out_t = *operator.outputs.first().ok_or_else(|| Self::bad(op, "no output"))?;
        let output = self.arena(op, out_t)?;
        let (out_scales, out_zp) = self.quant(op, out_t)?;
        let out_scale = out_scales[0];
        let mut inputs = [Operand::Unused; MAX_OPERANDS];
        let (kernel, params) = match operator.kind {
            OpKind::Conv2d(_) | OpKind::DepthwiseConv2d(_) => {
                let (x, w) = (need(0)?, need(1)?);
                let (in_scales, _) = self.quant(op, x)?;
                let (w_scales, _) = self.quant(op, w)?;
                let channels = self.shape4(op, out_t)?[3] as usize;
                let mut multipliers = Vec::with_capacity(channels);
                let mut shifts = Vec::with_capacity(channels);
                for c in 0..channels {
                    let ws = *w_scales.get(c).or(w_scales.first()).unwrap_or(&0.0);
                    let (m, s) = quantize_multiplier(in_scales[0] as f64 * ws as f64 / out_scale as f64);
                    multipliers.push(m);
                    shifts.push(s);
                }
                let p = conv_params(self.graph, op_id)?;
                let kernel = if matches!(operator.kind, OpKind::DepthwiseConv2d(_)) {
                    KernelId::DepthwiseConv2dS8
                } else {
                    KernelId::Conv2dS8
                };
                inputs[0] = self.operand(op, Some(x))?;
                inputs[1] = self.operand(op, Some(w))?;
                inputs[2] = self.operand(op, input(2))?;
                inputs[3] = self.push_i32s(&multipliers);
                inputs[4] = self.push_i32s(&shifts);
                (kernel, StepParams::Conv(p))
            }
            OpKind::FullyConnected(o) => {
                let (x, w) = (need(0)?, need(1)?);
                let (in_scales, in_zp) = self.quant(op, x)?;
                let (w_scales, w_zp) = self.quant(op, w)?;
                let w_shape = &self.tensor(w).shape;
                let (units, depth) = (*w_shape.first().unwrap_or(&0) as u32, *w_shape.last().unwrap_or(&0) as u32);
                let batches = (self.tensor(x).elements() as u32).checked_div(depth).unwrap_or(0);
                let (multipliers, shifts): (Vec<i32>, Vec<i32>) = if w_scales.len() > 1 {
                    w_scales
                        .iter()
                        .map(|&ws| quantize_multiplier(in_scales[0] as f64 * ws as f64 / out_scale as f64))
                        .unzip()
                } else {
                    // TFLite multiplies the two float scales before widening to double.
                    let product = (in_scales[0] * w_scales[0]) as f64;
                    let (m, s) = quantize_multiplier(product / out_scale as f64);
                    (vec![m], vec![s])
                };
                let (act_min, act_max) = activation_range_s8(o.activation, out_scale, out_zp);
                inputs[0] = self.operand(op, Some(x))?;
                inputs[1] = self.operand(op, Some(w))?;
                inputs[2] = self.operand(op, input(2))?;
                inputs[3] = self.push_i32s(&multipliers);
                inputs[4] = self.push_i32s(&shifts);
                let p = FullyConnectedParams {
                    batches,
                    depth,
                    units,
                    input_offset: -in_zp,
                    filter_offset: -w_zp,
                    output_offset: out_zp,
                    act_min,
                    act_max,
                };
                (KernelId::FullyConnectedS8, StepParams::FullyConnected(p))
            }
            OpKind::Add { activation } => {
                let (a, b) = (need(0)?, need(1)?);
                let ((sa, za), (sb, zb)) = (self.quant(op, a)?, self.quant(op, b)?);
                let left_shift = 20;
                let twice_max = 2.0 * sa[0].max(sb[0]) as f64;
                let (m1, s1) = quantize_multiplier(sa[0] as f64 / twice_max);
                let (m2, s2) = quantize_multiplier(sb[0] as f64 / twice_max);
                let (mo, so) = quantize_multiplier(twice_max / ((1 << left_shift) as f64 * out_scale as f64));
                let (act_min, act_max) = activation_range_s8(activation, out_scale, out_zp);
                inputs[0] = self.operand(op, Some(a))?;
                inputs[1] = self.operand(op, Some(b))?;
                let p = AddParams {
                    input1: self.shape4(op, a)?,
                    input2: self.shape4(op, b)?,
                    output: self.shape4(op, out_t)?,
                    left_shift,
                    input1_offset: -za,
                    input1_multiplier: m1,
                    input1_shift: s1,
                    input2_offset: -zb,
                    input2_multiplier: m2,
                    input2_shift: s2,
                    output_multiplier: mo,
                    output_shift: so,
                    output_offset: out_zp,
                    act_min,
                    act_max,
                };
                (KernelId::AddS8, StepParams::Add(p))
            }
            OpKind::AveragePool2d(o) | OpKind::MaxPool2d(o) => {
                let x = need(0)?;
                let in_shape = self.shape4(op, x)?;
                let out_shape = self.shape4(op, out_t)?;
                let (act_min, act_max) = activation_range_s8(o.activation, out_scale, out_zp);
                inputs[0] = self.operand(op, Some(x))?;
                let p = PoolParams {
                    input: in_shape,
                    output: out_shape,
                    filter_h: o.filter_h as u32,
                    filter_w: o.filter_w as u32,
                    stride_h: o.stride_h as u32,
                    stride_w: o.stride_w as u32,
                    pad_h: padding(o.padding, in_shape[1], out_shape[1], o.filter_h as u32, o.stride_h as u32, 1),
                    pad_w: padding(o.padding, in_shape[2], out_shape[2], o.filter_w as u32, o.stride_w as u32, 1),
                    act_min,
                    act_max,
                };
                let kernel = if matches!(operator.kind, OpKind::AveragePool2d(_)) {
                    KernelId::AvgPool2dS8
                } else {
                    KernelId::MaxPool2dS8
                };
                (kernel, StepParams::Pool(p))
            }
            OpKind::Mean(_) => {
                let x = need(0)?;
                let axes = self.constant_i32s(op, need(1)?)?;
                let mut sorted = axes.clone();
                sorted.sort_unstable();
                if self.tensor(x).shape.len() != 4 || sorted != [1, 2] {
                    return Err(Self::bad(
                        op,
                        format!("MEAN over axes {axes:?} of a non-4-D tensor is not implemented"),
                    ));
                }
                let (in_scales, in_zp) = self.quant(op, x)?;
                let (multiplier, shift) = quantize_multiplier(in_scales[0] as f64 / out_scale as f64);
                inputs[0] = self.operand(op, Some(x))?;
                let p = MeanParams {
                    input: self.shape4(op, x)?,
                    input_zero_point: in_zp,
                    output_zero_point: out_zp,
                    multiplier,
                    shift,
                };
                (KernelId::MeanS8, StepParams::Mean(p))
            }
            OpKind::Softmax(o) => {
                let x = need(0)?;
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
                inputs[0] = self.operand(op, Some(x))?;
                let p = SoftmaxParams {
                    depth: *self.tensor(x).shape.last().unwrap_or(&0) as u32,
                    input_multiplier,
                    input_left_shift,
                    diff_min: -(max_input_rescaled.floor() as i32),
                };
                (KernelId::SoftmaxS8, StepParams::Softmax(p))
            }
            OpKind::Mul { activation } => {
                let (a, b) = (need(0)?, need(1)?);
                let ((sa, za), (sb, zb)) = (self.quant(op, a)?, self.quant(op, b)?);
                let (multiplier, shift) = quantize_multiplier(sa[0] as f64 * sb[0] as f64 / out_scale as f64);
                let (act_min, act_max) = activation_range_s8(activation, out_scale, out_zp);
                inputs[0] = self.operand(op, Some(a))?;
                inputs[1] = self.operand(op, Some(b))?;
                let p = MulParams {
                    input1: self.shape4(op, a)?,
                    input2: self.shape4(op, b)?,
                    output: self.shape4(op, out_t)?,
                    input1_offset: -za,
                    input2_offset: -zb,
                    output_offset: out_zp,
                    multiplier,
                    shift,
                    act_min,
                    act_max,
                };
                (KernelId::MulS8, StepParams::Mul(p))
            }
            OpKind::Pad | OpKind::PadV2 => {
                let x = need(0)?;
                let pads = self.constant_i32s(op, need(1)?)?;
                let rank = self.tensor(x).shape.len();
                if pads.len() != 2 * rank || rank > 4 || pads.iter().any(|&v| v < 0) {
                    return Err(Self::bad(op, format!("paddings {pads:?} do not fit a rank-{rank} input")));
                }
                let mut before = [0u32; 4];
                for d in 0..rank {
                    before[4 - rank + d] = pads[2 * d] as u32;
                }
                let value = match (operator.kind, input(2)) {
                    (OpKind::PadV2, Some(v)) => {
                        self.tensor(v).data.and_then(|d| d.first()).map(|&b| b as i8 as i32).unwrap_or(out_zp)
                    }
                    _ => out_zp,
                };
                inputs[0] = self.operand(op, Some(x))?;
                let p = PadParams { input: self.shape4(op, x)?, output: self.shape4(op, out_t)?, before, value };
                (KernelId::PadS8, StepParams::Pad(p))
            }
            OpKind::Concatenation(o) => {
                let parts: Vec<usize> = operator.inputs.iter().flatten().copied().collect();
                let out_shape = self.tensor(out_t).shape.clone();
                let rank = out_shape.len() as i32;
                let axis = if o.axis < 0 { o.axis + rank } else { o.axis };
                if parts.len() > 4 || !(0..rank).contains(&axis) {
                    return Err(Self::bad(op, format!("CONCATENATION of {} inputs on axis {}", parts.len(), o.axis)));
                }
                let outer: usize = out_shape[..axis as usize].iter().product();
                let mut chunks = [0u32; 4];
                for (k, &t) in parts.iter().enumerate() {
                    if self.quant(op, t)? != (out_scales.clone(), out_zp) {
                        return Err(Self::bad(op, "CONCATENATION of inputs with another quantisation than the output"));
                    }
                    chunks[k] = (self.tensor(t).elements() / outer.max(1)) as u32;
                    inputs[k] = self.operand(op, Some(t))?;
                }
                let p = ConcatParams { outer: outer as u32, chunks, count: parts.len() as u32 };
                (KernelId::ConcatS8, StepParams::Concat(p))
            }
            OpKind::HardSwish => {
                let x = need(0)?;
                let (in_scales, in_zp) = self.quant(op, x)?;
                // TFLite prepares these in float, then widens to double.
                let hires_input_scale = (1.0f32 / 128.0) * in_scales[0];
                let reluish_scale = 3.0f32 / 32768.0;
                let (out_m, out_e) = quantize_multiplier((hires_input_scale / out_scale) as f64);
                let (relu_m, relu_e) = quantize_multiplier((hires_input_scale / reluish_scale) as f64);
                if !(-15..=0).contains(&out_e) || !(-15..=15).contains(&relu_e) {
                    return Err(Self::bad(op, "HARD_SWISH output scale too small for the reference recipe"));
                }
                inputs[0] = self.operand(op, Some(x))?;
                let p = HardSwishParams {
                    input_zero_point: in_zp,
                    output_zero_point: out_zp,
                    reluish_multiplier_fixedpoint_int16: downscale_to_int16(relu_m),
                    reluish_multiplier_exponent: relu_e,
                    output_multiplier_fixedpoint_int16: downscale_to_int16(out_m),
                    output_multiplier_exponent: out_e,
                };
                (KernelId::HardSwishS8, StepParams::HardSwish(p))
            }
            OpKind::Logistic => {
                let x = need(0)?;
                let (in_scales, in_zp) = self.quant(op, x)?;
                let (input_multiplier, input_left_shift) =
                    quantize_multiplier(in_scales[0] as f64 * (1i64 << (31 - 4)) as f64);
                let radius = 15.0 * (1i64 << 27) as f64 / 2f64.powi(input_left_shift);
                inputs[0] = self.operand(op, Some(x))?;
                let p = LogisticParams {
                    input_zero_point: in_zp,
                    input_range_radius: radius.floor() as i32,
                    input_multiplier,
                    input_left_shift,
                };
                (KernelId::LogisticS8, StepParams::Logistic(p))
            }
            OpKind::Quantize => {
                let x = need(0)?;
                if self.tensor(x).dtype != crate::tflite::DType::Int8 {
                    return Err(Self::bad(op, "QUANTIZE is only implemented from int8 to int8"));
                }
                let (in_scales, in_zp) = self.quant(op, x)?;
                let (multiplier, shift) = quantize_multiplier(in_scales[0] as f64 / out_scale as f64);
                inputs[0] = self.operand(op, Some(x))?;
                let p = QuantizeParams { input_zero_point: in_zp, output_zero_point: out_zp, multiplier, shift };
                (KernelId::QuantizeS8, StepParams::Quantize(p))
            }
            OpKind::Reshape => {
                inputs[0] = self.operand(op, Some(need(0)?))?;
                (KernelId::CopyS8, StepParams::NoParams)
            }
            ref other => return Err(CompileError::Unsupported { op, name: other.name() }),
        };
        if let Some((act_min, act_max)) = activation_bounds(&params) {
            if act_min > act_max {
                return Err(Self::bad(
                    op,
                    format!("output tensor {out_t}: fused activation range [{act_min}, {act_max}] is empty"),
                ));
            }
        }
        Ok(Step { kernel, variant: Variant::Reference, params, inputs, output, scratch: None })
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
    let mut compiler = Compiler { graph, offsets, precomputed: Vec::new() };
    let mut steps = Vec::with_capacity(schedule.len());
    for (&op, &variant) in schedule.iter().zip(&plan.kernels) {
        let mut step = compiler.step(op)?;
        step.variant = variant.to_kernels();
        // The reference kernels use no arena scratch (TFLM's MEAN scratch is reserved in the plan, unused);
        // the optimized ones get the buffer the lowering sized for them.
        if variant == KernelVariant::Optimized {
            step.scratch = scratch[op.0 as usize];
        }
        steps.push(step);
    }
    let model = graph.model();
    let slices =
        |ts: &[usize]| -> Result<Vec<Slice>, CompileError> { ts.iter().map(|&t| compiler.arena(0, t)).collect() };
    let inputs = slices(&model.inputs)?;
    let outputs = slices(&model.outputs)?;
    Ok(CompiledProgram {
        steps,
        precomputed: compiler.precomputed,
        inputs,
        outputs,
        arena_bytes: plan.arena_bytes as u32,
    })
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
