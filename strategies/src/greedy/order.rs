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
///
/// Works on the compressed profile ([`BufferProblem::live_segments`]): within a run of steps where no lifetime
/// starts or ends, the first step lists everything the others would, so a buffer's place is fixed by the best
/// ranked segment it covers (a range minimum). Time `O(n log n)`, memory `O(n)`, whatever the lifetimes span.
pub fn breadth_order(problem: &BufferProblem) -> Vec<usize> {
    let b = &problem.buffers;
    let segments = problem.live_segments();
    let mut ranked: Vec<usize> = (0..segments.len()).collect();
    ranked.sort_by(|&x, &y| segments[y].1.cmp(&segments[x].1).then(x.cmp(&y)));
    let mut rank = vec![0usize; segments.len()];
    for (r, &s) in ranked.iter().enumerate() {
        rank[s] = r;
    }
    let minimum = RangeMin::new(&rank);
    // The segment holding a step: the last one starting at or before it.
    let segment_of = |step: u32| segments.partition_point(|s| s.0 <= step) - 1;
    let mut keyed: Vec<(usize, std::cmp::Reverse<u64>, usize)> = Vec::with_capacity(b.len());
    let mut empty = Vec::new();
    for (i, buffer) in b.iter().enumerate() {
        if buffer.live.is_empty() {
            empty.push(i);
            continue;
        }
        let (first, last) = (segment_of(buffer.live.start), segment_of(buffer.live.end - 1));
        keyed.push((minimum.query(first, last), std::cmp::Reverse(buffer.size_bytes), i));
    }
    keyed.sort_unstable();
    keyed.into_iter().map(|k| k.2).chain(empty).collect()
}

/// Minimum over index ranges of a fixed slice (an iterative segment tree: `2 n` words).
struct RangeMin {
    len: usize,
    tree: Vec<usize>,
}

impl RangeMin {
    fn new(values: &[usize]) -> Self {
        let len = values.len();
        let mut tree = vec![usize::MAX; 2 * len];
        tree[len..].copy_from_slice(values);
        for i in (1..len).rev() {
            tree[i] = tree[2 * i].min(tree[2 * i + 1]);
        }
        RangeMin { len, tree }
    }

    /// The minimum of `values[first..=last]`.
    fn query(&self, first: usize, last: usize) -> usize {
        let (mut lo, mut hi) = (first + self.len, last + self.len + 1);
        let mut min = usize::MAX;
        while lo < hi {
            if lo & 1 == 1 {
                min = min.min(self.tree[lo]);
                lo += 1;
            }
            if hi & 1 == 1 {
                hi -= 1;
                min = min.min(self.tree[hi]);
            }
            lo /= 2;
            hi /= 2;
        }
        min
    }
}
