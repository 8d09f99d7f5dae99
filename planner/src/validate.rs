//! The independent validator: checks a set of offsets against a problem and never trusts the strategy.

use crate::plan::{arena_bytes_of, Plan};
use crate::problem::{BufferProblem, OverlapAllowance};

/// Why a plan is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The number of offsets differs from the number of buffers.
    #[error("plan has {found} offsets for {expected} buffers")]
    OffsetCount {
        /// Buffers in the problem.
        expected: usize,
        /// Offsets in the plan.
        found: usize,
    },
    /// An offset is not a multiple of its buffer's alignment.
    #[error("buffer {buffer} (`{name}`) at offset {offset} is not aligned to {align_bytes} bytes")]
    Misaligned {
        /// Buffer index.
        buffer: usize,
        /// Buffer name.
        name: String,
        /// Its offset.
        offset: u64,
        /// Its required alignment.
        align_bytes: u64,
    },
    /// A buffer ends past the arena the plan declares.
    #[error("buffer {buffer} (`{name}`) ends at byte {end}, past the plan's arena of {arena_bytes} bytes")]
    OutOfArena {
        /// Buffer index.
        buffer: usize,
        /// Buffer name.
        name: String,
        /// `offset + size`.
        end: u64,
        /// The plan's arena.
        arena_bytes: u64,
    },
    /// Two buffers alive at a common step share memory.
    #[error("buffers {a} (`{name_a}`) and {b} (`{name_b}`) are alive at the same time and overlap in memory")]
    Overlap {
        /// First buffer index.
        a: usize,
        /// Its name.
        name_a: String,
        /// Second buffer index.
        b: usize,
        /// Its name.
        name_b: String,
    },
    /// The arena exceeds the problem's capacity.
    #[error("arena of {arena_bytes} bytes exceeds the capacity of {capacity} bytes")]
    OverCapacity {
        /// The plan's arena.
        arena_bytes: u64,
        /// The capacity.
        capacity: u64,
    },
    /// The plan's declared arena is not what its offsets need (it must be exactly `max(offset + size)`).
    #[error("plan declares an arena of {declared} bytes but its offsets need {needed}")]
    ArenaMismatch {
        /// Declared.
        declared: u64,
        /// Computed.
        needed: u64,
    },
    /// The plan's buffers differ from the problem's.
    #[error("plan's buffers differ from the problem's at buffer {buffer}: {what}")]
    ProblemMismatch {
        /// First differing buffer.
        buffer: usize,
        /// What differs.
        what: String,
    },
}

/// Check that `offsets` place every buffer of `problem` aligned, inside `arena_bytes`, within the capacity,
/// and never overlapping a buffer alive at a common step.
pub fn validate_offsets(problem: &BufferProblem, offsets: &[u64], arena_bytes: u64) -> Result<(), ValidationError> {
    validate_offsets_allowing(problem, &[], offsets, arena_bytes)
}

