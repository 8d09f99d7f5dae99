//! Lowering: a graph and a schedule become a [`BufferProblem`] (buffers with sizes and half-open lifetimes).
//!
//! Lifetimes follow TFLM's allocation scopes, converted once to half-open intervals: model inputs are alive
//! from step 0; the operator at schedule position `i` runs at step `i + 1`; a tensor is alive from its
//! producer's step to its last consumer's step, inclusive; model outputs stay alive to the last step. Scratch
//! buffers live exactly during their operator's step. Every size is rounded up to the request's alignment.
//!
//! Tensors that no operator writes and that are not model inputs (common in files cut or converted by tools)
//! are planned as TFLM plans them: TFLM gives them the scope -1 as their first use (and as their last when
//! nothing reads them either), so they share time with each other and with nothing else, and it allocates
//! them all the same. When a model has such tensors, every step is shifted by one and step 0 is that scope
//! -1 ([`Lowering::unwritten_tensors`] counts them).
//!
//! Buffers come in TFLM's insertion order (tensors by index, then scratch buffers by schedule position), which
//! the TFLM-exact greedy needs for its tie-break.

use arenaplan_kernels::memory::output_lead_bytes;
use arenaplan_kernels::optimized::{conv2d_s8, fully_connected_s8};
use arenaplan_kernels::program::{
    AddParams, BroadcastParams, FullyConnectedParams, KernelId, MulParams, Operand, Slice, Step, StepParams,
    MAX_OPERANDS,
};

use crate::graph::{Graph, OpId, TensorId};
use crate::plan::KernelVariant;
use crate::problem::{round_up, Buffer, BufferId, BufferOrigin, BufferProblem, OverlapAllowance};
use crate::request::PlanRequest;
use crate::segments::{check_segments, FusedSegment, SegmentError};
use crate::tflite::OpKind;

/// A graph that cannot be lowered with the given schedule or request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoweringError {
    /// The schedule does not run every operator once, after its inputs' producers.
    #[error("the schedule is not a valid order of the graph's {ops} operators")]
    InvalidSchedule {
        /// Number of operators in the graph.
        ops: usize,
    },
    /// The alignment is not a power of two.
    #[error("alignment {0} is not a power of two")]
    BadAlignment(u64),
    /// A fused segment of the request cannot be row-streamed.
    #[error(transparent)]
    Segment(#[from] SegmentError),
}

/// The result of lowering: what a [`Plan`](crate::Plan) is built around.
#[derive(Debug, Clone, PartialEq)]
pub struct Lowering {
    /// Operator indices in execution order.
    pub schedule: Vec<u32>,
    /// Kernel variant per scheduled operator.
    pub kernels: Vec<KernelVariant>,
    /// The buffers to place.
    pub problem: BufferProblem,
    /// Planned tensors that no operator writes and that are not model inputs: TFLM allocates them from its
    /// scope -1 (step 0 here, every other step shifted by one when there are any).
    pub unwritten_tensors: usize,
    /// The overlaps the kernels allow between an operator's output and an input it reads for the last time
    /// ([`overlap_allowances`]). Packers ignore them (a disjoint placement is always valid); the validator
    /// accepts an overlap only when it is one of them.
    pub overlap_allowances: Vec<OverlapAllowance>,
    /// The request's row-streamed fused segments, checked ([`crate::segments`]): their intermediate tensors are
    /// rings, and every tensor they touch lives through the whole segment.
    pub segments: Vec<FusedSegment>,
}

