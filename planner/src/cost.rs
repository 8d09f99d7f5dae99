//! The cost model of the latency-RAM tradeoff: estimated cycles of a plan on a Cortex-M core, from a cost table
//! kept as data.
//!
//! The table (`datasets/cost/cortex-m.json`, fitted by the report from exact instruction counts on the emulated
//! boards) gives, per core, kernel variant and cost class, the cycles of one step as
//! `a + per_mac * MACs + per_output_byte * output bytes`. A plan is compiled to its program and each step is
//! estimated from its entry. Every estimate says how it was made: steps whose class the table lacks get a
//! labelled fallback (the median per-MAC and per-output-byte rates of the core and variant's entries), and a
//! fit that goes below one cycle per output byte on a small layer (some fits have large negative intercepts) is
//! clamped there and counted.

use serde::{Deserialize, Serialize};

use arenaplan_kernels::program::{KernelId, Step, StepParams, Variant};

use crate::graph::{Graph, OpId};
use crate::plan::{KernelVariant, Plan};
use crate::program::{compile, CompileError};

/// `instructions` or `cycles` of a kernel class as `a + per_mac * MACs + per_output_byte * output bytes`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LinearCost {
    /// Fixed cost per call.
    pub a: f64,
    /// Cost per multiply-accumulate.
    pub per_mac: f64,
    /// Cost per output byte.
    pub per_output_byte: f64,
    /// Largest relative error of the fit over its samples.
    pub max_relative_error: f64,
}

impl LinearCost {
    /// The estimate for a step.
    pub fn estimate(&self, macs: u64, output_bytes: u64) -> f64 {
        self.a + self.per_mac * macs as f64 + self.per_output_byte * output_bytes as f64
    }
}

/// One row of the cost table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostEntry {
    /// The core the samples were counted on.
    pub core: String,
    /// Kernel set.
    pub kernels: KernelVariant,
    /// Cost class ([`cost_class`]).
    pub class: String,
    /// Steps the fit is made of.
    pub samples: usize,
    /// Instructions.
    pub instructions: LinearCost,
    /// Estimated cycles.
    pub estimated_cycles: LinearCost,
}

/// The cost table: what the latency-RAM tradeoff planner reads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostTable {
    /// Format name and version.
    pub schema: String,
    /// How the figures were made.
    pub about: String,
    /// One entry per core, kernel set and class.
    pub entries: Vec<CostEntry>,
}

/// The format name the cost table's `schema` field must carry.
pub const COST_TABLE_SCHEMA: &str = "arenaplan-cost-table/1";

/// The cost class of a step: the kernel's name, or the shape specialisation its kernels have
/// (`conv2d_s8_1x1`, `dwconv2d_s8_3x3`).
pub fn cost_class(step: &Step) -> String {
    match (step.kernel, &step.params) {
        (KernelId::Conv2dS8, StepParams::Conv(p))
            if p.filter_h == 1 && p.filter_w == 1 && p.stride_h == 1 && p.stride_w == 1 =>
        {
            "conv2d_s8_1x1".to_owned()
        }
        (KernelId::DepthwiseConv2dS8, StepParams::Conv(p))
            if p.filter_h == 3 && p.filter_w == 3 && p.depth_multiplier == 1 =>
        {
            "dwconv2d_s8_3x3".to_owned()
        }
        (kernel, _) => kernel.name().to_owned(),
    }
}

/// Why a cost model cannot be made or a plan cannot be estimated.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    /// The table is not valid JSON of the expected shape.
    #[error("the cost table is malformed: {0}")]
    Malformed(String),
    /// The table's `schema` is not [`COST_TABLE_SCHEMA`].
    #[error("the cost table's schema is `{0}`, expected `{COST_TABLE_SCHEMA}`")]
    Schema(String),
    /// The table has no entry for the core.
    #[error("the cost table has no entry for core `{core}` (it has: {known})")]
    UnknownCore {
        /// The core asked for.
        core: String,
        /// The cores the table has.
        known: String,
    },
    /// The plan does not compile.
    #[error(transparent)]
    Compile(#[from] CompileError),
}

/// A plan's estimated cycles and how the estimate was made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CycleEstimate {
    /// Estimated cycles of one inference.
    pub cycles: u64,
    /// Steps estimated from their own entry of the table.
    pub fitted_steps: usize,
    /// Steps whose class the table lacks, estimated by the fallback rates.
    pub fallback_steps: usize,
    /// Steps whose fit fell below one cycle per output byte, clamped there.
    pub clamped_steps: usize,
    /// The largest relative error of the fits used (over their own samples).
    pub max_fit_error: f64,
}

/// Estimated cycles of plans on one core, from a cost table.
#[derive(Debug, Clone)]
pub struct CostModel {
    core: String,
    entries: Vec<CostEntry>,
    /// Median `(per_mac, per_output_byte)` of the core's entries, per kernel variant (reference, optimized).
    fallback: [(f64, f64); 2],
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn variant_index(variant: KernelVariant) -> usize {
    match variant {
        KernelVariant::Reference => 0,
        KernelVariant::Optimized => 1,
    }
}

impl CostModel {
    /// The model of `core` (e.g. `cortex-m4`) from the cost table's JSON text.
    pub fn from_json(text: &str, core: &str) -> Result<CostModel, CostError> {
        let table: CostTable = serde_json::from_str(text).map_err(|e| CostError::Malformed(e.to_string()))?;
        CostModel::new(table, core)
    }

