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

/// The resource limits in force for one use: the defaults above, or values a user raised (`--max-*` flags of
/// the CLI, or the `limits` of a [`PlanRequest`](crate::PlanRequest)).
///
/// Raised values are themselves bounded by [`Limits::CEILING`], which keeps every packer's arithmetic
/// overflow-free (any reachable offset stays below `2^20 * (2^40 + 2^30) < 2^61`) and every arena addressable by
/// the program's 32-bit slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest `.tflite` file read, in bytes ([`MAX_MODEL_BYTES`]).
    pub model_bytes: u64,
    /// Largest arena, and so largest tensor, of a model, in bytes ([`MAX_ARENA_BYTES`]).
    pub arena_bytes: u64,
    /// Most multiply-accumulates of one inference ([`MAX_MACS`]).
    pub macs: u64,
    /// Most tensors, operators, or buffers of an instance ([`MAX_BUFFERS`]).
    pub buffers: u64,
    /// Most pairs of buffers alive at a common step ([`MAX_CONFLICT_PAIRS`]).
    pub conflict_pairs: u64,
    /// Largest buffer of an allocation instance, in bytes ([`MAX_INSTANCE_BUFFER_BYTES`]).
    pub instance_buffer_bytes: u64,
    /// Largest buffer alignment, in bytes ([`MAX_ALIGN_BYTES`]).
    pub align_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            model_bytes: MAX_MODEL_BYTES as u64,
            arena_bytes: MAX_ARENA_BYTES,
            macs: MAX_MACS,
            buffers: MAX_BUFFERS as u64,
            conflict_pairs: MAX_CONFLICT_PAIRS,
            instance_buffer_bytes: MAX_INSTANCE_BUFFER_BYTES,
            align_bytes: MAX_ALIGN_BYTES,
        }
    }
}

impl Limits {
    /// The highest value each limit may be raised to (see the type's documentation for why).
    pub const CEILING: Limits = Limits {
        model_bytes: (1 << 31) - 1,
        arena_bytes: (1 << 31) - 1,
        macs: 1 << 50,
        buffers: 1 << 20,
        conflict_pairs: 1 << 28,
        instance_buffer_bytes: 1 << 40,
        align_bytes: 1 << 30,
    };

    /// Whether these are the default limits (a request then omits them from its JSON).
    pub fn is_default(&self) -> bool {
        *self == Limits::default()
    }

    /// Each limit with its constant's name and its value in `self` and in [`Limits::CEILING`].
    fn entries(&self) -> [(&'static str, u64, u64); 7] {
        let c = Limits::CEILING;
        [
            ("MAX_MODEL_BYTES", self.model_bytes, c.model_bytes),
            ("MAX_ARENA_BYTES", self.arena_bytes, c.arena_bytes),
            ("MAX_MACS", self.macs, c.macs),
            ("MAX_BUFFERS", self.buffers, c.buffers),
            ("MAX_CONFLICT_PAIRS", self.conflict_pairs, c.conflict_pairs),
            ("MAX_INSTANCE_BUFFER_BYTES", self.instance_buffer_bytes, c.instance_buffer_bytes),
            ("MAX_ALIGN_BYTES", self.align_bytes, c.align_bytes),
        ]
    }

    /// `Ok` when every limit is within [`Limits::CEILING`]; else the first one above it.
    pub fn check_ceilings(&self) -> Result<(), LimitError> {
        for (name, value, ceiling) in self.entries() {
            check(|| format!("the requested limit {name}"), value, ceiling, "the ceiling of that limit")?;
        }
        Ok(())
    }
}

/// The command-line flag that raises the limit named `name` (a constant of this module), if any.
pub fn flag_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "MAX_MODEL_BYTES" => "--max-model-bytes",
        "MAX_ARENA_BYTES" => "--max-arena-bytes",
        "MAX_MACS" => "--max-macs",
        "MAX_BUFFERS" => "--max-buffers",
        "MAX_CONFLICT_PAIRS" => "--max-conflict-pairs",
        "MAX_INSTANCE_BUFFER_BYTES" => "--max-buffer-bytes",
        "MAX_ALIGN_BYTES" => "--max-align-bytes",
        _ => return None,
    })
}

/// How to raise the limit named `name`, for an error message: ` (raise it with --flag)`, or nothing.
fn raise_hint(name: &str) -> String {
    flag_of(name).map(|flag| format!("; raise it with {flag}")).unwrap_or_default()
}

/// A limit that an input exceeds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} is {value}, above the limit of {limit} ({name}{})", raise_hint(name))]
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
