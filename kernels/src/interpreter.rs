//! Runs a [`Program`] in one caller-provided arena, with no allocation.

use core::ops::Range;

use crate::program::{KernelId, Operand, Program, Slice, Step, StepParams, Variant, MAX_OPERANDS};
use crate::reference::access::ArenaCells;
use crate::reference::aliased::{self, OperandBytes};
use crate::reference::{
    activation_s8, binary_s8, conv2d_s8, elementwise_s8, fully_connected_s8, hard_swish_s8, logistic_s8, pool2d_s8,
    reduce_s8, resize_s8, slice_s8, softmax_s8, tanh_s8, transpose_conv2d_s8, transpose_s8,
};
use crate::{memory, optimized, stream, KernelError};

/// The bytes of `operand` (an arena operand reads `arena`), or [`KernelError::OutOfRange`] naming `step`.
pub(crate) fn blob<'a>(
    program: &Program<'a>,
    arena: &'a [u8],
    operand: Operand,
    step: usize,
) -> Result<&'a [u8], KernelError> {
    let (bytes, slice) = match operand {
        Operand::Unused => return Ok(&[]),
        Operand::Arena(s) => (arena, s),
        Operand::Model(s) => (program.model, s),
        Operand::Precomputed(s) => (program.precomputed, s),
    };
    slice.range().and_then(|r| bytes.get(r)).ok_or(KernelError::OutOfRange { step })
}

/// The parameters of a step as the layout `$variant` of [`StepParams`], or `$otherwise` (evaluated) when the
/// step carries another layout.
macro_rules! params {
    ($step:expr, $variant:ident, $otherwise:expr) => {{
        let StepParams::$variant(p) = &$step.params else { return $otherwise };
        p
    }};
}

