//! arenaplan plans the RAM of int8 neural networks for microcontrollers, and runs them inside its plans.
//!
//! This facade re-exports the crates users need: [`planner`] (TFLite reader, graph IR, buffer problems,
//! plans, validator), [`strategies`] (the interchangeable planners), [`kernels`] (the `no_std` int8 kernels
//! and program interpreter firmware links) and [`datasets`] (the model zoo).
#![warn(missing_docs)]

pub use arenaplan_datasets as datasets;
pub use arenaplan_kernels as kernels;
pub use arenaplan_planner as planner;
pub use arenaplan_strategies as strategies;
