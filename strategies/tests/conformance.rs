//! One suite run against every registered packer: on every zoo model and on random problems, the plan validates,
//! its arena is at least the lower bound, and two runs give the same plan. Plus cross-checks between packers:
//! no packer beats a proven optimum, and the proven optima match a brute-force oracle on tiny problems.

use std::time::{Duration, Instant};

use arenaplan_datasets as datasets;
use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::{
    lower, pack_checked, Buffer, BufferId, BufferOrigin, BufferProblem, Graph, PackError, PackLimits, PlanRequest,
    Status,
};
use arenaplan_strategies::exact::{ExactPacker, Rules};
use arenaplan_strategies::greedy::first_fit_in_order;
use arenaplan_strategies::{packer_by_name, packer_names, packers};
use proptest::prelude::*;

/// Short limits: the ILP cannot prove some 14-buffer problems in seconds (in debug builds), and a run that
/// stops at its time limit is only as reproducible as the clock.
const LIMIT: Duration = Duration::from_secs(2);

fn limits() -> PackLimits {
    PackLimits { time_limit: LIMIT, seed: 7 }
}

/// Run every packer twice on `problem`; check validity, the bound and determinism (for runs that ended well
/// before the time limit); return (name, arena, status).
fn run_all(problem: &BufferProblem, what: &str) -> Vec<(String, u64, Status)> {
    let load = problem.lower_bound();
    let mut out = Vec::new();
    for packer in packers() {
        let name = packer.name();
        let start = Instant::now();
        let (first, arena) = pack_checked(packer.as_ref(), problem, &limits())
            .unwrap_or_else(|e| panic!("{what}: `{name}` failed: {e}"));
        let clock_free = start.elapsed() < LIMIT / 2;
        assert!(arena >= load, "{what}: `{name}` claims {arena} bytes below LOAD {load}");
        assert!(first.lower_bound_bytes <= arena, "{what}: `{name}` bound {} > arena {arena}", first.lower_bound_bytes);
        if clock_free {
            let (second, _) = pack_checked(packer.as_ref(), problem, &limits()).expect("second run");
            assert_eq!(first.offsets, second.offsets, "{what}: `{name}` is not deterministic");
        }
        out.push((name, arena, first.status));
    }
    out
}

/// No packer may beat an arena some packer proved optimal.
fn check_no_packer_beats_a_proof(results: &[(String, u64, Status)], what: &str) {
    for (name, arena, status) in results {
        if *status == Status::Optimal {
            for (other, other_arena, _) in results {
                assert!(
                    other_arena >= arena,
                    "{what}: `{other}` ({other_arena}) beats `{name}`'s proven optimum {arena}"
                );
            }
        }
    }
}

#[test]
fn registry_lists_the_documented_packers_once_each() {
    let names = packer_names();
    for expected in [
        "greedy-by-size",
        "greedy-by-size-best-fit",
        "greedy-by-breadth",
        "greedy-by-start",
        "greedy-by-conflicts",
        "best-of",
        "hill-climb",
        "ilp",
        "exact",
    ] {
        assert_eq!(names.iter().filter(|n| *n == expected).count(), 1, "`{expected}` in {names:?}");
    }
    assert_eq!(names[0], "greedy-by-size", "the TFLM baseline comes first");
    assert!(packer_by_name("no-such-packer").is_none());
}

#[test]
fn every_packer_on_every_zoo_model() {
    let names = datasets::network_names();
    assert!(!names.is_empty(), "the model zoo (datasets/models) is empty");
    for name in names {
        let bytes = datasets::model_bytes(&name).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let problem = lower(&graph, &graph.default_schedule(), &PlanRequest::default()).unwrap().problem;
        let results = run_all(&problem, &name);
        check_no_packer_beats_a_proof(&results, &name);
        let exact = results.iter().find(|r| r.0 == "exact").unwrap();
        let greedy = results.iter().find(|r| r.0 == "greedy-by-size").unwrap();
        assert!(exact.1 <= greedy.1, "{name}: exact is worse than its greedy warm start");
    }
}

/// A random problem: up to `max_buffers` buffers, sizes up to 1 KiB in 8-byte steps (some zero), alignments
/// 1 to 64, lifetimes of 1 to 7 steps within 23 steps. (No empty lifetimes: lowering never makes them, and the
/// planner's validator treats one as alive at its start step.)
fn arb_problem(max_buffers: usize) -> impl Strategy<Value = BufferProblem> {
    prop::collection::vec((0u64..128, 0u32..16, 1u32..8, 0u32..7), 0..=max_buffers).prop_map(|specs| {
        BufferProblem::new(
            specs
                .into_iter()
                .map(|(eighths, start, len, align_pow)| Buffer {
                    id: BufferId(0),
                    origin: BufferOrigin::Instance,
                    name: String::new(),
                    size_bytes: eighths * 8,
                    align_bytes: 1 << align_pow,
                    live: start..start + len,
                })
                .collect(),
        )
    })
}

