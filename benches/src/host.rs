//! Host latency side by side: arenaplan's reference and optimized kernels against TFLM's own reference kernels
//! (its Python interpreter, `scripts/tflm_latency.py`), on the same machine, in the same run, on the same golden
//! input. TFLM is timed only when `ARENAPLAN_TFLM_PYTHON` names a Python with the `tflite-micro` package (as
//! `.ci/run` sets up); otherwise its column says so.

use std::path::Path;
use std::process::Command;

use arenaplan_datasets as datasets;
use serde::{Deserialize, Serialize};

use crate::execution::ExecutionRow;

/// The variable naming TFLM's Python.
pub const TFLM_PYTHON_ENV: &str = "ARENAPLAN_TFLM_PYTHON";

/// One network's host latencies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostRow {
    /// Zoo name.
    pub model: String,
    /// Multiply-accumulates of one inference.
    pub macs: u64,
    /// Median milliseconds, arenaplan's reference kernels.
    pub reference_ms: f64,
    /// Median milliseconds, arenaplan's optimized kernels.
    pub optimized_ms: f64,
    /// Median milliseconds, TFLM's reference kernels (its Python interpreter), when it could be timed.
    pub tflm_ms: Option<f64>,
    /// Why TFLM was not timed, when it was not.
    pub tflm_note: Option<String>,
}

/// TFLM's median latency for a zoo model on its first golden input, or why it could not be measured.
pub fn tflm_latency_ms(model: &str, runs: usize) -> Result<f64, String> {
    let python = std::env::var(TFLM_PYTHON_ENV).map_err(|_| format!("{TFLM_PYTHON_ENV} not set"))?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/tflm_latency.py");
    let input = datasets::root().join("golden").join(model).join("sample0_input0.bin");
    let out = Command::new(&python)
        .arg(&script)
        .arg(datasets::model_path(model))
        .arg(&input)
        .args(["--runs", &runs.to_string()])
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        return Err(format!("TFLM failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("unreadable TFLM timing: {e}"))?;
    value["median_ms"].as_f64().ok_or_else(|| "TFLM timing without median_ms".to_owned())
}

/// Join the reference and optimized execution rows of one strategy with TFLM's timing per network.
pub fn host_rows(reference: &[ExecutionRow], optimized: &[ExecutionRow], runs: usize) -> Vec<HostRow> {
    reference
        .iter()
        .filter_map(|r| {
            let o = optimized.iter().find(|o| o.model == r.model)?;
            let macs = datasets::model_bytes(&r.model)
                .ok()
                .and_then(|b| arenaplan_planner::Graph::from_bytes(&b).ok().map(|g| g.total_macs()))
                .unwrap_or(0);
            let (tflm_ms, tflm_note) = match tflm_latency_ms(&r.model, runs) {
                Ok(ms) => (Some(ms), None),
                Err(why) => (None, Some(why)),
            };
            Some(HostRow {
                model: r.model.clone(),
                macs,
                reference_ms: r.host_latency_ms,
                optimized_ms: o.host_latency_ms,
                tflm_ms,
                tflm_note,
            })
        })
        .collect()
}

/// The README's host table, with the host target checked.
pub fn render_markdown(rows: &[HostRow]) -> String {
    let cpu = host_cpu();
    let mut out = format!(
        "Host: {cpu}, one thread, median of repeated inferences of the first golden input.\n\n\
         | model | MACs | arenaplan reference ms | arenaplan optimized ms | TFLM reference ms | optimized vs TFLM | optimized MACs/ns |\n\
         |---|---:|---:|---:|---:|---:|---:|\n"
    );
    for r in rows {
        let (tflm, speedup) = match r.tflm_ms {
            Some(t) => (format!("{t:.2}"), format!("{:.1}x", t / r.optimized_ms)),
            None => ("-".to_owned(), "-".to_owned()),
        };
        out.push_str(&format!(
            "| {} | {} | {:.2} | {:.2} | {} | {} | {:.2} |\n",
            r.model,
            r.macs,
            r.reference_ms,
            r.optimized_ms,
            tflm,
            speedup,
            r.macs as f64 / (r.optimized_ms * 1e6)
        ));
    }
    let target = rows.iter().find(|r| r.model == "mobilenet_v2_030_80_1000");
    out.push_str(
        "\nTarget: optimized kernels >= 10x faster than TFLM's reference kernels on mobilenet_v2_030_80_1000 — ",
    );
    match target.and_then(|r| r.tflm_ms.map(|t| t / r.optimized_ms)) {
        Some(x) if x >= 10.0 => out.push_str(&format!("**met** ({x:.1}x)\n")),
        Some(x) => out.push_str(&format!("**NOT MET** ({x:.1}x)\n")),
        None => out.push_str(&format!(
            "not measured ({})\n",
            target.and_then(|r| r.tflm_note.clone()).unwrap_or_else(|| "model not run".to_owned())
        )),
    }
    out
}

/// The host's CPU model, from `/proc/cpuinfo` where there is one.
pub fn host_cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned())
}
