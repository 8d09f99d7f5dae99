//! The resource-limit flags (issue 11): every limit of `arenaplan_planner::limits` can be lowered or raised
//! from the command line, a refusal names the flag that raises it, and a value above the ceiling that keeps
//! planning overflow-free is refused.

use std::process::{Command, Output};

use arenaplan_planner::limits::{Limits, MAX_BUFFERS};

fn arenaplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arenaplan")).args(args).output().expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An instance of `n` buffers that never live together (any packer places them all at offset 0).
fn sequential_instance(dir: &std::path::Path, n: usize) -> String {
    let mut csv = String::from("id,lower,upper,size\n");
    for i in 0..n {
        csv.push_str(&format!("b{i},{i},{},16\n", i + 1));
    }
    let path = dir.join("sequential.csv");
    std::fs::write(&path, csv).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn an_instance_above_the_default_buffer_limit_packs_once_the_flag_raises_it() {
    let dir = tempfile::tempdir().unwrap();
    let csv = sequential_instance(dir.path(), MAX_BUFFERS + 1);

    let refused = arenaplan(&["pack", &csv, "-s", "greedy-by-size"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--max-buffers"), "the error names the flag: {}", stderr(&refused));

    let raised = (MAX_BUFFERS + 1).to_string();
    let packed = arenaplan(&["pack", &csv, "-s", "greedy-by-size", "--max-buffers", &raised]);
    assert_eq!(packed.status.code(), Some(0), "{}", stderr(&packed));
    let solution = String::from_utf8_lossy(&packed.stdout);
    assert_eq!(solution.lines().count(), MAX_BUFFERS + 2, "a header and one row per buffer");
}

#[test]
fn a_model_above_a_lowered_mac_limit_is_refused_by_every_model_command() {
    for command in ["plan", "inspect", "run", "export"] {
        let mut args = vec![command, "ds_cnn_49x10", "--max-macs", "1000"];
        if command == "export" {
            args.extend(["--format", "json", "-o", "/dev/null"]);
        }
        let out = arenaplan(&args);
        assert_eq!(out.status.code(), Some(2), "{command}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("MAX_MACS") && stderr(&out).contains("--max-macs"),
            "{command}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_lowered_arena_limit_refuses_the_largest_tensor() {
    let out = arenaplan(&["plan", "mobilenet_v2_030_80_1000", "--max-arena-bytes", "4096"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--max-arena-bytes"), "{}", stderr(&out));
}

#[test]
fn a_limit_above_its_ceiling_is_refused() {
    let above = (Limits::CEILING.buffers + 1).to_string();
    let out = arenaplan(&["plan", "ds_cnn_49x10", "--max-buffers", &above]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("ceiling"), "{}", stderr(&out));
}

#[test]
fn raised_limits_travel_with_the_plan_document_and_default_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.json");
    let raised = dir.path().join("raised.json");
    let plain_s = plain.to_str().unwrap();
    let raised_s = raised.to_str().unwrap();
    assert!(arenaplan(&["export", "ds_cnn_49x10", "--format", "json", "-o", plain_s]).status.success());
    let out = arenaplan(&["export", "ds_cnn_49x10", "--format", "json", "-o", raised_s, "--max-macs", "20000000000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plain_text = std::fs::read_to_string(&plain).unwrap();
    let raised_text = std::fs::read_to_string(&raised).unwrap();
    assert!(!plain_text.contains("\"limits\""), "default limits are omitted");
    assert!(raised_text.contains("20000000000"), "the raised limit is recorded in the plan's request");
    let check = arenaplan(&["check-plan", "ds_cnn_49x10", raised_s]);
    assert!(check.status.success(), "{}", stderr(&check));
}