/// [`validate_offsets`], where two buffers alive at a common step may share bytes only when one of
/// `allowances` (derived by the lowering from the kernels' declared memory behaviour, never taken from a
/// strategy) names them and their offsets satisfy it ([`OverlapAllowance::admits`]).
pub fn validate_offsets_allowing(
    problem: &BufferProblem,
    allowances: &[OverlapAllowance],
    offsets: &[u64],
    arena_bytes: u64,
) -> Result<(), ValidationError> {
    let buffers = &problem.buffers;
    if offsets.len() != buffers.len() {
        return Err(ValidationError::OffsetCount { expected: buffers.len(), found: offsets.len() });
    }
    for (i, (b, &offset)) in buffers.iter().zip(offsets).enumerate() {
        if offset % b.align_bytes.max(1) != 0 {
            return Err(ValidationError::Misaligned {
                buffer: i,
                name: b.name.clone(),
                offset,
                align_bytes: b.align_bytes,
            });
        }
        // 128-bit: `offset + size` of two u64s cannot wrap, so no placement past `u64::MAX` passes.
        let end = offset as u128 + b.size_bytes as u128;
        if end > arena_bytes as u128 {
            let end = u64::try_from(end).unwrap_or(u64::MAX);
            return Err(ValidationError::OutOfArena { buffer: i, name: b.name.clone(), end, arena_bytes });
        }
    }
    if let Some(capacity) = problem.capacity {
        if arena_bytes > capacity {
            return Err(ValidationError::OverCapacity { arena_bytes, capacity });
        }
    }
    // Sweep over start times, comparing each buffer with the buffers still alive; independent of any strategy.
    // Buffers of no bytes or an empty lifetime conflict with nothing.
    let mut order: Vec<usize> =
        (0..buffers.len()).filter(|&i| buffers[i].size_bytes > 0 && !buffers[i].live.is_empty()).collect();
    order.sort_by_key(|&i| (buffers[i].live.start, i));
    let mut alive: Vec<usize> = Vec::new();
    for &i in &order {
        let (bi, oi) = (&buffers[i], offsets[i]);
        alive.retain(|&j| buffers[j].live.end > bi.live.start);
        for &j in &alive {
            let (bj, oj) = (&buffers[j], offsets[j]);
            let (oi, oj) = (oi as u128, oj as u128);
            if oi < oj + bj.size_bytes as u128 && oj < oi + bi.size_bytes as u128 {
                if allowances.iter().any(|allowance| allowance.admits(problem, offsets, i, j)) {
                    continue;
                }
                let (a, b) = (i.min(j), i.max(j));
                return Err(ValidationError::Overlap {
                    a,
                    name_a: buffers[a].name.clone(),
                    b,
                    name_b: buffers[b].name.clone(),
                });
            }
        }
        alive.push(i);
    }
    Ok(())
}

/// Check a plan against the problem it claims to solve (which the caller derives independently, e.g. by
/// lowering the model again with the plan's schedule and kernels).
pub fn validate(problem: &BufferProblem, plan: &Plan) -> Result<(), ValidationError> {
    validate_allowing(problem, &[], plan)
}

