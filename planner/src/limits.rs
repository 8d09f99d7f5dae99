//! Resource limits on untrusted input, in one place.
//!
//! A model, an allocation instance or a plan comes from a user and may be corrupt or hostile: a 1 KB file can
//! claim a tensor of 2 GB or a convolution of 45 G multiply-accumulates. Every input is checked against these
//! limits at the door (the TFLite reader, the MiniMalloc CSV reader, [`BufferProblem::check_limits`] before any
//! packer runs), and a refusal names the limit. The defaults suit microcontroller models with room to spare:
//! the largest zoo model needs 138 KB of arena and 12 M MACs.
//!
//! The instance limits also make every packer's arithmetic overflow-free: with at most [`MAX_BUFFERS`] buffers
//! of at most [`MAX_INSTANCE_BUFFER_BYTES`] each, aligned to at most [`MAX_ALIGN_BYTES`], any offset a packer
//! can reach is below `2^14 * (2^40 + 2^30) < 2^55`, far from `u64::MAX`; and with at most
//! [`MAX_CONFLICT_PAIRS`] pairs of buffers alive together, no packer's memory blows up.
//!
//! [`BufferProblem::check_limits`]: crate::problem::BufferProblem::check_limits

/// Largest `.tflite` file read (64 MiB; microcontroller flash is counted in megabytes).
pub const MAX_MODEL_BYTES: usize = 64 << 20;

/// Largest arena a model may need, and so the largest single tensor of a model (64 MiB).
pub const MAX_ARENA_BYTES: u64 = 64 << 20;

/// Most multiply-accumulates of one inference of a model (10 G; a microcontroller model has a few tens of M).
pub const MAX_MACS: u64 = 10_000_000_000;

/// Most tensors of a model, operators of a model, and buffers of an allocation instance (16384; the zoo's
/// largest network has 69 buffers, public MiniMalloc instances a few thousand). Greedy placement takes time
/// quadratic in this number.
pub const MAX_BUFFERS: usize = 1 << 14;

/// Most pairs of buffers alive at a common step in one problem (4 M). Local search, the ILP and the exact
/// search keep every such pair, so their memory grows with this number; 4 M pairs are about 3000 buffers all
/// alive at once.
pub const MAX_CONFLICT_PAIRS: u64 = 1 << 22;

/// Largest buffer of an allocation instance (MiniMalloc CSV): 1 TiB, so instances from accelerators with more
/// memory than a microcontroller still load.
pub const MAX_INSTANCE_BUFFER_BYTES: u64 = 1 << 40;

/// Largest alignment of a buffer (1 GiB).
pub const MAX_ALIGN_BYTES: u64 = 1 << 30;

/// A limit that an input exceeds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} is {value}, above the limit of {limit} ({name})")]
pub struct LimitError {
    /// What was measured, e.g. "buffer 3 (`x`) size".
    pub what: String,
    /// The measured value (saturated at `u64::MAX`).
    pub value: u64,
    /// The limit it exceeds.
    pub limit: u64,
    /// The name of the limit's constant in [`crate::limits`], e.g. `MAX_ARENA_BYTES`.
    pub name: &'static str,
}

/// `Ok` when `value <= limit`, else a [`LimitError`] naming `what` and the limit `name`.
pub fn check(what: impl FnOnce() -> String, value: u64, limit: u64, name: &'static str) -> Result<(), LimitError> {
    if value <= limit {
        Ok(())
    } else {
        Err(LimitError { what: what(), value, limit, name })
    }
}
