//! `arenaplan inspect`: the graph and its live-bytes profile.

use anyhow::Context;
use arenaplan_planner::{lower, Graph, OpId, TensorId};
use clap::Args;

use super::limit_args::LimitArgs;
use super::ModelSource;

/// Arguments of `arenaplan inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A `.tflite` file or a zoo model name (default: the zoo's mobilenet_v2_030_80_1000).
    model: Option<String>,
    /// Resource limits for loading the model.
    #[command(flatten)]
    limits: LimitArgs,
}

fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", dims.join("x"))
}

pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    let source = ModelSource::resolve(args.model.as_deref())?;
    let bytes = source.read()?;
    let mut request = source.request()?;
    request.limits = args.limits.apply(request.limits);
    request.limits.check_ceilings()?;
    let graph = Graph::from_bytes_within(&bytes, &request.limits)
        .with_context(|| format!("cannot load {}", source.path.display()))?;
    let lowering = lower(&graph, &graph.default_schedule(), &request)?;
    let profile = lowering.problem.live_profile();
    let peak = profile.iter().copied().max().unwrap_or(0).max(1);

    outln!(
        "model {}: {} ops, {} tensors, {} MACs, lower bound {} B",
        source.name,
        graph.op_count(),
        graph.tensor_count(),
        graph.total_macs(),
        lowering.problem.lower_bound()
    );
    outln!(
        "{:>4} {:<20} {:<22} {:>10} {:>12} {:>10}  live bytes at this step",
        "op",
        "type",
        "output",
        "out B",
        "MACs",
        "live B"
    );
    let bar_width = 30usize;
    outln!(
        "{:>4} {:<20} {:<22} {:>10} {:>12} {:>10}  {}",
        "-",
        "(inputs)",
        "",
        "",
        "",
        profile[0],
        bar(profile[0], peak, bar_width)
    );
    for (pos, &op) in graph.default_schedule().iter().enumerate() {
        let operator = graph.op(op);
        let out = operator.outputs.first().map(|&t| graph.tensor(TensorId(t as u32)));
        let live = profile.get(pos + 1).copied().unwrap_or(0);
        outln!(
            "{:>4} {:<20} {:<22} {:>10} {:>12} {:>10}  {}",
            op.0,
            operator.kind.name(),
            out.map(|t| shape_text(&t.shape)).unwrap_or_default(),
            out.map(|t| t.byte_size).unwrap_or(0),
            graph.macs(OpId(op.0)),
            live,
            bar(live, peak, bar_width)
        );
    }
    Ok(())
}

fn bar(value: u64, peak: u64, width: usize) -> String {
    let filled = ((value as f64 / peak as f64) * width as f64).round() as usize;
    "#".repeat(filled)
}
