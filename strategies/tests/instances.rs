//! The instance generators, and the instances committed under `datasets/instances/`.

use arenaplan_planner::minimalloc_csv::read_csv;
use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::validate_offsets;
use arenaplan_strategies::instances::{dnn_like, perfect_packing};

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
