//! The `rust` export is a real `no_std` module: written into a scratch crate beside the kernels, it builds for
//! Cortex-M4F (`thumbv7em-none-eabihf`), and on the host it runs a zoo model with TFLM's outputs bit for bit.

use std::path::Path;
use std::process::Command;

use arenaplan::datasets;
use arenaplan::planner::export::rust::to_rust;
use arenaplan::planner::{Graph, PlanRequest};
use arenaplan::strategies::strategy_by_name;

const TARGET: &str = "thumbv7em-none-eabihf";

fn target_installed() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == TARGET))
        .unwrap_or(false)
}

fn cargo(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("export-rust-target"))
        .output()
        .expect("cargo runs")
}

#[test]
fn exported_program_builds_for_cortex_m_and_runs_bit_exact_on_the_host() {
    let name = "mobilenet_v1_025_96";
    let bytes = datasets::model_bytes(name).unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    let plan = strategy_by_name("exact").unwrap().plan(&graph, &PlanRequest::default()).unwrap();
    let module = to_rust(&graph, &plan, name).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let kernels = Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels");
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!(
            "[package]\nname = \"exported_plan\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[dependencies]\narenaplan-kernels = {{ path = {:?} }}\n\n[workspace]\n",
            kernels.display().to_string()
        ),
    )
    .unwrap();
    std::fs::copy(datasets::model_path(name), dir.path().join("model.tflite")).unwrap();
    let golden = &datasets::goldens(name).unwrap()[0];
    let input: Vec<u8> = golden.inputs[0].iter().map(|&v| v as u8).collect();
    let expected: Vec<u8> = golden.outputs[0].iter().map(|&v| v as u8).collect();
    std::fs::write(dir.path().join("input.bin"), &input).unwrap();
    std::fs::write(dir.path().join("expected.bin"), &expected).unwrap();
    std::fs::write(dir.path().join("src/plan.rs"), &module).unwrap();
    std::fs::write(
        dir.path().join("src/lib.rs"),
        r#"#![no_std]
pub mod plan;

/// The model the plan was made for, in flash.
pub static MODEL: &[u8] = include_bytes!("../model.tflite");

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;

    #[test]
    fn runs_with_tflm_outputs() {
        let program = super::plan::program(super::MODEL);
        let mut arena = vec![0u8; super::plan::ARENA_BYTES];
        arenaplan_kernels::input_mut(&program, &mut arena, 0).unwrap().copy_from_slice(include_bytes!("../input.bin"));
        arenaplan_kernels::run(&program, &mut arena).unwrap();
        assert_eq!(arenaplan_kernels::output(&program, &arena, 0).unwrap(), &include_bytes!("../expected.bin")[..]);
    }
}
"#,
    )
    .unwrap();

    let host = cargo(dir.path(), &["test", "--offline", "--quiet"]);
    assert!(host.status.success(), "host run failed:\n{}", String::from_utf8_lossy(&host.stderr));

    if !target_installed() {
        eprintln!("\n!!!!!!!! {TARGET} is not installed: the Cortex-M build of the exported module was NOT checked.");
        eprintln!("!!!!!!!! `rustup target add {TARGET}` (.ci/run does) to check it.\n");
        assert!(std::env::var_os("CI").is_none(), "CI must check the Cortex-M build of the rust export");
        return;
    }
    let m4 = cargo(dir.path(), &["build", "--offline", "--release", "--target", TARGET]);
    assert!(m4.status.success(), "Cortex-M build failed:\n{}", String::from_utf8_lossy(&m4.stderr));
}
