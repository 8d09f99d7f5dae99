//! The C example firmware (`examples/firmware-c/`) builds and runs bit-exact in QEMU's mps2-an386: its
//! `run.sh` exports a zoo model with `--format c-program`, builds the C API (`arenaplan-capi`) for
//! `thumbv7em-none-eabihf` and the firmware with `arm-none-eabi-gcc`, and runs it; the firmware compares its
//! output with TFLM's golden output and exits with status 0 only when they are equal.
//!
//! Needs `arm-none-eabi-gcc`, `make`, `qemu-system-arm` and the `thumbv7em-none-eabihf` target. Without them
//! the test says loudly that it did not run, and fails when `CI` is set.

mod common;

fn run_example(args: &[&str]) {
    let tools = [("arm-none-eabi-gcc", "gcc-arm-none-eabi"), ("make", "make")];
    if let Some(reason) = common::missing_firmware_tool(&tools) {
        common::tool_missing("C EXAMPLE FIRMWARE", &reason, "bash .ci/run installs every tool it needs");
        return;
    }
    let (stdout, stderr) = common::run_example_script("firmware-c", args);
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
