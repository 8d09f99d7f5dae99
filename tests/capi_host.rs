//! The C API on the host: `libarenaplan_capi.a` (built here with cargo) linked into a C program with the host's
//! gcc, running the C export (`export --format c-program`) of zoo models. The C program checks the API's
//! contract (status codes for null pointers, a small arena, a corrupted blob, a wrong model, a bad index; the
//! exported descriptors against the blob's places) and writes its output, which must equal `arenaplan run`'s
//! on the same input and TFLM's golden output, byte for byte.
//!
//! Needs `gcc`; without it the test says loudly that it did not run, and fails when `CI` is set.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use arenaplan::datasets;

const C_MAIN: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "arenaplan.h"
#include "model.h"

static uint8_t arena[MODEL_ARENA_BYTES] __attribute__((aligned(MODEL_ARENA_ALIGNMENT)));

#define EXPECT(cond) do { if (!(cond)) { fprintf(stderr, "check failed: %s (line %d)\n", #cond, __LINE__); return 1; } } while (0)

int main(int argc, char **argv) {
    uint32_t offset = 0, len = 0;
    arenaplan_info info;
    uint8_t *corrupt;
    uint8_t *other_model;
    FILE *f;
    size_t got;
    uint32_t i;
    if (argc != 3) return 2;

    /* What the blob says agrees with the exported macros and descriptors. */
    EXPECT(arenaplan_program_info(model_program, MODEL_PROGRAM_BYTES, &info) == ARENAPLAN_OK);
    EXPECT(info.arena_bytes == MODEL_ARENA_BYTES && info.model_bytes == MODEL_MODEL_BYTES);
    EXPECT(info.step_count == MODEL_STEP_COUNT);
    EXPECT(info.input_count == MODEL_INPUT_COUNT && info.output_count == MODEL_OUTPUT_COUNT);
    for (i = 0; i < MODEL_INPUT_COUNT; i++) {
        EXPECT(arenaplan_input(model_program, MODEL_PROGRAM_BYTES, i, &offset, &len) == ARENAPLAN_OK);
        EXPECT(offset == model_inputs[i].offset && len == model_inputs[i].bytes);
        EXPECT(model_inputs[i].element == ARENAPLAN_INT8 && model_inputs[i].scale > 0.0f);
    }
    for (i = 0; i < MODEL_OUTPUT_COUNT; i++) {
        EXPECT(arenaplan_output(model_program, MODEL_PROGRAM_BYTES, i, &offset, &len) == ARENAPLAN_OK);
        EXPECT(offset == model_outputs[i].offset && len == model_outputs[i].bytes);
    }
    EXPECT(arenaplan_input(model_program, MODEL_PROGRAM_BYTES, MODEL_INPUT_COUNT, &offset, &len) == ARENAPLAN_ERR_INDEX);
    EXPECT(arenaplan_output(model_program, MODEL_PROGRAM_BYTES, 0, NULL, &len) == ARENAPLAN_ERR_NULL);

    /* Refusals, each with its documented status and nothing written. */
    EXPECT(arenaplan_check_model(model_program, MODEL_PROGRAM_BYTES, model_model, MODEL_MODEL_BYTES) == ARENAPLAN_OK);
    other_model = malloc(MODEL_MODEL_BYTES);
    memcpy(other_model, model_model, MODEL_MODEL_BYTES);
    other_model[MODEL_MODEL_BYTES - 1] ^= 1;
    EXPECT(arenaplan_check_model(model_program, MODEL_PROGRAM_BYTES, other_model, MODEL_MODEL_BYTES) == ARENAPLAN_ERR_WRONG_MODEL);
    free(other_model);
    EXPECT(arenaplan_run(model_program, MODEL_PROGRAM_BYTES, model_model, MODEL_MODEL_BYTES - 1, arena, sizeof arena) == ARENAPLAN_ERR_WRONG_MODEL);
    EXPECT(arenaplan_run(model_program, MODEL_PROGRAM_BYTES, model_model, MODEL_MODEL_BYTES, arena, sizeof arena - 1) == ARENAPLAN_ERR_ARENA_TOO_SMALL);
    EXPECT(arenaplan_run(NULL, MODEL_PROGRAM_BYTES, model_model, MODEL_MODEL_BYTES, arena, sizeof arena) == ARENAPLAN_ERR_NULL);
    corrupt = malloc(MODEL_PROGRAM_BYTES);
    memcpy(corrupt, model_program, MODEL_PROGRAM_BYTES);
    corrupt[MODEL_PROGRAM_BYTES / 2] ^= 0x40;
    EXPECT(arenaplan_run(corrupt, MODEL_PROGRAM_BYTES, model_model, MODEL_MODEL_BYTES, arena, sizeof arena) == ARENAPLAN_ERR_BAD_PROGRAM);
    corrupt[4] = 9; /* format version 9 (checked before the checksum) */
    EXPECT(arenaplan_program_info(corrupt, MODEL_PROGRAM_BYTES, &info) == ARENAPLAN_ERR_VERSION);
    corrupt[0] ^= 1;
    EXPECT(arenaplan_program_info(corrupt, MODEL_PROGRAM_BYTES, &info) == ARENAPLAN_ERR_BAD_PROGRAM);
    free(corrupt);
    EXPECT(strcmp(arenaplan_status_name(ARENAPLAN_ERR_ARENA_TOO_SMALL), "arena too small") == 0);
    EXPECT(strcmp(arenaplan_status_name(12345), "unknown status") == 0);

    /* Quantisation helpers, on a hand-made tensor (scale 0.5, zero point -3). */
    {
        arenaplan_tensor t;
        memset(&t, 0, sizeof t);
        t.scale = 0.5f;
        t.zero_point = -3;
        EXPECT(arenaplan_quantize(&t, 1.25f) == 0);    /* 2.5 rounds away from zero to 3 */
        EXPECT(arenaplan_quantize(&t, -1.25f) == -6);  /* -2.5 rounds to -3 */
        EXPECT(arenaplan_quantize(&t, 1000.0f) == 127);
        EXPECT(arenaplan_quantize(&t, -1000.0f) == -128);
        EXPECT(arenaplan_dequantize(&t, 5) == 4.0f);
        EXPECT(arenaplan_quantize(NULL, 1.0f) == 0);
    }

    /* The run. */
    f = fopen(argv[1], "rb");
    EXPECT(f != NULL);
    got = fread(arena + MODEL_INPUT0_OFFSET, 1, MODEL_INPUT0_BYTES, f);
    fclose(f);
    EXPECT(got == MODEL_INPUT0_BYTES);
    {
        int status = arenaplan_run(model_program, MODEL_PROGRAM_BYTES, model_model, MODEL_MODEL_BYTES, arena, sizeof arena);
        if (status != ARENAPLAN_OK) {
            fprintf(stderr, "arenaplan_run: %d (%s)\n", status, arenaplan_status_name(status));
            return 1;
        }
    }
    f = fopen(argv[2], "wb");
    EXPECT(f != NULL);
    EXPECT(fwrite(arena + MODEL_OUTPUT0_OFFSET, 1, MODEL_OUTPUT0_BYTES, f) == MODEL_OUTPUT0_BYTES);
    fclose(f);
    printf("ran %u steps in %u arena bytes\n", (unsigned)MODEL_STEP_COUNT, (unsigned)MODEL_ARENA_BYTES);
    return 0;
}
"#;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Why the test cannot run here, if it cannot.
fn missing_tool() -> Option<String> {
    let gcc = Command::new("gcc").arg("--version").output();
    if !gcc.map(|o| o.status.success()).unwrap_or(false) {
        return Some("gcc is not installed (Debian/Ubuntu: apt-get install gcc)".into());
    }
    None
}

