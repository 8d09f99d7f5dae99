//! The check that firmware runs a program over the model it was compiled from.
//!
//! A program's operands are offsets into the `.tflite` file; given another file (a retrained model, a newer
//! export) it would run without error and answer nonsense. The planner records the SHA-256 of the model a
//! program was compiled from; [`check_model`] hashes the bytes given at start-up and refuses a mismatch, once,
//! before the first inference (not on every inference).

use sha2::{Digest, Sha256};

use crate::program::Program;

/// Bytes of a SHA-256 digest.
pub const SHA256_BYTES: usize = 32;

/// The model bytes given are not those the program was compiled from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelMismatch {
    /// SHA-256 the program was compiled for.
    pub expected: [u8; SHA256_BYTES],
    /// SHA-256 of the bytes given.
    pub actual: [u8; SHA256_BYTES],
    /// Length of the bytes given.
    pub len: usize,
}

impl core::fmt::Display for ModelMismatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the model bytes (")?;
        write!(f, "{} B, SHA-256 ", self.len)?;
        write_hex(f, &self.actual)?;
        f.write_str(") are not the model the program was compiled from (SHA-256 ")?;
        write_hex(f, &self.expected)?;
        f.write_str(")")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ModelMismatch {}

fn write_hex(f: &mut core::fmt::Formatter<'_>, bytes: &[u8]) -> core::fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; SHA256_BYTES] {
    Sha256::digest(bytes).into()
}

/// Checks that `model` hashes to `expected`.
pub fn check_model(model: &[u8], expected: &[u8; SHA256_BYTES]) -> Result<(), ModelMismatch> {
    let actual = sha256(model);
    if &actual == expected {
        Ok(())
    } else {
        Err(ModelMismatch { expected: *expected, actual, len: model.len() })
    }
}

/// `program`, once its model bytes are checked against `expected` (the SHA-256 recorded at compilation).
pub fn checked_program<'a>(program: Program<'a>, expected: &[u8; SHA256_BYTES]) -> Result<Program<'a>, ModelMismatch> {
    check_model(program.model, expected).map(|()| program)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FIPS 180-2, appendix B.1: SHA-256 of "abc".
    const ABC: [u8; 32] = [
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03,
        0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
    ];

    #[test]
    fn the_right_bytes_pass_and_any_other_bytes_fail() {
        assert_eq!(check_model(b"abc", &ABC), Ok(()));
        let err = check_model(b"abd", &ABC).unwrap_err();
        assert_eq!(err.expected, ABC);
        assert_eq!(err.len, 3);
        assert_ne!(err.actual, ABC);
        assert!(check_model(b"", &ABC).is_err());
    }

    #[test]
    fn a_checked_program_keeps_its_model() {
        let program =
            Program { steps: &[], model: b"abc", precomputed: &[], arena_bytes: 0, inputs: &[], outputs: &[] };
        assert_eq!(checked_program(program, &ABC).unwrap().model, b"abc");
        let other = Program { model: b"abcd", ..program };
        assert!(checked_program(other, &ABC).is_err());
    }
}