/// Scratch bytes a step's kernel needs: matches on the same [`KernelId`] as the dispatch in [`run`], so sizing
/// and execution cannot drift apart. A step whose parameters do not fit its kernel needs none (it is refused
/// when it runs).
pub fn scratch_bytes(step: &Step) -> usize {
    if step.variant == Variant::Optimized {
        match step.kernel {
            KernelId::Conv2dS8 => return optimized::conv2d_s8::conv2d_s8_scratch_bytes(params!(step, Conv, 0), false),
            KernelId::DepthwiseConv2dS8 => {
                return optimized::conv2d_s8::conv2d_s8_scratch_bytes(params!(step, Conv, 0), true)
            }
            KernelId::FullyConnectedS8 => {
                return optimized::fully_connected_s8::fully_connected_s8_scratch_bytes(params!(
                    step,
                    FullyConnected,
                    0
                ))
            }
            // No optimized version: the reference kernel runs, with its own scratch need.
            KernelId::AddS8
            | KernelId::AvgPool2dS8
            | KernelId::MaxPool2dS8
            | KernelId::CopyS8
            | KernelId::MeanS8
            | KernelId::SoftmaxS8
            | KernelId::MulS8
            | KernelId::PadS8
            | KernelId::ConcatS8
            | KernelId::HardSwishS8
            | KernelId::LogisticS8
            | KernelId::QuantizeS8
            | KernelId::TransposeS8
            | KernelId::ReluS8
            | KernelId::Relu6S8
            | KernelId::LeakyReluS8
            | KernelId::TanhS8
            | KernelId::SubS8
            | KernelId::MaximumS8
            | KernelId::MinimumS8
            | KernelId::StridedSliceS8
            | KernelId::ResizeNearestNeighborS8
            | KernelId::ResizeBilinearS8
            | KernelId::PreluS8
            | KernelId::TransposeConv2dS8
            | KernelId::RowStreamS8
            | KernelId::InputRowsS8 => {}
        }
    }
    match step.kernel {
        KernelId::Conv2dS8 | KernelId::DepthwiseConv2dS8 => conv2d_s8::conv2d_s8_scratch_bytes(params!(step, Conv, 0)),
        KernelId::FullyConnectedS8 => {
            fully_connected_s8::fully_connected_s8_scratch_bytes(params!(step, FullyConnected, 0))
        }
        KernelId::AddS8 => elementwise_s8::add_s8_scratch_bytes(params!(step, Add, 0)),
        KernelId::SubS8 => binary_s8::sub_s8_scratch_bytes(params!(step, Add, 0)),
        KernelId::MulS8 => elementwise_s8::mul_s8_scratch_bytes(params!(step, Mul, 0)),
        KernelId::AvgPool2dS8 | KernelId::MaxPool2dS8 => pool2d_s8::pool2d_s8_scratch_bytes(params!(step, Pool, 0)),
        KernelId::MeanS8 => reduce_s8::mean_s8_scratch_bytes(params!(step, Mean, 0)),
        KernelId::SoftmaxS8 => softmax_s8::softmax_s8_scratch_bytes(params!(step, Softmax, 0)),
        KernelId::HardSwishS8 => hard_swish_s8::hard_swish_s8_scratch_bytes(params!(step, HardSwish, 0)),
        KernelId::LogisticS8 => logistic_s8::logistic_s8_scratch_bytes(params!(step, Logistic, 0)),
        KernelId::QuantizeS8 => elementwise_s8::quantize_s8_scratch_bytes(params!(step, Quantize, 0)),
        KernelId::TransposeS8 => transpose_s8::transpose_s8_scratch_bytes(params!(step, Transpose, 0)),
        KernelId::ReluS8 => activation_s8::relu_s8_scratch_bytes(params!(step, Relu, 0)),
        KernelId::Relu6S8 => activation_s8::relu6_s8_scratch_bytes(params!(step, Clamp, 0)),
        KernelId::LeakyReluS8 => activation_s8::leaky_relu_s8_scratch_bytes(params!(step, LeakyRelu, 0)),
        KernelId::TanhS8 => tanh_s8::tanh_s8_scratch_bytes(params!(step, Tanh, 0)),
        KernelId::MaximumS8 | KernelId::MinimumS8 => {
            binary_s8::maximum_minimum_s8_scratch_bytes(params!(step, Broadcast, 0))
        }
        KernelId::StridedSliceS8 => slice_s8::strided_slice_s8_scratch_bytes(params!(step, StridedSlice, 0)),
        KernelId::ResizeNearestNeighborS8 => {
            resize_s8::resize_nearest_neighbor_s8_scratch_bytes(params!(step, Resize, 0))
        }
        KernelId::ResizeBilinearS8 => resize_s8::resize_bilinear_s8_scratch_bytes(params!(step, Resize, 0)),
        KernelId::PreluS8 => binary_s8::prelu_s8_scratch_bytes(params!(step, Prelu, 0)),
        KernelId::TransposeConv2dS8 => transpose_conv2d_s8::transpose_conv2d_s8_scratch_bytes(params!(step, Conv, 0)),
        // Copies and layout-only kernels need no scratch; a segment header computes nothing (its rings are its
        // members' outputs).
        KernelId::CopyS8 | KernelId::PadS8 | KernelId::ConcatS8 | KernelId::RowStreamS8 | KernelId::InputRowsS8 => 0,
    }
}

/// Check the arena and every step's ranges before anything runs.
fn check(program: &Program<'_>, arena_len: usize) -> Result<(), KernelError> {
    if arena_len < program.arena_bytes as usize {
        return Err(KernelError::ArenaTooSmall { needed: program.arena_bytes, given: arena_len });
    }
    let in_arena = |s: &Slice| s.range().is_some_and(|r| r.end <= program.arena_bytes as usize);
    for (i, step) in program.steps.iter().enumerate() {
        let operands_ok = step.inputs.iter().all(|op| match op {
            Operand::Unused => true,
            Operand::Arena(s) => in_arena(s),
            Operand::Model(s) => s.range().is_some_and(|r| r.end <= program.model.len()),
            Operand::Precomputed(s) => s.range().is_some_and(|r| r.end <= program.precomputed.len()),
        });
        let scratch_ok = step.scratch.map_or(0, |s| s.len as usize) >= scratch_bytes(step);
        if !operands_ok || !scratch_ok || !in_arena(&step.output) || !step.scratch.iter().all(in_arena) {
            return Err(KernelError::OutOfRange { step: i });
        }
    }
    if !program.inputs.iter().chain(program.outputs).all(in_arena) {
        return Err(KernelError::OutOfRange { step: program.steps.len() });
    }
    Ok(())
}

