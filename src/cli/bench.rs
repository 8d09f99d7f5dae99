//! `arenaplan bench`: one inference of a planned model on a Cortex-M board, counted under QEMU.
//!
//! The model is planned and exported exactly as `arenaplan export --format rust` does, run once on the host
//! with the same program (the reference for bit-exactness), then built into `benches/firmware` for the
//! board's core and run under `qemu-system-arm` with the `insn_mix` plugin ([`arenaplan::board`]). The input
//! is the zoo model's first golden sample when it has one (then the golden output is checked too), `--input`
//! when given, else a seeded pseudo-random one.

use std::path::PathBuf;

use anyhow::{bail, Context};
use arenaplan::board::{self, FirmwareSource, Measurement};
use arenaplan_datasets as datasets;
use arenaplan_kernels::{self as kernels, Step, StepParams};
use arenaplan_planner::export::rust;
use arenaplan_planner::program::compile;
use arenaplan_planner::Graph;
use clap::Args;

use super::export::plan_named;
use super::request_args::RequestArgs;
use super::ModelSource;

/// Arguments of `arenaplan bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A `.tflite` file or a zoo model name.
    model: String,
    /// A board of `datasets/boards/boards.json` (counted on its emulated machine) or an emulated machine
    /// (`mps2-an386`, `mps2-an500`, `mps3-an547`).
    #[arg(long, short = 'b')]
    board: String,
    /// The strategy that plans the arena; `best` keeps the smallest arena of every registered strategy.
    #[arg(long, short = 's', default_value = "greedy-by-size")]
    strategy: String,
    /// Raw int8 input: every model input, concatenated in input order (default: the zoo's first golden sample,
    /// else a seeded pseudo-random input).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Seed of the pseudo-random input (the planning seed is `--seed`).
    #[arg(long, default_value_t = 0)]
    input_seed: u64,
    /// The request: alignment, capacity, time limit, seed, kernel set.
    #[command(flatten)]
    request: RequestArgs,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

/// A seeded pseudo-random byte vector (SplitMix64: the same bytes everywhere).
fn seeded_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 56) as u8
        })
        .collect()
}

/// Multiply-accumulates of a step (convolutions and fully connected layers; 0 for the others).
pub fn step_macs(step: &Step) -> u64 {
    match &step.params {
        StepParams::Conv(p) => {
            let outputs: u64 = p.output.iter().map(|&d| d as u64).product();
            let per_output = p.filter_h as u64 * p.filter_w as u64;
            if step.kernel == kernels::KernelId::DepthwiseConv2dS8 {
                outputs * per_output
            } else {
                outputs * per_output * p.input[3] as u64
            }
        }
        StepParams::FullyConnected(p) => p.batches as u64 * p.depth as u64 * p.units as u64,
        _ => 0,
    }
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let source = ModelSource::resolve(Some(&args.model))?;
    let bytes = source.read()?;
    let request = args.request.request(&source)?;
    let graph = Graph::from_bytes_within(&bytes, &request.limits)
        .with_context(|| format!("cannot load {}", source.path.display()))?;
    let plan = plan_named(&args.strategy, &graph, &request)?;
    let module = rust::to_rust(&graph, &plan, &source.name)?;
    let compiled = compile(&graph, &plan).context("cannot compile the plan to a program")?;
    let program = compiled.program(&bytes);

    // The input: every model input, concatenated.
    let mut arena = vec![0u8; program.arena_bytes as usize];
    let input_lens: Vec<usize> = program.inputs.iter().map(|s| s.len as usize).collect();
    let total: usize = input_lens.iter().sum();
    let golden = match args.input {
        Some(_) => None,
        None => datasets::goldens(&source.name).ok().and_then(|g| g.into_iter().next()),
    };
    let (input, input_origin) = match (&args.input, &golden) {
        (Some(path), _) => (std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?, "--input"),
        (None, Some(g)) => (g.inputs.iter().flatten().map(|&v| v as u8).collect(), "golden sample 0"),
        (None, None) => (seeded_bytes(total, args.input_seed), "seeded pseudo-random"),
    };
    if input.len() != total {
        bail!("the input has {} bytes, the model's inputs need {total}", input.len());
    }
    let mut offset = 0;
    for (i, len) in input_lens.iter().enumerate() {
        kernels::input_mut(&program, &mut arena, i)
            .context("an input lies outside the arena")?
            .copy_from_slice(&input[offset..offset + len]);
        offset += len;
    }
    kernels::run(&program, &mut arena).context("the program failed on the host")?;
    let host: Vec<Vec<u8>> =
        (0..program.outputs.len()).map(|j| kernels::output(&program, &arena, j).unwrap_or(&[]).to_vec()).collect();

    let kernels_name = request.kernels.name();
    let label = format!("{}-{}-{}", source.name, args.board, kernels_name);
    let firmware = FirmwareSource { label: &label, program_rs: &module, model: &bytes, input: &input };
    let m = board::measure(&firmware, &args.board)?;
    // A fused segment's members run inside their header's step: the plugin counts the steps the observer sees.
    let observed: Vec<Step> = kernels::observed_steps(program.steps).map(|i| program.steps[i]).collect();
    if m.steps.len() != observed.len() {
        bail!("the plugin counted {} steps, the program runs {}", m.steps.len(), observed.len());
    }

    let bit_exact_host = m.outputs == host;
    let bit_exact_golden = golden.as_ref().map(|g| {
        let expected: Vec<Vec<u8>> = g.outputs.iter().map(|o| o.iter().map(|&v| v as u8).collect()).collect();
        m.outputs == expected
    });
    let report = Report {
        model: &source.name,
        strategy: &plan.meta.strategy,
        kernels: kernels_name,
        input_origin,
        steps: &observed,
        all_steps: program.steps,
        arena_bytes: program.arena_bytes as u64,
        m: &m,
        bit_exact_host,
        bit_exact_golden,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report.json())?);
    } else {
        report.print()?;
    }
    if !bit_exact_host {
        bail!("the firmware's outputs differ from the host run of the same program");
    }
    if bit_exact_golden == Some(false) {
        bail!("the firmware's outputs differ from the model's golden outputs");
    }
    Ok(())
}

