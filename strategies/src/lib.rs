//! arenaplan's interchangeable memory planners, all behind the planner crate's [`Packer`] and [`Strategy`]
//! traits, and [`registry()`], the plain list of them with default settings.
#![warn(missing_docs)]

pub mod greedy;
mod registry;

pub use greedy::{GreedyPacker, Order, Placement};
pub use registry::{packer_by_name, packer_names, registry, strategy_by_name};

pub use arenaplan_planner::{Packer, Strategy};