/// [`validate`] with the overlaps of `allowances` accepted (see [`validate_offsets_allowing`]).
pub fn validate_allowing(
    problem: &BufferProblem,
    allowances: &[OverlapAllowance],
    plan: &Plan,
) -> Result<(), ValidationError> {
    if plan.problem.buffers.len() != problem.buffers.len() {
        return Err(ValidationError::ProblemMismatch {
            buffer: plan.problem.buffers.len().min(problem.buffers.len()),
            what: format!(
                "{} buffers in the plan, {} in the problem",
                plan.problem.buffers.len(),
                problem.buffers.len()
            ),
        });
    }
    for (i, (p, q)) in plan.problem.buffers.iter().zip(&problem.buffers).enumerate() {
        if p.size_bytes != q.size_bytes || p.live != q.live || p.align_bytes != q.align_bytes || p.origin != q.origin {
            return Err(ValidationError::ProblemMismatch {
                buffer: i,
                what: format!(
                    "plan has size {} live {:?}, problem has size {} live {:?}",
                    p.size_bytes, p.live, q.size_bytes, q.live
                ),
            });
        }
    }
    let needed = arena_bytes_of(problem, &plan.offsets);
    validate_offsets_allowing(problem, allowances, &plan.offsets, plan.arena_bytes)?;
    if needed != plan.arena_bytes {
        return Err(ValidationError::ArenaMismatch { declared: plan.arena_bytes, needed });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Buffer;

    fn problem(specs: &[(u64, std::ops::Range<u32>)]) -> BufferProblem {
        BufferProblem::new(
            specs.iter().map(|(size, live)| Buffer::instance(format!("b{size}"), *size, 16, live.clone())).collect(),
        )
    }

    #[test]
    fn accepts_a_valid_packing_and_rejects_each_kind_of_fault() {
        let p = problem(&[(32, 0..2), (16, 1..3), (32, 2..4)]);
        assert_eq!(validate_offsets(&p, &[0, 32, 0], 48), Ok(()));
        assert!(matches!(validate_offsets(&p, &[0, 16, 0], 48), Err(ValidationError::Overlap { a: 0, b: 1, .. })));
        assert!(matches!(validate_offsets(&p, &[0, 8, 32], 64), Err(ValidationError::Misaligned { buffer: 1, .. })));
        assert!(matches!(validate_offsets(&p, &[0, 32, 0], 40), Err(ValidationError::OutOfArena { buffer: 1, .. })));
        assert!(matches!(validate_offsets(&p, &[0, 32], 48), Err(ValidationError::OffsetCount { .. })));
        let capped = p.clone().with_capacity(40);
        assert!(matches!(validate_offsets(&capped, &[0, 32, 0], 48), Err(ValidationError::OverCapacity { .. })));
    }

    #[test]
    fn huge_buffers_cannot_wrap_past_the_checks() {
        let p = BufferProblem::new(vec![
            Buffer::instance("a", u64::MAX, 1, 0..2),
            Buffer::instance("b", u64::MAX, 1, 0..2),
        ]);
        // What a saturating packer produces: b "above" a at u64::MAX, a saturated arena of u64::MAX.
        assert!(matches!(
            validate_offsets(&p, &[0, u64::MAX], u64::MAX),
            Err(ValidationError::OutOfArena { buffer: 1, .. })
        ));
        assert!(matches!(validate_offsets(&p, &[0, 0], u64::MAX), Err(ValidationError::Overlap { a: 0, b: 1, .. })));
        // Two halves of the address space that just fit are still accepted.
        let q = BufferProblem::new(vec![
            Buffer::instance("a", 1 << 63, 1, 0..2),
            Buffer::instance("b", (1 << 63) - 1, 1, 0..2),
        ]);
        assert_eq!(validate_offsets(&q, &[0, 1 << 63], u64::MAX), Ok(()));
        assert!(matches!(validate_offsets(&q, &[0, 1 << 62], u64::MAX), Err(ValidationError::Overlap { .. })));
    }

    #[test]
    fn an_overlap_is_accepted_only_as_allowed_and_refused_one_byte_past_the_allowance() {
        use crate::problem::BufferId;
        // b0 read for the last time at step 1, b1 written at step 1 (lead 16), b2 alive at step 1 too.
        let p = problem(&[(64, 0..2), (64, 1..3), (16, 0..3)]);
        let allow = [OverlapAllowance { input: BufferId(0), output: BufferId(1), lead_bytes: 16, shared_steps: 1 }];
        // b1 at 0, b0 at 16: exactly the lead.
        assert_eq!(validate_offsets_allowing(&p, &allow, &[16, 0, 80], 96), Ok(()));
        // Without the allowance, the same offsets overlap.
        assert!(matches!(validate_offsets(&p, &[16, 0, 80], 96), Err(ValidationError::Overlap { a: 0, b: 1, .. })));
        // One byte past the allowance (b1 at 1, so 15 bytes of lead): refused.
        let mut q = p.clone();
        q.buffers.iter_mut().for_each(|b| b.align_bytes = 1);
        assert_eq!(validate_offsets_allowing(&q, &allow, &[16, 0, 80], 96), Ok(()));
        assert!(matches!(
            validate_offsets_allowing(&q, &allow, &[16, 1, 80], 96),
            Err(ValidationError::Overlap { a: 0, b: 1, .. })
        ));
        // The output above its input is never allowed; nor is an overlap with a bystander.
        assert!(validate_offsets_allowing(&q, &allow, &[0, 16, 80], 96).is_err());
        assert!(validate_offsets_allowing(&q, &allow, &[16, 0, 70], 96).is_err());
    }

    #[test]
    fn a_buffer_with_an_empty_lifetime_conflicts_with_nothing() {
        let p = problem(&[(32, 0..3), (16, 1..1)]);
        assert_eq!(validate_offsets(&p, &[0, 0], 32), Ok(()));
    }
}
