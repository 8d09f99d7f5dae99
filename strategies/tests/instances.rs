//! The instance generators, and the instances committed under `datasets/instances/`.

use arenaplan_planner::minimalloc_csv::read_csv;
use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::validate_offsets;
use arenaplan_strategies::canonical::canonicalize;
use arenaplan_strategies::instances::{dnn_like, hard_suite, perfect_packing, realistic_times};

#[test]
fn perfect_packings_have_zero_slack_and_their_cut_packing_is_valid() {
    for (n, seed) in [(1, 0), (20, 1), (150, 2), (500, 3)] {
        let pp = perfect_packing(n, seed);
        assert_eq!(pp.problem.buffers.len(), n);
        // Every step carries exactly the capacity.
        assert!(pp.problem.live_profile().iter().all(|&live| live == pp.optimum_bytes), "n={n}");
        assert_eq!(pp.optimum_bytes, 1 << 20);
        assert_eq!(arena_bytes_of(&pp.problem, &pp.offsets), pp.optimum_bytes);
        validate_offsets(&pp.problem, &pp.offsets, pp.optimum_bytes).unwrap();
        assert!(pp.problem.buffers.iter().all(|b| b.size_bytes % 16 == 0 && b.size_bytes > 0 && !b.live.is_empty()));
    }
    assert_eq!(perfect_packing(40, 9), perfect_packing(40, 9));
    assert_ne!(perfect_packing(40, 9).problem, perfect_packing(40, 10).problem);
}

#[test]
fn dnn_like_instances_look_like_networks() {
    let p = dnn_like(100, 4);
    assert_eq!(p, dnn_like(100, 4));
    assert!(p.buffers.len() > 100, "one output per op plus scratch");
    assert!(p.buffers.iter().all(|b| b.size_bytes % 16 == 0 && b.align_bytes == 16 && !b.live.is_empty()));
    // Residual connections: some tensor outlives its next consumer.
    assert!(p.buffers.iter().any(|b| b.live.end - b.live.start > 2));
    // Lower bound far below the sum of sizes: memory reuse matters.
    assert!(p.lower_bound() * 4 < p.total_bytes());
}

#[test]
fn committed_instances_parse_and_committed_solutions_are_valid() {
    let dir = arenaplan_datasets::root().join("instances");
    let mut instances = 0;
    let mut solutions = 0;
    for entry in std::fs::read_dir(&dir).expect("datasets/instances exists") {
        let path = entry.unwrap().path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else { continue };
        if !name.ends_with(".csv") {
            continue;
        }
        let csv = read_csv(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!csv.problem.buffers.is_empty(), "{name} is empty");
        instances += 1;
        if let Some(offsets) = csv.offsets {
            // Solutions of perfect packings: zero slack, so the arena is the lower bound.
            let arena = arena_bytes_of(&csv.problem, &offsets);
            validate_offsets(&csv.problem, &offsets, arena).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(arena, csv.problem.lower_bound(), "{name}");
            solutions += 1;
        }
    }
    assert!(instances >= 4 && solutions >= 1, "{instances} instances, {solutions} solutions in {}", dir.display());
}

#[test]
fn realistic_times_keep_the_problem_and_spread_the_time_values() {
    let pp = perfect_packing(300, 4);
    let spread = realistic_times(&pp.problem, 4);
    // The same allocation problem: equal canonical forms, the cut packing still valid with the same arena.
    assert_eq!(canonicalize(&spread).problem, canonicalize(&pp.problem).problem);
    validate_offsets(&spread, &pp.offsets, pp.optimum_bytes).unwrap();
    assert_eq!(spread.lower_bound(), pp.optimum_bytes);
    // Not ranks: the largest time stamp is far beyond the number of boundaries.
    let last = spread.buffers.iter().map(|b| b.live.end).max().unwrap();
    assert!(last > 1_000_000, "{last}");
    assert_eq!(realistic_times(&pp.problem, 4), spread, "seeded");
}

#[test]
fn the_hard_suite_spans_50_to_1000_buffers_with_zero_slack_perfect_packings() {
    let suite = hard_suite();
    let sizes: Vec<usize> = suite.iter().map(|s| s.problem.buffers.len()).collect();
    assert!(sizes.iter().all(|&n| (50..=1_010).contains(&n)), "{sizes:?}");
    assert!(sizes.iter().filter(|&&n| n >= 1_000).count() >= 2, "a perfect packing and a DNN of 1,000: {sizes:?}");
    for s in &suite {
        if let (Some(optimum), Some(solution)) = (s.known_optimum_bytes, &s.solution) {
            // Zero slack: from the first start on, every section carries exactly the optimum; the witness reaches it.
            let segments = s.problem.live_segments();
            assert!(segments.iter().skip_while(|seg| seg.1 == 0).all(|&(_, live)| live == optimum), "{}", s.name);
            validate_offsets(&s.problem, solution, optimum).unwrap_or_else(|e| panic!("{}: {e}", s.name));
            assert_eq!(arena_bytes_of(&s.problem, solution), optimum, "{}", s.name);
        }
    }
    assert!(suite.iter().filter(|s| s.known_optimum_bytes.is_some()).count() >= 10);
}
