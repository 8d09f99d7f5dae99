//! The JSON export: the whole plan as one versioned, self-describing document ([`PlanDocument`]), documented
//! field by field in `docs/plan-schema.md`, and read back by [`from_json`] and [`check_document`].
//!
//! The document names the model by its SHA-256, repeats the request, and lists every buffer by name with its
//! lifetime, size and offset, so it can be read without arenaplan; [`check_document`] re-derives the buffers
//! from the model and runs the validator, so a document is never trusted either.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::graph::Graph;
use crate::plan::{gap_percent, KernelVariant, Plan, PlanMeta, Status, PLAN_SCHEMA_VERSION};
use crate::problem::{Buffer, BufferId, BufferOrigin, BufferProblem};
use crate::request::PlanRequest;

use super::{checked_problem, ExportError};
use crate::check::{check_claims, check_plan, CheckError, ClaimVerifier, VerifiedClaims};

/// The value of [`PlanDocument::format`].
pub const DOCUMENT_FORMAT: &str = "arenaplan-plan";

/// Version of the [`PlanDocument`] schema; bumped on every incompatible change (see `docs/plan-schema.md`).
pub const DOCUMENT_SCHEMA_VERSION: u32 = 1;

/// The lowercase hex SHA-256 of some bytes (a model file).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The model a document was made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// A short name (the file stem or zoo name), for people.
    pub name: String,
    /// Lowercase hex SHA-256 of the `.tflite` file: what the plan is bound to.
    pub sha256: String,
    /// Size of the `.tflite` file in bytes.
    pub file_bytes: u64,
    /// Operators of subgraph 0.
    pub operators: usize,
    /// Tensors of subgraph 0.
    pub tensors: usize,
}

/// One placed buffer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BufferEntry {
    /// Index of the buffer in the plan (equal to its position in [`PlanDocument::buffers`]).
    pub id: u32,
    /// The tensor's name, or `op<N>_scratch`.
    pub name: String,
    /// What the buffer holds: a tensor or an operator's scratch, with its index in the `.tflite` subgraph.
    pub origin: BufferOrigin,
    /// Bytes reserved (the tensor's bytes rounded up to the alignment).
    pub size_bytes: u64,
    /// Alignment of the offset, in bytes.
    pub align_bytes: u64,
    /// First schedule step the buffer is alive at.
    pub first_step: u32,
    /// One past the last step the buffer is alive at (half-open).
    pub end_step: u32,
    /// Offset from the arena start, in bytes.
    pub offset: u64,
}

/// A plan as a self-describing document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanDocument {
    /// Always [`DOCUMENT_FORMAT`].
    pub format: String,
    /// [`DOCUMENT_SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// The program and version that wrote it, e.g. `arenaplan 0.1.0`.
    pub generator: String,
    /// The model the plan is for.
    pub model: ModelInfo,
    /// The request the plan answers.
    pub request: PlanRequest,
    /// The strategy's registry name.
    pub strategy: String,
    /// The strategy's parameters, as text.
    pub params: BTreeMap<String, String>,
    /// What is known of the plan's quality.
    pub status: Status,
    /// The arena: `max(offset + size)` over buffers.
    pub arena_bytes: u64,
    /// The best known lower bound of the arena.
    pub lower_bound_bytes: u64,
    /// `(arena - lower bound) / lower bound`, in percent (derived; ignored when read).
    pub gap_percent: f64,
    /// Estimated cycles, when the strategy models latency.
    pub estimated_cycles: Option<u64>,
    /// Wall-clock time of the strategy, in seconds.
    pub solve_seconds: f64,
    /// Operator indices in execution order.
    pub schedule: Vec<u32>,
    /// Kernel variant of each scheduled operator.
    pub kernels: Vec<KernelVariant>,
    /// Capacity the arena had to fit in, when one was set.
    pub capacity_bytes: Option<u64>,
    /// Every buffer, with its lifetime, size and offset.
    pub buffers: Vec<BufferEntry>,
}

impl PlanDocument {
    /// The document of a plan (not validated: [`to_json`] validates).
    pub fn new(plan: &Plan, model: ModelInfo) -> Self {
        let meta = &plan.meta;
        PlanDocument {
            format: DOCUMENT_FORMAT.to_owned(),
            schema_version: DOCUMENT_SCHEMA_VERSION,
            generator: format!("arenaplan {}", env!("CARGO_PKG_VERSION")),
            model,
            request: meta.request.clone(),
            strategy: meta.strategy.clone(),
            params: meta.params.clone(),
            status: meta.status,
            arena_bytes: plan.arena_bytes,
            lower_bound_bytes: meta.lower_bound_bytes,
            gap_percent: gap_percent(plan.arena_bytes, meta.lower_bound_bytes),
            estimated_cycles: meta.estimated_cycles,
            solve_seconds: meta.solve_seconds,
            schedule: plan.schedule.clone(),
            kernels: plan.kernels.clone(),
            capacity_bytes: plan.problem.capacity,
            buffers: plan
                .problem
                .buffers
                .iter()
                .zip(&plan.offsets)
                .map(|(b, &offset)| BufferEntry {
                    id: b.id.0,
                    name: b.name.clone(),
                    origin: b.origin,
                    size_bytes: b.size_bytes,
                    align_bytes: b.align_bytes,
                    first_step: b.live.start,
                    end_step: b.live.end,
                    offset,
                })
                .collect(),
        }
    }

