//! `report`: measures every figure the README shows, writes them to `results/*.json`, and rewrites the
//! README's generated sections from them. Run it with `cargo run --release -p arenaplan-benches --bin report`.
//!
//! `REPORT_SECTIONS` (comma-separated among `models`, `execution`, `cortex-m`, `strategies`,
//! `hard-instances`, `cost-table` (fitted again from the last Cortex-M counts), `pareto`, `memory-behaviours`,
//! `fused` (row-streamed segments against layer by layer, on the host and on the emulated Cortex-M4 unless
//! `REPORT_MACHINES` is empty);
//! default all) picks
//! the sections to measure again; each section rewrites its README tables as soon as it is done.
//! `REPORT_MACHINES` (comma-separated, default all three emulated boards; empty to skip) picks the emulated
//! machines of the Cortex-M section, which builds one firmware per network, board and kernel set.

use std::path::{Path, PathBuf};

use anyhow::Context;
use arenaplan_benches::{cortex_m, execution, fused, host, memory_behaviours, models, pareto, readme, strategies};
use arenaplan_planner::{KernelVariant, PackLimits};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("benches/ is inside the repository").to_owned()
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The sections `REPORT_SECTIONS` (comma-separated) selects; all of them when unset.
fn wanted(section: &str) -> bool {
    match std::env::var("REPORT_SECTIONS") {
        Ok(list) => list.split(',').any(|s| s.trim() == section),
        Err(_) => true,
    }
}

/// Replace a README section and write the README at once, so a later failure keeps what was measured.
fn update_readme(path: &Path, section: &str, body: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).context("cannot read README.md")?;
    let text = readme::replace_section(&text, section, body)
        .with_context(|| format!("README.md lacks the report:{section} markers"))?;
    std::fs::write(path, text).context("cannot write README.md")
}

