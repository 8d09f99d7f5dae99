//! `exact`: our own branch-and-bound for the fixed-schedule problem, in the spirit of MiniMalloc.
//!
//! The problem is split at the time points no buffer crosses ([`crate::decompose`]); each part whose warm start
//! (by default `best-of` the greedy family: cheap, and the search starts at the lower bound anyway) exceeds the
//! running lower bound is minimised by asking the decision search ([`search`]) "does it fit in C?": first at
//! the lower bound, then by bisection between the proven bound and the best packing found. Every decision runs
//! the static orders in turn (round robin) with node limits that double, as MiniMalloc does, plus seeded random
//! orders (restarts), so a lucky order answers fast. Our addition to MiniMalloc's rules is the point rules
//! ([`search::Search::with_points`]): where a section has no slack left, its lowest free point must be covered,
//! which makes zero-slack instances a tiling search. At the time limit it returns the best packing found
//! (polished by hill climbing in the last tenth of the time) with the bound proven so far ([`Status::Feasible`],
//! `lower_bound_bytes` = that bound).

use std::collections::BTreeMap;
use std::time::Instant;

use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::problem::round_up;
use arenaplan_planner::{BufferProblem, PackError, PackLimits, Packer, Packing, Status};

use crate::best_of::BestOf;
use crate::common::{finish, unit_of, without_capacity};
use crate::decompose::{solve_by_parts, PartResult};
use crate::hill_climb::hill_climb;
use crate::rng::SplitMix64;

pub mod search;

use search::{Instance, Outcome, PointRule, Search};

/// A static order of the buffers: which buffer is tried first among those with the same lowest offset. Each
/// letter is a key, in decreasing order, as in MiniMalloc's preorderings; ties by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preorder {
    /// Width (sections spanned), then area (bytes x steps), then the largest section total it spans.
    Wat,
    /// Section total, then area, then width.
    Taw,
    /// Section total, then width, then area.
    Twa,
}

impl Preorder {
    /// MiniMalloc's default three.
    pub const ALL: [Preorder; 3] = [Preorder::Wat, Preorder::Taw, Preorder::Twa];

    /// The order of the buffers of `problem` (searched as `inst`).
    pub fn order(self, problem: &BufferProblem, inst: &Instance) -> Vec<usize> {
        let n = inst.len();
        let keys: Vec<(usize, u64, u64)> = (0..n)
            .map(|i| {
                let b = &problem.buffers[i];
                (inst.width(i), b.size_bytes.saturating_mul(b.live.len() as u64), inst.max_section_total(i))
            })
            .collect();
        let key = |i: usize| -> (u64, u64, u64) {
            let (w, a, t) = keys[i];
            match self {
                Preorder::Wat => (w as u64, a, t),
                Preorder::Taw => (t, a, w as u64),
                Preorder::Twa => (t, w as u64, a),
            }
        };
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&x, &y| key(y).cmp(&key(x)).then(x.cmp(&y)));
        order
    }
}

/// The exact search packer.
pub struct ExactPacker {
    /// The packer whose result is the first upper bound (and the answer if the search finds nothing better).
    pub warm_start: Box<dyn Packer>,
    /// Search configurations (static order, point rule) tried in turn by every decision.
    pub configs: Vec<(Preorder, PointRule)>,
    /// Hill-climbing moves spent on the best plan when the search could not prove it optimal.
    pub polish_iterations: u32,
}

impl Default for ExactPacker {
    /// Warm start from `best-of`; four configurations: MiniMalloc's `WAT` and `TAW` orders, each with both
    /// point rules (on zero-slack instances the search time is heavy-tailed, and diverse restarts pay).
    fn default() -> Self {
        ExactPacker {
            warm_start: Box::new(BestOf::default()),
            configs: vec![
                (Preorder::Wat, PointRule::Fewest),
                (Preorder::Taw, PointRule::Earliest),
                (Preorder::Taw, PointRule::Fewest),
                (Preorder::Wat, PointRule::Earliest),
            ],
            polish_iterations: 2_000,
        }
    }
}

impl ExactPacker {
    /// MiniMalloc's own search: its three orders, no point rule.
    pub fn minimalloc() -> Self {
        ExactPacker {
            warm_start: Box::new(BestOf::default()),
            configs: Preorder::ALL.iter().map(|&p| (p, PointRule::Off)).collect(),
            polish_iterations: 0,
        }
    }
}

