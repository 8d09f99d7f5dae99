//! A self-contained `no_std` Rust module holding a compiled program, ready for the `arenaplan-kernels`
//! interpreter: the steps, the model file's bytes (`MODEL`, whose weights and biases the steps read), the
//! precomputed constants, the input and output descriptors (shape, type, scale, zero point, place in the arena)
//! and a `Network` type that owns its arena.
//!
//! The module needs nothing else. Firmware that keeps the `.tflite` elsewhere (its own `include_bytes!`, an
//! external flash) runs `checked_program(bytes)`, which checks them against `MODEL_SHA256` once, or
//! `program(bytes)` unchecked; the unused embedded copy is then left out of the binary by the linker.
//!
//! The module's usage example (its `USAGE` section) is compiled for Cortex-M4F and run by
//! `tests/export_rust.rs`.

use std::fmt::Write as _;

use arenaplan_kernels::io::TensorDescriptor;

use super::ExportError;
use crate::check::check_plan;
use crate::graph::Graph;
use crate::plan::Plan;
use crate::program::compile_checked;

/// The usage example written into the module's docs, as the body of the user's `lib.rs` or `main.rs` with the
/// module saved as `src/model.rs`. The test extracts it from the module text, so the docs cannot rot.
const USAGE: &str = r#"mod model; // this file, saved as src/model.rs

use model::{Network, RunError};

/// Quantises `features` (real values, in the first input's row-major order) into the arena, runs every step and
/// dequantises the first output into `scores`.
pub fn infer(network: &mut Network, features: &[f32], scores: &mut [f32]) -> Result<(), RunError> {
    network.set_input(0, features)?; // rounds as TFLM's QUANTIZE does
    network.invoke()?;
    network.read_output(0, scores) // scale * (q - zero_point)
}

/// One inference from start-up: the index of the best score.
pub fn classify(features: &[f32]) -> Result<usize, RunError> {
    // The network owns its arena (model::ARENA_BYTES of RAM): make it once, keep it (on the stack of `main`, or
    // in a `static` through a singleton such as `cortex_m::singleton!`). No `static mut`, no `unsafe`.
    let mut network = Network::new();
    let mut scores = [0.0f32; model::OUTPUT_ELEMENTS[0]];
    infer(&mut network, features, &mut scores)?;
    let best = (0..scores.len()).fold(0, |best, i| if scores[i] > scores[best] { i } else { best });
    Ok(best)
}"#;

/// The line that opens the usage example in the module's docs (the example is a crate body, see [`to_rust`]).
pub const USAGE_START: &str = "//! ```rust,ignore";
/// The line that ends the usage example.
pub const USAGE_END: &str = "//! ```";

