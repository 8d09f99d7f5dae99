//! `read_model`: from `.tflite` bytes to a [`Model`], rejecting what arenaplan cannot plan or run.
//!
//! Field numbers below are facts of the TFLite FlatBuffer format (the position of each field in its table).

use super::error::ReadError;
use super::flatbuf::Table;
use super::model::*;
use crate::limits::Limits;

/// Builtin operator codes arenaplan knows by name (supported or not, for clear errors).
fn builtin_name(code: i32) -> &'static str {
    match code {
        0 => "ADD",
        1 => "AVERAGE_POOL_2D",
        2 => "CONCATENATION",
        3 => "CONV_2D",
        4 => "DEPTHWISE_CONV_2D",
        6 => "DEQUANTIZE",
        9 => "FULLY_CONNECTED",
        14 => "LOGISTIC",
        16 => "LSTM",
        17 => "MAX_POOL_2D",
        18 => "MUL",
        19 => "RELU",
        21 => "RELU6",
        22 => "RESHAPE",
        23 => "RESIZE_BILINEAR",
        25 => "SOFTMAX",
        28 => "TANH",
        32 => "CUSTOM",
        34 => "PAD",
        39 => "TRANSPOSE",
        40 => "MEAN",
        41 => "SUB",
        42 => "DIV",
        43 => "SQUEEZE",
        45 => "STRIDED_SLICE",
        49 => "SPLIT",
        54 => "PRELU",
        55 => "MAXIMUM",
        57 => "MINIMUM",
        60 => "PADV2",
        65 => "SLICE",
        67 => "TRANSPOSE_CONV",
        70 => "EXPAND_DIMS",
        83 => "PACK",
        88 => "UNPACK",
        97 => "RESIZE_NEAREST_NEIGHBOR",
        98 => "LEAKY_RELU",
        102 => "SPLIT_V",
        114 => "QUANTIZE",
        117 => "HARD_SWISH",
        _ => "an unknown operator",
    }
}

fn activation(code: i8, op_index: usize) -> Result<Activation, ReadError> {
    match code {
        0 => Ok(Activation::None),
        1 => Ok(Activation::Relu),
        2 => Ok(Activation::ReluN1To1),
        3 => Ok(Activation::Relu6),
        code => Err(ReadError::UnsupportedActivation { op_index, code }),
    }
}

fn padding(code: i8, op_index: usize) -> Result<Padding, ReadError> {
    match code {
        0 => Ok(Padding::Same),
        1 => Ok(Padding::Valid),
        other => Err(ReadError::BadOptions { op_index, what: format!("padding code {other} is not SAME or VALID") }),
    }
}

/// A positive integer option (stride, dilation, filter size).
fn positive(value: i32, op_index: usize, what: &str) -> Result<usize, ReadError> {
    if value > 0 {
        Ok(value as usize)
    } else {
        Err(ReadError::BadOptions { op_index, what: format!("{what} is {value}, must be positive") })
    }
}

