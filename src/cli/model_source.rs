//! Where a model comes from: a path, or the name of a zoo model.

use std::path::PathBuf;

use anyhow::{bail, Context};
use arenaplan_datasets as datasets;
use arenaplan_planner::PlanRequest;

/// The zoo model used when none is given.
pub const DEFAULT_MODEL: &str = "mobilenet_v2_030_80_1000";

/// A model named on the command line.
#[derive(Debug, Clone)]
pub struct ModelSource {
    /// The short name (file stem), used to look up reference figures.
    pub name: String,
    /// The file.
    pub path: PathBuf,
}

impl ModelSource {
    /// Resolve `arg` (a path to a `.tflite`, or a zoo model name; `None` for the default zoo model).
    pub fn resolve(arg: Option<&str>) -> anyhow::Result<Self> {
        let arg = arg.unwrap_or(DEFAULT_MODEL);
        let path = PathBuf::from(arg);
        if path.is_file() {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            return Ok(ModelSource { name, path });
        }
        let zoo = datasets::model_path(arg);
        if zoo.is_file() {
            return Ok(ModelSource { name: arg.to_owned(), path: zoo });
        }
        bail!("`{arg}` is neither a file nor a zoo model (zoo models: {})", datasets::model_names().join(", "))
    }

    /// The planning request that travels with the model: `NAME.request.json` beside the `.tflite`, or the
    /// default request when there is none.
    pub fn request(&self) -> anyhow::Result<PlanRequest> {
        let path = self.path.with_extension("request.json");
        if !path.is_file() {
            return Ok(PlanRequest::default());
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("malformed plan request {}", path.display()))
    }

    /// The model's bytes.
    pub fn read(&self) -> anyhow::Result<Vec<u8>> {
        std::fs::read(&self.path).with_context(|| format!("cannot read {}", self.path.display()))
    }
}
