//! The portable program blob: a compiled [`Program`](crate::Program) as one versioned byte string that C
//! firmware (or any other language) can hold in flash and hand to the interpreter, decoded here without
//! allocation.
//!
//! Layout, every integer little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | magic `APPG` ([`MAGIC`]) |
//! | 4..6 | format version, `u16` ([`VERSION`]) |
//! | 6..8 | reserved flags, `u16`, zero |
//! | 8..12 | arena bytes the program needs, `u32` |
//! | 12..16 | length of the model file the program reads, `u32` |
//! | 16..20 | FNV-1a (32-bit) checksum of that model file ([`model_checksum`]) |
//! | 20..24 | number of steps, `u32` |
//! | 24..28 | number of model inputs, `u32` |
//! | 28..32 | number of model outputs, `u32` |
//! | 32..36 | bytes of precomputed constants, `u32` |
//! | 36..40 | bytes of the step records, `u32` |
//! | 40..44 | FNV-1a (32-bit) of every other byte of the blob ([`blob_checksum`]) |
//! | 44.. | the inputs' arena slices, then the outputs', each `u32` offset and `u32` length |
//! | .. | the precomputed constants |
//! | .. | the step records, one [`Step`] each in the `postcard` encoding of its serde form |
//!
//! The sections fill the blob exactly. [`ProgramBlob::parse`] checks the header, the section lengths, the
//! counts and the blob's checksum (so a blob corrupted in flash or in transit is refused before it runs); [`ProgramBlob::steps`] decodes the steps one at a time into a [`Step`] on the stack, refusing an
//! unknown enum tag, a truncated record or trailing bytes. Nothing here panics on any input.

use crate::program::{Slice, Step};

/// The first four bytes of every program blob.
pub const MAGIC: [u8; 4] = *b"APPG";

/// The format version this crate reads and the planner writes. Any change to the layout above or to the
/// serde form of [`Step`] (field order, enum variants) is a new version.
pub const VERSION: u16 = 1;

/// Bytes of the fixed header.
pub const HEADER_BYTES: usize = 44;

/// Where the blob checksum lies in the header.
const CHECKSUM_AT: usize = 40;

/// Bytes of one slice record (offset, length).
pub const SLICE_BYTES: usize = 8;

/// Most steps, inputs or outputs a blob may declare: keeps every size computation far from overflow.
pub const MAX_COUNT: u32 = 1 << 20;