fn op_kind<'a>(code: i32, options: Option<Table<'a>>, op_index: usize) -> Result<OpKind, ReadError> {
    const W: &str = "operator options";
    let need = |o: Option<Table<'a>>| -> Result<Table<'a>, ReadError> {
        o.ok_or_else(|| ReadError::BadOptions { op_index, what: format!("{} has no options", builtin_name(code)) })
    };
    // Options absent from the file take the format's defaults (0 / NONE / false).
    let act_at = |o: Option<Table<'a>>, id| -> Result<Activation, ReadError> {
        activation(o.map(|t| t.i8(id, 0, W)).transpose()?.unwrap_or(0), op_index)
    };
    Ok(match code {
        3 => {
            let o = need(options)?;
            OpKind::Conv2d(Conv2dOptions {
                padding: padding(o.i8(0, 0, W)?, op_index)?,
                stride_w: positive(o.i32(1, 0, W)?, op_index, "stride_w")?,
                stride_h: positive(o.i32(2, 0, W)?, op_index, "stride_h")?,
                activation: activation(o.i8(3, 0, W)?, op_index)?,
                dilation_w: positive(o.i32(4, 1, W)?, op_index, "dilation_w")?,
                dilation_h: positive(o.i32(5, 1, W)?, op_index, "dilation_h")?,
            })
        }
        4 => {
            let o = need(options)?;
            OpKind::DepthwiseConv2d(DepthwiseConv2dOptions {
                padding: padding(o.i8(0, 0, W)?, op_index)?,
                stride_w: positive(o.i32(1, 0, W)?, op_index, "stride_w")?,
                stride_h: positive(o.i32(2, 0, W)?, op_index, "stride_h")?,
                depth_multiplier: positive(o.i32(3, 0, W)?, op_index, "depth_multiplier")?,
                activation: activation(o.i8(4, 0, W)?, op_index)?,
                dilation_w: positive(o.i32(5, 1, W)?, op_index, "dilation_w")?,
                dilation_h: positive(o.i32(6, 1, W)?, op_index, "dilation_h")?,
            })
        }
        1 | 17 => {
            let o = need(options)?;
            let pool = Pool2dOptions {
                padding: padding(o.i8(0, 0, W)?, op_index)?,
                stride_w: positive(o.i32(1, 0, W)?, op_index, "stride_w")?,
                stride_h: positive(o.i32(2, 0, W)?, op_index, "stride_h")?,
                filter_w: positive(o.i32(3, 0, W)?, op_index, "filter_width")?,
                filter_h: positive(o.i32(4, 0, W)?, op_index, "filter_height")?,
                activation: activation(o.i8(5, 0, W)?, op_index)?,
            };
            if code == 1 {
                OpKind::AveragePool2d(pool)
            } else {
                OpKind::MaxPool2d(pool)
            }
        }
        9 => OpKind::FullyConnected(FullyConnectedOptions {
            activation: act_at(options, 0)?,
            keep_num_dims: options.map(|o| o.bool(2, W)).transpose()?.unwrap_or(false),
        }),
        0 => OpKind::Add { activation: act_at(options, 0)? },
        18 => OpKind::Mul { activation: act_at(options, 0)? },
        40 => OpKind::Mean(ReducerOptions { keep_dims: options.map(|o| o.bool(0, W)).transpose()?.unwrap_or(false) }),
        25 => OpKind::Softmax(SoftmaxOptions { beta: options.map(|o| o.f32(0, 0.0, W)).transpose()?.unwrap_or(1.0) }),
        2 => OpKind::Concatenation(ConcatenationOptions {
            axis: options.map(|o| o.i32(0, 0, W)).transpose()?.unwrap_or(0),
            activation: act_at(options, 1)?,
        }),
        14 => OpKind::Logistic,
        117 => OpKind::HardSwish,
        22 => OpKind::Reshape,
        34 => OpKind::Pad,
        60 => OpKind::PadV2,
        114 => OpKind::Quantize,
        6 => OpKind::Dequantize,
        19 => OpKind::Relu,
        21 => OpKind::Relu6,
        39 => OpKind::Transpose,
        98 => {
            let alpha = options.map(|o| o.f32(0, 0.0, W)).transpose()?.unwrap_or(0.0);
            if !alpha.is_finite() {
                return Err(ReadError::BadOptions {
                    op_index,
                    what: format!("LEAKY_RELU alpha {alpha} is not finite"),
                });
            }
            OpKind::LeakyRelu { alpha }
        }
        28 => OpKind::Tanh,
        41 => OpKind::Sub { activation: act_at(options, 0)? },
        55 => OpKind::Maximum,
        57 => OpKind::Minimum,
        45 => {
            let mask = |id| options.map(|o| o.i32(id, 0, W)).transpose().map(|v| v.unwrap_or(0));
            OpKind::StridedSlice(StridedSliceOptions {
                begin_mask: mask(0)?,
                end_mask: mask(1)?,
                ellipsis_mask: mask(2)?,
                new_axis_mask: mask(3)?,
                shrink_axis_mask: mask(4)?,
                offset: options.map(|o| o.bool(5, W)).transpose()?.unwrap_or(false),
            })
        }
        65 => OpKind::Slice,
        49 => OpKind::Split { num_splits: options.map(|o| o.i32(0, 0, W)).transpose()?.unwrap_or(0) },
        102 => OpKind::SplitV { num_splits: options.map(|o| o.i32(0, 0, W)).transpose()?.unwrap_or(0) },
        43 => OpKind::Squeeze,
        70 => OpKind::ExpandDims,
        23 => OpKind::ResizeBilinear(ResizeNearestNeighborOptions {
            align_corners: options.map(|o| o.bool(2, W)).transpose()?.unwrap_or(false),
            half_pixel_centers: options.map(|o| o.bool(3, W)).transpose()?.unwrap_or(false),
        }),
        54 => OpKind::Prelu,
        67 => {
            let o = need(options)?;
            OpKind::TransposeConv(TransposeConvOptions {
                padding: padding(o.i8(0, 0, W)?, op_index)?,
                stride_w: positive(o.i32(1, 0, W)?, op_index, "stride_w")?,
                stride_h: positive(o.i32(2, 0, W)?, op_index, "stride_h")?,
                activation: activation(o.i8(3, 0, W)?, op_index)?,
            })
        }
        83 => OpKind::Pack {
            values_count: options.map(|o| o.i32(0, 0, W)).transpose()?.unwrap_or(0),
            axis: options.map(|o| o.i32(1, 0, W)).transpose()?.unwrap_or(0),
        },
        88 => OpKind::Unpack {
            num: options.map(|o| o.i32(0, 0, W)).transpose()?.unwrap_or(0),
            axis: options.map(|o| o.i32(1, 0, W)).transpose()?.unwrap_or(0),
        },
        97 => OpKind::ResizeNearestNeighbor(ResizeNearestNeighborOptions {
            align_corners: options.map(|o| o.bool(0, W)).transpose()?.unwrap_or(false),
            half_pixel_centers: options.map(|o| o.bool(1, W)).transpose()?.unwrap_or(false),
        }),
        code => return Err(ReadError::UnsupportedOp { op_index, code, name: builtin_name(code).to_owned() }),
    })
}

