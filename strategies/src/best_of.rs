//! `best-of`: run several packers and keep the smallest arena.

use std::collections::BTreeMap;
use std::time::Instant;

use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::{BufferProblem, PackError, PackLimits, Packer, Packing, Status};

use crate::common::{finish, without_capacity};
use crate::greedy::GreedyPacker;

/// Runs every packer of its list (without the capacity) and keeps the smallest arena; on ties, the packer
/// listed first. Fails only when every packer fails. The time limit is shared: each packer gets what is left
/// of it, and once it has passed no further packer starts if one has found a packing: the best so far is
/// returned.
pub struct BestOf {
    /// The packers to run, in tie-break order.
    pub packers: Vec<Box<dyn Packer>>,
}

impl Default for BestOf {
    /// Every greedy combination ([`GreedyPacker::all`]), the TFLM baseline first.
    fn default() -> Self {
        BestOf { packers: GreedyPacker::all().into_iter().map(|p| Box::new(p) as Box<dyn Packer>).collect() }
    }
}

impl BestOf {
    /// The best packing of the list and the name of the packer that found it.
    pub fn best(&self, problem: &BufferProblem, limits: &PackLimits) -> Result<(Packing, String), PackError> {
        let free = without_capacity(problem);
        let deadline = limits.deadline();
        let mut best: Option<(u64, Packing, String)> = None;
        let mut last_error = None;
        for packer in &self.packers {
            let now = Instant::now();
            if now >= deadline && best.is_some() {
                break;
            }
            let left = PackLimits { time_limit: deadline.saturating_duration_since(now), ..*limits };
            match packer.pack(&free, &left) {
                Ok(packing) => {
                    let arena = arena_bytes_of(problem, &packing.offsets);
                    if best.as_ref().is_none_or(|(a, _, _)| arena < *a) {
                        best = Some((arena, packing, packer.name()));
                    }
                }
                Err(e) => last_error = Some(e),
            }
        }
        match best {
            Some((_, packing, name)) => Ok((packing, name)),
            None => Err(last_error.unwrap_or_else(|| PackError::Solver("best-of has no packer".to_owned()))),
        }
    }
}

impl Packer for BestOf {
    fn name(&self) -> String {
        "best-of".to_owned()
    }

    fn params(&self) -> BTreeMap<String, String> {
        let names: Vec<String> = self.packers.iter().map(|p| p.name()).collect();
        BTreeMap::from([("packers".to_owned(), names.join(","))])
    }

    fn pack(&self, problem: &BufferProblem, limits: &PackLimits) -> Result<Packing, PackError> {
        let (packing, _) = self.best(problem, limits)?;
        let status = match packing.status {
            Status::Optimal => Status::Optimal,
            _ => Status::Heuristic,
        };
        finish(&self.name(), problem, packing.offsets, status, packing.lower_bound_bytes)
    }
}
