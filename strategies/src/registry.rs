//! The registry: every packer and strategy with its default settings, by name. A plain function, no
//! link-time registration.

use arenaplan_planner::{Packer, PackerStrategy, Strategy};

use crate::greedy::{GreedyPacker, Order, Placement};
use crate::{BestOf, Canonical, ExactPacker, Fused, HillClimb, MemoryOrder, Overlap};

/// Every packer, with default settings, in a stable order (the TFLM baseline first): `greedy-by-size`,
/// `greedy-by-size-best-fit`, `greedy-by-breadth`, `greedy-by-start`, `greedy-by-conflicts`, `best-of`,
/// `hill-climb`, then the ILPs compiled in (`ilp`, `ilp-highs`, `ilp-cbc`) and `exact`. Each runs on the canonical
/// form of its problem ([`crate::canonical`]): the greedy family, `best-of` and `hill-climb` through [`Canonical`],
/// `ilp` and `exact` by themselves.
pub fn packers() -> Vec<Box<dyn Packer>> {
    let mut list: Vec<Box<dyn Packer>> = vec![
        Box::new(Canonical(GreedyPacker::tflm())),
        Box::new(Canonical(GreedyPacker::new(Order::SizeDesc, Placement::BestFit))),
        Box::new(Canonical(GreedyPacker::new(Order::Breadth, Placement::FirstFit))),
        Box::new(Canonical(GreedyPacker::new(Order::StartTime, Placement::FirstFit))),
        Box::new(Canonical(GreedyPacker::new(Order::Conflicts, Placement::FirstFit))),
        Box::new(Canonical(BestOf::default())),
        Box::new(Canonical(HillClimb::default())),
    ];
    #[cfg(any(feature = "microlp", feature = "highs", feature = "coin_cbc"))]
    for solver in crate::IlpSolver::available() {
        list.push(Box::new(crate::IlpPacker::new(solver)));
    }
    list.push(Box::new(ExactPacker::default()));
    list
}

/// Names of every packer in [`packers()`] order.
pub fn packer_names() -> Vec<String> {
    packers().iter().map(|p| p.name()).collect()
}

/// The packer registered under `name`.
pub fn packer_by_name(name: &str) -> Option<Box<dyn Packer>> {
    packers().into_iter().find(|p| p.name() == name)
}

/// Every strategy, with default settings: each packer on the graph's own operator order. Every plan it makes
/// keeps the file's order and TFLM's kernels' memory behaviour, so TFLM can follow it (the `tflm` export).
pub fn registry() -> Vec<Box<dyn Strategy>> {
    packers().into_iter().map(|packer| Box::new(PackerStrategy { packer }) as Box<dyn Strategy>).collect()
}

/// Strategies whose plans only arenaplan's interpreter runs, kept out of [`registry()`] (so `all` and `best`
/// stay TFLM-expressible) but found by [`strategy_by_name`]: [`Overlap`] (`overlap`: outputs written over
/// inputs where the kernels allow it) and [`MemoryOrder`] (`memory-order+exact`: the operator order of lowest
/// peak, which TFLM, running operators in file order, cannot follow) and [`Fused`] (`fused`: chains of operators
/// row-streamed as fused segments, which only this crate's interpreter runs).
pub fn beyond_tflm() -> Vec<Box<dyn Strategy>> {
    vec![Box::new(Overlap::default()), Box::new(MemoryOrder::default()), Box::new(Fused)]
}

/// The strategy registered under `name` ([`registry()`], then [`beyond_tflm()`]).
pub fn strategy_by_name(name: &str) -> Option<Box<dyn Strategy>> {
    registry().into_iter().chain(beyond_tflm()).find(|s| s.name() == name)
}
