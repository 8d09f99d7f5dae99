//! Temporal decomposition: split a problem at the time points that no buffer crosses, solve the parts one by
//! one against a shared lower bound, and put the offsets back together. Used by `ilp` and `exact`.

use std::time::Instant;

use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::BufferProblem;

/// Groups of buffer indices whose lifetimes are connected; no buffer of one group is alive at a common step with
/// a buffer of another. Buffers of size zero or with an empty lifetime belong to no group (they fit anywhere).
/// Groups come in time order; indices inside a group are increasing.
pub fn partitions(problem: &BufferProblem) -> Vec<Vec<usize>> {
    let b = &problem.buffers;
    let mut order: Vec<usize> = (0..b.len()).filter(|&i| b[i].size_bytes > 0 && !b[i].live.is_empty()).collect();
    order.sort_by_key(|&i| (b[i].live.start, i));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut reach = 0u32;
    for i in order {
        if groups.is_empty() || b[i].live.start >= reach {
            groups.push(Vec::new());
        }
        reach = reach.max(b[i].live.end);
        groups.last_mut().expect("pushed").push(i);
    }
    for g in &mut groups {
        g.sort_unstable();
    }
    groups
}

/// The problem made of the buffers `indices` (in that order), without capacity.
pub fn subproblem(problem: &BufferProblem, indices: &[usize]) -> BufferProblem {
    BufferProblem::new(indices.iter().map(|&i| problem.buffers[i].clone()).collect())
}

/// What a part solver returns.
#[derive(Debug, Clone)]
pub struct PartResult {
    /// Offsets of the part's buffers (in the part's order); `None` keeps the start offsets.
    pub offsets: Option<Vec<u64>>,
    /// A proven lower bound on `max(target, optimum of the part)`.
    pub lower_bound_bytes: u64,
}

/// Solve a problem part by part.
///
/// `start` is a valid packing of the whole problem (the warm start). Parts whose start arena is within the
/// running lower bound (LOAD of the whole problem, raised by what parts prove) are kept as they are; the others,
/// largest start arena first, go to `solve_part(part, target, start_offsets, deadline)`, whose answer may not
/// exceed the part's start arena. Returns the offsets and the proven lower bound of the whole problem.
pub fn solve_by_parts(
    problem: &BufferProblem,
    start: &[u64],
    deadline: Instant,
    mut solve_part: impl FnMut(&BufferProblem, u64, &[u64], Instant) -> PartResult,
) -> (Vec<u64>, u64) {
    let mut offsets = start.to_vec();
    let mut lower_bound = problem.lower_bound();
    let mut parts: Vec<(u64, Vec<usize>)> = partitions(problem)
        .into_iter()
        .map(|idx| {
            let sub = subproblem(problem, &idx);
            let part_offsets: Vec<u64> = idx.iter().map(|&i| start[i]).collect();
            (arena_bytes_of(&sub, &part_offsets), idx)
        })
        .collect();
    // Largest start arena first: those raise the shared bound most, which lets later parts stop early.
    parts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1[0].cmp(&b.1[0])));
    for (part_arena, idx) in parts {
        if part_arena <= lower_bound {
            continue;
        }
        let sub = subproblem(problem, &idx);
        let part_start: Vec<u64> = idx.iter().map(|&i| start[i]).collect();
        let result = solve_part(&sub, lower_bound, &part_start, deadline);
        if let Some(part_offsets) = result.offsets {
            if arena_bytes_of(&sub, &part_offsets) <= part_arena
                && arenaplan_planner::validate_offsets(&sub, &part_offsets, part_arena).is_ok()
            {
                for (k, &i) in idx.iter().enumerate() {
                    offsets[i] = part_offsets[k];
                }
            }
        }
        lower_bound = lower_bound.max(result.lower_bound_bytes);
    }
    (offsets, lower_bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arenaplan_planner::Buffer;

    fn buf(size: u64, live: std::ops::Range<u32>) -> Buffer {
        Buffer::instance("", size, 1, live)
    }

    #[test]
    fn splits_where_no_buffer_crosses() {
        // 0:[0,2) 1:[1,3) | 2:[3,4) | 3:[4,6) 4:[5,6); 5 has size 0, 6 an empty lifetime.
        let p = BufferProblem::new(vec![
            buf(1, 0..2),
            buf(1, 1..3),
            buf(1, 3..4),
            buf(1, 4..6),
            buf(1, 5..6),
            buf(0, 0..6),
            buf(1, 2..2),
        ]);
        assert_eq!(partitions(&p), vec![vec![0, 1], vec![2], vec![3, 4]]);
    }
}
