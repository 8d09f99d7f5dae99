//! Bad input never panics: the CLI names the problem on stderr and exits with status 2.

use std::process::Command;

fn arenaplan(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_arenaplan")).args(args).output().expect("the binary runs")
}

fn assert_fails_naming(args: &[&str], needle: &str) {
    let out = arenaplan(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit status for {args:?}; stderr: {stderr}");
    assert!(stderr.contains(needle), "stderr for {args:?} should mention `{needle}`: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn missing_model_is_an_error() {
    assert_fails_naming(&["plan", "no_such_model_anywhere"], "neither a file nor a zoo model");
}

#[test]
fn a_file_that_is_not_tflite_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.tflite");
    std::fs::write(&path, b"this is a text file, not a flatbuffer at all").unwrap();
    assert_fails_naming(&["plan", path.to_str().unwrap()], "TFL3");
}

#[test]
fn a_truncated_model_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.tflite");
    let bytes = arenaplan_datasets::model_bytes("mobilenet_v2_035_96").expect("zoo model");
    std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
    let out = arenaplan(&["inspect", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn an_unknown_strategy_is_an_error_listing_the_known_ones() {
    assert_fails_naming(&["plan", "--strategy", "magic"], "greedy-by-size");
}

#[test]
fn a_malformed_csv_instance_is_an_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, "id,lower,upper,size\n0,0,2,64\n1,3,1,32\n").unwrap();
    assert_fails_naming(&["pack", path.to_str().unwrap()], "line 3");
}

#[test]
fn an_impossible_capacity_is_an_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.csv");
    let out_path = dir.path().join("solution.csv");
    std::fs::write(&path, "id,lower,upper,size\na,0,2,64\nb,1,3,64\n").unwrap();
    assert_fails_naming(
        &["pack", path.to_str().unwrap(), "--capacity", "100", "-o", out_path.to_str().unwrap()],
        "100 bytes",
    );
    assert!(!out_path.exists(), "no solution file is written on failure");
}

#[test]
fn an_optimized_plan_is_not_exported_to_tflm_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model.tflite");
    let args = ["export", "ds_cnn_49x10", "--kernels", "optimized", "-f", "tflm", "-o", out.to_str().unwrap()];
    assert_fails_naming(&args, "--kernels reference");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing written");
}

#[test]
fn an_unknown_kernel_set_is_an_error_naming_the_known_ones() {
    assert_fails_naming(&["run", "ds_cnn_49x10", "--kernels", "fastest"], "reference");
}

#[test]
fn a_capacity_below_the_proven_bound_is_refused_by_exact_and_one_above_it_is_planned_within() {
    assert_fails_naming(&["plan", "mobilenet_v1_025_96", "-s", "exact", "--capacity", "50000"], "no packing fits");
    assert_fails_naming(&["plan", "mobilenet_v1_025_96", "-s", "greedy-by-size", "--capacity", "60000"], "capacity");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let args = ["export", "mobilenet_v1_025_96", "-s", "exact", "--capacity", "60000", "-f", "json", "-o"];
    let ok = arenaplan(&[&args[..], &[out.to_str().unwrap()]].concat());
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(doc.to_string().contains("\"capacity_bytes\":60000"), "the capacity travels with the plan");
    let checked = arenaplan(&["check-plan", "mobilenet_v1_025_96", out.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(0), "{}", String::from_utf8_lossy(&checked.stderr));
}
