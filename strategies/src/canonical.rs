//! Canonical input, made once at the door of every packer: lifetimes compressed to ranks and bytes divided by
//! the problem's unit, the answer mapped back.
//!
//! Two problems are the same allocation problem when the order of every lifetime boundary and the ratios of
//! every size, alignment and capacity are the same. [`canonicalize`] keeps exactly that:
//!
//! - **time**: every distinct lifetime boundary (start or end) is replaced by its rank among them, so an
//!   instance whose times count nanoseconds and one whose times count operators become the same problem, and no
//!   packer ever sees a time value larger than twice the number of buffers;
//! - **bytes**: sizes and alignments are divided by their greatest common divisor (the *unit*), the capacity by
//!   the unit rounded down (an arena of `a` units fits `c` bytes exactly when `a <= c / unit`).
//!
//! Both are exact: every packing of one is a packing of the other (offsets scaled by the unit), and first fit,
//! best fit and every order of the greedy family give the same answer on both. Time and memory are
//! `O(n log n)` and `O(n)` in the number of buffers, whatever the time values or the byte sizes: nothing is
//! allocated per time step or per byte. [`Canonical`] wraps any packer so that it runs on the canonical
//! problem ([`crate::packers`] wraps every registered packer this way).

use std::collections::BTreeMap;

use arenaplan_planner::{BufferProblem, PackError, PackLimits, Packer, Packing};

use crate::common::gcd;

/// A problem in canonical form, with what it takes to map answers back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalProblem {
    /// The canonical problem: lifetimes as ranks, sizes and alignments in units, capacity in whole units.
    pub problem: BufferProblem,
    /// Bytes per unit: the gcd of every non-zero size and every alignment (1 when there is no buffer).
    pub unit: u64,
}

impl CanonicalProblem {
    /// Offsets of the original problem from offsets of the canonical one.
    pub fn offsets_back(&self, offsets: &[u64]) -> Vec<u64> {
        offsets.iter().map(|&o| o.saturating_mul(self.unit)).collect()
    }

    /// A packing of the original problem from a packing of the canonical one.
    pub fn packing_back(&self, packing: Packing) -> Packing {
        Packing {
            offsets: self.offsets_back(&packing.offsets),
            status: packing.status,
            lower_bound_bytes: packing.lower_bound_bytes.saturating_mul(self.unit),
        }
    }

    /// An error of the canonical problem in terms of the original one (`original_capacity` is the capacity the
    /// caller asked for, in bytes).
    pub fn error_back(&self, error: PackError, original_capacity: Option<u64>) -> PackError {
        let capacity = |c: u64| original_capacity.unwrap_or(c.saturating_mul(self.unit));
        match error {
            PackError::Infeasible { capacity: c, lower_bound_bytes } => PackError::Infeasible {
                capacity: capacity(c),
                lower_bound_bytes: lower_bound_bytes.saturating_mul(self.unit),
            },
            PackError::NoFit { packer, arena_bytes, capacity: c } => {
                PackError::NoFit { packer, arena_bytes: arena_bytes.saturating_mul(self.unit), capacity: capacity(c) }
            }
            other => other,
        }
    }
}

/// The canonical form of `problem` (see the module docs). Buffers keep their order, names and origins.
pub fn canonicalize(problem: &BufferProblem) -> CanonicalProblem {
    let b = &problem.buffers;
    let mut unit = 0u64;
    for x in b {
        unit = gcd(gcd(unit, x.size_bytes), x.align_bytes.max(1));
    }
    let unit = unit.max(1);
    let mut points: Vec<u32> = Vec::with_capacity(2 * b.len());
    for x in b {
        points.push(x.live.start);
        points.push(x.live.end);
    }
    points.sort_unstable();
    points.dedup();
    let rank = |t: u32| points.binary_search(&t).expect("a boundary") as u32;
    let mut canonical = problem.clone();
    for x in &mut canonical.buffers {
        x.size_bytes /= unit;
        x.align_bytes = x.align_bytes.max(1) / unit;
        x.live = rank(x.live.start)..rank(x.live.end);
    }
    canonical.capacity = problem.capacity.map(|c| c / unit);
    CanonicalProblem { problem: canonical, unit }
}

