//! `ilp`: the allocation problem as a mixed-integer program (as in OLLA, 2022), solved with good_lp.
//!
//! The problem is made canonical first ([`crate::canonical`]) and split into the parts of the temporal
//! decomposition ([`crate::decompose`]: groups of buffers no other group's lifetimes touch). The warm start (by
//! default `hill-climb` from `best-of`) is the first answer; each part whose warm start is above the running
//! lower bound goes to the solver, as a sequence of at most two models ([`model`]):
//!
//! 1. **the decision at the floor** (the running lower bound, at least the part's LOAD): the arena fixed to the
//!    floor and the big-M equal to it. A packing found there is optimal at once; a proof that none exists
//!    raises the part's bound by one unit;
//! 2. **the minimisation** between the raised bound and the warm start's arena (the ceiling and big-M), started
//!    from the warm start (given to the solver as its initial solution). The solver stops as soon as its best
//!    packing reaches the bound (the arena's lower bound is a bound of its variable), so no time is spent
//!    without a reason.
//!
//! The decision gets at most half the remaining time when the minimisation may follow. Both models have the
//! section cuts and symmetry breaking of [`model`] (each can be turned off). The warm start is kept whenever
//! the solver fails, times out or returns something not better: the ILP is never worse than its warm start.
//! [`Status::Optimal`] is claimed only when the arena equals a bound the solver proved.
//!
//! Honest about what it did: a part with more time-overlapping pairs than `max_pairs` (or numbers beyond what
//! the solvers take exactly) is not given to the solver, at no cost in time; the status is then
//! [`Status::Heuristic`] when the solver ran on no part that needed it. The parameters of the last run
//! ([`IlpRun`], in [`Packer::params`]) say which solver ran on how many parts, with how many variables, binaries
//! and rows, what it proved, what was skipped and why, and the bound proven.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::problem::round_up;
use arenaplan_planner::{BufferProblem, PackError, PackLimits, Packer, Packing, Status};

use crate::canonical::canonicalize;
use crate::common::{finish, unit_of, without_capacity};
use crate::decompose::{solve_by_parts, PartResult};
use crate::hill_climb::HillClimb;

pub mod model;
mod solve;

pub use model::ModelSize;
use model::{build, ModelSpec};
use solve::{solve, Outcome};

/// The MILP solver behind an [`IlpPacker`] (each behind its cargo feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IlpSolver {
    /// microlp, pure Rust (feature `microlp`, on by default): the `ilp` packer.
    #[cfg(feature = "microlp")]
    MicroLp,
    /// HiGHS (feature `highs`): the `ilp-highs` packer.
    #[cfg(feature = "highs")]
    Highs,
    /// COIN-OR CBC (feature `coin_cbc`): the `ilp-cbc` packer.
    #[cfg(feature = "coin_cbc")]
    Cbc,
}

impl IlpSolver {
    /// Every solver compiled in.
    pub fn available() -> Vec<IlpSolver> {
        vec![
            #[cfg(feature = "microlp")]
            IlpSolver::MicroLp,
            #[cfg(feature = "highs")]
            IlpSolver::Highs,
            #[cfg(feature = "coin_cbc")]
            IlpSolver::Cbc,
        ]
    }

    /// The pair limit of [`IlpPacker::new`]: 2,000 for microlp (a dense pure-Rust simplex), 20,000 for HiGHS and
    /// CBC.
    pub fn default_max_pairs(self) -> usize {
        match self {
            #[cfg(feature = "microlp")]
            IlpSolver::MicroLp => 2_000,
            #[allow(unreachable_patterns)]
            _ => 20_000,
        }
    }
}

/// The ILP packer.
pub struct IlpPacker {
    /// The solver.
    pub solver: IlpSolver,
    /// The packer whose result is the warm start and ceiling.
    pub warm_start: Box<dyn Packer>,
    /// Parts with more time-overlapping pairs than this are not given to the solver (their warm start is kept).
    pub max_pairs: usize,
    /// Order identical buffers and orient one pair.
    pub symmetry_breaking: bool,
    /// Add the section cuts of [`model`].
    pub section_cuts: bool,
    /// Ask the decision at the floor before minimising.
    pub decide_at_floor: bool,
    last: Mutex<Option<IlpRun>>,
}

/// What the last run of an [`IlpPacker`] did with the parts that needed the solver (those whose warm start was
/// above the running lower bound).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IlpRun {
    /// Parts given to the solver.
    pub solver_parts: usize,
    /// Of which the solver proved optimal.
    pub proven_parts: usize,
    /// Parts not given to the solver (their warm start kept).
    pub skipped_parts: usize,
    /// Why the last skipped part was skipped, e.g. `5120 pairs > max_pairs 2000`.
    pub skip_reason: Option<String>,
    /// Models solved (at most two per part: the decision at the floor, the minimisation).
    pub models: usize,
    /// Decisions at the floor answered "fits".
    pub floor_fits: usize,
    /// Decisions at the floor the solver proved infeasible.
    pub floor_infeasible: usize,
    /// Models that returned no answer (time limit before any solution, or an error), and the last reason.
    pub failures: usize,
    /// The reason of the last failure.
    pub failure_reason: Option<String>,
    /// The largest model given to the solver.
    pub largest_model: ModelSize,
    /// Seconds spent inside the solver.
    pub solver_seconds: f64,
    /// The bound proven on the whole problem, bytes.
    pub lower_bound_bytes: u64,
}

