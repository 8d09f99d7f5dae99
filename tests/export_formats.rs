//! The export commands end to end, through the `arenaplan` binary: JSON round trip and `check-plan`, a
//! tampered plan refused with nothing written, the C header compiled and run with gcc, the CSV read back, the
//! TFLM model read back, and the SVG pictures.

use std::path::Path;
use std::process::{Command, Output};

use arenaplan::planner::export::json::{from_json, PlanDocument};
use arenaplan::planner::minimalloc_csv::read_csv;
use arenaplan::planner::{Graph, ValidationError};

fn arenaplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arenaplan")).args(args).output().expect("the binary runs")
}

fn ok(args: &[&str]) -> Output {
    let out = arenaplan(args);
    assert!(out.status.success(), "arenaplan {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// The smallest zoo network: every test here is about formats, not size.
fn model() -> String {
    let mut names = arenaplan::datasets::network_names();
    assert!(!names.is_empty(), "the zoo has no network");
    names.sort_by_key(|n| std::fs::metadata(arenaplan::datasets::model_path(n)).map(|m| m.len()).unwrap_or(u64::MAX));
    names.swap_remove(0)
}

fn export(model: &str, format: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["export", model, "--format", format, "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    arenaplan(&args)
}

fn document(path: &Path) -> PlanDocument {
    from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn json_export_is_checked_back_by_check_plan() {
    let dir = tempfile::tempdir().unwrap();
    let model = model();
    let path = dir.path().join("plan.json");
    assert!(export(&model, "json", &path, &["--strategy", "greedy-by-size"]).status.success());
    let doc = document(&path);
    assert_eq!(doc.strategy, "greedy-by-size");
    assert_eq!(doc.model.name, model);
    let bytes = arenaplan::datasets::model_bytes(&model).unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    assert_eq!(doc.model.operators, graph.op_count());
    let out = ok(&["check-plan", &model, path.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("valid:"));
    // Re-exporting the document as JSON gives the same document.
    let again = dir.path().join("again.json");
    assert!(export(&model, "json", &again, &["--from-json", path.to_str().unwrap()]).status.success());
    assert_eq!(document(&again), doc);
}

#[test]
fn a_tampered_plan_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let model = model();
    let path = dir.path().join("plan.json");
    assert!(export(&model, "json", &path, &[]).status.success());
    // Move a buffer onto another one alive at the same step, keeping the arena consistent.
    let mut doc = document(&path);
    let plan = doc.to_plan().unwrap();
    let (a, b) = plan.problem.time_conflicts()[0];
    doc.buffers[b].offset = doc.buffers[a].offset;
    doc.arena_bytes = doc.buffers.iter().map(|x| x.offset + x.size_bytes).max().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_string(&doc).unwrap()).unwrap();

    let out = arenaplan(&["check-plan", &model, bad.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let expected = ValidationError::Overlap {
        a: a.min(b),
        name_a: doc.buffers[a.min(b)].name.clone(),
        b: a.max(b),
        name_b: doc.buffers[a.max(b)].name.clone(),
    };
    assert!(stderr.contains(&expected.to_string()), "{stderr}");

    for format in ["tflm", "c", "c-program", "json", "csv"] {
        let target = dir.path().join(format!("out.{format}"));
        let out = export(&model, format, &target, &["--from-json", bad.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{format}: {stderr}");
        assert!(stderr.contains("overlap"), "{format}: {stderr}");
        assert!(!target.exists(), "{format}: a refused export wrote its output");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 2, "only the two plans remain: {leftovers:?}");
}

#[test]
fn the_c_header_compiles_with_gcc_and_describes_a_valid_plan() {
    let dir = tempfile::tempdir().unwrap();
    let model = model();
    let json_path = dir.path().join("plan.json");
    assert!(export(&model, "json", &json_path, &[]).status.success());
    let doc = document(&json_path);
    let header = dir.path().join("plan.h");
    let out = export(&model, "c", &header, &["--from-json", json_path.to_str().unwrap(), "--prefix", "plan"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A C program that checks the tables itself: no two buffers alive together share a byte, and the arena is
    // exactly max(offset + size).
    let program = dir.path().join("check.c");
    std::fs::write(
        &program,
        r#"#include <stdio.h>
#include "plan.h"
int main(void) {
    unsigned i, j;
    unsigned long peak = 0;
    for (i = 0; i < PLAN_BUFFER_COUNT; i++) {
        unsigned long end = (unsigned long)plan_buffer_offsets[i] + plan_buffer_sizes[i];
        if (end > peak) peak = end;
        for (j = i + 1; j < PLAN_BUFFER_COUNT; j++) {
            int in_time = plan_buffer_first_step[i] < plan_buffer_end_step[j]
                && plan_buffer_first_step[j] < plan_buffer_end_step[i];
            int in_memory = plan_buffer_offsets[i] < plan_buffer_offsets[j] + plan_buffer_sizes[j]
                && plan_buffer_offsets[j] < plan_buffer_offsets[i] + plan_buffer_sizes[i];
            if (in_time && in_memory) { printf("overlap %u %u\n", i, j); return 1; }
        }
    }
    printf("%lu %u %u %u\n", peak, (unsigned)PLAN_ARENA_BYTES, (unsigned)PLAN_BUFFER_COUNT, (unsigned)PLAN_OP_COUNT);
    return 0;
}
"#,
    )
    .unwrap();
    let exe = dir.path().join("check");
    let gcc = Command::new("gcc")
        .args(["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-o"])
        .arg(&exe)
        .arg(&program)
        .current_dir(dir.path())
        .output()
        .expect("gcc is installed (apt-get install gcc)");
    assert!(gcc.status.success(), "gcc refused the header: {}", String::from_utf8_lossy(&gcc.stderr));
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stdout));
    let expected = format!("{0} {0} {1} {2}\n", doc.arena_bytes, doc.buffers.len(), doc.schedule.len());
    assert_eq!(String::from_utf8_lossy(&run.stdout), expected);
}

#[test]
fn csv_and_tflm_exports_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let model = model();
    let json_path = dir.path().join("plan.json");
    assert!(export(&model, "json", &json_path, &[]).status.success());
    let doc = document(&json_path);
    let from = ["--from-json", json_path.to_str().unwrap()];

    let csv_path = dir.path().join("plan.csv");
    assert!(export(&model, "csv", &csv_path, &from).status.success());
    let csv = read_csv(&std::fs::read_to_string(&csv_path).unwrap()).unwrap();
    let offsets: Vec<u64> = doc.buffers.iter().map(|b| b.offset).collect();
    assert_eq!(csv.offsets, Some(offsets));

    let tflm_path = dir.path().join("plan.tflite");
    assert!(export(&model, "tflm", &tflm_path, &from).status.success());
    let exported = std::fs::read(&tflm_path).unwrap();
    let graph = Graph::from_bytes(&exported).expect("our reader reads the export");
    assert_eq!(graph.op_count(), doc.model.operators);
    // And the exported model takes the same plan (its SHA-256 differs, so through the library, not check-plan).
    let plan = doc.to_plan().unwrap();
    arenaplan::planner::export::checked_problem(&graph, &plan).unwrap();
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn plan_and_compare_draw_svg_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let model = model();
    let json_path = dir.path().join("plan.json");
    assert!(export(&model, "json", &json_path, &[]).status.success());
    let buffers = document(&json_path).buffers.len();

    let one = dir.path().join("one.svg");
    ok(&["plan", &model, "--strategy", "greedy-by-size", "--svg", one.to_str().unwrap()]);
    let text = std::fs::read_to_string(&one).unwrap();
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    // One tooltip per buffer, each inside its rectangle.
    assert_eq!(count(&text, "<title>"), buffers);
    assert!(text.contains("arena ") && text.contains("bound "));

    let two = dir.path().join("two.svg");
    let out = ok(&[
        "compare",
        &model,
        "--strategy",
        "greedy-by-size",
        "--strategy",
        "greedy-by-size-best-fit",
        "--svg",
        two.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("greedy-by-size-best-fit"));
    let text = std::fs::read_to_string(&two).unwrap();
    assert_eq!(count(&text, "<title>"), 2 * buffers);
}

#[test]
fn an_unknown_format_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = export(&model(), "pdf", &dir.path().join("x"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tflm"));
}

/// The plan documents committed in `results/plans/` still hold for the zoo models they name: a change of the
/// models or of the lowering makes them stale, and this says which command regenerates them.
#[test]
fn committed_plan_documents_still_hold() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("results").join("plans");
    let mut checked = 0;
    for entry in std::fs::read_dir(&folder).expect("results/plans/ exists") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let doc = document(&path);
        let out = arenaplan(&["check-plan", &doc.model.name, path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{} is stale: {}\nregenerate it with: cargo run --release -- export {} --strategy {} --format json -o {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr),
            doc.model.name,
            doc.strategy,
            Path::new("results/plans").join(path.file_name().unwrap()).display()
        );
        checked += 1;
    }
    assert!(checked > 0, "no plan document in results/plans/");
}
