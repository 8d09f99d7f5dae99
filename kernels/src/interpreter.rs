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
        if !operands_ok || !in_arena(&step.output) || !step.scratch.iter().all(in_arena) {
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
