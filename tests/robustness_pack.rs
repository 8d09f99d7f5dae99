//! `pack` on hostile allocation instances (issue 11, item 3): huge sizes are refused at the door instead of
//! wrapping or saturating into an accepted overlap, and long lifetimes cost nothing per time step.

use std::time::{Duration, Instant};

use arenaplan_planner::limits::{MAX_ALIGN_BYTES, MAX_INSTANCE_BUFFER_BYTES};
use arenaplan_planner::minimalloc_csv::read_csv;
use arenaplan_planner::{pack_checked, Buffer, BufferProblem, PackError, PackLimits};
use arenaplan_strategies as strategies;

fn limits() -> PackLimits {
    PackLimits { time_limit: Duration::from_millis(2_000), seed: 0 }
}

/// Two buffers of `u64::MAX` bytes alive together: a saturating packer stacks them at 0 and `u64::MAX` with a
/// saturated arena that a saturating validator accepts. They must be refused before any packer runs.
#[test]
fn two_buffers_of_u64_max_are_refused_by_every_packer() {
    let problem =
        BufferProblem::new(vec![Buffer::instance("a", u64::MAX, 1, 0..2), Buffer::instance("b", u64::MAX, 1, 0..2)]);
    for packer in strategies::packers() {
        match pack_checked(packer.as_ref(), &problem, &limits()) {
            Err(PackError::Limit(e)) => assert_eq!(e.name, "MAX_INSTANCE_BUFFER_BYTES", "{}", packer.name()),
            other => panic!("{}: expected a limit error, got {other:?}", packer.name()),
        }
    }
}

/// 19 buffers of 10^18 bytes: their sum wraps u64; refused at the CSV door, naming the limit.
#[test]
fn sizes_whose_sum_wraps_are_refused_when_read() {
    let mut csv = String::from("id,lower,upper,size\n");
    for i in 0..19 {
        csv.push_str(&format!("b{i},0,1,1000000000000000000\n"));
    }
    let err = read_csv(&csv).expect_err("sizes above the limit");
    assert!(err.to_string().contains("MAX_INSTANCE_BUFFER_BYTES"), "{err}");
}

/// At the limits, every packer's arithmetic stays exact (the test runs with overflow checks on) and the
/// validator accepts the packing.
#[test]
fn buffers_at_the_limits_pack_without_overflow() {
    let big = MAX_INSTANCE_BUFFER_BYTES;
    let problem = BufferProblem::new(vec![
        Buffer::instance("a", big, MAX_ALIGN_BYTES, 0..3),
        Buffer::instance("b", big - 1, MAX_ALIGN_BYTES, 1..4),
        Buffer::instance("c", big, 1, 2..5),
        Buffer::instance("d", 1, MAX_ALIGN_BYTES, 0..5),
    ]);
    for packer in strategies::packers() {
        let (_, arena) =
            pack_checked(packer.as_ref(), &problem, &limits()).unwrap_or_else(|e| panic!("{}: {e}", packer.name()));
        assert!(arena >= problem.lower_bound(), "{}", packer.name());
    }
}

/// `a,0,100000000,16` (and lifetimes near `u32::MAX`): nothing is allocated per time step, so every packer
/// answers at once.
#[test]
fn long_lifetimes_cost_nothing_per_step() {
    let csv = "id,lower,upper,size\na,0,100000000,16\nb,4000000000,4000000001,16\nc,50,4294967295,32\n";
    let problem = read_csv(csv).expect("valid instance").problem;
    assert_eq!(problem.lower_bound(), 48);
    for packer in strategies::packers() {
        let started = Instant::now();
        let (_, arena) =
            pack_checked(packer.as_ref(), &problem, &limits()).unwrap_or_else(|e| panic!("{}: {e}", packer.name()));
        assert_eq!(arena, 48, "{}", packer.name());
        assert!(started.elapsed() < Duration::from_secs(3), "{} took {:?}", packer.name(), started.elapsed());
    }
}

/// 3000 buffers all alive at once: 4.5 M pairs that local search, the ILP and the exact search would each keep
/// in memory. Refused at the door, naming the limit.
#[test]
fn too_many_buffers_alive_together_are_refused_naming_the_limit() {
    let crowd = BufferProblem::new((0..3000).map(|i| Buffer::instance(format!("b{i}"), 16, 1, 0..10)).collect());
    assert_eq!(crowd.conflict_pair_count(), 3000 * 2999 / 2);
    for packer in strategies::packers() {
        match pack_checked(packer.as_ref(), &crowd, &limits()) {
            Err(PackError::Limit(e)) => assert_eq!(e.name, "MAX_CONFLICT_PAIRS", "{}", packer.name()),
            other => panic!("{}: expected a limit error, got {other:?}", packer.name()),
        }
    }
}
