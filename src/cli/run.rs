//! `arenaplan run`: one inference of a model inside a plan, in one arena.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use arenaplan_kernels as kernels;
use arenaplan_planner::program::compile_checked;
use arenaplan_planner::Graph;
use clap::Args;

use super::plan::{plan_and_check, selected_strategies};
use super::request_args::RequestArgs;
use super::ModelSource;

/// Arguments of `arenaplan run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A `.tflite` file or a zoo model name (default: the zoo's mobilenet_v2_030_80_1000).
    model: Option<String>,
    /// The strategy that plans the arena.
    #[arg(long, short = 's', default_value = "greedy-by-size")]
    strategy: String,
    /// Raw int8 input (the model's first input, row-major); a seeded random input when absent.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Where to write the raw int8 output (the model's first output).
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Seed of the random input (the planning seed is `--seed`).
    #[arg(long, default_value_t = 0)]
    input_seed: u64,
    /// The request: alignment, capacity, time limit, seed, kernel set.
    #[command(flatten)]
    request: RequestArgs,
}

/// A seeded random int8 vector (xorshift: deterministic everywhere).
fn random_input(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let source = ModelSource::resolve(args.model.as_deref())?;
    let bytes = source.read()?;
    let request = args.request.request(&source)?;
    let graph = Graph::from_bytes_within(&bytes, &request.limits)
        .with_context(|| format!("cannot load {}", source.path.display()))?;
    let strategy = selected_strategies(std::slice::from_ref(&args.strategy))?.remove(0);
    let (plan, checked) = plan_and_check(strategy.as_ref(), &graph, &request)?;
    let compiled = compile_checked(&graph, &plan, &checked).context("cannot compile the plan to a program")?;
    let program = compiled.program(&bytes);
    let mut arena = vec![0u8; program.arena_bytes as usize];
    let descriptor = compiled.input_descriptors.first().context("the model has no input")?;
    let input_len = descriptor.elements() * descriptor.element.size_bytes();
    let input = match &args.input {
        Some(path) => std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        None => random_input(input_len, args.input_seed),
    };
    if input.len() != input_len {
        bail!("input has {} bytes, the model's first input needs {}", input.len(), input_len);
    }
    let streamed = kernels::input_is_streamed(&program, 0);
    if !streamed {
        kernels::input_mut(&program, &mut arena, 0).context("the model has no input")?.copy_from_slice(&input);
    }
    // A plan that streams its input reads it row by row from the bytes read above.
    let row_bytes = (descriptor.dims[2] * descriptor.dims[3]) as usize;
    let mut rows = |_: usize, row: usize, offset: usize, out: &mut [u8]| {
        let start = row * row_bytes + offset;
        input.get(start..start + out.len()).map(|bytes| out.copy_from_slice(bytes)).is_some()
    };
    let started = Instant::now();
    kernels::run_streaming(&program, &mut arena, &mut rows)?;
    let seconds = started.elapsed().as_secs_f64();
    let out = kernels::output(&program, &arena, 0).context("the model has no output")?;
    if let Some(path) = &args.output {
        super::export::write_atomically(path, out)?;
    }
    let ram = program.arena_bytes as usize;
    outln!(
        "model {} planned by {}: {} steps, {:.3} ms on this host",
        source.name,
        plan.meta.strategy,
        program.steps.len(),
        seconds * 1e3
    );
    outln!(
        "RAM: arena {ram} B (activations and scratch; the program's {} B of steps and constants stay in flash)",
        compiled.constant_bytes()
    );
    match super::plan::tflm_view(&graph, &source.name)?.figures.filter(|f| f.total_bytes > 0) {
        Some(f) => {
            let change = (ram as f64 - f.total_bytes as f64) * 100.0 / f.total_bytes as f64;
            let relation = if change <= 0.0 { "less" } else { "more" };
            outln!(
                "TFLM: total {} B (head {} B + tail {} B); arenaplan's arena is {:.1}% {relation} than TFLM's total",
                f.total_bytes,
                f.head_bytes,
                f.tail_bytes,
                change.abs()
            )
        }
        None => outln!("TFLM: no reference figures for this model"),
    }
    let preview: Vec<String> = out.iter().take(16).map(|&b| (b as i8).to_string()).collect();
    outln!("output[0..{}]: {}", preview.len(), preview.join(" "));
    Ok(())
}
