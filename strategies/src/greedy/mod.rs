//! The greedy family: a buffer order and a placement rule, each an explicit flag so it can be ablated.
//!
//! `greedy-by-size` with [`Order::SizeDesc`] and [`Placement::FirstFit`] is an exact reproduction of TFLM's
//! `GreedyMemoryPlanner`: buffers sorted by size, largest first, ties broken by putting the buffer added later
//! first; each placed at the lowest offset where it overlaps no already placed buffer alive at a common step.
//!
//! | order \ placement | [`FirstFit`](Placement::FirstFit) | [`BestFit`](Placement::BestFit) |
//! |---|---|---|
//! | [`SizeDesc`](Order::SizeDesc) | `greedy-by-size` (TFLM) | `greedy-by-size-best-fit` (TFLite GPU) |
//! | [`Breadth`](Order::Breadth) | `greedy-by-breadth` | `greedy-by-breadth-best-fit` |
//! | [`StartTime`](Order::StartTime) | `greedy-by-start` | `greedy-by-start-best-fit` |
//! | [`Conflicts`](Order::Conflicts) | `greedy-by-conflicts` | `greedy-by-conflicts-best-fit` |

use std::collections::BTreeMap;
use std::time::Instant;

use arenaplan_planner::{BufferProblem, PackError, PackLimits, Packer, Packing, Status};

mod best_fit;
mod first_fit;
mod order;

pub use best_fit::{best_fit_in_order, best_fit_until};
pub use first_fit::{first_fit_bounded, first_fit_in_order, first_fit_until};

/// How many buffers a greedy placement places between two readings of the clock: a greedy packer honours its
/// time limit to within that many placements, and a problem of fewer buffers always completes.
pub const DEADLINE_CHECK_EVERY: usize = 64;
pub use order::{breadth_order, conflict_counts, conflicts_order, size_desc_order, start_time_order};

/// The order in which buffers are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Order {
    /// Largest first; among equal sizes, the buffer later in the problem first (TFLM's tie-break).
    SizeDesc,
    /// Steps in decreasing order of their live bytes (ties: earlier step first); at each step, the buffers
    /// live there that are not placed yet, largest first (ties: lower index first).
    Breadth,
    /// Earliest start first; ties: largest first, then lower index.
    StartTime,
    /// Most time-overlaps with other buffers first; ties: largest first, then lower index.
    Conflicts,
}

impl Order {
    /// Every order, in a fixed sequence.
    pub const ALL: [Order; 4] = [Order::SizeDesc, Order::Breadth, Order::StartTime, Order::Conflicts];

    /// The order's part of a packer name.
    pub fn slug(self) -> &'static str {
        match self {
            Order::SizeDesc => "size",
            Order::Breadth => "breadth",
            Order::StartTime => "start",
            Order::Conflicts => "conflicts",
        }
    }
}

/// Where a buffer goes, given the buffers already placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placement {
    /// The lowest aligned offset where it fits (TFLM).
    FirstFit,
    /// The smallest gap between placed buffers alive with it that fits (lowest such gap on ties); above all of
    /// them when no gap fits (the TFLite GPU delegate's rule).
    BestFit,
}

impl Placement {
    /// Every placement rule.
    pub const ALL: [Placement; 2] = [Placement::FirstFit, Placement::BestFit];
}

/// A greedy packer: an order and a placement rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GreedyPacker {
    /// The order buffers are placed in.
    pub order: Order,
    /// How each is placed.
    pub placement: Placement,
}

impl GreedyPacker {
    /// TFLM's `GreedyMemoryPlanner`, exactly: the baseline every strategy is measured against.
    pub fn tflm() -> Self {
        GreedyPacker { order: Order::SizeDesc, placement: Placement::FirstFit }
    }

    /// A packer with this order and placement.
    pub fn new(order: Order, placement: Placement) -> Self {
        GreedyPacker { order, placement }
    }

    /// Every combination of order and placement (8 packers), the TFLM baseline first.
    pub fn all() -> Vec<GreedyPacker> {
        Order::ALL.iter().flat_map(|&o| Placement::ALL.iter().map(move |&p| GreedyPacker::new(o, p))).collect()
    }

    /// The placement order of the buffers of `problem`.
    pub fn buffer_order(&self, problem: &BufferProblem) -> Vec<usize> {
        match self.order {
            Order::SizeDesc => size_desc_order(problem),
            Order::Breadth => breadth_order(problem),
            Order::StartTime => start_time_order(problem),
            Order::Conflicts => conflicts_order(problem),
        }
    }

    /// Offsets for every buffer, ignoring any capacity.
    pub fn offsets(&self, problem: &BufferProblem) -> Vec<u64> {
        place_in_order(problem, &self.buffer_order(problem), self.placement)
    }

    /// [`GreedyPacker::offsets`], or `None` when `deadline` passes first (a greedy has no plan before it
    /// has placed every buffer).
    pub fn offsets_until(&self, problem: &BufferProblem, deadline: Instant) -> Option<Vec<u64>> {
        let order = self.buffer_order(problem);
        if Instant::now() >= deadline && order.len() >= DEADLINE_CHECK_EVERY {
            return None;
        }
        match self.placement {
            Placement::FirstFit => first_fit_until(problem, &order, u64::MAX, Some(deadline)).map(|(o, _)| o),
            Placement::BestFit => best_fit_until(problem, &order, Some(deadline)),
        }
    }
}

/// Place buffers in `order` with a placement rule.
pub fn place_in_order(problem: &BufferProblem, order: &[usize], placement: Placement) -> Vec<u64> {
    match placement {
        Placement::FirstFit => first_fit_in_order(problem, order),
        Placement::BestFit => best_fit_in_order(problem, order),
    }
}

impl Packer for GreedyPacker {
    fn name(&self) -> String {
        let suffix = match self.placement {
            Placement::FirstFit => "",
            Placement::BestFit => "-best-fit",
        };
        format!("greedy-by-{}{suffix}", self.order.slug())
    }

    fn params(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("order".to_owned(), format!("{:?}", self.order)),
            ("placement".to_owned(), format!("{:?}", self.placement)),
        ])
    }

    /// Places every buffer, or stops with [`PackError::TimeLimit`] when the limit passes first (checked every
    /// [`DEADLINE_CHECK_EVERY`] buffers).
    fn pack(&self, problem: &BufferProblem, limits: &PackLimits) -> Result<Packing, PackError> {
        let offsets =
            self.offsets_until(problem, limits.deadline()).ok_or(PackError::TimeLimit { limit: limits.time_limit })?;
        crate::common::finish(&self.name(), problem, offsets, Status::Heuristic, problem.lower_bound())
    }
}

#[cfg(test)]
mod tests;