/// Scratch buffers (bytes each, in request order) TFLM's reference kernels request in the arena for an
/// operator; empty when none.
///
/// These are TFLM's needs, modelled so that the TFLM-exact baseline reproduces TFLM's arena figures. int8 MEAN
/// requests a 32-bit accumulator per output element, plus two index buffers of one 32-bit word per input
/// dimension and per reduced axis (measured: TFLM's head exceeds the tensors and the accumulators by exactly
/// two 16-byte blocks on every MEAN model of the zoo).
pub fn reference_scratch_bytes(graph: &Graph<'_>, op: OpId) -> Vec<u64> {
    let operator = graph.op(op);
    let elements = |t: Option<usize>| t.map(|t| graph.tensor(TensorId(t as u32)).elements() as u64).unwrap_or(0);
    let rank = |t: Option<usize>| t.map(|t| graph.tensor(TensorId(t as u32)).shape.len() as u64).unwrap_or(0);
    match operator.kind {
        OpKind::Mean(_) => {
            let input = operator.inputs.first().copied().flatten();
            let axes = operator.inputs.get(1).copied().flatten();
            vec![elements(operator.outputs.first().copied()) * 4, rank(input) * 4, elements(axes).max(1) * 4]
        }
        // TFLM's int8 TRANSPOSE_CONV accumulates the whole output in 32 bits first (measured: its head exceeds
        // the tensors by exactly four bytes per output element).
        OpKind::TransposeConv(_) => vec![elements(operator.outputs.first().copied()) * 4],
        _ => Vec::new(),
    }
}

/// The kernel variant operator `op` runs with when the request asks for `wanted`: the optimized set covers
/// the operators that carry the MACs (convolutions, depthwise convolutions, fully connected); every other
/// operator keeps its reference kernel.
pub fn kernel_variant(graph: &Graph<'_>, op: OpId, wanted: KernelVariant) -> KernelVariant {
    let has_optimized =
        matches!(graph.op(op).kind, OpKind::Conv2d(_) | OpKind::DepthwiseConv2d(_) | OpKind::FullyConnected(_));
    match wanted {
        KernelVariant::Optimized if has_optimized => KernelVariant::Optimized,
        _ => KernelVariant::Reference,
    }
}

/// Scratch buffers (bytes each) operator `op` needs in the arena with kernel `variant`: TFLM's needs for the
/// reference kernels ([`reference_scratch_bytes`]), the optimized kernels' own scratch functions otherwise.
pub fn scratch_bytes(graph: &Graph<'_>, op: OpId, variant: KernelVariant) -> Vec<u64> {
    match variant {
        KernelVariant::Reference => reference_scratch_bytes(graph, op),
        KernelVariant::Optimized => {
            let kind = graph.op(op).kind;
            let bytes = match kind {
                OpKind::Conv2d(_) | OpKind::DepthwiseConv2d(_) => crate::program::conv_params(graph, op)
                    .map(|p| conv2d_s8::conv2d_s8_scratch_bytes(&p, matches!(kind, OpKind::DepthwiseConv2d(_))))
                    .unwrap_or(0),
                OpKind::FullyConnected(_) => {
                    // The scratch depends on the input depth alone: the weights' last dimension.
                    let weights = graph.op(op).inputs.get(1).copied().flatten();
                    let depth =
                        weights.and_then(|t| graph.tensor(TensorId(t as u32)).shape.last().copied()).unwrap_or(0);
                    let params = FullyConnectedParams { depth: depth as u32, ..Default::default() };
                    fully_connected_s8::fully_connected_s8_scratch_bytes(&params)
                }
                _ => 0,
            };
            vec![bytes as u64]
        }
    }
}

/// Lower `graph` with `schedule` and the kernel set of `request` into a buffer problem.
pub fn lower(graph: &Graph<'_>, schedule: &[OpId], request: &PlanRequest) -> Result<Lowering, LoweringError> {
    lower_with(graph, schedule, request, true)
}

/// [`lower`] without the overlap allowances of single operators (their derivation walks every output element
/// of every convolution): the same problem and segments, with only the fused segments' allowances. For
/// strategies that compare many candidate requests cheaply; a plan is always checked against [`lower`].
pub fn lower_for_estimates(
    graph: &Graph<'_>,
    schedule: &[OpId],
    request: &PlanRequest,
) -> Result<Lowering, LoweringError> {
    lower_with(graph, schedule, request, false)
}

