//! Whole-model figures: for every zoo network, the greedy baseline's arena beside the lower bound and TFLM.

use arenaplan_datasets as datasets;
use arenaplan_planner::{Graph, PlanRequest};
use arenaplan_strategies::strategy_by_name;
use serde::{Deserialize, Serialize};

/// One zoo model's memory figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelRow {
    /// Zoo model name.
    pub model: String,
    /// Operators.
    pub ops: usize,
    /// Multiply-accumulates of one inference.
    pub macs: u64,
    /// LOAD of the default schedule with TFLM's scratch needs.
    pub lower_bound_bytes: u64,
    /// Arena of `greedy-by-size` (TFLM's planner, reproduced).
    pub greedy_arena_bytes: u64,
    /// TFLM's own head bytes, from the reference file.
    pub tflm_head_bytes: Option<u64>,
    /// TFLM's own total bytes (head + persistent tail), from the reference file.
    pub tflm_total_bytes: Option<u64>,
}

/// Figures for every zoo network.
pub fn model_rows() -> anyhow::Result<Vec<ModelRow>> {
    let greedy = strategy_by_name("greedy-by-size").expect("greedy-by-size is registered");
    let request = PlanRequest::default();
    let mut rows = Vec::new();
    for name in datasets::network_names() {
        let bytes = datasets::model_bytes(&name)?;
        let graph = Graph::from_bytes(&bytes)?;
        let plan = greedy.plan(&graph, &request)?;
        let tflm = datasets::tflm_figures(&name);
        rows.push(ModelRow {
            model: name,
            ops: graph.op_count(),
            macs: graph.total_macs(),
            lower_bound_bytes: plan.problem.lower_bound(),
            greedy_arena_bytes: plan.arena_bytes,
            tflm_head_bytes: tflm.map(|f| f.head_bytes),
            tflm_total_bytes: tflm.map(|f| f.total_bytes),
        });
    }
    Ok(rows)
}

/// The README's model table.
pub fn render_markdown(rows: &[ModelRow]) -> String {
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".to_owned());
    let mut out = String::from(
        "| model | ops | MACs | lower bound B | greedy-by-size arena B | TFLM head B | TFLM total B |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.model,
            r.ops,
            r.macs,
            r.lower_bound_bytes,
            r.greedy_arena_bytes,
            opt(r.tflm_head_bytes),
            opt(r.tflm_total_bytes)
        ));
    }
    out
}
