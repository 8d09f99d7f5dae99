//! One check for every use of a plan: [`check_plan`] re-lowers the model with the plan's own schedule and
//! request, compares the plan's kernel variants and capacity with that re-lowering, and runs the independent
//! validator. The CLI (after every strategy), the program compiler ([`crate::program::compile`]) and every
//! export ([`crate::export`]) call it, so a model is lowered and validated once per use, the same way
//! everywhere.
//!
//! A plan read from a file (a JSON document) also carries claims about itself: its status, lower bound and
//! strategy. [`check_claims`] recomputes them from the checked problem and refuses a plan whose claims differ,
//! naming the claim. A lower bound above the peak of live bytes, or an `optimal` status on an arena above
//! it, is a claim only a proof can back: it is re-proven by a [`ClaimVerifier`] (the CLI's runs the exact
//! search at one byte less) or refused.

use crate::graph::{Graph, OpId};
use crate::lowering::{lower, Lowering, LoweringError};
use crate::plan::{KernelVariant, Plan, Status};
use crate::problem::{lower_bound_with_overlaps, BufferId, BufferProblem, OverlapAllowance};
use crate::request::PlanRequest;
use crate::validate::{validate_allowing, ValidationError};

/// Why a plan does not hold for a model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The plan's schedule or request cannot be lowered on this graph (it belongs to another model?).
    #[error("the plan's schedule or request cannot be lowered on this model: {0}")]
    Lowering(#[from] LoweringError),
    /// The plan lists another number of kernel variants than it schedules operators.
    #[error("the plan lists {found} kernel variants for {expected} scheduled operators")]
    KernelCount {
        /// Scheduled operators.
        expected: usize,
        /// Kernel variants in the plan.
        found: usize,
    },
    /// A kernel variant differs from the one the plan's request gives the operator.
    #[error(
        "the plan's kernel variant at step {step} (operator {op}) is `{}`, but its request gives `{}`",
        found.name(),
        expected.name()
    )]
    KernelVariant {
        /// Position in the schedule.
        step: usize,
        /// Operator index.
        op: u32,
        /// What the re-lowering gives.
        expected: KernelVariant,
        /// What the plan says.
        found: KernelVariant,
    },
    /// The independent validator refused the plan against the re-lowered problem.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A claim the plan makes about itself differs from what the check recomputes.
    #[error("the plan claims {claim} = {claimed}, but {found}")]
    Claim {
        /// Which claim (the field name of the plan document).
        claim: &'static str,
        /// What the plan claims.
        claimed: String,
        /// What the check found instead, in words.
        found: String,
    },
}

/// A plan that holds for its model: the re-lowering it was checked against.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedPlan {
    /// The model re-lowered with the plan's schedule and request: the schedule, the kernel variants (equal to
    /// the plan's) and the buffer problem the plan solves.
    pub lowering: Lowering,
    /// The lower bound of the plan's kind of placement: the peak of live bytes of that problem when every
    /// buffer is disjoint from every buffer alive with it; when the plan uses an overlap the kernels allow
    /// ([`CheckedPlan::uses_overlaps`]), the bound with those overlaps ([`lower_bound_with_overlaps`]).
    pub load_bytes: u64,
    /// Whether the plan places some output over an input, as the lowering's overlap allowances permit (such a
    /// plan runs only on this crate's interpreter; TFLM cannot express it).
    pub uses_overlaps: bool,
}

impl CheckedPlan {
    /// The buffer problem the plan solves.
    pub fn problem(&self) -> &BufferProblem {
        &self.lowering.problem
    }

    /// The schedule as operator ids.
    pub fn schedule(&self) -> Vec<OpId> {
        self.lowering.schedule.iter().map(|&op| OpId(op)).collect()
    }
}

