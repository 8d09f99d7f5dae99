//! Runs a [`Program`] in one caller-provided arena, with no allocation.

use crate::program::{KernelId, Operand, Program, Slice, Step, StepParams};
use crate::reference::{
    conv2d_s8, elementwise_s8, fully_connected_s8, hard_swish_s8, logistic_s8, pool2d_s8, reduce_s8, softmax_s8,
};
use crate::KernelError;

fn blob<'a>(program: &Program<'a>, arena: &'a [u8], operand: Operand, step: usize) -> Result<&'a [u8], KernelError> {
    let (bytes, slice) = match operand {
        Operand::Unused => return Ok(&[]),
        Operand::Arena(s) => (arena, s),
        Operand::Model(s) => (program.model, s),
        Operand::Precomputed(s) => (program.precomputed, s),
    };
    slice.range().and_then(|r| bytes.get(r)).ok_or(KernelError::OutOfRange { step })
}

/// Scratch bytes a step's kernel needs: matches on the same [`KernelId`] as the dispatch in [`run`], so sizing
/// and execution cannot drift apart.
pub fn scratch_bytes(step: &Step) -> usize {
    match (step.kernel, &step.params) {
        (KernelId::Conv2dS8 | KernelId::DepthwiseConv2dS8, StepParams::Conv(p)) => {
            conv2d_s8::conv2d_s8_scratch_bytes(p)
        }
        (KernelId::FullyConnectedS8, StepParams::FullyConnected(p)) => {
            fully_connected_s8::fully_connected_s8_scratch_bytes(p)
        }
        (KernelId::AddS8, StepParams::Add(p)) => elementwise_s8::add_s8_scratch_bytes(p),
        (KernelId::MulS8, StepParams::Mul(p)) => elementwise_s8::mul_s8_scratch_bytes(p),
        (KernelId::AvgPool2dS8 | KernelId::MaxPool2dS8, StepParams::Pool(p)) => pool2d_s8::pool2d_s8_scratch_bytes(p),
        (KernelId::MeanS8, StepParams::Mean(p)) => reduce_s8::mean_s8_scratch_bytes(p),
        (KernelId::SoftmaxS8, StepParams::Softmax(p)) => softmax_s8::softmax_s8_scratch_bytes(p),
        (KernelId::HardSwishS8, StepParams::HardSwish(p)) => hard_swish_s8::hard_swish_s8_scratch_bytes(p),
        (KernelId::LogisticS8, StepParams::Logistic(p)) => logistic_s8::logistic_s8_scratch_bytes(p),
        (KernelId::QuantizeS8, StepParams::Quantize(p)) => elementwise_s8::quantize_s8_scratch_bytes(p),
        _ => 0,
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

/// Run one step: its output range is split off the arena, every arena input must lie wholly outside it.
fn run_step(program: &Program<'_>, arena: &mut [u8], index: usize, step: &Step) -> Result<(), KernelError> {
    let out = step.output.range().ok_or(KernelError::OutOfRange { step: index })?;
    let (before, rest) = arena.split_at_mut(out.start);
    let (output, after) = rest.split_at_mut(out.len());
    let (before, after): (&[u8], &[u8]) = (before, after);
    let mut operands: [&[u8]; 5] = [&[]; 5];
    for (k, operand) in step.inputs.iter().enumerate() {
        operands[k] = match *operand {
            Operand::Arena(s) => {
                let r = s.range().ok_or(KernelError::OutOfRange { step: index })?;
                if r.end <= out.start {
                    &before[r]
                } else if r.start >= out.end {
                    &after[r.start - out.end..r.end - out.end]
                } else {
                    return Err(KernelError::Overlap { step: index });
                }
            }
            other => blob(program, &[], other, index)?,
        };
    }
    let [a, b, c, d, e] = operands;
    match (step.kernel, &step.params) {
        (KernelId::Conv2dS8, StepParams::Conv(p)) => conv2d_s8::conv2d_s8(p, false, a, b, c, d, e, output),
        (KernelId::DepthwiseConv2dS8, StepParams::Conv(p)) => conv2d_s8::conv2d_s8(p, true, a, b, c, d, e, output),
        (KernelId::FullyConnectedS8, StepParams::FullyConnected(p)) => {
            fully_connected_s8::fully_connected_s8(p, a, b, c, d, e, output)
        }
        (KernelId::AddS8, StepParams::Add(p)) => elementwise_s8::add_s8(p, a, b, output),
        (KernelId::AvgPool2dS8, StepParams::Pool(p)) => pool2d_s8::pool2d_s8(p, true, a, output),
        (KernelId::MaxPool2dS8, StepParams::Pool(p)) => pool2d_s8::pool2d_s8(p, false, a, output),
        (KernelId::CopyS8, _) => elementwise_s8::copy_s8(a, output),
        (KernelId::MeanS8, StepParams::Mean(p)) => reduce_s8::mean_s8(p, a, output),
        (KernelId::SoftmaxS8, StepParams::Softmax(p)) => softmax_s8::softmax_s8(p, a, output),
        (KernelId::MulS8, StepParams::Mul(p)) => elementwise_s8::mul_s8(p, a, b, output),
        (KernelId::PadS8, StepParams::Pad(p)) => elementwise_s8::pad_s8(p, a, output),
        (KernelId::HardSwishS8, StepParams::HardSwish(p)) => hard_swish_s8::hard_swish_s8(p, a, output),
        (KernelId::LogisticS8, StepParams::Logistic(p)) => logistic_s8::logistic_s8(p, a, output),
        (KernelId::QuantizeS8, StepParams::Quantize(p)) => elementwise_s8::quantize_s8(p, a, output),
        (KernelId::ConcatS8, StepParams::Concat(p)) => elementwise_s8::concat_s8(p, &[a, b, c, d], output),
        _ => Err(KernelError::BadOperand { step: index }),
    }
}

/// Run every step of `program` in `arena` (at least `program.arena_bytes` long). The model inputs must be in
/// place (see [`input_mut`]); the outputs are then read with [`output`].
pub fn run(program: &Program<'_>, arena: &mut [u8]) -> Result<(), KernelError> {
    check(program, arena.len())?;
    for (i, step) in program.steps.iter().enumerate() {
        run_step(program, arena, i, step)?;
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
    use crate::program::{Operand, StepParams, MAX_OPERANDS};

    fn copy_step(from: Slice, to: Slice) -> Step {
        let mut inputs = [Operand::Unused; MAX_OPERANDS];
        inputs[0] = Operand::Arena(from);
        Step { kernel: KernelId::CopyS8, params: StepParams::NoParams, inputs, output: to, scratch: None }
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
    fn slices_outside_the_arena_are_refused_before_anything_runs() {
        let steps = [copy_step(Slice { offset: 0, len: 4 }, Slice { offset: 6, len: 4 })];
        let mut arena = [7u8; 16];
        assert_eq!(run(&program(&steps, 8), &mut arena), Err(KernelError::OutOfRange { step: 0 }));
        assert_eq!(arena, [7u8; 16], "nothing was written");
        assert_eq!(run(&program(&steps, 32), &mut arena), Err(KernelError::ArenaTooSmall { needed: 32, given: 16 }));
    }
}