fn main() -> anyhow::Result<()> {
    let root = repo_root();
    let results = root.join("results");
    std::fs::create_dir_all(&results)?;
    let readme_path = root.join("README.md");

    if wanted("models") {
        eprintln!("report: planning every zoo network with greedy-by-size ...");
        let rows = models::model_rows()?;
        write_json(&results.join("models.json"), &rows)?;
        update_readme(&readme_path, "models", &models::render_markdown(&rows))?;
    }

    if wanted("execution") {
        eprintln!("report: running every zoo network with the reference and the optimized kernels ...");
        let mut all = Vec::new();
        let mut skipped = Vec::new();
        for (strategy, kernels) in [
            ("greedy-by-size", KernelVariant::Reference),
            ("greedy-by-size", KernelVariant::Optimized),
            ("exact", KernelVariant::Reference),
            ("exact", KernelVariant::Optimized),
        ] {
            let (rows, not_run) = execution::execution_rows(strategy, kernels, 11)?;
            all.extend(rows);
            if skipped.is_empty() {
                skipped = not_run;
            }
        }
        write_json(&results.join("execution.json"), &all)?;
        update_readme(&readme_path, "execution", &execution::render_markdown(&all, &skipped))?;
        eprintln!("report: host latency beside TFLM's reference kernels ...");
        let of = |kernels: KernelVariant| -> Vec<_> {
            all.iter().filter(|r| r.strategy == "greedy-by-size" && r.kernels == kernels).cloned().collect()
        };
        let host_rows = host::host_rows(&of(KernelVariant::Reference), &of(KernelVariant::Optimized), 11);
        write_json(&results.join("host.json"), &host_rows)?;
        update_readme(&readme_path, "host", &host::render_markdown(&host_rows))?;
    }

    let machines: Vec<String> = std::env::var("REPORT_MACHINES")
        .unwrap_or_else(|_| "mps2-an386,mps2-an500,mps3-an547".to_owned())
        .split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    if wanted("cortex-m") && !machines.is_empty() {
        let mut board_rows = Vec::new();
        let mut samples = Vec::new();
        let mut failures = Vec::new();
        for machine in &machines {
            for kernels in [KernelVariant::Reference, KernelVariant::Optimized] {
                for name in arenaplan_datasets::network_names() {
                    eprintln!("report: {name} on {machine} with the {} kernels ...", kernels.name());
                    match cortex_m::measure_network(&name, machine, kernels, "greedy-by-size") {
                        Ok((row, steps)) => {
                            board_rows.push(row);
                            samples.extend(steps);
                        }
                        Err(e) => failures.push(format!("{name} on {machine} ({}): {e:#}", kernels.name())),
                    }
                }
            }
        }
        write_json(&results.join("cortex_m.json"), &board_rows)?;
        write_json(&results.join("cortex_m_steps.json"), &samples)?;
        let table = cortex_m::cost_table(&samples);
        write_json(&arenaplan_datasets::cost_table_path(), &table)?;
        update_readme(&readme_path, "cortex-m", &cortex_m::render_markdown(&board_rows, &samples, &failures))?;
        update_readme(&readme_path, "cost-table", &cortex_m::render_cost_markdown(&table))?;
    }

    let measured_cortex_m = wanted("cortex-m") && !machines.is_empty();
    if wanted("cost-table") && !measured_cortex_m {
        eprintln!("report: the cost table again from results/cortex_m_steps.json ...");
        let text = std::fs::read_to_string(results.join("cortex_m_steps.json"))
            .context("no results/cortex_m_steps.json: run the cortex-m section first")?;
        let samples: Vec<cortex_m::StepSample> = serde_json::from_str(&text)?;
        let table = cortex_m::cost_table(&samples);
        write_json(&arenaplan_datasets::cost_table_path(), &table)?;
        update_readme(&readme_path, "cost-table", &cortex_m::render_cost_markdown(&table))?;
    }

    if wanted("memory-behaviours") {
        eprintln!("report: every zoo network planned with overlapping outputs, run against the goldens ...");
        let rows = memory_behaviours::memory_behaviour_rows()?;
        write_json(&results.join("memory_behaviours.json"), &rows)?;
        let readme_text = std::fs::read_to_string(&readme_path).context("cannot read README.md")?;
        if readme_text.contains("<!-- report:memory-behaviours -->") {
            update_readme(&readme_path, "memory-behaviours", &memory_behaviours::render_markdown(&rows))?;
        } else {
            eprintln!("report: README.md has no report:memory-behaviours markers; see results/memory_behaviours.json");
        }
    }

    if wanted("strategies") {
        let seconds: u64 = std::env::var("REPORT_TIME_LIMIT_S").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
        eprintln!("report: every packer on the zoo and on generated instances ({seconds} s limit each) ...");
        let limits = PackLimits { time_limit: std::time::Duration::from_secs(seconds), seed: 0 };
        let rows = strategies::run_strategy_report(&limits)?;
        write_json(&results.join("strategies.json"), &rows)?;
        update_readme(&readme_path, "strategies", &strategies::render_markdown(&rows))?;
    }

    if wanted("hard-instances") {
        let seconds: u64 = std::env::var("REPORT_TIME_LIMIT_S").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
        eprintln!("report: the hard-instance suite with exact and its ablations ...");
        let limits = PackLimits { time_limit: std::time::Duration::from_secs(seconds), seed: 0 };
        let hard = strategies::run_hard_suite(&limits, std::time::Duration::from_secs(2));
        write_json(&results.join("hard_instances.json"), &hard)?;
        update_readme(&readme_path, "hard-instances", &strategies::render_hard_suite_markdown(&hard))?;
    }

    if wanted("pareto") {
        eprintln!("report: the latency-RAM front of every zoo network ...");
        let fronts = pareto::network_fronts(&results.join("pareto"))?;
        write_json(&results.join("pareto.json"), &fronts)?;
        update_readme(&readme_path, "pareto", &pareto::render_markdown(&fronts))?;
    }

    if wanted("fused") {
        eprintln!("report: fused segments against layer by layer ...");
        let rows = fused::fused_rows(machines.iter().any(|m| m == fused::BOARD))?;
        write_json(&results.join("fused.json"), &rows)?;
        update_readme(&readme_path, "fused", &fused::render_markdown(&rows))?;
    }

    eprintln!("report: wrote results/ and README.md");
    Ok(())
}
