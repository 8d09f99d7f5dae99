//! The report's row-streamed fusion section: for every zoo network, the arena and the time of its plan with
//! fused segments (`fused`) against the layer-by-layer plan with the same (reference) kernels (`exact`, every
//! tensor whole), on the host and, where QEMU and the Arm toolchain are installed, as instructions counted on
//! the emulated Cortex-M4 (`mps2-an386`).

use std::time::Instant;

use anyhow::Context;
use arenaplan::datasets;
use arenaplan::planner::export::svg::thousands;
use arenaplan::planner::program::compile;
use arenaplan::planner::{lower, Graph, KernelVariant, Plan, PlanRequest};
use arenaplan::strategies::strategy_by_name;
use serde::Serialize;

use crate::cortex_m::measure_network;

/// The network the latency target names.
const TARGET_MODEL: &str = "mobilenet_v2_030_80_1000";

/// The emulated board the section counts instructions on.
pub const BOARD: &str = "mps2-an386";

/// One plan of a network measured.
#[derive(Debug, Clone, Serialize)]
pub struct PlanFigures {
    /// The strategy.
    pub strategy: String,
    /// Its arena in bytes.
    pub arena_bytes: u64,
    /// Fused segments it runs.
    pub segments: usize,
    /// Median host time of one inference, milliseconds (this machine; noisy).
    pub host_ms: f64,
    /// Instructions of one inference on [`BOARD`], when measured.
    pub board_instructions: Option<u64>,
    /// Whether the board's outputs equal TFLM's golden ones, when measured.
    pub board_bit_exact: Option<bool>,
}

/// One network: today's bound, the layer-by-layer plan and the fused one.
#[derive(Debug, Clone, Serialize)]
pub struct FusedRow {
    /// Zoo name.
    pub model: String,
    /// Peak of live bytes with every tensor whole, the file's order and TFLM's kernels (today's lower bound).
    pub lower_bound_bytes: u64,
    /// `exact` with the reference kernels: every tensor whole, layer by layer.
    pub layer_by_layer: PlanFigures,
    /// `fused` with the reference kernels.
    pub fused: PlanFigures,
    /// The arena of `fused` with the model input read row by row (`stream_input`), when it streams.
    pub streamed_input_arena_bytes: Option<u64>,
}

