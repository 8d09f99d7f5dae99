//! arenaplan's interchangeable memory planners, all behind the planner crate's [`Packer`] and [`Strategy`]
//! traits, and [`registry()`], the plain list of them with default settings.
//!
//! | packer | what it does | status it can claim |
//! |---|---|---|
//! | `greedy-by-*` ([`greedy`]) | an order and a placement rule; `greedy-by-size` is TFLM's planner, exactly | optimal only at LOAD |
//! | `best-of` ([`BestOf`]) | every greedy combination, keeps the smallest | optimal only at LOAD |
//! | `hill-climb` ([`HillClimb`]) | seeded local search over the first-fit order | optimal only at LOAD |
//! | `ilp`, `ilp-highs`, `ilp-cbc` ([`IlpPacker`]) | MILP with good_lp, warm-started, never worse than its warm start | optimal when the solver proves it |
//! | `exact` ([`ExactPacker`]) | MiniMalloc-style branch-and-bound, a decision search at a capacity | optimal when the search closes the gap |
//!
//! Every packer of the registry runs on the canonical form of its problem ([`canonical`]: times as ranks,
//! bytes in units of their gcd), made once at its door; `exact` and `ilp` canonicalise their input themselves.
//!
//! ```
//! use arenaplan_planner::{pack_checked, Buffer, BufferId, BufferOrigin, BufferProblem, PackLimits, Status};
//! use arenaplan_strategies::packer_by_name;
//!
//! // Three buffers: a and b alive together, then c alone.
//! let buffer = |size: u64, live: std::ops::Range<u32>| Buffer {
//!     id: BufferId(0), origin: BufferOrigin::Instance, name: String::new(), size_bytes: size, align_bytes: 16, live,
//! };
//! let problem = BufferProblem::new(vec![buffer(64, 0..2), buffer(32, 1..3), buffer(96, 3..4)]);
//! let exact = packer_by_name("exact").unwrap();
//! let (packing, arena) = pack_checked(exact.as_ref(), &problem, &PackLimits::default()).unwrap();
//! assert_eq!(arena, 96);
//! assert_eq!(packing.status, Status::Optimal);
//! ```
#![warn(missing_docs)]

pub mod best_of;
pub mod canonical;
mod common;
pub mod decompose;
pub mod exact;
pub mod fusion;
pub mod greedy;
pub mod hill_climb;
#[cfg(any(feature = "microlp", feature = "highs", feature = "coin_cbc"))]
pub mod ilp;
pub mod instances;
pub mod memory_order;
pub mod overlap;
pub mod pareto;
mod registry;
pub mod rng;

pub use best_of::BestOf;
pub use canonical::Canonical;
pub use exact::ExactPacker;
pub use fusion::{choose_segments, Fused, SegmentChoice};
pub use greedy::{GreedyPacker, Order, Placement};
pub use hill_climb::HillClimb;
#[cfg(any(feature = "microlp", feature = "highs", feature = "coin_cbc"))]
pub use ilp::{IlpPacker, IlpRun, IlpSolver};
pub use memory_order::MemoryOrder;
pub use overlap::Overlap;
pub use pareto::{Pareto, ParetoPoint};
pub use registry::beyond_tflm;
pub use registry::{packer_by_name, packer_names, packers, registry, strategy_by_name};

pub use arenaplan_planner::{Packer, Strategy};
