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

use arenaplan_kernels::optimized::{conv2d_s8, fully_connected_s8};
use arenaplan_kernels::program::FullyConnectedParams;

use crate::graph::{Graph, OpId, TensorId};
use crate::plan::KernelVariant;
use crate::problem::{round_up, Buffer, BufferId, BufferOrigin, BufferProblem};
use crate::request::PlanRequest;
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
        let tensor = graph.tensor(id);
        buffers.push(Buffer {
            id: BufferId(0),
            origin: BufferOrigin::Tensor(t as u32),
            name: tensor.name.to_owned(),
            size_bytes: round_up(tensor.byte_size as u64, align),
            align_bytes: align,
            live: first..last + 1,
        });
    }
    let kernels: Vec<KernelVariant> = schedule.iter().map(|&op| kernel_variant(graph, op, request.kernels)).collect();
    for (&op, &variant) in schedule.iter().zip(&kernels) {
        let step = step_of_op[op.0 as usize];
        for (k, bytes) in scratch_bytes(graph, op, variant).into_iter().enumerate().filter(|(_, b)| *b > 0) {
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
    Ok(Lowering {
        schedule: schedule.iter().map(|op| op.0).collect(),
        kernels,
        problem: BufferProblem { capacity: request.capacity_bytes, ..BufferProblem::new(buffers) },
        unwritten_tensors,
    })
}