fn lower_with(
    graph: &Graph<'_>,
    schedule: &[OpId],
    request: &PlanRequest,
    operator_allowances: bool,
) -> Result<Lowering, LoweringError> {
    if !graph.is_valid_schedule(schedule) {
        return Err(LoweringError::InvalidSchedule { ops: graph.op_count() });
    }
    let align = request.alignment_bytes.max(1);
    if !align.is_power_of_two() {
        return Err(LoweringError::BadAlignment(request.alignment_bytes));
    }
    let model = graph.model();
    let mut is_input = vec![false; graph.tensor_count()];
    for &t in &model.inputs {
        if let Some(slot) = is_input.get_mut(t) {
            *slot = true;
        }
    }
    let unwritten = |t: usize| {
        let id = TensorId(t as u32);
        graph.is_planned(id) && graph.producer(id).is_none() && !is_input[t]
    };
    let unwritten_tensors = (0..graph.tensor_count()).filter(|&t| unwritten(t)).count();
    // TFLM's scope -1 becomes step 0 when some tensor lives there; every other step moves up by one.
    let shift = u32::from(unwritten_tensors > 0);
    let n_ops = schedule.len() as u32 + shift;
    let mut step_of_op = vec![0u32; graph.op_count()];
    for (pos, op) in schedule.iter().enumerate() {
        step_of_op[op.0 as usize] = pos as u32 + 1 + shift;
    }
    let segments = check_segments(graph, schedule, &request.segments, request.stream_input)?;
    // Fusing: rings replace intermediate tensors; what a segment touches lives through all of it.
    let mut ring_bytes = vec![None; graph.tensor_count()];
    let mut live_from = vec![u32::MAX; graph.tensor_count()];
    let mut live_to = vec![0u32; graph.tensor_count()];
    for segment in &segments {
        let first = step_of_op[segment.ops[0].0 as usize];
        let last = step_of_op[segment.ops[segment.ops.len() - 1].0 as usize];
        for ring in &segment.rings {
            ring_bytes[ring.tensor.0 as usize] = Some(ring.bytes);
        }
        let touched = segment.rings.iter().map(|r| r.tensor).chain(segment.reads.iter().copied());
        for t in touched.chain([segment.output]) {
            live_to[t.0 as usize] = live_to[t.0 as usize].max(last);
        }
        for t in segment.rings.iter().map(|r| r.tensor).chain([segment.output]) {
            live_from[t.0 as usize] = live_from[t.0 as usize].min(first);
        }
    }
    let mut buffers = Vec::new();
    for t in 0..graph.tensor_count() {
        let id = TensorId(t as u32);
        if !graph.is_planned(id) {
            continue;
        }
        let first = match graph.producer(id) {
            Some(op) => step_of_op[op.0 as usize],
            None if model.inputs.contains(&t) => shift,
            // Neither produced nor a model input: TFLM's scope -1 (see the module documentation).
            None => 0,
        };
        let mut last = graph.consumers(id).iter().map(|op| step_of_op[op.0 as usize]).max().unwrap_or(first).max(first);
        if model.outputs.contains(&t) {
            last = n_ops;
        }
        let (first, last) = (first.min(live_from[t]), last.max(live_to[t]));
        let tensor = graph.tensor(id);
        let (name, bytes) = match ring_bytes[t] {
            Some(bytes) => (format!("{} (ring)", tensor.name), bytes),
            None => (tensor.name.to_owned(), tensor.byte_size as u64),
        };
        buffers.push(Buffer {
            id: BufferId(0),
            origin: BufferOrigin::Tensor(t as u32),
            name,
            size_bytes: round_up(bytes, align),
            align_bytes: align,
            live: first..last + 1,
        });
    }
    // Segment members run the reference kernels (their row loops are what a segment runs).
    let fused = |op: OpId| segments.iter().any(|s| s.ops.contains(&op));
    let kernels: Vec<KernelVariant> =
        schedule
            .iter()
            .map(|&op| {
                if fused(op) {
                    KernelVariant::Reference
                } else {
                    kernel_variant(graph, op, request.kernels_for(op.0))
                }
            })
            .collect();
    for (&op, &variant) in schedule.iter().zip(&kernels) {
        let step = step_of_op[op.0 as usize];
        // TFLM's scratch needs are reserved for the reference kernels so that a plan TFLM could run has TFLM's
        // arena; a plan with fused segments runs on this crate's interpreter alone, whose reference kernels use
        // no arena scratch, so it reserves none for them.
        let needs = match variant {
            KernelVariant::Reference if !segments.is_empty() => Vec::new(),
            _ => scratch_bytes(graph, op, variant),
        };
        for (k, bytes) in needs.into_iter().enumerate().filter(|(_, b)| *b > 0) {
            buffers.push(Buffer {
                id: BufferId(0),
                origin: BufferOrigin::Scratch(op.0),
                name: format!("op{}_scratch{k}", op.0),
                size_bytes: round_up(bytes, align),
                align_bytes: align,
                live: step..step + 1,
            });
        }
    }
    let problem = BufferProblem { capacity: request.capacity_bytes, ..BufferProblem::new(buffers) };
    let mut overlap_allowances = if operator_allowances {
        overlap_allowances(graph, schedule, &kernels, &problem, &step_of_op, &segments)
    } else {
        Vec::new()
    };
    overlap_allowances.extend(segment_allowances(graph, &problem, &segments, &step_of_op));
    Ok(Lowering {
        schedule: schedule.iter().map(|op| op.0).collect(),
        kernels,
        problem,
        unwritten_tensors,
        overlap_allowances,
        segments,
    })
}

