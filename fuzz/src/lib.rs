//! The code paths the fuzz targets drive, shared with the stable replay test (`tests/fuzz_replay.rs` includes
//! this file), so a corpus file runs exactly the same code under `cargo fuzz` and under `cargo test`.
//!
//! Each function takes untrusted bytes and returns `Ok(what happened)` or `Err(broken invariant)`; a fuzz
//! target panics on `Err`, and any panic inside is a crash. The invariants: a plan the greedy strategy makes
//! passes `check_plan`; whatever plans and compiles also runs; a packing is valid and not below the lower
//! bound; a plan document that checks exports in every format and reads back equal.

use std::sync::OnceLock;
use std::time::Duration;

use arenaplan_planner::check::{check_plan, KnownStrategies};
use arenaplan_planner::export::{c_header, csv as csv_export, json, tflm};
use arenaplan_planner::limits::MAX_ARENA_BYTES;
use arenaplan_planner::minimalloc_csv::{read_csv, write_csv};
use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::program::{compile, compile_checked};
use arenaplan_planner::PlanRequest;
use arenaplan_planner::{lower, pack_checked, validate_offsets, Graph, KernelVariant, PackError, PackLimits};

/// Models whose MACs exceed this are planned and compiled, not run (keeps one execution short).
pub const RUN_MAX_MACS: u64 = 2_000_000;

/// Models whose arena exceeds this are planned and compiled, not run.
pub const RUN_MAX_ARENA_BYTES: u64 = 1 << 20;

/// Time limit of every strategy and packer run by the targets.
pub const TIME_LIMIT: Duration = Duration::from_millis(200);

/// The `.tflite` path: read, lower, plan with `greedy-by-size` (both kernel sets), check, compile, run.
pub fn tflite(data: &[u8]) -> Result<&'static str, String> {
    let Ok(graph) = Graph::from_bytes(data) else { return Ok("refused at load") };
    let mut outcome = "planned";
    for kernels in [KernelVariant::Reference, KernelVariant::Optimized] {
        let request = PlanRequest::default().with_kernels(kernels).with_time_limit(TIME_LIMIT);
        if lower(&graph, &graph.default_schedule(), &request).is_err() {
            return Ok("not lowered");
        }
        let strategy = arenaplan_strategies::strategy_by_name("greedy-by-size").expect("registered");
        let Ok(plan) = strategy.plan(&graph, &request) else { return Ok("not planned") };
        let checked = check_plan(&graph, &plan).map_err(|e| format!("a greedy plan fails check_plan: {e}"))?;
        if plan.arena_bytes > MAX_ARENA_BYTES {
            return Ok("arena above the limit");
        }
        let Ok(compiled) = compile_checked(&graph, &plan, &checked) else { continue };
        outcome = "compiled";
        if graph.total_macs() > RUN_MAX_MACS || plan.arena_bytes > RUN_MAX_ARENA_BYTES {
            continue;
        }
        let program = compiled.program(data);
        let mut arena = vec![0u8; program.arena_bytes as usize];
        if let Some(input) = arenaplan_kernels::input_mut(&program, &mut arena, 0) {
            input.iter_mut().enumerate().for_each(|(i, b)| *b = (i * 37 % 251) as u8);
        }
        arenaplan_kernels::run(&program, &mut arena)
            .map_err(|e| format!("{kernels:?}: planned and compiled but did not run: {e}"))?;
        outcome = "ran";
    }
    Ok(outcome)
}

/// The MiniMalloc CSV path: read, pack with `greedy-by-size`, validate, write and read back.
pub fn csv(data: &[u8]) -> Result<&'static str, String> {
    let Ok(text) = std::str::from_utf8(data) else { return Ok("not UTF-8") };
    let Ok(instance) = read_csv(text) else { return Ok("refused at read") };
    let problem = &instance.problem;
    if let Some(offsets) = &instance.offsets {
        // A solution given in the file is checked, never trusted; it must not panic the validator.
        let _ = validate_offsets(problem, offsets, arena_bytes_of(problem, offsets));
    }
    let packer = arenaplan_strategies::packer_by_name("greedy-by-size").expect("registered");
    let limits = PackLimits { time_limit: TIME_LIMIT, seed: 0 };
    let (packing, arena) = match pack_checked(packer.as_ref(), problem, &limits) {
        Ok(done) => done,
        Err(e @ PackError::Invalid { .. }) => return Err(e.to_string()),
        Err(_) => return Ok("not packed"),
    };
    validate_offsets(problem, &packing.offsets, arena).map_err(|e| format!("accepted packing is invalid: {e}"))?;
    if arena < problem.lower_bound() || packing.lower_bound_bytes > arena {
        return Err(format!("arena {arena} below its lower bound {}", packing.lower_bound_bytes));
    }
    let written = write_csv(problem, Some(&packing.offsets));
    let reread = read_csv(&written).map_err(|e| format!("our own CSV does not read back: {e}"))?;
    if reread.offsets.as_deref() != Some(packing.offsets.as_slice()) {
        return Err("the CSV read back has other offsets".to_owned());
    }
    Ok("packed")
}

/// The models plan documents are checked against: the document's `model.name` picks one.
fn model_for(name: &str) -> &'static [u8] {
    static DS_CNN: &[u8] = include_bytes!("../../datasets/models/ds_cnn_49x10.tflite");
    static CONV: &[u8] = include_bytes!("../../datasets/models/op_conv_relu.tflite");
    if name == "ds_cnn_49x10" {
        DS_CNN
    } else {
        CONV
    }
}

/// The registered strategy names.
fn registry() -> &'static KnownStrategies {
    static NAMES: OnceLock<KnownStrategies> = OnceLock::new();
    NAMES.get_or_init(|| KnownStrategies(arenaplan_strategies::packer_names()))
}

/// The plan-JSON path (`check-plan`, `export --from-json`): parse, check against the model with every claim
/// recomputed; a document that checks must export in every format, compile, and read back equal.
pub fn plan_json(data: &[u8]) -> Result<&'static str, String> {
    let Ok(text) = std::str::from_utf8(data) else { return Ok("not UTF-8") };
    let Ok(document) = json::from_json(text) else { return Ok("not a document") };
    let bytes = model_for(&document.model.name);
    let graph = Graph::from_bytes(bytes).map_err(|e| format!("the seed model does not load: {e}"))?;
    let Ok((plan, _claims)) = json::check_document(&graph, &document, registry()) else { return Ok("refused") };
    let name = &document.model.name;
    c_header::to_c_header(&graph, &plan, "m").map_err(|e| format!("checked plan: C export failed: {e}"))?;
    csv_export::to_csv(&graph, &plan).map_err(|e| format!("checked plan: CSV export failed: {e}"))?;
    if plan.kernels.iter().all(|&k| k == KernelVariant::Reference) {
        tflm::to_tflm(&graph, &plan).map_err(|e| format!("checked plan: TFLM export failed: {e}"))?;
    }
    let again = json::to_json(&graph, &plan, name).map_err(|e| format!("checked plan: JSON export failed: {e}"))?;
    let reread = json::from_json(&again).map_err(|e| format!("our own JSON does not read back: {e}"))?;
    let (replan, _) =
        json::check_document(&graph, &reread, registry()).map_err(|e| format!("our own JSON does not check: {e}"))?;
    if replan != plan {
        return Err("the plan read back from our own JSON differs".to_owned());
    }
    let _ = compile(&graph, &plan);
    Ok("checked")
}
