//! The status codes of the C API (`ARENAPLAN_*` in `include/arenaplan.h`, which must list the same values:
//! `tests/capi_host.rs` compiles the header against these).

use arenaplan_kernels::encoding::DecodeError;
use arenaplan_kernels::{BlobRunError, KernelError};

/// Success.
pub const ARENAPLAN_OK: i32 = 0;
/// A required pointer is null.
pub const ARENAPLAN_ERR_NULL: i32 = -1;
/// The program is not a program blob, or is corrupted (bad magic, lengths, checksum or step record).
pub const ARENAPLAN_ERR_BAD_PROGRAM: i32 = -2;
/// The program blob has a format version this library does not read.
pub const ARENAPLAN_ERR_VERSION: i32 = -3;
/// The model bytes are not those the program was compiled against (length or checksum).
pub const ARENAPLAN_ERR_WRONG_MODEL: i32 = -4;
/// The arena is smaller than the program needs.
pub const ARENAPLAN_ERR_ARENA_TOO_SMALL: i32 = -5;
/// A step refers to bytes outside the model, the constants or the arena.
pub const ARENAPLAN_ERR_OUT_OF_RANGE: i32 = -6;
/// A step's kernel refused its operands (overlap, lengths that do not fit its shapes).
pub const ARENAPLAN_ERR_KERNEL: i32 = -7;
/// No input or output of that index.
pub const ARENAPLAN_ERR_INDEX: i32 = -8;

/// The status of a blob that did not decode.
pub fn status_of_decode(e: DecodeError) -> i32 {
    match e {
        DecodeError::UnsupportedVersion { .. } => ARENAPLAN_ERR_VERSION,
        DecodeError::Truncated
        | DecodeError::BadMagic
        | DecodeError::UnknownFlags { .. }
        | DecodeError::CountTooLarge
        | DecodeError::LengthMismatch { .. }
        | DecodeError::ChecksumMismatch
        | DecodeError::BadStep { .. }
        | DecodeError::StepCountMismatch => ARENAPLAN_ERR_BAD_PROGRAM,
    }
}

/// The status of a run or model check that failed.
pub fn status_of_run(e: BlobRunError) -> i32 {
    match e {
        BlobRunError::Decode(e) => status_of_decode(e),
        BlobRunError::ModelLength { .. } | BlobRunError::ModelChecksum => ARENAPLAN_ERR_WRONG_MODEL,
        BlobRunError::Kernel(KernelError::ArenaTooSmall { .. }) => ARENAPLAN_ERR_ARENA_TOO_SMALL,
        BlobRunError::Kernel(KernelError::OutOfRange { .. }) => ARENAPLAN_ERR_OUT_OF_RANGE,
        BlobRunError::Kernel(_) => ARENAPLAN_ERR_KERNEL,
    }
}

/// The name of a status, NUL-terminated for C.
pub fn name(status: i32) -> &'static str {
    match status {
        ARENAPLAN_OK => "ok\0",
        ARENAPLAN_ERR_NULL => "null pointer\0",
        ARENAPLAN_ERR_BAD_PROGRAM => "malformed or corrupted program blob\0",
        ARENAPLAN_ERR_VERSION => "unsupported program blob version\0",
        ARENAPLAN_ERR_WRONG_MODEL => "model bytes differ from those the program was compiled for\0",
        ARENAPLAN_ERR_ARENA_TOO_SMALL => "arena too small\0",
        ARENAPLAN_ERR_OUT_OF_RANGE => "a step refers to bytes out of range\0",
        ARENAPLAN_ERR_KERNEL => "a kernel refused its operands\0",
        ARENAPLAN_ERR_INDEX => "no input or output of that index\0",
        _ => "unknown status\0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_nul_terminated_and_distinct() {
        let codes = -8..=0;
        let names: Vec<&str> = codes.clone().map(name).collect();
        assert!(names.iter().all(|n| n.ends_with('\0') && n.matches('\0').count() == 1));
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert!(!names.contains(&name(1)));
    }
}
