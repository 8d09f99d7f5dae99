//! Whole models on emulated Cortex-M boards: every zoo network, exported as a Rust program, built into the
//! measurement firmware and run under QEMU ([`arenaplan::board::measure`]), with both kernel sets. Gives the
//! per-model table (instructions, instructions per MAC, estimated cycles, RAM, flash, per board), the layer
//! targets of the kernels work, and the per-variant cost table the latency-RAM tradeoff reads.

use arenaplan::board::{self, FirmwareSource, Measurement};
use arenaplan::datasets;
use arenaplan::kernels::{Step, StepParams};
pub use arenaplan::planner::cost::{cost_class, CostEntry, CostTable, LinearCost, COST_TABLE_SCHEMA};
use arenaplan::planner::export::rust::to_rust;
use arenaplan::planner::program::compile;
use arenaplan::planner::{Graph, KernelVariant, OpId, PlanRequest};
use arenaplan::strategies::strategy_by_name;
use serde::{Deserialize, Serialize};

/// One network measured on one board with one kernel set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoardRow {
    /// Zoo name.
    pub model: String,
    /// The emulated machine the instructions were counted on.
    pub machine: String,
    /// Its core.
    pub core: String,
    /// Kernel set.
    pub kernels: KernelVariant,
    /// Multiply-accumulates of one inference.
    pub macs: u64,
    /// Instructions of the inference (every step; setup and printing excluded).
    pub instructions: u64,
    /// Estimated cycles of the inference (timing model of the core).
    pub estimated_cycles: f64,
    /// The machine's clock, for the milliseconds column.
    pub clock_hz: u64,
    /// The plan's arena.
    pub arena_bytes: u64,
    /// Stack high-water mark.
    pub stack_bytes: u64,
    /// RAM: statics (the arena among them) plus the stack used.
    pub ram_bytes: u64,
    /// Flash: code, constants (model, program) and `.data`'s initial image.
    pub flash_bytes: u64,
    /// Whether the outputs equal the host run of the same program.
    pub bit_exact_host: bool,
    /// Whether the outputs equal TFLM's golden output for the same input.
    pub bit_exact_tflm: bool,
}

impl BoardRow {
    /// Instructions per multiply-accumulate.
    pub fn instructions_per_mac(&self) -> f64 {
        self.instructions as f64 / self.macs.max(1) as f64
    }
}

/// One step measured: a sample of its kernel variant's cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepSample {
    /// Zoo name.
    pub model: String,
    /// Core it was counted on.
    pub core: String,
    /// Kernel set of the step.
    pub kernels: KernelVariant,
    /// Cost class: the kernel and its shape specialisation (`conv2d_s8_1x1`, `dwconv2d_s8_3x3`, ...).
    pub class: String,
    /// Shape, `HxWxC->C'` with the filter, for finding layers.
    pub shape: String,
    /// Multiply-accumulates.
    pub macs: u64,
    /// Output bytes.
    pub output_bytes: u64,
    /// Instructions executed.
    pub instructions: u64,
    /// Estimated cycles.
    pub estimated_cycles: f64,
}

fn shape_of(step: &Step) -> String {
    match &step.params {
        StepParams::Conv(p) => format!(
            "{}x{}x{}->{} k{}x{} s{}",
            p.input[1], p.input[2], p.input[3], p.output[3], p.filter_h, p.filter_w, p.stride_h
        ),
        _ => format!("{} B", step.output.len),
    }
}

