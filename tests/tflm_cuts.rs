//! TFLM parity on odd files (issue 11, items 9 and 10), checked against TFLM itself.
//!
//! Cuts: every zoo network is cut after each of its operators ([`cut_after`]: the operators after the cut are
//! dropped and the subgraph's outputs become that operator's outputs, while every tensor stays in the file, so
//! the tensors of the dropped operators are used by no operator). On every cut, our TFLM-exact baseline (the
//! lowering + `greedy-by-size`) must equal the head TFLM's own interpreter reports (`print_allocations`, read
//! by `scripts/tflm_heads.py`). Networks of more than [`MAX_CUTS`] operators are cut at an evenly spread
//! subset of that many operators (always including the first and the last) to keep the test's run time near
//! a minute; the rest are cut after every operator.
//!
//! The `tflm` export of each cut (the `best-of` plan, unused tensors included) must run in TFLM at the head
//! arenaplan predicts for it ([`predicted_tflm_head`]).
//!
//! Embedded plans: a model that already carries an offline plan is followed by TFLM; our computed TFLM head
//! for it ([`embedded_plan`]) must equal TFLM's, and `arenaplan plan` must say that the model carries a plan.
//!
//! TFLM runs only when `ARENAPLAN_TFLM_PYTHON` names a Python with the `tflite-micro` package; without it the
//! TFLM comparisons say loudly that they did not run, and fail when `CI` is set. The parts that need no TFLM
//! (the cut files load, the unused tensors are planned) always run.

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use arenaplan::datasets;
use arenaplan::planner::export::tflm::{
    cut_after, embedded_plan, offline_plan_words, predicted_tflm_head, to_tflm, with_offline_plan,
};
use arenaplan::planner::{lower, BufferOrigin, Graph, PlanRequest};

/// Most cut points per network.
const MAX_CUTS: usize = 24;

fn tflm_python() -> Option<String> {
    common::tflm_python("TFLM CHECK (the cut models against TFLM's head)", "tflm_cuts")
}

/// TFLM's head for each model file (`scripts/tflm_heads.py`).
fn tflm_heads(python: &str, paths: &[PathBuf]) -> BTreeMap<PathBuf, Result<u64, String>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts").join("tflm_heads.py");
    let out = Command::new(python).arg(script).args(paths).output().expect("the TFLM Python runs");
    assert!(out.status.success(), "tflm_heads.py failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut heads = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("one JSON object per line");
        let path = PathBuf::from(record["path"].as_str().expect("a path"));
        let head = match record.get("head").and_then(|h| h.as_u64()) {
            Some(head) => Ok(head),
            None => Err(record.to_string()),
        };
        heads.insert(path, head);
    }
    heads
}

/// Our TFLM-exact baseline: the lowering in file order with TFLM's alignment, placed by `greedy-by-size`.
fn our_tflm_head(bytes: &[u8]) -> (u64, usize) {
    let graph = Graph::from_bytes(bytes).expect("the cut model loads");
    let strategy = arenaplan::strategies::strategy_by_name("greedy-by-size").expect("registered");
    let plan = strategy.plan(&graph, &PlanRequest::default()).expect("greedy plans it");
    let unwritten = lower(&graph, &graph.default_schedule(), &PlanRequest::default()).unwrap().unwritten_tensors;
    (plan.arena_bytes, unwritten)
}

/// The operators to cut after: all of them, or [`MAX_CUTS`] spread evenly (first and last included).
fn cut_points(ops: usize) -> Vec<usize> {
    if ops <= MAX_CUTS {
        return (0..ops).collect();
    }
    let mut points: Vec<usize> = (0..MAX_CUTS).map(|k| k * (ops - 1) / (MAX_CUTS - 1)).collect();
    points.dedup();
    points
}