/// The Rust module of a plan, after the independent validator accepted it.
pub fn to_rust(graph: &Graph<'_>, plan: &Plan, model_name: &str) -> Result<String, ExportError> {
    let unsupported = |reason: String| ExportError::Unsupported { format: "rust", reason };
    let checked = check_plan(graph, plan)?;
    super::refuse_streamed_input(&checked, "rust")?;
    let compiled = compile_checked(graph, plan, &checked).map_err(|e| unsupported(e.to_string()))?;
    let steps = &compiled.steps;
    let model = graph.model().bytes;

    let mut m = String::new();
    let w = &mut m;
    let meta = &plan.meta;
    let name = model_name.replace(['\n', '\r'], " ");
    let _ = writeln!(w, "//! Compiled program of `{name}`, exported by arenaplan {}.", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(
        w,
        "//! Strategy `{}` ({:?}), arena {} B, lower bound {} B, kernels {}. Generated: do not edit.",
        meta.strategy,
        meta.status,
        plan.arena_bytes,
        meta.lower_bound_bytes,
        compiled.steps.first().map_or("reference", |s| s.variant.name())
    );
    let _ = writeln!(w, "//!");
    let _ = writeln!(
        w,
        "//! Self-contained: `MODEL` holds the model file ({} B, SHA-256 `MODEL_SHA256`), whose weights and biases",
        model.len()
    );
    let _ = writeln!(
        w,
        "//! the steps read. Needs only the `arenaplan-kernels` crate. Flash beside the model: {} steps",
        steps.len()
    );
    let _ = writeln!(
        w,
        "//! ({} B as the kernels lay them out) and {} B of precomputed values.",
        std::mem::size_of_val(steps.as_slice()),
        compiled.precomputed.len()
    );
    let _ = writeln!(w, "//!\n//! # Usage\n//!");
    let _ = writeln!(
        w,
        "//! The body of a `no_std` crate's `lib.rs` (or `main.rs`) with this file saved as `src/model.rs`:\n//!"
    );
    let _ = writeln!(w, "{USAGE_START}");
    for line in USAGE.lines() {
        let _ = writeln!(w, "{}", format!("//! {line}").trim_end());
    }
    let _ = writeln!(w, "{USAGE_END}");
    let _ = writeln!(w, "#![allow(clippy::all, dead_code)]\n");
    let _ = writeln!(w, "use arenaplan_kernels::io::{{ElementType, IoError, TensorDescriptor}};");
    let _ = writeln!(w, "use arenaplan_kernels::program::KernelId::*;");
    let _ = writeln!(w, "use arenaplan_kernels::program::Operand::*;");
    let _ = writeln!(w, "use arenaplan_kernels::program::StepParams::*;");
    let _ = writeln!(w, "use arenaplan_kernels::program::Variant::*;");
    let _ = writeln!(w, "use arenaplan_kernels::program::*;");
    let _ = writeln!(w, "use arenaplan_kernels::model_check::ModelMismatch;");
    let _ = writeln!(w, "use arenaplan_kernels::KernelError;\n");

    let _ = writeln!(w, "/// SHA-256 of the model file the program was compiled from (`MODEL`).");
    let _ = writeln!(w, "pub const MODEL_SHA256: [u8; 32] = {:?};", compiled.model_sha256);
    let _ = writeln!(w, "/// Bytes of the arena the program runs in.");
    let _ = writeln!(w, "pub const ARENA_BYTES: usize = {};", compiled.arena_bytes);
    write_descriptors(w, "INPUT", "input", &compiled.input_descriptors)?;
    write_descriptors(w, "OUTPUT", "output", &compiled.output_descriptors)?;
    let _ = writeln!(w, "/// The steps, in execution order (their `Model` operands are ranges of the model file).");
    let _ = writeln!(w, "pub static STEPS: [Step; {}] = [", steps.len());
    for step in steps {
        // The Debug form of a step is a valid Rust expression once the enums' variants are in scope.
        let _ = writeln!(w, "    {step:?},");
    }
    let _ = writeln!(w, "];");
    let _ = writeln!(w, "/// The model file the program was compiled from (the steps read its weights and biases).");
    let _ = writeln!(w, "pub static MODEL: &[u8; {}] = {};", model.len(), byte_string(model));
    let _ = writeln!(w, "/// Precomputed requantisation constants (little-endian `i32`).");
    let _ = writeln!(
        w,
        "pub static PRECOMPUTED: &[u8; {}] = {};",
        compiled.precomputed.len(),
        byte_string(&compiled.precomputed)
    );
    let _ = writeln!(w, "/// Where the model inputs go in the arena.");
    let _ = writeln!(w, "pub static INPUTS: [Slice; {}] = {:?};", compiled.inputs.len(), compiled.inputs);
    let _ = writeln!(w, "/// Where the model outputs are in the arena.");
    let _ = writeln!(w, "pub static OUTPUTS: [Slice; {}] = {:?};", compiled.outputs.len(), compiled.outputs);
    w.push_str(NETWORK);
    Ok(m)
}

/// The descriptors, their element counts, as statics and consts named `{PREFIX}_DESCRIPTORS` and
/// `{PREFIX}_ELEMENTS`.
fn write_descriptors(
    w: &mut String,
    prefix: &str,
    what: &str,
    descriptors: &[TensorDescriptor],
) -> Result<(), ExportError> {
    let count = descriptors.len();
    let _ = writeln!(w, "/// Shape, element type, quantisation and arena slice of each model {what}.");
    let _ = writeln!(w, "pub static {prefix}_DESCRIPTORS: [TensorDescriptor; {count}] = [");
    for d in descriptors {
        if !d.scale.is_finite() {
            return Err(ExportError::Unsupported {
                format: "rust",
                reason: format!("model {what} has a non-finite scale {}", d.scale),
            });
        }
        // `{:?}` of a finite f32 is the shortest literal that reads back to the same bits.
        let _ = writeln!(
            w,
            "    TensorDescriptor {{ dims: {:?}, rank: {}, element: ElementType::{:?}, scale: {:?}, zero_point: {}, slice: {:?} }},",
            d.dims, d.rank, d.element, d.scale, d.zero_point, d.slice
        );
    }
    let _ = writeln!(w, "];");
    let elements: Vec<usize> = descriptors.iter().map(TensorDescriptor::elements).collect();
    let _ = writeln!(w, "/// Elements of each model {what} (the product of its dimensions).");
    let _ = writeln!(w, "pub const {prefix}_ELEMENTS: [usize; {count}] = {elements:?};");
    Ok(())
}

/// `bytes` as a Rust byte-string literal, 32 bytes a line (continued lines skip their leading whitespace).
fn byte_string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 4 + bytes.len() / 8 + 8);
    s.push_str("b\"");
    for (i, b) in bytes.iter().enumerate() {
        if i % 32 == 0 && i > 0 {
            s.push_str("\\\n    ");
        }
        let _ = write!(s, "\\x{b:02x}");
    }
    s.push('"');
    s
}

