//! The `rust` export is a self-contained `no_std` module. Written into a scratch crate beside the kernels, with
//! the usage example of its own docs as the crate's body:
//!
//! - on the host it runs zoo models with TFLM's outputs bit for bit, through the raw int8 API and through the
//!   usage example (quantise real inputs, run, dequantise the scores);
//! - the same crate builds for Cortex-M4F (`thumbv7em-none-eabihf`) with `-D warnings`, in editions 2021 and
//!   2024.
//!
//! Beside it: the input and output descriptors of every zoo model agree with the model cards
//! (`datasets/cards.json`, written by the dataset scripts from TensorFlow's own reading of the models), and a
//! compiled program refuses model bytes other than those it was compiled from.

use std::path::Path;
use std::process::Command;

use arenaplan::datasets;
use arenaplan::kernels::io::ElementType;
use arenaplan::planner::export::rust::{to_rust, USAGE_END, USAGE_START};
use arenaplan::planner::program::compile;
use arenaplan::planner::{Graph, KernelVariant, PlanRequest};
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
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs")
}

fn assert_success(what: &str, out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The usage example of the module's docs, as code.
fn usage_example(module: &str) -> String {
    let mut lines = module.lines().skip_while(|l| *l != USAGE_START);
    assert_eq!(lines.next(), Some(USAGE_START), "the module's docs have a usage example");
    let body: Vec<&str> = lines.take_while(|l| *l != USAGE_END).collect();
    assert!(!body.is_empty(), "the usage example is not empty");
    body.iter().map(|l| l.strip_prefix("//!").unwrap().strip_prefix(' ').unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// Host tests appended to the example crate: the raw int8 API and the example's `infer`/`classify` against the
/// golden input and TFLM's output, which the test writes beside the crate.
const HOST_TESTS: &str = r#"
#[cfg(test)]
mod host_tests {
    extern crate std;
    use std::boxed::Box;
    use std::vec::Vec;

    fn golden() -> (Vec<i8>, Vec<i8>) {
        let input = include_bytes!("../input.bin").iter().map(|&b| b as i8).collect();
        let expected = include_bytes!("../expected.bin").iter().map(|&b| b as i8).collect();
        (input, expected)
    }

    #[test]
    fn raw_int8_run_gives_tflm_outputs() {
        let (input, expected) = golden();
        let mut network = Box::new(super::model::Network::new());
        let mut output = std::vec![0i8; expected.len()];
        network.run(&input, &mut output).unwrap();
        assert_eq!(output, expected);
        // A second inference in the same arena gives the same answer.
        network.run(&input, &mut output).unwrap();
        assert_eq!(output, expected);
        assert!(network.run(&input[1..], &mut output).is_err(), "a short input is refused");
    }

    #[test]
    fn the_embedded_model_passes_its_hash_check_and_other_bytes_do_not() {
        assert!(super::model::checked_program(super::model::MODEL).is_ok());
        assert!(super::model::checked_program(&super::model::MODEL[1..]).is_err());
    }

    fn f32s(bytes: &[u8]) -> Vec<f32> {
        bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }

    #[test]
    fn the_usage_example_gives_tflm_outputs_dequantised() {
        let (_, expected) = golden();
        // Real-valued input and scores, computed by the test from the model card's scales and zero points.
        let features = f32s(include_bytes!("../features.bin"));
        let want = f32s(include_bytes!("../scores.bin"));
        let mut network = Box::new(super::model::Network::new());
        let mut scores = std::vec![0.0f32; super::model::OUTPUT_ELEMENTS[0]];
        super::infer(&mut network, &features, &mut scores).unwrap();
        assert_eq!(network.output(0).unwrap().iter().map(|&b| b as i8).collect::<Vec<_>>(), expected);
        let bits = |v: &[f32]| v.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&scores), bits(&want));
        let best = (0..expected.len()).fold(0, |b, i| if expected[i] > expected[b] { i } else { b });
        assert_eq!(super::classify(&features).unwrap(), best);
        assert!(super::infer(&mut network, &features[1..], &mut scores).is_err(), "a short input is refused");
    }
}
"#;

fn cards() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(datasets::root().join("cards.json")).unwrap()).unwrap()
}

/// Scale (as the model's `f32`) and zero point of the first input or output of `name`, from its card.
fn card_quantization(name: &str, kind: &str) -> (f32, i64) {
    let card = &cards()[name][kind][0];
    (card["scale"].as_f64().unwrap() as f32, card["zero_point"].as_i64().unwrap())
}

/// Writes the scratch crate for `name`'s module in `edition`.
fn write_crate(dir: &Path, name: &str, module: &str, edition: &str) {
    let kernels = Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"exported_plan\"\nversion = \"0.0.0\"\nedition = \"{edition}\"\n\n[dependencies]\narenaplan-kernels = {{ path = {:?} }}\n\n[workspace]\n",
            kernels.display().to_string()
        ),
    )
    .unwrap();
    let golden = &datasets::goldens(name).unwrap()[0];
    let input: Vec<u8> = golden.inputs[0].iter().map(|&v| v as u8).collect();
    let expected: Vec<u8> = golden.outputs[0].iter().map(|&v| v as u8).collect();
    std::fs::write(dir.join("input.bin"), &input).unwrap();
    std::fs::write(dir.join("expected.bin"), &expected).unwrap();
    // TFLite's affine quantisation, `real = scale * (q - zero_point)`, with the card's parameters.
    let real = |kind: &str, values: &[i8]| -> Vec<u8> {
        let (scale, zero_point) = card_quantization(name, kind);
        values.iter().flat_map(|&q| ((scale as f64 * (q as i64 - zero_point) as f64) as f32).to_le_bytes()).collect()
    };
    std::fs::write(dir.join("features.bin"), real("inputs", &golden.inputs[0])).unwrap();
    std::fs::write(dir.join("scores.bin"), real("outputs", &golden.outputs[0])).unwrap();
    std::fs::write(dir.join("src/model.rs"), module).unwrap();
    std::fs::write(dir.join("src/lib.rs"), format!("#![no_std]\n{}\n{HOST_TESTS}", usage_example(module))).unwrap();
}