/// A tensor's shape as 4-D (leading 1s), or `None` above 4 dimensions.
fn shape4(graph: &Graph<'_>, t: usize) -> Option<[u32; 4]> {
    let s = &graph.tensor(TensorId(t as u32)).shape;
    let mut out = [1u32; 4];
    let rank = s.len();
    if rank > 4 {
        return None;
    }
    out[4 - rank..].iter_mut().zip(s).for_each(|(o, &d)| *o = d as u32);
    Some(out)
}

/// The kernel and the geometry parameters operator `op` runs with, for the kernels with a declared memory
/// behaviour (`arenaplan_kernels::memory`); `None` for every other operator. Only what the declaration reads
/// is filled in: the kernel, the shapes and the window geometry.
pub(crate) fn memory_step_kind(graph: &Graph<'_>, op: OpId) -> Option<(KernelId, StepParams)> {
    let operator = graph.op(op);
    let input = |k: usize| operator.inputs.get(k).copied().flatten();
    let output = *operator.outputs.first()?;
    let binary = || Some([shape4(graph, input(0)?)?, shape4(graph, input(1)?)?, shape4(graph, output)?]);
    Some(match operator.kind {
        OpKind::Conv2d(_) => (KernelId::Conv2dS8, StepParams::Conv(crate::program::conv_params(graph, op).ok()?)),
        OpKind::DepthwiseConv2d(_) => {
            (KernelId::DepthwiseConv2dS8, StepParams::Conv(crate::program::conv_params(graph, op).ok()?))
        }
        OpKind::AveragePool2d(o) | OpKind::MaxPool2d(o) => {
            let (i, out) = (shape4(graph, input(0)?)?, shape4(graph, output)?);
            let kernel = if matches!(operator.kind, OpKind::AveragePool2d(_)) {
                KernelId::AvgPool2dS8
            } else {
                KernelId::MaxPool2dS8
            };
            (kernel, StepParams::Pool(crate::program::pool_params(o, i, out, (-128, 127))))
        }
        OpKind::Reshape | OpKind::Squeeze | OpKind::ExpandDims => (KernelId::CopyS8, StepParams::NoParams),
        OpKind::Relu => (KernelId::ReluS8, StepParams::NoParams),
        OpKind::Relu6 => (KernelId::Relu6S8, StepParams::NoParams),
        OpKind::LeakyRelu { .. } => (KernelId::LeakyReluS8, StepParams::NoParams),
        OpKind::HardSwish => (KernelId::HardSwishS8, StepParams::NoParams),
        OpKind::Logistic => (KernelId::LogisticS8, StepParams::NoParams),
        OpKind::Tanh => (KernelId::TanhS8, StepParams::NoParams),
        OpKind::Quantize => (KernelId::QuantizeS8, StepParams::NoParams),
        OpKind::Add { .. } | OpKind::Sub { .. } => {
            let [input1, input2, output] = binary()?;
            let kernel = if matches!(operator.kind, OpKind::Add { .. }) { KernelId::AddS8 } else { KernelId::SubS8 };
            (kernel, StepParams::Add(AddParams { input1, input2, output, ..Default::default() }))
        }
        OpKind::Mul { .. } => {
            let [input1, input2, output] = binary()?;
            (KernelId::MulS8, StepParams::Mul(MulParams { input1, input2, output, ..Default::default() }))
        }
        OpKind::Maximum | OpKind::Minimum => {
            let [input1, input2, output] = binary()?;
            let kernel =
                if matches!(operator.kind, OpKind::Maximum) { KernelId::MaximumS8 } else { KernelId::MinimumS8 };
            (kernel, StepParams::Broadcast(BroadcastParams { input1, input2, output }))
        }
        _ => return None,
    })
}

