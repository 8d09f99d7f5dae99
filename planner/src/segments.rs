//! Row-streamed fused segments in a plan: which chains of operators may run as one segment of
//! [`arenaplan_kernels::stream`], and what fusing them changes in the buffer problem.
//!
//! A request names each segment as a chain of operator indices ([`PlanRequest::segments`]), consecutive in the
//! schedule. Fusing keeps the segment's input and output whole but holds every intermediate tensor as a ring
//! of the rows its consumer's window spans ([`Ring`]); all of them, and every tensor the segment reads, stay
//! alive for the whole segment, since its rows interleave. The chain's members are the reference kernels
//! (their row loops are the ones a segment runs), and the segment's output may overlap its input by the lead
//! the kernels declare ([`arenaplan_kernels::memory::stream_lead_bytes`]).
//!
//! [`check_segments`] checks a request's chains against the graph and the schedule; [`fusable_chains`]
//! proposes the longest chains a strategy may fuse.
//!
//! [`PlanRequest::segments`]: crate::PlanRequest::segments

use arenaplan_kernels::memory::stream_lead_bytes;
use arenaplan_kernels::program::{KernelId, Operand, Slice, Step, Variant, MAX_OPERANDS, MAX_STREAM_MEMBERS};
use arenaplan_kernels::stream::{chain_fits, member_rows};

use crate::graph::{Graph, OpId, TensorId};

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

/// A chain of operators checked as one row-streamed segment.
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

/// Check one chain (`index` in the request) against `graph`, with `position[op]` each operator's place in the
/// schedule.
fn check_chain(
    graph: &Graph<'_>,
    position: &[Option<usize>],
    index: usize,
    ops: &[u32],
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
    let output_of = |op: OpId| graph.op(op).outputs.first().copied();
    let model_outputs = &graph.model().outputs;
    // Intermediate tensors: read once, by the next operator alone, as its streamed input.
    let mut rings = Vec::new();
    for j in 0..chain.len() - 1 {
        let t = output_of(chain[j]).ok_or_else(|| fail(format!("operator {} has no output", ops[j])))?;
        let next = graph.op(chain[j + 1]);
        let uses = next.inputs.iter().filter(|&&i| i == Some(t)).count();
        if graph.consumers(TensorId(t as u32)) != [chain[j + 1]] || uses != 1 || model_outputs.contains(&t) {
            return Err(fail(format!("tensor {t} is read by more than the next operator of the chain")));
        }
        rings.push(t);
    }
    let whole = |t: usize| graph.tensor(TensorId(t as u32)).byte_size as u32;
    let mut steps = Vec::with_capacity(chain.len());
    for (j, &op) in chain.iter().enumerate() {
        let step = member_step(graph, op, &whole).ok_or_else(|| {
            fail(format!(
                "operator {} ({}) is not a convolution, pooling or equal-shape ADD",
                ops[j],
                graph.op(op).kind.name()
            ))
        })?;
        if member_rows(&step).is_none() {
            return Err(fail(format!("operator {} has a shape a segment cannot stream (batch 1, 4-D)", ops[j])));
        }
        steps.push(step);
    }
    // Ring heights: the window of the consumer, at most the tensor's height.
    let rows: Vec<_> = steps.iter().map(|s| member_rows(s).expect("checked above")).collect();
    if !chain_fits(&rows) {
        return Err(fail("consecutive operators disagree on the rows of the tensor between them".into()));
    }
    let rings: Vec<Ring> = rings
        .iter()
        .enumerate()
        .map(|(j, &t)| {
            let held = rows[j + 1].span.min(rows[j].out_rows) as u32;
            Ring { tensor: TensorId(t as u32), rows: held, bytes: held as u64 * rows[j].out_row_bytes as u64 }
        })
        .collect();
    // The members at their ring lengths, for the lead and for the streamed-input check.
    let ring_len = |t: usize| rings.iter().find(|r| r.tensor.0 as usize == t).map_or(whole(t), |r| r.bytes as u32);
    let steps: Vec<Step> = chain.iter().map(|&op| member_step(graph, op, &ring_len).expect("checked above")).collect();
    let input = match steps[0].inputs[0] {
        Operand::Arena(s) => TensorId(s.offset),
        _ => return Err(fail(format!("operator {} reads no planned tensor as its input", ops[0]))),
    };
    let mut reads = vec![input];
    for step in &steps[1..] {
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
    Ok(FusedSegment { ops: chain, input, output, rings, reads, lead_bytes: stream_lead_bytes(&steps) })
}

/// Check the chains `segments` (operator indices, as a request names them) against `graph` run in `schedule`:
/// each fuses 2 to [`MAX_STREAM_MEMBERS`] operators that run one after another, each a convolution, depthwise
/// convolution, pooling or equal-shape ADD with batch 1, each reading the previous one's output, which nothing
/// else reads; no operator in two segments.
pub fn check_segments(
    graph: &Graph<'_>,
    schedule: &[OpId],
    segments: &[Vec<u32>],
) -> Result<Vec<FusedSegment>, SegmentError> {
    let mut position = vec![None; graph.op_count()];
    for (pos, op) in schedule.iter().enumerate() {
        position[op.0 as usize] = Some(pos);
    }
    let mut taken = vec![false; graph.op_count()];
    let mut checked = Vec::with_capacity(segments.len());
    for (index, ops) in segments.iter().enumerate() {
        let segment = check_chain(graph, &position, index, ops)?;
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

/// The longest chains of `graph` run in `schedule` that [`check_segments`] accepts: walking the schedule, each
/// operator extends the current chain when the pair fuses, else starts a new one; chains of one operator are
/// dropped. A strategy picks among them (fusing a whole chain or a part of it).
pub fn fusable_chains(graph: &Graph<'_>, schedule: &[OpId]) -> Vec<Vec<u32>> {
    let mut position = vec![None; graph.op_count()];
    for (pos, op) in schedule.iter().enumerate() {
        position[op.0 as usize] = Some(pos);
    }
    let mut chains: Vec<Vec<u32>> = Vec::new();
    let mut current: Vec<u32> = Vec::new();
    for op in schedule {
        let mut extended = current.clone();
        extended.push(op.0);
        let fuses = extended.len() <= MAX_STREAM_MEMBERS
            && (extended.len() < 2 || check_chain(graph, &position, 0, &extended).is_ok());
        if fuses && !current.is_empty() {
            current = extended;
        } else {
            if current.len() >= 2 {
                chains.push(std::mem::take(&mut current));
            }
            current = vec![op.0];
            // A lone operator that cannot start any chain still starts one: the next pair decides.
        }
    }
    if current.len() >= 2 {
        chains.push(current);
    }
    chains
}
