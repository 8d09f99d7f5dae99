//! The command line on hostile surroundings (issue 11, items 5 and 6): an output path that is a directory or
//! cannot be written leaves nothing behind, and a closed standard output ends every printing command quietly.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const MODEL: &str = "fc_autoencoder_640";

fn arenaplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arenaplan")).args(args).output().expect("the binary runs")
}

/// Every entry of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// A small allocation instance in `dir`.
fn instance(dir: &Path) -> String {
    let path = dir.join("instance.csv");
    std::fs::write(&path, "id,lower,upper,size\na,0,2,64\nb,1,3,32\n").unwrap();
    path.to_str().unwrap().to_owned()
}

/// The commands that write a file, each with `target` as the file.
fn writing_commands(dir: &Path, target: &str) -> Vec<Vec<String>> {
    let csv = instance(dir);
    [
        vec!["export", MODEL, "--format", "json", "-o", target],
        vec!["export", MODEL, "--format", "c", "-o", target],
        vec!["pack", &csv, "-o", target],
        vec!["run", MODEL, "-o", target],
        vec!["plan", MODEL, "-s", "greedy-by-size", "--svg", target],
        vec!["compare", MODEL, "-s", "greedy-by-size", "--svg", target],
    ]
    .into_iter()
    .map(|args| args.into_iter().map(str::to_owned).collect())
    .collect()
}

fn assert_exit_2_naming(args: &[String], out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(needle), "{args:?} should mention `{needle}`: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
}

#[test]
fn an_output_that_is_a_directory_is_refused_and_nothing_is_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out");
    std::fs::create_dir(&target).unwrap();
    for args in writing_commands(dir.path(), target.to_str().unwrap()) {
        let out = Command::new(env!("CARGO_BIN_EXE_arenaplan")).args(&args).output().unwrap();
        assert_exit_2_naming(&args, &out, "is a directory");
        assert_eq!(entries(dir.path()), ["instance.csv", "out"], "{args:?} left files behind");
        assert!(entries(&target).is_empty(), "{args:?} wrote into the directory");
    }
}

#[test]
fn an_output_in_a_missing_directory_is_an_error_and_nothing_is_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("missing").join("out.bin");
    for args in writing_commands(dir.path(), target.to_str().unwrap()) {
        let out = Command::new(env!("CARGO_BIN_EXE_arenaplan")).args(&args).output().unwrap();
        assert_exit_2_naming(&args, &out, "cannot write");
        assert_eq!(entries(dir.path()), ["instance.csv"], "{args:?} left files behind");
    }
}

#[test]
fn a_written_output_is_complete_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.file");
    for args in writing_commands(dir.path(), target.to_str().unwrap()) {
        let out = Command::new(env!("CARGO_BIN_EXE_arenaplan")).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(entries(dir.path()), ["instance.csv", "out.file"], "{args:?}");
        assert!(std::fs::metadata(&target).unwrap().len() > 0, "{args:?}");
        std::fs::remove_file(&target).unwrap();
    }
}

/// Run with standard output connected to a socket whose other end is already closed: every write fails with
/// `EPIPE`, deterministically (no race with a reader that has not gone yet).
#[cfg(unix)]
fn run_with_closed_stdout(args: &[String]) -> Output {
    use std::os::fd::OwnedFd;
    use std::os::unix::net::UnixStream;
    let (ours, theirs) = UnixStream::pair().unwrap();
    drop(ours);
    Command::new(env!("CARGO_BIN_EXE_arenaplan"))
        .args(args)
        .stdout(Stdio::from(OwnedFd::from(theirs)))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_every_printing_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let csv = instance(dir.path());
    let plan = dir.path().join("plan.json");
    let export = arenaplan(&["export", MODEL, "--format", "json", "-o", plan.to_str().unwrap()]);
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let commands: Vec<Vec<&str>> = vec![
        vec!["inspect", MODEL],
        vec!["plan", MODEL, "-s", "greedy-by-size"],
        vec!["plan", MODEL, "-s", "greedy-by-size", "--json"],
        vec!["compare", MODEL, "-s", "greedy-by-size"],
        vec!["run", MODEL],
        vec!["pack", &csv],
        vec!["check-plan", MODEL, plan.to_str().unwrap()],
    ];
    for args in commands {
        let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        let out = run_with_closed_stdout(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("error"), "{args:?} should stop quietly: {stderr}");
    }
}