fn exported_module(name: &str, kernels: KernelVariant, strategy: &str) -> String {
    let bytes = datasets::model_bytes(name).unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    let request = PlanRequest { kernels, ..PlanRequest::default() };
    let plan = strategy_by_name(strategy).unwrap().plan(&graph, &request).unwrap();
    to_rust(&graph, &plan, name).unwrap()
}

fn check_export(name: &str, kernels: KernelVariant, strategy: &str) {
    let module = exported_module(name, kernels, strategy);
    let code: Vec<&str> = module.lines().filter(|l| !l.trim_start().starts_with("//")).collect();
    assert!(!code.iter().any(|l| l.contains("static mut")), "the module needs no `static mut`");
    assert!(!code.iter().any(|l| l.contains("unsafe")), "the module needs no `unsafe`");
    let dir = tempfile::tempdir().unwrap();
    write_crate(dir.path(), name, &module, "2021");
    assert_success(&format!("{name}: host run"), &cargo(dir.path(), &["test", "--offline", "--quiet"]));

    if !target_installed() {
        eprintln!("\n!!!!!!!! {TARGET} is not installed: the Cortex-M build of the exported module was NOT checked.");
        eprintln!("!!!!!!!! `rustup target add {TARGET}` (.ci/run does) to check it.\n");
        assert!(std::env::var_os("CI").is_none(), "CI must check the Cortex-M build of the rust export");
        return;
    }
    for edition in ["2021", "2024"] {
        write_crate(dir.path(), name, &module, edition);
        // `cargo rustc` passes `-D warnings` to the example crate only (the kernels have their own checks).
        let args = ["rustc", "--offline", "--release", "--lib", "--target", TARGET, "--", "-D", "warnings"];
        assert_success(&format!("{name}: Cortex-M build, edition {edition}"), &cargo(dir.path(), &args));
    }
}

#[test]
fn exported_module_runs_bit_exact_on_the_host_and_builds_for_cortex_m() {
    check_export("mobilenet_v1_025_96", KernelVariant::Reference, "exact");
}

#[test]
fn exported_module_with_fused_segments_runs_bit_exact_and_builds_for_cortex_m() {
    let module = exported_module("mobilenet_v1_025_96", KernelVariant::Reference, "fused");
    assert!(module.contains("RowStreamS8"), "the fused plan's module runs no segment");
    check_export("mobilenet_v1_025_96", KernelVariant::Reference, "fused");
}

#[test]
fn exported_module_with_optimized_kernels_runs_bit_exact_and_builds_for_cortex_m() {
    check_export("ds_cnn_49x10", KernelVariant::Optimized, "exact");
}

#[test]
fn descriptors_match_the_model_cards() {
    let cards = cards();
    let mut checked = 0;
    for name in datasets::network_names() {
        let Some(card) = cards.get(&name) else { continue };
        let bytes = datasets::model_bytes(&name).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        let plan = strategy_by_name("greedy-by-size").unwrap().plan(&graph, &PlanRequest::default()).unwrap();
        let compiled = compile(&graph, &plan).unwrap();
        for (kind, descriptors, slices) in [
            ("inputs", &compiled.input_descriptors, &compiled.inputs),
            ("outputs", &compiled.output_descriptors, &compiled.outputs),
        ] {
            let expected = card[kind].as_array().unwrap();
            assert_eq!(descriptors.len(), expected.len(), "{name} {kind}");
            for ((d, &slice), e) in descriptors.iter().zip(slices.iter()).zip(expected) {
                let shape: Vec<u32> =
                    e["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
                assert_eq!(d.shape(), &shape[..], "{name} {kind} shape");
                assert_eq!(d.element.name(), e["dtype"].as_str().unwrap(), "{name} {kind} type");
                assert_eq!(d.element, ElementType::Int8);
                assert_eq!(d.scale, e["scale"].as_f64().unwrap() as f32, "{name} {kind} scale");
                assert_eq!(d.zero_point as i64, e["zero_point"].as_i64().unwrap(), "{name} {kind} zero point");
                assert_eq!(d.slice, slice, "{name} {kind}: the descriptor's slice is the program's");
                assert_eq!(d.slice.len as usize, d.elements(), "{name} {kind}: one byte per int8 element");
            }
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} zoo networks have cards");
}

#[test]
fn a_program_refuses_other_model_bytes() {
    let bytes = datasets::model_bytes("ds_cnn_49x10").unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    let plan = strategy_by_name("greedy-by-size").unwrap().plan(&graph, &PlanRequest::default()).unwrap();
    let compiled = compile(&graph, &plan).unwrap();
    assert!(compiled.checked_program(&bytes).is_ok());
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    let err = compiled.checked_program(&flipped).unwrap_err();
    assert!(err.to_string().contains("not the model the program was compiled from"), "{err}");
    let other = datasets::model_bytes("mobilenet_v1_025_96").unwrap();
    assert!(compiled.checked_program(&other).is_err());
}
