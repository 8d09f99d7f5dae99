//! `arenaplan compare`: several strategies on one model, as a table ranked by arena and, with `--svg`, their
//! layouts side by side on one address scale.

use std::path::PathBuf;

use anyhow::Context;
use arenaplan_planner::Graph;
use clap::Args;

use super::plan::{plan_checked, selected_strategies};
use super::request_args::RequestArgs;
use super::ModelSource;

/// Arguments of `arenaplan compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// A `.tflite` file or a zoo model name (default: the zoo's mobilenet_v2_030_80_1000).
    model: Option<String>,
    /// Strategy to compare (repeatable); `all` (the default) compares every registered strategy.
    #[arg(long = "strategy", short = 's')]
    strategies: Vec<String>,
    /// Draw the layouts side by side into this SVG file.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// The request: alignment, capacity, time limit, seed, kernel set.
    #[command(flatten)]
    request: RequestArgs,
}

pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    let source = ModelSource::resolve(args.model.as_deref())?;
    let bytes = source.read()?;
    let request = args.request.request(&source)?;
    let graph = Graph::from_bytes_within(&bytes, &request.limits)
        .with_context(|| format!("cannot load {}", source.path.display()))?;
    let mut plans = Vec::new();
    for strategy in selected_strategies(&args.strategies)? {
        plans.push(plan_checked(strategy.as_ref(), &graph, &request)?);
    }
    let mut ranked: Vec<&_> = plans.iter().collect();
    ranked.sort_by_key(|p| p.arena_bytes); // stable: ties keep registry order
    outln!("model {}: {} strategies, ranked by arena", source.name, ranked.len());
    outln!(
        "{:<4} {:<24} {:>10} {:>12} {:>8} {:>10} {:>10}",
        "rank",
        "strategy",
        "arena B",
        "lower bnd B",
        "gap %",
        "status",
        "time ms"
    );
    for (i, plan) in ranked.iter().enumerate() {
        outln!(
            "{:<4} {:<24} {:>10} {:>12} {:>8.2} {:>10} {:>10.1}",
            i + 1,
            plan.meta.strategy,
            plan.arena_bytes,
            plan.meta.lower_bound_bytes,
            plan.gap_percent(),
            format!("{:?}", plan.meta.status).to_lowercase(),
            plan.meta.solve_seconds * 1e3
        );
    }
    if let Some(path) = &args.svg {
        let heading = format!("{}: arena layouts of {} strategies (same address scale)", source.name, plans.len());
        super::svg::write_layout(path, &heading, &plans.iter().collect::<Vec<_>>())?;
    }
    Ok(())
}
