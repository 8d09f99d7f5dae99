use super::*;
use arenaplan_planner::{Buffer, BufferId, BufferOrigin};

fn problem(specs: &[(u64, std::ops::Range<u32>)]) -> BufferProblem {
    BufferProblem::new(
        specs
            .iter()
            .map(|(size, live)| Buffer {
                id: BufferId(0),
                origin: BufferOrigin::Instance,
                name: String::new(),
                size_bytes: *size,
                align_bytes: 16,
                live: live.clone(),
            })
            .collect(),
    )
}

#[test]
fn tflm_order_is_size_descending_with_later_buffers_first_on_ties() {
    let p = problem(&[(32, 0..1), (64, 0..1), (32, 0..1), (16, 0..1)]);
    assert_eq!(GreedyPacker::tflm().buffer_order(&p), vec![1, 2, 0, 3]);
}

#[test]
fn first_fit_takes_the_lowest_gap_that_fits() {
    // b0 [0,64) ends at step 1; b1 sits at 64; b2 reuses b0's space at 0; b3 (48 B) does not fit in the
    // 32-byte gap [32,64) between b2 and b1 and goes above b1; b4 (16 B) fits in that gap.
    let p = problem(&[(64, 0..1), (32, 0..3), (32, 1..3), (48, 2..3), (16, 2..3)]);
    let offsets = first_fit_in_order(&p, &[0, 1, 2, 3, 4]);
    assert_eq!(offsets, vec![0, 64, 0, 96, 32]);
}

#[test]
fn buffers_disjoint_in_time_share_memory() {
    let p = problem(&[(64, 0..2), (64, 2..4), (32, 1..3)]);
    let offsets = GreedyPacker::tflm().pack(&p, &PackLimits::default()).unwrap().offsets;
    assert_eq!(offsets, vec![0, 0, 64]);
}