impl IlpPacker {
    /// The ILP with `solver`, warm-started from `hill-climb`, at the solver's default pair limit, with symmetry
    /// breaking, section cuts and the decision at the floor.
    pub fn new(solver: IlpSolver) -> Self {
        IlpPacker {
            solver,
            warm_start: Box::new(HillClimb::default()),
            max_pairs: solver.default_max_pairs(),
            symmetry_breaking: true,
            section_cuts: true,
            decide_at_floor: true,
            last: Mutex::new(None),
        }
    }

    /// What the last finished run did (`None` before the first).
    pub fn last_run(&self) -> Option<IlpRun> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The same packer with another pair limit.
    pub fn with_max_pairs(mut self, max_pairs: usize) -> Self {
        self.max_pairs = max_pairs;
        self
    }

    /// The same packer with symmetry breaking on or off.
    pub fn with_symmetry_breaking(mut self, on: bool) -> Self {
        self.symmetry_breaking = on;
        self
    }

    /// The same packer with the section cuts on or off.
    pub fn with_section_cuts(mut self, on: bool) -> Self {
        self.section_cuts = on;
        self
    }

    /// The same packer with the decision at the floor on or off (off: one minimisation per part).
    pub fn with_decision_at_floor(mut self, on: bool) -> Self {
        self.decide_at_floor = on;
        self
    }

    /// Build and solve one model; an error saying why when it was not given to the solver.
    fn attempt(&self, stats: &mut IlpRun, spec: &ModelSpec, seconds: f64) -> Result<Outcome, String> {
        let model = build(spec)?;
        if seconds <= 0.0 {
            return Err("time limit reached before the part".to_owned());
        }
        let size = model.size;
        if size.rows > stats.largest_model.rows {
            stats.largest_model = size;
        }
        stats.models += 1;
        let began = Instant::now();
        let outcome = solve(self.solver, model, seconds);
        stats.solver_seconds += began.elapsed().as_secs_f64();
        if let Outcome::Failed(reason) = &outcome {
            stats.failures += 1;
            stats.failure_reason = Some(reason.clone());
        }
        Ok(outcome)
    }

    /// Offsets in bytes from the solver's values.
    fn offsets_of(part: &BufferProblem, values: &[f64]) -> Vec<u64> {
        let unit = unit_of(part, 0..part.buffers.len());
        part.buffers
            .iter()
            .zip(values)
            .map(|(b, v)| {
                let step = (b.align_bytes.max(1) / unit).max(1);
                (v.round().max(0.0) as u64).saturating_mul(step).saturating_mul(unit)
            })
            .collect()
    }

    /// Minimise one part: the decision at the floor, then the minimisation (see the module docs).
    fn solve_part(
        &self,
        stats: &mut IlpRun,
        part: &BufferProblem,
        target: u64,
        start: &[u64],
        deadline: Instant,
    ) -> PartResult {
        let unit = unit_of(part, 0..part.buffers.len());
        let start_arena = arena_bytes_of(part, start);
        // Every left-justified packing's arena is a multiple of the unit, so the bound rounds up to it.
        let mut lower = round_up(target.max(part.lower_bound()), unit);
        let keep = |lower: u64| PartResult { offsets: None, lower_bound_bytes: lower.min(start_arena).max(target) };
        let remaining = || deadline.saturating_duration_since(Instant::now()).as_secs_f64();
        let mut solved = false;
        if self.decide_at_floor && lower < start_arena {
            // Half the time when the minimisation may follow (a floor one unit below the start leaves nothing).
            let seconds = if lower + unit < start_arena { remaining() / 2.0 } else { remaining() };
            let outcome = match self.attempt(stats, &self.spec(part, lower, lower, None), seconds) {
                Ok(outcome) => outcome,
                Err(reason) => return self.skip(stats, reason, keep(lower)),
            };
            solved = true;
            match outcome {
                Outcome::Solved { offsets, .. } => {
                    let found = Self::offsets_of(part, &offsets);
                    if arena_bytes_of(part, &found) <= lower {
                        stats.floor_fits += 1;
                        stats.proven_parts += 1;
                        stats.solver_parts += 1;
                        return PartResult { offsets: Some(found), lower_bound_bytes: lower.max(target) };
                    }
                }
                Outcome::Infeasible => {
                    stats.floor_infeasible += 1;
                    lower += unit;
                }
                Outcome::Failed(_) => {}
            }
        }
        if lower >= start_arena {
            // The decision proved the warm start optimal.
            stats.solver_parts += 1;
            stats.proven_parts += 1;
            return keep(start_arena);
        }
        let outcome = match self.attempt(stats, &self.spec(part, lower, start_arena, Some(start)), remaining()) {
            Ok(outcome) => outcome,
            Err(reason) if !solved => return self.skip(stats, reason, keep(lower)),
            Err(_) => {
                stats.solver_parts += 1;
                return keep(lower);
            }
        };
        stats.solver_parts += 1;
        let Outcome::Solved { proven, offsets, .. } = outcome else { return keep(lower) };
        let found = Self::offsets_of(part, &offsets);
        let found_arena = arena_bytes_of(part, &found);
        // The solver proved min max(floor, optimum) = its arena, and the floor is a proven bound: that arena is
        // the part's optimum (the offsets are checked by the decomposition before they are used).
        if proven && found_arena >= lower {
            stats.proven_parts += 1;
            lower = found_arena;
        }
        PartResult { offsets: Some(found), lower_bound_bytes: lower.min(start_arena).max(target) }
    }

