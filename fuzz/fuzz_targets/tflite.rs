//! Fuzz target: the `tflite` path ([`arenaplan_fuzz::tflite`]); a broken invariant panics, so libFuzzer keeps it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = arenaplan_fuzz::tflite(data) {
        panic!("{broken}");
    }
});
