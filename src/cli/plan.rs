//! `arenaplan plan`: run strategies on a model and compare their arenas.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use arenaplan_datasets as datasets;
use arenaplan_planner::export::tflm::{self, embedded_plan, EmbeddedPlan};
use arenaplan_planner::{Graph, Plan, PlanRequest, Strategy};
use arenaplan_strategies as strategies;
use clap::Args;
use serde_json::json;

use super::request_args::RequestArgs;
use super::ModelSource;

/// Arguments of `arenaplan plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A `.tflite` file or a zoo model name (default: the zoo's mobilenet_v2_030_80_1000).
    model: Option<String>,
    /// Strategy to run (repeatable); `all` runs every registered strategy (the default).
    #[arg(long = "strategy", short = 's')]
    strategies: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Draw the layout into this SVG file (several strategies: side by side, on one address scale).
    #[arg(long)]
    svg: Option<PathBuf>,
    /// The request: alignment, capacity, time limit, seed, kernel set.
    #[command(flatten)]
    request: RequestArgs,
}

/// The strategies named on the command line, in registry order for `all`.
pub fn selected_strategies(names: &[String]) -> anyhow::Result<Vec<Box<dyn Strategy>>> {
    if names.is_empty() || names.iter().any(|n| n == "all") {
        return Ok(strategies::registry());
    }
    names
        .iter()
        .map(|name| {
            if name == "pareto" {
                let cost = super::pareto::cost_model(None, super::pareto::DEFAULT_CORE)?;
                return Ok(Box::new(strategies::pareto::Pareto::new(cost)) as Box<dyn Strategy>);
            }
            strategies::strategy_by_name(name).with_context(|| {
                let known: Vec<String> =
                    strategies::registry().iter().chain(&strategies::beyond_tflm()).map(|s| s.name()).collect();
                format!("unknown strategy `{name}` (known: {}, `pareto`, or `all`)", known.join(", "))
            })
        })
        .collect()
}

/// Plan a graph with a strategy, then check the plan ([`check_plan`](arenaplan_planner::check_plan): an independent
/// lowering, the kernel variants, the validator) and its arena against
/// the request's arena limit ([`MAX_ARENA_BYTES`](arenaplan_planner::limits::MAX_ARENA_BYTES) by default).
pub fn plan_checked(strategy: &dyn Strategy, graph: &Graph<'_>, request: &PlanRequest) -> anyhow::Result<Plan> {
    Ok(plan_and_check(strategy, graph, request)?.0)
}

/// [`plan_checked`], also returning the check's re-lowering, for a caller that goes on to compile the plan
/// ([`compile_checked`](arenaplan_planner::program::compile_checked)) without lowering it a third time.
pub fn plan_and_check(
    strategy: &dyn Strategy,
    graph: &Graph<'_>,
    request: &PlanRequest,
) -> anyhow::Result<(Plan, arenaplan_planner::CheckedPlan)> {
    let plan = strategy.plan(graph, request).with_context(|| format!("strategy `{}` failed", strategy.name()))?;
    let checked = arenaplan_planner::check_plan(graph, &plan)
        .with_context(|| format!("strategy `{}` produced an invalid plan", strategy.name()))?;
    arenaplan_planner::limits::check(
        || format!("the arena of the `{}` plan, in bytes", strategy.name()),
        plan.arena_bytes,
        request.limits.arena_bytes,
        "MAX_ARENA_BYTES",
    )?;
    Ok((plan, checked))
}

/// TFLM's figures for a model file as TFLM will run it.
#[derive(Debug, Clone)]
pub struct TflmView {
    /// Head, tail and total: measured for a zoo model; with an embedded offline plan, the head is what TFLM
    /// makes of that plan (and the tail the zoo measurement, when there is one).
    pub figures: Option<datasets::TflmFigures>,
    /// The model's embedded offline plan, when it carries one.
    pub embedded: Option<EmbeddedPlan>,
    /// Planned tensors no operator writes and no model input is (TFLM allocates them all the same).
    pub unwritten_tensors: usize,
}

