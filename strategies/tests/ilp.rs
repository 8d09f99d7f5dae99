//! The ILP: never worse than its warm start, hits the known optimum of perfect packings when it claims
//! optimality, and gives the same optimum with or without symmetry breaking.

use std::time::Duration;

use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::{pack_checked, PackLimits, Packer, Status};
use arenaplan_strategies::greedy::{GreedyPacker, Order, Placement};
use arenaplan_strategies::instances::{dnn_like, perfect_packing};
use arenaplan_strategies::{IlpPacker, IlpSolver};

fn limits(seconds: u64) -> PackLimits {
    PackLimits { time_limit: Duration::from_secs(seconds), seed: 0 }
}

/// The ILP warm-started from a weak greedy (first fit by start time), so it has room to improve.
fn ilp_from_weak_start(solver: IlpSolver) -> IlpPacker {
    let mut ilp = IlpPacker::new(solver);
    ilp.warm_start = Box::new(GreedyPacker::new(Order::StartTime, Placement::FirstFit));
    ilp
}

#[test]
fn ilp_proves_the_optimum_of_small_perfect_packings() {
    for solver in IlpSolver::available() {
        for (n, seed) in [(6, 1), (8, 2), (10, 3)] {
            let pp = perfect_packing(n, seed);
            let (packing, arena) = pack_checked(&ilp_from_weak_start(solver), &pp.problem, &limits(30)).unwrap();
            assert_eq!(packing.status, Status::Optimal, "{solver:?} n={n} seed={seed}");
            assert_eq!(arena, pp.optimum_bytes, "{solver:?} n={n} seed={seed}");
        }
    }
}

#[test]
fn ilp_is_never_worse_than_its_warm_start() {
    let start = GreedyPacker::new(Order::StartTime, Placement::FirstFit);
    for solver in IlpSolver::available() {
        for (seed, problem) in
            (0..4).flat_map(|s| [(s, perfect_packing(14, s).problem), (s, dnn_like(20 + 5 * s as usize, s))])
        {
            let warm = arena_bytes_of(&problem, &start.offsets(&problem));
            // A short limit, so some runs stop early: the answer must still be no worse.
            let (_, arena) = pack_checked(&ilp_from_weak_start(solver), &problem, &limits(1)).unwrap();
            assert!(arena <= warm, "{solver:?} seed {seed}: {arena} > warm start {warm}");
        }
    }
}

#[test]
fn symmetry_breaking_keeps_the_optimum() {
    for solver in IlpSolver::available() {
        for seed in 0..3 {
            let pp = perfect_packing(7, 100 + seed);
            // Duplicate two buffers so identical buffers exist.
            let mut problem = pp.problem.clone();
            problem.buffers.push(problem.buffers[0].clone());
            problem.buffers.push(problem.buffers[1].clone());
            let problem = arenaplan_planner::BufferProblem::new(problem.buffers);
            let with = ilp_from_weak_start(solver);
            let without = ilp_from_weak_start(solver).with_symmetry_breaking(false);
            let (a, arena_a) = pack_checked(&with, &problem, &limits(30)).unwrap();
            let (b, arena_b) = pack_checked(&without, &problem, &limits(30)).unwrap();
            assert_eq!((a.status, b.status), (Status::Optimal, Status::Optimal), "{solver:?} seed {seed}");
            assert_eq!(arena_a, arena_b, "{solver:?} seed {seed}");
        }
    }
}

#[test]
fn a_part_over_the_pair_limit_keeps_the_warm_start_says_so_and_returns_at_once() {
    let pp = perfect_packing(12, 5);
    let start = GreedyPacker::new(Order::StartTime, Placement::FirstFit);
    let ilp = ilp_from_weak_start(IlpSolver::available()[0]).with_max_pairs(0);
    assert!(ilp.last_run().is_none());
    // A long limit: skipping the solver must not spend it.
    let began = std::time::Instant::now();
    let packing = ilp.pack(&pp.problem, &limits(600)).unwrap();
    assert!(began.elapsed() < Duration::from_secs(60), "the skipped solver spent the time limit");
    assert_eq!(packing.offsets, start.offsets(&pp.problem));
    assert_eq!(packing.status, Status::Heuristic, "no solver ran: no claim beyond a heuristic's");
    let run = ilp.last_run().unwrap();
    assert_eq!((run.solver_parts, run.proven_parts), (0, 0));
    assert!(run.skipped_parts >= 1);
    let params = ilp.params();
    assert!(params["skip_reason"].contains("max_pairs 0"), "{params:?}");
    assert_eq!(params["solver_parts"], "0");
}

#[test]
fn the_ilp_counts_the_parts_it_solved() {
    // A perfect packing the weak warm start does not solve, so some part needs the solver.
    let start = GreedyPacker::new(Order::StartTime, Placement::FirstFit);
    let pp = (0..50)
        .map(|seed| perfect_packing(8, seed))
        .find(|pp| arena_bytes_of(&pp.problem, &start.offsets(&pp.problem)) > pp.optimum_bytes)
        .expect("some seed defeats first fit by start time");
    let ilp = ilp_from_weak_start(IlpSolver::available()[0]);
    let (packing, _) = pack_checked(&ilp, &pp.problem, &limits(30)).unwrap();
    let run = ilp.last_run().unwrap();
    assert_eq!(run.skipped_parts, 0);
    assert!(run.solver_parts >= 1, "{run:?}");
    assert_eq!(packing.status, Status::Optimal);
}