/// The overlaps the kernels allow in `problem` (lowered with `schedule`, `kernels` and `step_of_op`): for each
/// operator with one planned output, each planned input whose last use is that operator's step (not a model
/// output, not the output itself) gets an [`OverlapAllowance`] with the lead its kernel declares
/// (`arenaplan_kernels::memory::output_lead_bytes`), if it declares one for that input and kernel variant.
pub fn overlap_allowances(
    graph: &Graph<'_>,
    schedule: &[OpId],
    kernels: &[KernelVariant],
    problem: &BufferProblem,
    step_of_op: &[u32],
    segments: &[FusedSegment],
) -> Vec<OverlapAllowance> {
    let mut buffer_of = vec![None; graph.tensor_count()];
    for b in &problem.buffers {
        if let BufferOrigin::Tensor(t) = b.origin {
            buffer_of[t as usize] = Some(b.id);
        }
    }
    let model_outputs = &graph.model().outputs;
    let mut allowances = Vec::new();
    for (&op, &variant) in schedule.iter().zip(kernels) {
        // A segment member is no step of its own: the segment's allowance covers it.
        if segments.iter().any(|s| s.ops.contains(&op)) {
            continue;
        }
        let operator = graph.op(op);
        let step = step_of_op[op.0 as usize];
        let ([out_t], Some((kernel, params))) = (operator.outputs.as_slice(), memory_step_kind(graph, op)) else {
            continue;
        };
        let Some(output) = buffer_of[*out_t] else { continue };
        let byte_size = |t: usize| graph.tensor(TensorId(t as u32)).byte_size as u32;
        let mut inputs = [Operand::Unused; MAX_OPERANDS];
        for (k, t) in operator.inputs.iter().enumerate().take(MAX_OPERANDS) {
            if let Some(t) = t.filter(|&t| buffer_of[t].is_some()) {
                inputs[k] = Operand::Arena(Slice { offset: 0, len: byte_size(t) });
            }
        }
        let kernel_step = Step {
            kernel,
            variant: variant.to_kernels(),
            params,
            inputs,
            output: Slice { offset: 0, len: byte_size(*out_t) },
            scratch: None,
        };
        for (k, t) in operator.inputs.iter().enumerate().take(MAX_OPERANDS) {
            let Some(t) = *t else { continue };
            let Some(input) = buffer_of[t] else { continue };
            let last_use_here = problem.buffers[input.0 as usize].live.end == step + 1;
            if input == output || !last_use_here || model_outputs.contains(&t) {
                continue;
            }
            if let Some(lead_bytes) = output_lead_bytes(&kernel_step, k) {
                allowances.push(OverlapAllowance { input, output, lead_bytes, shared_steps: 1 });
            }
        }
    }
    allowances
}

/// The overlaps fused segments allow: a segment's output over its input, by the lead the kernels declare, when
/// the input is read for the last time in the segment and is not a model output.
fn segment_allowances(
    graph: &Graph<'_>,
    problem: &BufferProblem,
    segments: &[FusedSegment],
    step_of_op: &[u32],
) -> Vec<OverlapAllowance> {
    let buffer_of = |t: TensorId| problem.buffers.iter().find(|b| b.origin == BufferOrigin::Tensor(t.0)).map(|b| b.id);
    let mut allowances = Vec::new();
    for segment in segments {
        let (Some(lead_bytes), Some(input), Some(output)) =
            (segment.lead_bytes, buffer_of(segment.input), buffer_of(segment.output))
        else {
            continue;
        };
        let last = step_of_op[segment.ops[segment.ops.len() - 1].0 as usize];
        let last_use_here = problem.buffers[input.0 as usize].live.end == last + 1;
        if input != output && last_use_here && !graph.model().outputs.contains(&(segment.input.0 as usize)) {
            let first = step_of_op[segment.ops[0].0 as usize];
            allowances.push(OverlapAllowance { input, output, lead_bytes, shared_steps: last + 1 - first });
        }
    }
    allowances
}