/// Measure zoo network `name` on `machine` with `kernels`, planned by `strategy`.
pub fn measure_network(
    name: &str,
    machine: &str,
    kernels: KernelVariant,
    strategy: &str,
) -> anyhow::Result<(BoardRow, Vec<StepSample>)> {
    let bytes = datasets::model_bytes(name)?;
    let graph = Graph::from_bytes(&bytes)?;
    let strategy = strategy_by_name(strategy).ok_or_else(|| anyhow::anyhow!("unknown strategy {strategy}"))?;
    let plan = strategy.plan(&graph, &PlanRequest::default().with_kernels(kernels))?;
    let compiled = compile(&graph, &plan)?;
    let program_rs = to_rust(&graph, &plan, name)?;
    let golden = datasets::goldens(name)?.into_iter().next().ok_or_else(|| anyhow::anyhow!("{name}: no golden"))?;
    let input: Vec<u8> = golden.inputs.iter().flatten().map(|&v| v as u8).collect();
    let label = format!("{name}-{machine}-{}", kernels.name());
    let source = FirmwareSource { label: &label, program_rs: &program_rs, model: &bytes, input: &input };
    let m: Measurement = board::measure(&source, machine)?;

    // The same program on the host, for the bit-exactness check.
    let program = compiled.program(&bytes);
    let mut arena = vec![0u8; program.arena_bytes as usize];
    let mut at = 0;
    for i in 0..program.inputs.len() {
        let slot = arenaplan::kernels::input_mut(&program, &mut arena, i).expect("input slot");
        let n = slot.len();
        slot.copy_from_slice(&input[at..at + n]);
        at += n;
    }
    arenaplan::kernels::run(&program, &mut arena)?;
    let host: Vec<Vec<u8>> =
        (0..program.outputs.len()).map(|j| arenaplan::kernels::output(&program, &arena, j).unwrap().to_vec()).collect();
    let tflm: Vec<Vec<u8>> = golden.outputs.iter().map(|o| o.iter().map(|&v| v as u8).collect()).collect();
    let observed: Vec<usize> = arenaplan::kernels::observed_steps(&compiled.steps).collect();
    anyhow::ensure!(
        m.steps.len() == observed.len(),
        "{name}: {} segments for {} observed steps",
        m.steps.len(),
        observed.len()
    );

    // One sample per step that is one operator's kernel: a fused segment's header counts its members together,
    // so it is no sample of any one kernel.
    let samples = observed
        .iter()
        .zip(&m.steps)
        .filter_map(|(&i, seg)| Some((&compiled.steps[i], seg, compiled.step_ops[i]?)))
        .map(|(step, seg, op)| StepSample {
            model: name.to_owned(),
            core: m.machine.core.clone(),
            kernels: if step.variant == arenaplan::kernels::Variant::Optimized {
                KernelVariant::Optimized
            } else {
                KernelVariant::Reference
            },
            class: cost_class(step),
            shape: shape_of(step),
            macs: graph.macs(OpId(op)),
            output_bytes: step.output.len as u64,
            instructions: seg.instructions,
            estimated_cycles: seg.estimated_cycles,
        })
        .collect();
    let row = BoardRow {
        model: name.to_owned(),
        machine: m.board.machine.clone(),
        core: m.machine.core.clone(),
        kernels,
        macs: graph.total_macs(),
        instructions: m.step_instructions(),
        estimated_cycles: m.step_cycles(),
        clock_hz: m.board.clock_hz,
        arena_bytes: plan.arena_bytes,
        stack_bytes: m.stack_bytes,
        ram_bytes: m.ram_bytes(),
        flash_bytes: m.sections.flash_bytes(),
        bit_exact_host: m.outputs == host,
        bit_exact_tflm: m.outputs == tflm,
    };
    Ok((row, samples))
}

/// Least squares of `y` on the columns of `x` (rows of features); columns that are all zero are dropped
/// (their coefficient is 0). Returns one coefficient per column.
pub fn least_squares(x: &[[f64; 3]], y: &[f64]) -> [f64; 3] {
    let used: Vec<usize> = (0..3).filter(|&j| x.iter().any(|r| r[j] != 0.0)).collect();
    let mut coefficients = [0.0; 3];
    // Drop columns until the normal equations are solvable (fewer samples than columns, collinear columns).
    for keep in (1..=used.len()).rev() {
        let cols = &used[..keep];
        let n = cols.len();
        let mut a = vec![vec![0.0; n + 1]; n];
        for (row, &target) in x.iter().zip(y) {
            for i in 0..n {
                for j in 0..n {
                    a[i][j] += row[cols[i]] * row[cols[j]];
                }
                a[i][n] += row[cols[i]] * target;
            }
        }
        if let Some(solution) = solve(a) {
            for (k, &c) in cols.iter().enumerate() {
                coefficients[c] = solution[k];
            }
            return coefficients;
        }
    }
    coefficients
}

/// Gaussian elimination with partial pivoting on an augmented matrix; `None` when singular.
fn solve(mut a: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let n = a.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        let scale = a.iter().map(|r| r[col].abs()).fold(0.0, f64::max);
        if a[pivot][col].abs() <= 1e-12 * scale.max(1.0) {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col].clone();
        for (i, row) in a.iter_mut().enumerate() {
            if i != col {
                let f = row[col] / pivot_row[col];
                for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *x -= f * p;
                }
            }
        }
    }
    Some((0..n).map(|i| a[i][n] / a[i][i]).collect())
}

/// Fit `value` over `samples`, minimising the squared *relative* errors (each row and its target divided by
/// the target), so small layers weigh as much as large ones.
fn fit(samples: &[&StepSample], value: impl Fn(&StepSample) -> f64) -> LinearCost {
    let weight = |s: &StepSample| 1.0 / value(s).max(1.0);
    let x: Vec<[f64; 3]> =
        samples.iter().map(|s| [1.0, s.macs as f64, s.output_bytes as f64].map(|v| v * weight(s))).collect();
    let y: Vec<f64> = samples.iter().map(|s| value(s) * weight(s)).collect();
    let [a, per_mac, per_output_byte] = least_squares(&x, &y);
    let cost = LinearCost { a, per_mac, per_output_byte, max_relative_error: 0.0 };
    let max_relative_error = samples
        .iter()
        .map(|s| (cost.estimate(s.macs, s.output_bytes) - value(s)).abs() / value(s).max(1.0))
        .fold(0.0, f64::max);
    LinearCost { max_relative_error, ..cost }
}

