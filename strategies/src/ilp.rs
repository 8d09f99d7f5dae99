//! `ilp`: the allocation problem as a mixed-integer program (as in OLLA, 2022), solved with good_lp.
//!
//! Per part of the temporal decomposition ([`crate::decompose`]), in units of the gcd of sizes and alignments:
//! an integer offset per buffer (a multiple of its alignment), one binary per pair of buffers alive at a common
//! step choosing "below" or "above" through big-M constraints (M = the warm start's arena), and the arena `A`
//! to minimise, with `A >= ` every buffer's end, `A >=` the running lower bound and `A <=` the warm start's
//! arena (a cut-off). Symmetry breaking: identical buffers (same size, lifetime and alignment) are ordered by
//! index, and when no alignment exceeds the unit, one pair is oriented (a packing mirrored upside down is a
//! packing of the same arena). The warm start (by default `hill-climb` from `best-of`) is passed to the solver
//! as its initial solution, and kept whenever the solver fails, times out or returns something not better: the
//! ILP is never worse than its warm start. [`Status::Optimal`] is claimed only when the solver proved every
//! part it had to solve.
//!
//! Honest about what it did: the problem is made canonical first ([`crate::canonical`]); a part with more
//! time-overlapping pairs than `max_pairs` (or numbers beyond what the solvers take exactly) is not given to the
//! solver, at no cost in time, and the answer then says so: status [`Status::Heuristic`] when the solver ran
//! on no part that needed it, and the parameters of the last run (`solver_parts`, `skipped_parts`,
//! `skip_reason`, see [`IlpRun`]) count what was solved and what was skipped, and why.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::{BufferProblem, PackError, PackLimits, Packer, Packing, Status};
use good_lp::{
    constraint, variable, Expression, ProblemVariables, ResolutionError, Solution, SolutionStatus, SolverModel,
    Variable, WithInitialSolution, WithTimeLimit,
};

use crate::canonical::pack_canonical;
use crate::common::{finish, unit_of, without_capacity};
use crate::decompose::{solve_by_parts, PartResult};
use crate::hill_climb::HillClimb;

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
}

/// The ILP packer.
pub struct IlpPacker {
    /// The solver.
    pub solver: IlpSolver,
    /// The packer whose result is the warm start and cut-off.
    pub warm_start: Box<dyn Packer>,
    /// Parts with more time-overlapping pairs than this are not given to the solver (their warm start is kept).
    pub max_pairs: usize,
    /// Order identical buffers and orient one pair.
    pub symmetry_breaking: bool,
    last: Mutex<Option<IlpRun>>,
}

/// What the last run of an [`IlpPacker`] did with the parts that needed the solver (those whose warm start was
/// above the running lower bound).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IlpRun {
    /// Parts given to the solver.
    pub solver_parts: usize,
    /// Of which the solver proved optimal.
    pub proven_parts: usize,
    /// Parts not given to the solver (their warm start kept).
    pub skipped_parts: usize,
    /// Why the last skipped part was skipped, e.g. `5120 pairs > max_pairs 2000`.
    pub skip_reason: Option<String>,
}

