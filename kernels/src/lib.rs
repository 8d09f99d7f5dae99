//! int8 kernels and the compiled-program interpreter of arenaplan.
//!
//! `#![no_std]` and allocation-free: this is the crate firmware links. The [`reference`](mod@reference) kernels reproduce
//! TFLM's reference kernels bit for bit; a [`Program`] lists the steps of a whole model with every parameter
//! precomputed, and [`run`] executes it in one caller-provided arena.
#![no_std]
#![warn(missing_docs)]
#![deny(unsafe_code)]

#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "encoding")]
mod blob_run;
#[cfg(feature = "encoding")]
pub mod encoding;
mod error;
mod interpreter;
pub mod io;
pub mod memory;
pub mod model_check;
pub mod optimized;
pub mod program;
pub mod quant;
pub mod reference;
pub mod stream;

#[cfg(feature = "encoding")]
pub use blob_run::{check_blob, check_model, run_blob, run_blob_observed, BlobRunError};
pub use error::KernelError;
pub use interpreter::{
    input_is_streamed, input_mut, observed_steps, output, run, run_observed, run_streaming, scratch_bytes, RowSource,
    StepObserver,
};
pub use io::{ElementType, IoError, TensorDescriptor};
pub use program::{KernelId, Operand, Program, Slice, Step, StepParams, Variant};