/// Fit the cost table from step samples: one entry per core, kernel set and class.
pub fn cost_table(samples: &[StepSample]) -> CostTable {
    let mut keys: Vec<(String, KernelVariant, String)> =
        samples.iter().map(|s| (s.core.clone(), s.kernels, s.class.clone())).collect();
    keys.sort();
    keys.dedup();
    let entries = keys
        .into_iter()
        .map(|(core, kernels, class)| {
            let group: Vec<&StepSample> =
                samples.iter().filter(|s| s.core == core && s.kernels == kernels && s.class == class).collect();
            CostEntry {
                samples: group.len(),
                instructions: fit(&group, |s| s.instructions as f64),
                estimated_cycles: fit(&group, |s| s.estimated_cycles),
                core,
                kernels,
                class,
            }
        })
        .collect();
    CostTable {
        schema: COST_TABLE_SCHEMA.to_owned(),
        about: "Per kernel variant and core: instructions and estimated cycles of one step as a + per_mac * MACs + \
                per_output_byte * output bytes, least squares of the relative error over every step of every zoo network \
                counted on the emulated boards (QEMU, insn_mix plugin, timing model of datasets/boards/timing.json). Regenerated by \
                `cargo run --release -p arenaplan-benches --bin report`."
            .to_owned(),
        entries,
    }
}

/// A layer target of the kernels work: a shape, the CMSIS-NN figure measured the same way, and our bound.
pub struct LayerTarget {
    /// What the README calls it.
    pub label: &'static str,
    /// The cost class.
    pub class: &'static str,
    /// The shape, as [`StepSample::shape`] writes it.
    pub shape: &'static str,
    /// CMSIS-NN's instructions per MAC on the emulated Cortex-M4 (from the measurement).
    pub cmsis_nn_instructions_per_mac: f64,
    /// Our target.
    pub target_instructions_per_mac: f64,
}

/// The layer targets (shapes of the zoo's DS-CNN and ResNet-8).
pub const LAYER_TARGETS: &[LayerTarget] = &[
    LayerTarget {
        label: "1x1 conv 25x5x64->64",
        class: "conv2d_s8_1x1",
        shape: "25x5x64->64 k1x1 s1",
        cmsis_nn_instructions_per_mac: 2.09,
        target_instructions_per_mac: 1.2,
    },
    LayerTarget {
        label: "3x3 conv 32x32x16->16",
        class: "conv2d_s8",
        shape: "32x32x16->16 k3x3 s1",
        cmsis_nn_instructions_per_mac: 2.33,
        target_instructions_per_mac: 1.3,
    },
    LayerTarget {
        label: "3x3 conv 8x8x64->64",
        class: "conv2d_s8",
        shape: "8x8x64->64 k3x3 s1",
        cmsis_nn_instructions_per_mac: 1.76,
        target_instructions_per_mac: 1.3,
    },
    LayerTarget {
        label: "3x3 depthwise 25x5x64",
        class: "dwconv2d_s8_3x3",
        shape: "25x5x64->64 k3x3 s1",
        cmsis_nn_instructions_per_mac: 7.8,
        target_instructions_per_mac: 4.5,
    },
];

