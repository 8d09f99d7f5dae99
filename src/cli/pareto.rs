//! `arenaplan pareto`: the latency-RAM front of a model (arena bytes against estimated cycles on a Cortex-M
//! core), the point the request's objective picks, and a picture of it.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use arenaplan_datasets as datasets;
use arenaplan_planner::cost::CostModel;
use arenaplan_planner::export::svg::thousands;
use arenaplan_planner::{Graph, Objective};
use arenaplan_strategies::pareto::{front_picture, Pareto};
use clap::Args;
use serde_json::json;

use super::request_args::RequestArgs;
use super::ModelSource;

/// The core whose cost table entries estimate cycles unless `--core` says otherwise.
pub const DEFAULT_CORE: &str = "cortex-m4";

/// Arguments of `arenaplan pareto`.
#[derive(Debug, Args)]
pub struct ParetoArgs {
    /// A `.tflite` file or a zoo model name (default: the zoo's mobilenet_v2_030_80_1000).
    model: Option<String>,
    /// The core whose cost table entries estimate cycles (`cortex-m4`, `cortex-m7`, `cortex-m55`).
    #[arg(long, default_value = DEFAULT_CORE)]
    core: String,
    /// The cost table (default: the repository's `datasets/cost/cortex-m.json`, measured on emulated boards).
    #[arg(long)]
    cost_table: Option<PathBuf>,
    /// Pick the fastest point whose arena is at most this many bytes (objective `min_latency`).
    #[arg(long, conflicts_with = "latency_budget")]
    ram_budget: Option<u64>,
    /// Pick the smallest arena whose estimated cycles are at most this (objective `min_ram_under_latency`).
    #[arg(long)]
    latency_budget: Option<u64>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Draw the front into this SVG file.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// The request: alignment, capacity, time limit, seed, kernel set.
    #[command(flatten)]
    request: RequestArgs,
}

/// The cost model of `core` from `table` (default: the repository's cost table).
pub fn cost_model(table: Option<&PathBuf>, core: &str) -> anyhow::Result<CostModel> {
    let path = table.cloned().unwrap_or_else(datasets::cost_table_path);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("cannot read the cost table {}", path.display()))?;
    CostModel::from_json(&text, core).with_context(|| format!("cannot use the cost table {}", path.display()))
}

pub fn run(args: ParetoArgs) -> anyhow::Result<()> {
    let source = ModelSource::resolve(args.model.as_deref())?;
    let bytes = source.read()?;
    let mut request = args.request.request(&source)?;
    if let Some(ram_budget_bytes) = args.ram_budget {
        request.objective = Objective::MinLatency { ram_budget_bytes };
    }
    if let Some(latency_budget_cycles) = args.latency_budget {
        request.objective = Objective::MinRamUnderLatency { latency_budget_cycles };
    }
    let graph = Graph::from_bytes_within(&bytes, &request.limits)
        .with_context(|| format!("cannot load {}", source.path.display()))?;
    let pareto = Pareto::new(cost_model(args.cost_table.as_ref(), &args.core)?);
    let started = Instant::now();
    let front = pareto.front(&graph, &request).context("the latency-RAM front could not be made")?;
    let seconds = started.elapsed().as_secs_f64();
    let chosen = Pareto::pick_index(&front, &request.objective);
    let chosen_index = chosen.as_ref().ok().copied();

    if let Some(path) = &args.svg {
        let heading = format!("{}: latency-RAM front on {} (estimated cycles)", source.name, args.core);
        super::export::write_atomically(path, front_picture(&heading, &front, chosen_index).as_bytes())?;
    }
    if args.json {
        let rows: Vec<_> = front
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({
                    "arena_bytes": p.arena_bytes,
                    "estimated_cycles": p.cycles.cycles,
                    "placement": p.placement,
                    "reference_ops": p.reference_ops,
                    "optimizable_ops": p.optimizable_ops,
                    "fused_segments": p.fused_segments,
                    "streamed_input": p.streamed_input,
                    "fallback_steps": p.cycles.fallback_steps,
                    "clamped_steps": p.cycles.clamped_steps,
                    "chosen": chosen_index == Some(i),
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "model": source.name, "core": args.core, "objective": request.objective,
                "seconds": seconds, "front": rows,
            }))?
        );
    } else {
        outln!(
            "{}: {} points on the latency-RAM front ({:.3} s); cycles estimated for {} from the cost table",
            source.name,
            front.len(),
            seconds,
            args.core
        );
        outln!(
            "{:>2} {:>10} {:>14}  {:<9} {:>5} {:<26} note",
            "",
            "arena B",
            "est. cycles",
            "placement",
            "fused",
            "kernels"
        );
        for (i, p) in front.iter().enumerate() {
            let mark = if chosen_index == Some(i) { "*" } else { "" };
            let kernels = match p.reference_ops {
                0 => "all optimized".to_owned(),
                n if n == p.optimizable_ops => "all reference".to_owned(),
                n => format!("{n}/{} ops reference", p.optimizable_ops),
            };
            let mut notes = Vec::new();
            if p.cycles.fallback_steps > 0 {
                notes.push(format!("{} steps by fallback rates", p.cycles.fallback_steps));
            }
            if p.cycles.clamped_steps > 0 {
                notes.push(format!("{} steps clamped", p.cycles.clamped_steps));
            }
            outln!(
                "{mark:>2} {:>10} {:>14}  {:<9} {:>5} {:<26} {}",
                thousands(p.arena_bytes),
                thousands(p.cycles.cycles),
                p.placement,
                if p.streamed_input { format!("{}+in", p.fused_segments) } else { p.fused_segments.to_string() },
                kernels,
                notes.join(", ")
            );
        }
    }
    match chosen.map(|i| &front[i]) {
        Ok(point) => {
            errln!(
                "objective {:?}: picks {} B, {} estimated cycles ({})",
                request.objective,
                point.arena_bytes,
                point.cycles.cycles,
                point.label()
            );
            Ok(())
        }
        Err(e) => Err(e).context(format!("objective {:?}", request.objective)),
    }
}
