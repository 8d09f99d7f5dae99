//! The buffer orders of the greedy family, each a pure function of the problem with explicit tie-breaks.

use arenaplan_planner::BufferProblem;

/// Largest first; among equal sizes the buffer later in the problem first (TFLM's stable sort of the reversed
/// insertion list).
pub fn size_desc_order(problem: &BufferProblem) -> Vec<usize> {
    let b = &problem.buffers;
    let mut order: Vec<usize> = (0..b.len()).collect();
    order.sort_by(|&x, &y| b[y].size_bytes.cmp(&b[x].size_bytes).then(y.cmp(&x)));
    order
}

/// Earliest start first; ties: largest first, then lower index.
pub fn start_time_order(problem: &BufferProblem) -> Vec<usize> {
    let b = &problem.buffers;
    let mut order: Vec<usize> = (0..b.len()).collect();
    order.sort_by(|&x, &y| {
        b[x].live.start.cmp(&b[y].live.start).then(b[y].size_bytes.cmp(&b[x].size_bytes)).then(x.cmp(&y))
    });
    order
}

/// For every buffer, how many other buffers are alive at a common step with it (zero-size buffers included;
/// empty lifetimes conflict with nothing). `O(n log n)`: counts the buffers that end before it starts or start
/// after it ends, and subtracts.
pub fn conflict_counts(problem: &BufferProblem) -> Vec<usize> {
    let b = &problem.buffers;
    let live: Vec<usize> = (0..b.len()).filter(|&i| !b[i].live.is_empty()).collect();
    let mut starts: Vec<u32> = live.iter().map(|&i| b[i].live.start).collect();
    let mut ends: Vec<u32> = live.iter().map(|&i| b[i].live.end).collect();
    starts.sort_unstable();
    ends.sort_unstable();
    let mut counts = vec![0usize; b.len()];
    for &i in &live {
        let (start, end) = (b[i].live.start, b[i].live.end);
        let start_after = starts.len() - starts.partition_point(|&s| s < end); // start >= my end
        let end_before = ends.partition_point(|&e| e <= start); // end <= my start
        counts[i] = live.len() - 1 - start_after - end_before;
    }
    counts
}

/// Most time-overlaps first; ties: largest first, then lower index.
pub fn conflicts_order(problem: &BufferProblem) -> Vec<usize> {
    let b = &problem.buffers;
    let counts = conflict_counts(problem);
    let mut order: Vec<usize> = (0..b.len()).collect();
    order.sort_by(|&x, &y| counts[y].cmp(&counts[x]).then(b[y].size_bytes.cmp(&b[x].size_bytes)).then(x.cmp(&y)));
    order
}

/// Steps in decreasing order of live bytes (ties: earlier step first); at each step the buffers live there and
/// not yet listed, largest first (ties: lower index first); buffers with an empty lifetime last, by index.
pub fn breadth_order(problem: &BufferProblem) -> Vec<usize> {
    let b = &problem.buffers;
    let profile = problem.live_profile();
    let mut steps: Vec<usize> = (0..profile.len()).collect();
    steps.sort_by(|&x, &y| profile[y].cmp(&profile[x]).then(x.cmp(&y)));
    // Buffers by size (desc, then index): a step's buffers come out of this list in the right order.
    let mut by_size: Vec<usize> = (0..b.len()).collect();
    by_size.sort_by(|&x, &y| b[y].size_bytes.cmp(&b[x].size_bytes).then(x.cmp(&y)));
    // Buffers live at each step, in by_size order.
    let mut at_step: Vec<Vec<usize>> = vec![Vec::new(); profile.len()];
    for &i in &by_size {
        for s in b[i].live.clone() {
            at_step[s as usize].push(i);
        }
    }
    let mut listed = vec![false; b.len()];
    let mut order = Vec::with_capacity(b.len());
    for s in steps {
        for &i in &at_step[s] {
            if !listed[i] {
                listed[i] = true;
                order.push(i);
            }
        }
    }
    order.extend((0..b.len()).filter(|&i| !listed[i]));
    order
}
