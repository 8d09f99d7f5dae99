//! Row-streamed fused segments in a plan: which operators may run as one segment of
//! [`arenaplan_kernels::stream`], and what fusing them changes in the buffer problem.
//!
//! A request names each segment as a list of operator indices ([`PlanRequest::segments`]), consecutive in the
//! schedule. Fusing keeps the segment's input and output whole but holds every intermediate tensor (read by
//! operators of the segment alone) as a ring of the rows its consumers' windows need ([`Ring`]); all of them,
//! and every tensor the segment reads, stay alive for the whole segment, since its rows interleave. The
//! members are the reference kernels
//! (their row loops are the ones a segment runs), and the segment's output may overlap its input by the lead
//! the kernels declare ([`arenaplan_kernels::memory::stream_lead_bytes`]).
//!
//! [`check_segments`] checks a request's segments against the graph and the schedule; [`fusable_runs`]
//! gives the runs of operators a strategy may cut into segments.
//!
//! [`PlanRequest::segments`]: crate::PlanRequest::segments

use arenaplan_kernels::memory::stream_lead_bytes;
use arenaplan_kernels::program::{
    InputRowsParams, KernelId, Operand, Slice, Step, StepParams, Variant, MAX_OPERANDS, MAX_STREAM_MEMBERS,
};
use arenaplan_kernels::stream::{member_rows, ring_rows, segment_rows};

use crate::graph::{Graph, OpId, TensorId};

/// Most operators one segment fuses (the kernels' [`MAX_STREAM_MEMBERS`]).
pub const MAX_SEGMENT_OPERATORS: usize = MAX_STREAM_MEMBERS;

/// An intermediate tensor of a segment, held as a ring of rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ring {
    /// The tensor.
    pub tensor: TensorId,
    /// Rows the ring holds (the window height of the tensor's consumer, at most the tensor's height).
    pub rows: u32,
    /// Bytes of the ring: `rows` x the tensor's row bytes.
    pub bytes: u64,
}

/// Operators checked as one row-streamed segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FusedSegment {
    /// The operators, in execution order.
    pub ops: Vec<OpId>,
    /// The tensor the first operator reads (input 0): held whole.
    pub input: TensorId,
    /// The last operator's output: held whole.
    pub output: TensorId,
    /// The output of every operator but the last, as a ring.
    pub rings: Vec<Ring>,
    /// Every planned tensor the segment reads and does not produce (its input, and a residual).
    pub reads: Vec<TensorId>,
    /// How far before its input the output may begin ([`stream_lead_bytes`]).
    pub lead_bytes: Option<u64>,
    /// The model input the segment reads row by row from the caller (then a ring, and `input` names it too).
    pub streamed_input: Option<TensorId>,
}

/// A requested segment that cannot be fused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fused segment {index} (operators {ops:?}) cannot be row-streamed: {reason}")]
pub struct SegmentError {
    /// Its position in the request.
    pub index: usize,
    /// Its operators.
    pub ops: Vec<u32>,
    /// Why, in words.
    pub reason: String,
}

/// The member step operator `op` runs as, with each planned operand at a stand-in slice (offset = tensor
/// index, length = `bytes_of(tensor)`): what the kernels' segment checks read. `None` for an operator that
/// cannot be a member.
fn member_step(graph: &Graph<'_>, op: OpId, bytes_of: &impl Fn(usize) -> u32) -> Option<Step> {
    let (kernel, params) = crate::lowering::memory_step_kind(graph, op)?;
    let member = matches!(
        kernel,
        KernelId::Conv2dS8
            | KernelId::DepthwiseConv2dS8
            | KernelId::AvgPool2dS8
            | KernelId::MaxPool2dS8
            | KernelId::AddS8
    );
    let operator = graph.op(op);
    if !member || operator.outputs.len() != 1 {
        return None;
    }
    let slice = |t: usize| Slice { offset: t as u32, len: bytes_of(t) };
    let mut inputs = [Operand::Unused; MAX_OPERANDS];
    for (k, t) in operator.inputs.iter().enumerate().take(MAX_OPERANDS) {
        if let Some(t) = t.filter(|&t| graph.is_planned(TensorId(t as u32))) {
            inputs[k] = Operand::Arena(slice(t));
        }
    }
    Some(Step {
        kernel,
        variant: Variant::Reference,
        params,
        inputs,
        output: slice(operator.outputs[0]),
        scratch: None,
    })
}

