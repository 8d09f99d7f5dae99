//! Puts `memory.x` where the linker finds it (cortex-m-rt's `link.x` includes it) and rebuilds when the
//! exported model or the test data change.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy("memory.x", out.join("memory.x")).expect("cannot copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    for path in ["memory.x", "src/model.rs", "data/input.bin", "data/expected.bin"] {
        println!("cargo:rerun-if-changed={path}");
    }
}
