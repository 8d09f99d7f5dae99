//! Perfect packings: a capacity x time rectangle cut recursively into buffers (a guillotine cut, in size or in
//! time, of the largest piece at each step). The pieces tile the rectangle, so at every step the live bytes are
//! exactly the capacity: LOAD = capacity = the optimum, with zero slack. Self-checking instances for exact
//! solvers.

use arenaplan_planner::{Buffer, BufferId, BufferOrigin, BufferProblem};

use crate::rng::SplitMix64;

/// A generated perfect packing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerfectPacking {
    /// The problem (buffers in a shuffled order, alignment 16 bytes, no capacity set).
    pub problem: BufferProblem,
    /// The optimum arena: the capacity of the rectangle, equal to the problem's LOAD.
    pub optimum_bytes: u64,
    /// The packing the buffers were cut from (arena = `optimum_bytes`).
    pub offsets: Vec<u64>,
}

/// Granularity of sizes and offsets (TFLM's arena alignment).
const UNIT: u64 = 16;

/// A perfect packing of `buffers` buffers (at least 1) in a 1 MiB x `2 * buffers` steps rectangle, from `seed`.
///
/// Every size is a multiple of 16 bytes (alignment 16), every lifetime at least one step.
pub fn perfect_packing(buffers: usize, seed: u64) -> PerfectPacking {
    let capacity_units = (1u64 << 20) / UNIT;
    let steps = (2 * buffers.max(1)) as u64;
    let mut rng = SplitMix64::new(seed ^ 0x7065_7266_6563_7421);
    // Pieces as (offset, size, start, end) in units and steps.
    let mut pieces: Vec<(u64, u64, u64, u64)> = vec![(0, capacity_units, 0, steps)];
    while pieces.len() < buffers.max(1) {
        // The piece of largest area (relative: size share x time share), lowest index on ties.
        let area = |&(_, h, s, e): &(u64, u64, u64, u64)| (h as u128) * steps as u128 * (e - s) as u128;
        let Some(k) = (0..pieces.len())
            .filter(|&k| pieces[k].1 >= 2 || pieces[k].3 - pieces[k].2 >= 2)
            .max_by(|&a, &b| area(&pieces[a]).cmp(&area(&pieces[b])).then(b.cmp(&a)))
        else {
            break; // Every piece is one unit by one step.
        };
        let (o, h, s, e) = pieces[k];
        let can_size = h >= 2;
        let can_time = e - s >= 2;
        // Cut across the longer side more often (relative to the rectangle), so pieces stay varied.
        let size_share = h as f64 / capacity_units as f64;
        let time_share = (e - s) as f64 / steps as f64;
        let cut_size = match (can_size, can_time) {
            (true, true) => rng.chance(size_share / (size_share + time_share)),
            (true, false) => true,
            _ => false,
        };
        if cut_size {
            let at = rng.range_inclusive(1, h - 1);
            pieces[k] = (o, at, s, e);
            pieces.push((o + at, h - at, s, e));
        } else {
            let at = rng.range_inclusive(s + 1, e - 1);
            pieces[k] = (o, h, s, at);
            pieces.push((o, h, at, e));
        }
    }
    // Shuffle (Fisher-Yates) so the index order says nothing about the solution.
    for i in (1..pieces.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        pieces.swap(i, j);
    }
    let problem = BufferProblem::new(
        pieces
            .iter()
            .enumerate()
            .map(|(i, &(_, h, s, e))| Buffer {
                id: BufferId(0),
                origin: BufferOrigin::Instance,
                name: format!("b{i}"),
                size_bytes: h * UNIT,
                align_bytes: UNIT,
                live: s as u32..e as u32,
            })
            .collect(),
    );
    PerfectPacking {
        problem,
        optimum_bytes: capacity_units * UNIT,
        offsets: pieces.iter().map(|p| p.0 * UNIT).collect(),
    }
}
