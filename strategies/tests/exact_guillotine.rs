//! The guillotine search of `exact`: it finds the suite's perfect packings (all guillotine by construction), it
//! says "no guillotine packing" on a zero-slack problem whose only packings are pinwheels (and `exact` still
//! finds one by search), and with it `exact` proves every perfect packing of the suite optimal.

use std::time::{Duration, Instant};

use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::{pack_checked, validate_offsets, Buffer, BufferProblem, PackLimits, Status};
use arenaplan_strategies::canonical::canonicalize;
use arenaplan_strategies::decompose::{partitions, subproblem};
use arenaplan_strategies::exact::guillotine::Guillotine;
use arenaplan_strategies::exact::search::{Instance, Outcome};
use arenaplan_strategies::exact::{ExactPacker, Rules};
use arenaplan_strategies::instances::{hard_suite, perfect_packing};

/// Five buffers tiling a 3 x 3 square (times 0..3, 3 units of 16 bytes) as a pinwheel around a centre buffer:
/// no time and no offset cuts through, so no guillotine packing exists.
fn pinwheel() -> BufferProblem {
    let unit = 16;
    BufferProblem::new(vec![
        Buffer::instance("a", unit, 16, 0..2),     // offset 0
        Buffer::instance("b", 2 * unit, 16, 2..3), // offset 0
        Buffer::instance("c", unit, 16, 1..3),     // offset 2 units
        Buffer::instance("d", 2 * unit, 16, 0..1), // offset 1 unit
        Buffer::instance("e", unit, 16, 1..2),     // offset 1 unit
    ])
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(600)
}

#[test]
fn the_pinwheel_has_zero_slack_and_a_packing() {
    let p = pinwheel();
    let offsets = [0, 0, 32, 16, 16];
    validate_offsets(&p, &offsets, 48).unwrap();
    assert_eq!(arena_bytes_of(&p, &offsets), 48);
    assert_eq!(p.lower_bound(), 48);
}

#[test]
fn guillotine_finds_no_pinwheel_but_exact_does() {
    let c = canonicalize(&pinwheel());
    let inst = Instance::new(&c.problem);
    let capacity = c.problem.lower_bound();
    let (outcome, nodes) = Guillotine::new(&inst, capacity, u64::MAX, far()).run();
    assert_eq!(outcome, Outcome::Infeasible, "no guillotine packing");
    assert!(nodes > 0);
    for rules in [Rules::DEFAULT, Rules::DEFAULT.with("restarts", false).unwrap()] {
        let limits = PackLimits { time_limit: Duration::from_secs(20), seed: 1 };
        let exact = ExactPacker::default().with_rules(rules);
        let (packing, arena) = pack_checked(&exact, &pinwheel(), &limits).unwrap();
        assert_eq!((arena, packing.status), (48, Status::Optimal), "{}", rules.describe());
        let stats = exact.last_stats().unwrap();
        // The warm start may already be optimal; when it is not, the guillotine search ran first and failed.
        assert!(stats.guillotine_nodes == 0 || stats.nodes > stats.guillotine_nodes, "{stats:?}");
    }
}

#[test]
fn guillotine_finds_perfect_packings_at_their_optimum_and_never_below() {
    for (n, seed) in [(2, 1), (5, 2), (20, 3), (60, 4), (150, 5), (300, 6)] {
        let pp = perfect_packing(n, seed);
        let c = canonicalize(&pp.problem);
        let capacity = pp.optimum_bytes / c.unit;
        for idx in partitions(&c.problem) {
            let part = subproblem(&c.problem, &idx);
            let inst = Instance::new(&part);
            match Guillotine::new(&inst, capacity, u64::MAX, far()).run().0 {
                Outcome::Found(offsets) => {
                    validate_offsets(&part, &offsets, capacity).unwrap();
                    assert!(arena_bytes_of(&part, &offsets) <= capacity, "n={n} seed={seed}");
                }
                other => panic!("n={n} seed={seed}: {other:?}"),
            }
            // One unit less: the part no longer has zero slack there, and nothing fits.
            if part.lower_bound() == capacity {
                let (below, _) = Guillotine::new(&inst, capacity - 1, u64::MAX, far()).run();
                assert_eq!(below, Outcome::Infeasible, "n={n} seed={seed}");
            }
        }
    }
}

#[test]
fn guillotine_stops_at_its_node_limit() {
    let pp = perfect_packing(300, 6);
    let c = canonicalize(&pp.problem);
    let part = subproblem(&c.problem, &partitions(&c.problem)[0]);
    let inst = Instance::new(&part);
    let (outcome, nodes) = Guillotine::new(&inst, pp.optimum_bytes / c.unit, 3, far()).run();
    assert_eq!((outcome, nodes), (Outcome::NodeLimit, 4));
}

#[test]
fn exact_proves_every_perfect_packing_of_the_suite_optimal() {
    let limits = PackLimits { time_limit: Duration::from_secs(120), seed: 0 };
    for inst in hard_suite().into_iter().filter(|i| i.known_optimum_bytes.is_some()) {
        let optimum = inst.known_optimum_bytes.unwrap();
        let exact = ExactPacker::default();
        let (packing, arena) = pack_checked(&exact, &inst.problem, &limits).unwrap();
        assert_eq!((arena, packing.status), (optimum, Status::Optimal), "{}", inst.name);
        // At its capacity, the decision packs it within.
        let (_, arena) = pack_checked(&exact, &inst.problem.clone().with_capacity(optimum), &limits).unwrap();
        assert!(arena <= optimum, "{}", inst.name);
    }
}
