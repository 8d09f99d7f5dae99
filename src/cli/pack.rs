//! `arenaplan pack`: place a MiniMalloc-format allocation instance and write the solution CSV.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use arenaplan_planner::minimalloc_csv::{read_csv_within, write_csv};
use arenaplan_planner::{pack_checked_within, PackLimits};

use super::limit_args::LimitArgs;
use arenaplan_strategies as strategies;
use clap::Args;

/// Arguments of `arenaplan pack`.
#[derive(Debug, Args)]
pub struct PackArgs {
    /// The instance, in MiniMalloc's CSV format (`id,lower,upper,size[,alignment]`).
    instance: PathBuf,
    /// The packer to use.
    #[arg(long, short = 's', default_value = "greedy-by-size")]
    strategy: String,
    /// Where to write the solution CSV (with an `offset` column); standard output when absent.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Capacity the arena must fit in, in bytes.
    #[arg(long)]
    capacity: Option<u64>,
    /// Time limit, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    time_limit_ms: u64,
    /// Seed of randomised packers.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// With `--strategy exact`: a progress line (elapsed, nodes, proven bound, best arena) on stderr every second.
    #[arg(long)]
    progress: bool,
    /// Resource limits for the instance.
    #[command(flatten)]
    limits: LimitArgs,
}

pub fn run(args: PackArgs) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(&args.instance).with_context(|| format!("cannot read {}", args.instance.display()))?;
    let resources = args.limits.limits()?;
    let mut problem = read_csv_within(&text, &resources)
        .with_context(|| format!("malformed instance {}", args.instance.display()))?
        .problem;
    if let Some(capacity) = args.capacity {
        problem.capacity = Some(capacity);
    }
    let Some(mut packer) = strategies::packer_by_name(&args.strategy) else {
        bail!("unknown packer `{}` (known: {})", args.strategy, strategies::packer_names().join(", "));
    };
    if args.progress && args.strategy == "exact" {
        let interval = Duration::from_secs(1);
        packer = Box::new(
            strategies::ExactPacker::default().with_progress(strategies::exact::Progress::Stderr { interval }),
        );
    }
    let limits = PackLimits { time_limit: Duration::from_millis(args.time_limit_ms), seed: args.seed };
    let started = Instant::now();
    let (packing, arena) = pack_checked_within(packer.as_ref(), &problem, &limits, &resources)?;
    let seconds = started.elapsed().as_secs_f64();
    let csv = write_csv(&problem, Some(&packing.offsets));
    match &args.output {
        Some(path) => super::export::write_atomically(path, csv.as_bytes())?,
        None => crate::write_stdout(format_args!("{csv}"))?,
    }
    errln!(
        "{}: {} buffers, arena {} B, lower bound {} B, gap {:.2}%, {:?}, {:.3} ms",
        packer.name(),
        problem.buffers.len(),
        arena,
        packing.lower_bound_bytes,
        arenaplan_planner::plan::gap_percent(arena, packing.lower_bound_bytes),
        packing.status,
        seconds * 1e3
    );
    Ok(())
}
