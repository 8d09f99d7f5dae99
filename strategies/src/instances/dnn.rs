//! DNN-like random instances: a chain of operators whose activations shrink stage by stage, with residual
//! blocks (an output kept alive across a few operators until an add consumes it) and per-operator scratch
//! buffers; sizes rounded to 16 bytes, as TFLM plans them.

use arenaplan_planner::problem::round_up;
use arenaplan_planner::{Buffer, BufferId, BufferOrigin, BufferProblem};

use crate::rng::SplitMix64;

/// A DNN-like problem of `ops` operators (at least 1) from `seed`. The operator at position `k` runs at step
/// `k + 1`; a tensor lives from its producer's step to its last consumer's step, inclusive (half-open
/// `[first, last + 1)`), as lowering does; the input is present from step 0 and the output lives to the end.
pub fn dnn_like(ops: usize, seed: u64) -> BufferProblem {
    let ops = ops.max(1) as u32;
    let mut rng = SplitMix64::new(seed ^ 0x646E_6E5F_6C69_6B65);
    // (name, bytes, first step, last step, scratch of an operator)
    let mut tensors: Vec<(String, u64, u32, u32, Option<u32>)> = Vec::new();
    // Activation elements: start around 48 K, halve at each of four stage boundaries.
    let mut elements = rng.range_inclusive(24_000, 72_000);
    tensors.push(("input".to_owned(), elements, 0, 1, None));
    let mut skip_pending = false;
    let mut skip_until = 0u32;
    for step in 1..=ops {
        if step % (ops / 4).max(1) == 0 {
            elements = (elements / 2).max(256);
        }
        // Inverted-residual blocks make some outputs wider than others.
        let width = [1u64, 1, 1, 2, 4, 6][rng.below(6) as usize];
        let bytes = (elements * width / 2).max(64);
        let last = (step + 1).min(ops);
        if skip_pending && step >= skip_until {
            skip_pending = false;
        }
        let mut tensor = (format!("t{step}"), bytes, step, last, None);
        if !skip_pending && step + 2 < ops && rng.chance(0.25) {
            // This output also feeds an add 2 to 4 operators later.
            skip_until = (step + rng.range_inclusive(2, 4) as u32).min(ops);
            skip_pending = true;
            tensor.3 = skip_until;
        }
        tensors.push(tensor);
        if rng.chance(0.3) {
            tensors.push((
                format!("op{}_scratch", step - 1),
                rng.range_inclusive(64, bytes / 2 + 64),
                step,
                step,
                Some(step - 1),
            ));
        }
    }
    BufferProblem::new(
        tensors
            .into_iter()
            .map(|(name, bytes, first, last, scratch)| Buffer {
                id: BufferId(0),
                origin: scratch.map_or(BufferOrigin::Instance, BufferOrigin::Scratch),
                name,
                size_bytes: round_up(bytes, 16),
                align_bytes: 16,
                live: first..last + 1,
            })
            .collect(),
    )
}