/// Sees each step of a run: firmware puts markers here to count instructions per step, a host profiler takes
/// the time. Both methods default to doing nothing.
pub trait StepObserver {
    /// Called just before step `index` runs.
    fn before_step(&mut self, _index: usize) {}
    /// Called just after step `index` ran.
    fn after_step(&mut self, _index: usize) {}
}

/// The observer of [`run`]: sees nothing.
struct Unobserved;

impl StepObserver for Unobserved {}

/// The arena split around the step's output and scratch (both writable): every arena input must lie wholly in
/// one of the three read-only pieces, so no input can alias what the kernel writes.
struct SplitArena<'a> {
    output: &'a mut [u8],
    scratch: &'a mut [u8],
    /// `(start, bytes)` of the read-only pieces, in address order.
    pieces: [(usize, &'a [u8]); 3],
}

impl<'a> SplitArena<'a> {
    fn new(
        arena: &'a mut [u8],
        out: Range<usize>,
        scratch: Option<Range<usize>>,
        step: usize,
    ) -> Result<Self, KernelError> {
        let overlap = KernelError::Overlap { step };
        let scratch = scratch.filter(|r| !r.is_empty()).unwrap_or(out.end..out.end);
        if scratch.start < out.end && out.start < scratch.end {
            return Err(overlap);
        }
        let scratch_first = scratch.end <= out.start && !scratch.is_empty();
        let (first, second) =
            if scratch_first { (scratch.clone(), out.clone()) } else { (out.clone(), scratch.clone()) };
        let (p0, rest) = arena.split_at_mut(first.start);
        let (m0, rest) = rest.split_at_mut(first.len());
        let (p1, rest) = rest.split_at_mut(second.start - first.end);
        let (m1, p2) = rest.split_at_mut(second.len());
        let (output, scratch_bytes) = if scratch_first { (m1, m0) } else { (m0, m1) };
        Ok(SplitArena { output, scratch: scratch_bytes, pieces: [(0, p0), (first.end, p1), (second.end, p2)] })
    }

    fn input(&self, r: Range<usize>, step: usize) -> Result<&'a [u8], KernelError> {
        for &(start, bytes) in &self.pieces {
            if r.start >= start && r.end <= start + bytes.len() {
                return Ok(&bytes[r.start - start..r.end - start]);
            }
        }
        Err(KernelError::Overlap { step })
    }
}

/// Whether two byte ranges share a byte.
fn ranges_overlap(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end && !a.is_empty() && !b.is_empty()
}

/// Run a step whose output overlaps some of its arena inputs: each such overlap must be one the kernel
/// declares ([`memory::output_lead_bytes`]: the output begins at least the declared lead before that input),
/// and the step must have no scratch; then the kernel runs over the arena seen as cells
/// ([`aliased::run_aliased`]). Any other overlap is refused with [`KernelError::Overlap`].
fn run_step_aliased(
    program: &Program<'_>,
    arena: &mut [u8],
    index: usize,
    step: &Step,
    out: Range<usize>,
) -> Result<(), KernelError> {
    let refused = KernelError::Overlap { step: index };
    if step.scratch.is_some_and(|s| s.len > 0) {
        return Err(refused);
    }
    for (k, operand) in step.inputs.iter().enumerate() {
        let Operand::Arena(s) = operand else { continue };
        let input = s.range().ok_or(KernelError::OutOfRange { step: index })?;
        if !ranges_overlap(&input, &out) {
            continue;
        }
        let lead = memory::output_lead_bytes(step, k).ok_or(refused)?;
        if (out.start as u64).saturating_add(lead) > input.start as u64 {
            return Err(refused);
        }
    }
    let cells = ArenaCells::new(arena);
    let mut operands = [OperandBytes::Blob(&[]); MAX_OPERANDS];
    for (k, operand) in step.inputs.iter().enumerate() {
        operands[k] = match *operand {
            Operand::Arena(s) => OperandBytes::Arena(
                s.range().and_then(|r| cells.window(r)).ok_or(KernelError::OutOfRange { step: index })?,
            ),
            other => OperandBytes::Blob(blob(program, &[], other, index)?),
        };
    }
    let output = cells.window(out).ok_or(KernelError::OutOfRange { step: index })?;
    aliased::run_aliased(step, index, &operands, output)
}

