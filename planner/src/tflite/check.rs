//! Semantic checks of a model the FlatBuffer reader accepted: resource limits, quantisation parameters, and
//! each operator's shapes against its inputs and options. What passes here can be planned, compiled and run
//! (issue 11: whatever `plan` and `export` accept, `run` runs); what fails gets an error naming the operator,
//! the tensor or the limit.

use super::error::ReadError;
use super::geometry::{box_shape, constant_i32s, permutation, resolve_axis, slice_box, strided_slice_box};
use super::model::{DType, Model, OpKind, Operator, Padding, Tensor};
use crate::limits::{check, Limits};
use arenaplan_kernels::program::{SLICE_MAX_DIMS, TRANSPOSE_MAX_DIMS};

/// Check a model read from a file (its size is checked before reading): limits first (cheap, and they bound the rest), then every tensor's
/// quantisation, then every operator's shapes.
pub(crate) fn check_model(model: &Model<'_>, limits: &Limits) -> Result<(), ReadError> {
    check(|| "the number of tensors".to_owned(), model.tensors.len() as u64, limits.buffers, "MAX_BUFFERS")?;
    check(|| "the number of operators".to_owned(), model.operators.len() as u64, limits.buffers, "MAX_BUFFERS")?;
    for t in &model.tensors {
        check(
            || format!("tensor {} (`{}`) size in bytes", t.index, t.name),
            t.byte_size as u64,
            limits.arena_bytes,
            "MAX_ARENA_BYTES",
        )?;
        check_quantization(t)?;
        if let (Some(data), Some(_)) = (t.data, t.dtype.elem_size()) {
            if data.len() != t.byte_size {
                return Err(ReadError::DataSize {
                    tensor: t.index,
                    name: t.name.to_owned(),
                    found: data.len(),
                    expected: t.byte_size,
                });
            }
        }
    }
    for op in &model.operators {
        check_shapes(model, op)?;
    }
    Ok(())
}

/// The range of values a zero point may take for a tensor of this type.
fn zero_point_range(dtype: DType) -> (i64, i64) {
    match dtype {
        DType::Int8 => (i8::MIN as i64, i8::MAX as i64),
        DType::UInt8 => (0, u8::MAX as i64),
        DType::Int16 => (i16::MIN as i64, i16::MAX as i64),
        DType::Int32 | DType::Int64 | DType::Float32 | DType::Float16 | DType::Bool | DType::Other(_) => {
            (i32::MIN as i64, i32::MAX as i64)
        }
    }
}

/// Scales finite and positive; zero points as many as scales and in range for the type (a 64-bit zero point
/// is never truncated); per-channel parameters along an existing axis with one scale per channel.
fn check_quantization(t: &Tensor<'_>) -> Result<(), ReadError> {
    let Some(q) = &t.quantization else { return Ok(()) };
    let bad = |what: String| ReadError::BadQuantization { tensor: t.index, name: t.name.to_owned(), what };
    if let Some(s) = q.scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(bad(format!("scale {s} is not a finite positive number")));
    }
    if q.zero_points.len() != q.scales.len() {
        return Err(bad(format!("{} zero points for {} scales", q.zero_points.len(), q.scales.len())));
    }
    let (lo, hi) = zero_point_range(t.dtype);
    if let Some(z) = q.zero_points.iter().find(|z| !(lo..=hi).contains(*z)) {
        return Err(bad(format!("zero point {z} is outside [{lo}, {hi}] for type {}", t.dtype)));
    }
    if q.scales.len() > 1 {
        let channels = t.shape.get(q.quantized_dimension).copied();
        if channels != Some(q.scales.len()) {
            return Err(bad(format!(
                "{} per-channel scales along axis {} of shape {:?}",
                q.scales.len(),
                q.quantized_dimension,
                t.shape
            )));
        }
    }
    Ok(())
}

