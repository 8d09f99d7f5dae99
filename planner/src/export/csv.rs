//! The CSV export: the plan as a MiniMalloc solution (`id,lower,upper,size[,alignment],offset`), which
//! MiniMalloc's own tools and `arenaplan pack` read.

use crate::graph::Graph;
use crate::minimalloc_csv::write_csv;
use crate::plan::Plan;

use super::{checked_problem, ExportError};

/// Export `plan` as a MiniMalloc solution CSV. The plan is validated against a fresh lowering of `graph` first.
pub fn to_csv(graph: &Graph<'_>, plan: &Plan) -> Result<String, ExportError> {
    checked_problem(graph, plan)?;
    Ok(write_csv(&plan.problem, Some(&plan.offsets)))
}
