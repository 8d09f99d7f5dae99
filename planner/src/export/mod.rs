//! Exports: a validated [`Plan`] leaves arenaplan for firmware, for other tools, or as a picture.
//!
//! | format | function | what it is |
//! |---|---|---|
//! | TFLM | [`tflm::to_tflm`] | a copy of the `.tflite` with an `OfflineMemoryAllocation` metadata entry |
//! | C | [`c_header::to_c_header`] | a C99 header: arena size, offsets, lifetimes and the schedule |
//! | C program | [`c_program::to_c_program`] | C source and header for the C API: program blob, model bytes, I/O descriptors |
//! | program blob | [`program_blob::to_program_blob`] | the compiled program as one versioned byte string |
//! | JSON | [`json::to_json`] | the whole plan, versioned and self-describing; read back by [`json::from_json`] |
//! | Rust | [`rust::to_rust`] | a `no_std` module: the compiled program as `static`s, for the kernels interpreter |
//! | CSV | [`csv::to_csv`] | the MiniMalloc solution (`id,lower,upper,size,offset`) |
//! | SVG | [`svg::layout_svg`] | a picture of the layout: steps across, addresses up |
//!
//! Every export that takes a graph first checks the plan with [`check_plan`] (through [`checked_problem`]): the
//! graph is re-lowered with the plan's schedule and request and the independent validator runs on the plan; a
//! plan that overlaps, that lies about its arena or kernels or that does not match its model is refused
//! ([`ExportError::Invalid`], [`ExportError::Lowering`] or [`ExportError::Check`]), and nothing is produced.

pub mod c_header;
pub mod c_program;
pub mod csv;
pub mod json;
pub mod pareto_svg;
pub mod program_blob;
pub mod rust;
pub mod svg;
pub mod tflm;
pub mod tflm_arena;

use crate::check::{check_plan, CheckError};
use crate::graph::Graph;
use crate::lowering::LoweringError;
use crate::plan::Plan;
use crate::problem::BufferProblem;
use crate::validate::ValidationError;

/// Why a plan could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The plan's schedule or request cannot be lowered on this graph (it belongs to another model?). (The
    /// lowering error is the error's [`source`](std::error::Error::source).)
    #[error("the plan does not fit this model")]
    Lowering(#[from] LoweringError),
    /// The independent validator refused the plan; nothing was exported. (The validator's finding is the
    /// error's [`source`](std::error::Error::source).)
    #[error("the independent validator refused the plan")]
    Invalid(#[from] ValidationError),
    /// The plan's kernel variants, capacity or claims about itself differ from what the check recomputes.
    #[error(transparent)]
    Check(CheckError),
    /// The model file cannot carry an offline plan (see the message).
    #[error("cannot write a TFLM offline plan into this model: {0}")]
    Tflm(String),
    /// The plan cannot be expressed in the requested format (see the message).
    #[error("cannot express this plan in the {format} format: {reason}")]
    Unsupported {
        /// The format.
        format: &'static str,
        /// Why not.
        reason: String,
    },
    /// A plan document names another model (by SHA-256) than the one it is checked against.
    #[error("the plan was made for model `{name}` with SHA-256 {expected}, but this model's is {found}")]
    WrongModel {
        /// The model name the document gives.
        name: String,
        /// The SHA-256 the document gives.
        expected: String,
        /// The SHA-256 of the model at hand.
        found: String,
    },
    /// A JSON plan document is malformed or inconsistent.
    #[error("malformed plan document: {0}")]
    Document(String),
}

impl From<CheckError> for ExportError {
    fn from(e: CheckError) -> Self {
        match e {
            CheckError::Lowering(e) => ExportError::Lowering(e),
            CheckError::Invalid(e) => ExportError::Invalid(e),
            other => ExportError::Check(other),
        }
    }
}

/// Check the plan against `graph` with [`check_plan`] and return the problem it solves. Every export that sees
/// a graph calls this first.
pub fn checked_problem(graph: &Graph<'_>, plan: &Plan) -> Result<BufferProblem, ExportError> {
    Ok(check_plan(graph, plan)?.lowering.problem)
}

/// Refuse, for `format`, a plan that reads its model input row by row: only the host interpreter's
/// `arenaplan_kernels::run_streaming` feeds such a program today, and the exported firmware APIs take the input
/// whole.
pub(crate) fn refuse_streamed_input(
    checked: &crate::check::CheckedPlan,
    format: &'static str,
) -> Result<(), ExportError> {
    if checked.lowering.segments.iter().any(|s| s.streamed_input.is_some()) {
        return Err(ExportError::Unsupported {
            format,
            reason: "the plan reads the model input row by row (`stream_input`), which only the host interpreter's \
                     `run_streaming` feeds; plan without `stream_input` to export it"
                .to_owned(),
        });
    }
    Ok(())
}
