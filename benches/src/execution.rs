//! Whole-model execution: every zoo network compiled from a plan and run in one arena by the reference or the
//! optimized kernels; the host latency and the RAM beside TFLM's total.

use std::time::Instant;

use arenaplan_datasets as datasets;
use arenaplan_kernels as kernels;
use arenaplan_planner::program::{compile, CompiledProgram};
use arenaplan_planner::{Graph, KernelVariant, PlanRequest};
use arenaplan_strategies::strategy_by_name;
use serde::{Deserialize, Serialize};

/// A zoo network ready to run: its bytes, compiled program and a golden input.
pub struct Runnable {
    /// Zoo name.
    pub name: String,
    /// The `.tflite` bytes.
    pub bytes: Vec<u8>,
    /// The program compiled from the plan.
    pub compiled: CompiledProgram,
    /// The first golden input.
    pub input: Vec<u8>,
}

impl Runnable {
    /// One inference in `arena` (at least the program's arena long).
    pub fn infer(&self, arena: &mut [u8]) -> Result<(), kernels::KernelError> {
        let program = self.compiled.program(&self.bytes);
        if let Some(slot) = kernels::input_mut(&program, arena, 0) {
            slot.copy_from_slice(&self.input);
        }
        kernels::run(&program, arena)
    }
}

/// Networks that did not run, each with the reason.
pub type Skipped = Vec<(String, String)>;

/// Every zoo network the kernels can run, compiled from the plan of `strategy` with the kernel set `kernels`;
/// the others by name with the reason.
pub fn runnable_networks(strategy: &str, kernels: KernelVariant) -> anyhow::Result<(Vec<Runnable>, Skipped)> {
    let strategy = strategy_by_name(strategy).ok_or_else(|| anyhow::anyhow!("unknown strategy {strategy}"))?;
    let mut ready = Vec::new();
    let mut skipped = Vec::new();
    for name in datasets::network_names() {
        let bytes = datasets::model_bytes(&name)?;
        let graph = Graph::from_bytes(&bytes)?;
        let plan = strategy.plan(&graph, &PlanRequest::default().with_kernels(kernels))?;
        match compile(&graph, &plan) {
            Ok(compiled) => {
                let input = datasets::goldens(&name)?[0].inputs[0].iter().map(|&v| v as u8).collect();
                drop(graph);
                ready.push(Runnable { name, bytes, compiled, input });
            }
            Err(e) => skipped.push((name, e.to_string())),
        }
    }
    Ok((ready, skipped))
}

/// One network's execution figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecutionRow {
    /// Zoo name.
    pub model: String,
    /// Strategy of the plan.
    pub strategy: String,
    /// Kernel set (`reference` or `optimized`).
    pub kernels: KernelVariant,
    /// Arena bytes: all the RAM an inference uses (the program's steps and constants are read-only).
    pub arena_bytes: u64,
    /// Bytes of steps and precomputed constants (flash on a device).
    pub program_constant_bytes: u64,
    /// TFLM's total (head + tail) for the same model, from the reference file.
    pub tflm_total_bytes: Option<u64>,
    /// Median host latency of one inference with that kernel set, in milliseconds.
    pub host_latency_ms: f64,
}

/// Measure every runnable network: median of `runs` inferences.
pub fn execution_rows(
    strategy: &str,
    kernels: KernelVariant,
    runs: usize,
) -> anyhow::Result<(Vec<ExecutionRow>, Skipped)> {
    let (ready, skipped) = runnable_networks(strategy, kernels)?;
    let mut rows = Vec::new();
    for r in &ready {
        let mut arena = vec![0u8; r.compiled.arena_bytes as usize];
        let mut times: Vec<f64> = (0..runs.max(1))
            .map(|_| {
                let t = Instant::now();
                r.infer(&mut arena).expect("a compiled zoo model runs");
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        rows.push(ExecutionRow {
            model: r.name.clone(),
            strategy: strategy.to_owned(),
            kernels,
            arena_bytes: r.compiled.arena_bytes as u64,
            program_constant_bytes: r.compiled.constant_bytes() as u64,
            tflm_total_bytes: datasets::tflm_figures(&r.name).map(|f| f.total_bytes),
            host_latency_ms: times[times.len() / 2],
        });
    }
    Ok((rows, skipped))
}

/// The README's execution table.
pub fn render_markdown(rows: &[ExecutionRow], skipped: &[(String, String)]) -> String {
    let mut out = String::from(
        "| model | plan | kernels | RAM (arena) B | TFLM total B | RAM vs TFLM | program constants B (flash) | host latency ms |\n|---|---|---|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let (tflm, vs) = match r.tflm_total_bytes {
            Some(t) => (t.to_string(), format!("{:+.1}%", (r.arena_bytes as f64 - t as f64) * 100.0 / t as f64)),
            None => ("-".to_owned(), "-".to_owned()),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.2} |\n",
            r.model,
            r.strategy,
            r.kernels.name(),
            r.arena_bytes,
            tflm,
            vs,
            r.program_constant_bytes,
            r.host_latency_ms
        ));
    }
    for (name, why) in skipped {
        out.push_str(&format!("\nNot run: {name}: {why}.\n"));
    }
    out
}
