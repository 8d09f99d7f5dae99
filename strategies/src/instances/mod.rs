//! Allocation instances for tests and benchmarks: seeded generators of perfect packings (known optimum) and of
//! DNN-like problems.

mod dnn;
mod perfect;

pub use dnn::dnn_like;
pub use perfect::{perfect_packing, PerfectPacking};
