//! The fixed-schedule allocation problem: buffers with sizes and half-open lifetimes.
//!
//! This is all a [`Packer`](crate::Packer) ever sees: no graph, no kernels, just rectangles of
//! `size_bytes` x `live` to place at offsets in one arena.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// Index of a buffer inside its [`BufferProblem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BufferId(pub u32);

/// What a buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "index", rename_all = "snake_case")]
pub enum BufferOrigin {
    /// A non-constant tensor of the model, by its index in the `.tflite` subgraph.
    Tensor(u32),
    /// The scratch buffer of an operator, by the operator's index in the `.tflite` subgraph.
    Scratch(u32),
    /// A buffer that came from an allocation instance (MiniMalloc CSV), with no model behind it.
    Instance,
}

/// One buffer to place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buffer {
    /// Its id, equal to its position in [`BufferProblem::buffers`].
    pub id: BufferId,
    /// What it holds.
    pub origin: BufferOrigin,
    /// A human-readable name (the tensor's name, or `op<N>_scratch`).
    pub name: String,
    /// Bytes to reserve, already rounded up to the planning granularity.
    pub size_bytes: u64,
    /// Required alignment of its offset, in bytes (a power of two, at least 1).
    pub align_bytes: u64,
    /// Half-open lifetime in schedule steps: alive during steps `live.start .. live.end`. Step 0 is "the model
    /// inputs are present"; the operator at schedule position `i` runs at step `i + 1`.
    pub live: Range<u32>,
}

impl Buffer {
    /// A buffer with no model behind it (an allocation instance); its id is set by [`BufferProblem::new`].
    pub fn instance(name: impl Into<String>, size_bytes: u64, align_bytes: u64, live: Range<u32>) -> Self {
        Buffer { id: BufferId(0), origin: BufferOrigin::Instance, name: name.into(), size_bytes, align_bytes, live }
    }

    /// Whether two buffers are alive at a common step (and so must not share memory).
    pub fn overlaps_in_time(&self, other: &Buffer) -> bool {
        self.live.start < other.live.end && other.live.start < self.live.end
    }
}

/// A set of buffers to place in one arena, optionally within a capacity.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BufferProblem {
    /// The buffers; `buffers[i].id == BufferId(i)`.
    pub buffers: Vec<Buffer>,
    /// The arena must not exceed this many bytes, when set.
    pub capacity: Option<u64>,
}

/// Round `value` up to a multiple of `align` (`align` >= 1).
pub fn round_up(value: u64, align: u64) -> u64 {
    let align = align.max(1);
    value.div_ceil(align) * align
}

impl BufferProblem {
    /// A problem from buffers; their ids are renumbered to their positions.
    pub fn new(mut buffers: Vec<Buffer>) -> Self {
        for (i, b) in buffers.iter_mut().enumerate() {
            b.id = BufferId(i as u32);
        }
        BufferProblem { buffers, capacity: None }
    }

    /// The same problem with a capacity.
    pub fn with_capacity(mut self, capacity: u64) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// Number of steps the lifetimes span (one past the last step any buffer is alive at).
    pub fn step_count(&self) -> u32 {
        self.buffers.iter().map(|b| b.live.end).max().unwrap_or(0)
    }

    /// Live bytes at every step `0..step_count()`.
    pub fn live_profile(&self) -> Vec<u64> {
        let steps = self.step_count() as usize;
        // Difference array over steps: +size at start, -size at end.
        let mut delta = vec![0i128; steps + 1];
        for b in &self.buffers {
            delta[b.live.start as usize] += b.size_bytes as i128;
            delta[b.live.end as usize] -= b.size_bytes as i128;
        }
        let mut live = 0i128;
        delta[..steps]
            .iter()
            .map(|d| {
                live += d;
                live as u64
            })
            .collect()
    }

    /// LOAD: the maximum over steps of the live bytes. No plan of this problem needs less.
    pub fn lower_bound(&self) -> u64 {
        self.live_profile().into_iter().max().unwrap_or(0)
    }

    /// Total bytes of all buffers (what a plan with no reuse at all would need).
    pub fn total_bytes(&self) -> u64 {
        self.buffers.iter().map(|b| b.size_bytes).sum()
    }

    /// Pairs `(i, j)`, `i < j`, of buffers alive at a common step.
    pub fn time_conflicts(&self) -> Vec<(usize, usize)> {
        let mut order: Vec<usize> = (0..self.buffers.len()).collect();
        order.sort_by_key(|&i| (self.buffers[i].live.start, i));
        let mut pairs = Vec::new();
        // Sweep by start time; `active` holds buffers whose lifetime may still overlap later starts.
        let mut active: Vec<usize> = Vec::new();
        for &i in &order {
            let start = self.buffers[i].live.start;
            active.retain(|&j| self.buffers[j].live.end > start);
            for &j in &active {
                pairs.push((i.min(j), i.max(j)));
            }
            if !self.buffers[i].live.is_empty() {
                active.push(i);
            }
        }
        pairs.sort_unstable();
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(size: u64, live: Range<u32>) -> Buffer {
        Buffer::instance("", size, 1, live)
    }

    #[test]
    fn lower_bound_is_the_peak_of_live_bytes() {
        let p = BufferProblem::new(vec![buf(10, 0..2), buf(20, 1..3), buf(5, 2..4)]);
        assert_eq!(p.live_profile(), vec![10, 30, 25, 5]);
        assert_eq!(p.lower_bound(), 30);
        assert_eq!(p.step_count(), 4);
    }

    #[test]
    fn half_open_lifetimes_that_touch_do_not_conflict() {
        let p = BufferProblem::new(vec![buf(1, 0..2), buf(1, 2..3), buf(1, 1..3)]);
        assert_eq!(p.time_conflicts(), vec![(0, 2), (1, 2)]);
    }

    #[test]
    fn round_up_rounds_to_the_next_multiple() {
        assert_eq!(round_up(0, 16), 0);
        assert_eq!(round_up(1, 16), 16);
        assert_eq!(round_up(32, 16), 32);
        assert_eq!(round_up(33, 16), 48);
    }
}