/// The median of `runs` timed inferences of `plan`, milliseconds.
fn host_ms(graph: &Graph<'_>, bytes: &[u8], plan: &Plan, runs: usize) -> anyhow::Result<f64> {
    let compiled = compile(graph, plan)?;
    let program = compiled.program(bytes);
    let mut arena = vec![0u8; program.arena_bytes as usize];
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        arenaplan::kernels::run(&program, &mut arena)?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Measure every zoo network that has a fusable chain; `board` counts instructions on the emulated board.
pub fn fused_rows(board: bool) -> anyhow::Result<Vec<FusedRow>> {
    let mut rows = Vec::new();
    for name in datasets::network_names() {
        let bytes = datasets::model_bytes(&name)?;
        let graph = Graph::from_bytes(&bytes)?;
        let request = PlanRequest::default().with_kernels(KernelVariant::Reference);
        let lower_bound_bytes = lower(&graph, &graph.default_schedule(), &request)?.problem.lower_bound();
        let mut figures = Vec::new();
        for strategy in ["exact", "fused"] {
            let plan = strategy_by_name(strategy)
                .context("a registered strategy")?
                .plan(&graph, &request)
                .with_context(|| format!("{name}: {strategy}"))?;
            let (board_instructions, board_bit_exact) = if board {
                eprintln!("report: {name} ({strategy}) on {BOARD} ...");
                let (row, _) = measure_network(&name, BOARD, KernelVariant::Reference, strategy)?;
                (Some(row.instructions), Some(row.bit_exact_tflm))
            } else {
                (None, None)
            };
            figures.push(PlanFigures {
                strategy: strategy.to_owned(),
                arena_bytes: plan.arena_bytes,
                segments: plan.meta.request.segments.len(),
                host_ms: host_ms(&graph, &bytes, &plan, 7)?,
                board_instructions,
                board_bit_exact,
            });
        }
        let fused = figures.pop().expect("two plans");
        let layer_by_layer = figures.pop().expect("two plans");
        let streaming = PlanRequest { stream_input: true, ..request.clone() };
        let streamed = strategy_by_name("fused").context("fused")?.plan(&graph, &streaming)?;
        let streams = arenaplan::planner::check_plan(&graph, &streamed)?
            .lowering
            .segments
            .iter()
            .any(|s| s.streamed_input.is_some());
        let streamed_input_arena_bytes = streams.then_some(streamed.arena_bytes);
        if fused.segments > 0 {
            rows.push(FusedRow { model: name, lower_bound_bytes, layer_by_layer, fused, streamed_input_arena_bytes });
        }
    }
    Ok(rows)
}

/// The README section.
pub fn render_markdown(rows: &[FusedRow]) -> String {
    let mut out = format!(
        "Reference kernels on both sides; `exact` holds every tensor whole (layer by layer), `fused` row-streams \
         the segments `strategies::fusion` picks. Host times: median of 7 runs on this machine (noisy). Board: \
         instructions counted on the emulated Cortex-M4 (`{BOARD}`, QEMU).\n\n\
         | network | bound today B | layer-by-layer B | fused B (segments) | fused vs bound | fused, input streamed B | host ms: layer-by-layer / fused | {BOARD} instructions: layer-by-layer / fused | fused / layer-by-layer |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    let mut worst_ratio: f64 = 0.0;
    let mut measured = 0;
    for r in rows {
        let board = match (r.layer_by_layer.board_instructions, r.fused.board_instructions) {
            (Some(a), Some(b)) => {
                let ratio = b as f64 / a.max(1) as f64;
                worst_ratio = worst_ratio.max(ratio);
                measured += 1;
                let exact = if r.fused.board_bit_exact == Some(true) { "" } else { " (**outputs differ**)" };
                (format!("{} / {}{exact}", thousands(a), thousands(b)), format!("{:.3}", ratio))
            }
            _ => ("not measured".to_owned(), "-".to_owned()),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} ({}) | {:.1}% | {} | {:.1} / {:.1} | {} | {} |\n",
            r.model,
            thousands(r.lower_bound_bytes),
            thousands(r.layer_by_layer.arena_bytes),
            thousands(r.fused.arena_bytes),
            r.fused.segments,
            r.fused.arena_bytes as f64 * 100.0 / r.lower_bound_bytes.max(1) as f64,
            r.streamed_input_arena_bytes.map_or("-".to_owned(), thousands),
            r.layer_by_layer.host_ms,
            r.fused.host_ms,
            board.0,
            board.1
        ));
    }
    if measured > 0 {
        let target = rows.iter().find(|r| r.model == TARGET_MODEL).and_then(|r| {
            Some(r.fused.board_instructions? as f64 / r.layer_by_layer.board_instructions?.max(1) as f64)
        });
        let verdict = match target {
            Some(ratio) => {
                format!("{:+.1}% ({})", (ratio - 1.0) * 100.0, if ratio <= 1.10 { "met" } else { "**not met**" })
            }
            None => "not measured".to_owned(),
        };
        out.push_str(&format!(
            "
Target ({TARGET_MODEL}): the fused plan at most 10% slower than layer by layer with the same kernels, \
             in {BOARD} instructions: {verdict}. Across the networks above: at most {:+.1}%.\n",
            (worst_ratio - 1.0) * 100.0
        ));
    } else {
        out.push_str(
            "\nThe board was not measured (QEMU or the Arm toolchain is missing): the latency target is unchecked.\n",
        );
    }
    out
}