/// Why a byte string is not a program blob this crate can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than the header.
    Truncated,
    /// The first four bytes are not [`MAGIC`].
    BadMagic,
    /// A format version this crate does not read.
    UnsupportedVersion {
        /// The version found.
        found: u16,
    },
    /// Reserved flags are set.
    UnknownFlags {
        /// The flags found.
        found: u16,
    },
    /// A count exceeds [`MAX_COUNT`].
    CountTooLarge,
    /// The header's section lengths do not add up to the blob's length.
    LengthMismatch {
        /// Bytes the header declares.
        declared: u64,
        /// Bytes given.
        given: usize,
    },
    /// A step record is malformed (unknown tag, truncated, or a value out of its type's range).
    BadStep {
        /// The step.
        index: u32,
    },
    /// The blob's checksum differs from the one its header records: the blob is corrupted.
    ChecksumMismatch,
    /// The step records end before the declared number of steps, or bytes remain after the last step.
    StepCountMismatch,
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecodeError::Truncated => write!(f, "program blob shorter than its {HEADER_BYTES}-byte header"),
            DecodeError::BadMagic => write!(f, "not an arenaplan program blob (bad magic)"),
            DecodeError::UnsupportedVersion { found } => {
                write!(f, "program blob format version {found}, this interpreter reads version {VERSION}")
            }
            DecodeError::UnknownFlags { found } => write!(f, "program blob has unknown flags {found:#06x}"),
            DecodeError::CountTooLarge => write!(f, "program blob declares more than {MAX_COUNT} items"),
            DecodeError::LengthMismatch { declared, given } => {
                write!(f, "program blob declares {declared} bytes but has {given}")
            }
            DecodeError::ChecksumMismatch => write!(f, "program blob is corrupted (checksum mismatch)"),
            DecodeError::BadStep { index } => write!(f, "step {index} of the program blob is malformed"),
            DecodeError::StepCountMismatch => write!(f, "program blob's step records do not match its step count"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

/// FNV-1a, 32-bit, of `bytes`: the checksum a blob records of the model file it was compiled against. It
/// catches a wrong or corrupted model; it is not a cryptographic hash.
pub fn model_checksum(bytes: &[u8]) -> u32 {
    fnv1a(0x811c_9dc5, bytes)
}

fn fnv1a(state: u32, bytes: &[u8]) -> u32 {
    bytes.iter().fold(state, |hash, &b| (hash ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// The checksum a blob records in its header: FNV-1a (32-bit) over the blob without the checksum field
/// itself (bytes 0..40, then 44 to the end). 0 for a blob shorter than its header.
pub fn blob_checksum(blob: &[u8]) -> u32 {
    match (blob.get(..CHECKSUM_AT), blob.get(HEADER_BYTES..)) {
        (Some(head), Some(rest)) => fnv1a(fnv1a(0x811c_9dc5, head), rest),
        _ => 0,
    }
}

/// Write `blob`'s checksum into its header (the encoder's last step); a blob shorter than its header is left
/// as it is.
pub fn seal(blob: &mut [u8]) {
    let checksum = blob_checksum(blob);
    if let Some(field) = blob.get_mut(CHECKSUM_AT..HEADER_BYTES) {
        field.copy_from_slice(&checksum.to_le_bytes());
    }
}

/// The fixed header of a program blob, as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobHeader {
    /// Arena bytes the program needs.
    pub arena_bytes: u32,
    /// Length of the model file the program reads weights from.
    pub model_len: u32,
    /// [`model_checksum`] of that file.
    pub model_checksum: u32,
    /// Number of steps.
    pub step_count: u32,
    /// Number of model inputs.
    pub input_count: u32,
    /// Number of model outputs.
    pub output_count: u32,
    /// Bytes of precomputed constants.
    pub precomputed_len: u32,
    /// Bytes of the step records.
    pub steps_len: u32,
}

impl BlobHeader {
    /// The header as its [`HEADER_BYTES`] bytes (what the encoder writes first), with a zero checksum that
    /// [`seal`] fills in once the blob is complete.
    pub fn to_bytes(&self) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        out[0..4].copy_from_slice(&MAGIC);
        out[4..6].copy_from_slice(&VERSION.to_le_bytes());
        let words = [
            self.arena_bytes,
            self.model_len,
            self.model_checksum,
            self.step_count,
            self.input_count,
            self.output_count,
            self.precomputed_len,
            self.steps_len,
        ];
        for (chunk, word) in out[8..CHECKSUM_AT].chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    // Callers pass offsets inside checked sections; a short read gives 0 rather than a panic.
    match bytes.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// A checked program blob: its header, borrowed sections and a step decoder.
#[derive(Debug, Clone, Copy)]
pub struct ProgramBlob<'a> {
    header: BlobHeader,
    slices: &'a [u8],
    precomputed: &'a [u8],
    steps: &'a [u8],
}

impl<'a> ProgramBlob<'a> {
    /// Check the header and section lengths of `bytes` (the steps are checked as they are decoded, and all
    /// at once by [`ProgramBlob::check_steps`]).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let head = bytes.get(..HEADER_BYTES).ok_or(DecodeError::Truncated)?;
        if head[0..4] != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        let version = u16::from_le_bytes([head[4], head[5]]);
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion { found: version });
        }
        let flags = u16::from_le_bytes([head[6], head[7]]);
        if flags != 0 {
            return Err(DecodeError::UnknownFlags { found: flags });
        }
        let header = BlobHeader {
            arena_bytes: u32_at(head, 8),
            model_len: u32_at(head, 12),
            model_checksum: u32_at(head, 16),
            step_count: u32_at(head, 20),
            input_count: u32_at(head, 24),
            output_count: u32_at(head, 28),
            precomputed_len: u32_at(head, 32),
            steps_len: u32_at(head, 36),
        };
        if [header.step_count, header.input_count, header.output_count].iter().any(|&c| c > MAX_COUNT) {
            return Err(DecodeError::CountTooLarge);
        }
        let slices_len = (u64::from(header.input_count) + u64::from(header.output_count)) * SLICE_BYTES as u64;
        let declared =
            HEADER_BYTES as u64 + slices_len + u64::from(header.precomputed_len) + u64::from(header.steps_len);
        if declared != bytes.len() as u64 {
            return Err(DecodeError::LengthMismatch { declared, given: bytes.len() });
        }
        if u32_at(head, CHECKSUM_AT) != blob_checksum(bytes) {
            return Err(DecodeError::ChecksumMismatch);
        }
        // Every length below is now known to fit in `bytes`, so the splits cannot fail.
        let rest = &bytes[HEADER_BYTES..];
        let (slices, rest) = rest.split_at(slices_len as usize);
        let (precomputed, steps) = rest.split_at(header.precomputed_len as usize);
        Ok(ProgramBlob { header, slices, precomputed, steps })
    }

    /// The header.
    pub fn header(&self) -> &BlobHeader {
        &self.header
    }

    /// The precomputed constants.
    pub fn precomputed(&self) -> &'a [u8] {
        self.precomputed
    }

    fn slice_at(&self, record: u32) -> Slice {
        let at = record as usize * SLICE_BYTES;
        Slice { offset: u32_at(self.slices, at), len: u32_at(self.slices, at + 4) }
    }

    /// Where model input `i` goes in the arena.
    pub fn input(&self, i: u32) -> Option<Slice> {
        (i < self.header.input_count).then(|| self.slice_at(i))
    }

    /// Where model output `j` is in the arena.
    pub fn output(&self, j: u32) -> Option<Slice> {
        (j < self.header.output_count).then(|| self.slice_at(self.header.input_count + j))
    }

    /// The steps, decoded one at a time.
    pub fn steps(&self) -> StepDecoder<'a> {
        StepDecoder { rest: self.steps, index: 0, count: self.header.step_count, failed: false }
    }

    /// Decode every step once, so that a malformed record is found before anything runs.
    pub fn check_steps(&self) -> Result<(), DecodeError> {
        self.steps().try_for_each(|step| step.map(drop))
    }
}

