//! Small helpers shared by the packers: arena of offsets, the capacity check and the final [`Packing`].

use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::{BufferProblem, PackError, Packing, Status};

/// The same problem without its capacity: packers that improve on a start plan run their inner packers on it,
/// so a start plan over the capacity is still a valid starting point.
pub(crate) fn without_capacity(problem: &BufferProblem) -> BufferProblem {
    BufferProblem { buffers: problem.buffers.clone(), capacity: None }
}

/// Wrap offsets into a [`Packing`], checking the capacity.
///
/// `lower_bound_bytes` is the best bound the packer proved (at least LOAD is used). When the arena equals it the
/// status becomes [`Status::Optimal`]. Over the capacity, the error is [`PackError::Infeasible`] when the packer
/// proved the bound exceeds the capacity, else [`PackError::NoFit`].
pub(crate) fn finish(
    name: &str,
    problem: &BufferProblem,
    offsets: Vec<u64>,
    status: Status,
    lower_bound_bytes: u64,
) -> Result<Packing, PackError> {
    let lower_bound_bytes = lower_bound_bytes.max(problem.lower_bound());
    let arena = arena_bytes_of(problem, &offsets);
    if let Some(capacity) = problem.capacity {
        if lower_bound_bytes > capacity {
            return Err(PackError::Infeasible { capacity, lower_bound_bytes });
        }
        if arena > capacity {
            return Err(PackError::NoFit { packer: name.to_owned(), arena_bytes: arena, capacity });
        }
    }
    let status = if arena <= lower_bound_bytes { Status::Optimal } else { status };
    Ok(Packing { offsets, status, lower_bound_bytes })
}

/// Greatest common divisor.
pub(crate) fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The largest unit every size and alignment of the given buffers is a multiple of (1 when there is none).
///
/// Every left-justified packing has its offsets and arena at multiples of this unit.
pub(crate) fn unit_of(problem: &BufferProblem, buffers: impl IntoIterator<Item = usize>) -> u64 {
    let mut unit = 0;
    for i in buffers {
        let b = &problem.buffers[i];
        unit = gcd(gcd(unit, b.size_bytes), b.align_bytes.max(1));
    }
    unit.max(1)
}
