//! The planning half of arenaplan: read a `.tflite` model, build its graph, lower it to a buffer problem,
//! represent and validate plans, and define the interfaces every strategy implements.
//!
//! The data flow is one way: bytes -> [`Graph`] -> [`BufferProblem`] -> [`Plan`] -> program -> arena.
#![warn(missing_docs)]

pub mod check;
pub mod cost;
pub mod export;
pub mod graph;
pub mod limits;
pub mod lowering;
pub mod minimalloc_csv;
pub mod plan;
pub mod problem;
pub mod program;
pub mod request;
pub mod segments;
pub mod strategy;
pub mod tflite;
pub mod validate;

pub use check::{check_plan, CheckError, CheckedPlan};
pub use graph::{Graph, GraphError, OpId, TensorId};
pub use lowering::{lower, lower_for_estimates, Lowering, LoweringError};
pub use plan::{KernelVariant, Plan, PlanMeta, Status, PLAN_SCHEMA_VERSION};
pub use problem::{live_profile_with_overlaps, lower_bound_with_overlaps, OverlapAllowance};
pub use problem::{Buffer, BufferId, BufferOrigin, BufferProblem};
pub use request::{Objective, PlanRequest};
pub use strategy::{
    pack_checked, pack_checked_within, PackError, PackLimits, Packer, PackerStrategy, Packing, Strategy, StrategyError,
};
pub use validate::{validate, validate_offsets, ValidationError};
pub use validate::{validate_allowing, validate_offsets_allowing};

/// Every error the planner crate can return, for callers that do not need to tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model file could not be read.
    #[error(transparent)]
    Read(#[from] tflite::ReadError),
    /// The model's graph is not a valid dataflow graph.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The graph could not be lowered.
    #[error(transparent)]
    Lowering(#[from] LoweringError),
    /// A strategy failed.
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    /// A plan is invalid.
    #[error(transparent)]
    Validation(#[from] ValidationError),
}
