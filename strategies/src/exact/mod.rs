//! `exact`: our own branch-and-bound for the fixed-schedule problem, in the spirit of MiniMalloc.
//!
//! The problem is split at the time points no buffer crosses ([`crate::decompose`]); each part whose warm start
//! (by default `best-of` the greedy family) exceeds the running lower bound is minimised by asking the decision
//! search ([`search`]) "does it fit in C?": first at the lower bound, then by bisection between the proven
//! bound and the best packing found. Every decision runs the static orders in turn (round robin) with node
//! limits that double, as MiniMalloc does, so a lucky order answers fast. Our addition to MiniMalloc's rules is
//! the tight-point rule ([`search::Search::with_tight_points`]): where a section has no slack left, its lowest
//! free point must be covered, which makes zero-slack instances a bottom-left tiling search. At the time limit it returns the best
//! packing found with the bound proven so far ([`Status::Feasible`], `lower_bound_bytes` = that bound).

use std::collections::BTreeMap;
use std::time::Instant;

use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::problem::round_up;
use arenaplan_planner::{BufferProblem, PackError, PackLimits, Packer, Packing, Status};

use crate::best_of::BestOf;
use crate::common::{finish, unit_of, without_capacity};
use crate::decompose::{solve_by_parts, PartResult};

pub mod search;

use search::{Instance, Outcome, Search};

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
                (inst.width(i), b.size_bytes * (b.live.end - b.live.start) as u64, inst.max_section_total(i))
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
    /// Static orders tried in turn by every decision.
    pub preorders: Vec<Preorder>,
}

impl Default for ExactPacker {
    /// Warm start from `best-of`, MiniMalloc's three orders.
    fn default() -> Self {
        ExactPacker { warm_start: Box::new(BestOf::default()), preorders: Preorder::ALL.to_vec() }
    }
}

/// The answer of one decision "does it fit in `capacity`?".
fn decide(part: &BufferProblem, inst: &Instance, orders: &[Vec<usize>], capacity: u64, deadline: Instant) -> Outcome {
    let mut node_limit = inst.len().max(1) as u64;
    loop {
        node_limit = node_limit.saturating_mul(2);
        for order in orders {
            let (outcome, _) = Search::new(inst, capacity, order, node_limit, deadline).with_tight_points(true).run();
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
    fn solve_part(&self, part: &BufferProblem, target: u64, start: &[u64], deadline: Instant) -> PartResult {
        let inst = Instance::new(part);
        let orders: Vec<Vec<usize>> = self.preorders.iter().map(|p| p.order(part, &inst)).collect();
        let unit = unit_of(part, 0..part.buffers.len());
        let mut best = start.to_vec();
        let mut best_arena = arena_bytes_of(part, start);
        let mut lower = target.max(part.lower_bound());
        let mut first = true;
        while lower < best_arena {
            // First at the bound (real networks and zero-slack instances fit there), then by bisection.
            let capacity = if first { lower } else { lower + (best_arena - 1 - lower) / 2 };
            first = false;
            match decide(part, &inst, &orders, capacity, deadline) {
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
        let orders: Vec<String> = self.preorders.iter().map(|p| format!("{p:?}")).collect();
        BTreeMap::from([("warm_start".to_owned(), self.warm_start.name()), ("preorders".to_owned(), orders.join(","))])
    }

    fn pack(&self, problem: &BufferProblem, limits: &PackLimits) -> Result<Packing, PackError> {
        let deadline = limits.deadline();
        let warm = self.warm_start.pack(&without_capacity(problem), limits)?;
        let (offsets, lower_bound) =
            solve_by_parts(problem, &warm.offsets, deadline, |part, target, start, deadline| {
                self.solve_part(part, target, start, deadline)
            });
        finish(&self.name(), problem, offsets, Status::Feasible, lower_bound)
    }
}
