//! The time sweep: the decision search for parts with **zero slack** at the capacity (every section holds
//! exactly `capacity` bytes), such as perfect packings at their optimum. Our addition to MiniMalloc's search.
//!
//! With zero slack every section is tiled exactly: no byte of `[0, capacity)` is free at any time. So at the
//! boundary where section `k` starts, the buffers starting there must exactly fill the holes left by the
//! buffers ending there (at the first boundary: the whole column), and nothing else is free. The search walks
//! the boundaries in time order; at each it fills the holes one by one from their bottom: the lowest offset of
//! a hole must be the offset of one of the buffers starting there. It is complete for zero-slack parts (every
//! packing is reached) and each boundary is a small local problem, so wrong choices fail early:
//!
//! - a hole no remaining buffer can start at (too small, or misaligned) fails the node (always on);
//! - first fail: the hole with the fewest candidates is filled first;
//! - with [`Rules::hole_sums`], every hole's length must be the sum of some subset of the remaining buffers'
//!   sizes (checked exactly when at most 14 buffers remain at the boundary);
//! - with [`Rules::symmetry`], among identical candidates (same size, alignment and lifetime) only the first
//!   is tried.

use std::time::Instant;

use super::search::{Instance, Outcome, Rules};
use crate::rng::SplitMix64;

/// At most this many remaining buffers at a boundary for the exact subset-sum check of the holes.
const SUBSET_SUM_LIMIT: usize = 14;

/// Whether the time sweep applies to `inst` at `capacity`: every section holds exactly `capacity` bytes.
pub fn zero_slack(inst: &Instance, capacity: u64) -> bool {
    inst.section_count() > 0 && inst.section_totals().iter().all(|&t| t == capacity)
}

/// One run of the time sweep.
pub struct Sweep<'a> {
    inst: &'a Instance,
    capacity: u64,
    rules: Rules,
    /// Buffers starting at each section, in candidate order.
    starters: Vec<Vec<usize>>,
    /// Buffers ending where each section starts (their end section is that section).
    enders: Vec<Vec<usize>>,
    offset: Vec<u64>,
    nodes: u64,
    node_limit: u64,
    deadline: Instant,
    stopped: Option<Outcome>,
}

impl<'a> Sweep<'a> {
    /// A sweep of `inst` (zero slack at `capacity`, see [`zero_slack`]). Candidates are tried largest first
    /// (ties: longest-lived first, then index); a non-zero `shuffle` seed randomises the order instead (restarts).
    pub fn new(
        inst: &'a Instance,
        capacity: u64,
        rules: Rules,
        node_limit: u64,
        deadline: Instant,
        shuffle: u64,
    ) -> Self {
        let sections = inst.section_count();
        let mut starters = vec![Vec::new(); sections];
        let mut enders = vec![Vec::new(); sections + 1];
        for i in 0..inst.len() {
            let (lo, hi) = inst.sections(i);
            starters[lo].push(i);
            enders[hi].push(i);
        }
        let mut rng = SplitMix64::new(shuffle);
        for list in &mut starters {
            list.sort_by(|&x, &y| {
                inst.size(y).cmp(&inst.size(x)).then(inst.sections(y).1.cmp(&inst.sections(x).1)).then(x.cmp(&y))
            });
            if shuffle != 0 {
                for i in (1..list.len()).rev() {
                    list.swap(i, rng.below(i as u64 + 1) as usize);
                }
            }
            // Twins adjacent, so symmetry breaking can look at the previous candidate only.
            *list = inst.group_twins(list);
        }
        Sweep {
            inst,
            capacity,
            rules,
            starters,
            enders,
            offset: vec![0; inst.len()],
            nodes: 0,
            node_limit,
            deadline,
            stopped: None,
        }
    }

    /// Run the sweep; returns the outcome and the nodes visited.
    pub fn run(mut self) -> (Outcome, u64) {
        let outcome = match self.boundary(0) {
            Some(true) => Outcome::Found(self.offset.clone()),
            Some(false) => Outcome::Infeasible,
            None => self.stopped.take().unwrap_or(Outcome::Deadline),
        };
        (outcome, self.nodes)
    }