    /// The model of `part` with the arena between `floor` and `ceiling`, with this packer's settings.
    fn spec<'a>(&self, part: &'a BufferProblem, floor: u64, ceiling: u64, start: Option<&'a [u64]>) -> ModelSpec<'a> {
        ModelSpec {
            part,
            floor_bytes: floor,
            ceiling_bytes: ceiling,
            start,
            symmetry_breaking: self.symmetry_breaking,
            section_cuts: self.section_cuts,
            max_pairs: self.max_pairs,
        }
    }

    fn skip(&self, stats: &mut IlpRun, reason: String, keep: PartResult) -> PartResult {
        stats.skipped_parts += 1;
        stats.skip_reason = Some(reason);
        keep
    }
}

impl Packer for IlpPacker {
    fn name(&self) -> String {
        match self.solver {
            #[cfg(feature = "microlp")]
            IlpSolver::MicroLp => "ilp".to_owned(),
            #[cfg(feature = "highs")]
            IlpSolver::Highs => "ilp-highs".to_owned(),
            #[cfg(feature = "coin_cbc")]
            IlpSolver::Cbc => "ilp-cbc".to_owned(),
        }
    }

    fn params(&self) -> BTreeMap<String, String> {
        let mut params = BTreeMap::from([
            ("solver".to_owned(), format!("{:?}", self.solver)),
            ("warm_start".to_owned(), self.warm_start.name()),
            ("max_pairs".to_owned(), self.max_pairs.to_string()),
            ("symmetry_breaking".to_owned(), self.symmetry_breaking.to_string()),
            ("section_cuts".to_owned(), self.section_cuts.to_string()),
            ("decide_at_floor".to_owned(), self.decide_at_floor.to_string()),
        ]);
        if let Some(run) = self.last_run() {
            let mut put = |k: &str, v: String| {
                params.insert(k.to_owned(), v);
            };
            put("solver_parts", run.solver_parts.to_string());
            put("proven_parts", run.proven_parts.to_string());
            put("skipped_parts", run.skipped_parts.to_string());
            put("models", run.models.to_string());
            put("floor_fits", run.floor_fits.to_string());
            put("floor_infeasible", run.floor_infeasible.to_string());
            put("solver_failures", run.failures.to_string());
            put("largest_model_variables", run.largest_model.variables.to_string());
            put("largest_model_binaries", run.largest_model.binaries.to_string());
            put("largest_model_rows", run.largest_model.rows.to_string());
            put("solver_seconds", format!("{:.3}", run.solver_seconds));
            put("proven_bound_bytes", run.lower_bound_bytes.to_string());
            if let Some(reason) = run.skip_reason {
                put("skip_reason", reason);
            }
            if let Some(reason) = run.failure_reason {
                put("failure_reason", reason);
            }
        }
        params
    }

    fn pack(&self, problem: &BufferProblem, limits: &PackLimits) -> Result<Packing, PackError> {
        let original_capacity = problem.capacity;
        let canonical = canonicalize(problem);
        let problem = &canonical.problem;
        let deadline = limits.deadline();
        let result = self.warm_start.pack(&without_capacity(problem), limits);
        let warm = match result {
            Ok(warm) => warm,
            Err(e) => return Err(canonical.error_back(e, original_capacity)),
        };
        let mut run = IlpRun::default();
        let (offsets, lower_bound) =
            solve_by_parts(problem, &warm.offsets, deadline, |part, target, start, deadline| {
                self.solve_part(&mut run, part, target, start, deadline)
            });
        // Without the solver on any part that needed it, the answer is the warm start's: a heuristic.
        let status = if run.solver_parts == 0 && run.skipped_parts > 0 { Status::Heuristic } else { Status::Feasible };
        run.lower_bound_bytes = lower_bound.max(problem.lower_bound()).saturating_mul(canonical.unit);
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(run);
        match finish(&self.name(), problem, offsets, status, lower_bound) {
            Ok(packing) => Ok(canonical.packing_back(packing)),
            Err(e) => Err(canonical.error_back(e, original_capacity)),
        }
    }
}
