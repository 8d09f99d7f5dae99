//! The arenaplan model zoo: `.tflite` models, golden vectors from TFLM's Python interpreter, TFLM's own arena
//! figures, allocation instances, and a tiny loader for tests, benches and the CLI.
//!
//! Layout (all paths relative to this crate's folder; see `README.md` there for provenance):
//!
//! - `models/NAME.tflite`: the models. Single-op models are named `op_*`, whole networks are not.
//! - `golden/NAME/sampleK_inputI.bin`, `golden/NAME/sampleK_outputJ.bin`: raw int8 tensors, row-major.
//! - `reference/tflm.json`: TFLM's head, tail and total arena bytes per model, and the versions used.
//! - `cards.json`: one model card per model (ops by type, parameters, MACs, inputs and outputs).
//! - `instances/*.csv`: allocation problems in MiniMalloc's CSV format.
#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Errors of the loader: a missing or malformed data file.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON file did not parse.
    #[error("malformed {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// No model of that name is in the zoo.
    #[error("no model named `{0}` in the zoo (see `datasets/models/`)")]
    UnknownModel(String),
}

/// The folder of this crate, where the data live.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> Result<Vec<u8>, DatasetError> {
    fs::read(path).map_err(|source| DatasetError::Io { path: path.to_owned(), source })
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, DatasetError> {
    let bytes = read(path)?;
    serde_json::from_slice(&bytes).map_err(|source| DatasetError::Json { path: path.to_owned(), source })
}

/// Names of every model in the zoo (networks and single-op models), sorted.
pub fn model_names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root().join("models"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            name.strip_suffix(".tflite").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

/// Names of the whole networks of the zoo (not the single-op models), sorted.
pub fn network_names() -> Vec<String> {
    model_names().into_iter().filter(|n| !n.starts_with("op_")).collect()
}

/// Names of the single-op models of the zoo, sorted.
pub fn single_op_names() -> Vec<String> {
    model_names().into_iter().filter(|n| n.starts_with("op_")).collect()
}

/// The path of a zoo model's `.tflite` file.
pub fn model_path(name: &str) -> PathBuf {
    root().join("models").join(format!("{name}.tflite"))
}

/// The bytes of a zoo model.
pub fn model_bytes(name: &str) -> Result<Vec<u8>, DatasetError> {
    let path = model_path(name);
    if !path.exists() {
        return Err(DatasetError::UnknownModel(name.to_owned()));
    }
    read(&path)
}

/// One golden sample: the model's inputs and the outputs TFLM's Python interpreter produced for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Golden {
    /// Sample number `K` in the file names.
    pub sample: usize,
    /// One raw int8 tensor per model input, in input order.
    pub inputs: Vec<Vec<i8>>,
    /// One raw int8 tensor per model output, in output order.
    pub outputs: Vec<Vec<i8>>,
}

fn to_i8(bytes: Vec<u8>) -> Vec<i8> {
    bytes.into_iter().map(|b| b as i8).collect()
}

fn numbered_files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for i in 0.. {
        let p = dir.join(format!("{prefix}{i}.bin"));
        if !p.exists() {
            break;
        }
        out.push(p);
    }
    out
}

/// Every golden sample of a model, in sample order (empty when the model has none).
pub fn goldens(name: &str) -> Result<Vec<Golden>, DatasetError> {
    let dir = root().join("golden").join(name);
    let mut samples = Vec::new();
    for sample in 0.. {
        let inputs = numbered_files(&dir, &format!("sample{sample}_input"));
        if inputs.is_empty() {
            break;
        }
        let outputs = numbered_files(&dir, &format!("sample{sample}_output"));
        samples.push(Golden {
            sample,
            inputs: inputs.iter().map(|p| read(p).map(to_i8)).collect::<Result<_, _>>()?,
            outputs: outputs.iter().map(|p| read(p).map(to_i8)).collect::<Result<_, _>>()?,
        });
    }
    Ok(samples)
}

/// TFLM's arena figures for one model, captured from `print_allocations()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TflmFigures {
    /// The planned (non-persistent) section: activations and scratch.
    pub head_bytes: u64,
    /// The persistent section: runtime structures and per-op data.
    pub tail_bytes: u64,
    /// `head_bytes + tail_bytes`.
    pub total_bytes: u64,
}

/// The contents of `reference/tflm.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TflmReference {
    /// Version of the `tflite-micro` Python package that produced the figures.
    pub tflite_micro_version: String,
    /// Figures per model name.
    pub models: BTreeMap<String, TflmFigures>,
}

/// TFLM's reference figures for every zoo model.
pub fn tflm_reference() -> Result<TflmReference, DatasetError> {
    read_json(&root().join("reference").join("tflm.json"))
}

/// TFLM's figures for one model, if the reference file knows it.
pub fn tflm_figures(name: &str) -> Option<TflmFigures> {
    tflm_reference().ok()?.models.get(name).copied()
}

/// The path of an allocation instance under `instances/`.
pub fn instance_path(file_name: &str) -> PathBuf {
    root().join("instances").join(file_name)
}

/// The Cortex-M cost table (`cost/cortex-m.json`): per core, kernel set and class, the cycles of one step, as
/// the report fits them from the emulated boards' counts.
pub fn cost_table_path() -> PathBuf {
    root().join("cost").join("cortex-m.json")
}