/// Run one step: its output (and scratch) ranges are split off the arena, every arena input must lie wholly
/// outside them; a step whose output overlaps an input runs aliased ([`run_step_aliased`]) when its kernel
/// declares that overlap safe.
fn run_step(program: &Program<'_>, arena: &mut [u8], index: usize, step: &Step) -> Result<(), KernelError> {
    let out = step.output.range().ok_or(KernelError::OutOfRange { step: index })?;
    let overlaps_an_input = step.inputs.iter().any(|operand| match operand {
        Operand::Arena(s) => s.range().is_some_and(|r| ranges_overlap(&r, &out)),
        _ => false,
    });
    if overlaps_an_input {
        return run_step_aliased(program, arena, index, step, out);
    }
    let scratch = match step.scratch {
        Some(s) => Some(s.range().ok_or(KernelError::OutOfRange { step: index })?),
        None => None,
    };
    let split = SplitArena::new(arena, out, scratch, index)?;
    let mut operands: [&[u8]; MAX_OPERANDS] = [&[]; MAX_OPERANDS];
    for (k, operand) in step.inputs.iter().enumerate() {
        operands[k] = match *operand {
            Operand::Arena(s) => split.input(s.range().ok_or(KernelError::OutOfRange { step: index })?, index)?,
            other => blob(program, &[], other, index)?,
        };
    }
    let SplitArena { output, scratch, .. } = split;
    match step.variant {
        Variant::Optimized => run_optimized(step, index, &operands, scratch, output),
        Variant::Reference => run_reference(step, index, &operands, output),
    }
}