fn index(value: i64, count: usize, kind: &'static str, owner: impl Fn() -> String) -> Result<usize, ReadError> {
    if value >= 0 && (value as u64) < count as u64 {
        Ok(value as usize)
    } else {
        Err(ReadError::IndexOutOfRange { owner: owner(), kind, index: value, count })
    }
}

/// The data of every buffer of the model (`None` when empty).
fn buffer_data<'a>(bytes: &'a [u8], model: &Table<'a>) -> Result<Vec<Option<&'a [u8]>>, ReadError> {
    let mut out = Vec::new();
    for (i, buffer) in model.tables(4, "buffers")?.into_iter().enumerate() {
        let inline = buffer.bytes(0, "buffer data")?;
        let (offset, size) = (buffer.u64(1, 0, "buffer offset")?, buffer.u64(2, 0, "buffer size")?);
        let data = if offset > 1 {
            // Large models keep data after the FlatBuffer, at an absolute offset of the file.
            let end = offset.checked_add(size).filter(|&e| e <= bytes.len() as u64);
            match end {
                Some(end) => Some(&bytes[offset as usize..end as usize]),
                None => return Err(ReadError::BufferOutOfRange { buffer: i, offset, size }),
            }
        } else {
            inline
        };
        out.push(data.filter(|d| !d.is_empty()));
    }
    Ok(out)
}

fn quantization(t: &Table<'_>) -> Result<Option<Quantization>, ReadError> {
    const W: &str = "tensor quantization";
    let Some(q) = t.table(4, W)? else { return Ok(None) };
    let scales = q.vec_f32(2, W)?;
    if scales.is_empty() {
        return Ok(None);
    }
    let zero_points = q.vec_i64(3, W)?;
    let quantized_dimension = q.i32(6, 0, W)?.max(0) as usize;
    Ok(Some(Quantization { scales, zero_points, quantized_dimension }))
}

/// Read a `.tflite` model: subgraph 0's tensors, operators, inputs and outputs.
///
/// Rejects, with an error naming the operator or tensor: truncated or corrupt files, files that are not
/// TFLite, out-of-range indices, float models, unsupported operators and activations, tensors whose size
/// overflows; then, semantically, files and tensors above the [`crate::limits`], unusable quantisation
/// parameters (scales not finite and positive, zero points out of range for the type), and operators whose
/// shapes do not fit their inputs and options. Never panics.
pub fn read_model(bytes: &[u8]) -> Result<Model<'_>, ReadError> {
    read_model_within(bytes, &Limits::default())
}