impl IlpPacker {
    /// The ILP with `solver`, warm-started from `hill-climb`, at most 2,000 pairs per part, symmetry breaking on.
    pub fn new(solver: IlpSolver) -> Self {
        IlpPacker {
            solver,
            warm_start: Box::new(HillClimb::default()),
            max_pairs: 2_000,
            symmetry_breaking: true,
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
}

/// The MILP of one part, ready for any good_lp solver.
struct Model {
    vars: ProblemVariables,
    offsets: Vec<Variable>,
    arena: Variable,
    constraints: Vec<good_lp::Constraint>,
    initial: Vec<(Variable, f64)>,
    /// Alignment of each buffer, in units.
    steps: Vec<u64>,
    unit: u64,
    /// The `A >=` bound, in units.
    floor_units: u64,
}

/// Build the MILP of `part` with the arena between `target` and the start arena. An error saying why when the
/// part has more pairs than `max_pairs` or numbers beyond what the solvers take exactly.
fn build(part: &BufferProblem, target: u64, start: &[u64], max_pairs: usize, symmetry: bool) -> Result<Model, String> {
    let b = &part.buffers;
    let n = b.len();
    let pairs = part.time_conflicts();
    if pairs.len() > max_pairs {
        return Err(format!("{} pairs > max_pairs {max_pairs}", pairs.len()));
    }
    let unit = unit_of(part, 0..n);
    let ub = arena_bytes_of(part, start) / unit;
    if ub >= i32::MAX as u64 / 2 {
        return Err(format!("arena of {ub} units beyond the solvers' exact integers"));
    }
    let floor_units = target.div_ceil(unit).max(part.lower_bound() / unit).min(ub);
    let size: Vec<u64> = b.iter().map(|x| x.size_bytes / unit).collect();
    let steps: Vec<u64> = b.iter().map(|x| (x.align_bytes.max(1) / unit).max(1)).collect();

    let mut vars = ProblemVariables::new();
    let offsets: Vec<Variable> =
        (0..n).map(|i| vars.add(variable().integer().min(0).max(((ub - size[i]) / steps[i]) as f64))).collect();
    let arena = vars.add(variable().min(floor_units as f64).max(ub as f64));
    let at = |i: usize| -> Expression { (steps[i] as f64) * offsets[i] };
    let identical =
        |i: usize, j: usize| b[i].size_bytes == b[j].size_bytes && b[i].live == b[j].live && steps[i] == steps[j];
    let singleton: Vec<bool> = (0..n).map(|i| !(0..n).any(|j| j != i && identical(i, j))).collect();
    // The pair to orient against mirror symmetry: the two largest singletons alive together.
    let mirror_ok = symmetry && steps.iter().all(|&s| s == 1);
    let oriented = if mirror_ok {
        pairs
            .iter()
            .filter(|&&(i, j)| singleton[i] && singleton[j])
            .max_by_key(|&&(i, j)| (size[i] + size[j], std::cmp::Reverse((i, j))))
            .copied()
    } else {
        None
    };
    // The warm start, in units, made to satisfy the symmetry breaking: mirrored when the oriented pair is upside
    // down, then identical buffers given their class's offsets in index order.
    let mut warm: Vec<u64> = start.iter().map(|&o| o / unit).collect();
    if let Some((i, j)) = oriented {
        if warm[j] < warm[i] {
            for k in 0..n {
                warm[k] = ub - warm[k] - size[k];
            }
        }
    }
    if symmetry {
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
    let mut constraints = Vec::new();
    let mut initial: Vec<(Variable, f64)> = Vec::new();
    for i in 0..n {
        constraints.push(constraint!(at(i) + size[i] as f64 <= arena));
        initial.push((offsets[i], (warm[i] / steps[i]) as f64));
    }
    initial.push((arena, ub as f64));
    let big_m = ub as f64;
    for &(i, j) in &pairs {
        let i_below_j = warm[i] < warm[j];
        if symmetry && identical(i, j) {
            constraints.push(constraint!(at(i) + size[i] as f64 <= at(j)));
            continue;
        }
        if oriented == Some((i, j)) {
            constraints.push(constraint!(at(i) + size[i] as f64 <= at(j)));
            continue;
        }
        // below = 1: i lies below j.
        let below = vars.add(variable().binary());
        constraints.push(constraint!(at(i) + size[i] as f64 <= at(j) + big_m - big_m * below));
        constraints.push(constraint!(at(j) + size[j] as f64 <= at(i) + big_m * below));
        initial.push((below, if i_below_j { 1.0 } else { 0.0 }));
    }
    Ok(Model { vars, offsets, arena, constraints, initial, steps, unit, floor_units })
}

/// Solve a model with any good_lp solver that takes a time limit and an initial solution; read back `read`.
fn run<M>(
    model: M,
    constraints: Vec<good_lp::Constraint>,
    initial: Vec<(Variable, f64)>,
    seconds: f64,
    read: &[Variable],
) -> Outcome
where
    M: SolverModel<Error = ResolutionError> + WithTimeLimit + WithInitialSolution,
{
    let mut model = model.with_time_limit(seconds).with_initial_solution(initial);
    for c in constraints {
        model.add_constraint(c);
    }
    match model.solve() {
        Ok(solution) => Outcome::Solved {
            proven: matches!(solution.status(), SolutionStatus::Optimal),
            values: read.iter().map(|&v| solution.value(v)).collect(),
        },
        Err(_) => Outcome::Failed,
    }
}

/// What the solver returned.
enum Outcome {
    /// Values of the variables asked for, and whether the solver proved them optimal.
    Solved { proven: bool, values: Vec<f64> },
    /// An error or a time limit before any solution.
    Failed,
}

impl IlpPacker {
    fn solve_part(
        &self,
        stats: &mut IlpRun,
        part: &BufferProblem,
        target: u64,
        start: &[u64],
        deadline: Instant,
    ) -> PartResult {
        let keep = PartResult { offsets: None, lower_bound_bytes: target };
        let m = match build(part, target, start, self.max_pairs, self.symmetry_breaking) {
            Ok(m) => m,
            Err(reason) => {
                stats.skipped_parts += 1;
                stats.skip_reason = Some(reason);
                return keep;
            }
        };
        let seconds = deadline.saturating_duration_since(Instant::now()).as_secs_f64();
        if seconds <= 0.0 {
            stats.skipped_parts += 1;
            stats.skip_reason = Some("time limit reached before the part".to_owned());
            return keep;
        }
        stats.solver_parts += 1;
        let Model { vars, offsets, arena, constraints, initial, steps, unit, floor_units } = m;
        let problem = vars.minimise(arena);
        let mut read = offsets.clone();
        read.push(arena);
        let outcome = match self.solver {
            #[cfg(feature = "microlp")]
            IlpSolver::MicroLp => run(problem.using(good_lp::microlp), constraints, initial, seconds, &read),
            #[cfg(feature = "highs")]
            IlpSolver::Highs => {
                let model = problem.using(good_lp::highs).set_threads(1);
                run(model, constraints, initial, seconds, &read)
            }
            #[cfg(feature = "coin_cbc")]
            IlpSolver::Cbc => run(problem.using(good_lp::coin_cbc), constraints, initial, seconds, &read),
        };
        let Outcome::Solved { proven, values } = outcome else { return keep };
        if proven {
            stats.proven_parts += 1;
        }
        let n = offsets.len();
        let found: Vec<u64> =
            (0..n).map(|i| (values[i].round().max(0.0) as u64).saturating_mul(steps[i]).saturating_mul(unit)).collect();
        let arena_units = values[n].round().max(0.0) as u64;
        let found_arena = arena_bytes_of(part, &found);
        // The solver proved min max(A_floor, optimum) = arena_units. When that is above the floor, it is the
        // part's optimum; at the floor, the part fits under it and the shared bound does not move.
        let lower_bound_bytes =
            if proven && arena_units > floor_units && found_arena == arena_units * unit { found_arena } else { target };
        PartResult { offsets: Some(found), lower_bound_bytes }
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
        ]);
        if let Some(run) = self.last_run() {
            params.insert("solver_parts".to_owned(), run.solver_parts.to_string());
            params.insert("proven_parts".to_owned(), run.proven_parts.to_string());
            params.insert("skipped_parts".to_owned(), run.skipped_parts.to_string());
            if let Some(reason) = run.skip_reason {
                params.insert("skip_reason".to_owned(), reason);
            }
        }
        params
    }

    fn pack(&self, problem: &BufferProblem, limits: &PackLimits) -> Result<Packing, PackError> {
        pack_canonical(problem, |problem| {
            let deadline = limits.deadline();
            let warm = self.warm_start.pack(&without_capacity(problem), limits)?;
            let mut run = IlpRun::default();
            let (offsets, lower_bound) =
                solve_by_parts(problem, &warm.offsets, deadline, |part, target, start, deadline| {
                    self.solve_part(&mut run, part, target, start, deadline)
                });
            // Without the solver on any part that needed it, the answer is the warm start's: a heuristic.
            let status =
                if run.solver_parts == 0 && run.skipped_parts > 0 { Status::Heuristic } else { Status::Feasible };
            *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(run);
            finish(&self.name(), problem, offsets, status, lower_bound)
        })
    }
}
