//! The mixed-integer program of one part of a problem, for any good_lp solver.
//!
//! In units of the gcd of the part's sizes and alignments: an integer offset per buffer (a multiple of its
//! alignment), one binary per pair of buffers alive at a common step choosing "below" or "above" through big-M
//! constraints (M = the arena's ceiling), and the arena `A`, an integer between a floor and that ceiling.
//!
//! Strengthening, each valid for every packing within the ceiling:
//!
//! - **section cuts** (when on): for every maximal set of buffers alive at one step (a *section*) and every
//!   buffer `i` of it, the buffers of the section below `i` are disjoint and lie under `i`, so `x_i >= sum of
//!   their sizes`; those above lie between `i`'s end and `A`, so `x_i + s_i + sum of their sizes <= A`. At zero
//!   slack these fix each offset to the bytes below it, which is what makes tilings solvable;
//! - **symmetry breaking** (when on): identical buffers (same size, lifetime and alignment) are ordered by index,
//!   and when no alignment exceeds the unit one pair is oriented (a packing mirrored upside down is a packing of
//!   the same arena).

use std::collections::{BTreeMap, HashMap};

use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::BufferProblem;
use good_lp::{constraint, variable, Constraint, Expression, ProblemVariables, Variable};

use crate::common::unit_of;

/// What the model is asked, in bytes.
pub(super) struct ModelSpec<'a> {
    /// The part.
    pub part: &'a BufferProblem,
    /// The arena's floor (rounded up to the unit).
    pub floor_bytes: u64,
    /// The arena's ceiling (rounded down to the unit); the big-M.
    pub ceiling_bytes: u64,
    /// A packing within the ceiling, given to the solver as its start (offsets in bytes).
    pub start: Option<&'a [u64]>,
    /// Order identical buffers and orient one pair.
    pub symmetry_breaking: bool,
    /// Add the section cuts.
    pub section_cuts: bool,
    /// Refuse parts with more time-overlapping pairs.
    pub max_pairs: usize,
}

/// The size of a model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelSize {
    /// Columns (offsets, the arena, the binaries).
    pub variables: usize,
    /// Of which binaries.
    pub binaries: usize,
    /// Rows.
    pub rows: usize,
}

/// A built model.
pub(super) struct Model {
    pub vars: ProblemVariables,
    pub offsets: Vec<Variable>,
    pub arena: Variable,
    pub constraints: Vec<Constraint>,
    /// The start, when one was given (it satisfies the symmetry breaking).
    pub initial: Option<Vec<(Variable, f64)>>,
    pub size: ModelSize,
}

/// How a pair of buffers `(lo, hi)` (`lo < hi`) is ordered in memory.
#[derive(Clone, Copy)]
enum PairOrder {
    /// A binary: 1 when `lo` lies below `hi`.
    Free(Variable),
    /// Fixed by symmetry breaking: `lo` lies below `hi`.
    LoBelow,
}

/// The sets of buffers alive at one step that no other step's set contains (the maximal cliques of the
/// interval graph), with at least two buffers.
pub(super) fn sections(part: &BufferProblem) -> Vec<Vec<usize>> {
    let b = &part.buffers;
    let mut starts: Vec<u32> = b.iter().filter(|x| !x.live.is_empty()).map(|x| x.live.start).collect();
    let mut ends: Vec<u32> = b.iter().filter(|x| !x.live.is_empty()).map(|x| x.live.end).collect();
    starts.sort_unstable();
    starts.dedup();
    ends.sort_unstable();
    // A step's set is maximal when a lifetime starts at it and the next boundary after it is an end.
    let mut out = Vec::new();
    for (k, &t) in starts.iter().enumerate() {
        let next_start = starts.get(k + 1).copied().unwrap_or(u32::MAX);
        let first_end_after = ends[ends.partition_point(|&e| e <= t)..].first().copied().unwrap_or(u32::MAX);
        if first_end_after > next_start {
            continue;
        }
        let alive: Vec<usize> = (0..b.len()).filter(|&i| b[i].live.start <= t && t < b[i].live.end).collect();
        if alive.len() >= 2 {
            out.push(alive);
        }
    }
    out
}