/// Check `plan` against `graph`: re-lower the graph with the plan's schedule and request, require the plan's
/// kernel variants and capacity to equal the re-lowering's, and run the independent validator (buffers equal,
/// offsets aligned, no overlap but those the re-lowering's overlap allowances permit, arena exactly
/// `max(offset + size)`, within the capacity). Returns the re-lowering.
pub fn check_plan(graph: &Graph<'_>, plan: &Plan) -> Result<CheckedPlan, CheckError> {
    let schedule: Vec<OpId> = plan.schedule.iter().map(|&op| OpId(op)).collect();
    let lowering = lower(graph, &schedule, &plan.meta.request)?;
    if plan.kernels.len() != lowering.kernels.len() {
        return Err(CheckError::KernelCount { expected: lowering.kernels.len(), found: plan.kernels.len() });
    }
    if let Some(step) = (0..plan.kernels.len()).find(|&i| plan.kernels[i] != lowering.kernels[i]) {
        return Err(CheckError::KernelVariant {
            step,
            op: lowering.schedule[step],
            expected: lowering.kernels[step],
            found: plan.kernels[step],
        });
    }
    if plan.problem.capacity != lowering.problem.capacity {
        let show = |c: Option<u64>| c.map_or_else(|| "none".to_owned(), |c| c.to_string());
        return Err(CheckError::Claim {
            claim: "capacity_bytes",
            claimed: show(plan.problem.capacity),
            found: format!("the plan's request sets {}", show(lowering.problem.capacity)),
        });
    }
    validate_allowing(&lowering.problem, &lowering.overlap_allowances, plan)?;
    let uses_overlaps = uses_overlaps(&lowering.problem, &lowering.overlap_allowances, &plan.offsets);
    let load_bytes = if uses_overlaps {
        lower_bound_with_overlaps(&lowering.problem, &lowering.overlap_allowances)
    } else {
        lowering.problem.lower_bound()
    };
    Ok(CheckedPlan { lowering, load_bytes, uses_overlaps })
}

/// Whether `offsets` make some pair of `allowances` share bytes (both buffers non-empty, their byte ranges
/// intersecting).
pub fn uses_overlaps(problem: &BufferProblem, allowances: &[OverlapAllowance], offsets: &[u64]) -> bool {
    allowances.iter().any(|a| {
        let range = |id: BufferId| {
            let b = problem.buffers.get(id.0 as usize)?;
            let start = *offsets.get(id.0 as usize)? as u128;
            Some(start..start + b.size_bytes as u128)
        };
        match (range(a.input), range(a.output)) {
            (Some(i), Some(o)) => !i.is_empty() && !o.is_empty() && i.start < o.end && o.start < i.end,
            _ => false,
        }
    })
}

/// What [`check_claims`] needs from outside the planner crate: the registry of strategies, and a way to prove
/// that a problem has no packing within a capacity.
pub trait ClaimVerifier {
    /// Whether `strategy` is a registered strategy name.
    fn is_registered(&self, strategy: &str) -> bool;
    /// `true` only when it is proven that no packing of `problem` fits in `capacity` bytes (within the
    /// request's time limit); `false` when it could not be proven.
    fn proves_no_fit(&self, problem: &BufferProblem, capacity: u64, request: &PlanRequest) -> bool;
}

/// A [`ClaimVerifier`] that knows a list of strategy names and proves nothing: a lower bound above the peak of
/// live bytes, or an `optimal` status above it, is refused.
#[derive(Debug, Clone, Default)]
pub struct KnownStrategies(pub Vec<String>);

impl ClaimVerifier for KnownStrategies {
    fn is_registered(&self, strategy: &str) -> bool {
        self.0.iter().any(|s| s == strategy)
    }

    fn proves_no_fit(&self, _problem: &BufferProblem, _capacity: u64, _request: &PlanRequest) -> bool {
        false
    }
}

/// The claims of a plan, as recomputed by [`check_claims`] (every one equal to the plan's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedClaims {
    /// The strategy name, and whether it is registered (an unregistered name is printed as such).
    pub strategy: String,
    /// Whether [`VerifiedClaims::strategy`] is a registered strategy.
    pub strategy_registered: bool,
    /// The status: `optimal` exactly when the arena equals a proven lower bound.
    pub status: Status,
    /// The lower bound: the peak of live bytes, or a higher bound re-proven by the verifier.
    pub lower_bound_bytes: u64,
    /// Whether the lower bound (or the optimality) needed a proof beyond the peak of live bytes.
    pub reproven: bool,
    /// The arena the offsets need.
    pub arena_bytes: u64,
    /// The capacity (from the request).
    pub capacity_bytes: Option<u64>,
}

