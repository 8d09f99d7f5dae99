//! Puts the exported program, the model and the input sample (from the folder `ARENAPLAN_FW_DIR`) and the linker
//! memory file of the board `ARENAPLAN_FW_BOARD` into `OUT_DIR`.
//!
//! `ARENAPLAN_FW_DIR` holds `program.rs` (from `arenaplan export MODEL --format rust`), `model.tflite` and
//! `input.bin` (every model input, concatenated in input order). The generated module's inner attributes and
//! inner doc comments are dropped: `include!` does not accept them.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// The ITCM of mps3-an547: code and constants beyond this go to its DDR.
const AN547_ITCM_BYTES: u64 = 512 * 1024;
/// Room kept in ITCM for the code beside the model and the program.
const CODE_ALLOWANCE_BYTES: u64 = 128 * 1024;

fn main() {
    println!("cargo:rerun-if-env-changed=ARENAPLAN_FW_DIR");
    println!("cargo:rerun-if-env-changed=ARENAPLAN_FW_BOARD");
    println!("cargo:rerun-if-changed=memory");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dir = PathBuf::from(env::var_os("ARENAPLAN_FW_DIR").expect(
        "ARENAPLAN_FW_DIR must name the folder holding program.rs, model.tflite and input.bin (`arenaplan bench` sets it)",
    ));
    for name in ["program.rs", "model.tflite", "input.bin"] {
        println!("cargo:rerun-if-changed={}", dir.join(name).display());
    }

    let program = fs::read_to_string(dir.join("program.rs")).expect("cannot read program.rs");
    let body: String = program
        .lines()
        .filter(|l| !l.trim_start().starts_with("//!") && !l.trim_start().starts_with("#!["))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(out.join("program.rs"), body).expect("cannot write program.rs");
    copy(&dir.join("model.tflite"), &out.join("model.tflite"));
    copy(&dir.join("input.bin"), &out.join("input.bin"));

    let board = env::var("ARENAPLAN_FW_BOARD").unwrap_or_else(|_| "mps2-an386".to_owned());
    let model_bytes = fs::metadata(dir.join("model.tflite")).map(|m| m.len()).unwrap_or(0);
    let program_bytes = program.len() as u64 / 4; // the source text is several times the constants it holds
    let memory = match board.as_str() {
        "mps3-an547" if model_bytes + program_bytes + CODE_ALLOWANCE_BYTES > AN547_ITCM_BYTES => "mps3-an547-ddr",
        other => other,
    };
    let memory_file = Path::new("memory").join(format!("{memory}.x"));
    let text = fs::read_to_string(&memory_file)
        .unwrap_or_else(|_| panic!("no linker memory file {} for board `{board}`", memory_file.display()));
    // The name cortex-m-rt's link.x includes; written only here (a `memory.x` in the package root would shadow it).
    fs::write(out.join("memory.x"), text).expect("cannot write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg=-Tlink.x");
    println!("cargo:rustc-env=ARENAPLAN_FW_MEMORY={memory}");
    // The MPS2 machines have a CMSDK APB timer at 0x40000000: under `-icount shift=0` it gives an independent
    // instruction count (one tick per 40 instructions) to check the plugin's against.
    println!("cargo::rustc-check-cfg=cfg(arenaplan_apb_timer)");
    if board.starts_with("mps2-") {
        println!("cargo:rustc-cfg=arenaplan_apb_timer");
    }
}

fn copy(from: &Path, to: &Path) {
    fs::copy(from, to).unwrap_or_else(|e| panic!("cannot copy {}: {e}", from.display()));
}