/// Build the model of `spec`; an error saying why when the part is beyond what the solvers are given.
pub(super) fn build(spec: &ModelSpec) -> Result<Model, String> {
    let part = spec.part;
    let b = &part.buffers;
    let n = b.len();
    let pairs = part.time_conflicts();
    if pairs.len() > spec.max_pairs {
        return Err(format!("{} pairs > max_pairs {}", pairs.len(), spec.max_pairs));
    }
    let unit = unit_of(part, 0..n);
    let ceiling = spec.ceiling_bytes / unit;
    if ceiling >= i32::MAX as u64 / 2 {
        return Err(format!("arena of {ceiling} units beyond the solvers' exact integers"));
    }
    let floor = spec.floor_bytes.div_ceil(unit).min(ceiling);
    let size: Vec<u64> = b.iter().map(|x| x.size_bytes / unit).collect();
    let steps: Vec<u64> = b.iter().map(|x| (x.align_bytes.max(1) / unit).max(1)).collect();
    if let Some(i) = (0..n).find(|&i| size[i] > ceiling) {
        return Err(format!("buffer {i} larger than the ceiling of {ceiling} units"));
    }

    let mut vars = ProblemVariables::new();
    let offsets: Vec<Variable> =
        (0..n).map(|i| vars.add(variable().integer().min(0).max(((ceiling - size[i]) / steps[i]) as f64))).collect();
    let arena = vars.add(variable().integer().min(floor as f64).max(ceiling as f64));
    let at = |i: usize| -> Expression { (steps[i] as f64) * offsets[i] };
    let identical =
        |i: usize, j: usize| b[i].size_bytes == b[j].size_bytes && b[i].live == b[j].live && steps[i] == steps[j];
    let singleton: Vec<bool> = (0..n).map(|i| !(0..n).any(|j| j != i && identical(i, j))).collect();
    // The pair to orient against mirror symmetry: the two largest singletons alive together.
    let oriented = if spec.symmetry_breaking && steps.iter().all(|&s| s == 1) {
        pairs
            .iter()
            .filter(|&&(i, j)| singleton[i] && singleton[j])
            .max_by_key(|&&(i, j)| (size[i] + size[j], std::cmp::Reverse((i, j))))
            .copied()
    } else {
        None
    };
    let warm = spec.start.map(|start| warm_start_in_units(part, start, unit, &size, &steps, oriented, spec));

    let mut constraints = Vec::new();
    for (i, &bytes) in size.iter().enumerate().take(n) {
        constraints.push(constraint!(at(i) + bytes as f64 <= arena));
    }
    let big_m = ceiling as f64;
    let mut order: HashMap<(usize, usize), PairOrder> = HashMap::with_capacity(pairs.len());
    let mut binaries = 0;
    let mut initial: Vec<(Variable, f64)> = Vec::new();
    for &(i, j) in &pairs {
        if spec.symmetry_breaking && identical(i, j) || oriented == Some((i, j)) {
            constraints.push(constraint!(at(i) + size[i] as f64 <= at(j)));
            order.insert((i, j), PairOrder::LoBelow);
            continue;
        }
        // below = 1: i lies below j.
        let below = vars.add(variable().binary());
        binaries += 1;
        constraints.push(constraint!(at(i) + size[i] as f64 <= at(j) + big_m - big_m * below));
        constraints.push(constraint!(at(j) + size[j] as f64 <= at(i) + big_m * below));
        order.insert((i, j), PairOrder::Free(below));
        if let Some(w) = &warm {
            initial.push((below, if w[i] < w[j] { 1.0 } else { 0.0 }));
        }
    }
    if spec.section_cuts {
        // `a` below `b` as a 0/1 expression.
        let below = |a: usize, b: usize| -> Option<Expression> {
            let (lo, hi) = (a.min(b), a.max(b));
            order.get(&(lo, hi)).map(|o| match (*o, a == lo) {
                (PairOrder::Free(v), true) => Expression::from(v),
                (PairOrder::Free(v), false) => 1.0 - v,
                (PairOrder::LoBelow, true) => Expression::from(1.0),
                (PairOrder::LoBelow, false) => Expression::from(0.0),
            })
        };
        for section in sections(part) {
            for &i in &section {
                let mut under = Expression::from(0.0);
                let mut over = at(i) + size[i] as f64;
                for &j in section.iter().filter(|&&j| j != i) {
                    if let Some(e) = below(j, i) {
                        under += (size[j] as f64) * e;
                    }
                    if let Some(e) = below(i, j) {
                        over += (size[j] as f64) * e;
                    }
                }
                constraints.push(constraint!(under <= at(i)));
                constraints.push(constraint!(over <= arena));
            }
        }
    }
    let initial = warm.map(|w| {
        let mut values: Vec<(Variable, f64)> = (0..n).map(|i| (offsets[i], (w[i] / steps[i]) as f64)).collect();
        let top = (0..n).map(|i| w[i] + size[i]).max().unwrap_or(0).max(floor);
        values.push((arena, top as f64));
        values.extend(initial);
        values
    });
    let size_of = ModelSize { variables: n + 1 + binaries, binaries, rows: constraints.len() };
    Ok(Model { vars, offsets, arena, constraints, initial, size: size_of })
}

/// The start in units, made to satisfy the symmetry breaking: mirrored when the oriented pair is upside down,
/// then identical buffers given their class's offsets in index order.
fn warm_start_in_units(
    part: &BufferProblem,
    start: &[u64],
    unit: u64,
    size: &[u64],
    steps: &[u64],
    oriented: Option<(usize, usize)>,
    spec: &ModelSpec,
) -> Vec<u64> {
    let b = &part.buffers;
    let n = b.len();
    let top = arena_bytes_of(part, start) / unit;
    let mut warm: Vec<u64> = start.iter().map(|&o| o / unit).collect();
    if let Some((i, j)) = oriented {
        if warm[j] < warm[i] {
            for k in 0..n {
                warm[k] = top - warm[k] - size[k];
            }
        }
    }
    if spec.symmetry_breaking {
        let mut classes: BTreeMap<(u64, u32, u32, u64), Vec<usize>> = BTreeMap::new();
        for i in 0..n {
            classes.entry((size[i], b[i].live.start, b[i].live.end, steps[i])).or_default().push(i);
        }
        for members in classes.values().filter(|m| m.len() > 1) {
            let mut taken: Vec<u64> = members.iter().map(|&i| warm[i]).collect();
            taken.sort_unstable();
            for (&i, o) in members.iter().zip(taken) {
                warm[i] = o;
            }
        }
    }
    warm
}

#[cfg(test)]
mod tests {
    use super::*;
    use arenaplan_planner::Buffer;

    #[test]
    fn sections_are_the_maximal_sets_alive_together() {
        let buf = |live: std::ops::Range<u32>| Buffer::instance("", 1, 1, live);
        // 0:[0,4) 1:[0,2) 2:[1,3) 3:[3,5) 4:[6,7); maximal: {0,1,2} at 1, {0,2} is inside it, {0,3} at 3.
        let p = BufferProblem::new(vec![buf(0..4), buf(0..2), buf(1..3), buf(3..5), buf(6..7)]);
        assert_eq!(sections(&p), vec![vec![0, 1, 2], vec![0, 3]]);
    }
}
