//! The resource-limit flags: raise the limits of [`arenaplan_planner::limits`] for models or instances larger
//! than a microcontroller's, up to the ceilings that keep planning overflow-free.

use arenaplan_planner::limits::Limits;
use clap::Args;

/// Overrides of the default [`Limits`]; each flag is named in the error of the limit it raises.
#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "Resource limits (defaults suit microcontroller models)")]
pub struct LimitArgs {
    /// Largest `.tflite` file read, in bytes (default 64 MiB).
    #[arg(long, value_name = "BYTES")]
    pub max_model_bytes: Option<u64>,
    /// Largest arena, and so largest tensor, of a model, in bytes (default 64 MiB).
    #[arg(long, value_name = "BYTES")]
    pub max_arena_bytes: Option<u64>,
    /// Most multiply-accumulates of one inference (default 10 G).
    #[arg(long, value_name = "N")]
    pub max_macs: Option<u64>,
    /// Most tensors, operators, or buffers of an instance (default 16384).
    #[arg(long, value_name = "N")]
    pub max_buffers: Option<u64>,
    /// Most pairs of buffers alive at a common step (default 4 M).
    #[arg(long, value_name = "N")]
    pub max_conflict_pairs: Option<u64>,
    /// Largest buffer of an allocation instance, in bytes (default 1 TiB).
    #[arg(long, value_name = "BYTES")]
    pub max_buffer_bytes: Option<u64>,
    /// Largest buffer alignment, in bytes (default 1 GiB).
    #[arg(long, value_name = "BYTES")]
    pub max_align_bytes: Option<u64>,
}

impl LimitArgs {
    /// `limits` with every flag given on the command line applied.
    pub fn apply(&self, limits: Limits) -> Limits {
        Limits {
            model_bytes: self.max_model_bytes.unwrap_or(limits.model_bytes),
            arena_bytes: self.max_arena_bytes.unwrap_or(limits.arena_bytes),
            macs: self.max_macs.unwrap_or(limits.macs),
            buffers: self.max_buffers.unwrap_or(limits.buffers),
            conflict_pairs: self.max_conflict_pairs.unwrap_or(limits.conflict_pairs),
            instance_buffer_bytes: self.max_buffer_bytes.unwrap_or(limits.instance_buffer_bytes),
            align_bytes: self.max_align_bytes.unwrap_or(limits.align_bytes),
        }
    }

    /// The default limits with the flags applied, refused when a flag asks for more than
    /// [`Limits::CEILING`].
    pub fn limits(&self) -> anyhow::Result<Limits> {
        let limits = self.apply(Limits::default());
        limits.check_ceilings()?;
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_only_what_they_name() {
        let args = LimitArgs { max_macs: Some(42), ..LimitArgs::default() };
        let limits = args.limits().unwrap();
        assert_eq!(limits.macs, 42);
        assert_eq!(Limits { macs: Limits::default().macs, ..limits }, Limits::default());
    }

    #[test]
    fn a_flag_above_the_ceiling_is_refused() {
        let args = LimitArgs { max_buffers: Some(Limits::CEILING.buffers + 1), ..LimitArgs::default() };
        let message = args.limits().unwrap_err().to_string();
        assert!(message.contains("MAX_BUFFERS"), "{message}");
    }
}
