//! `report`: measures every figure the README shows, writes them to `results/*.json`, and rewrites the
//! README's generated sections from them. Run it with `cargo run --release -p arenaplan-benches --bin report`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use arenaplan_benches::{execution, models, readme, strategies};
use arenaplan_planner::{KernelVariant, PackLimits};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("benches/ is inside the repository").to_owned()
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn main() -> anyhow::Result<()> {
    let root = repo_root();
    let results = root.join("results");
    std::fs::create_dir_all(&results)?;
    let readme_path = root.join("README.md");
    let mut text = std::fs::read_to_string(&readme_path).context("cannot read README.md")?;

    eprintln!("report: planning every zoo network with greedy-by-size ...");
    let rows = models::model_rows()?;
    write_json(&results.join("models.json"), &rows)?;
    text = readme::replace_section(&text, "models", &models::render_markdown(&rows))
        .context("README.md lacks the report:models markers")?;

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
    text = readme::replace_section(&text, "execution", &execution::render_markdown(&all, &skipped))
        .context("README.md lacks the report:execution markers")?;

    let seconds: u64 = std::env::var("REPORT_TIME_LIMIT_S").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    eprintln!("report: every packer on the zoo and on generated instances ({seconds} s limit each) ...");
    let limits = PackLimits { time_limit: std::time::Duration::from_secs(seconds), seed: 0 };
    let rows = strategies::run_strategy_report(&limits)?;
    write_json(&results.join("strategies.json"), &rows)?;
    text = readme::replace_section(&text, "strategies", &strategies::render_markdown(&rows))
        .context("README.md lacks the report:strategies markers")?;

    std::fs::write(&readme_path, text).context("cannot write README.md")?;
    eprintln!("report: wrote results/ and README.md");
    Ok(())
}
