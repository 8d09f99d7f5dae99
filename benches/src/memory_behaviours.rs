//! The report's memory-behaviour section: every zoo network planned with the `overlap` strategy (outputs
//! written over the inputs they read for the last time, where the kernels declare it safe), its arena beside
//! today's lower bound (every tensor whole and disjoint) and the estimate of issue 9, and whether the plan
//! runs bit-exact against TFLM's golden outputs with each kernel set.

use anyhow::Context;
use arenaplan::datasets;
use arenaplan::kernels;
use arenaplan::planner::program::compile;
use arenaplan::planner::{check_plan, lower, Graph, KernelVariant, Plan, PlanRequest};
use arenaplan::strategies::strategy_by_name;
use serde::Serialize;

/// Issue 9's estimates of the arena with overlap / in-place kernels ("+ overlap / in-place" column), bytes.
pub const ISSUE_ESTIMATES: &[(&str, u64)] = &[
    ("mobilenet_v2_030_80_1000", 76_800),
    ("mobilenet_v1_025_96", 36_900),
    ("mobilenet_v3_mini", 16_600),
    ("squeezenet_mini", 33_000),
    ("resnet8_32", 33_300),
];

/// One network with one kernel set.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryBehaviourRow {
    /// Zoo name.
    pub model: String,
    /// Kernel set (`reference` or `optimized`).
    pub kernels: String,
    /// Peak of live bytes with every tensor whole and disjoint (the bound of every other strategy).
    pub lower_bound_today_bytes: u64,
    /// The `overlap` strategy's arena.
    pub overlap_arena_bytes: u64,
    /// The lower bound with the allowed overlaps (the plan's own claim).
    pub overlap_lower_bound_bytes: u64,
    /// Allowed (input, output) overlaps in the lowering.
    pub allowances: usize,
    /// Whether the plan places some output over an input.
    pub uses_overlaps: bool,
    /// Issue 9's estimate, where it gives one.
    pub issue_estimate_bytes: Option<u64>,
    /// Golden samples run.
    pub samples: usize,
    /// Whether every golden sample's outputs equal TFLM's.
    pub bit_exact: bool,
    /// Milliseconds the strategy took.
    pub plan_ms: f64,
}

/// Run every golden sample of `name` in `plan`: `(samples, all equal to TFLM's)`.
fn golden_run(name: &str, bytes: &[u8], graph: &Graph<'_>, plan: &Plan) -> anyhow::Result<(usize, bool)> {
    let compiled = compile(graph, plan).with_context(|| format!("{name}: the overlap plan does not compile"))?;
    let program = compiled.program(bytes);
    let goldens = datasets::goldens(name)?;
    let mut exact = true;
    for g in &goldens {
        let mut arena = vec![0u8; program.arena_bytes as usize];
        for (i, input) in g.inputs.iter().enumerate() {
            let slot = kernels::input_mut(&program, &mut arena, i).context("input slot")?;
            slot.iter_mut().zip(input).for_each(|(s, &v)| *s = v as u8);
        }
        kernels::run(&program, &mut arena).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        for (j, expected) in g.outputs.iter().enumerate() {
            let got = kernels::output(&program, &arena, j).context("output slot")?;
            exact &= got.len() == expected.len() && got.iter().zip(expected).all(|(&a, &b)| a as i8 == b);
        }
    }
    Ok((goldens.len(), exact))
}

/// Measure every zoo network with both kernel sets.
pub fn memory_behaviour_rows() -> anyhow::Result<Vec<MemoryBehaviourRow>> {
    let strategy = strategy_by_name("overlap").context("the `overlap` strategy is not registered")?;
    let mut rows = Vec::new();
    for kernel_set in [KernelVariant::Reference, KernelVariant::Optimized] {
        for name in datasets::network_names() {
            let bytes = datasets::model_bytes(&name)?;
            let graph = Graph::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            let request = PlanRequest::default().with_kernels(kernel_set);
            let lowering = lower(&graph, &graph.default_schedule(), &request)?;
            let start = std::time::Instant::now();
            let plan = strategy.plan(&graph, &request).with_context(|| format!("{name}: overlap"))?;
            let plan_ms = start.elapsed().as_secs_f64() * 1e3;
            let checked = check_plan(&graph, &plan).with_context(|| format!("{name}: the overlap plan"))?;
            let (samples, bit_exact) = golden_run(&name, &bytes, &graph, &plan)?;
            rows.push(MemoryBehaviourRow {
                issue_estimate_bytes: ISSUE_ESTIMATES.iter().find(|e| e.0 == name).map(|e| e.1),
                model: name,
                kernels: kernel_set.name().to_owned(),
                lower_bound_today_bytes: lowering.problem.lower_bound(),
                overlap_arena_bytes: plan.arena_bytes,
                overlap_lower_bound_bytes: checked.load_bytes,
                allowances: lowering.overlap_allowances.len(),
                uses_overlaps: checked.uses_overlaps,
                samples,
                bit_exact,
                plan_ms,
            });
        }
    }
    Ok(rows)
}

/// The README section.
pub fn render_markdown(rows: &[MemoryBehaviourRow]) -> String {
    let mut out = String::from(
        "`overlap` strategy (`arenaplan plan MODEL -s overlap`): outputs written over the inputs they read for the \
         last time where the kernels declare it safe (`kernels/src/memory.rs`, proven by \
         `kernels/tests/memory_behaviour.rs`); 16-byte alignment; bit-exact = every golden sample's outputs equal \
         TFLM's, run by the host interpreter in the plan. The optimized convolutions declare no overlap, so their \
         plans keep only the other kernels' overlaps.\n\n\
         | model | kernels | lower bound today B | overlap arena B | vs today | overlap bound B | issue 9 estimate B \
         | allowances | samples | bit-exact | plan ms |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|\n",
    );
    for r in rows {
        let change = 100.0 * (r.overlap_arena_bytes as f64 / r.lower_bound_today_bytes.max(1) as f64 - 1.0);
        out += &format!(
            "| {} | {} | {} | {} | {:+.1}% | {} | {} | {} | {} | {} | {:.1} |\n",
            r.model,
            r.kernels,
            r.lower_bound_today_bytes,
            r.overlap_arena_bytes,
            change,
            r.overlap_lower_bound_bytes,
            r.issue_estimate_bytes.map_or_else(|| "-".to_owned(), |e| format!("~{e}")),
            r.allowances,
            r.samples,
            if r.bit_exact { "yes" } else { "**NO**" },
            r.plan_ms,
        );
    }
    out
}
