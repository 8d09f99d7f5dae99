//! The C program export (`--format c-program`): a C source and its header that hold everything the C API
//! (`kernels/capi`, `arenaplan.h`) needs to run a model: the program blob ([`super::program_blob`]), the
//! `.tflite` model bytes, the arena size and alignment, and each input and output as an `arenaplan_tensor`
//! (place in the arena, shape, element type, scale, zero point), also as macros for compile-time use.
//!
//! Identifiers start with the prefix (the model name by default), upper-case for macros and lower-case for
//! arrays, so two models can be linked into one firmware.

use std::fmt::Write as _;

use arenaplan_kernels::io::{ElementType, TensorDescriptor, MAX_RANK};

use super::c_header::{comment_text, identifier_prefix};
use super::program_blob::compile_to_blob;
use super::ExportError;
use crate::graph::Graph;
use crate::plan::Plan;

/// The two files of a C program export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CProgram {
    /// The header: sizes, input and output macros, `extern` declarations.
    pub header: String,
    /// The source: the program blob, the model bytes and the input and output descriptors.
    pub source: String,
}

/// The `ARENAPLAN_*` element type constant of `arenaplan.h`.
fn element_macro(element: ElementType) -> &'static str {
    match element {
        ElementType::Int8 => "ARENAPLAN_INT8",
        ElementType::UInt8 => "ARENAPLAN_UINT8",
        ElementType::Int16 => "ARENAPLAN_INT16",
        ElementType::Int32 => "ARENAPLAN_INT32",
        ElementType::Int64 => "ARENAPLAN_INT64",
        ElementType::Float16 => "ARENAPLAN_FLOAT16",
        ElementType::Float32 => "ARENAPLAN_FLOAT32",
        ElementType::Bool => "ARENAPLAN_BOOL",
    }
}

/// A C `float` literal that reads back as exactly `value` (Rust prints the shortest round-trip decimal).
fn float_literal(value: f32) -> Result<String, ExportError> {
    if !value.is_finite() {
        return Err(ExportError::Unsupported { format: "c-program", reason: format!("scale {value} is not finite") });
    }
    Ok(format!("{value:e}f"))
}

/// A byte array as C initialiser lines, 16 bytes a line.
fn byte_lines(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.chunks(16) {
        let line: Vec<String> = chunk.iter().map(|b| format!("0x{b:02x}")).collect();
        let _ = writeln!(out, "    {},", line.join(", "));
    }
}

/// One descriptor's macros (`{P}_{KIND}{i}_*`).
fn descriptor_macros(h: &mut String, p: &str, kind: &str, i: usize, d: &TensorDescriptor) -> Result<(), ExportError> {
    let shape: Vec<String> = d.shape().iter().map(u32::to_string).collect();
    let _ = writeln!(
        h,
        "/* {} {i}: {} [{}], scale {}, zero point {} */",
        kind.to_ascii_lowercase(),
        d.element.name(),
        shape.join(", "),
        d.scale,
        d.zero_point
    );
    let _ = writeln!(h, "#define {p}_{kind}{i}_OFFSET {}u", d.slice.offset);
    let _ = writeln!(h, "#define {p}_{kind}{i}_BYTES {}u", d.slice.len);
    let _ = writeln!(h, "#define {p}_{kind}{i}_ELEMENT {}", element_macro(d.element));
    let _ = writeln!(h, "#define {p}_{kind}{i}_RANK {}u", d.rank);
    let _ = writeln!(h, "#define {p}_{kind}{i}_SCALE {}", float_literal(d.scale)?);
    let _ = writeln!(h, "#define {p}_{kind}{i}_ZERO_POINT ({})", d.zero_point);
    Ok(())
}

/// One descriptor as an `arenaplan_tensor` initialiser.
fn descriptor_initialiser(d: &TensorDescriptor) -> Result<String, ExportError> {
    let dims: Vec<String> = d.dims.iter().take(MAX_RANK).map(|x| format!("{x}u")).collect();
    Ok(format!(
        "    {{ {}u, {}u, {}, {}u, {{ {} }}, {}, {} }},",
        d.slice.offset,
        d.slice.len,
        element_macro(d.element),
        d.rank,
        dims.join(", "),
        float_literal(d.scale)?,
        d.zero_point
    ))
}

