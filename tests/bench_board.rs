//! `arenaplan bench` on emulated Cortex-M4 and Cortex-M55 boards: the firmware built from the exported program
//! must reproduce the host run and TFLM's golden output bit for bit, every step must execute instructions, and
//! two runs of the same firmware must count exactly the same instructions, class by class.
//!
//! Needs `qemu-system-arm`, a host C compiler (for the counting plugin) and the Rust targets
//! `thumbv7em-none-eabihf` and `thumbv8m.main-none-eabihf`. Without them the test says loudly that it did not
//! run, and fails when `CI` is set.

use std::io::Write as _;
use std::process::Command;

use serde_json::Value;

const TARGETS: [&str; 2] = ["thumbv7em-none-eabihf", "thumbv8m.main-none-eabihf"];

/// What is missing to run the test, if anything.
fn missing_tools() -> Vec<String> {
    let mut missing = Vec::new();
    if Command::new("qemu-system-arm").arg("--version").output().map(|o| !o.status.success()).unwrap_or(true) {
        missing.push("qemu-system-arm not installed (apt-get install qemu-system-arm)".to_owned());
    }
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    for target in TARGETS {
        if !installed.lines().any(|l| l.trim() == target) {
            missing.push(format!("Rust target {target} not installed (rustup target add {target})"));
        }
    }
    missing
}

/// Whether the tools are there; if not, a banner straight to the process's stderr (the harness captures
/// `eprintln!` of passing tests) and a failure under CI.
fn tools_available() -> bool {
    let missing = missing_tools();
    if missing.is_empty() {
        return true;
    }
    let banner = "!".repeat(100);
    let _ = writeln!(
        std::io::stderr().lock(),
        "\n{banner}\n!!! SKIPPED: {}\n!!! `arenaplan bench` was NOT checked on Cortex-M.\n{banner}\n",
        missing.join("; ")
    );
    assert!(std::env::var_os("CI").is_none(), "CI is set but the Cortex-M bench cannot run: {}", missing.join("; "));
    false
}

fn bench(model: &str, board: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_arenaplan"))
        .args(["bench", model, "--board", board, "--json"])
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "arenaplan bench {model} --board {board} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("bench --json prints JSON")
}

fn step_instructions(report: &Value) -> Vec<u64> {
    report["steps"].as_array().unwrap().iter().map(|s| s["instructions"].as_u64().unwrap()).collect()
}

#[test]
fn bench_is_bit_exact_and_counts_deterministically_on_m4_and_m55() {
    if !tools_available() {
        return;
    }
    let model = "ds_cnn_49x10";
    // The model card (written by the dataset scripts from the .tflite, not by arenaplan) gives the operator count.
    let cards: Value =
        serde_json::from_slice(&std::fs::read(arenaplan::datasets::root().join("cards.json")).unwrap()).unwrap();
    let steps = cards[model]["operators"].as_u64().expect("the card counts operators");
    for board in ["mps2-an386", "mps3-an547"] {
        let first = bench(model, board);
        assert_eq!(first["bit_exact_host"], Value::Bool(true), "{board}: outputs differ from the host run");
        assert_eq!(first["bit_exact_golden"], Value::Bool(true), "{board}: outputs differ from TFLM's golden");
        let counts = step_instructions(&first);
        assert_eq!(counts.len() as u64, steps, "{board}: one counted segment per operator");
        assert!(counts.iter().all(|&n| n > 0), "{board}: a step executed no instruction: {counts:?}");
        assert_eq!(counts.iter().sum::<u64>(), first["total"]["instructions"].as_u64().unwrap());
        assert!(first["total"]["estimated_cycles"].as_f64().unwrap() > 0.0);
        assert!(first["ram"]["stack_bytes"].as_u64().unwrap() > 0, "{board}: the painted stack shows no use");
        assert!(
            first["flash"]["rodata_bytes"].as_u64().unwrap()
                >= std::fs::metadata(arenaplan::datasets::model_path(model)).unwrap().len()
        );

        // On MPS2 the APB timer under `-icount shift=0` counts the same run independently (one tick per 40
        // instructions); it spans the steps plus the program's range check and the marker calls, which cost a
        // few hundred instructions per step at most.
        if let Some(timer) = first["total"]["timer_instructions"].as_u64() {
            let plugin = first["total"]["instructions"].as_u64().unwrap();
            assert!(
                timer + 40 >= plugin && timer <= plugin + 1_000 + 300 * steps,
                "{board}: the timer counted {timer} instructions, the plugin {plugin}"
            );
        } else {
            assert!(!board.starts_with("mps2-"), "{board}: the MPS2 firmware reads the APB timer");
        }

        let second = bench(model, board);
        assert_eq!(first["steps"], second["steps"], "{board}: two runs counted different instructions");
        assert_eq!(first["total"], second["total"], "{board}: two runs counted different totals");
    }
}

#[test]
fn an_unknown_board_is_refused_with_the_known_ones() {
    let out = Command::new(env!("CARGO_BIN_EXE_arenaplan"))
        .args(["bench", "fc_autoencoder_640", "--board", "no-such-board"])
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no board named `no-such-board`") && stderr.contains("mps2-an386"), "{stderr}");
}