/// Recompute the claims a checked plan makes about itself (status, lower bound, strategy, estimated cycles) and
/// refuse the plan when one differs, naming it.
///
/// - `lower_bound_bytes` must lie between the peak of live bytes and the arena; above the peak it must be
///   re-proven (no packing in one byte less).
/// - `status` is `optimal` exactly when the arena equals the lower bound, or when the verifier proves that
///   no packing fits in one byte less than the arena; otherwise `heuristic` or `feasible` (both: no claim).
/// - `estimated_cycles` must be absent: no strategy of this arenaplan estimates cycles yet.
/// - an unregistered strategy name is reported ([`VerifiedClaims::strategy_registered`]), not refused, so a
///   plan made by a strategy outside the registry can still be checked.
pub fn check_claims(
    checked: &CheckedPlan,
    plan: &Plan,
    verifier: &dyn ClaimVerifier,
) -> Result<VerifiedClaims, CheckError> {
    let meta = &plan.meta;
    let (load, arena) = (checked.load_bytes, plan.arena_bytes);
    let problem = checked.problem();
    let claimed_bound = meta.lower_bound_bytes;
    let mut reproven = false;
    if claimed_bound < load {
        return Err(CheckError::Claim {
            claim: "lower_bound_bytes",
            claimed: claimed_bound.to_string(),
            found: format!("the peak of live bytes, which no placement can beat, is {load}"),
        });
    }
    if claimed_bound > arena {
        return Err(CheckError::Claim {
            claim: "lower_bound_bytes",
            claimed: claimed_bound.to_string(),
            found: format!("the plan itself needs only {arena} bytes"),
        });
    }
    if claimed_bound > load {
        if !verifier.proves_no_fit(problem, claimed_bound - 1, &meta.request) {
            return Err(CheckError::Claim {
                claim: "lower_bound_bytes",
                claimed: claimed_bound.to_string(),
                found: format!(
                    "the peak of live bytes is {load} and no packing in {} bytes could be ruled out",
                    claimed_bound - 1
                ),
            });
        }
        reproven = true;
    }
    let status = if arena == claimed_bound {
        Status::Optimal
    } else if meta.status == Status::Optimal {
        if !verifier.proves_no_fit(problem, arena - 1, &meta.request) {
            return Err(CheckError::Claim {
                claim: "status",
                claimed: "optimal".to_owned(),
                found: format!(
                    "the arena of {arena} bytes is above the lower bound of {claimed_bound} and no packing in {} \
                     bytes could be ruled out",
                    arena - 1
                ),
            });
        }
        reproven = true;
        Status::Optimal
    } else {
        meta.status
    };
    if status != meta.status {
        return Err(CheckError::Claim {
            claim: "status",
            claimed: status_name(meta.status).to_owned(),
            found: format!("the arena equals the lower bound of {claimed_bound} bytes, so the plan is optimal"),
        });
    }
    if let Some(cycles) = meta.estimated_cycles {
        return Err(CheckError::Claim {
            claim: "estimated_cycles",
            claimed: cycles.to_string(),
            found: "no strategy of this arenaplan estimates cycles, so the figure cannot be recomputed".to_owned(),
        });
    }
    Ok(VerifiedClaims {
        strategy: meta.strategy.clone(),
        strategy_registered: verifier.is_registered(&meta.strategy),
        status,
        lower_bound_bytes: claimed_bound,
        reproven,
        arena_bytes: arena,
        capacity_bytes: problem.capacity,
    })
}

/// The name of a status, as in plan documents.
pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Optimal => "optimal",
        Status::Feasible => "feasible",
        Status::Heuristic => "heuristic",
    }
}

impl From<CheckError> for crate::program::CompileError {
    fn from(e: CheckError) -> Self {
        match e {
            CheckError::Invalid(v) => crate::program::CompileError::Invalid(v),
            other => crate::program::CompileError::Lowering(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_match_the_serialised_form() {
        for status in [Status::Optimal, Status::Feasible, Status::Heuristic] {
            assert_eq!(serde_json::to_string(&status).unwrap(), format!("\"{}\"", status_name(status)));
        }
    }
}
