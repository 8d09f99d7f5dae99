//! The per-model knob: what a plan should optimise, under which limits.
//!
//! A request travels with its model (a small JSON file beside it) and is repeated in every exported plan, so
//! every figure can be traced back to the request that made it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::limits::Limits;
use crate::plan::KernelVariant;

/// What a strategy optimises.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Objective {
    /// The smallest arena.
    #[default]
    MinRam,
    /// The lowest estimated latency with an arena of at most `ram_budget_bytes`.
    MinLatency {
        /// The RAM budget in bytes.
        ram_budget_bytes: u64,
    },
    /// The smallest arena whose estimated latency is at most `latency_budget_cycles`.
    MinRamUnderLatency {
        /// The latency budget in estimated cycles.
        latency_budget_cycles: u64,
    },
    /// Minimise `ram_weight * arena_bytes + latency_weight * cycles`.
    Weighted {
        /// Weight of one arena byte.
        ram_weight: f64,
        /// Weight of one estimated cycle.
        latency_weight: f64,
    },
}

/// A planning request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanRequest {
    /// What to optimise.
    pub objective: Objective,
    /// Offset alignment and size granularity of every buffer, in bytes (TFLM uses 16).
    pub alignment_bytes: u64,
    /// Wall-clock limit for one strategy, in milliseconds.
    pub time_limit_ms: u64,
    /// Seed of every randomised choice.
    pub seed: u64,
    /// The arena capacity in bytes, when the plan must fit one: packers then answer that question (a packing
    /// within it, or an error saying none was found or none exists).
    pub capacity_bytes: Option<u64>,
    /// The kernel set to use where an operator has that variant (the others run the reference kernels).
    /// `Reference` reproduces TFLM's scratch needs exactly.
    pub kernels: KernelVariant,
    /// Per-operator exceptions to `kernels`, by operator index (the latency-RAM tradeoff sets them: a reference
    /// convolution is slower but needs less scratch, and may overlap its input). Omitted from the JSON when
    /// empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub op_kernels: BTreeMap<u32, KernelVariant>,
    /// The resource limits the model and its problem are checked against (omitted from the JSON when they are
    /// the defaults of [`crate::limits`]).
    #[serde(skip_serializing_if = "Limits::is_default")]
    pub limits: Limits,
    /// Row-streamed fused segments, each a chain of operator indices in execution order
    /// ([`crate::segments`]): the chain runs row by row with its intermediate tensors held as rings of rows.
    /// Omitted from the JSON when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<Vec<u32>>,
    /// Read the model input row by row into the segment that reads it, when one of `segments` does (with at
    /// most 7 operators: the reading step takes the eighth place) and the model has one input, read by that
    /// segment alone: the input then never sits whole in the arena (the
    /// program runs with `arenaplan_kernels::run_streaming`). Omitted from the JSON when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream_input: bool,
}

impl Default for PlanRequest {
    fn default() -> Self {
        PlanRequest {
            objective: Objective::MinRam,
            alignment_bytes: 16,
            time_limit_ms: 10_000,
            seed: 0,
            capacity_bytes: None,
            kernels: KernelVariant::Reference,
            op_kernels: BTreeMap::new(),
            limits: Limits::default(),
            segments: Vec::new(),
            stream_input: false,
        }
    }
}

impl PlanRequest {
    /// The same request with another time limit.
    pub fn with_time_limit(mut self, limit: Duration) -> Self {
        self.time_limit_ms = limit.as_millis().min(u64::MAX as u128) as u64;
        self
    }

    /// The kernel set asked for operator `op`: its exception in `op_kernels`, else `kernels`.
    pub fn kernels_for(&self, op: u32) -> KernelVariant {
        self.op_kernels.get(&op).copied().unwrap_or(self.kernels)
    }

    /// The same request with another kernel set.
    pub fn with_kernels(mut self, kernels: KernelVariant) -> Self {
        self.kernels = kernels;
        self
    }

    /// The same request with a capacity.
    pub fn with_capacity(mut self, capacity_bytes: u64) -> Self {
        self.capacity_bytes = Some(capacity_bytes);
        self
    }

    /// The same request with another seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The time limit as a duration.
    pub fn time_limit(&self) -> Duration {
        Duration::from_millis(self.time_limit_ms)
    }
}