/// Check one piece (`index` in the request) against `graph`, with `position[op]` each operator's place in the
/// schedule; `stream_input`: read the model input row by row when this piece alone reads it.
fn check_chain(
    graph: &Graph<'_>,
    position: &[Option<usize>],
    index: usize,
    ops: &[u32],
    stream_input: bool,
) -> Result<FusedSegment, SegmentError> {
    let fail = |reason: String| SegmentError { index, ops: ops.to_vec(), reason };
    if !(2..=MAX_STREAM_MEMBERS).contains(&ops.len()) {
        return Err(fail(format!("a segment fuses 2 to {MAX_STREAM_MEMBERS} operators, not {}", ops.len())));
    }
    let mut chain = Vec::with_capacity(ops.len());
    for (j, &op) in ops.iter().enumerate() {
        let pos = position.get(op as usize).copied().flatten();
        let pos = pos.ok_or_else(|| fail(format!("operator {op} is not in the schedule")))?;
        if j > 0 && Some(pos) != position[ops[j - 1] as usize].map(|p| p + 1) {
            return Err(fail(format!("operator {op} does not run right after operator {}", ops[j - 1])));
        }
        chain.push(OpId(op));
    }
    let model_outputs = &graph.model().outputs;
    // Intermediate tensors: read inside the segment alone, and by some operator there.
    let mut intermediates = Vec::new();
    for j in 0..chain.len() - 1 {
        let Some(&t) = graph.op(chain[j]).outputs.first() else {
            return Err(fail(format!("operator {} has no output", ops[j])));
        };
        let consumers = graph.consumers(TensorId(t as u32));
        if consumers.is_empty() || consumers.iter().any(|c| !chain.contains(c)) || model_outputs.contains(&t) {
            return Err(fail(format!(
                "tensor {t} (output of operator {}) is read outside the segment, or never",
                ops[j]
            )));
        }
        intermediates.push(t);
    }
    let whole = |t: usize| graph.tensor(TensorId(t as u32)).byte_size as u32;
    let mut steps = Vec::with_capacity(chain.len());
    for (j, &op) in chain.iter().enumerate() {
        let step = member_step(graph, op, &whole).ok_or_else(|| {
            let kind = graph.op(op).kind.name();
            fail(format!("operator {} ({kind}) is not a convolution, pooling or equal-shape ADD", ops[j]))
        })?;
        if member_rows(&step).is_none() {
            return Err(fail(format!("operator {} has a shape a segment cannot stream (batch 1, 4-D)", ops[j])));
        }
        steps.push(step);
    }
    // The model input, read row by row by a first member, when asked and when this segment alone reads it.
    // (The reading member takes one of the segment's places.)
    let room = chain.len() < MAX_STREAM_MEMBERS;
    let streamed_input = streamable_input(graph, &chain).filter(|_| stream_input && room);
    if let Some(t) = streamed_input {
        let shape = graph.tensor(t).shape.iter().map(|&d| d as u32).collect::<Vec<_>>();
        let params = InputRowsParams { input: 0, shape: [shape[0], shape[1], shape[2], shape[3]] };
        let output = Slice { offset: t.0, len: whole(t.0 as usize) };
        let source = Step {
            kernel: KernelId::InputRowsS8,
            variant: Variant::Reference,
            params: StepParams::InputRows(params),
            inputs: [Operand::Unused; MAX_OPERANDS],
            output,
            scratch: None,
        };
        steps.insert(0, source);
        intermediates.insert(0, t.0 as usize);
    }
    let rows = segment_rows(&steps)
        .ok_or_else(|| fail("an operator disagrees on the rows of the tensor it reads from another".into()))?;
    let held = ring_rows(&rows[..steps.len()]).ok_or_else(|| fail("the rings cannot be sized".into()))?;
    let rings: Vec<Ring> = intermediates
        .iter()
        .enumerate()
        .map(|(j, &t)| Ring {
            tensor: TensorId(t as u32),
            rows: held[j] as u32,
            bytes: held[j] as u64 * rows[j].out_row_bytes as u64,
        })
        .collect();
    // The members at their ring lengths, for the lead.
    let ring_len = |t: usize| rings.iter().find(|r| r.tensor.0 as usize == t).map_or(whole(t), |r| r.bytes as u32);
    let steps: Vec<Step> = chain.iter().map(|&op| member_step(graph, op, &ring_len).expect("checked above")).collect();
    let input = match steps[0].inputs[0] {
        Operand::Arena(s) => TensorId(s.offset),
        _ => return Err(fail(format!("operator {} reads no planned tensor as its input", ops[0]))),
    };
    // A streamed input is a ring: no lead over it (the segment's output never overlaps a ring).
    let lead_bytes = if streamed_input.is_some() { None } else { stream_lead_bytes(&steps) };
    let mut reads = vec![input];
    for step in &steps {
        for operand in &step.inputs {
            if let Operand::Arena(s) = operand {
                let t = TensorId(s.offset);
                if !rings.iter().any(|r| r.tensor == t) && !reads.contains(&t) {
                    reads.push(t);
                }
            }
        }
    }
    let output = TensorId(steps[steps.len() - 1].output.offset);
    Ok(FusedSegment { ops: chain, input, output, rings, reads, lead_bytes, streamed_input })
}

