//! The C example firmware (`examples/firmware-c/`) builds and runs bit-exact in QEMU's mps2-an386: its
//! `run.sh` exports a zoo model with `--format c-program`, builds the C API (`arenaplan-capi`) for
//! `thumbv7em-none-eabihf` and the firmware with `arm-none-eabi-gcc`, and runs it; the firmware compares its
//! output with TFLM's golden output and exits with status 0 only when they are equal.
//!
//! Needs `arm-none-eabi-gcc`, `make`, `qemu-system-arm` and the `thumbv7em-none-eabihf` target. Without them
//! the test says loudly that it did not run, and fails when `CI` is set.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

const TARGET: &str = "thumbv7em-none-eabihf";

fn runs(program: &str, arg: &str) -> bool {
    Command::new(program).arg(arg).output().map(|o| o.status.success()).unwrap_or(false)
}

/// Why the firmware cannot run here, if it cannot.
fn missing_tool() -> Option<String> {
    if !runs("qemu-system-arm", "--version") {
        return Some("qemu-system-arm is not installed (Debian/Ubuntu: apt-get install qemu-system-arm)".into());
    }
    if !runs("arm-none-eabi-gcc", "--version") {
        return Some("arm-none-eabi-gcc is not installed (Debian/Ubuntu: apt-get install gcc-arm-none-eabi)".into());
    }
    if !runs("make", "--version") {
        return Some("make is not installed (Debian/Ubuntu: apt-get install make)".into());
    }
    let targets = Command::new("rustup").args(["target", "list", "--installed"]).output();
    let installed = targets.map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == TARGET));
    if !installed.unwrap_or(false) {
        return Some(format!("the {TARGET} Rust target is not installed (rustup target add {TARGET})"));
    }
    None
}

fn run_example(args: &[&str]) {
    if let Some(reason) = missing_tool() {
        let banner = "!".repeat(100);
        let _ =
            writeln!(std::io::stderr().lock(), "\n{banner}\n!!! C EXAMPLE FIRMWARE DID NOT RUN: {reason}.\n{banner}\n");
        assert!(std::env::var_os("CI").is_none(), "CI is set but {reason}: the C example firmware must run in CI");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/firmware-c/run.sh");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("example-firmware-c");
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .env("CARGO_TARGET_DIR", &target)
        .env("ARENAPLAN", env!("CARGO_BIN_EXE_arenaplan"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "run.sh {args:?} failed ({}):\n{stdout}\n{stderr}", out.status);
    // QEMU writes the firmware's semihosting console to its standard error.
    let report = stderr.lines().chain(stdout.lines()).find(|l| l.starts_with("bit-exact:"));
    assert!(report.is_some(), "the firmware did not report a bit-exact run:\n{stdout}\n{stderr}");
    let sizes = stderr.lines().chain(stdout.lines()).find(|l| l.starts_with("arena "));
    println!("{args:?}: {} ({})", report.unwrap_or_default(), sizes.unwrap_or_default());
}

#[test]
fn c_example_firmware_runs_bit_exact_on_mps2_an386() {
    run_example(&["ds_cnn_49x10", "reference"]);
    run_example(&["ds_cnn_49x10", "optimized"]);
}
