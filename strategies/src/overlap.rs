//! `overlap`: plans that write an operator's output over an input it reads for the last time, where the
//! kernels declare it safe (`arenaplan_kernels::memory`; the lowering turns the declarations into
//! [`OverlapAllowance`]s).
//!
//! A *tie* fixes an allowed pair at the relative offset `output = input - lead` (the lead rounded up to the
//! alignment, so both stay aligned and the output begins at least the declared lead before the input). Ties
//! chain into groups (an input tied to its output, that output tied to the next operator's output, ...).
//! Each group is packed as one buffer: the extent of its members at their relative offsets, alive over the
//! union of their lifetimes; the other buffers stay as they are. The wrapped packer places that problem, and
//! the group offsets expand back to one offset per buffer.
//!
//! Besides the ties, an allowance-aware first fit places the buffers one by one (by start, by size, by end;
//! each at the lowest or at the highest free offset), where a placed buffer forbids only the offsets its
//! allowance does not permit; chains of outputs written just below their inputs come out of the top-down
//! runs. A seeded local search then swaps buffers in the best first-fit order (kept unless the arena grows).
//! The smallest valid placement of all wins (the `method` parameter of the plan names it).
//!
//! Which ties to make is chosen greedily: the allowances are tried one at a time, largest possible sharing
//! first; a tie is kept only when the packed arena gets smaller and the expanded offsets pass the independent
//! validator with the allowances (so a tie that would make two untied members of a group overlap is never
//! kept). Two passes: a tie may pay off only once another is made. The plan is checked like every other
//! plan; its lower bound is [`lower_bound_with_overlaps`] when it uses an overlap.

use std::collections::BTreeMap;
use std::time::Instant;

use arenaplan_planner::problem::round_up;
use arenaplan_planner::{
    lower, lower_bound_with_overlaps, pack_checked_within, validate_offsets_allowing, Buffer, BufferOrigin,
    BufferProblem, Graph, OverlapAllowance, PackError, PackLimits, Packer, Packing, Plan, PlanMeta, PlanRequest,
    Status, Strategy, StrategyError,
};

use crate::rng::SplitMix64;
use crate::{BestOf, Canonical};

/// The strategy: greedy choice of ties, each candidate packed by `packer`.
pub struct Overlap {
    /// Packs the grouped problem of every candidate set of ties.
    pub packer: Box<dyn Packer>,
    /// Passes over the allowances (a tie that did not pay off is tried again on the next pass).
    pub passes: usize,
    /// Swaps tried by the local search over the best first-fit order (within 500 ms and the request's limit).
    pub swaps: usize,
}

impl Default for Overlap {
    fn default() -> Self {
        Overlap { packer: Box::new(Canonical(BestOf::default())), passes: 2, swaps: 2000 }
    }
}

/// Members of tied groups at their relative offsets.
#[derive(Debug, Clone)]
struct Groups {
    /// Group of each buffer (a root buffer index).
    root: Vec<usize>,
    /// Offset of each buffer relative to its group's root (may be negative).
    relative: Vec<i128>,
}

impl Groups {
    fn new(n: usize) -> Self {
        Groups { root: (0..n).collect(), relative: vec![0; n] }
    }

    /// Tie `output` at `relative_offset` from `input`; `false` (and no change) when they are already in one
    /// group (a second tie between two members could contradict the first).
    fn tie(&mut self, input: usize, output: usize, relative_offset: i128) -> bool {
        let (ri, ro) = (self.root[input], self.root[output]);
        if ri == ro {
            return false;
        }
        // Move the output's group under the input's root: output = input + relative_offset.
        let shift = self.relative[input] + relative_offset - self.relative[output];
        for k in 0..self.root.len() {
            if self.root[k] == ro {
                self.root[k] = ri;
                self.relative[k] += shift;
            }
        }
        true
    }