/// Dispatch to the reference kernels: one arm per [`KernelId`], each taking the parameter layout its kernel
/// needs (another layout is a [`KernelError::BadOperand`]).
fn run_reference(
    step: &Step,
    index: usize,
    operands: &[&[u8]; MAX_OPERANDS],
    output: &mut [u8],
) -> Result<(), KernelError> {
    let [a, b, c, d, e] = *operands;
    let bad = Err(KernelError::BadOperand { step: index });
    match step.kernel {
        KernelId::Conv2dS8 => conv2d_s8::conv2d_s8(params!(step, Conv, bad), false, a, b, c, d, e, output),
        KernelId::DepthwiseConv2dS8 => conv2d_s8::conv2d_s8(params!(step, Conv, bad), true, a, b, c, d, e, output),
        KernelId::FullyConnectedS8 => {
            fully_connected_s8::fully_connected_s8(params!(step, FullyConnected, bad), a, b, c, d, e, output)
        }
        KernelId::AddS8 => elementwise_s8::add_s8(params!(step, Add, bad), a, b, output),
        KernelId::SubS8 => binary_s8::sub_s8(params!(step, Add, bad), a, b, output),
        KernelId::AvgPool2dS8 => pool2d_s8::pool2d_s8(params!(step, Pool, bad), true, a, output),
        KernelId::MaxPool2dS8 => pool2d_s8::pool2d_s8(params!(step, Pool, bad), false, a, output),
        KernelId::CopyS8 => elementwise_s8::copy_s8(a, output),
        KernelId::MeanS8 => reduce_s8::mean_s8(params!(step, Mean, bad), a, output),
        KernelId::SoftmaxS8 => softmax_s8::softmax_s8(params!(step, Softmax, bad), a, output),
        KernelId::MulS8 => elementwise_s8::mul_s8(params!(step, Mul, bad), a, b, output),
        KernelId::PadS8 => elementwise_s8::pad_s8(params!(step, Pad, bad), a, output),
        KernelId::HardSwishS8 => hard_swish_s8::hard_swish_s8(params!(step, HardSwish, bad), a, output),
        KernelId::LogisticS8 => logistic_s8::logistic_s8(params!(step, Logistic, bad), a, output),
        KernelId::QuantizeS8 => elementwise_s8::quantize_s8(params!(step, Quantize, bad), a, output),
        KernelId::ConcatS8 => elementwise_s8::concat_s8(params!(step, Concat, bad), &[a, b, c, d], output),
        KernelId::TransposeS8 => transpose_s8::transpose_s8(params!(step, Transpose, bad), a, output),
        KernelId::ReluS8 => activation_s8::relu_s8(params!(step, Relu, bad), a, output),
        KernelId::Relu6S8 => activation_s8::relu6_s8(params!(step, Clamp, bad), a, output),
        KernelId::LeakyReluS8 => activation_s8::leaky_relu_s8(params!(step, LeakyRelu, bad), a, output),
        KernelId::TanhS8 => tanh_s8::tanh_s8(params!(step, Tanh, bad), a, output),
        KernelId::MaximumS8 => binary_s8::maximum_s8(params!(step, Broadcast, bad), a, b, output),
        KernelId::MinimumS8 => binary_s8::minimum_s8(params!(step, Broadcast, bad), a, b, output),
        KernelId::StridedSliceS8 => slice_s8::strided_slice_s8(params!(step, StridedSlice, bad), a, output),
        KernelId::ResizeNearestNeighborS8 => {
            resize_s8::resize_nearest_neighbor_s8(params!(step, Resize, bad), a, b, c, output)
        }
        KernelId::ResizeBilinearS8 => resize_s8::resize_bilinear_s8(params!(step, Resize, bad), a, b, c, output),
        KernelId::PreluS8 => binary_s8::prelu_s8(params!(step, Prelu, bad), a, b, output),
        KernelId::TransposeConv2dS8 => {
            transpose_conv2d_s8::transpose_conv2d_s8(params!(step, Conv, bad), a, b, c, d, e, output)
        }
        // A segment header runs through `stream::run_segment`, never as a step of its own.
        KernelId::RowStreamS8 | KernelId::InputRowsS8 => bad,
    }
}

/// Dispatch to the optimized kernels; kernels without an optimized version run the reference.
fn run_optimized(
    step: &Step,
    index: usize,
    operands: &[&[u8]; MAX_OPERANDS],
    scratch: &mut [u8],
    output: &mut [u8],
) -> Result<(), KernelError> {
    let [a, b, c, d, e] = *operands;
    match (step.kernel, &step.params) {
        (KernelId::Conv2dS8, StepParams::Conv(p)) => {
            optimized::conv2d_s8::conv2d_s8(p, false, a, b, c, d, e, scratch, output)
        }
        (KernelId::DepthwiseConv2dS8, StepParams::Conv(p)) => {
            optimized::conv2d_s8::conv2d_s8(p, true, a, b, c, d, e, scratch, output)
        }
        (KernelId::FullyConnectedS8, StepParams::FullyConnected(p)) => {
            optimized::fully_connected_s8::fully_connected_s8(p, a, b, c, d, e, scratch, output)
        }
        _ => run_reference(step, index, operands, output),
    }
}

/// Run every step of `program` in `arena` (at least `program.arena_bytes` long). The model inputs must be in
/// place (see [`input_mut`]); the outputs are then read with [`output`]. A program that reads an input row by
/// row ([`input_is_streamed`]) needs [`run_streaming`].
pub fn run(program: &Program<'_>, arena: &mut [u8]) -> Result<(), KernelError> {
    run_observed(program, arena, &mut Unobserved)
}

/// [`run`], telling `observer` before and after each step.
pub fn run_observed(
    program: &Program<'_>,
    arena: &mut [u8],
    observer: &mut impl StepObserver,
) -> Result<(), KernelError> {
    run_with(program, arena, observer, &mut NoRows)
}

