//! The C export: a C99 header with the arena size, one offset per tensor and scratch buffer, the buffers'
//! lifetimes and the schedule, and compile-time checks (a negative array size fails the build, so the header
//! needs nothing newer than C99).
//!
//! Names come from the model: each buffer's name, up to its first `;` (TFLite joins fused op names with `;`),
//! upper-cased with every character outside `[A-Z0-9]` turned into `_`, and made unique with a `_2`, `_3`, ..
//! suffix. Every identifier starts with the prefix (the model name by default), so two headers can be included
//! in one program.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::graph::Graph;
use crate::plan::Plan;
use crate::problem::BufferOrigin;

use super::{checked_problem, ExportError};

/// Turn any text into an upper-case C identifier fragment: `[A-Z0-9_]`, no leading, trailing or doubled `_`.
pub fn c_identifier(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = c.to_ascii_uppercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// The upper-case identifier prefix made of `prefix`: [`c_identifier`], with `ARENAPLAN_` in front when that is
/// empty or starts with a digit.
pub fn identifier_prefix(prefix: &str) -> String {
    let p = c_identifier(prefix);
    if p.is_empty() || p.starts_with(|c: char| c.is_ascii_digit()) {
        format!("ARENAPLAN_{p}").trim_end_matches('_').to_owned()
    } else {
        p
    }
}

/// Text safe inside a C block comment.
pub(crate) fn comment_text(text: &str) -> String {
    text.replace("*/", "* /").replace(['\n', '\r'], " ")
}

/// Unique identifier fragments for a list of names (the part before the first `;`, at most 48 characters).
fn unique_identifiers<'a>(names: impl Iterator<Item = (&'a str, String)>) -> Vec<String> {
    let mut used = BTreeSet::new();
    names
        .map(|(name, fallback)| {
            let mut base = c_identifier(name.split(';').next().unwrap_or(""));
            if base.len() > 48 {
                base = base[base.len() - 48..].trim_start_matches('_').to_owned();
            }
            if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
                base = format!("{fallback}_{base}").trim_end_matches('_').to_owned();
            }
            let mut candidate = base.clone();
            let mut n = 2;
            while !used.insert(candidate.clone()) {
                candidate = format!("{base}_{n}");
                n += 1;
            }
            candidate
        })
        .collect()
}

fn u32_of(value: u64, what: &str) -> Result<u32, ExportError> {
    u32::try_from(value)
        .map_err(|_| ExportError::Unsupported { format: "c", reason: format!("{what} {value} does not fit 32 bits") })
}

/// Export `plan` as a C99 header. `prefix` starts every identifier (made a valid upper-case C identifier;
/// e.g. the model name). The plan is validated against a fresh lowering of `graph` first.
pub fn to_c_header(graph: &Graph<'_>, plan: &Plan, prefix: &str) -> Result<String, ExportError> {
    checked_problem(graph, plan)?;
    render(plan, prefix)
}