    /// The problem with every group of two or more buffers replaced by one buffer (its members' extent, the
    /// union of their lifetimes, the largest alignment), and for each original buffer `(index in the grouped
    /// problem, offset inside it)`.
    fn grouped(&self, problem: &BufferProblem) -> (BufferProblem, Vec<(usize, u64)>) {
        let n = problem.buffers.len();
        let mut low = vec![i128::MAX; n];
        for k in 0..n {
            let r = self.root[k];
            low[r] = low[r].min(self.relative[k]);
        }
        let mut index_of_root = vec![usize::MAX; n];
        let mut buffers: Vec<Buffer> = Vec::new();
        let mut place = vec![(0usize, 0u64); n];
        for (k, b) in problem.buffers.iter().enumerate() {
            let r = self.root[k];
            let inside = (self.relative[k] - low[r]) as u64;
            if index_of_root[r] == usize::MAX {
                index_of_root[r] = buffers.len();
                let mut group = b.clone();
                group.size_bytes = 0;
                group.live = b.live.clone();
                buffers.push(group);
            }
            let g = &mut buffers[index_of_root[r]];
            g.size_bytes = g.size_bytes.max(inside + b.size_bytes);
            g.align_bytes = g.align_bytes.max(b.align_bytes);
            g.live = g.live.start.min(b.live.start)..g.live.end.max(b.live.end);
            if r != k || self.relative[k] != low[r] {
                // A group of several buffers holds no single tensor.
                g.origin = BufferOrigin::Instance;
            }
            place[k] = (index_of_root[r], inside);
        }
        (BufferProblem::new(buffers), place)
    }
}