/// What TFLM needs for this model file: the zoo's measured figures, unless the file carries an offline plan
/// (an `OfflineMemoryAllocation` entry), which TFLM follows: then the head is computed as TFLM places buffers
/// around that plan ([`embedded_plan`]).
pub fn tflm_view(graph: &Graph<'_>, name: &str) -> anyhow::Result<TflmView> {
    let measured = datasets::tflm_figures(name);
    let request = PlanRequest { alignment_bytes: tflm::TFLM_ALIGNMENT_BYTES, ..PlanRequest::default() };
    let lowering = arenaplan_planner::lower(graph, &graph.default_schedule(), &request)?;
    let embedded = embedded_plan(graph, &lowering.problem).context("the model's offline memory plan is malformed")?;
    let figures = match (&embedded, measured) {
        (None, measured) => measured,
        (Some(e), Some(m)) => Some(datasets::TflmFigures {
            head_bytes: e.head_bytes,
            tail_bytes: m.tail_bytes,
            total_bytes: e.head_bytes + m.tail_bytes,
        }),
        (Some(e), None) => Some(datasets::TflmFigures { head_bytes: e.head_bytes, tail_bytes: 0, total_bytes: 0 }),
    };
    Ok(TflmView { figures, embedded, unwritten_tensors: lowering.unwritten_tensors })
}

pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    let source = ModelSource::resolve(args.model.as_deref())?;
    let bytes = source.read()?;
    let request = args.request.request(&source)?;
    let graph = Graph::from_bytes_within(&bytes, &request.limits)
        .with_context(|| format!("cannot load {}", source.path.display()))?;
    let selected = selected_strategies(&args.strategies)?;
    if selected.is_empty() {
        bail!("no strategy selected");
    }
    let view = tflm_view(&graph, &source.name)?;
    let tflm = view.figures;
    let mut rows = Vec::new();
    for strategy in &selected {
        let started = Instant::now();
        let plan = plan_checked(strategy.as_ref(), &graph, &request)?;
        rows.push((plan, started.elapsed().as_secs_f64()));
    }
    if let Some(path) = &args.svg {
        let plans: Vec<&Plan> = rows.iter().map(|(plan, _)| plan).collect();
        super::svg::write_layout(path, &format!("{}: arena layout", source.name), &plans)?;
    }
    if args.json {
        let out = json!({
            "model": source.name,
            "tflm": tflm,
            "tflm_embedded_plan": view.embedded.as_ref().map(|e| json!({
                "fixed_tensors": e.fixed_tensors,
                "online_buffers": e.online_buffers,
                "head_bytes": e.head_bytes,
            })),
            "plans": rows.iter().map(|(plan, seconds)| json!({
                "strategy": plan.meta.strategy,
                "arena_bytes": plan.arena_bytes,
                "lower_bound_bytes": plan.meta.lower_bound_bytes,
                "gap_percent": plan.gap_percent(),
                "status": plan.meta.status,
                "seconds": seconds,
            })).collect::<Vec<_>>(),
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    outln!("model {} ({} ops, {} buffers)", source.name, graph.op_count(), rows[0].0.problem.buffers.len());
    if view.unwritten_tensors > 0 {
        outln!(
            "{} tensors are written by no operator and are no model input (a cut or converted file?); TFLM \
             allocates them all the same, and so does every plan here",
            view.unwritten_tensors
        );
    }
    if let Some(e) = &view.embedded {
        outln!(
            "the model carries an offline memory plan (OfflineMemoryAllocation: {} tensors fixed, {} buffers placed \
             online around them), which TFLM follows: TFLM head {} B",
            e.fixed_tensors,
            e.online_buffers,
            e.head_bytes
        );
    }
    match tflm {
        Some(f) if view.embedded.is_some() && f.tail_bytes == 0 => {
            outln!("TFLM reference: head {} B (the embedded plan), tail not known for this model", f.head_bytes)
        }
        Some(f) => outln!(
            "TFLM reference: head {} B (planned), tail {} B (persistent), total {} B",
            f.head_bytes,
            f.tail_bytes,
            f.total_bytes
        ),
        None => outln!("TFLM reference: not known for this model"),
    }
    outln!(
        "{:<22} {:>12} {:>12} {:>8} {:>12} {:>10} {:>10}",
        "strategy",
        "arena B",
        "lower bnd B",
        "gap %",
        "vs TFLM head",
        "status",
        "time ms"
    );
    for (plan, seconds) in &rows {
        let vs_tflm = match tflm {
            Some(f) => {
                format!("{:+.1}%", (plan.arena_bytes as f64 - f.head_bytes as f64) * 100.0 / f.head_bytes as f64)
            }
            None => "-".to_owned(),
        };
        outln!(
            "{:<22} {:>12} {:>12} {:>8.2} {:>12} {:>10} {:>10.3}",
            plan.meta.strategy,
            plan.arena_bytes,
            plan.meta.lower_bound_bytes,
            plan.gap_percent(),
            vs_tflm,
            format!("{:?}", plan.meta.status).to_lowercase(),
            seconds * 1e3
        );
    }
    Ok(())
}
