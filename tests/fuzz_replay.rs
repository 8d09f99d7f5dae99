//! Replays every fuzz input kept under `fuzz/` on the stable toolchain: the seeds (`fuzz/seeds/<target>/`),
//! the minimised corpora the fuzzer grew (`fuzz/corpus/<target>/`) and every crash it found
//! (`fuzz/regressions/<target>/`), through exactly the code the fuzz targets run (`fuzz/src/lib.rs`, included
//! here). A panic or a broken invariant fails the test and names the file. See `fuzz/README.md`.

use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod paths;

/// Every file of `fuzz/<kind>/<target>/`, sorted.
fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(kind).join(target);
    let mut out: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

/// Run `path` on every kept input of `target`; returns how many inputs ran.
fn replay(target: &str, path: fn(&[u8]) -> Result<&'static str, String>) -> usize {
    let mut failures = Vec::new();
    let mut count = 0;
    for kind in ["seeds", "corpus", "regressions"] {
        for file in files(kind, target) {
            let data = std::fs::read(&file).unwrap();
            count += 1;
            match std::panic::catch_unwind(|| path(&data)) {
                Ok(Ok(_)) => {}
                Ok(Err(broken)) => failures.push(format!("{}: {broken}", file.display())),
                Err(_) => failures.push(format!("{}: panicked", file.display())),
            }
        }
    }
    assert!(failures.is_empty(), "{target}: {} of {count} inputs fail:\n{}", failures.len(), failures.join("\n"));
    count
}

#[test]
fn tflite_inputs_replay() {
    assert!(files("seeds", "tflite").len() >= 10, "the tflite seeds are missing");
    replay("tflite", paths::tflite);
}

#[test]
fn csv_inputs_replay() {
    assert!(!files("seeds", "csv").is_empty(), "the csv seeds are missing");
    replay("csv", paths::csv);
}

#[test]
fn plan_json_inputs_replay() {
    assert!(!files("seeds", "plan_json").is_empty(), "the plan_json seeds are missing");
    replay("plan_json", paths::plan_json);
}

/// The paths really check something: a seed plan checks, and the same plan with a forged bound is refused.
#[test]
fn the_replayed_paths_reach_their_checks() {
    let seed = files("seeds", "plan_json").into_iter().find(|p| p.to_string_lossy().contains("greedy")).unwrap();
    let text = std::fs::read_to_string(&seed).unwrap();
    assert_eq!(paths::plan_json(text.as_bytes()), Ok("checked"));
    let forged = text.replacen("\"lower_bound_bytes\": ", "\"lower_bound_bytes\": 1", 1);
    assert_eq!(paths::plan_json(forged.as_bytes()), Ok("refused"));
    let conv = files("seeds", "tflite").into_iter().find(|p| p.to_string_lossy().contains("op_conv_relu")).unwrap();
    assert_eq!(paths::tflite(&std::fs::read(conv).unwrap()), Ok("ran"));
    assert_eq!(paths::csv(b"id,lower,upper,size\n0,0,2,16\n1,1,3,32\n"), Ok("packed"));
}