/// The README's Cortex-M tables: per model and board, the layer targets, the whole-model targets.
pub fn render_markdown(rows: &[BoardRow], samples: &[StepSample], failures: &[String]) -> String {
    let mut out = String::from(
        "Instructions are exact counts of the emulated machine (QEMU, `insn_mix` plugin, steps only); estimated \
         cycles apply the core's timing model (`datasets/boards/timing.json`) to the exact instruction mix; ms at \
         the emulated board's clock. RAM = statics (the arena among them) + measured stack; flash = code + \
         constants (model, program). Bit-exact: the board's outputs equal the host run and TFLM's golden output.\n\n\
         | model | machine (core) | kernels | MACs | instructions | instr/MAC | est. cycles | cycles/MAC | ms | arena B | stack B | RAM B | flash B | bit-exact |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} ({}) | {} | {} | {} | {:.2} | {:.0} | {:.2} | {:.1} | {} | {} | {} | {} | {} |\n",
            r.model,
            r.machine,
            r.core,
            r.kernels.name(),
            r.macs,
            r.instructions,
            r.instructions_per_mac(),
            r.estimated_cycles,
            r.estimated_cycles / r.macs.max(1) as f64,
            r.estimated_cycles * 1e3 / r.clock_hz.max(1) as f64,
            r.arena_bytes,
            r.stack_bytes,
            r.ram_bytes,
            r.flash_bytes,
            match (r.bit_exact_host, r.bit_exact_tflm) {
                (true, true) => "yes",
                (true, false) => "host only",
                (false, _) => "NO",
            }
        ));
    }
    for f in failures {
        out.push_str(&format!("\nNot measured: {f}\n"));
    }
    out.push_str("\nTargets (emulated Cortex-M4, optimized kernels):\n\n");
    for t in LAYER_TARGETS {
        let ours = samples.iter().find(|s| {
            s.core == "cortex-m4" && s.kernels == KernelVariant::Optimized && s.class == t.class && s.shape == t.shape
        });
        let reference = samples.iter().find(|s| {
            s.core == "cortex-m4" && s.kernels == KernelVariant::Reference && s.class == t.class && s.shape == t.shape
        });
        match ours {
            Some(s) => {
                let ipm = s.instructions as f64 / s.macs.max(1) as f64;
                let cpm = s.estimated_cycles / s.macs.max(1) as f64;
                let verdict = if ipm <= t.target_instructions_per_mac { "**met**" } else { "**NOT MET**" };
                out.push_str(&format!(
                    "- {} ({}): {verdict}: {ipm:.2} instructions/MAC (target <= {}, CMSIS-NN {}), {cpm:.2} estimated \
                     cycles/MAC{}\n",
                    t.label,
                    s.model,
                    t.target_instructions_per_mac,
                    t.cmsis_nn_instructions_per_mac,
                    reference
                        .map(|r| format!(
                            "; reference kernel {:.1} instructions/MAC",
                            r.instructions as f64 / r.macs.max(1) as f64
                        ))
                        .unwrap_or_default()
                ));
            }
            None => out.push_str(&format!("- {}: not measured\n", t.label)),
        }
    }
    for model in ["mobilenet_v2_030_80_1000", "ds_cnn_49x10"] {
        match rows.iter().find(|r| r.model == model && r.core == "cortex-m4" && r.kernels == KernelVariant::Optimized) {
            Some(r) => {
                let ipm = r.instructions_per_mac();
                let verdict = if ipm <= 2.5 { "**met**" } else { "**NOT MET**" };
                out.push_str(&format!("- {model} whole model <= 2.5 instructions/MAC: {verdict} ({ipm:.2})\n"));
            }
            None => out.push_str(&format!("- {model} whole model <= 2.5 instructions/MAC: not measured\n")),
        }
    }
    out
}

/// The README's summary of the cost table.
pub fn render_cost_markdown(table: &CostTable) -> String {
    let mut out = String::from(
        "`datasets/cost/cortex-m.json` (regenerated by the report): per core, kernel set and class, instructions \
         and estimated cycles of a step as `a + b * MACs + c * output bytes`, with the largest relative error of \
         the fit over its samples. Shown: the optimized classes that carry MACs.\n\n\
         | core | kernels | class | samples | cycles a | cycles/MAC b | cycles/out B c | max error |\n\
         |---|---|---|---:|---:|---:|---:|---:|\n",
    );
    for e in table.entries.iter().filter(|e| e.instructions.per_mac != 0.0 || e.class.contains("conv")) {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.0} | {:.3} | {:.2} | {:.1}% |\n",
            e.core,
            e.kernels.name(),
            e.class,
            e.samples,
            e.estimated_cycles.a,
            e.estimated_cycles.per_mac,
            e.estimated_cycles.per_output_byte,
            e.estimated_cycles.max_relative_error * 100.0
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_recovers_an_exact_line() {
        let x: Vec<[f64; 3]> = (1..8).map(|i| [1.0, (i * i) as f64, (3 * i + 1) as f64]).collect();
        let y: Vec<f64> = x.iter().map(|r| 5.0 + 2.5 * r[1] + 0.25 * r[2]).collect();
        let [a, b, c] = least_squares(&x, &y);
        assert!((a - 5.0).abs() < 1e-6 && (b - 2.5).abs() < 1e-9 && (c - 0.25).abs() < 1e-8, "{a} {b} {c}");
    }

    #[test]
    fn least_squares_drops_zero_and_unsolvable_columns() {
        // No MACs at all: only a and c.
        let x: Vec<[f64; 3]> = (1..5).map(|i| [1.0, 0.0, i as f64]).collect();
        let y: Vec<f64> = x.iter().map(|r| 7.0 + 3.0 * r[2]).collect();
        let [a, b, c] = least_squares(&x, &y);
        assert!((a - 7.0).abs() < 1e-9 && b == 0.0 && (c - 3.0).abs() < 1e-9);
        // One sample: a single coefficient fits it exactly.
        let [a, b, c] = least_squares(&[[1.0, 10.0, 4.0]], &[42.0]);
        assert!((a + 10.0 * b + 4.0 * c - 42.0).abs() < 1e-9);
    }
}