/// Decodes the step records of a [`ProgramBlob`] in order. After the last declared step it checks that no
/// bytes remain; after an error it yields nothing more.
#[derive(Debug, Clone)]
pub struct StepDecoder<'a> {
    rest: &'a [u8],
    index: u32,
    count: u32,
    failed: bool,
}

impl Iterator for StepDecoder<'_> {
    type Item = Result<Step, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.index == self.count {
            if self.rest.is_empty() {
                return None;
            }
            self.failed = true;
            return Some(Err(DecodeError::StepCountMismatch));
        }
        if self.rest.is_empty() {
            self.failed = true;
            return Some(Err(DecodeError::StepCountMismatch));
        }
        match postcard::take_from_bytes::<Step>(self.rest) {
            Ok((step, rest)) => {
                self.rest = rest;
                self.index += 1;
                Some(Ok(step))
            }
            Err(_) => {
                self.failed = true;
                Some(Err(DecodeError::BadStep { index: self.index }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(steps_len: u32, step_count: u32) -> BlobHeader {
        BlobHeader {
            arena_bytes: 64,
            model_len: 0,
            model_checksum: model_checksum(&[]),
            step_count,
            input_count: 1,
            output_count: 1,
            precomputed_len: 0,
            steps_len,
        }
    }

    /// A sealed blob of `len` bytes from `bytes`.
    fn sealed(bytes: &[u8], len: usize) -> [u8; 128] {
        let mut out = [0u8; 128];
        out[..len].copy_from_slice(&bytes[..len]);
        seal(&mut out[..len]);
        out
    }

    fn blob_with(steps: &[u8], step_count: u32) -> [u8; 128] {
        let mut out = [0u8; 128];
        out[..HEADER_BYTES].copy_from_slice(&header(steps.len() as u32, step_count).to_bytes());
        // input at 0..16, output at 16..32
        out[HEADER_BYTES + 4] = 16;
        out[HEADER_BYTES + 8] = 16;
        out[HEADER_BYTES + 12] = 16;
        out[HEADER_BYTES + 16..HEADER_BYTES + 16 + steps.len()].copy_from_slice(steps);
        out
    }

    #[test]
    fn fnv1a_matches_its_published_test_vectors() {
        assert_eq!(model_checksum(b""), 0x811c_9dc5);
        assert_eq!(model_checksum(b"a"), 0xe40c_292c);
        assert_eq!(model_checksum(b"foobar"), 0xbf9c_f968);
    }

    /// Step { kernel: CopyS8 (tag 6), variant: Reference (0), params: NoParams (tag 21),
    ///        inputs: [Arena(0..16), Unused x4], output: 16..32, scratch: None }, written by hand from the
    /// postcard rules (varint tags and integers, arrays without a length).
    const COPY_RECORD: [u8; 13] = [6, 0, 21, 1, 0, 16, 0, 0, 0, 0, 16, 16, 0];
    const COPY_BLOB_LEN: usize = HEADER_BYTES + 16 + COPY_RECORD.len();

    #[test]
    fn a_copy_step_decodes() {
        let bytes = sealed(&blob_with(&COPY_RECORD, 1), COPY_BLOB_LEN);
        let blob = ProgramBlob::parse(&bytes[..COPY_BLOB_LEN]).unwrap();
        assert_eq!(blob.input(0), Some(Slice { offset: 0, len: 16 }));
        assert_eq!(blob.output(0), Some(Slice { offset: 16, len: 16 }));
        assert_eq!(blob.input(1), None);
        let step = blob.steps().next().unwrap().unwrap();
        assert_eq!(step.kernel, crate::KernelId::CopyS8);
        assert_eq!(step.inputs[0], crate::Operand::Arena(Slice { offset: 0, len: 16 }));
        assert_eq!(step.output, Slice { offset: 16, len: 16 });
        assert_eq!(step.scratch, None);
        assert!(blob.check_steps().is_ok());
    }

    #[test]
    fn malformed_blobs_are_refused_by_name() {
        let len = COPY_BLOB_LEN;
        let good = sealed(&blob_with(&COPY_RECORD, 1), len);
        let parse = |bytes: &[u8]| ProgramBlob::parse(bytes).map(|_| ());
        assert_eq!(parse(&good[..10]), Err(DecodeError::Truncated));
        assert!(matches!(parse(&good[..len - 1]), Err(DecodeError::LengthMismatch { .. })));
        let mut bad = good;
        bad[0] = b'X';
        assert_eq!(parse(&bad[..len]), Err(DecodeError::BadMagic));
        let mut bad = good;
        bad[4] = 9;
        assert_eq!(parse(&bad[..len]), Err(DecodeError::UnsupportedVersion { found: 9 }));
        let mut bad = good;
        bad[6] = 1;
        assert_eq!(parse(&bad[..len]), Err(DecodeError::UnknownFlags { found: 1 }));
        let mut bad = good;
        bad[len - 1] = 1; // scratch: Some(..) would need more bytes; first the checksum catches it
        assert_eq!(parse(&bad[..len]), Err(DecodeError::ChecksumMismatch));
        let bad = sealed(&bad, len);
        assert_eq!(ProgramBlob::parse(&bad[..len]).unwrap().check_steps(), Err(DecodeError::BadStep { index: 0 }));
        let mut bad = good;
        bad[HEADER_BYTES + 16] = 200; // no such kernel
        let bad = sealed(&bad, len);
        assert_eq!(ProgramBlob::parse(&bad[..len]).unwrap().check_steps(), Err(DecodeError::BadStep { index: 0 }));
        // Two steps declared, one present.
        let two = sealed(&blob_with(&COPY_RECORD, 2), len);
        assert_eq!(ProgramBlob::parse(&two[..len]).unwrap().check_steps(), Err(DecodeError::StepCountMismatch));
        // The header claims more inputs than there are bytes.
        let mut bad = good;
        bad[24] = 0xff;
        assert!(matches!(parse(&sealed(&bad, len)[..len]), Err(DecodeError::LengthMismatch { .. })));
        bad[27] = 0xff;
        assert_eq!(parse(&sealed(&bad, len)[..len]), Err(DecodeError::CountTooLarge));
    }
}