/// The indices of the steps a run's [`StepObserver`] sees, in order: every step but the members of a fused
/// segment, which run inside their header's step.
pub fn observed_steps(steps: &[Step]) -> impl Iterator<Item = usize> + '_ {
    let mut i = 0;
    core::iter::from_fn(move || {
        let step = steps.get(i)?;
        let at = i;
        i += 1 + match step.params {
            StepParams::Stream(p) if step.kernel == KernelId::RowStreamS8 => p.members as usize,
            _ => 0,
        };
        Some(at)
    })
}

/// Rows of the model inputs a program streams ([`KernelId::InputRowsS8`]), given by the caller on demand.
pub trait RowSource {
    /// Write bytes `offset..offset + out.len()` of row `row` of model input `input` into `out` (rows are
    /// asked in order, each once); `false` when the row cannot be given.
    fn read_row(&mut self, input: usize, row: usize, offset: usize, out: &mut [u8]) -> bool;
}

/// The source of [`run`]: has no rows.
struct NoRows;

impl RowSource for NoRows {
    fn read_row(&mut self, _input: usize, _row: usize, _offset: usize, _out: &mut [u8]) -> bool {
        false
    }
}

impl<F: FnMut(usize, usize, usize, &mut [u8]) -> bool> RowSource for F {
    fn read_row(&mut self, input: usize, row: usize, offset: usize, out: &mut [u8]) -> bool {
        self(input, row, offset, out)
    }
}

/// [`run`] for a program that streams some of its model inputs: their rows come from `rows` as the program
/// needs them, so those inputs never sit whole in the arena (the other inputs must be in place as for
/// [`run`]). Fails with [`KernelError::NoInputRows`] when `rows` does not give a row.
pub fn run_streaming(program: &Program<'_>, arena: &mut [u8], rows: &mut impl RowSource) -> Result<(), KernelError> {
    run_with(program, arena, &mut Unobserved, rows)
}

/// Whether `program` reads model input `i` row by row (then [`input_mut`] gives its ring, not the whole input).
pub fn input_is_streamed(program: &Program<'_>, i: usize) -> bool {
    program.steps.iter().any(|s| matches!(s.params, StepParams::InputRows(p) if p.input as usize == i))
}

fn run_with(
    program: &Program<'_>,
    arena: &mut [u8],
    observer: &mut impl StepObserver,
    rows: &mut impl RowSource,
) -> Result<(), KernelError> {
    check(program, arena.len())?;
    let mut i = 0;
    while let Some(step) = program.steps.get(i) {
        observer.before_step(i);
        // A segment header runs its members row by row; they are then skipped.
        let members = if step.kernel == KernelId::RowStreamS8 {
            stream::run_segment(program, arena, i, rows)?
        } else {
            run_step(program, arena, i, step)?;
            0
        };
        observer.after_step(i);
        i += 1 + members;
    }
    Ok(())
}

/// The arena bytes of model input `i`, to fill before [`run`].
pub fn input_mut<'a>(program: &Program<'_>, arena: &'a mut [u8], i: usize) -> Option<&'a mut [u8]> {
    arena.get_mut(program.inputs.get(i)?.range()?)
}

