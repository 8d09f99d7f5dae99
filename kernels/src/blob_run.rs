//! Runs a program blob ([`crate::encoding`]) in one caller-provided arena, decoding one step at a time onto
//! the stack: no allocation and no storage sized by the program.
//!
//! Everything is checked before the first step runs: the blob's header and every step record, the model's
//! length against the one the blob was compiled for, the arena's length, and every step's ranges (as
//! [`crate::run`] checks a [`Program`]). Each step then runs through the same interpreter as a one-step
//! program, so a blob and the [`Program`] it was encoded from give identical outputs.

use crate::encoding::{model_checksum, DecodeError, ProgramBlob};
use crate::interpreter::{run_observed, scratch_bytes, StepObserver};
use crate::program::{Operand, Program, Slice, Step};
use crate::KernelError;

/// Why a program blob did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobRunError {
    /// The blob is malformed.
    Decode(DecodeError),
    /// The model bytes are not the length the blob was compiled against.
    ModelLength {
        /// Bytes the blob expects.
        expected: u32,
        /// Bytes given.
        given: usize,
    },
    /// The model bytes' checksum differs from the blob's ([`check_model`] only).
    ModelChecksum,
    /// The interpreter refused a step (or the arena); step numbers are the blob's.
    Kernel(KernelError),
}

impl From<DecodeError> for BlobRunError {
    fn from(e: DecodeError) -> Self {
        BlobRunError::Decode(e)
    }
}

impl From<KernelError> for BlobRunError {
    fn from(e: KernelError) -> Self {
        BlobRunError::Kernel(e)
    }
}

impl core::fmt::Display for BlobRunError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BlobRunError::Decode(e) => e.fmt(f),
            BlobRunError::ModelLength { expected, given } => {
                write!(f, "model of {given} bytes, but the program was compiled for one of {expected} bytes")
            }
            BlobRunError::ModelChecksum => write!(f, "the model bytes are not those the program was compiled for"),
            BlobRunError::Kernel(e) => e.fmt(f),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for BlobRunError {}

/// Check that `model` is the file `blob` was compiled against: its length and its FNV-1a checksum (one pass
/// over the model; [`run_blob`] checks the length only).
pub fn check_model(blob: &[u8], model: &[u8]) -> Result<(), BlobRunError> {
    let parsed = ProgramBlob::parse(blob)?;
    check_model_length(&parsed, model)?;
    if model_checksum(model) != parsed.header().model_checksum {
        return Err(BlobRunError::ModelChecksum);
    }
    Ok(())
}

fn check_model_length(blob: &ProgramBlob<'_>, model: &[u8]) -> Result<(), BlobRunError> {
    let expected = blob.header().model_len;
    if model.len() != expected as usize {
        return Err(BlobRunError::ModelLength { expected, given: model.len() });
    }
    Ok(())
}

/// Check one step's ranges against the blobs and the arena, and its scratch against its kernel's need.
fn step_fits(step: &Step, model: &[u8], precomputed: &[u8], arena_bytes: u32) -> bool {
    let in_arena = |s: &Slice| s.range().is_some_and(|r| r.end <= arena_bytes as usize);
    let operands_ok = step.inputs.iter().all(|op| match op {
        Operand::Unused => true,
        Operand::Arena(s) => in_arena(s),
        Operand::Model(s) => s.range().is_some_and(|r| r.end <= model.len()),
        Operand::Precomputed(s) => s.range().is_some_and(|r| r.end <= precomputed.len()),
    });
    let scratch_ok = step.scratch.map_or(0, |s| s.len as usize) >= scratch_bytes(step);
    operands_ok && scratch_ok && in_arena(&step.output) && step.scratch.iter().all(in_arena)
}

/// Check everything about a blob, a model and an arena length that can be checked before running.
pub fn check_blob<'a>(blob: &'a [u8], model: &[u8], arena_len: usize) -> Result<ProgramBlob<'a>, BlobRunError> {
    let parsed = ProgramBlob::parse(blob)?;
    check_model_length(&parsed, model)?;
    let header = parsed.header();
    if arena_len < header.arena_bytes as usize {
        return Err(KernelError::ArenaTooSmall { needed: header.arena_bytes, given: arena_len }.into());
    }
    for (i, step) in parsed.steps().enumerate() {
        if !step_fits(&step?, model, parsed.precomputed(), header.arena_bytes) {
            return Err(KernelError::OutOfRange { step: i }.into());
        }
    }
    let in_arena = |s: Slice| s.range().is_some_and(|r| r.end <= header.arena_bytes as usize);
    let places =
        (0..header.input_count).map(|i| parsed.input(i)).chain((0..header.output_count).map(|j| parsed.output(j)));
    for place in places {
        if !place.is_some_and(in_arena) {
            return Err(KernelError::OutOfRange { step: header.step_count as usize }.into());
        }
    }
    Ok(parsed)
}

/// Renumbers the interpreter's step 0 to the blob's step index for the caller's observer.
struct Renumbered<'o, O: StepObserver> {
    index: usize,
    inner: &'o mut O,
}

impl<O: StepObserver> StepObserver for Renumbered<'_, O> {
    fn before_step(&mut self, _index: usize) {
        self.inner.before_step(self.index);
    }
    fn after_step(&mut self, _index: usize) {
        self.inner.after_step(self.index);
    }
}

fn renumber(e: KernelError, index: usize) -> KernelError {
    match e {
        KernelError::OutOfRange { .. } => KernelError::OutOfRange { step: index },
        KernelError::Overlap { .. } => KernelError::Overlap { step: index },
        KernelError::BadOperand { .. } => KernelError::BadOperand { step: index },
        other => other,
    }
}

/// Run the program blob `blob` over `model` (the `.tflite` bytes it was compiled against) in `arena`, whose
/// inputs were written at [`ProgramBlob::input`]; the outputs are then at [`ProgramBlob::output`].
pub fn run_blob(blob: &[u8], model: &[u8], arena: &mut [u8]) -> Result<(), BlobRunError> {
    run_blob_observed(blob, model, arena, &mut NoObserver)
}

/// [`run_blob`] with an observer that sees each step (numbered as in the blob).
pub fn run_blob_observed(
    blob: &[u8],
    model: &[u8],
    arena: &mut [u8],
    observer: &mut impl StepObserver,
) -> Result<(), BlobRunError> {
    let parsed = check_blob(blob, model, arena.len())?;
    let arena_bytes = parsed.header().arena_bytes;
    for (index, step) in parsed.steps().enumerate() {
        let step = step?;
        let program = Program {
            steps: core::slice::from_ref(&step),
            model,
            precomputed: parsed.precomputed(),
            arena_bytes,
            inputs: &[],
            outputs: &[],
        };
        run_observed(&program, arena, &mut Renumbered { index, inner: observer }).map_err(|e| renumber(e, index))?;
    }
    Ok(())
}

/// The observer of [`run_blob`]: sees nothing.
struct NoObserver;

impl StepObserver for NoObserver {}
