//! The greedy packers and `best-of` honour the time limit (issue 11, "every packer honours the time limit and
//! returns its best plan so far"): a greedy that cannot finish in time stops with `TimeLimit` instead of running
//! on; `best-of` shares its limit among its packers and returns the best packing found before it passed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arenaplan_planner::{Buffer, BufferProblem, PackError, PackLimits, Packer, Packing, Status};
use arenaplan_strategies::{BestOf, GreedyPacker, Order, Placement};

/// `n` buffers all alive together: every placement walks every placed buffer, so greedy is quadratic.
fn all_alive(n: usize) -> BufferProblem {
    BufferProblem::new((0..n).map(|i| Buffer::instance(format!("b{i}"), 16 + (i as u64 % 7) * 16, 16, 0..4)).collect())
}

fn limits(ms: u64) -> PackLimits {
    PackLimits { time_limit: Duration::from_millis(ms), seed: 0 }
}

#[test]
fn a_greedy_that_cannot_finish_in_time_stops() {
    let problem = all_alive(16_000);
    for placement in [Placement::FirstFit, Placement::BestFit] {
        let packer = GreedyPacker::new(Order::SizeDesc, placement);
        let started = Instant::now();
        let result = packer.pack(&problem, &limits(1));
        let elapsed = started.elapsed();
        assert!(matches!(result, Err(PackError::TimeLimit { .. })), "{placement:?}: {result:?}");
        // Unlimited, the same placement takes far longer than this (quadratic in 16,000 buffers).
        assert!(elapsed < Duration::from_millis(500), "{placement:?} stopped only after {elapsed:?}");
    }
}

#[test]
fn a_small_problem_completes_even_with_no_time() {
    let problem = all_alive(40);
    let packing = GreedyPacker::tflm().pack(&problem, &limits(0)).unwrap();
    assert_eq!(packing.offsets.len(), 40);
}

/// A packer that takes `delay` and then places nothing better than stacking; records that it ran.
struct Slow {
    delay: Duration,
    ran: Arc<AtomicBool>,
}

impl Packer for Slow {
    fn name(&self) -> String {
        "slow".to_owned()
    }
    fn params(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    fn pack(&self, problem: &BufferProblem, _: &PackLimits) -> Result<Packing, PackError> {
        self.ran.store(true, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        let mut next = 0;
        let offsets = problem
            .buffers
            .iter()
            .map(|b| {
                let o = next;
                next += b.size_bytes;
                o
            })
            .collect();
        Ok(Packing { offsets, status: Status::Heuristic, lower_bound_bytes: 0 })
    }
}

#[test]
fn best_of_returns_its_best_so_far_at_the_time_limit() {
    let problem = all_alive(200);
    let first_ran = Arc::new(AtomicBool::new(false));
    let second_ran = Arc::new(AtomicBool::new(false));
    let best_of = BestOf {
        packers: vec![
            Box::new(GreedyPacker::tflm()),
            Box::new(Slow { delay: Duration::from_millis(400), ran: first_ran.clone() }),
            Box::new(Slow { delay: Duration::from_millis(400), ran: second_ran.clone() }),
        ],
    };
    let started = Instant::now();
    let (packing, name) = best_of.best(&problem, &limits(100)).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(name, "greedy-by-size", "the greedy's packing is the best found in time");
    assert_eq!(packing.offsets, GreedyPacker::tflm().offsets(&problem));
    assert!(first_ran.load(Ordering::SeqCst), "the limit had not passed when the second packer started");
    assert!(!second_ran.load(Ordering::SeqCst), "a packer started after the limit had passed");
    assert!(elapsed < Duration::from_millis(750), "best-of ran on for {elapsed:?}");
}

#[test]
fn best_of_without_any_packing_in_time_reports_the_time_limit() {
    let problem = all_alive(16_000);
    let result = BestOf::default().pack(&problem, &limits(1));
    assert!(matches!(result, Err(PackError::TimeLimit { .. })), "{result:?}");
}