/// The arena bytes of model output `j`, after [`run`].
pub fn output<'a>(program: &Program<'_>, arena: &'a [u8], j: usize) -> Option<&'a [u8]> {
    arena.get(program.outputs.get(j)?.range()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{Operand, StepParams};

    fn copy_step(from: Slice, to: Slice) -> Step {
        let mut inputs = [Operand::Unused; MAX_OPERANDS];
        inputs[0] = Operand::Arena(from);
        Step {
            kernel: KernelId::CopyS8,
            variant: Variant::Reference,
            params: StepParams::NoParams,
            inputs,
            output: to,
            scratch: None,
        }
    }

    fn program(steps: &[Step], arena_bytes: u32) -> Program<'_> {
        Program { steps, model: &[], precomputed: &[], arena_bytes, inputs: &[], outputs: &[] }
    }

    #[test]
    fn runs_a_copy_between_disjoint_slices() {
        let steps = [copy_step(Slice { offset: 0, len: 4 }, Slice { offset: 8, len: 4 })];
        let mut arena = [1, 2, 3, 4, 0, 0, 0, 0, 9, 9, 9, 9];
        run(&program(&steps, 12), &mut arena).unwrap();
        assert_eq!(arena[8..], [1, 2, 3, 4]);
    }

    #[test]
    fn an_output_overlapping_its_input_is_refused() {
        let steps = [copy_step(Slice { offset: 0, len: 4 }, Slice { offset: 2, len: 4 })];
        let mut arena = [0u8; 8];
        assert_eq!(run(&program(&steps, 8), &mut arena), Err(KernelError::Overlap { step: 0 }));
    }

    #[test]
    fn a_copy_over_its_input_from_below_runs_in_place_as_declared() {
        // Output 2 bytes below its input (copy declares a lead of 0): a memmove downwards.
        let steps = [copy_step(Slice { offset: 2, len: 4 }, Slice { offset: 0, len: 4 })];
        let mut arena = [9, 9, 1, 2, 3, 4];
        run(&program(&steps, 6), &mut arena).unwrap();
        assert_eq!(arena[..4], [1, 2, 3, 4]);
        // A kernel with no declaration over its input is refused.
        let mut pad = steps[0];
        pad.kernel = KernelId::PadS8;
        let mut arena = [9, 9, 1, 2, 3, 4];
        assert_eq!(run(&program(&[pad], 6), &mut arena), Err(KernelError::Overlap { step: 0 }));
    }

    #[test]
    fn slices_outside_the_arena_are_refused_before_anything_runs() {
        let steps = [copy_step(Slice { offset: 0, len: 4 }, Slice { offset: 6, len: 4 })];
        let mut arena = [7u8; 16];
        assert_eq!(run(&program(&steps, 8), &mut arena), Err(KernelError::OutOfRange { step: 0 }));
        assert_eq!(arena, [7u8; 16], "nothing was written");
        assert_eq!(run(&program(&steps, 32), &mut arena), Err(KernelError::ArenaTooSmall { needed: 32, given: 16 }));
    }

    #[test]
    fn scratch_overlapping_the_output_is_refused() {
        let mut step = copy_step(Slice { offset: 0, len: 4 }, Slice { offset: 8, len: 4 });
        step.scratch = Some(Slice { offset: 10, len: 4 });
        let steps = [step];
        let mut arena = [0u8; 16];
        assert_eq!(run(&program(&steps, 16), &mut arena), Err(KernelError::Overlap { step: 0 }));
    }

    #[test]
    fn an_input_inside_the_scratch_is_refused_and_scratch_before_the_output_works() {
        let mut step = copy_step(Slice { offset: 4, len: 4 }, Slice { offset: 12, len: 4 });
        step.scratch = Some(Slice { offset: 2, len: 4 });
        let mut arena = [0u8; 16];
        assert_eq!(run(&program(&[step], 16), &mut arena), Err(KernelError::Overlap { step: 0 }));
        step.scratch = Some(Slice { offset: 8, len: 4 });
        let mut arena = [0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0];
        run(&program(&[step], 16), &mut arena).unwrap();
        assert_eq!(arena[12..], [1, 2, 3, 4]);
    }

    #[test]
    fn the_observer_sees_every_step_in_order() {
        struct Log([(usize, bool); 4], usize);
        impl StepObserver for Log {
            fn before_step(&mut self, index: usize) {
                self.0[self.1] = (index, true);
                self.1 += 1;
            }
            fn after_step(&mut self, index: usize) {
                self.0[self.1] = (index, false);
                self.1 += 1;
            }
        }
        let steps = [
            copy_step(Slice { offset: 0, len: 4 }, Slice { offset: 4, len: 4 }),
            copy_step(Slice { offset: 4, len: 4 }, Slice { offset: 8, len: 4 }),
        ];
        let mut arena = [5u8; 12];
        let mut log = Log([(9, false); 4], 0);
        run_observed(&program(&steps, 12), &mut arena, &mut log).unwrap();
        assert_eq!(log.0, [(0, true), (0, false), (1, true), (1, false)]);
    }
}