/// The optimum by brute force: first fit in every order (the best packing is first fit in its offset order).
fn brute_force_optimum(problem: &BufferProblem) -> u64 {
    fn permute(k: usize, order: &mut Vec<usize>, problem: &BufferProblem, best: &mut u64) {
        if k == order.len() {
            *best = (*best).min(arena_bytes_of(problem, &first_fit_in_order(problem, order)));
            return;
        }
        for i in k..order.len() {
            order.swap(k, i);
            permute(k + 1, order, problem, best);
            order.swap(k, i);
        }
    }
    let mut order: Vec<usize> = (0..problem.buffers.len()).collect();
    let mut best = u64::MAX;
    permute(0, &mut order, problem, &mut best);
    if problem.buffers.is_empty() {
        0
    } else {
        best
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn every_packer_on_random_problems(problem in arb_problem(14)) {
        let results = run_all(&problem, "random problem");
        check_no_packer_beats_a_proof(&results, "random problem");
    }

    #[test]
    fn proven_optima_match_brute_force_on_tiny_problems(problem in arb_problem(6)) {
        let optimum = brute_force_optimum(&problem);
        for name in ["exact", "ilp"] {
            let packer = packer_by_name(name).unwrap();
            let (packing, arena) = pack_checked(packer.as_ref(), &problem, &limits()).unwrap();
            prop_assert!(arena >= optimum, "{} found {} below the brute-force optimum {}", name, arena, optimum);
            prop_assert!(packing.lower_bound_bytes <= optimum, "{} proved a bound above the optimum", name);
            if packing.status == Status::Optimal {
                prop_assert_eq!(arena, optimum, "{} claims optimality", name);
            }
        }
        // The exact search has no excuse on six buffers: it must prove the optimum.
        let (packing, arena) = pack_checked(packer_by_name("exact").unwrap().as_ref(), &problem, &limits()).unwrap();
        prop_assert_eq!(packing.status, Status::Optimal);
        prop_assert_eq!(arena, optimum);
    }

    #[test]
    fn every_packer_respects_a_capacity(problem in arb_problem(8)) {
        let optimum = brute_force_optimum(&problem);
        for packer in packers() {
            let name = packer.name();
            // At the optimum: a packing within it, or (heuristics only) a typed "does not fit".
            match pack_checked(packer.as_ref(), &problem.clone().with_capacity(optimum), &limits()) {
                Ok((_, arena)) => prop_assert!(arena <= optimum),
                Err(PackError::NoFit { arena_bytes, .. }) => {
                    prop_assert!(name != "exact", "exact failed to fit its optimum");
                    prop_assert!(arena_bytes > optimum);
                }
                Err(e) => prop_assert!(false, "{}: {}", name, e),
            }
            // Below LOAD: nothing fits, and every packer says so.
            let load = problem.lower_bound();
            if load > 0 {
                let result = pack_checked(packer.as_ref(), &problem.clone().with_capacity(load - 1), &limits());
                prop_assert!(result.is_err(), "{} fits below LOAD", name);
            }
        }
    }

    /// The exact packer's rule presets beyond the registry's default: MiniMalloc's rules only, every rule on
    /// (time sweep included), every rule off; each validates, proves the brute-force optimum on small problems,
    /// and answers the decision at the optimum and one byte below.
    #[test]
    fn exact_rule_presets_match_brute_force(problem in arb_problem(6)) {
        let optimum = brute_force_optimum(&problem);
        let presets = [
            ExactPacker::minimalloc(),
            ExactPacker::default().with_rules(Rules::ALL),
            ExactPacker::default().with_rules(Rules::NONE),
        ];
        for packer in &presets {
            let rules = packer.rules.describe();
            let (packing, arena) = pack_checked(packer, &problem, &limits()).unwrap();
            prop_assert_eq!(arena, optimum, "rules {}", rules);
            prop_assert_eq!(packing.status, Status::Optimal, "rules {}", rules);
            let fits = pack_checked(packer, &problem.clone().with_capacity(optimum), &limits());
            prop_assert!(fits.is_ok(), "rules {}: {:?}", rules, fits.err());
            if optimum > 0 {
                let below = pack_checked(packer, &problem.clone().with_capacity(optimum - 1), &limits());
                prop_assert!(matches!(below, Err(PackError::Infeasible { .. })), "rules {}: {:?}", rules, below);
            }
        }
    }
}
