//! Every combination of the exact search's pruning rules against a brute-force oracle on small random problems
//! (at most 6 buffers) and on tiny perfect packings and a pinwheel (zero slack, where the time sweep and the
//! guillotine search run): at the optimum the decision finds a packing, one unit below it proves that none
//! exists, and minimising proves the optimum.

use std::collections::BTreeMap;
use std::time::Duration;

use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::{pack_checked, Buffer, BufferProblem, PackError, PackLimits, Packer, Packing, Status};
use arenaplan_strategies::exact::{ExactPacker, Rules};
use arenaplan_strategies::instances::perfect_packing;
use arenaplan_strategies::rng::SplitMix64;

/// The smallest arena by brute force: every order of the buffers, each placed at the lowest aligned offset
/// where it overlaps no buffer placed before it and alive at a common step (every optimal packing can be
/// pushed down into one of these). Independent of the packers' own code.
fn brute_force(problem: &BufferProblem) -> u64 {
    fn lowest(problem: &BufferProblem, placed: &[(usize, u64)], i: usize) -> u64 {
        let b = &problem.buffers[i];
        let align = b.align_bytes.max(1);
        let mut offset = 0;
        loop {
            let clash = placed.iter().find(|&&(j, o)| {
                let c = &problem.buffers[j];
                let overlap_time = b.live.start < c.live.end && c.live.start < b.live.end;
                overlap_time
                    && b.size_bytes > 0
                    && c.size_bytes > 0
                    && offset < o + c.size_bytes
                    && o < offset + b.size_bytes
            });
            match clash {
                Some(&(j, o)) => offset = (o + problem.buffers[j].size_bytes).div_ceil(align) * align,
                None => return offset,
            }
        }
    }
    fn go(problem: &BufferProblem, placed: &mut Vec<(usize, u64)>, used: &mut [bool], best: &mut u64) {
        let n = problem.buffers.len();
        if placed.len() == n {
            let arena = placed.iter().map(|&(j, o)| o + problem.buffers[j].size_bytes).max().unwrap_or(0);
            *best = (*best).min(arena);
            return;
        }
        for i in 0..n {
            if !used[i] {
                let o = lowest(problem, placed, i);
                used[i] = true;
                placed.push((i, o));
                go(problem, placed, used, best);
                placed.pop();
                used[i] = false;
            }
        }
    }
    let mut best = u64::MAX;
    go(problem, &mut Vec::new(), &mut vec![false; problem.buffers.len()], &mut best);
    best
}

/// A warm start that stacks every buffer on the previous one (no reuse at all), so the search has work to do.
struct Stacked;

impl Packer for Stacked {
    fn name(&self) -> String {
        "stacked".to_owned()
    }
    fn pack(&self, problem: &BufferProblem, _: &PackLimits) -> Result<Packing, PackError> {
        let mut top = 0u64;
        let offsets = problem
            .buffers
            .iter()
            .map(|b| {
                let o = top.div_ceil(b.align_bytes.max(1)) * b.align_bytes.max(1);
                top = o + b.size_bytes;
                o
            })
            .collect();
        Ok(Packing { offsets, status: Status::Heuristic, lower_bound_bytes: 0 })
    }
}

impl Stacked {
    fn offsets_arena(&self, problem: &BufferProblem) -> u64 {
        let limits = PackLimits::default();
        arena_bytes_of(problem, &self.pack(problem, &limits).unwrap().offsets)
    }
}

/// Small random problems: 1 to 6 buffers, sizes 0 to 96 bytes in steps of 8, alignments 1 to 16, lifetimes of
/// 1 to 4 steps within 7 (times scaled by 1000, so canonicalisation has work to do).
fn random_problems(count: usize, seed: u64) -> Vec<BufferProblem> {
    let mut rng = SplitMix64::new(seed);
    (0..count)
        .map(|_| {
            let n = rng.range_inclusive(1, 6) as usize;
            BufferProblem::new(
                (0..n)
                    .map(|i| {
                        let start = rng.below(6) as u32;
                        let len = rng.range_inclusive(1, 4) as u32;
                        let size = 8 * rng.below(13);
                        let align = 1u64 << rng.below(5);
                        Buffer::instance(format!("b{i}"), size, align, start * 1000..(start + len) * 1000)
                    })
                    .collect(),
            )
        })
        .collect()
}

fn packer(rules: Rules) -> ExactPacker {
    let mut p = ExactPacker::default().with_rules(rules);
    p.warm_start = Box::new(Stacked);
    p.polish_iterations = 0;
    p
}

/// What a problem is, for the searches that run on zero-slack parts only.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slack {
    /// Not known to have zero slack at its optimum.
    Some,
    /// Zero slack at the optimum, with a guillotine packing there (a perfect packing).
    Guillotine,
    /// Zero slack at the optimum, and no guillotine packing (the pinwheel).
    NonGuillotine,
}

