//! The hard-instance suite committed under `datasets/instances/`: zero-slack perfect packings and DNN-like
//! problems of 50 to 1,000 buffers, with realistic time values (irregular time stamps up to about 2 * 10^9, as a
//! profiler's microseconds or a simulator's cycles would be, not ranks), so that every packer is measured on
//! what a user's instance looks like and not only on its canonical form.

use arenaplan_planner::BufferProblem;

use super::{dnn_like, perfect_packing};
use crate::rng::SplitMix64;

/// Perfect packings of the suite: (buffers, seed). Zero slack: the optimum is the capacity, 1 MiB.
pub const PERFECT_SUITE: [(usize, u64); 12] = [
    (50, 1),
    (150, 1),
    (150, 2),
    (200, 4),
    (250, 5),
    (300, 1),
    (350, 6),
    (400, 7),
    (450, 1),
    (450, 2),
    (500, 3),
    (1000, 1),
];

/// DNN-like problems of the suite: (operators, seed); about 1.3 buffers per operator.
pub const DNN_SUITE: [(usize, u64); 4] = [(40, 1), (100, 1), (400, 2), (760, 3)];

/// One instance of the suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteInstance {
    /// File stem: `perfect_<buffers>_s<seed>` or `dnn_<ops>_s<seed>`.
    pub name: String,
    /// The problem, with realistic time values.
    pub problem: BufferProblem,
    /// The optimum when known by construction (perfect packings).
    pub known_optimum_bytes: Option<u64>,
    /// A packing of that optimum (perfect packings: the one the buffers were cut from).
    pub solution: Option<Vec<u64>>,
}

/// The same problem with every lifetime boundary moved to an irregular time stamp: the `k`-th distinct boundary
/// (in time order) becomes a random start below 10^6 plus `k` random durations of 1 to 10^6 each. Order-preserving,
/// so it is the same allocation problem ([`crate::canonical::canonicalize`] gives the same canonical form), but
/// the time values are up to about `2 * 10^9` for 2,000 boundaries (`u32` holds them).
pub fn realistic_times(problem: &BufferProblem, seed: u64) -> BufferProblem {
    let mut rng = SplitMix64::new(seed ^ 0x7469_6D65_7374_616D);
    let mut points: Vec<u32> = problem.buffers.iter().flat_map(|b| [b.live.start, b.live.end]).collect();
    points.sort_unstable();
    points.dedup();
    let mut stamp = rng.below(1_000_000);
    let stamps: Vec<u32> = points
        .iter()
        .map(|_| {
            let t = u32::try_from(stamp).expect("at most 2,000 boundaries of at most 10^6 each fit in u32");
            stamp += rng.range_inclusive(1, 1_000_000);
            t
        })
        .collect();
    let at = |t: u32| stamps[points.binary_search(&t).expect("a boundary")];
    let mut out = problem.clone();
    for b in &mut out.buffers {
        b.live = at(b.live.start)..at(b.live.end);
    }
    out
}

/// The whole suite: [`PERFECT_SUITE`] then [`DNN_SUITE`], each with realistic times (seeded by its own seed).
pub fn hard_suite() -> Vec<SuiteInstance> {
    let mut out = Vec::new();
    for (n, seed) in PERFECT_SUITE {
        let pp = perfect_packing(n, seed);
        out.push(SuiteInstance {
            name: format!("perfect_{n}_s{seed}"),
            problem: realistic_times(&pp.problem, seed),
            known_optimum_bytes: Some(pp.optimum_bytes),
            solution: Some(pp.offsets),
        });
    }
    for (ops, seed) in DNN_SUITE {
        out.push(SuiteInstance {
            name: format!("dnn_{ops}_s{seed}"),
            problem: realistic_times(&dnn_like(ops, seed), seed),
            known_optimum_bytes: None,
            solution: None,
        });
    }
    out
}
