use super::*;
use arenaplan_planner::Buffer;

fn problem(specs: &[(u64, std::ops::Range<u32>)]) -> BufferProblem {
    BufferProblem::new(specs.iter().map(|(size, live)| Buffer::instance("", *size, 16, live.clone())).collect())
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

#[test]
fn best_fit_takes_the_smallest_gap_not_the_lowest() {
    // At step 2, b0 [0,64), b2 [96,128) and b4 [192,224) are alive; free gaps: [64,96) (32 B) and [128,192)
    // (64 B). A 48-byte buffer only fits the 64-byte gap; after it, a 16-byte buffer has the gaps [64,96) and
    // [176,192) to choose from.
    let p = problem(&[(64, 0..3), (32, 0..2), (32, 0..3), (64, 0..2), (32, 0..3), (48, 2..3), (16, 2..3)]);
    // Place b0..b4 first (stacked), then b5 (48 B) and b6 (16 B) once b1 and b3 are gone.
    let order = [0, 1, 2, 3, 4, 5, 6];
    let first = first_fit_in_order(&p, &order);
    let best = best_fit_in_order(&p, &order);
    assert_eq!(&first[..5], &[0, 64, 96, 128, 192]);
    assert_eq!(best[..5], first[..5]);
    // First fit: b5 (48 B) skips the 32-byte gap [64,96) and takes [128,176); b6 takes [64,80).
    assert_eq!(first[5], 128);
    assert_eq!(first[6], 64);
    // Best fit: b5 also goes to [128,192) (the only gap that holds it); b6 takes the smallest gap left:
    // [176,192) (16 B) rather than [64,96) (32 B).
    assert_eq!(best[5], 128);
    assert_eq!(best[6], 176);
}

#[test]
fn best_fit_goes_above_everything_when_no_gap_holds_it() {
    let p = problem(&[(32, 0..2), (32, 0..1), (32, 0..2), (64, 1..2)]);
    // b1 ends at step 1 and leaves a 32-byte gap at [32,64); the 64-byte b3 cannot use it.
    let best = best_fit_in_order(&p, &[0, 1, 2, 3]);
    assert_eq!(best, vec![0, 32, 64, 96]);
}

#[test]
fn start_time_order_is_earliest_first_then_largest() {
    let p = problem(&[(16, 2..3), (64, 0..1), (32, 0..4), (64, 2..5)]);
    assert_eq!(start_time_order(&p), vec![1, 2, 3, 0]);
}

#[test]
fn breadth_order_visits_the_busiest_step_first() {
    // Live bytes per step: 0: 32+16 = 48, 1: 16+128 = 144, 2: 128. Step 1 first: b2 (128) then b1 (16); then
    // step 0: b0 (32).
    let p = problem(&[(32, 0..1), (16, 0..2), (128, 1..3)]);
    assert_eq!(breadth_order(&p), vec![2, 1, 0]);
}

#[test]
fn conflicts_order_puts_the_most_overlapped_buffer_first() {
    // b1 overlaps b0, b2 and b3; the others overlap only b1.
    let p = problem(&[(64, 0..2), (16, 1..6), (32, 3..4), (64, 5..7)]);
    assert_eq!(conflict_counts(&p), vec![1, 3, 1, 1]);
    assert_eq!(conflicts_order(&p), vec![1, 0, 3, 2]);
}

#[test]
fn names_follow_order_and_placement() {
    let names: Vec<String> = GreedyPacker::all().iter().map(|p| p.name()).collect();
    assert_eq!(
        names,
        [
            "greedy-by-size",
            "greedy-by-size-best-fit",
            "greedy-by-breadth",
            "greedy-by-breadth-best-fit",
            "greedy-by-start",
            "greedy-by-start-best-fit",
            "greedy-by-conflicts",
            "greedy-by-conflicts-best-fit"
        ]
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn arb_problem() -> impl Strategy<Value = BufferProblem> {
        prop::collection::vec((0u64..8, 0u32..12, 1u32..6, 0u32..3), 0..24).prop_map(|specs| {
            BufferProblem::new(
                specs
                    .into_iter()
                    .map(|(units, start, len, align_pow)| {
                        let size = units * 16 + if units % 3 == 1 { 8 } else { 0 };
                        Buffer::instance("", size, 8 << align_pow, start..start + len)
                    })
                    .collect(),
            )
        })
    }

    proptest! {
        #[test]
        fn conflict_counts_match_a_brute_force_count(p in arb_problem()) {
            let b = &p.buffers;
            let brute: Vec<usize> = (0..b.len())
                .map(|i| (0..b.len()).filter(|&j| j != i && b[i].overlaps_in_time(&b[j])).count())
                .collect();
            prop_assert_eq!(conflict_counts(&p), brute);
        }

        #[test]
        fn every_order_is_a_permutation(p in arb_problem()) {
            for order in Order::ALL {
                let mut o = GreedyPacker::new(order, Placement::FirstFit).buffer_order(&p);
                o.sort_unstable();
                prop_assert_eq!(o, (0..p.buffers.len()).collect::<Vec<_>>());
            }
        }
    }
}
