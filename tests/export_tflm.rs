//! The TFLM export, checked by TFLM itself: for every zoo model (networks and single-op models), the
//! `greedy-by-size` plan and the best plan of the registry are exported with `arenaplan export --format tflm` and run in TFLM's Python interpreter
//! (`scripts/check_tflm_export.py`) on the golden inputs. The outputs must be identical to those of the model
//! without a plan (and to the goldens), and TFLM's head bytes must equal what arenaplan predicts.
//!
//! What "predicts" means: the offline plan format has entries for tensors only. TFLM places every scratch buffer
//! itself, online, with its greedy rule (largest first, lowest offset free of buffers alive at the same step),
//! around the offline tensors. So TFLM's head is our arena when its rule puts the scratch where our plan did, and
//! can be more when our plan put a scratch buffer somewhere TFLM's rule does not find (e.g. a gap an optimal
//! packer found below a tensor TFLM's rule visits first). `predicted_tflm_head` replays that rule; the test
//! asserts TFLM's head equals it exactly, and prints both beside our arena.
//!
//! TFLM runs only when `ARENAPLAN_TFLM_PYTHON` names a Python with the `tflite-micro` package. Without it the
//! test says loudly that it did not run, and fails when `CI` is set.

mod common;

use std::path::Path;
use std::process::Command;

use arenaplan::datasets;
use arenaplan::planner::export::json::from_json;
use arenaplan::planner::export::tflm::predicted_tflm_head;

fn arenaplan(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_arenaplan")).args(args).output().expect("the binary runs");
    assert!(out.status.success(), "arenaplan {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn tflm_python() -> Option<String> {
    common::tflm_python("TFLM CHECK (the exported offline plans run in TFLM)", "export_tflm")
}

/// Export `model` with `strategy` as JSON, then the same plan as TFLM; returns (arena, predicted TFLM head).
fn export_pair(model: &str, strategy: &str, dir: &Path) -> (u64, u64) {
    let json_path = dir.join(format!("{model}.{strategy}.json"));
    let tflm_path = dir.join(format!("{model}.{strategy}.tflite"));
    arenaplan(&[
        "export",
        model,
        "--strategy",
        strategy,
        "--time-limit-ms",
        "3000",
        "--format",
        "json",
        "-o",
        json_path.to_str().unwrap(),
    ]);
    arenaplan(&[
        "export",
        model,
        "--from-json",
        json_path.to_str().unwrap(),
        "--format",
        "tflm",
        "-o",
        tflm_path.to_str().unwrap(),
    ]);
    let plan = from_json(&std::fs::read_to_string(&json_path).unwrap()).unwrap().to_plan().unwrap();
    (plan.arena_bytes, predicted_tflm_head(&plan.problem, &plan.offsets))
}

#[test]
fn exported_plans_run_in_tflm_with_identical_outputs_and_the_predicted_head() {
    let networks = datasets::network_names();
    assert!(!networks.is_empty(), "the zoo has no network");
    let models = datasets::model_names();
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts").join("check_tflm_export.py");
    // Export everything first: that part needs no Python and must work everywhere.
    let mut cases = Vec::new();
    for model in &models {
        assert!(!datasets::goldens(model).unwrap().is_empty(), "{model} has no golden sample");
        for strategy in ["greedy-by-size", "best"] {
            let (arena, predicted) = export_pair(model, strategy, dir.path());
            cases.push((model.clone(), strategy, arena, predicted));
        }
    }
    let Some(python) = tflm_python() else { return };
    let mut failures = Vec::new();
    println!(
        "{:<34} {:<16} {:>10} {:>14} {:>10} {:>12}",
        "model", "plan", "arena B", "predicted B", "TFLM head", "online head"
    );
    for (model, strategy, arena, predicted) in &cases {
        let exported = dir.path().join(format!("{model}.{strategy}.tflite"));
        let golden = datasets::root().join("golden").join(model);
        let out = Command::new(&python)
            .arg(&script)
            .arg(datasets::model_path(model))
            .arg(&exported)
            .arg("--golden")
            .arg(&golden)
            .arg("--expected-head")
            .arg(predicted.to_string())
            .output()
            .expect("the TFLM Python runs");
        let report: serde_json::Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(_) => {
                failures.push(format!("{model}/{strategy}: no report: {}", String::from_utf8_lossy(&out.stderr)));
                continue;
            }
        };
        println!(
            "{:<34} {:<16} {:>10} {:>14} {:>10} {:>12}",
            model, strategy, arena, predicted, report["head_bytes"], report["original_tflm"]["head"]
        );
        if report["ok"] != serde_json::Value::Bool(true) || !out.status.success() {
            failures.push(format!("{model}/{strategy}: {}", report["problems"]));
        }
    }
    assert!(failures.is_empty(), "TFLM disagrees with the exported plans: {failures:#?}");
}