    /// Fill the holes of boundary `k` and everything after; `None` when stopped.
    fn boundary(&mut self, k: usize) -> Option<bool> {
        if k == self.starters.len() {
            return Some(true);
        }
        let holes = if k == 0 {
            vec![(0, self.capacity)]
        } else {
            let mut freed: Vec<(u64, u64)> =
                self.enders[k].iter().map(|&j| (self.offset[j], self.offset[j] + self.inst.size(j))).collect();
            freed.sort_unstable();
            let mut merged: Vec<(u64, u64)> = Vec::with_capacity(freed.len());
            for (lo, hi) in freed {
                match merged.last_mut() {
                    Some(last) if last.1 == lo => last.1 = hi,
                    _ => merged.push((lo, hi)),
                }
            }
            merged
        };
        let remaining = self.starters[k].clone();
        self.fill(k, holes, remaining)
    }

    /// Place `remaining` (buffers starting at `k`) exactly into `holes`, then go on to the next boundary.
    fn fill(&mut self, k: usize, holes: Vec<(u64, u64)>, remaining: Vec<usize>) -> Option<bool> {
        self.nodes += 1;
        if self.nodes > self.node_limit {
            self.stopped = Some(Outcome::NodeLimit);
            return None;
        }
        if self.nodes % 64 == 0 && Instant::now() >= self.deadline {
            self.stopped = Some(Outcome::Deadline);
            return None;
        }
        if remaining.is_empty() {
            // Zero slack: the starters' bytes equal the holes' bytes, so no hole is left.
            debug_assert!(holes.is_empty());
            return self.boundary(k + 1);
        }
        if holes.is_empty() {
            return Some(false);
        }
        let fits = |j: usize, (lo, hi): (u64, u64)| lo % self.inst.align(j) == 0 && lo + self.inst.size(j) <= hi;
        // First fail: the hole with the fewest buffers able to start at its bottom.
        let mut chosen: Option<(usize, usize)> = None; // (candidates, hole)
        for (h, &hole) in holes.iter().enumerate() {
            let count = remaining.iter().filter(|&&j| fits(j, hole)).count();
            if count == 0 {
                return Some(false);
            }
            if chosen.is_none_or(|(c, _)| count < c) {
                chosen = Some((count, h));
            }
        }
        if self.rules.hole_sums && remaining.len() <= SUBSET_SUM_LIMIT && !self.holes_are_sums(&holes, &remaining) {
            return Some(false);
        }
        let (_, h) = chosen.expect("holes is not empty");
        let hole = holes[h];
        for (pos, &j) in remaining.iter().enumerate() {
            if !fits(j, hole) {
                continue;
            }
            if self.rules.symmetry && pos > 0 && self.inst.identical(remaining[pos - 1], j) {
                continue; // Its twin just before was tried at this hole already.
            }
            self.offset[j] = hole.0;
            let mut next_holes = holes.clone();
            let top = hole.0 + self.inst.size(j);
            if top < hole.1 {
                next_holes[h] = (top, hole.1);
            } else {
                next_holes.remove(h);
            }
            let mut next = remaining.clone();
            next.remove(pos);
            match self.fill(k, next_holes, next) {
                Some(false) => {}
                other => return other,
            }
        }
        Some(false)
    }

    /// Whether every hole's length is the sum of some subset of the sizes of `remaining`.
    fn holes_are_sums(&self, holes: &[(u64, u64)], remaining: &[usize]) -> bool {
        let mut sums: Vec<u64> = vec![0];
        for &j in remaining {
            let size = self.inst.size(j);
            let len = sums.len();
            for s in 0..len {
                sums.push(sums[s] + size);
            }
        }
        sums.sort_unstable();
        holes.iter().all(|&(lo, hi)| sums.binary_search(&(hi - lo)).is_ok())
    }
}