/// [`read_model`] under the resource limits `limits` (raised by a user; refused above [`Limits::CEILING`]).
pub fn read_model_within<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Model<'a>, ReadError> {
    limits.check_ceilings()?;
    crate::limits::check(
        || "the model file size".to_owned(),
        bytes.len() as u64,
        limits.model_bytes,
        "MAX_MODEL_BYTES",
    )?;
    if bytes.len() < 8 {
        return Err(ReadError::TooShort { len: bytes.len() });
    }
    let ident: [u8; 4] = bytes[4..8].try_into().expect("4 bytes");
    if &ident != b"TFL3" {
        return Err(ReadError::NotTflite { found: ident });
    }
    let root = Table::root(bytes)?;
    let version = root.u32(0, 0, "model version")?;
    let description = root.str(3, "model description")?;
    let buffers = buffer_data(bytes, &root)?;

    let mut opcodes = Vec::new();
    for oc in root.tables(1, "operator codes")? {
        let deprecated = oc.i8(0, 0, "operator code")? as i32;
        let code = oc.i32(3, 0, "operator code")?;
        opcodes.push(deprecated.max(code));
    }

    let subgraphs = root.tables(2, "subgraphs")?;
    let sg = subgraphs.first().ok_or(ReadError::NoSubgraph)?;
    let mut total_tensor_count = 0;
    for s in &subgraphs {
        total_tensor_count += s.tables(0, "tensors")?.len();
    }

    let mut tensors = Vec::new();
    for (i, t) in sg.tables(0, "tensors")?.into_iter().enumerate() {
        let raw_shape = t.vec_i32(0, "tensor shape")?;
        let dtype = DType::from_code(t.i8(1, 0, "tensor type")?);
        let buffer = t.u32(2, 0, "tensor buffer")?;
        let name = t.str(3, "tensor name")?.unwrap_or("");
        let data =
            buffers.get(index(buffer as i64, buffers.len(), "buffer", || format!("tensor {i}"))?).copied().flatten();
        let bad_shape = || ReadError::BadShape { tensor: i, shape: raw_shape.clone() };
        let shape: Vec<usize> =
            raw_shape.iter().map(|&d| usize::try_from(d).map_err(|_| bad_shape())).collect::<Result<_, _>>()?;
        let elems = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or_else(bad_shape)?;
        let byte_size = match dtype.elem_size() {
            Some(size) => elems.checked_mul(size).filter(|&b| b <= u32::MAX as usize).ok_or_else(bad_shape)?,
            None => 0,
        };
        let is_variable = t.bool(5, "tensor is_variable")?;
        if data.is_none() && !matches!(dtype, DType::Int8 | DType::Int32 | DType::Int16) {
            return Err(ReadError::UnsupportedType { tensor: i, name: name.to_owned(), dtype });
        }
        tensors.push(Tensor {
            index: i,
            name,
            shape,
            dtype,
            buffer,
            data,
            quantization: quantization(&t)?,
            is_variable,
            byte_size,
        });
    }
    let n = tensors.len();
    let tensor_list = |field: usize, what: &'static str| -> Result<Vec<usize>, ReadError> {
        sg.vec_i32(field, what)?.into_iter().map(|v| index(v as i64, n, "tensor", || what.to_owned())).collect()
    };
    let inputs = tensor_list(1, "subgraph inputs")?;
    let outputs = tensor_list(2, "subgraph outputs")?;

    let mut operators = Vec::new();
    for (i, op) in sg.tables(3, "operators")?.into_iter().enumerate() {
        let opcode_index = op.u32(0, 0, "operator opcode index")?;
        let code = opcodes[index(opcode_index as i64, opcodes.len(), "operator code", || format!("operator {i}"))?];
        let kind = op_kind(code, op.table(4, "operator options")?, i)?;
        let inputs = op
            .vec_i32(1, "operator inputs")?
            .into_iter()
            .enumerate()
            .map(|(k, v)| {
                if v == -1 {
                    Ok(None)
                } else {
                    index(v as i64, n, "tensor", || format!("operator {i} input {k}")).map(Some)
                }
            })
            .collect::<Result<_, _>>()?;
        let outputs = op
            .vec_i32(2, "operator outputs")?
            .into_iter()
            .enumerate()
            .map(|(k, v)| index(v as i64, n, "tensor", || format!("operator {i} output {k}")))
            .collect::<Result<_, _>>()?;
        operators.push(Operator { index: i, kind, inputs, outputs });
    }

    let mut metadata = Vec::new();
    for m in root.tables(6, "metadata")? {
        let buffer = m.u32(1, 0, "metadata buffer")?;
        metadata.push(Metadata {
            name: m.str(0, "metadata name")?.unwrap_or(""),
            buffer,
            data: buffers.get(buffer as usize).copied().flatten(),
        });
    }

    let model = Model {
        bytes,
        version,
        description,
        tensors,
        operators,
        inputs,
        outputs,
        subgraph_count: subgraphs.len(),
        total_tensor_count,
        metadata,
    };
    super::check::check_model(&model, limits)?;
    Ok(model)
}
