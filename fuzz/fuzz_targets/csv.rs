//! Fuzz target: the `csv` path ([`arenaplan_fuzz::csv`]); a broken invariant panics, so libFuzzer keeps it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = arenaplan_fuzz::csv(data) {
        panic!("{broken}");
    }
});
