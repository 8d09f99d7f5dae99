//! The report's latency-RAM section: every zoo network's front (arena bytes against cycles estimated from the
//! Cortex-M4 cost table), the time to plan it, a picture of it, and the targets beside the figures.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use arenaplan::datasets;
use arenaplan::planner::cost::CostModel;
use arenaplan::planner::export::svg::thousands;
use arenaplan::planner::{Graph, PlanRequest};
use arenaplan::strategies::pareto::{front_picture, Pareto};
use serde::Serialize;

/// The core whose cost table entries the section uses.
pub const CORE: &str = "cortex-m4";

/// One point of a front.
#[derive(Debug, Clone, Serialize)]
pub struct FrontRow {
    /// Arena bytes.
    pub arena_bytes: u64,
    /// Estimated cycles on [`CORE`].
    pub estimated_cycles: u64,
    /// Placement strategy.
    pub placement: String,
    /// Operators with an optimized kernel that run the reference one.
    pub reference_ops: usize,
    /// Operators with an optimized kernel.
    pub optimizable_ops: usize,
    /// Row-streamed fused segments.
    pub fused_segments: usize,
    /// Whether the model input is read row by row.
    pub streamed_input: bool,
}

/// One network's front.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkFront {
    /// Zoo name.
    pub model: String,
    /// Peak of live bytes of the file's order with TFLM's kernels (today's lower bound, no overlap).
    pub lower_bound_bytes: u64,
    /// The front, by increasing arena.
    pub front: Vec<FrontRow>,
    /// Seconds to plan the whole front (one run, this machine).
    pub seconds: f64,
    /// Whether the network has a convolution (the 60% target is for those).
    pub has_convolutions: bool,
}

/// Plan every zoo network's front, and draw each into `pictures/MODEL.svg`.
pub fn network_fronts(pictures: &Path) -> anyhow::Result<Vec<NetworkFront>> {
    let text = std::fs::read_to_string(datasets::cost_table_path())?;
    let pareto = Pareto::new(CostModel::from_json(&text, CORE)?);
    std::fs::create_dir_all(pictures)?;
    let mut rows = Vec::new();
    for name in datasets::network_names() {
        let bytes = datasets::model_bytes(&name)?;
        let graph = Graph::from_bytes(&bytes)?;
        let request = PlanRequest::default();
        let lower_bound_bytes =
            arenaplan::planner::lower(&graph, &graph.default_schedule(), &request)?.problem.lower_bound();
        let started = Instant::now();
        let front = pareto.front(&graph, &request).with_context(|| format!("{name}: the front"))?;
        let seconds = started.elapsed().as_secs_f64();
        let chosen = Pareto::pick_index(&front, &request.objective).ok();
        let heading = format!("{name}: latency-RAM front ({CORE}, estimated cycles)");
        std::fs::write(pictures.join(format!("{name}.svg")), front_picture(&heading, &front, chosen))?;
        rows.push(NetworkFront {
            model: name,
            lower_bound_bytes,
            front: front
                .iter()
                .map(|p| FrontRow {
                    arena_bytes: p.arena_bytes,
                    estimated_cycles: p.cycles.cycles,
                    placement: p.placement.clone(),
                    reference_ops: p.reference_ops,
                    optimizable_ops: p.optimizable_ops,
                    fused_segments: p.fused_segments,
                    streamed_input: p.streamed_input,
                })
                .collect(),
            seconds,
            has_convolutions: (0..graph.op_count()).any(|i| {
                use arenaplan::planner::tflite::OpKind;
                matches!(
                    graph.op(arenaplan::planner::OpId(i as u32)).kind,
                    OpKind::Conv2d(_) | OpKind::DepthwiseConv2d(_)
                )
            }),
        });
    }
    Ok(rows)
}

/// The arena targets for the min-RAM point (bytes), by network.
const TARGETS: &[(&str, u64)] =
    &[("mobilenet_v2_030_80_1000", 22_000), ("mobilenet_v1_025_96", 28_000), ("resnet8_32", 19_000)];

/// The arena target for the min-RAM point with the model input read row by row (bytes), by network.
const STREAMED_TARGETS: &[(&str, u64)] = &[("mobilenet_v2_030_80_1000", 14_000)];

/// The README section.
pub fn render_markdown(rows: &[NetworkFront]) -> String {
    let mut out = String::from(
        "| network | lower bound today B | front: arena B / est. Mcycles (placement, kernels) | min-RAM point (input whole) vs bound | target | plan time s |\n|---|---:|---|---:|---|---:|\n",
    );
    for r in rows {
        let points: Vec<String> = r
            .front
            .iter()
            .map(|p| {
                let kernels = match p.reference_ops {
                    0 => "optimized".to_owned(),
                    n if n == p.optimizable_ops => "reference".to_owned(),
                    n => format!("{n}/{} ref", p.optimizable_ops),
                };
                let fused = match p.fused_segments {
                    0 => String::new(),
                    n => format!(", {n} fused"),
                };
                let fused = if p.streamed_input { format!("{fused}, input streamed") } else { fused };
                format!(
                    "{} / {:.1} ({}, {kernels}{fused})",
                    thousands(p.arena_bytes),
                    p.estimated_cycles as f64 / 1e6,
                    p.placement
                )
            })
            .collect();
        // The byte targets are for the input held whole; the input-streaming target has its own figure.
        let streamed_min = r.front.iter().filter(|p| p.streamed_input).map(|p| p.arena_bytes).min();
        let min_ram = r.front.iter().filter(|p| !p.streamed_input).map(|p| p.arena_bytes).min().unwrap_or(0);
        let ratio = min_ram as f64 * 100.0 / r.lower_bound_bytes.max(1) as f64;
        let verdict = |met: bool| if met { "met" } else { "**not met**" };
        let streaming = match (STREAMED_TARGETS.iter().find(|(m, _)| *m == r.model), streamed_min) {
            (Some((_, t)), Some(b)) => {
                format!("; input streamed: {} B, <= {} B: {}", thousands(b), thousands(*t), verdict(b <= *t))
            }
            (Some((_, t)), None) => format!("; input streamed: no point, <= {} B: **not met**", thousands(*t)),
            (None, Some(b)) => format!("; input streamed: {} B", thousands(b)),
            (None, None) => String::new(),
        };
        let target = match TARGETS.iter().find(|(m, _)| *m == r.model) {
            Some((_, t)) => format!("<= {} B: {}{streaming}", thousands(*t), verdict(min_ram <= *t)),
            None if !r.has_convolutions => "none (no convolution)".to_owned(),
            None => format!("<= 60% of bound: {}{streaming}", verdict(ratio <= 60.0)),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {:.1}% | {} | {:.3} |\n",
            r.model,
            thousands(r.lower_bound_bytes),
            points.join("<br>"),
            ratio,
            target,
            r.seconds
        ));
    }
    let slowest = rows.iter().map(|r| r.seconds).fold(0.0, f64::max);
    let fewest = rows.iter().filter(|r| r.model.starts_with("mobilenet")).map(|r| r.front.len()).min().unwrap_or(0);
    out.push_str(&format!(
        "\nPlanning a whole front takes at most {slowest:.3} s (target < 1 s: {}); the MobileNet fronts have at least {fewest} points (target >= 3: {}). Pictures: `results/pareto/MODEL.svg`.\n",
        if slowest < 1.0 { "met" } else { "**not met**" },
        if fewest >= 3 { "met" } else { "**not met**" }
    ));
    out
}
