//! Command-line parsing and dispatch.

mod inspect;
mod model_source;
mod pack;
mod plan;

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
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Plan(args) => plan::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Pack(args) => pack::run(args),
    }
}
