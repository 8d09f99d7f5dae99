//! The two levels of planner: a [`Packer`] places a fixed [`BufferProblem`]; a [`Strategy`] makes a whole
//! [`Plan`] from a [`Graph`] and a [`PlanRequest`] (choosing schedule and kernels, then packing).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::graph::Graph;
use crate::limits::Limits;
use crate::lowering::lower;
use crate::plan::{arena_bytes_of, Plan, PlanMeta, Status};
use crate::problem::BufferProblem;
use crate::request::PlanRequest;
use crate::validate::{validate_offsets, ValidationError};

/// Limits a packer must respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackLimits {
    /// Wall-clock limit.
    pub time_limit: Duration,
    /// Seed of every randomised choice.
    pub seed: u64,
}

impl Default for PackLimits {
    fn default() -> Self {
        PackLimits { time_limit: Duration::from_secs(10), seed: 0 }
    }
}

impl PackLimits {
    /// The limits a request implies.
    pub fn from_request(request: &PlanRequest) -> Self {
        PackLimits { time_limit: request.time_limit(), seed: request.seed }
    }

    /// The deadline these limits set for work starting now.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.time_limit
    }
}

/// Offsets for a problem, as a packer found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packing {
    /// One offset per buffer.
    pub offsets: Vec<u64>,
    /// What the packer knows of its quality.
    pub status: Status,
    /// The best lower bound the packer proved (at least the problem's LOAD).
    pub lower_bound_bytes: u64,
}

/// Why a packer stopped without a packing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// No packing fits the capacity (proven).
    #[error("no packing fits in {capacity} bytes (lower bound {lower_bound_bytes} bytes)")]
    Infeasible {
        /// The capacity asked for.
        capacity: u64,
        /// The best lower bound known.
        lower_bound_bytes: u64,
    },
    /// A heuristic's packing exceeds the capacity (which proves nothing about other packings).
    #[error("`{packer}` needs {arena_bytes} bytes, more than the capacity of {capacity} bytes")]
    NoFit {
        /// The packer's name.
        packer: String,
        /// The arena it found.
        arena_bytes: u64,
        /// The capacity asked for.
        capacity: u64,
    },
    /// The time limit passed before any packing within the capacity was found.
    #[error("time limit of {limit:?} reached before a packing was found")]
    TimeLimit {
        /// The limit.
        limit: Duration,
    },
    /// The underlying solver failed.
    #[error("solver error: {0}")]
    Solver(String),
    /// The problem exceeds a resource limit of [`crate::limits`] (checked before any packer runs).
    #[error(transparent)]
    Limit(#[from] crate::limits::LimitError),
    /// The packer produced an invalid packing (a bug, caught by the validator).
    #[error("packer `{packer}` produced an invalid packing: {source}")]
    Invalid {
        /// The packer's name.
        packer: String,
        /// What the validator found.
        source: ValidationError,
    },
}

/// Places the buffers of a fixed problem: greedy heuristics, ILP, exact search.
pub trait Packer: Send + Sync {
    /// The registry name, e.g. `greedy-by-size`.
    fn name(&self) -> String;
    /// Parameters and flags, as text, for reports and exported plans.
    fn params(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    /// Find offsets for every buffer of `problem`, within `problem.capacity` when set.
    fn pack(&self, problem: &BufferProblem, limits: &PackLimits) -> Result<Packing, PackError>;
}

impl<P: Packer + ?Sized> Packer for Box<P> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn params(&self) -> BTreeMap<String, String> {
        (**self).params()
    }
    fn pack(&self, problem: &BufferProblem, limits: &PackLimits) -> Result<Packing, PackError> {
        (**self).pack(problem, limits)
    }
}

/// Why a strategy could not plan.
#[derive(Debug, thiserror::Error)]
pub enum StrategyError {
    /// The packer stopped.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// The graph could not be lowered.
    #[error(transparent)]
    Lowering(#[from] crate::lowering::LoweringError),
    /// The request's objective cannot be met (a RAM or latency budget no plan meets), or the cost of a plan
    /// could not be estimated.
    #[error("{0}")]
    Objective(String),
}

/// Makes a whole plan from a graph and a request.
pub trait Strategy: Send + Sync {
    /// The registry name.
    fn name(&self) -> String;
    /// Plan `graph` for `request`.
    fn plan(&self, graph: &Graph, request: &PlanRequest) -> Result<Plan, StrategyError>;
}

impl Packing {
    /// The packer contract, for packers written inside this workspace or outside it: checks `offsets` with the
    /// independent validator, refuses an arena above the problem's capacity, raises the claimed bound to the
    /// problem's own (LOAD), and marks the packing optimal exactly when its arena meets that bound. Returns the
    /// packing and its arena. `packer` names the packer in errors.
    pub fn from_offsets(
        packer: &str,
        problem: &BufferProblem,
        offsets: Vec<u64>,
        status: Status,
        lower_bound_bytes: u64,
    ) -> Result<(Packing, u64), PackError> {
        let arena = arena_bytes_of(problem, &offsets);
        if let Some(capacity) = problem.capacity.filter(|&c| arena > c) {
            return Err(PackError::NoFit { packer: packer.to_owned(), arena_bytes: arena, capacity });
        }
        validate_offsets(problem, &offsets, arena)
            .map_err(|source| PackError::Invalid { packer: packer.to_owned(), source })?;
        let lower_bound_bytes = lower_bound_bytes.max(problem.lower_bound());
        let status = if arena == lower_bound_bytes { Status::Optimal } else { status };
        Ok((Packing { offsets, status, lower_bound_bytes }, arena))
    }
}

/// Check the problem against the default resource limits ([`BufferProblem::check_limits`]), run a packer, and
/// hold its answer to the packer contract ([`Packing::from_offsets`]: the independent validator, the capacity,
/// the status rule).
pub fn pack_checked(
    packer: &dyn Packer,
    problem: &BufferProblem,
    limits: &PackLimits,
) -> Result<(Packing, u64), PackError> {
    pack_checked_within(packer, problem, limits, &Limits::default())
}

/// [`pack_checked`] under the resource limits `resources` (raised by a user, within [`Limits::CEILING`]).
pub fn pack_checked_within(
    packer: &dyn Packer,
    problem: &BufferProblem,
    limits: &PackLimits,
    resources: &Limits,
) -> Result<(Packing, u64), PackError> {
    resources.check_ceilings()?;
    problem.check_limits_with(resources)?;
    let packing = packer.pack(problem, limits)?;
    Packing::from_offsets(&packer.name(), problem, packing.offsets, packing.status, packing.lower_bound_bytes)
}

/// The simplest strategy: the graph's own operator order, the reference kernels, and a packer.
pub struct PackerStrategy<P: Packer> {
    /// The packer that places the buffers.
    pub packer: P,
}

impl<P: Packer> Strategy for PackerStrategy<P> {
    fn name(&self) -> String {
        self.packer.name()
    }

    fn plan(&self, graph: &Graph, request: &PlanRequest) -> Result<Plan, StrategyError> {
        let start = Instant::now();
        let lowering = lower(graph, &graph.default_schedule(), request)?;
        let (packing, _) =
            pack_checked_within(&self.packer, &lowering.problem, &PackLimits::from_request(request), &request.limits)?;
        let meta = PlanMeta {
            strategy: self.packer.name(),
            params: self.packer.params(),
            status: packing.status,
            lower_bound_bytes: packing.lower_bound_bytes,
            estimated_cycles: None,
            solve_seconds: start.elapsed().as_secs_f64(),
            request: request.clone(),
        };
        Ok(Plan::assemble(lowering, packing, meta))
    }
}