fn check(problem: &BufferProblem, optimum: u64, rules: Rules, slack: Slack, what: &str) {
    let limits = PackLimits { time_limit: Duration::from_secs(20), seed: 3 };
    let p = packer(rules);
    let what = format!("{what} rules={}", rules.describe());
    // Minimising proves the optimum.
    let (packing, arena) = pack_checked(&p, problem, &limits).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(arena, optimum, "{what}: minimising");
    assert_eq!(packing.status, Status::Optimal, "{what}");
    let stats = p.last_stats().expect("statistics of the run");
    if slack != Slack::Some && Stacked.offsets_arena(problem) > optimum {
        // Zero slack at the optimum, and the warm start is not optimal: the guillotine search ran first, and the
        // time sweep ran unless the guillotine search had found a packing.
        if rules.guillotine {
            assert!(stats.guillotine_nodes > 0, "{what}: the guillotine search did not run");
        }
        if rules.sweep && (!rules.guillotine || slack == Slack::NonGuillotine) {
            assert!(stats.sweep_nodes > 0, "{what}: the time sweep did not run");
        }
    }
    // At the optimum: a packing within it.
    let (_, arena) = pack_checked(&p, &problem.clone().with_capacity(optimum), &limits)
        .unwrap_or_else(|e| panic!("{what}: at the optimum {optimum}: {e}"));
    assert!(arena <= optimum, "{what}");
    // One byte below: a proof that nothing fits.
    if optimum > 0 {
        match pack_checked(&p, &problem.clone().with_capacity(optimum - 1), &limits) {
            Err(PackError::Infeasible { capacity, lower_bound_bytes }) => {
                assert_eq!(capacity, optimum - 1, "{what}");
                assert!(lower_bound_bytes > optimum - 1 && lower_bound_bytes <= optimum, "{what}");
            }
            other => panic!("{what}: below the optimum {optimum}: {other:?}"),
        }
    }
}

#[test]
fn every_rule_combination_agrees_with_brute_force_on_random_problems() {
    let problems = random_problems(24, 0xA11_C0DE);
    let optima: Vec<u64> = problems.iter().map(brute_force).collect();
    for rules in Rules::every_combination() {
        for (k, (problem, &optimum)) in problems.iter().zip(&optima).enumerate() {
            check(problem, optimum, rules, Slack::Some, &format!("random problem {k}"));
        }
    }
}

#[test]
fn every_rule_combination_solves_tiny_perfect_packings() {
    let mut cases: Vec<(BufferProblem, u64, Slack)> = (2..=6)
        .map(|n| {
            let pp = perfect_packing(n, 40 + n as u64);
            (pp.problem, pp.optimum_bytes, Slack::Guillotine)
        })
        .collect();
    // A pinwheel: zero slack, but no guillotine packing (no time and no offset cuts through), so the guillotine
    // search fails and the others must find it.
    cases.push((
        BufferProblem::new(vec![
            Buffer::instance("a", 16, 16, 0..2000),
            Buffer::instance("b", 32, 16, 2000..3000),
            Buffer::instance("c", 16, 16, 1000..3000),
            Buffer::instance("d", 32, 16, 0..1000),
            Buffer::instance("e", 16, 16, 1000..2000),
        ]),
        48,
        Slack::NonGuillotine,
    ));
    for (problem, optimum, _) in &cases {
        assert_eq!(brute_force(problem), *optimum, "the oracle itself");
    }
    for rules in Rules::every_combination() {
        for (k, (problem, optimum, slack)) in cases.iter().enumerate() {
            check(problem, *optimum, rules, *slack, &format!("zero-slack case {k}"));
        }
    }
}

#[test]
fn the_brute_force_oracle_is_right_on_hand_made_problems() {
    // Two buffers alive together stack; a third after them reuses the space.
    let p = BufferProblem::new(vec![
        Buffer::instance("a", 64, 16, 0..2),
        Buffer::instance("b", 32, 16, 1..3),
        Buffer::instance("c", 96, 16, 3..4),
    ]);
    assert_eq!(brute_force(&p), 96);
    // Alignment forces a gap: 8 bytes, then 16 aligned to 16.
    let p = BufferProblem::new(vec![Buffer::instance("a", 8, 1, 0..1), Buffer::instance("b", 16, 16, 0..1)]);
    assert_eq!(brute_force(&p), 24);
    assert_eq!(arena_bytes_of(&p, &[16, 0]), 24);
}

#[test]
fn params_name_the_rules_and_count_the_nodes() {
    let pp = perfect_packing(30, 5);
    let p = packer(Rules::ALL.with("sweep", false).unwrap());
    assert!(!p.params().contains_key("nodes"), "no run yet");
    let limits = PackLimits { time_limit: Duration::from_secs(20), seed: 0 };
    let (packing, arena) = pack_checked(&p, &pp.problem, &limits).unwrap();
    assert_eq!((packing.status, arena), (Status::Optimal, pp.optimum_bytes));
    let params: BTreeMap<String, String> = p.params();
    assert!(!params["rules"].contains("sweep"), "{params:?}");
    assert!(params["rules"].contains("section_bounds"), "{params:?}");
    let nodes: u64 = params["nodes"].parse().unwrap();
    assert!(nodes > 0, "a stacked warm start leaves work for the search");
    assert_eq!(Rules::NONE.describe(), "none");
    assert!(Rules::ALL.with("no-such-rule", false).is_none());
    assert_eq!(Rules::every_combination().len(), 1 << Rules::NAMES.len());
}
