//! The registry: every packer and strategy with its default settings, by name. A plain function, no
//! link-time registration.

use arenaplan_planner::{Packer, PackerStrategy, Strategy};

use crate::greedy::GreedyPacker;

/// Every packer, with default settings, in a stable order (the TFLM baseline first).
pub fn packers() -> Vec<Box<dyn Packer>> {
    vec![Box::new(GreedyPacker::tflm())]
}

/// Names of every packer in [`packers()`] order.
pub fn packer_names() -> Vec<String> {
    packers().iter().map(|p| p.name()).collect()
}

/// The packer registered under `name`.
pub fn packer_by_name(name: &str) -> Option<Box<dyn Packer>> {
    packers().into_iter().find(|p| p.name() == name)
}

/// Every strategy, with default settings; packers run on the graph's own operator order.
pub fn registry() -> Vec<Box<dyn Strategy>> {
    packers().into_iter().map(|packer| Box::new(PackerStrategy { packer }) as Box<dyn Strategy>).collect()
}

/// The strategy registered under `name`.
pub fn strategy_by_name(name: &str) -> Option<Box<dyn Strategy>> {
    registry().into_iter().find(|s| s.name() == name)
}
