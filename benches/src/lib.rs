//! Shared helpers of arenaplan's criterion benches and of the `report` binary.
#![warn(missing_docs)]

pub mod cortex_m;
pub mod execution;
pub mod fused;
pub mod host;
pub mod memory_behaviours;
pub mod models;
pub mod pareto;
pub mod readme;
pub mod strategies;