/// `libarenaplan_capi.a` for the host, built in the test's own target directory.
fn host_library() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("capi-host-target");
    let out = Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "arenaplan-capi", "--manifest-path"])
        .arg(root().join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "cargo build -p arenaplan-capi failed:\n{}", String::from_utf8_lossy(&out.stderr));
    target.join("release/libarenaplan_capi.a")
}

fn arenaplan(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_arenaplan")).args(args).output().expect("arenaplan runs")
}

/// Export `model` as C, build it with the C main against `library`, run it on TFLM's golden input, and
/// compare with `arenaplan run` and TFLM's golden output.
fn run_model(library: &Path, model: &str, kernels: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = |name: &str| d.join(name).to_str().unwrap().to_owned();
    let out = arenaplan(&[
        "export",
        model,
        "--format",
        "c-program",
        "--kernels",
        kernels,
        "--prefix",
        "model",
        "-o",
        &path("model.c"),
    ]);
    assert!(out.status.success(), "export: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(d.join("main.c"), C_MAIN).unwrap();
    let exe = d.join("main");
    let gcc = Command::new("gcc")
        .args(["-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root().join("kernels/capi/include"))
        .arg("-I")
        .arg(d)
        .arg("-o")
        .arg(&exe)
        .args([d.join("main.c"), d.join("model.c")])
        .arg(library)
        .args(["-lpthread", "-ldl", "-lm"])
        .output()
        .expect("gcc runs");
    assert!(gcc.status.success(), "gcc: {}", String::from_utf8_lossy(&gcc.stderr));

    let golden = datasets::goldens(model).unwrap().into_iter().next().expect("a golden sample");
    let input: Vec<u8> = golden.inputs[0].iter().map(|&v| v as u8).collect();
    let expected: Vec<u8> = golden.outputs[0].iter().map(|&v| v as u8).collect();
    std::fs::write(d.join("input.bin"), &input).unwrap();

    let run = Command::new(&exe).args([path("input.bin"), path("c_output.bin")]).output().unwrap();
    assert!(
        run.status.success(),
        "{model}: the C program failed:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let by_c = std::fs::read(d.join("c_output.bin")).unwrap();

    let cli =
        arenaplan(&["run", model, "--kernels", kernels, "--input", &path("input.bin"), "-o", &path("cli_output.bin")]);
    assert!(cli.status.success(), "arenaplan run: {}", String::from_utf8_lossy(&cli.stderr));
    let by_cli = std::fs::read(d.join("cli_output.bin")).unwrap();

    assert_eq!(by_c, by_cli, "{model} ({kernels}): the C API's output differs from `arenaplan run`");
    assert_eq!(by_c, expected, "{model} ({kernels}): the C API's output differs from TFLM's golden output");
    println!("{model} ({kernels}): {} output bytes equal to `arenaplan run` and TFLM", by_c.len());
}

#[test]
fn the_c_api_runs_zoo_models_bit_exact_from_a_host_c_program() {
    if let Some(reason) = missing_tool() {
        let banner = "!".repeat(100);
        let _ =
            writeln!(std::io::stderr().lock(), "\n{banner}\n!!! C API HOST TEST DID NOT RUN: {reason}.\n{banner}\n");
        assert!(std::env::var_os("CI").is_none(), "CI is set but {reason}: the C API host test must run in CI");
        return;
    }
    let library = host_library();
    run_model(&library, "ds_cnn_49x10", "reference");
    run_model(&library, "mobilenet_v3_mini", "optimized");
    run_model(&library, "mobilenet_v1_025_96", "optimized");
}