/// Finding (item 1): a model with a fused RELU and an output zero point outside [-128, 127] was accepted by
/// `plan` and every `export`, then `run` panicked. Now every command refuses it the same way, naming the tensor.
#[test]
fn a_model_that_cannot_run_is_refused_by_every_command() {
    let mut bytes = arenaplan_datasets::model_bytes("op_conv_relu").expect("zoo model");
    let graph = arenaplan_planner::Graph::from_bytes(&bytes).unwrap();
    let out = graph.model().operators[0].outputs[0];
    let zp = graph.model().tensors[out].quantization.as_ref().unwrap().zero_points[0];
    // The zero-point vector as the file stores it: a u32 length of 1, then the i64.
    let mut needle = 1u32.to_le_bytes().to_vec();
    needle.extend_from_slice(&zp.to_le_bytes());
    let spots: Vec<usize> =
        bytes.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i + 4).collect();
    assert!(!spots.is_empty());
    drop(graph);
    for at in spots {
        bytes[at..at + 8].copy_from_slice(&200i64.to_le_bytes());
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bad_zero_point.tflite");
    std::fs::write(&model, &bytes).unwrap();
    let model = model.to_str().unwrap();
    let target = dir.path().join("out").to_str().unwrap().to_owned();
    let commands: Vec<Vec<&str>> = vec![
        vec!["plan", model],
        vec!["export", model, "--format", "tflm", "-o", &target],
        vec!["export", model, "--format", "c", "-o", &target],
        vec!["run", model],
    ];
    for args in commands {
        let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        let out = Command::new(env!("CARGO_BIN_EXE_arenaplan")).args(&args).output().unwrap();
        assert_exit_2_naming(&args, &out, "zero point 200 is outside [-128, 127]");
    }
    assert_eq!(entries(dir.path()), ["bad_zero_point.tflite"]);
}

/// Finding (item 2): a tiny file planned to a 2 GB arena and `run` allocated it. Each tensor is now bounded,
/// and so is the arena: three 30 MiB tensors alive at once (an ADD) need more than `MAX_ARENA_BYTES`.
#[test]
fn a_plan_above_the_arena_limit_is_refused_naming_it() {
    let mut bytes = arenaplan_datasets::model_bytes("op_add_relu").expect("zoo model");
    // Every tensor is [1, 6, 5, 4]; make each [1, 6, 5, 1310720] (30 MiB) wherever that shape is stored.
    let mut needle = 4u32.to_le_bytes().to_vec();
    [1i32, 6, 5, 4].iter().for_each(|d| needle.extend_from_slice(&d.to_le_bytes()));
    let spots: Vec<usize> =
        bytes.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i + 4).collect();
    assert!(!spots.is_empty());
    for at in spots {
        bytes[at + 12..at + 16].copy_from_slice(&1_310_720i32.to_le_bytes());
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("wide_add.tflite");
    std::fs::write(&model, &bytes).unwrap();
    let model = model.to_str().unwrap();
    for args in [vec!["plan", model, "-s", "greedy-by-size"], vec!["run", model]] {
        let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        let out = Command::new(env!("CARGO_BIN_EXE_arenaplan")).args(&args).output().unwrap();
        assert_exit_2_naming(&args, &out, "MAX_ARENA_BYTES");
    }
}

/// A closed standard error (where notes and errors go) does not turn a success into a panic, nor an error
/// into anything but exit status 2.
#[cfg(unix)]
#[test]
fn a_closed_stderr_changes_nothing_but_the_silence() {
    use std::os::fd::OwnedFd;
    use std::os::unix::net::UnixStream;
    let dir = tempfile::tempdir().unwrap();
    let csv = instance(dir.path());
    let out = dir.path().join("solution.csv");
    let status = |args: &[&str]| {
        let (ours, theirs) = UnixStream::pair().unwrap();
        drop(ours);
        Command::new(env!("CARGO_BIN_EXE_arenaplan"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::from(OwnedFd::from(theirs)))
            .status()
            .unwrap()
            .code()
    };
    assert_eq!(status(&["pack", &csv, "-o", out.to_str().unwrap()]), Some(0));
    assert!(out.is_file());
    assert_eq!(status(&["export", MODEL, "--format", "c", "-o", dir.path().join("m.h").to_str().unwrap()]), Some(0));
    assert_eq!(status(&["plan", "no_such_model_anywhere"]), Some(2));
}
