//! A plan: schedule, kernel choices, offsets, arena size, and how it was found.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::problem::BufferProblem;
use crate::request::PlanRequest;

/// Version of the serialised [`Plan`] format; bumped on every incompatible change.
pub const PLAN_SCHEMA_VERSION: u32 = 1;

/// How good a plan is known to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Proven optimal for its problem (a solver proved it, or the arena equals the lower bound).
    Optimal,
    /// Valid, found by a search that stopped before proving optimality.
    Feasible,
    /// Valid, found by a heuristic with no optimality claim.
    Heuristic,
}

/// Which implementation of its operator a scheduled step uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum KernelVariant {
    /// The reference kernel, bit-exact with TFLM's, with TFLM's scratch needs.
    #[default]
    Reference,
    /// The optimized kernel (`arenaplan_kernels::optimized`): bit-exact with the reference, faster, with its own
    /// scratch needs. Only operators that have one get it; the others keep the reference.
    Optimized,
}

impl KernelVariant {
    /// The kernels crate's name for it, as compiled into a program.
    pub fn to_kernels(self) -> arenaplan_kernels::Variant {
        match self {
            KernelVariant::Reference => arenaplan_kernels::Variant::Reference,
            KernelVariant::Optimized => arenaplan_kernels::Variant::Optimized,
        }
    }

    /// Its name, as in plans and on the command line.
    pub fn name(self) -> &'static str {
        self.to_kernels().name()
    }
}

impl std::str::FromStr for KernelVariant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "reference" => Ok(KernelVariant::Reference),
            "optimized" => Ok(KernelVariant::Optimized),
            other => Err(format!("unknown kernel set `{other}` (expected `reference` or `optimized`)")),
        }
    }
}

/// How a plan was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanMeta {
    /// The strategy's registry name.
    pub strategy: String,
    /// The strategy's parameters (flags, limits), as text.
    pub params: BTreeMap<String, String>,
    /// Optimality status.
    pub status: Status,
    /// The best known lower bound of the arena for this problem.
    pub lower_bound_bytes: u64,
    /// Estimated cost (e.g. cycles), when the strategy models latency.
    pub estimated_cycles: Option<u64>,
    /// Wall-clock time the strategy took, in seconds.
    pub solve_seconds: f64,
    /// The request the plan answers.
    pub request: PlanRequest,
}

/// A complete memory plan for one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_SCHEMA_VERSION`] at the time it was written.
    pub schema_version: u32,
    /// Operator indices (of the `.tflite` subgraph) in execution order.
    pub schedule: Vec<u32>,
    /// The kernel variant of each scheduled operator, parallel to `schedule`.
    pub kernels: Vec<KernelVariant>,
    /// The buffers the schedule and kernels imply.
    pub problem: BufferProblem,
    /// One offset per buffer of `problem`, in bytes from the arena start.
    pub offsets: Vec<u64>,
    /// The arena size: the maximum of `offset + size` over buffers.
    pub arena_bytes: u64,
    /// How the plan was found.
    pub meta: PlanMeta,
}

/// The arena an assignment of offsets needs: `max(offset + size)` (0 for no buffers).
pub fn arena_bytes_of(problem: &BufferProblem, offsets: &[u64]) -> u64 {
    problem.buffers.iter().zip(offsets).map(|(b, &o)| o.saturating_add(b.size_bytes)).max().unwrap_or(0)
}

impl Plan {
    /// Assemble a plan from a lowering (schedule, kernel variants, problem) and a packing of its problem that
    /// passed the packer contract ([`Packing::from_offsets`](crate::Packing::from_offsets)). `meta.status` and
    /// `meta.lower_bound_bytes` are taken from the packing; the arena is computed from the offsets. The public
    /// way for a strategy outside this crate to make a plan; every consumer still re-checks it (validator).
    pub fn assemble(lowering: crate::lowering::Lowering, packing: crate::strategy::Packing, meta: PlanMeta) -> Plan {
        let arena_bytes = arena_bytes_of(&lowering.problem, &packing.offsets);
        Plan {
            schema_version: PLAN_SCHEMA_VERSION,
            schedule: lowering.schedule,
            kernels: lowering.kernels,
            problem: lowering.problem,
            offsets: packing.offsets,
            arena_bytes,
            meta: PlanMeta { status: packing.status, lower_bound_bytes: packing.lower_bound_bytes, ..meta },
        }
    }

    /// The gap between the arena and the lower bound, in percent of the lower bound.
    pub fn gap_percent(&self) -> f64 {
        gap_percent(self.arena_bytes, self.meta.lower_bound_bytes)
    }
}

/// `(arena - bound) / bound` in percent (0 when the bound is 0).
pub fn gap_percent(arena_bytes: u64, lower_bound_bytes: u64) -> f64 {
    if lower_bound_bytes == 0 {
        0.0
    } else {
        (arena_bytes as f64 - lower_bound_bytes as f64) * 100.0 / lower_bound_bytes as f64
    }
}
