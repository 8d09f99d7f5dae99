//! A `no_std` Rust module holding a compiled program: the steps, precomputed constants, input and output
//! places and the arena size as `static`s and `const`s, ready for the `arenaplan-kernels` interpreter.
//!
//! The module does not embed the model: firmware passes the `.tflite` bytes (weights and biases, usually
//! `include_bytes!`) to `program(model)`, and `MODEL_SHA256` says which file the offsets into it belong to.

use std::fmt::Write as _;

use super::json::sha256_hex;
use super::ExportError;
use crate::check::check_plan;
use crate::graph::Graph;
use crate::plan::Plan;
use crate::program::compile_checked;

/// The Rust module of a plan, after the independent validator accepted it.
pub fn to_rust(graph: &Graph<'_>, plan: &Plan, model_name: &str) -> Result<String, ExportError> {
    let checked = check_plan(graph, plan)?;
    let compiled = compile_checked(graph, plan, &checked)
        .map_err(|e| ExportError::Unsupported { format: "rust", reason: e.to_string() })?;
    let mut m = String::new();
    let w = &mut m;
    let meta = &plan.meta;
    let _ = writeln!(
        w,
        "//! Compiled program of `{}`, exported by arenaplan {}.",
        model_name.replace('\n', " "),
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        w,
        "//! Strategy `{}` ({:?}), arena {} B, lower bound {} B. Generated: do not edit.",
        meta.strategy, meta.status, plan.arena_bytes, meta.lower_bound_bytes
    );
    let _ = writeln!(
        w,
        "//!\n//! Run it: `arenaplan_kernels::run(&program(MODEL_BYTES), &mut ARENA)` with `ARENA: [u8; ARENA_BYTES]`."
    );
    let _ = writeln!(w, "#![allow(clippy::all, missing_docs)]\n");
    let _ = writeln!(w, "use arenaplan_kernels::program::KernelId::*;");
    let _ = writeln!(w, "use arenaplan_kernels::program::Operand::*;");
    let _ = writeln!(w, "use arenaplan_kernels::program::StepParams::*;");
    let _ = writeln!(w, "use arenaplan_kernels::program::Variant::*;");
    let _ = writeln!(w, "use arenaplan_kernels::program::*;\n");
    let _ = writeln!(w, "/// SHA-256 of the `.tflite` file whose bytes `program` must be given.");
    let _ = writeln!(w, "pub const MODEL_SHA256: &str = \"{}\";", sha256_hex(graph.model().bytes));
    let _ = writeln!(w, "/// Bytes of the arena the program runs in.");
    let _ = writeln!(w, "pub const ARENA_BYTES: usize = {};", compiled.arena_bytes);
    let _ = writeln!(w, "/// The steps, in execution order.");
    let _ = writeln!(w, "pub static STEPS: [Step; {}] = [", compiled.steps.len());
    for step in &compiled.steps {
        // The Debug form of a step is a valid Rust expression once the enums' variants are in scope.
        let _ = writeln!(w, "    {step:?},");
    }
    let _ = writeln!(w, "];");
    let _ = writeln!(w, "/// Precomputed requantisation constants (little-endian `i32`).");
    let _ = writeln!(w, "pub static PRECOMPUTED: [u8; {}] = {:?};", compiled.precomputed.len(), compiled.precomputed);
    let _ = writeln!(w, "/// Where the model inputs go in the arena.");
    let _ = writeln!(w, "pub static INPUTS: [Slice; {}] = {:?};", compiled.inputs.len(), compiled.inputs);
    let _ = writeln!(w, "/// Where the model outputs are in the arena.");
    let _ = writeln!(w, "pub static OUTPUTS: [Slice; {}] = {:?};", compiled.outputs.len(), compiled.outputs);
    let _ = writeln!(w, "\n/// The program over the model's bytes (check them against `MODEL_SHA256`).");
    let _ = writeln!(w, "pub fn program(model: &'static [u8]) -> Program<'static> {{");
    let _ = writeln!(
        w,
        "    Program {{ steps: &STEPS, model, precomputed: &PRECOMPUTED, arena_bytes: ARENA_BYTES as u32, inputs: &INPUTS, outputs: &OUTPUTS }}"
    );
    let _ = writeln!(w, "}}");
    Ok(m)
}