/// TFLite's output size of a windowed operator along one axis (`ComputeOutSize`), in 64-bit arithmetic.
fn window_out(padding: Padding, input: usize, filter: usize, stride: usize, dilation: usize) -> Option<u64> {
    let (input, filter, stride, dilation) = (input as u64, filter as u64, stride as u64, dilation as u64);
    let effective = filter.checked_sub(1)?.checked_mul(dilation)?.checked_add(1)?;
    Some(match padding {
        Padding::Same => input.div_ceil(stride),
        Padding::Valid => (input + stride).saturating_sub(effective) / stride,
    })
}

/// Numpy-style broadcast of two shapes (right-aligned; each pair of dimensions equal or one of them 1).
fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() >= rank { s[i + s.len() - rank] } else { 1 };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y || y == 1 => Some(x),
            (1, y) => Some(y),
            _ => None,
        })
        .collect()
}

/// The shape checks of one operator that are cheap and that the kernels rely on.
fn check_shapes(model: &Model<'_>, op: &Operator) -> Result<(), ReadError> {
    let name = op.kind.name();
    let bad = |what: String| ReadError::ShapeMismatch { op_index: op.index, op: name, what };
    let tensor = |k: usize| op.inputs.get(k).copied().flatten().map(|t| &model.tensors[t]);
    let need = |k: usize| tensor(k).ok_or_else(|| bad(format!("input {k} is missing")));
    let Some(out) = op.outputs.first().map(|&t| &model.tensors[t]) else {
        return Err(bad("no output".to_owned()));
    };
    let rank4 = |t: &Tensor<'_>, role: &str| -> Result<[usize; 4], ReadError> {
        <[usize; 4]>::try_from(t.shape.as_slice())
            .map_err(|_| bad(format!("{role} tensor {} has shape {:?}, not 4-D", t.index, t.shape)))
    };
    let expect_shape = |expected: &[u64]| -> Result<(), ReadError> {
        let found: Vec<u64> = out.shape.iter().map(|&d| d as u64).collect();
        if found == expected {
            Ok(())
        } else {
            Err(bad(format!(
                "output tensor {} has shape {:?}, the inputs and options give {expected:?}",
                out.index, found
            )))
        }
    };
    let bias_len = |units: usize| -> Result<(), ReadError> {
        match tensor(2) {
            Some(b) if b.elements() != units || b.dtype != DType::Int32 => Err(bad(format!(
                "bias tensor {} has {} elements of type {} for {units} channels (need INT32)",
                b.index,
                b.elements(),
                b.dtype
            ))),
            _ => Ok(()),
        }
    };
    // The int8 kernels read inputs, filters and outputs as bytes.
    let int8 = |ts: &[&Tensor<'_>]| -> Result<(), ReadError> {
        match ts.iter().find(|t| t.dtype != DType::Int8) {
            Some(t) => Err(bad(format!("tensor {} has type {}, the kernel needs INT8", t.index, t.dtype))),
            None => Ok(()),
        }
    };
    // A constant INT32 input (permutation, begin, end, strides, sizes, axis).
    let constant = |t: &Tensor<'_>, role: &str| -> Result<Vec<i32>, ReadError> {
        constant_i32s(t).ok_or_else(|| bad(format!("{role} tensor {} is not a constant INT32 tensor", t.index)))
    };
    let window = |padding, input, filter, stride, dilation, axis: &str| {
        window_out(padding, input, filter, stride, dilation)
            .ok_or_else(|| bad(format!("the {axis} window (size {filter}, dilation {dilation}) is empty or too large")))
    };
    // Every kernel reads and writes int8 activations (DEQUANTIZE, which writes floats, has no kernel).
    if !matches!(op.kind, OpKind::Dequantize) {
        let activations = op.inputs.iter().flatten().chain(&op.outputs).map(|&t| &model.tensors[t]);
        if let Some(t) = activations.filter(|t| t.data.is_none()).find(|t| t.dtype != DType::Int8) {
            return Err(bad(format!("activation tensor {} has type {}, the kernels need INT8", t.index, t.dtype)));
        }
    }
    match &op.kind {
        OpKind::Conv2d(o) => {
            int8(&[need(0)?, need(1)?, out])?;
            let [n, h, w, c] = rank4(need(0)?, "input")?;
            let [co, kh, kw, ci] = rank4(need(1)?, "filter")?;
            if ci != c {
                return Err(bad(format!("filter has {ci} input channels, the input has {c}")));
            }
            let oh = window(o.padding, h, kh, o.stride_h, o.dilation_h, "vertical")?;
            let ow = window(o.padding, w, kw, o.stride_w, o.dilation_w, "horizontal")?;
            bias_len(co)?;
            expect_shape(&[n as u64, oh, ow, co as u64])
        }
        OpKind::DepthwiseConv2d(o) => {
            int8(&[need(0)?, need(1)?, out])?;
            let [n, h, w, c] = rank4(need(0)?, "input")?;
            let [one, kh, kw, co] = rank4(need(1)?, "filter")?;
            if one != 1 || Some(co) != c.checked_mul(o.depth_multiplier) {
                return Err(bad(format!(
                    "filter shape [{one}, {kh}, {kw}, {co}] does not fit {c} input channels times depth multiplier {}",
                    o.depth_multiplier
                )));
            }
            let oh = window(o.padding, h, kh, o.stride_h, o.dilation_h, "vertical")?;
            let ow = window(o.padding, w, kw, o.stride_w, o.dilation_w, "horizontal")?;
            bias_len(co)?;
            expect_shape(&[n as u64, oh, ow, co as u64])
        }
        OpKind::AveragePool2d(o) | OpKind::MaxPool2d(o) => {
            let [n, h, w, c] = rank4(need(0)?, "input")?;
            let oh = window(o.padding, h, o.filter_h, o.stride_h, 1, "vertical")?;
            let ow = window(o.padding, w, o.filter_w, o.stride_w, 1, "horizontal")?;
            expect_shape(&[n as u64, oh, ow, c as u64])
        }
        OpKind::FullyConnected(_) => {
            let (x, filter) = (need(0)?, need(1)?);
            int8(&[x, filter, out])?;
            let [units, depth] = <[usize; 2]>::try_from(filter.shape.as_slice())
                .map_err(|_| bad(format!("filter tensor {} has shape {:?}, not 2-D", filter.index, filter.shape)))?;
            if depth == 0 || x.elements() % depth != 0 {
                return Err(bad(format!(
                    "input of {} elements is not a whole number of rows of {depth}",
                    x.elements()
                )));
            }
            bias_len(units)?;
            let expected = (x.elements() / depth) as u64 * units as u64;
            if out.elements() as u64 != expected {
                return Err(bad(format!(
                    "output tensor {} has {} elements, expected {expected}",
                    out.index,
                    out.elements()
                )));
            }
            Ok(())
        }
        OpKind::Add { .. } | OpKind::Mul { .. } => {
            let (a, b) = (need(0)?, need(1)?);
            if a.shape.len() > 4 || b.shape.len() > 4 {
                return Err(bad("inputs of more than 4 dimensions".to_owned()));
            }
            let shape = broadcast(&a.shape, &b.shape)
                .ok_or_else(|| bad(format!("input shapes {:?} and {:?} do not broadcast", a.shape, b.shape)))?;
            expect_shape(&shape.iter().map(|&d| d as u64).collect::<Vec<_>>())
        }
        OpKind::Softmax(o) => {
            if !(o.beta.is_finite() && o.beta > 0.0) {
                return Err(bad(format!("beta {} is not a finite positive number", o.beta)));
            }
            let input = need(0)?;
            if input.shape.is_empty() {
                // TFLM: `TF_LITE_ENSURE(NumDimensions(input) >= 1)`; the kernel runs over the last dimension.
                return Err(bad("a 0-dimensional input (SOFTMAX needs at least one dimension)".to_owned()));
            }
            expect_shape(&input.shape.iter().map(|&d| d as u64).collect::<Vec<_>>())
        }
        OpKind::Logistic
        | OpKind::HardSwish
        | OpKind::Quantize
        | OpKind::Dequantize
        | OpKind::Relu
        | OpKind::Relu6
        | OpKind::LeakyRelu { .. }
        | OpKind::Tanh => expect_shape(&need(0)?.shape.iter().map(|&d| d as u64).collect::<Vec<_>>()),
        OpKind::Sub { .. } | OpKind::Maximum | OpKind::Minimum | OpKind::Prelu => {
            let (a, b) = (need(0)?, need(1)?);
            if a.shape.len() > 4 || b.shape.len() > 4 {
                return Err(bad("inputs of more than 4 dimensions".to_owned()));
            }
            let shape = broadcast(&a.shape, &b.shape)
                .ok_or_else(|| bad(format!("input shapes {:?} and {:?} do not broadcast", a.shape, b.shape)))?;
            expect_shape(&shape.iter().map(|&d| d as u64).collect::<Vec<_>>())
        }
        OpKind::Transpose => {
            let x = need(0)?;
            let perm = constant(need(1)?, "permutation")?;
            if x.shape.len() > TRANSPOSE_MAX_DIMS {
                return Err(bad(format!("input of {} dimensions (at most {TRANSPOSE_MAX_DIMS})", x.shape.len())));
            }
            let perm = permutation(&perm, x.shape.len()).map_err(bad)?;
            expect_shape(&perm.iter().map(|&a| x.shape[a] as u64).collect::<Vec<_>>())
        }
        OpKind::StridedSlice(o) => {
            let x = need(0)?;
            let (begin, end) = (constant(need(1)?, "begin")?, constant(need(2)?, "end")?);
            let strides = constant(need(3)?, "strides")?;
            if x.shape.len() > SLICE_MAX_DIMS {
                return Err(bad(format!("input of {} dimensions (at most {SLICE_MAX_DIMS})", x.shape.len())));
            }
            let b = strided_slice_box(&x.shape, &begin, &end, &strides, o).map_err(bad)?;
            expect_shape(&box_shape(&b).iter().map(|&d| d as u64).collect::<Vec<_>>())
        }
        OpKind::Slice => {
            let x = need(0)?;
            let (begin, size) = (constant(need(1)?, "begin")?, constant(need(2)?, "size")?);
            if x.shape.len() > SLICE_MAX_DIMS {
                return Err(bad(format!("input of {} dimensions (at most {SLICE_MAX_DIMS})", x.shape.len())));
            }
            let b = slice_box(&x.shape, &begin, &size).map_err(bad)?;
            expect_shape(&box_shape(&b).iter().map(|&d| d as u64).collect::<Vec<_>>())
        }
        OpKind::Split { num_splits } | OpKind::SplitV { num_splits } => {
            let is_split = matches!(op.kind, OpKind::Split { .. });
            let (x, axis) = if is_split { (need(1)?, need(0)?) } else { (need(0)?, need(2)?) };
            let axis = constant(axis, "axis")?;
            let rank = x.shape.len();
            let axis = match axis.as_slice() {
                [a] => resolve_axis(*a, rank),
                _ => None,
            }
            .ok_or_else(|| bad(format!("axis {axis:?} of a rank-{rank} input")))?;
            if rank > SLICE_MAX_DIMS || op.outputs.len() != *num_splits as usize {
                return Err(bad(format!(
                    "{} outputs for {num_splits} splits of a rank-{rank} input",
                    op.outputs.len()
                )));
            }
            let mut along = 0u64;
            for &t in &op.outputs {
                let part = &model.tensors[t];
                let fits = part.shape.len() == rank
                    && part.shape.iter().zip(&x.shape).enumerate().all(|(d, (p, q))| d == axis || p == q);
                if !fits {
                    return Err(bad(format!(
                        "output tensor {t} of shape {:?} does not fit input {:?}",
                        part.shape, x.shape
                    )));
                }
                if is_split && (part.shape[axis] as u64) * (*num_splits as u64) != x.shape[axis] as u64 {
                    return Err(bad(format!("{num_splits} equal splits of {} elements", x.shape[axis])));
                }
                along += part.shape[axis] as u64;
            }
            if along != x.shape[axis] as u64 {
                return Err(bad(format!("outputs sum to {along} along axis {axis}, the input has {}", x.shape[axis])));
            }
            Ok(())
        }
        OpKind::TransposeConv(o) => {
            let (filter, x) = (need(1)?, need(2)?);
            int8(&[x, filter, out])?;
            let [n, h, w, c] = rank4(x, "input")?;
            let [co, kh, kw, ci] = rank4(filter, "filter")?;
            if ci != c {
                return Err(bad(format!("filter has {ci} input channels, the input has {c}")));
            }
            let shape = constant(need(0)?, "output shape")?;
            let expected: Vec<u64> = shape.iter().map(|&d| d.max(0) as u64).collect();
            expect_shape(&expected)?;
            let [on, oh, ow, oc] = rank4(out, "output")?;
            // The forward convolution from the output back to the input must give the input's size.
            let back_h = window(o.padding, oh, kh, o.stride_h, 1, "vertical")?;
            let back_w = window(o.padding, ow, kw, o.stride_w, 1, "horizontal")?;
            if on != n || oc != co || back_h != h as u64 || back_w != w as u64 {
                return Err(bad(format!(
                    "output [{on}, {oh}, {ow}, {oc}] does not transpose-convolve from input [{n}, {h}, {w}, {c}] \
                     with filter [{co}, {kh}, {kw}, {ci}]"
                )));
            }
            match tensor(3) {
                Some(b) if b.elements() != co || b.dtype != DType::Int32 => Err(bad(format!(
                    "bias tensor {} has {} elements of type {} for {co} channels (need INT32)",
                    b.index,
                    b.elements(),
                    b.dtype
                ))),
                _ => Ok(()),
            }
        }
        OpKind::Pack { values_count, axis } => {
            let first = need(0)?;
            let parts: Vec<&Tensor<'_>> = op.inputs.iter().flatten().map(|&t| &model.tensors[t]).collect();
            if parts.len() != *values_count as usize || parts.iter().any(|p| p.shape != first.shape) {
                return Err(bad(format!("{} inputs of differing shapes for values_count {values_count}", parts.len())));
            }
            let axis = resolve_axis(*axis, first.shape.len() + 1)
                .ok_or_else(|| bad(format!("axis {axis} for a rank-{} output", first.shape.len() + 1)))?;
            let mut expected: Vec<u64> = first.shape.iter().map(|&d| d as u64).collect();
            expected.insert(axis, parts.len() as u64);
            expect_shape(&expected)
        }
        OpKind::Unpack { num, axis } => {
            let x = need(0)?;
            let axis = resolve_axis(*axis, x.shape.len())
                .ok_or_else(|| bad(format!("axis {axis} of a rank-{} input", x.shape.len())))?;
            if x.shape.len() > SLICE_MAX_DIMS || op.outputs.len() != x.shape[axis] || *num as usize != x.shape[axis] {
                return Err(bad(format!("{} outputs ({num} declared) for {} slices", op.outputs.len(), x.shape[axis])));
            }
            let mut expected = x.shape.clone();
            expected.remove(axis);
            match op.outputs.iter().map(|&t| &model.tensors[t]).find(|t| t.shape != expected) {
                Some(t) => {
                    Err(bad(format!("output tensor {} has shape {:?}, expected {expected:?}", t.index, t.shape)))
                }
                None => Ok(()),
            }
        }
        OpKind::ResizeNearestNeighbor(_) | OpKind::ResizeBilinear(_) => {
            let [n, _, _, c] = rank4(need(0)?, "input")?;
            let size = constant(need(1)?, "size")?;
            let [h, w] = <[i32; 2]>::try_from(size.as_slice())
                .ok()
                .filter(|s| s.iter().all(|&v| v > 0))
                .ok_or_else(|| bad(format!("output size {size:?} is not two positive values")))?;
            expect_shape(&[n as u64, h as u64, w as u64, c as u64])
        }
        OpKind::Reshape | OpKind::Squeeze | OpKind::ExpandDims => {
            let x = need(0)?;
            if x.elements() != out.elements() {
                return Err(bad(format!("reshapes {} elements into {}", x.elements(), out.elements())));
            }
            Ok(())
        }
        OpKind::Mean(_) => {
            let (x, axes) = (need(0)?, need(1)?);
            let Some(data) = axes.data.filter(|_| axes.dtype == DType::Int32) else {
                return Ok(()); // Not a constant int32 tensor: the compiler refuses it, naming the operator.
            };
            let rank = x.shape.len() as i64;
            let mut reduced = vec![false; x.shape.len()];
            for b in data.chunks_exact(4) {
                let axis = i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64;
                let axis = if axis < 0 { axis + rank } else { axis };
                if !(0..rank).contains(&axis) {
                    return Err(bad(format!("axis {axis} of a rank-{rank} input")));
                }
                reduced[axis as usize] = true;
            }
            // Saturating: the input's dimensions come from the file, and their product can pass u64 (found by
            // fuzzing); a saturated count never equals the output's.
            let kept: u64 =
                x.shape.iter().zip(&reduced).filter(|(_, &r)| !r).fold(1u64, |n, (&d, _)| n.saturating_mul(d as u64));
            if out.elements() as u64 != kept {
                return Err(bad(format!(
                    "output tensor {} has {} elements, expected {kept}",
                    out.index,
                    out.elements()
                )));
            }
            Ok(())
        }
        OpKind::Pad | OpKind::PadV2 => {
            let x = need(0)?;
            let pads = need(1)?;
            let Some(data) = pads.data.filter(|_| pads.dtype == DType::Int32) else {
                return Ok(()); // Not a constant int32 tensor: the compiler refuses it, naming the operator.
            };
            let pads: Vec<i64> =
                data.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64).collect();
            if pads.len() != 2 * x.shape.len() || pads.iter().any(|&p| p < 0) {
                return Err(bad(format!("paddings {pads:?} do not fit an input of shape {:?}", x.shape)));
            }
            let expected: Vec<u64> =
                x.shape.iter().enumerate().map(|(d, &s)| s as u64 + (pads[2 * d] + pads[2 * d + 1]) as u64).collect();
            expect_shape(&expected)
        }
        OpKind::Concatenation(o) => {
            let rank = out.shape.len() as i64;
            let axis = if o.axis < 0 { o.axis as i64 + rank } else { o.axis as i64 };
            if !(0..rank).contains(&axis) {
                return Err(bad(format!("axis {} of a rank-{rank} output", o.axis)));
            }
            let axis = axis as usize;
            let mut along = 0u64;
            for &t in op.inputs.iter().flatten() {
                let part = &model.tensors[t];
                let same_elsewhere = part.shape.len() == out.shape.len()
                    && part.shape.iter().zip(&out.shape).enumerate().all(|(d, (p, q))| d == axis || p == q);
                if !same_elsewhere {
                    return Err(bad(format!(
                        "input tensor {t} of shape {:?} does not fit output {:?}",
                        part.shape, out.shape
                    )));
                }
                along += part.shape[axis] as u64;
            }
            if along != out.shape[axis] as u64 {
                return Err(bad(format!(
                    "inputs sum to {along} along axis {axis}, the output has {}",
                    out.shape[axis]
                )));
            }
            Ok(())
        }
    }
}