/// The part of the module that does not depend on the model: the program view, the error type and the
/// `Network` that owns its arena.
const NETWORK: &str = r#"
/// The program over `model`, the bytes of the model file it was compiled from (`MODEL`, or a copy kept
/// elsewhere); not checked: see `checked_program`.
pub fn program(model: &'static [u8]) -> Program<'static> {
    Program {
        steps: &STEPS,
        model,
        precomputed: PRECOMPUTED,
        arena_bytes: ARENA_BYTES as u32,
        inputs: &INPUTS,
        outputs: &OUTPUTS,
    }
}

/// The program over `model` once its SHA-256 is checked against `MODEL_SHA256`: for a copy of the model kept
/// outside this module (call it once, at start-up; a wrong file is an error, not wrong answers).
pub fn checked_program(model: &'static [u8]) -> Result<Program<'static>, ModelMismatch> {
    arenaplan_kernels::model_check::checked_program(program(model), &MODEL_SHA256)
}

/// Why an inference or a data transfer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunError {
    /// The model has no input (or output) of this index.
    NoSuchTensor(usize),
    /// Values could not be moved between `f32`s and the tensor (wrong length or type).
    Io(IoError),
    /// The interpreter refused the program.
    Kernel(KernelError),
}

impl From<IoError> for RunError {
    fn from(e: IoError) -> Self {
        RunError::Io(e)
    }
}

impl From<KernelError> for RunError {
    fn from(e: KernelError) -> Self {
        RunError::Kernel(e)
    }
}

impl core::fmt::Display for RunError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RunError::NoSuchTensor(i) => write!(f, "the model has no tensor {i} of that kind"),
            RunError::Io(e) => write!(f, "{e}"),
            RunError::Kernel(e) => write!(f, "{e}"),
        }
    }
}

/// The network and the arena it runs in, owned: make one at start-up and keep it; no `static mut` needed.
#[repr(C, align(16))]
pub struct Network {
    arena: [u8; ARENA_BYTES],
}

impl Default for Network {
    fn default() -> Self {
        Self::new()
    }
}

impl Network {
    /// A network with a zeroed arena (`const`, so it may also initialise a `static`).
    pub const fn new() -> Self {
        Network { arena: [0; ARENA_BYTES] }
    }

    /// The raw int8 bytes of input `index` in the arena, to fill before [`Network::invoke`].
    pub fn input_mut(&mut self, index: usize) -> Option<&mut [u8]> {
        arenaplan_kernels::input_mut(&program(MODEL), &mut self.arena, index)
    }

    /// The raw int8 bytes of output `index`, after [`Network::invoke`].
    pub fn output(&self, index: usize) -> Option<&[u8]> {
        arenaplan_kernels::output(&program(MODEL), &self.arena, index)
    }

    /// Quantises `reals` (one per element, row-major) into input `index`.
    pub fn set_input(&mut self, index: usize, reals: &[f32]) -> Result<(), RunError> {
        let descriptor = INPUT_DESCRIPTORS.get(index).ok_or(RunError::NoSuchTensor(index))?;
        Ok(descriptor.quantize_into(reals, &mut self.arena)?)
    }

    /// Dequantises output `index` into `reals` (one per element).
    pub fn read_output(&self, index: usize, reals: &mut [f32]) -> Result<(), RunError> {
        let descriptor = OUTPUT_DESCRIPTORS.get(index).ok_or(RunError::NoSuchTensor(index))?;
        Ok(descriptor.dequantize_from(&self.arena, reals)?)
    }

    /// Runs every step over the inputs in place.
    pub fn invoke(&mut self) -> Result<(), KernelError> {
        arenaplan_kernels::run(&program(MODEL), &mut self.arena)
    }

    /// One inference on raw int8 values: copies `input` into the first input, runs, copies the first output
    /// into `output`.
    pub fn run(&mut self, input: &[i8], output: &mut [i8]) -> Result<(), RunError> {
        let place = self.input_mut(0).ok_or(RunError::NoSuchTensor(0))?;
        if place.len() != input.len() {
            return Err(IoError::LengthMismatch { expected: place.len(), got: input.len() }.into());
        }
        for (byte, &value) in place.iter_mut().zip(input) {
            *byte = value as u8;
        }
        self.invoke()?;
        let result = self.output(0).ok_or(RunError::NoSuchTensor(0))?;
        if result.len() != output.len() {
            return Err(IoError::LengthMismatch { expected: result.len(), got: output.len() }.into());
        }
        for (value, &byte) in output.iter_mut().zip(result) {
            *value = byte as i8;
        }
        Ok(())
    }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_strings_escape_every_byte() {
        assert_eq!(byte_string(&[0, 0x22, 0x5c, 0xff]), "b\"\\x00\\x22\\x5c\\xff\"");
        assert!(byte_string(&[7; 33]).contains("\\\n    \\x07"));
    }
}