/// Export `plan` as a C source and header for the C API. `prefix` starts every identifier; `header_name` is
/// the header's file name as the source includes it (e.g. `ds_cnn_49x10.h`). The plan is validated against a
/// fresh lowering of `graph` first.
pub fn to_c_program(graph: &Graph<'_>, plan: &Plan, prefix: &str, header_name: &str) -> Result<CProgram, ExportError> {
    let (compiled, blob) = compile_to_blob(graph, plan)?;
    let model = graph.model().bytes;
    let p = identifier_prefix(prefix);
    let lower = p.to_ascii_lowercase();
    let meta = &plan.meta;

    let mut h = String::new();
    let _ = writeln!(
        h,
        "/* Program of `{}` for the arenaplan C API (arenaplan.h), exported by arenaplan {}.",
        comment_text(prefix),
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        h,
        " * Strategy `{}` ({:?}), kernels {}: arena {} bytes, lower bound {} bytes.",
        comment_text(&meta.strategy),
        meta.status,
        meta.request.kernels.name(),
        plan.arena_bytes,
        meta.lower_bound_bytes
    );
    let _ = writeln!(
        h,
        " * Flash: program blob {} bytes, model {} bytes. Generated file: do not edit.",
        blob.len(),
        model.len()
    );
    let _ = writeln!(h, " *");
    let _ = writeln!(h, " *   static uint8_t arena[{p}_ARENA_BYTES] __attribute__((aligned({p}_ARENA_ALIGNMENT)));");
    let _ = writeln!(h, " *   (write input 0 at arena + {p}_INPUT0_OFFSET, {p}_INPUT0_BYTES bytes)");
    let _ = writeln!(
        h,
        " *   int status = arenaplan_run({lower}_program, {p}_PROGRAM_BYTES, {lower}_model, {p}_MODEL_BYTES, arena, sizeof arena);"
    );
    let _ = writeln!(h, " *   (read output 0 at arena + {p}_OUTPUT0_OFFSET, {p}_OUTPUT0_BYTES bytes) */");
    let _ = writeln!(
        h,
        "#ifndef {p}_PROGRAM_H\n#define {p}_PROGRAM_H\n\n#include <stdint.h>\n\n#include \"arenaplan.h\"\n"
    );
    let _ = writeln!(h, "#define {p}_ARENA_BYTES {}u", compiled.arena_bytes);
    let _ = writeln!(h, "#define {p}_ARENA_ALIGNMENT {}u", meta.request.alignment_bytes.max(1));
    let _ = writeln!(h, "#define {p}_PROGRAM_BYTES {}u", blob.len());
    let _ = writeln!(h, "#define {p}_MODEL_BYTES {}u", model.len());
    let _ = writeln!(h, "#define {p}_STEP_COUNT {}u", compiled.steps.len());
    let _ = writeln!(h, "#define {p}_INPUT_COUNT {}u", compiled.input_descriptors.len());
    let _ = writeln!(h, "#define {p}_OUTPUT_COUNT {}u\n", compiled.output_descriptors.len());
    for (i, d) in compiled.input_descriptors.iter().enumerate() {
        descriptor_macros(&mut h, &p, "INPUT", i, d)?;
    }
    for (j, d) in compiled.output_descriptors.iter().enumerate() {
        descriptor_macros(&mut h, &p, "OUTPUT", j, d)?;
    }
    let _ = writeln!(h, "\n/* The program blob: steps, constants, input and output places, arena size. */");
    let _ = writeln!(h, "extern const uint8_t {lower}_program[{p}_PROGRAM_BYTES];");
    let _ = writeln!(h, "/* The .tflite model the program reads weights from (arenaplan_check_model checks it). */");
    let _ = writeln!(h, "extern const uint8_t {lower}_model[{p}_MODEL_BYTES];");
    let input_count = compiled.input_descriptors.len();
    let output_count = compiled.output_descriptors.len();
    if input_count > 0 {
        let _ = writeln!(h, "/* The model inputs. */");
        let _ = writeln!(h, "extern const arenaplan_tensor {lower}_inputs[{p}_INPUT_COUNT];");
    }
    if output_count > 0 {
        let _ = writeln!(h, "/* The model outputs. */");
        let _ = writeln!(h, "extern const arenaplan_tensor {lower}_outputs[{p}_OUTPUT_COUNT];");
    }
    let _ = writeln!(h, "\n#endif /* {p}_PROGRAM_H */");

    let mut c = String::new();
    let _ = writeln!(
        c,
        "/* Program of `{}` for the arenaplan C API: see {}. Generated file: do not edit. */",
        comment_text(prefix),
        comment_text(header_name)
    );
    let _ = writeln!(c, "#include \"{}\"\n", header_name.replace(['"', '\\', '\n'], "_"));
    let _ = writeln!(c, "const uint8_t {lower}_program[{p}_PROGRAM_BYTES] = {{");
    byte_lines(&mut c, &blob);
    let _ = writeln!(c, "}};\n");
    let _ = writeln!(c, "const uint8_t {lower}_model[{p}_MODEL_BYTES] = {{");
    byte_lines(&mut c, model);
    let _ = writeln!(c, "}};");
    for (kind, descriptors) in [("inputs", &compiled.input_descriptors), ("outputs", &compiled.output_descriptors)] {
        if descriptors.is_empty() {
            continue;
        }
        let count = if kind == "inputs" { "INPUT_COUNT" } else { "OUTPUT_COUNT" };
        let _ = writeln!(c, "\nconst arenaplan_tensor {lower}_{kind}[{p}_{count}] = {{");
        for d in descriptors.iter() {
            let _ = writeln!(c, "{}", descriptor_initialiser(d)?);
        }
        let _ = writeln!(c, "}};");
    }
    Ok(CProgram { header: h, source: c })
}
