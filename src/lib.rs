//! arenaplan plans the RAM of int8 neural networks for microcontrollers, and runs them inside its plans.
//!
//! This facade re-exports the crates users need: [`planner`] (TFLite reader, graph IR, buffer problems,
//! plans, validator, exports), [`strategies`] (the interchangeable planners), [`kernels`] (the `no_std` int8
//! kernels and program interpreter firmware links) and [`datasets`] (the model zoo).
//!
//! Plan a zoo model with TFLM's own planner and with the exact search, and check both plans independently:
//!
//! ```
//! use arenaplan::planner::{lower, validate, Graph, PlanRequest};
//! use arenaplan::strategies::strategy_by_name;
//!
//! let bytes = arenaplan::datasets::model_bytes("mobilenet_v1_025_96").unwrap();
//! let graph = Graph::from_bytes(&bytes).unwrap();
//! let request = PlanRequest::default();
//! let problem = lower(&graph, &graph.default_schedule(), &request).unwrap().problem;
//!
//! let tflm = strategy_by_name("greedy-by-size").unwrap().plan(&graph, &request).unwrap();
//! let exact = strategy_by_name("exact").unwrap().plan(&graph, &request).unwrap();
//! validate(&problem, &tflm).unwrap();
//! validate(&problem, &exact).unwrap();
//! assert!(exact.arena_bytes <= tflm.arena_bytes);
//! assert!(exact.arena_bytes >= problem.lower_bound());
//! ```
#![warn(missing_docs)]

pub mod board;

pub use arenaplan_datasets as datasets;
pub use arenaplan_kernels as kernels;
pub use arenaplan_planner as planner;
pub use arenaplan_strategies as strategies;
