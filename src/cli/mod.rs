//! Command-line parsing and dispatch.

mod bench;
mod compare;
mod export;
mod inspect;
mod limit_args;
mod model_source;
mod pack;
mod pareto;
mod plan;
mod request_args;
mod run;
mod svg;

use clap::{Parser, Subcommand};

pub use model_source::ModelSource;

/// Plans the RAM of int8 TFLite models for microcontrollers.
#[derive(Debug, Parser)]
#[command(name = "arenaplan", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Plan a model with one or more strategies and compare arena sizes.
    Plan(plan::PlanArgs),
    /// Print a model's graph (ops, shapes, sizes, MACs) and its live-bytes profile.
    Inspect(inspect::InspectArgs),
    /// Place a MiniMalloc-format allocation instance (CSV) and write the solution.
    Pack(pack::PackArgs),
    /// Run one inference of a model inside a plan, in one arena, and report the RAM it used.
    Run(run::RunArgs),
    /// Export a validated plan: TFLM model with an offline plan, C header, JSON document or MiniMalloc CSV.
    Export(export::ExportArgs),
    /// Check a JSON plan (from `export --format json`) against its model with the independent validator.
    CheckPlan(export::CheckPlanArgs),
    /// Compare strategies on one model (table ranked by arena; `--svg` draws the layouts side by side).
    Compare(compare::CompareArgs),
    /// The latency-RAM front of a model: arena bytes against estimated Cortex-M cycles over the kernel and
    /// placement choices, the point the objective picks (`--ram-budget`, `--latency-budget`), `--svg` draws it.
    Pareto(pareto::ParetoArgs),
    /// Run one inference on a Cortex-M board under QEMU: exact instructions per step, estimated cycles, RAM,
    /// flash, bit-exactness and whether it fits the board.
    Bench(bench::BenchArgs),
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Plan(args) => plan::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Pack(args) => pack::run(args),
        Command::Run(args) => run::run(args),
        Command::Export(args) => export::run(args),
        Command::CheckPlan(args) => export::run_check(args),
        Command::Compare(args) => compare::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Pareto(args) => pareto::run(args),
    }
}