#[test]
fn cut_networks_match_tflm_head() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases: Vec<(String, usize, PathBuf, u64, usize)> = Vec::new();
    let mut exports: Vec<(String, usize, PathBuf, u64)> = Vec::new();
    let best_of = arenaplan::strategies::strategy_by_name("best-of").expect("registered");
    for name in datasets::network_names() {
        let bytes = datasets::model_bytes(&name).unwrap();
        let ops = Graph::from_bytes(&bytes).unwrap().op_count();
        for op in cut_points(ops) {
            let cut = cut_after(&bytes, op).unwrap_or_else(|e| panic!("{name} cut after {op}: {e}"));
            let (head, unwritten) = our_tflm_head(&cut);
            let path = dir.path().join(format!("{name}.cut{op}.tflite"));
            std::fs::write(&path, &cut).unwrap();
            cases.push((name.clone(), op, path, head, unwritten));
            let graph = Graph::from_bytes(&cut).unwrap();
            let plan = best_of.plan(&graph, &PlanRequest::default()).unwrap();
            let exported = to_tflm(&graph, &plan).unwrap_or_else(|e| panic!("{name} cut after {op}: {e}"));
            let path = dir.path().join(format!("{name}.cut{op}.best-of.tflite"));
            std::fs::write(&path, exported).unwrap();
            exports.push((name.clone(), op, path, predicted_tflm_head(&plan.problem, &plan.offsets)));
        }
    }
    // The cuts do leave tensors no operator uses: otherwise this test would not test them.
    assert!(cases.iter().filter(|c| c.4 > 0).count() > cases.len() / 2, "too few cuts leave unused tensors");
    let Some(python) = tflm_python() else { return };
    let paths: Vec<PathBuf> = cases.iter().map(|c| c.2.clone()).chain(exports.iter().map(|e| e.2.clone())).collect();
    let heads = tflm_heads(&python, &paths);
    let mut failures = Vec::new();
    for (name, op, path, predicted) in &exports {
        match &heads[path] {
            Ok(tflm) if tflm == predicted => {}
            other => failures
                .push(format!("{name} cut after op {op}, best-of exported: predicted {predicted} B, TFLM {other:?}")),
        }
    }
    for (name, op, path, ours, unwritten) in &cases {
        match &heads[path] {
            Ok(tflm) if tflm == ours => {}
            Ok(tflm) => {
                failures.push(format!("{name} cut after op {op}: ours {ours} B, TFLM {tflm} B ({unwritten} unused)"))
            }
            Err(e) => failures.push(format!("{name} cut after op {op}: TFLM refused it: {e}")),
        }
    }
    let _ = writeln!(std::io::stderr().lock(), "{} cuts and {} exports compared with TFLM", cases.len(), exports.len());
    assert!(failures.is_empty(), "{} of {} cuts differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// A zoo model carrying an offline plan that is not TFLM's own greedy placement: every tensor buffer of the
/// plain lowering stacked (no reuse), so TFLM's head is the sum of the tensors plus what its greedy adds for
/// the scratch around them.
fn with_stacked_plan(bytes: &[u8]) -> Vec<u8> {
    let graph = Graph::from_bytes(bytes).unwrap();
    let problem = lower(&graph, &graph.default_schedule(), &PlanRequest::default()).unwrap().problem;
    let mut offsets = Vec::new();
    let mut next = 0;
    for b in &problem.buffers {
        offsets.push(next);
        if matches!(b.origin, BufferOrigin::Tensor(_)) {
            next += b.size_bytes;
        }
    }
    let model = graph.model();
    let words = offline_plan_words(&problem, &offsets, model.subgraph_count, model.total_tensor_count).unwrap();
    with_offline_plan(bytes, &words).unwrap()
}

#[test]
fn an_embedded_offline_plan_is_reported_and_followed_as_tflm_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for name in ["mobilenet_v1_025_96", "ds_cnn_49x10", "mobilenet_v3_mini"] {
        let bytes = datasets::model_bytes(name).unwrap();
        let planned = with_stacked_plan(&bytes);
        let graph = Graph::from_bytes(&planned).unwrap();
        let problem = lower(&graph, &graph.default_schedule(), &PlanRequest::default()).unwrap().problem;
        let embedded = embedded_plan(&graph, &problem).unwrap().expect("the model carries a plan");
        let (greedy, _) = our_tflm_head(&planned);
        assert!(embedded.head_bytes > greedy, "{name}: the stacked plan should need more than TFLM's greedy");
        let path = dir.path().join(format!("{name}.tflite"));
        std::fs::write(&path, &planned).unwrap();
        // `plan` says that the model carries a plan and compares with TFLM's head for it.
        let out = Command::new(env!("CARGO_BIN_EXE_arenaplan"))
            .args(["plan", path.to_str().unwrap(), "-s", "greedy-by-size"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("carries an offline memory plan"), "{stdout}");
        assert!(stdout.contains(&format!("TFLM head {} B", embedded.head_bytes)), "{stdout}");
        cases.push((name, path, embedded.head_bytes));
        // Without a plan the model says nothing of the kind.
        let plain = Graph::from_bytes(&bytes).unwrap();
        assert_eq!(embedded_plan(&plain, &problem).unwrap(), None, "{name}");
    }
    let Some(python) = tflm_python() else { return };
    let paths: Vec<PathBuf> = cases.iter().map(|c| c.1.clone()).collect();
    let heads = tflm_heads(&python, &paths);
    for (name, path, ours) in cases {
        assert_eq!(heads[&path], Ok(ours), "{name}: TFLM's head with the embedded plan");
    }
}
