//! The request flags every planning command shares: what `MODEL.request.json` sets, overridden per run.

use arenaplan_planner::{KernelVariant, PlanRequest};
use clap::Args;

use super::limit_args::LimitArgs;
use super::ModelSource;

/// Overrides of the model's [`PlanRequest`] (its `MODEL.request.json`, else the defaults).
#[derive(Debug, Clone, Args, Default)]
pub struct RequestArgs {
    /// Offset alignment and size granularity of every buffer, in bytes (default: the model's request file, else
    /// 16, TFLM's).
    #[arg(long)]
    pub alignment: Option<u64>,
    /// Arena capacity in bytes: a plan must fit it, or the command fails saying so (default: none).
    #[arg(long)]
    pub capacity: Option<u64>,
    /// Time limit per strategy, in milliseconds (default: the model's request file, else 10 s).
    #[arg(long)]
    pub time_limit_ms: Option<u64>,
    /// Seed of randomised strategies (default: the model's request file, else 0).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Kernel set: `reference` (TFLM's kernels and scratch) or `optimized` (default: the model's request file,
    /// else reference).
    #[arg(long)]
    pub kernels: Option<KernelVariant>,
    /// Resource limits.
    #[command(flatten)]
    pub limits: LimitArgs,
}

impl RequestArgs {
    /// `request` with every flag given on the command line applied.
    pub fn apply(&self, mut request: PlanRequest) -> PlanRequest {
        request.alignment_bytes = self.alignment.unwrap_or(request.alignment_bytes);
        request.capacity_bytes = self.capacity.or(request.capacity_bytes);
        request.time_limit_ms = self.time_limit_ms.unwrap_or(request.time_limit_ms);
        request.seed = self.seed.unwrap_or(request.seed);
        request.kernels = self.kernels.unwrap_or(request.kernels);
        request.limits = self.limits.apply(request.limits);
        request
    }

    /// The request of the model at `source`, with the flags applied.
    pub fn request(&self, source: &ModelSource) -> anyhow::Result<PlanRequest> {
        let request = self.apply(source.request()?);
        request.limits.check_ceilings()?;
        Ok(request)
    }
}