/// A packing of the original problem from a set of groups: the grouped problem packed by `packer`, expanded,
/// validated with the allowances. `None` when the packer fails or the validator refuses.
fn pack_groups(
    packer: &dyn Packer,
    problem: &BufferProblem,
    allowances: &[OverlapAllowance],
    groups: &Groups,
    request: &PlanRequest,
) -> Result<Option<(Vec<u64>, u64)>, PackError> {
    let (grouped, place) = groups.grouped(problem);
    let (packing, _) = match pack_checked_within(packer, &grouped, &PackLimits::from_request(request), &request.limits)
    {
        Ok(p) => p,
        Err(PackError::Invalid { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let offsets: Vec<u64> = place.iter().map(|&(g, inside)| packing.offsets[g] + inside).collect();
    let arena = arenaplan_planner::plan::arena_bytes_of(problem, &offsets);
    Ok(validate_offsets_allowing(problem, allowances, &offsets, arena).is_ok().then_some((offsets, arena)))
}

/// Direction of a first-fit placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Each buffer at the lowest free offset.
    Up,
    /// Each buffer at the highest free offset (chains of outputs written below their inputs fit this way).
    Down,
}

/// First fit in `order`, aware of the allowances: a buffer may share bytes with a placed buffer alive with it
/// when an allowance names the pair and the output begins at least the lead before the input. Positions are
/// found in an unbounded space, then shifted to start at 0. Returns the offsets and the arena.
fn first_fit_allowing(
    problem: &BufferProblem,
    allowances: &[OverlapAllowance],
    order: &[usize],
    direction: Direction,
) -> (Vec<u64>, u64) {
    let n = problem.buffers.len();
    // The lead of each (output, input) pair, when allowed.
    let mut lead: BTreeMap<(usize, usize), u64> = BTreeMap::new();
    for a in allowances {
        let (i, o) = (a.input.0 as usize, a.output.0 as usize);
        if a.lifetimes_match(problem) {
            let slot = lead.entry((o, i)).or_insert(a.lead_bytes);
            *slot = (*slot).min(a.lead_bytes);
        }
    }
    let mut at: Vec<Option<i128>> = vec![None; n];
    let mut forbidden: Vec<(i128, i128)> = Vec::new();
    for &i in order {
        let bi = &problem.buffers[i];
        let (size, align) = (bi.size_bytes as i128, bi.align_bytes.max(1) as i128);
        forbidden.clear();
        for (j, bj) in problem.buffers.iter().enumerate() {
            let Some(oj) = at[j] else { continue };
            if !bi.overlaps_in_time(bj) || bj.size_bytes == 0 || size == 0 {
                continue;
            }
            let sj = bj.size_bytes as i128;
            // Offsets strictly between the bounds are forbidden.
            let interval = if let Some(&d) = lead.get(&(i, j)) {
                // i is the output of input j: o <= oj - d, or above j.
                (oj - (d as i128).min(size), oj + sj)
            } else if let Some(&d) = lead.get(&(j, i)) {
                // i is the input of output j: o >= oj + d, or below j.
                (oj - size, oj + (d as i128).min(sj))
            } else {
                (oj - size, oj + sj)
            };
            forbidden.push(interval);
        }
        let mut o = match direction {
            Direction::Up => 0,
            Direction::Down => (-size).div_euclid(align) * align,
        };
        loop {
            let hit = forbidden.iter().find(|&&(lo, hi)| lo < o && o < hi);
            let Some(&(lo, hi)) = hit else { break };
            o = match direction {
                Direction::Up => (hi + align - 1).div_euclid(align) * align,
                Direction::Down => lo.div_euclid(align) * align,
            };
        }
        at[i] = Some(o);
    }
    let max_align = problem.buffers.iter().map(|b| b.align_bytes.max(1) as i128).max().unwrap_or(1);
    let low = at.iter().flatten().copied().min().unwrap_or(0).div_euclid(max_align) * max_align;
    let offsets: Vec<u64> = at.iter().map(|o| (o.unwrap_or(low) - low) as u64).collect();
    let arena = arenaplan_planner::plan::arena_bytes_of(problem, &offsets);
    (offsets, arena)
}

/// The buffer orders [`first_fit_allowing`] tries: by start (larger first on ties), by size (larger first),
/// by end (later first).
fn orders(problem: &BufferProblem) -> Vec<Vec<usize>> {
    let b = &problem.buffers;
    let mut by_start: Vec<usize> = (0..b.len()).collect();
    by_start.sort_by_key(|&i| (b[i].live.start, std::cmp::Reverse(b[i].size_bytes), i));
    let mut by_size: Vec<usize> = (0..b.len()).collect();
    by_size.sort_by_key(|&i| (std::cmp::Reverse(b[i].size_bytes), b[i].live.start, i));
    let mut by_end: Vec<usize> = (0..b.len()).collect();
    by_end.sort_by_key(|&i| (std::cmp::Reverse(b[i].live.end), std::cmp::Reverse(b[i].size_bytes), i));
    vec![by_start, by_size, by_end]
}

impl Overlap {
    /// The ties chosen for `problem` and the packing they give: `(offsets, arena, ties kept)`.
    fn search(
        &self,
        problem: &BufferProblem,
        allowances: &[OverlapAllowance],
        request: &PlanRequest,
    ) -> Result<(Vec<u64>, u64, usize), PackError> {
        let mut groups = Groups::new(problem.buffers.len());
        let mut best = pack_groups(self.packer.as_ref(), problem, &[], &groups, request)?
            .ok_or_else(|| PackError::Solver("the packer's disjoint packing did not validate".to_owned()))?;
        let mut order: Vec<&OverlapAllowance> = allowances.iter().collect();
        order.sort_by_key(|a| (std::cmp::Reverse(a.max_shared_bytes(problem)), a.input, a.output));
        let mut kept = 0;
        for _ in 0..self.passes {
            let mut changed = false;
            for a in &order {
                let (input, output) = (a.input.0 as usize, a.output.0 as usize);
                let align = problem.buffers[output].align_bytes.max(problem.buffers[input].align_bytes);
                let mut trial = groups.clone();
                if !trial.tie(input, output, -(round_up(a.lead_bytes, align) as i128)) {
                    continue;
                }
                if let Some(found) = pack_groups(self.packer.as_ref(), problem, allowances, &trial, request)? {
                    if found.1 < best.1 {
                        best = found;
                        groups = trial;
                        kept += 1;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        Ok((best.0, best.1, kept))
    }
}

impl Strategy for Overlap {
    fn name(&self) -> String {
        "overlap".to_owned()
    }

    fn plan(&self, graph: &Graph, request: &PlanRequest) -> Result<Plan, StrategyError> {
        let start = Instant::now();
        let lowering = lower(graph, &graph.default_schedule(), request)?;
        let problem = &lowering.problem;
        let allowances = &lowering.overlap_allowances;
        let (mut offsets, mut arena, kept) = self.search(problem, allowances, request)?;
        let mut method = "ties".to_owned();
        let mut fit_best: Option<(Vec<usize>, Direction, u64)> = None;
        for (k, order) in orders(problem).iter().enumerate() {
            for direction in [Direction::Up, Direction::Down] {
                let (o, a) = first_fit_allowing(problem, allowances, order, direction);
                if fit_best.as_ref().is_none_or(|b| a < b.2) {
                    fit_best = Some((order.clone(), direction, a));
                }
                if a < arena && validate_offsets_allowing(problem, allowances, &o, a).is_ok() {
                    (offsets, arena) = (o, a);
                    method = format!("first-fit order {k} {direction:?}");
                }
            }
        }
        // Local search over the best first-fit order: swap two buffers, keep the swap unless the arena grows;
        // no placement goes below the bound with the allowances, so the search stops there.
        let floor = lower_bound_with_overlaps(problem, allowances);
        if let Some((mut order, direction, mut current)) = fit_best.filter(|b| b.0.len() > 1) {
            let mut rng = SplitMix64::new(request.seed);
            let deadline = Instant::now() + request.time_limit().min(std::time::Duration::from_millis(500));
            for _ in 0..self.swaps {
                if Instant::now() > deadline || arena <= floor {
                    break;
                }
                let (x, y) = (rng.below(order.len() as u64) as usize, rng.below(order.len() as u64) as usize);
                order.swap(x, y);
                let (o, a) = first_fit_allowing(problem, allowances, &order, direction);
                if a <= current {
                    current = a;
                    if a < arena && validate_offsets_allowing(problem, allowances, &o, a).is_ok() {
                        (offsets, arena) = (o, a);
                        method = format!("first-fit local search {direction:?}");
                    }
                } else {
                    order.swap(x, y);
                }
            }
        }
        if let Some(capacity) = problem.capacity.filter(|&c| arena > c) {
            return Err(PackError::NoFit { packer: self.name(), arena_bytes: arena, capacity }.into());
        }
        let uses_overlaps = arenaplan_planner::check::uses_overlaps(problem, allowances, &offsets);
        let bound = if uses_overlaps { lower_bound_with_overlaps(problem, allowances) } else { problem.lower_bound() };
        let status = if arena == bound { Status::Optimal } else { Status::Heuristic };
        let mut params = BTreeMap::new();
        params.insert("packer".to_owned(), self.packer.name());
        params.insert("passes".to_owned(), self.passes.to_string());
        params.insert("swaps".to_owned(), self.swaps.to_string());
        params.insert("allowances".to_owned(), allowances.len().to_string());
        params.insert("ties".to_owned(), kept.to_string());
        params.insert("method".to_owned(), method);
        let meta = PlanMeta {
            strategy: self.name(),
            params,
            status,
            lower_bound_bytes: bound,
            estimated_cycles: None,
            solve_seconds: start.elapsed().as_secs_f64(),
            request: request.clone(),
        };
        Ok(Plan::assemble(lowering, Packing { offsets, status, lower_bound_bytes: bound }, meta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_of_ties_expands_to_the_relative_offsets() {
        let buffers = vec![
            Buffer::instance("x", 32, 16, 0..2),
            Buffer::instance("y", 64, 16, 1..3),
            Buffer::instance("z", 16, 16, 2..4),
        ];
        let problem = BufferProblem::new(buffers);
        let mut g = Groups::new(3);
        assert!(g.tie(0, 1, -32));
        assert!(g.tie(1, 2, 0));
        assert!(!g.tie(0, 2, 0), "already one group");
        let (grouped, place) = g.grouped(&problem);
        assert_eq!(grouped.buffers.len(), 1);
        // y at 0, x at 32, z at 0: extent max(32 + 32, 64, 16) = 64, alive 0..4.
        assert_eq!(place, vec![(0, 32), (0, 0), (0, 0)]);
        assert_eq!(grouped.buffers[0].size_bytes, 64);
        assert_eq!(grouped.buffers[0].live, 0..4);
    }
}
