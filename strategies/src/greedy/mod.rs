//! The greedy family: a buffer order and a placement rule, each an explicit flag so it can be ablated.
//!
//! `greedy-by-size` with [`Order::SizeDesc`] and [`Placement::FirstFit`] is an exact reproduction of TFLM's
//! `GreedyMemoryPlanner`: buffers sorted by size, largest first, ties broken by putting the buffer added later
//! first; each placed at the lowest offset where it overlaps no already placed buffer alive at a common step.

use std::collections::BTreeMap;

use arenaplan_planner::problem::round_up;
use arenaplan_planner::{BufferProblem, PackError, PackLimits, Packer, Packing, Status};

/// The order in which buffers are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Order {
    /// Largest first; among equal sizes, the buffer later in the problem first (TFLM's tie-break).
    SizeDesc,
}

/// Where a buffer goes, given the buffers already placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placement {
    /// The lowest offset where it fits (TFLM).
    FirstFit,
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

    /// The placement order of the buffers of `problem`.
    pub fn buffer_order(&self, problem: &BufferProblem) -> Vec<usize> {
        let b = &problem.buffers;
        let mut order: Vec<usize> = (0..b.len()).collect();
        match self.order {
            Order::SizeDesc => order.sort_by(|&x, &y| b[y].size_bytes.cmp(&b[x].size_bytes).then(y.cmp(&x))),
        }
        order
    }
}

/// Place buffers in `order`, each at the lowest aligned offset where it overlaps no placed buffer alive at a
/// common step. Returns one offset per buffer.
pub fn first_fit_in_order(problem: &BufferProblem, order: &[usize]) -> Vec<u64> {
    let buffers = &problem.buffers;
    let mut offsets = vec![0u64; buffers.len()];
    // Placed buffers, kept sorted by offset.
    let mut placed: Vec<(u64, usize)> = Vec::with_capacity(buffers.len());
    for &i in order {
        let b = &buffers[i];
        let align = b.align_bytes.max(1);
        let mut candidate = 0u64;
        for &(offset, j) in &placed {
            let other = &buffers[j];
            if !b.overlaps_in_time(other) || other.size_bytes == 0 {
                continue;
            }
            if offset >= candidate + b.size_bytes {
                break;
            }
            candidate = candidate.max(round_up(offset + other.size_bytes, align));
        }
        offsets[i] = candidate;
        let at = placed.partition_point(|&(o, _)| o <= candidate);
        placed.insert(at, (candidate, i));
    }
    offsets
}

impl Packer for GreedyPacker {
    fn name(&self) -> String {
        match (self.order, self.placement) {
            (Order::SizeDesc, Placement::FirstFit) => "greedy-by-size".to_owned(),
        }
    }

    fn params(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("order".to_owned(), format!("{:?}", self.order)),
            ("placement".to_owned(), format!("{:?}", self.placement)),
        ])
    }

    fn pack(&self, problem: &BufferProblem, _limits: &PackLimits) -> Result<Packing, PackError> {
        let offsets = match self.placement {
            Placement::FirstFit => first_fit_in_order(problem, &self.buffer_order(problem)),
        };
        let lower_bound_bytes = problem.lower_bound();
        if let Some(capacity) = problem.capacity {
            let arena = arenaplan_planner::plan::arena_bytes_of(problem, &offsets);
            if arena > capacity {
                return Err(PackError::NoFit { packer: self.name(), arena_bytes: arena, capacity });
            }
        }
        Ok(Packing { offsets, status: Status::Heuristic, lower_bound_bytes })
    }
}

#[cfg(test)]
mod tests;