    /// The plan the document describes (not validated: [`check_document`] validates against the model).
    pub fn to_plan(&self) -> Result<Plan, ExportError> {
        for (i, b) in self.buffers.iter().enumerate() {
            if b.id as usize != i {
                return Err(ExportError::Document(format!("buffer at position {i} has id {}", b.id)));
            }
            if b.end_step < b.first_step {
                return Err(ExportError::Document(format!("buffer {i} ends before it starts")));
            }
        }
        let mut problem = BufferProblem::new(
            self.buffers
                .iter()
                .map(|b| Buffer {
                    id: BufferId(b.id),
                    origin: b.origin,
                    name: b.name.clone(),
                    size_bytes: b.size_bytes,
                    align_bytes: b.align_bytes,
                    live: b.first_step..b.end_step,
                })
                .collect(),
        );
        problem.capacity = self.capacity_bytes;
        Ok(Plan {
            schema_version: PLAN_SCHEMA_VERSION,
            schedule: self.schedule.clone(),
            kernels: self.kernels.clone(),
            offsets: self.buffers.iter().map(|b| b.offset).collect(),
            arena_bytes: self.arena_bytes,
            meta: PlanMeta {
                strategy: self.strategy.clone(),
                params: self.params.clone(),
                status: self.status,
                lower_bound_bytes: self.lower_bound_bytes,
                estimated_cycles: self.estimated_cycles,
                solve_seconds: self.solve_seconds,
                request: self.request.clone(),
            },
            problem,
        })
    }
}

/// Describe the model behind `graph`, under a short name.
pub fn model_info(graph: &Graph<'_>, name: &str) -> ModelInfo {
    let bytes = graph.model().bytes;
    ModelInfo {
        name: name.to_owned(),
        sha256: sha256_hex(bytes),
        file_bytes: bytes.len() as u64,
        operators: graph.op_count(),
        tensors: graph.tensor_count(),
    }
}

/// Export `plan` as a pretty-printed JSON [`PlanDocument`] (with a final newline). The plan is validated
/// against a fresh lowering of `graph` first.
pub fn to_json(graph: &Graph<'_>, plan: &Plan, model_name: &str) -> Result<String, ExportError> {
    checked_problem(graph, plan)?;
    let document = PlanDocument::new(plan, model_info(graph, model_name));
    let mut text = serde_json::to_string_pretty(&document).map_err(|e| ExportError::Document(e.to_string()))?;
    text.push('\n');
    Ok(text)
}

/// Parse a JSON plan document, refusing other formats and schema versions.
pub fn from_json(text: &str) -> Result<PlanDocument, ExportError> {
    // Look at the format and version first, so an old or foreign file gets a clear message, not a missing field.
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ExportError::Document(e.to_string()))?;
    let format = value.get("format").and_then(|f| f.as_str()).unwrap_or("");
    if format != DOCUMENT_FORMAT {
        return Err(ExportError::Document(format!("`format` is `{format}`, expected `{DOCUMENT_FORMAT}`")));
    }
    let version = value.get("schema_version").and_then(|v| v.as_u64());
    if version != Some(DOCUMENT_SCHEMA_VERSION as u64) {
        return Err(ExportError::Document(format!(
            "schema_version {version:?} is not supported (this arenaplan reads version {DOCUMENT_SCHEMA_VERSION})"
        )));
    }
    serde_json::from_value(value).map_err(|e| ExportError::Document(e.to_string()))
}

/// Check a document against its model: the model's SHA-256, size and counts must match, the plan must pass
/// [`check_plan`] (re-lowering, kernel variants, capacity, validator), and every claim
/// the document makes about the plan (status, lower bound, strategy, estimated cycles) is recomputed by
/// [`check_claims`] and must agree. Returns the plan and the recomputed claims.
pub fn check_document(
    graph: &Graph<'_>,
    document: &PlanDocument,
    verifier: &dyn ClaimVerifier,
) -> Result<(Plan, VerifiedClaims), ExportError> {
    let sha = sha256_hex(graph.model().bytes);
    if sha != document.model.sha256 {
        return Err(ExportError::WrongModel {
            name: document.model.name.clone(),
            expected: document.model.sha256.clone(),
            found: sha,
        });
    }
    let info = model_info(graph, &document.model.name);
    for (claim, claimed, found) in [
        ("model.file_bytes", document.model.file_bytes, info.file_bytes),
        ("model.operators", document.model.operators as u64, info.operators as u64),
        ("model.tensors", document.model.tensors as u64, info.tensors as u64),
    ] {
        if claimed != found {
            return Err(ExportError::Check(CheckError::Claim {
                claim,
                claimed: claimed.to_string(),
                found: format!("the model has {found}"),
            }));
        }
    }
    let plan = document.to_plan()?;
    let checked = check_plan(graph, &plan)?;
    let claims = check_claims(&checked, &plan, verifier)?;
    Ok((plan, claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_is_the_published_vector() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn foreign_or_future_documents_are_refused_clearly() {
        let err = from_json(r#"{"format": "something-else"}"#).unwrap_err();
        assert!(err.to_string().contains("expected `arenaplan-plan`"), "{err}");
        let err = from_json(r#"{"format": "arenaplan-plan", "schema_version": 99}"#).unwrap_err();
        assert!(err.to_string().contains("schema_version"), "{err}");
        assert!(from_json("not json").is_err());
    }
}