/// The header text of a plan that has been validated.
fn render(plan: &Plan, prefix: &str) -> Result<String, ExportError> {
    let problem = &plan.problem;
    let p = identifier_prefix(prefix);
    let lower = p.to_ascii_lowercase();
    let buffers = &problem.buffers;
    let ids = unique_identifiers(buffers.iter().enumerate().map(|(i, b)| (b.name.as_str(), format!("BUFFER{i}"))));
    let tensors = buffers.iter().filter(|b| matches!(b.origin, BufferOrigin::Tensor(_))).count();
    let scratch = buffers.iter().filter(|b| matches!(b.origin, BufferOrigin::Scratch(_))).count();
    let steps = problem.step_count();
    let arena = u32_of(plan.arena_bytes, "arena size")?;
    let offsets: Vec<u32> = plan.offsets.iter().map(|&o| u32_of(o, "offset")).collect::<Result<_, _>>()?;
    let sizes: Vec<u32> = buffers.iter().map(|b| u32_of(b.size_bytes, "size")).collect::<Result<_, _>>()?;
    let meta = &plan.meta;

    let mut h = String::new();
    let w = &mut h;
    writeln!(w, "/* Memory plan of `{}`, exported by arenaplan {}.", comment_text(prefix), env!("CARGO_PKG_VERSION"))
        .unwrap();
    writeln!(
        w,
        " * Strategy `{}` ({:?}): arena {} bytes, lower bound {} bytes.",
        comment_text(&meta.strategy),
        meta.status,
        plan.arena_bytes,
        meta.lower_bound_bytes
    )
    .unwrap();
    writeln!(w, " *").unwrap();
    writeln!(w, " * Offsets are bytes from the start of one arena aligned to {p}_ALIGNMENT_BYTES.").unwrap();
    writeln!(w, " * Lifetimes are half-open schedule steps [first, end): step 0 holds the model inputs, and the")
        .unwrap();
    writeln!(w, " * operator at schedule position i runs at step i + 1. Buffers alive at a common step never share")
        .unwrap();
    writeln!(w, " * memory. Generated file: do not edit. */").unwrap();
    writeln!(w, "#ifndef {p}_PLAN_H\n#define {p}_PLAN_H\n\n#include <stdint.h>\n").unwrap();
    writeln!(w, "#define {p}_ARENA_BYTES {arena}u").unwrap();
    writeln!(w, "#define {p}_LOWER_BOUND_BYTES {}u", meta.lower_bound_bytes).unwrap();
    writeln!(w, "#define {p}_ALIGNMENT_BYTES {}u", meta.request.alignment_bytes).unwrap();
    writeln!(w, "#define {p}_BUFFER_COUNT {}u", buffers.len()).unwrap();
    writeln!(w, "#define {p}_TENSOR_BUFFER_COUNT {tensors}u").unwrap();
    writeln!(w, "#define {p}_SCRATCH_BUFFER_COUNT {scratch}u").unwrap();
    writeln!(w, "#define {p}_OP_COUNT {}u", plan.schedule.len()).unwrap();
    writeln!(w, "#define {p}_STEP_COUNT {steps}u\n").unwrap();

    writeln!(w, "/* One constant per buffer: its index in the tables below. */").unwrap();
    writeln!(w, "enum {lower}_buffer {{").unwrap();
    for (i, (b, id)) in buffers.iter().zip(&ids).enumerate() {
        let what = match b.origin {
            BufferOrigin::Tensor(t) => format!("tensor {t}"),
            BufferOrigin::Scratch(op) => format!("scratch of operator {op}"),
            BufferOrigin::Instance => "buffer".to_owned(),
        };
        writeln!(w, "    {p}_BUF_{id} = {i}, /* {what}: {} */", comment_text(&b.name)).unwrap();
    }
    writeln!(w, "    {p}_BUFFERS_END = {}\n}};\n", buffers.len()).unwrap();

    writeln!(w, "/* Offset and size of every buffer, in bytes. */").unwrap();
    for ((id, &offset), &size) in ids.iter().zip(&offsets).zip(&sizes) {
        writeln!(w, "#define {p}_OFFSET_{id} {offset}u").unwrap();
        writeln!(w, "#define {p}_SIZE_{id} {size}u").unwrap();
    }
    writeln!(w).unwrap();

    let table = |w: &mut String, ty: &str, name: &str, what: &str, values: Vec<String>| {
        writeln!(w, "/* {what} */").unwrap();
        writeln!(w, "static const {ty} {lower}_{name}[] = {{").unwrap();
        for chunk in values.chunks(12) {
            writeln!(w, "    {},", chunk.join(", ")).unwrap();
        }
        writeln!(w, "}};").unwrap();
    };
    let has_buffers = !buffers.is_empty();
    if has_buffers {
        table(
            w,
            "uint32_t",
            "buffer_offsets",
            "Offset of each buffer.",
            offsets.iter().map(|o| format!("{o}u")).collect(),
        );
        table(w, "uint32_t", "buffer_sizes", "Size of each buffer.", sizes.iter().map(|s| format!("{s}u")).collect());
        table(
            w,
            "uint32_t",
            "buffer_first_step",
            "First step each buffer is alive at.",
            buffers.iter().map(|b| format!("{}u", b.live.start)).collect(),
        );
        table(
            w,
            "uint32_t",
            "buffer_end_step",
            "One past the last step each buffer is alive at.",
            buffers.iter().map(|b| format!("{}u", b.live.end)).collect(),
        );
        table(
            w,
            "int32_t",
            "buffer_tensor",
            "The model tensor each buffer holds (-1 for scratch).",
            buffers
                .iter()
                .map(|b| if let BufferOrigin::Tensor(t) = b.origin { t as i64 } else { -1 }.to_string())
                .collect(),
        );
        table(
            w,
            "int32_t",
            "buffer_scratch_op",
            "The operator each scratch buffer serves (-1 for tensors).",
            buffers
                .iter()
                .map(|b| if let BufferOrigin::Scratch(o) = b.origin { o as i64 } else { -1 }.to_string())
                .collect(),
        );
    }
    if !plan.schedule.is_empty() {
        table(
            w,
            "uint32_t",
            "schedule",
            "Operator indices of the .tflite subgraph, in execution order.",
            plan.schedule.iter().map(|op| format!("{op}u")).collect(),
        );
    }
    writeln!(w, "\n/* Compile-time checks (C99: a negative array size fails the build). */").unwrap();
    let check = |w: &mut String, name: &str, condition: String| {
        writeln!(w, "typedef char {lower}_check_{name}[({condition}) ? 1 : -1];").unwrap();
    };
    check(w, "buffer_counts", format!("{p}_TENSOR_BUFFER_COUNT + {p}_SCRATCH_BUFFER_COUNT == {p}_BUFFER_COUNT"));
    check(w, "buffer_enum", format!("(unsigned){p}_BUFFERS_END == {p}_BUFFER_COUNT"));
    if has_buffers {
        for name in ["offsets", "sizes", "first_step", "end_step", "tensor", "scratch_op"] {
            let t = format!("{lower}_buffer_{name}");
            check(w, &format!("{name}_count"), format!("sizeof({t}) / sizeof({t}[0]) == {p}_BUFFER_COUNT"));
        }
    }
    if !plan.schedule.is_empty() {
        let t = format!("{lower}_schedule");
        check(w, "schedule_count", format!("sizeof({t}) / sizeof({t}[0]) == {p}_OP_COUNT"));
    }
    for id in &ids {
        check(
            w,
            &format!("fits_{}", id.to_ascii_lowercase()),
            format!("{p}_OFFSET_{id} + {p}_SIZE_{id} <= {p}_ARENA_BYTES && {p}_OFFSET_{id} % {p}_ALIGNMENT_BYTES == 0"),
        );
    }
    writeln!(w, "\n#endif /* {p}_PLAN_H */").unwrap();
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_upper_case_and_clean() {
        assert_eq!(c_identifier("model/conv2d_1/Relu6"), "MODEL_CONV2D_1_RELU6");
        assert_eq!(c_identifier("serving_default_input:0"), "SERVING_DEFAULT_INPUT_0");
        assert_eq!(c_identifier("__weird--name__"), "WEIRD_NAME");
        assert_eq!(c_identifier("é"), "");
    }

    #[test]
    fn identifiers_are_unique_and_never_start_with_a_digit() {
        let names = ["a;b", "a", "", "1x", "a_2"];
        let ids = unique_identifiers(names.iter().enumerate().map(|(i, n)| (*n, format!("BUFFER{i}"))));
        assert_eq!(ids, vec!["A", "A_2", "BUFFER2", "BUFFER3_1X", "A_2_2"]);
    }
}
