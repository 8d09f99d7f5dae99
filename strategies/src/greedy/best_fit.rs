//! Best fit: each buffer in the smallest gap that fits between placed buffers alive with it.

use std::time::Instant;

use arenaplan_planner::problem::round_up;
use arenaplan_planner::BufferProblem;

use super::DEADLINE_CHECK_EVERY;

/// Place buffers in `order`, each in the smallest gap (between placed buffers alive at a common step) that
/// holds it once aligned; the lowest such gap on ties; above all of them when no gap fits.
pub fn best_fit_in_order(problem: &BufferProblem, order: &[usize]) -> Vec<u64> {
    best_fit_until(problem, order, None).expect("no deadline, so always placed")
}

/// [`best_fit_in_order`] that gives up (returns `None`) once `deadline` has passed; the clock is read once
/// every [`DEADLINE_CHECK_EVERY`] buffers, so a small problem always completes.
pub fn best_fit_until(problem: &BufferProblem, order: &[usize], deadline: Option<Instant>) -> Option<Vec<u64>> {
    let buffers = &problem.buffers;
    let mut offsets = vec![0u64; buffers.len()];
    // Placed buffers, kept sorted by offset.
    let mut placed: Vec<(u64, usize)> = Vec::with_capacity(buffers.len());
    for (k, &i) in order.iter().enumerate() {
        if k % DEADLINE_CHECK_EVERY == DEADLINE_CHECK_EVERY - 1 && deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        let b = &buffers[i];
        let align = b.align_bytes.max(1);
        // `candidate` is the aligned start of the current gap: above every conflicting buffer seen so far.
        let mut candidate = 0u64;
        let mut best: Option<(u64, u64)> = None; // (gap bytes, offset)
        for &(offset, j) in &placed {
            let other = &buffers[j];
            if !b.overlaps_in_time(other) || other.size_bytes == 0 {
                continue;
            }
            if offset >= candidate + b.size_bytes {
                let gap = offset - candidate;
                if best.is_none_or(|(g, _)| gap < g) {
                    best = Some((gap, candidate));
                }
            }
            candidate = candidate.max(round_up(offset + other.size_bytes, align));
        }
        let chosen = best.map_or(candidate, |(_, offset)| offset);
        offsets[i] = chosen;
        let at = placed.partition_point(|&(o, _)| o <= chosen);
        placed.insert(at, (chosen, i));
    }
    Some(offsets)
}
