//! `ilp-highs` (feature `highs`) proves the optimum of every zoo model's instance and of every instance of the
//! hard suite with at most `ARENAPLAN_ILP_MAX_BUFFERS` buffers (`datasets/instances/`; default 100, which CI
//! runs; the target is 150, whose proofs take 14-39 s each and vary several-fold with HiGHS's random
//! seed, so they are a benchmark run by hand: `ARENAPLAN_ILP_MAX_BUFFERS=150`). The known optimum of a perfect packing is the
//! arena of its `.solution.csv` (the offsets it was cut at); the zoo and DNN-like instances have no known
//! optimum, so there the claim is checked: the arena equals the bound the packer proved.
//!
//! Run: `cargo test --release -p arenaplan-strategies --features highs --test ilp_highs -- --nocapture` (prints
//! the figures of every instance). Without the feature this file compiles to nothing.
#![cfg(feature = "highs")]

use std::path::Path;
use std::time::{Duration, Instant};

use arenaplan_planner::minimalloc_csv::read_csv;
use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::{pack_checked, BufferProblem, PackLimits, Status};
use arenaplan_strategies::greedy::{GreedyPacker, Order, Placement};
use arenaplan_strategies::{IlpPacker, IlpSolver};

/// A limit far above what the instances need (seconds in release builds), so a miss is a real miss.
const LIMIT: Duration = Duration::from_secs(120);

/// The largest suite instance under test: `ARENAPLAN_ILP_MAX_BUFFERS`, else 100.
fn max_buffers() -> usize {
    std::env::var("ARENAPLAN_ILP_MAX_BUFFERS").ok().and_then(|v| v.parse().ok()).unwrap_or(100)
}

/// `(name, problem, known optimum)` of the instances under test, in file-name order.
fn instances() -> Vec<(String, BufferProblem, Option<u64>)> {
    let dir = arenaplan_datasets::root().join("instances");
    let read = |path: &Path| read_csv(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("datasets/instances exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".csv") && !n.ends_with(".solution.csv"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let problem = read(&dir.join(&name)).problem;
        let stem = name.trim_end_matches(".csv").to_owned();
        let solution = dir.join(format!("{stem}.solution.csv"));
        let known = solution.exists().then(|| {
            let s = read(&solution);
            arena_bytes_of(&s.problem, &s.offsets.expect("a solution file has offsets"))
        });
        if stem.starts_with("zoo_") || problem.buffers.len() <= max_buffers() {
            out.push((stem, problem, known));
        }
    }
    out
}

#[test]
fn ilp_highs_proves_the_zoo_and_the_suite_up_to_the_buffer_limit() {
    let instances = instances();
    assert!(
        instances.iter().filter(|i| i.0.starts_with("zoo_")).count() == 8
            && instances.iter().filter(|i| i.2.is_some()).count() >= 1,
        "expected the 8 zoo instances and at least one perfect packing: {:?}",
        instances.iter().map(|i| &i.0).collect::<Vec<_>>()
    );
    let mut misses = Vec::new();
    for (name, problem, known) in &instances {
        let ilp = IlpPacker::new(IlpSolver::Highs);
        let began = Instant::now();
        let result = pack_checked(&ilp, problem, &PackLimits { time_limit: LIMIT, seed: 0 });
        let seconds = began.elapsed().as_secs_f64();
        let run = ilp.last_run().expect("a finished run");
        let (packing, arena) = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        eprintln!(
            "{name}: {} buffers, arena {arena} B, bound {} B, {:?}, {seconds:.3} s; solver on {} parts ({} proven, \
             {} skipped), {} models, largest {} vars ({} binaries) x {} rows, {:.3} s in the solver",
            problem.buffers.len(),
            packing.lower_bound_bytes,
            packing.status,
            run.solver_parts,
            run.proven_parts,
            run.skipped_parts,
            run.models,
            run.largest_model.variables,
            run.largest_model.binaries,
            run.largest_model.rows,
            run.solver_seconds
        );
        let proven = packing.status == Status::Optimal && packing.lower_bound_bytes == arena;
        let right = known.is_none_or(|k| arena == k);
        if !proven || !right || run.skipped_parts > 0 {
            misses.push(format!("{name}: {:?}, arena {arena}, known optimum {known:?}, {run:?}", packing.status));
        }
    }
    assert!(misses.is_empty(), "not proven optimal:\n{}", misses.join("\n"));
}

#[test]
fn the_solver_itself_proves_a_perfect_packing_its_warm_start_misses() {
    // First fit by start time misses the optimum of this 50-buffer perfect packing, so the proof is the
    // solver's (the decision at the floor), not the warm start's.
    let dir = arenaplan_datasets::root().join("instances");
    let problem = read_csv(&std::fs::read_to_string(dir.join("perfect_50_s1.csv")).unwrap()).unwrap().problem;
    let weak = GreedyPacker::new(Order::StartTime, Placement::FirstFit);
    assert!(arena_bytes_of(&problem, &weak.offsets(&problem)) > problem.lower_bound());
    let mut ilp = IlpPacker::new(IlpSolver::Highs);
    ilp.warm_start = Box::new(weak);
    let (packing, arena) = pack_checked(&ilp, &problem, &PackLimits { time_limit: LIMIT, seed: 0 }).unwrap();
    assert_eq!((packing.status, arena), (Status::Optimal, problem.lower_bound()));
    let run = ilp.last_run().unwrap();
    assert!(run.solver_parts >= 1 && run.floor_fits >= 1, "{run:?}");
    let params = arenaplan_planner::Packer::params(&ilp);
    assert_eq!(params["solver"], "Highs");
    assert_eq!(params["proven_bound_bytes"], problem.lower_bound().to_string());
}