/// The answer of one decision "does it fit in `capacity`?".
///
/// Rounds with node limits that double (from twice the buffer count): each round runs every configuration's
/// static order, then as many seeded random orders (alternating the point rules), so that the heavy-tailed
/// search gets diverse restarts. Deterministic for a given `seed`.
fn decide(
    part: &BufferProblem,
    inst: &Instance,
    orders: &[(Vec<usize>, PointRule)],
    capacity: u64,
    seed: u64,
    deadline: Instant,
) -> Outcome {
    let mut node_limit = inst.len().max(1) as u64;
    let mut rng = SplitMix64::new(seed ^ 0x6578_6163_7421);
    loop {
        node_limit = node_limit.saturating_mul(2);
        let random: Vec<(Vec<usize>, PointRule)> = (0..orders.len())
            .map(|k| {
                let mut order: Vec<usize> = (0..inst.len()).collect();
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.below(i as u64 + 1) as usize);
                }
                (order, if k % 2 == 0 { PointRule::Fewest } else { PointRule::Earliest })
            })
            .collect();
        for (order, points) in orders.iter().chain(&random) {
            let (outcome, _) = Search::new(inst, capacity, order, node_limit, deadline).with_points(*points).run();
            match outcome {
                Outcome::NodeLimit => continue,
                Outcome::Found(offsets) => {
                    debug_assert!(arena_bytes_of(part, &offsets) <= capacity);
                    return Outcome::Found(offsets);
                }
                other => return other,
            }
        }
    }
}

impl ExactPacker {
    /// Minimise one part: returns the best packing found and the bound proven on `max(target, optimum)`.
    fn solve_part(&self, part: &BufferProblem, target: u64, start: &[u64], seed: u64, deadline: Instant) -> PartResult {
        let inst = Instance::new(part);
        let orders: Vec<(Vec<usize>, PointRule)> =
            self.configs.iter().map(|&(p, rule)| (p.order(part, &inst), rule)).collect();
        let unit = unit_of(part, 0..part.buffers.len());
        let mut best = start.to_vec();
        let mut best_arena = arena_bytes_of(part, start);
        let mut lower = target.max(part.lower_bound());
        let mut first = true;
        while lower < best_arena {
            // First at the bound (real networks and zero-slack instances fit there), then by bisection.
            let capacity = if first { lower } else { lower + (best_arena - 1 - lower) / 2 };
            first = false;
            match decide(part, &inst, &orders, capacity, seed, deadline) {
                Outcome::Found(offsets) => {
                    best_arena = arena_bytes_of(part, &offsets);
                    best = offsets;
                }
                // Every left-justified packing's arena is a multiple of `unit`.
                Outcome::Infeasible => lower = round_up(capacity + 1, unit),
                Outcome::NodeLimit | Outcome::Deadline => break,
            }
        }
        PartResult { offsets: Some(best), lower_bound_bytes: lower.min(best_arena) }
    }
}

impl Packer for ExactPacker {
    fn name(&self) -> String {
        "exact".to_owned()
    }

    fn params(&self) -> BTreeMap<String, String> {
        let configs: Vec<String> = self.configs.iter().map(|(p, r)| format!("{p:?}/{r:?}")).collect();
        BTreeMap::from([("warm_start".to_owned(), self.warm_start.name()), ("configs".to_owned(), configs.join(","))])
    }

    fn pack(&self, problem: &BufferProblem, limits: &PackLimits) -> Result<Packing, PackError> {
        let start = Instant::now();
        let deadline = start + limits.time_limit;
        // The search gets 90% of the time; if it cannot close the gap, local search polishes its best plan in
        // the rest, so `exact` is never behind `hill-climb` on the problems it cannot solve.
        let search_deadline = start + limits.time_limit.mul_f64(0.9);
        let warm = self.warm_start.pack(&without_capacity(problem), limits)?;
        let (mut offsets, lower_bound) =
            solve_by_parts(problem, &warm.offsets, search_deadline, |part, target, start, deadline| {
                self.solve_part(part, target, start, limits.seed, deadline)
            });
        if arena_bytes_of(problem, &offsets) > lower_bound {
            offsets = hill_climb(problem, &offsets, self.polish_iterations, limits.seed, deadline);
        }
        finish(&self.name(), problem, offsets, Status::Feasible, lower_bound)
    }
}
