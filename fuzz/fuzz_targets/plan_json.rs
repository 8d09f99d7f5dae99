//! Fuzz target: the `plan_json` path ([`arenaplan_fuzz::plan_json`]); a broken invariant panics, so libFuzzer keeps it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = arenaplan_fuzz::plan_json(data) {
        panic!("{broken}");
    }
});