/// Whether `problem` is already canonical: its unit is 1 and its boundaries are exactly `0..k` for some `k`.
pub fn is_canonical(problem: &BufferProblem) -> bool {
    let c = canonicalize(problem);
    c.unit == 1 && c.problem.buffers.iter().zip(&problem.buffers).all(|(a, b)| a.live == b.live)
}

/// Run `pack` on the canonical form of `problem` and map its answer back.
pub fn pack_canonical(
    problem: &BufferProblem,
    pack: impl FnOnce(&BufferProblem) -> Result<Packing, PackError>,
) -> Result<Packing, PackError> {
    let canonical = canonicalize(problem);
    match pack(&canonical.problem) {
        Ok(packing) => Ok(canonical.packing_back(packing)),
        Err(e) => Err(canonical.error_back(e, problem.capacity)),
    }
}

/// A packer run on the canonical form of every problem it is given; same name and parameters as the packer
/// inside (plus `canonical_input = true`).
pub struct Canonical<P: Packer>(pub P);

impl<P: Packer> Packer for Canonical<P> {
    fn name(&self) -> String {
        self.0.name()
    }

    fn params(&self) -> BTreeMap<String, String> {
        let mut params = self.0.params();
        params.insert("canonical_input".to_owned(), "true".to_owned());
        params
    }

    fn pack(&self, problem: &BufferProblem, limits: &PackLimits) -> Result<Packing, PackError> {
        pack_canonical(problem, |canonical| self.0.pack(canonical, limits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arenaplan_planner::Buffer;

    #[test]
    fn times_become_ranks_and_bytes_units() {
        let p = BufferProblem::new(vec![
            Buffer::instance("a", 64, 16, 1_000_000..3_000_000_000),
            Buffer::instance("b", 32, 16, 2_000_000..4_000_000_000),
            Buffer::instance("c", 0, 1, 7..7),
        ])
        .with_capacity(100);
        let c = canonicalize(&p);
        assert_eq!(c.unit, 1, "alignment 1 of the zero-size buffer keeps the unit at 1");
        let p = BufferProblem::new(p.buffers[..2].to_vec()).with_capacity(100);
        let c = canonicalize(&p);
        assert_eq!(c.unit, 16);
        let lives: Vec<_> = c.problem.buffers.iter().map(|b| b.live.clone()).collect();
        assert_eq!(lives, vec![0..2, 1..3]);
        assert_eq!(c.problem.buffers[0].size_bytes, 4);
        assert_eq!(c.problem.buffers[1].align_bytes, 1);
        assert_eq!(c.problem.capacity, Some(6), "100 B holds 6 whole units of 16 B");
        assert_eq!(c.offsets_back(&[0, 4]), vec![0, 64]);
        assert!(is_canonical(&c.problem));
        assert!(!is_canonical(&p));
        let back = c.error_back(PackError::Infeasible { capacity: 6, lower_bound_bytes: 7 }, Some(100));
        assert_eq!(back, PackError::Infeasible { capacity: 100, lower_bound_bytes: 112 });
    }

    #[test]
    fn empty_lifetimes_keep_their_place() {
        // `c` is empty at 5, inside `a`'s lifetime and after `b` ends.
        let p = BufferProblem::new(vec![
            Buffer::instance("a", 8, 8, 0..10),
            Buffer::instance("b", 8, 8, 2..5),
            Buffer::instance("c", 8, 8, 5..5),
        ]);
        let c = canonicalize(&p);
        let lives: Vec<_> = c.problem.buffers.iter().map(|b| b.live.clone()).collect();
        assert_eq!(lives, vec![0..3, 1..2, 2..2]);
    }
}
