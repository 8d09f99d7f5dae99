//! The exact search: it proves the known optimum of perfect packings, answers the decision question right on
//! both sides of it in every flag combination, and returns a valid plan with a sound bound at its time limit.

use std::time::{Duration, Instant};

use arenaplan_planner::{pack_checked, PackLimits, Packer, Status};
use arenaplan_strategies::exact::search::{Instance, Outcome, PointRule, Search};
use arenaplan_strategies::exact::{Preorder, Rules};
use arenaplan_strategies::instances::perfect_packing;
use arenaplan_strategies::{decompose, ExactPacker};

#[test]
fn exact_proves_the_optimum_of_perfect_packings() {
    let limits = PackLimits { time_limit: Duration::from_secs(30), seed: 0 };
    for (n, seed) in [(20, 1), (30, 2), (40, 3), (60, 4), (80, 5)] {
        let pp = perfect_packing(n, seed);
        let (packing, arena) = pack_checked(&ExactPacker::default(), &pp.problem, &limits).unwrap();
        assert_eq!(arena, pp.optimum_bytes, "{n} buffers, seed {seed}");
        assert_eq!(packing.status, Status::Optimal, "{n} buffers, seed {seed}");
    }
}

#[test]
fn decision_is_right_on_both_sides_of_the_optimum_in_every_flag_combination() {
    let deadline = Instant::now() + Duration::from_secs(120);
    // (Every one of the 2^10 combinations is checked against brute force on smaller problems in
    // `exact_rules.rs`; here the rules that matter on 24 buffers, each off in turn.)
    let mut toggles = vec![Rules::ALL];
    for name in ["symmetry", "wells", "dominance", "inference", "points"] {
        toggles.push(Rules::ALL.with(name, false).unwrap());
    }
    for (n, seed) in [(12, 11), (16, 12), (24, 13)] {
        let pp = perfect_packing(n, seed);
        for part in decompose::partitions(&pp.problem) {
            let sub = decompose::subproblem(&pp.problem, &part);
            let inst = Instance::new(&sub);
            for preorder in Preorder::ALL {
                let order = preorder.order(&sub, &inst);
                for &rules in &toggles {
                    for points in [PointRule::Off, PointRule::Earliest, PointRule::Fewest] {
                        let search = |capacity| {
                            Search::new(&inst, capacity, &order, u64::MAX, deadline)
                                .with_rules(rules)
                                .with_points(points)
                                .run()
                                .0
                        };
                        let what = format!("n={n} seed={seed} {preorder:?} {} {points:?}", rules.describe());
                        match search(pp.optimum_bytes) {
                            Outcome::Found(offsets) => {
                                let arena = arenaplan_planner::plan::arena_bytes_of(&sub, &offsets);
                                arenaplan_planner::validate_offsets(&sub, &offsets, arena).unwrap();
                                assert!(arena <= pp.optimum_bytes, "{what}");
                            }
                            other => panic!("{what}: {other:?} at the optimum"),
                        }
                        // The part with the busiest step cannot fit one unit below the capacity.
                        if sub.lower_bound() == pp.optimum_bytes {
                            assert_eq!(search(pp.optimum_bytes - 16), Outcome::Infeasible, "{what}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn at_its_time_limit_exact_returns_a_valid_plan_and_a_sound_bound() {
    let pp = perfect_packing(450, 1);
    let limits = PackLimits { time_limit: Duration::from_millis(300), seed: 0 };
    let (packing, arena) = pack_checked(&ExactPacker::default(), &pp.problem, &limits).unwrap();
    assert!(packing.lower_bound_bytes <= pp.optimum_bytes);
    assert!(packing.lower_bound_bytes <= arena);
    if packing.status != Status::Optimal {
        assert_eq!(packing.status, Status::Feasible);
        assert!(arena > packing.lower_bound_bytes);
    }
    assert_eq!(ExactPacker::default().name(), "exact");
}