/// The model's input, when the model has exactly one, 4-D with batch 1, not a model output, read by operators
/// of `chain` alone (one of them its first).
fn streamable_input(graph: &Graph<'_>, chain: &[OpId]) -> Option<TensorId> {
    let model = graph.model();
    let [t] = model.inputs.as_slice() else { return None };
    let id = TensorId(*t as u32);
    let tensor = graph.tensor(id);
    let consumers = graph.consumers(id);
    let read_inside = !consumers.is_empty() && consumers.iter().all(|c| chain.contains(c));
    let first_reads = graph.op(chain[0]).inputs.first().copied().flatten() == Some(*t);
    (tensor.shape.len() == 4 && tensor.shape[0] == 1 && read_inside && first_reads && !model.outputs.contains(t))
        .then_some(id)
}

/// Check the segments `segments` (operator indices, as a request names them) against `graph` run in
/// `schedule`: each fuses 2 to [`MAX_STREAM_MEMBERS`] operators that run one after another, each a
/// convolution, depthwise convolution, pooling or equal-shape ADD with batch 1, every output but the last read
/// inside the segment alone; no operator in two segments. With `stream_input`, the segment that alone reads
/// the model input reads it row by row ([`FusedSegment::streamed_input`]).
pub fn check_segments(
    graph: &Graph<'_>,
    schedule: &[OpId],
    segments: &[Vec<u32>],
    stream_input: bool,
) -> Result<Vec<FusedSegment>, SegmentError> {
    let mut position = vec![None; graph.op_count()];
    for (pos, op) in schedule.iter().enumerate() {
        position[op.0 as usize] = Some(pos);
    }
    let mut taken = vec![false; graph.op_count()];
    let mut checked = Vec::with_capacity(segments.len());
    for (index, ops) in segments.iter().enumerate() {
        let segment = check_chain(graph, &position, index, ops, stream_input)?;
        for op in &segment.ops {
            if std::mem::replace(&mut taken[op.0 as usize], true) {
                return Err(SegmentError {
                    index,
                    ops: ops.clone(),
                    reason: format!("operator {} is in two segments", op.0),
                });
            }
        }
        checked.push(segment);
    }
    Ok(checked)
}

/// Whether operator `op` can be a segment member (a convolution, depthwise convolution, pooling or equal-shape
/// ADD, batch 1).
fn can_stream(graph: &Graph<'_>, op: OpId) -> bool {
    let whole = |t: usize| graph.tensor(TensorId(t as u32)).byte_size as u32;
    member_step(graph, op, &whole).is_some_and(|step| member_rows(&step).is_some())
}

/// The maximal runs of `schedule` (two operators or more, one after another) whose every operator can be a
/// segment member. A strategy cuts them into segments ([`check_segments`] says which pieces are valid: an
/// intermediate tensor must be read inside its piece alone).
pub fn fusable_runs(graph: &Graph<'_>, schedule: &[OpId]) -> Vec<Vec<u32>> {
    let mut runs: Vec<Vec<u32>> = Vec::new();
    let mut current: Vec<u32> = Vec::new();
    for &op in schedule {
        if can_stream(graph, op) {
            current.push(op.0);
        } else if current.len() >= 2 {
            runs.push(std::mem::take(&mut current));
        } else {
            current.clear();
        }
    }
    if current.len() >= 2 {
        runs.push(current);
    }
    runs
}

/// Whether the operators `ops` (consecutive in `schedule`) form a valid segment.
pub fn is_valid_segment(graph: &Graph<'_>, schedule: &[OpId], ops: &[u32]) -> bool {
    let mut position = vec![None; graph.op_count()];
    for (pos, op) in schedule.iter().enumerate() {
        position[op.0 as usize] = Some(pos);
    }
    check_chain(graph, &position, 0, ops, false).is_ok()
}

/// Every run of [`fusable_runs`] cut greedily into the longest valid segments from its start (operators that
/// start no valid segment are left out): a simple choice that fuses as much as it can, for tests and as a
/// baseline of `strategies::fusion`'s cut.
pub fn greedy_segments(graph: &Graph<'_>, schedule: &[OpId]) -> Vec<Vec<u32>> {
    let mut segments = Vec::new();
    for run in fusable_runs(graph, schedule) {
        let mut start = 0;
        while start + 1 < run.len() {
            let longest = (start + 2..=run.len().min(start + MAX_STREAM_MEMBERS))
                .rev()
                .find(|&end| is_valid_segment(graph, schedule, &run[start..end]));
            match longest {
                Some(end) => {
                    segments.push(run[start..end].to_vec());
                    start = end;
                }
                None => start += 1,
            }
        }
    }
    segments
}
