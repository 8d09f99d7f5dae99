//! Allocation instances for tests and benchmarks: seeded generators of perfect packings (known optimum) and of
//! DNN-like problems, and the hard-instance suite built from them ([`hard_suite`]).

mod dnn;
mod perfect;
mod suite;

pub use dnn::dnn_like;
pub use perfect::{perfect_packing, PerfectPacking};
pub use suite::{hard_suite, realistic_times, SuiteInstance, DNN_SUITE, PERFECT_SUITE};
