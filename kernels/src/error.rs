//! The one error type of the kernels crate.

use core::fmt;

/// Why a kernel or the interpreter refused to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelError {
    /// The arena is smaller than the program needs.
    ArenaTooSmall {
        /// Bytes the program needs.
        needed: u32,
        /// Bytes given.
        given: usize,
    },
    /// A slice of a step lies outside its blob or the arena.
    OutOfRange {
        /// The step.
        step: usize,
    },
    /// A step's output overlaps one of its inputs, and its kernel cannot run in place.
    Overlap {
        /// The step.
        step: usize,
    },
    /// A slice has the wrong length for the kernel's shapes.
    BadLength {
        /// The kernel.
        kernel: &'static str,
    },
    /// A step references an operand its kernel does not accept.
    BadOperand {
        /// The step.
        step: usize,
    },
    /// The program reads a model input row by row and the caller gave no such row.
    NoInputRows {
        /// The model input.
        input: usize,
        /// The row.
        row: usize,
    },
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::ArenaTooSmall { needed, given } => {
                write!(f, "arena of {given} bytes is smaller than the {needed} bytes the program needs")
            }
            KernelError::OutOfRange { step } => write!(f, "step {step} refers to bytes outside its blob or arena"),
            KernelError::Overlap { step } => write!(f, "step {step} writes over one of its inputs"),
            KernelError::BadLength { kernel } => write!(f, "{kernel}: a slice has the wrong length for its shape"),
            KernelError::BadOperand { step } => write!(f, "step {step} has an operand its kernel does not accept"),
            KernelError::NoInputRows { input, row } => {
                write!(f, "the program reads model input {input} row by row, and row {row} was not given")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for KernelError {}
