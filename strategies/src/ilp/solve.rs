//! Running a built model with the solver of an [`IlpSolver`], and what came back.

use good_lp::{ResolutionError, Solution, SolutionStatus, SolverModel, WithInitialSolution, WithTimeLimit};

use super::model::Model;
use super::IlpSolver;

/// What the solver returned.
pub(super) enum Outcome {
    /// Offsets (the model's variables: each buffer's offset in multiples of its alignment, in units), and
    /// whether the solver proved them optimal.
    Solved { proven: bool, offsets: Vec<f64> },
    /// The solver proved the model has no solution.
    Infeasible,
    /// No solution: a time limit before any was found, or an error (the text says which).
    Failed(String),
}

/// Solve `model`, minimising its arena, within `seconds`.
pub(super) fn solve(solver: IlpSolver, model: Model, seconds: f64) -> Outcome {
    let Model { vars, offsets, arena, constraints, initial, .. } = model;
    let problem = vars.minimise(arena);
    match solver {
        #[cfg(feature = "microlp")]
        IlpSolver::MicroLp => run(problem.using(good_lp::microlp), constraints, initial, seconds, &offsets),
        #[cfg(feature = "highs")]
        IlpSolver::Highs => {
            // One thread (the machine is shared); a zero gap, so "optimal" means proven, not within 0.01%.
            let model = problem
                .using(good_lp::highs)
                .set_threads(1)
                .set_option("mip_rel_gap", 0.0)
                .set_option("mip_abs_gap", 0.0);
            run(model, constraints, initial, seconds, &offsets)
        }
        #[cfg(feature = "coin_cbc")]
        IlpSolver::Cbc => run(problem.using(good_lp::coin_cbc), constraints, initial, seconds, &offsets),
    }
}

fn run<M>(
    model: M,
    constraints: Vec<good_lp::Constraint>,
    initial: Option<Vec<(good_lp::Variable, f64)>>,
    seconds: f64,
    offsets: &[good_lp::Variable],
) -> Outcome
where
    M: SolverModel<Error = ResolutionError> + WithTimeLimit + WithInitialSolution,
{
    let mut model = model.with_time_limit(seconds);
    if let Some(initial) = initial {
        model = model.with_initial_solution(initial);
    }
    for c in constraints {
        model.add_constraint(c);
    }
    match model.solve() {
        Ok(solution) => Outcome::Solved {
            proven: matches!(solution.status(), SolutionStatus::Optimal),
            offsets: offsets.iter().map(|&v| solution.value(v)).collect(),
        },
        Err(ResolutionError::Infeasible) => Outcome::Infeasible,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}