struct Report<'a> {
    model: &'a str,
    strategy: &'a str,
    kernels: &'a str,
    input_origin: &'a str,
    /// The steps the board counted (a fused segment's header stands for its members).
    steps: &'a [Step],
    /// Every step, members included (for the MACs).
    all_steps: &'a [Step],
    arena_bytes: u64,
    m: &'a Measurement,
    bit_exact_host: bool,
    bit_exact_golden: Option<bool>,
}

impl Report<'_> {
    fn total_macs(&self) -> u64 {
        self.all_steps.iter().map(step_macs).sum()
    }

    fn ms(&self) -> f64 {
        self.m.step_cycles() / self.m.board.clock_hz as f64 * 1e3
    }

    /// "fits", or what is missing.
    fn verdict(&self) -> String {
        let ram = self.m.ram_bytes();
        let flash = self.m.sections.flash_bytes();
        let mut missing = Vec::new();
        if ram > self.m.board.ram_bytes {
            missing.push(format!("{} more bytes of RAM", ram - self.m.board.ram_bytes));
        }
        if flash > self.m.board.flash_bytes {
            missing.push(format!("{} more bytes of flash", flash - self.m.board.flash_bytes));
        }
        if missing.is_empty() {
            "fits".to_owned()
        } else {
            format!("does not fit: needs {}", missing.join(" and "))
        }
    }

    fn golden_text(&self) -> &'static str {
        match self.bit_exact_golden {
            Some(true) => "bit-exact",
            Some(false) => "DIFFERENT",
            None => "no golden output for this input",
        }
    }

    fn print(&self) -> anyhow::Result<()> {
        let m = self.m;
        outln!(
            "model {} (`{}` plan, {} kernels) on {} ({}, {} MHz), counted on QEMU {} ({})",
            self.model,
            self.strategy,
            self.kernels,
            m.board.name,
            m.board.core,
            m.board.clock_hz as f64 / 1e6,
            m.machine.qemu_machine,
            m.machine.qemu_cpu
        );
        outln!("instructions: exact (QEMU TCG plugin); cycles: estimated from datasets/boards/timing.json");
        outln!(
            "{:>4}  {:<22} {:>12} {:>14} {:>14} {:>9} {:>9}",
            "step",
            "kernel",
            "MACs",
            "instructions",
            "est. cycles",
            "insn/MAC",
            "cyc/MAC"
        );
        for (i, (step, seg)) in self.steps.iter().zip(&m.steps).enumerate() {
            let macs = step_macs(step);
            let per = |x: f64| if macs > 0 { format!("{:.2}", x / macs as f64) } else { "-".to_owned() };
            outln!(
                "{:>4}  {:<22} {:>12} {:>14} {:>14.0} {:>9} {:>9}",
                i,
                kernel_name(step),
                if macs > 0 { macs.to_string() } else { "-".to_owned() },
                seg.instructions,
                seg.estimated_cycles,
                per(seg.instructions as f64),
                per(seg.estimated_cycles)
            );
        }
        let macs = self.total_macs();
        let insns = m.step_instructions();
        let cycles = m.step_cycles();
        let per = |x: f64| if macs > 0 { format!("{:.2}", x / macs as f64) } else { "-".to_owned() };
        outln!(
            "{:>4}  {:<22} {:>12} {:>14} {:>14.0} {:>9} {:>9}",
            "",
            "total",
            macs,
            insns,
            cycles,
            per(insns as f64),
            per(cycles)
        );
        outln!(
            "time: {:.3} ms at {} MHz (estimated); outside the steps: {} instructions before (stack paint, input), \
             {} after (report)",
            self.ms(),
            m.board.clock_hz as f64 / 1e6,
            m.setup.instructions,
            m.teardown.instructions
        );
        let other_statics = m.sections.static_ram_bytes().saturating_sub(self.arena_bytes);
        outln!(
            "RAM: {} B = arena {} B + stack {} B (painted, high-water) + other statics {} B (.data + .bss)",
            m.ram_bytes(),
            self.arena_bytes,
            m.stack_bytes,
            other_statics
        );
        outln!(
            "flash: {} B = .text {} B + .rodata {} B (model, program) + vectors {} B + .data image {} B [{}]",
            m.sections.flash_bytes(),
            m.sections.text,
            m.sections.rodata,
            m.sections.vector_table,
            m.sections.data,
            m.memory_layout
        );
        if let Some(timer) = m.timer_instructions {
            outln!(
                "cross-check: the APB timer under -icount counted {timer} instructions (+-40) around the run, the \
                 plugin {} in the steps ({:+} for the program check and markers outside them)",
                insns,
                timer as i64 - insns as i64
            );
        }
        outln!(
            "outputs ({}): {} with the host run of the same program; golden: {}",
            self.input_origin,
            if self.bit_exact_host { "bit-exact" } else { "DIFFERENT" },
            self.golden_text()
        );
        outln!(
            "board {}: {} (RAM {} B of {} B: {}; flash {} B of {} B)",
            m.board.name,
            self.verdict(),
            m.ram_bytes(),
            m.board.ram_bytes,
            m.board.ram_counted,
            m.sections.flash_bytes(),
            m.board.flash_bytes
        );
        Ok(())
    }

    fn json(&self) -> serde_json::Value {
        let m = self.m;
        let steps: Vec<serde_json::Value> = self
            .steps
            .iter()
            .zip(&m.steps)
            .enumerate()
            .map(|(i, (step, seg))| {
                serde_json::json!({
                    "index": i,
                    "kernel": kernel_name(step),
                    "macs": step_macs(step),
                    "instructions": seg.instructions,
                    "estimated_cycles": seg.estimated_cycles,
                    "classes": seg.counts,
                })
            })
            .collect();
        serde_json::json!({
            "model": self.model,
            "strategy": self.strategy,
            "kernels": self.kernels,
            "board": {
                "name": m.board.name,
                "core": m.board.core,
                "clock_hz": m.board.clock_hz,
                "ram_bytes": m.board.ram_bytes,
                "flash_bytes": m.board.flash_bytes,
            },
            "machine": m.machine.qemu_machine,
            "memory_layout": m.memory_layout,
            "instructions_counted_by": "QEMU TCG plugin insn_mix (exact, per step)",
            "cycles_estimated_by": "datasets/boards/timing.json",
            "steps": steps,
            "total": {
                "macs": self.total_macs(),
                "instructions": m.step_instructions(),
                "estimated_cycles": m.step_cycles(),
                "estimated_ms": self.ms(),
                "setup_instructions": m.setup.instructions,
                "teardown_instructions": m.teardown.instructions,
                "timer_instructions": m.timer_instructions,
            },
            "ram": {
                "total_bytes": m.ram_bytes(),
                "arena_bytes": self.arena_bytes,
                "stack_bytes": m.stack_bytes,
                "other_static_bytes": m.sections.static_ram_bytes().saturating_sub(self.arena_bytes),
            },
            "flash": {
                "total_bytes": m.sections.flash_bytes(),
                "text_bytes": m.sections.text,
                "rodata_bytes": m.sections.rodata,
                "vector_table_bytes": m.sections.vector_table,
                "data_bytes": m.sections.data,
            },
            "input": self.input_origin,
            "bit_exact_host": self.bit_exact_host,
            "bit_exact_golden": self.bit_exact_golden,
            "verdict": self.verdict(),
        })
    }
}

fn kernel_name(step: &Step) -> String {
    match step.variant {
        kernels::Variant::Reference => step.kernel.name().to_owned(),
        other => format!("{} ({})", step.kernel.name(), other.name()),
    }
}
