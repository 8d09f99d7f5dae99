//! First fit: each buffer at the lowest aligned offset where it overlaps no placed buffer alive with it.

use std::time::Instant;

use arenaplan_planner::problem::round_up;
use arenaplan_planner::BufferProblem;

use super::DEADLINE_CHECK_EVERY;

/// Place buffers in `order`, each at the lowest aligned offset where it overlaps no placed buffer alive at a
/// common step. Returns one offset per buffer (buffers missing from `order` stay at 0).
pub fn first_fit_in_order(problem: &BufferProblem, order: &[usize]) -> Vec<u64> {
    first_fit_bounded(problem, order, u64::MAX).expect("no bound, so always placed").0
}

/// [`first_fit_in_order`] that gives up (returns `None`) as soon as a buffer would end above `limit_bytes`;
/// otherwise returns the offsets and the arena. Local search uses it to reject worse orders early.
pub fn first_fit_bounded(problem: &BufferProblem, order: &[usize], limit_bytes: u64) -> Option<(Vec<u64>, u64)> {
    first_fit_until(problem, order, limit_bytes, None)
}

/// [`first_fit_bounded`] that also gives up (returns `None`) once `deadline` has passed; the clock is read
/// once every [`DEADLINE_CHECK_EVERY`] buffers, so a small problem always completes.
pub fn first_fit_until(
    problem: &BufferProblem,
    order: &[usize],
    limit_bytes: u64,
    deadline: Option<Instant>,
) -> Option<(Vec<u64>, u64)> {
    let buffers = &problem.buffers;
    let mut offsets = vec![0u64; buffers.len()];
    let mut arena = 0u64;
    // Placed buffers, kept sorted by offset.
    let mut placed: Vec<(u64, usize)> = Vec::with_capacity(buffers.len());
    for (k, &i) in order.iter().enumerate() {
        if k % DEADLINE_CHECK_EVERY == DEADLINE_CHECK_EVERY - 1 && deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
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
        let end = candidate + b.size_bytes;
        if end > limit_bytes {
            return None;
        }
        arena = arena.max(end);
        offsets[i] = candidate;
        let at = placed.partition_point(|&(o, _)| o <= candidate);
        placed.insert(at, (candidate, i));
    }
    Some((offsets, arena))
}
