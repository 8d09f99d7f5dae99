//! `hill-climb`: local search over the placement order of first fit, starting from any packer's result.
//!
//! The start packing is turned into an order by sorting buffers by offset: first fit in that order places every
//! buffer at or below its start offset (each conflicting buffer placed before it ends at or below its start
//! offset), so the search starts no worse than the start packer. Each move takes a buffer that touches the top
//! of the arena and either moves it earlier in the order or swaps it with a buffer alive with it; a move is kept
//! when the arena does not grow (sideways moves let the search cross plateaus). Seeded and deterministic: the
//! iteration bound, not the clock, decides where it stops, unless the time limit passes first. It stops as soon
//! as the arena reaches the lower bound.

use std::collections::BTreeMap;
use std::time::Instant;

use arenaplan_planner::{BufferProblem, PackError, PackLimits, Packer, Packing, Status};

use crate::best_of::BestOf;
use crate::common::{finish, without_capacity};
use crate::greedy::first_fit_bounded;
use crate::rng::SplitMix64;

/// Hill climbing over the first-fit order.
pub struct HillClimb {
    /// The packer whose result the search starts from.
    pub start: Box<dyn Packer>,
    /// Moves tried at most.
    pub iterations: u32,
}

impl Default for HillClimb {
    /// Starts from `best-of` (every greedy combination), 2,000 moves.
    fn default() -> Self {
        HillClimb { start: Box::new(BestOf::default()), iterations: 2_000 }
    }
}

impl HillClimb {
    /// The same search with another move budget.
    pub fn with_iterations(mut self, iterations: u32) -> Self {
        self.iterations = iterations;
        self
    }
}

/// The order first fit should follow to reproduce (or improve) `offsets`: by offset, then largest first, then
/// index.
pub fn order_of_offsets(problem: &BufferProblem, offsets: &[u64]) -> Vec<usize> {
    let b = &problem.buffers;
    let mut order: Vec<usize> = (0..b.len()).collect();
    order.sort_by(|&x, &y| offsets[x].cmp(&offsets[y]).then(b[y].size_bytes.cmp(&b[x].size_bytes)).then(x.cmp(&y)));
    order
}

/// Improve `offsets` by local search; returns the best offsets found (never a larger arena than the input's).
pub fn hill_climb(problem: &BufferProblem, offsets: &[u64], iterations: u32, seed: u64, deadline: Instant) -> Vec<u64> {
    let n = problem.buffers.len();
    let lower_bound = problem.lower_bound();
    let mut order = order_of_offsets(problem, offsets);
    let (mut current, mut arena) = first_fit_bounded(problem, &order, u64::MAX).expect("unbounded");
    let start_arena = arenaplan_planner::plan::arena_bytes_of(problem, offsets);
    if arena > start_arena {
        // Cannot happen (see the module docs); keep the input rather than trust the argument blindly.
        return offsets.to_vec();
    }
    if n < 2 {
        return current;
    }
    // Buffers alive at a common step with each buffer (zero-size buffers take no part).
    let mut neighbours: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, j) in problem.time_conflicts() {
        if problem.buffers[i].size_bytes > 0 && problem.buffers[j].size_bytes > 0 {
            neighbours[i].push(j);
            neighbours[j].push(i);
        }
    }
    let mut position = vec![0usize; n];
    let mut rng = SplitMix64::new(seed ^ 0x6869_6C6C_636C_696D);
    let mut candidate = order.clone();
    for iteration in 0..iterations {
        if arena <= lower_bound || (iteration % 16 == 0 && Instant::now() >= deadline) {
            break;
        }
        // A buffer touching the top of the arena.
        let top: Vec<usize> = (0..n)
            .filter(|&i| problem.buffers[i].size_bytes > 0 && current[i] + problem.buffers[i].size_bytes == arena)
            .collect();
        let Some(&peak) = top.get(rng.below(top.len().max(1) as u64) as usize) else { break };
        for (p, &i) in order.iter().enumerate() {
            position[i] = p;
        }
        let at = position[peak];
        candidate.clone_from(&order);
        if rng.chance(0.5) && !neighbours[peak].is_empty() {
            // Swap with a buffer alive at a common step.
            let other = neighbours[peak][rng.below(neighbours[peak].len() as u64) as usize];
            candidate.swap(at, position[other]);
        } else if at > 0 {
            // Move earlier in the order.
            let to = rng.below(at as u64) as usize;
            let moved = candidate.remove(at);
            candidate.insert(to, moved);
        } else {
            continue;
        }
        if let Some((offsets, new_arena)) = first_fit_bounded(problem, &candidate, arena) {
            std::mem::swap(&mut order, &mut candidate);
            current = offsets;
            arena = new_arena;
        }
    }
    current
}

impl Packer for HillClimb {
    fn name(&self) -> String {
        "hill-climb".to_owned()
    }

    fn params(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("start".to_owned(), self.start.name()),
            ("iterations".to_owned(), self.iterations.to_string()),
        ])
    }

    fn pack(&self, problem: &BufferProblem, limits: &PackLimits) -> Result<Packing, PackError> {
        let deadline = limits.deadline();
        let start = self.start.pack(&without_capacity(problem), limits)?;
        let offsets = hill_climb(problem, &start.offsets, self.iterations, limits.seed, deadline);
        finish(&self.name(), problem, offsets, Status::Heuristic, start.lower_bound_bytes)
    }
}
