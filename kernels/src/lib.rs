//! int8 kernels and the compiled-program interpreter of arenaplan.
//!
//! `#![no_std]` and allocation-free: this is the crate firmware links.
#![no_std]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "std")]
extern crate std;
