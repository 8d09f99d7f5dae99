//! The `tensor_arena` size `arenaplan export --format tflm` states, checked by TFLM's own Python interpreter
//! (the 64-bit host build): for every zoo network and a handful of single-op models, the model exported with the
//! best plan of the registry (`-s best`) must allocate with exactly the stated size, run with outputs identical
//! to the golden outputs (which `arenaplan run` reproduces on every single-input model, checked here too), and
//! fail with 16 bytes less (`scripts/tflm_arena_check.py`, one batched Python process).
//!
//! The same is checked for the original models (no offline plan: TFLM plans its head itself), with the size
//! `tflm_arena_for_model` gives. "Exactly" means the stated size is TFLM's minimum: the bisected smallest size
//! with which TFLM allocates must equal it.
//!
//! TFLM runs only when `ARENAPLAN_TFLM_PYTHON` names a Python with the `tflite-micro` package (the CI venv is
//! `target/ci-venv-tflm/bin/python`). Without it the test says loudly that it did not run, and fails when `CI`
//! is set.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use arenaplan::datasets;
use arenaplan::planner::export::tflm_arena::{tflm_arena_for_model, TflmBuild};
use arenaplan::planner::Graph;

const SINGLE_OPS: &[&str] = &["op_conv_relu", "op_dwconv_3x3", "op_add_relu", "op_softmax", "op_maxpool", "op_mean_hw"];

fn tflm_python() -> Option<String> {
    common::tflm_python("TFLM ARENA SIZE CHECK", "tflm_arena_size")
}

/// Run the binary; its stderr.
fn arenaplan(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_arenaplan")).args(args).output().expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "arenaplan {args:?} failed: {stderr}");
    stderr
}

/// The 64-bit host figure of the export's `TFLM tensor_arena:` line.
fn stated_host_bytes(stderr: &str) -> u64 {
    let line = stderr.lines().find(|l| l.starts_with("TFLM tensor_arena:")).expect("the export states the arena");
    let before = &line[..line.find(" B on a 64-bit host").expect("the 64-bit host figure")];
    let figure = before.rsplit(' ').next().unwrap();
    figure.parse().expect("a number of bytes")
}

#[test]
fn stated_tflm_arena_is_tflms_minimum() {
    let dir = tempfile::tempdir().unwrap();
    let mut models = datasets::network_names();
    assert!(!models.is_empty(), "the zoo has no network");
    models.extend(SINGLE_OPS.iter().map(|s| s.to_string()));
    let golden_root = datasets::root().join("golden");
    let mut cases = Vec::new();
    for model in &models {
        let tflite = dir.path().join(format!("{model}.tflite"));
        let stderr = arenaplan(&[
            "export",
            model,
            "-s",
            "best",
            "--time-limit-ms",
            "3000",
            "--format",
            "tflm",
            "-o",
            tflite.to_str().unwrap(),
        ]);
        let stated = stated_host_bytes(&stderr);
        // The golden sample's inputs and outputs (TFLM's outputs for the model); `arenaplan run` must give the
        // same first output on a single-input model, so TFLM's outputs in the stated arena are also ours.
        let golden = golden_root.join(model);
        let numbered = |prefix: &str| -> Vec<std::path::PathBuf> {
            (0..).map(|i| golden.join(format!("sample0_{prefix}{i}.bin"))).take_while(|p| p.exists()).collect()
        };
        let (inputs, expected) = (numbered("input"), numbered("output"));
        assert!(!inputs.is_empty() && !expected.is_empty(), "{model} has no golden sample");
        if inputs.len() == 1 {
            let ours = dir.path().join(format!("{model}.out"));
            arenaplan(&["run", model, "--input", inputs[0].to_str().unwrap(), "-o", ours.to_str().unwrap()]);
            assert_eq!(std::fs::read(&ours).unwrap(), std::fs::read(&expected[0]).unwrap(), "{model}: run != golden");
        }
        cases.push(serde_json::json!({
            "name": model, "model": tflite, "arena_bytes": stated, "inputs": inputs, "expected_outputs": expected,
        }));
        let original = datasets::model_bytes(model).unwrap();
        let own = tflm_arena_for_model(&Graph::from_bytes(&original).unwrap(), TflmBuild::HOST_PYTHON_64).unwrap();
        cases.push(serde_json::json!({
            "name": format!("{model} (TFLM's own plan)"), "model": datasets::model_path(model),
            "arena_bytes": own.arena_bytes, "inputs": inputs, "expected_outputs": expected,
        }));
    }
    let Some(python) = tflm_python() else { return };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts").join("tflm_arena_check.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the TFLM Python runs");
    child.stdin.take().unwrap().write_all(serde_json::Value::Array(cases.clone()).to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the TFLM check script failed");
    let mut failures = Vec::new();
    println!("{:<44} {:>10} {:>12}", "model", "stated B", "TFLM min B");
    for (line, case) in String::from_utf8_lossy(&out.stdout).lines().zip(&cases) {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        let name = case["name"].as_str().unwrap();
        let stated = case["arena_bytes"].as_u64().unwrap();
        println!("{:<44} {:>10} {:>12}", name, stated, r["minimum_bytes"]);
        if r["minimum_bytes"].as_u64() != Some(stated)
            || r["allocates"] != true
            || r["smaller_fails"] != true
            || r["outputs_identical"] != true
        {
            failures.push(format!("{name}: stated {stated} B, TFLM: {r}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