    /// The model of `core` from a cost table.
    pub fn new(table: CostTable, core: &str) -> Result<CostModel, CostError> {
        if table.schema != COST_TABLE_SCHEMA {
            return Err(CostError::Schema(table.schema));
        }
        let entries: Vec<CostEntry> = table.entries.iter().filter(|e| e.core == core).cloned().collect();
        if entries.is_empty() {
            let mut known: Vec<&str> = table.entries.iter().map(|e| e.core.as_str()).collect();
            known.sort_unstable();
            known.dedup();
            return Err(CostError::UnknownCore { core: core.to_owned(), known: known.join(", ") });
        }
        let rates = |variant: KernelVariant| {
            let of = |f: fn(&LinearCost) -> f64| {
                median(
                    entries.iter().filter(|e| e.kernels == variant).map(|e| f(&e.estimated_cycles).max(0.0)).collect(),
                )
            };
            (of(|c| c.per_mac), of(|c| c.per_output_byte))
        };
        let fallback = [rates(KernelVariant::Reference), rates(KernelVariant::Optimized)];
        Ok(CostModel { core: core.to_owned(), entries, fallback })
    }

    /// The core this model estimates.
    pub fn core(&self) -> &str {
        &self.core
    }

    /// Estimated cycles of `plan` on this core: the plan is compiled (and so checked) and each step estimated.
    pub fn estimate(&self, graph: &Graph<'_>, plan: &Plan) -> Result<CycleEstimate, CostError> {
        let compiled = compile(graph, plan)?;
        let mut estimate =
            CycleEstimate { cycles: 0, fitted_steps: 0, fallback_steps: 0, clamped_steps: 0, max_fit_error: 0.0 };
        let mut total = 0.0f64;
        for (step, &op) in compiled.steps.iter().zip(&compiled.step_ops) {
            // A fused segment's header computes nothing: its members are estimated as their kernels.
            let Some(op) = op else { continue };
            let variant =
                if step.variant == Variant::Optimized { KernelVariant::Optimized } else { KernelVariant::Reference };
            let macs = graph.macs(OpId(op));
            let out = step.output.len as u64;
            let class = cost_class(step);
            let floor = out as f64;
            let cycles = match self.entries.iter().find(|e| e.kernels == variant && e.class == class) {
                Some(entry) => {
                    estimate.fitted_steps += 1;
                    estimate.max_fit_error = estimate.max_fit_error.max(entry.estimated_cycles.max_relative_error);
                    let fitted = entry.estimated_cycles.estimate(macs, out);
                    if fitted < floor {
                        estimate.clamped_steps += 1;
                        floor
                    } else {
                        fitted
                    }
                }
                None => {
                    estimate.fallback_steps += 1;
                    let (per_mac, per_byte) = self.fallback[variant_index(variant)];
                    (per_mac * macs as f64 + per_byte * out as f64).max(floor)
                }
            };
            total += cycles;
        }
        estimate.cycles = total.round() as u64;
        Ok(estimate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::PlanRequest;

    fn table() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets/cost/cortex-m.json")).unwrap()
    }

    #[test]
    fn a_table_of_another_format_or_core_is_refused_by_name() {
        assert!(matches!(CostModel::from_json("{", "cortex-m4"), Err(CostError::Malformed(_))));
        let other = r#"{"schema": "other/1", "about": "", "entries": []}"#;
        assert!(matches!(CostModel::from_json(other, "cortex-m4"), Err(CostError::Schema(_))));
        match CostModel::from_json(&table(), "cortex-m0") {
            Err(CostError::UnknownCore { known, .. }) => assert!(known.contains("cortex-m4"), "{known}"),
            other => panic!("expected an unknown core, got {other:?}"),
        }
    }

    #[test]
    fn optimized_kernels_are_estimated_faster_than_reference_ones() {
        let model = CostModel::from_json(&table(), "cortex-m4").unwrap();
        let bytes =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets/models/ds_cnn_49x10.tflite")).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        let estimate = |kernels| {
            let request = PlanRequest::default().with_kernels(kernels);
            let lowering = crate::lower(&graph, &graph.default_schedule(), &request).unwrap();
            let offsets = (0..lowering.problem.buffers.len())
                .scan(0u64, |at, i| {
                    let offset = *at;
                    *at += lowering.problem.buffers[i].size_bytes;
                    Some(offset)
                })
                .collect();
            let packing = crate::Packing { offsets, status: crate::Status::Feasible, lower_bound_bytes: 0 };
            let meta = crate::PlanMeta {
                strategy: "stacked".to_owned(),
                params: Default::default(),
                status: crate::Status::Feasible,
                lower_bound_bytes: 0,
                estimated_cycles: None,
                solve_seconds: 0.0,
                request: request.clone(),
            };
            let plan = Plan::assemble(lowering, packing, meta);
            model.estimate(&graph, &plan).unwrap()
        };
        let reference = estimate(KernelVariant::Reference);
        let optimized = estimate(KernelVariant::Optimized);
        assert_eq!(reference.fitted_steps + reference.fallback_steps, graph.op_count());
        assert!(optimized.cycles * 3 < reference.cycles, "{optimized:?} vs {reference:?}");
    }
}
