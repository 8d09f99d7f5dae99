//! `report`: measures every figure the README shows, writes them to `results/*.json`, and rewrites the
//! README's generated sections from them. Run it with `cargo run --release -p arenaplan-benches --bin report`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use arenaplan_benches::{models, readme};

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

    std::fs::write(&readme_path, text).context("cannot write README.md")?;
    eprintln!("report: wrote results/ and README.md");
    Ok(())
}
