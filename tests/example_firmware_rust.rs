//! The Rust example firmware (`examples/firmware-rust/`) builds and runs bit-exact in QEMU's mps2-an386: its
//! `run.sh` exports a zoo model, builds the firmware for `thumbv7em-none-eabihf` and runs it; the firmware
//! compares its output with TFLM's and exits with status 0 only when they are equal.
//!
//! Needs `qemu-system-arm` and the `thumbv7em-none-eabihf` target. Without them the test says loudly that it
//! did not run, and fails when `CI` is set.

mod common;

fn run_example(args: &[&str]) {
    if let Some(reason) = common::missing_firmware_tool(&[]) {
        common::tool_missing("RUST EXAMPLE FIRMWARE", &reason, "bash .ci/run installs every tool it needs");
        return;
    }
    let (stdout, stderr) = common::run_example_script("firmware-rust", args);
    assert!(stdout.contains("bit-exact:"), "the firmware did not report a bit-exact run:\n{stdout}\n{stderr}");
    println!("{stdout}");
}

#[test]
fn example_firmware_runs_bit_exact_on_mps2_an386() {
    run_example(&["ds_cnn_49x10"]);
}
