//! Helpers shared by the integration tests (each test file that uses them declares `mod common;`).
#![allow(dead_code)]

use std::io::Write as _;

use arenaplan::datasets;
use arenaplan::kernels;
use arenaplan::planner::program::compile;
use arenaplan::planner::{Graph, Plan};

/// The environment variable naming a Python with the `tflite-micro` package.
pub const TFLM_PYTHON_ENV: &str = "ARENAPLAN_TFLM_PYTHON";

/// Say loudly, on the process's own stderr (the harness captures `eprintln!` of passing tests), that the check
/// `what` did not run because `missing`, and how to run it; under CI (`CI` set) that is a failure.
pub fn tool_missing(what: &str, missing: &str, how: &str) {
    let banner = "!".repeat(100);
    let _ = writeln!(
        std::io::stderr().lock(),
        "\n{banner}\n!!! {what} DID NOT RUN: {missing}.\n!!! To run it: {how}\n{banner}\n"
    );
    assert!(std::env::var_os("CI").is_none(), "CI is set but {missing}: {what} must run in CI");
}

/// The TFLM Python, or `None` after [`tool_missing`] said why the check `what` (of test `test`) does not run.
pub fn tflm_python(what: &str, test: &str) -> Option<String> {
    match std::env::var(TFLM_PYTHON_ENV) {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            let how = format!(
                "python3 -m venv /tmp/tflm && /tmp/tflm/bin/pip install -r scripts/requirements-tflm.txt, then \
                 {TFLM_PYTHON_ENV}=/tmp/tflm/bin/python cargo test --test {test}"
            );
            tool_missing(what, &format!("{TFLM_PYTHON_ENV} is not set"), &how);
            None
        }
    }
}

/// Run every golden sample of zoo model `name` (TFLM's outputs) in `plan`'s program; the number of samples, or
/// an error naming the first mismatch.
pub fn check_goldens(name: &str, bytes: &[u8], graph: &Graph<'_>, plan: &Plan) -> Result<usize, String> {
    let compiled = compile(graph, plan).map_err(|e| format!("{name}: {e}"))?;
    let program = compiled.program(bytes);
    let goldens = datasets::goldens(name).unwrap();
    assert!(!goldens.is_empty(), "{name} has no golden samples");
    for g in &goldens {
        let mut arena = vec![0u8; program.arena_bytes as usize];
        for (i, input) in g.inputs.iter().enumerate() {
            if kernels::input_is_streamed(&program, i) {
                continue;
            }
            let slot = kernels::input_mut(&program, &mut arena, i).expect("input slot");
            assert_eq!(slot.len(), input.len(), "{name}: input {i} size");
            slot.iter_mut().zip(input).for_each(|(s, &v)| *s = v as u8);
        }
        // A streamed input is given row by row, from the golden input.
        let row_bytes: Vec<usize> =
            compiled.input_descriptors.iter().map(|d| (d.dims[2] * d.dims[3]) as usize).collect();
        let mut rows = |i: usize, row: usize, offset: usize, out: &mut [u8]| {
            let start = row * row_bytes[i] + offset;
            match g.inputs[i].get(start..start + out.len()) {
                Some(bytes) => {
                    out.iter_mut().zip(bytes).for_each(|(o, &v)| *o = v as u8);
                    true
                }
                None => false,
            }
        };
        kernels::run_streaming(&program, &mut arena, &mut rows).map_err(|e| format!("{name}: {e}"))?;
        for (j, expected) in g.outputs.iter().enumerate() {
            let got: Vec<i8> = kernels::output(&program, &arena, j).unwrap().iter().map(|&b| b as i8).collect();
            assert_eq!(got.len(), expected.len(), "{name}: output {j} length");
            if let Some(k) = got.iter().zip(expected).position(|(a, b)| a != b) {
                return Err(format!(
                    "{name} sample {} output {j}: first difference at {k}: ours {} TFLM {}",
                    g.sample, got[k], expected[k]
                ));
            }
        }
    }
    Ok(goldens.len())
}

/// The Rust target the Cortex-M4 examples build for.
pub const M4_TARGET: &str = "thumbv7em-none-eabihf";

fn runs(program: &str, arg: &str) -> bool {
    std::process::Command::new(program).arg(arg).output().map(|o| o.status.success()).unwrap_or(false)
}

/// Why an example firmware cannot run here, if it cannot: `qemu-system-arm`, each of `programs` (with the
/// Debian package that provides it), and the [`M4_TARGET`] Rust target.
pub fn missing_firmware_tool(programs: &[(&str, &str)]) -> Option<String> {
    let needed = [("qemu-system-arm", "qemu-system-arm")].iter().chain(programs);
    for (program, package) in needed {
        if !runs(program, "--version") {
            return Some(format!("{program} is not installed (Debian/Ubuntu: apt-get install {package})"));
        }
    }
    let targets = std::process::Command::new("rustup").args(["target", "list", "--installed"]).output();
    let installed = targets.map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == M4_TARGET));
    if !installed.unwrap_or(false) {
        return Some(format!("the {M4_TARGET} Rust target is not installed (rustup target add {M4_TARGET})"));
    }
    None
}

/// Run `examples/EXAMPLE/run.sh ARGS` with this build's `arenaplan` and its own target directory; its
/// (stdout, stderr), after asserting that it succeeded.
pub fn run_example_script(example: &str, args: &[&str]) -> (String, String) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(example).join("run.sh");
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("example-{example}"));
    let out = std::process::Command::new("bash")
        .arg(&script)
        .args(args)
        .env("CARGO_TARGET_DIR", &target)
        .env("ARENAPLAN", env!("CARGO_BIN_EXE_arenaplan"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{example}/run.sh {args:?} failed ({}):\n{stdout}\n{stderr}", out.status);
    (stdout, stderr)
}
