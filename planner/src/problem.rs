//! The fixed-schedule allocation problem: buffers with sizes and half-open lifetimes.
//!
//! This is all a [`Packer`](crate::Packer) ever sees: no graph, no kernels, just rectangles of
//! `size_bytes` x `live` to place at offsets in one arena.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::limits::{check, LimitError, Limits};

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

/// An overlap the kernels allow: at the step where `output` is written and `input` is read for the last time,
/// the output may share bytes with the input when it begins at least `lead_bytes` before it
/// (`offset(output) + lead_bytes <= offset(input)`). Derived by the lowering from the kernels' declared memory
/// behaviour (`arenaplan_kernels::memory`), never from a strategy; the validator accepts an overlap between
/// two buffers alive together only when it is such an allowance and the offsets satisfy it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OverlapAllowance {
    /// The buffer read (for the last time) at the step.
    pub input: BufferId,
    /// The buffer written at the step.
    pub output: BufferId,
    /// The least number of bytes the output must begin before the input when they overlap.
    pub lead_bytes: u64,
    /// How many steps the two live together: 1 for an operator (the input's last step is the output's first),
    /// the whole segment for a row-streamed fused segment (its input and output are both alive through it).
    #[serde(default = "one_step")]
    pub shared_steps: u32,
}

fn one_step() -> u32 {
    1
}

impl OverlapAllowance {
    /// Whether the allowance covers buffers `a` and `b` (in either order) of `problem` placed at `offsets`: it
    /// names them, their lifetimes meet as [`OverlapAllowance::lifetimes_match`] says, and the output begins at least
    /// `lead_bytes` before the input.
    pub fn admits(&self, problem: &BufferProblem, offsets: &[u64], a: usize, b: usize) -> bool {
        let (input, output) = (self.input.0 as usize, self.output.0 as usize);
        if !((input == a && output == b) || (input == b && output == a)) {
            return false;
        }
        let (Some(&oi), Some(&oo)) = (offsets.get(input), offsets.get(output)) else {
            return false;
        };
        self.lifetimes_match(problem) && oo as u128 + self.lead_bytes as u128 <= oi as u128
    }

    /// Whether the two buffers' lifetimes meet as the allowance says: the input's last step is the
    /// `shared_steps`-th step of the output.
    pub fn lifetimes_match(&self, problem: &BufferProblem) -> bool {
        let (Some(i), Some(o)) =
            (problem.buffers.get(self.input.0 as usize), problem.buffers.get(self.output.0 as usize))
        else {
            return false;
        };
        self.shared_steps >= 1 && i.live.end == o.live.start + self.shared_steps && i.live.start <= o.live.start
    }

    /// The most bytes the two buffers can share under this allowance: `min(output - lead, input)`, at least 0.
    pub fn max_shared_bytes(&self, problem: &BufferProblem) -> u64 {
        let size = |id: BufferId| problem.buffers.get(id.0 as usize).map_or(0, |b| b.size_bytes);
        size(self.output).saturating_sub(self.lead_bytes).min(size(self.input))
    }
}

/// A lower bound of the arena when the overlaps of `allowances` may be used: at every step, the live bytes
/// less, for every allowance at that step (the steps the pair shares), the most bytes it lets the pair share.
/// Only allowed pairs may share bytes, so no placement the validator accepts needs less. Equal to
/// [`BufferProblem::lower_bound`] when `allowances` is empty.
pub fn lower_bound_with_overlaps(problem: &BufferProblem, allowances: &[OverlapAllowance]) -> u64 {
    if allowances.is_empty() {
        return problem.lower_bound();
    }
    live_profile_with_overlaps(problem, allowances).into_iter().max().unwrap_or(0)
}

/// The live bytes at each step less, for every allowance at that step, the most bytes it lets its pair share:
/// the per-step profile whose maximum is [`lower_bound_with_overlaps`].
pub fn live_profile_with_overlaps(problem: &BufferProblem, allowances: &[OverlapAllowance]) -> Vec<u64> {
    let mut profile = problem.live_profile();
    for a in allowances {
        let Some(output) = problem.buffers.get(a.output.0 as usize) else { continue };
        let start = output.live.start as usize;
        for live in profile.iter_mut().skip(start).take(a.shared_steps as usize) {
            *live = live.saturating_sub(a.max_shared_bytes(problem));
        }
    }
    profile
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

    /// Live bytes at every step `0..step_count()` (saturating at `u64::MAX`).
    ///
    /// One entry per step: meant for model problems, whose steps are operators. An allocation instance may
    /// span billions of steps; use [`BufferProblem::live_segments`] there, whose size is bounded by the
    /// number of buffers.
    pub fn live_profile(&self) -> Vec<u64> {
        let mut profile = Vec::new();
        let segments = self.live_segments();
        for (k, &(start, bytes)) in segments.iter().enumerate() {
            let end = segments.get(k + 1).map_or(self.step_count(), |s| s.0);
            profile.resize(profile.len() + (end - start) as usize, bytes);
        }
        profile
    }

    /// The live-bytes profile, compressed: `(first step, live bytes)` of every run of steps over which no
    /// lifetime starts or ends, in step order, covering `0..step_count()` (live bytes saturate at `u64::MAX`).
    /// At most `2 * buffers + 1` entries, whatever the lifetimes: no allocation per step.
    pub fn live_segments(&self) -> Vec<(u32, u64)> {
        let mut events: Vec<(u32, i128)> = Vec::with_capacity(2 * self.buffers.len() + 1);
        events.push((0, 0));
        for b in self.buffers.iter().filter(|b| !b.live.is_empty()) {
            events.push((b.live.start, b.size_bytes as i128));
            events.push((b.live.end, -(b.size_bytes as i128)));
        }
        events.sort_unstable_by_key(|e| e.0);
        let steps = self.step_count();
        let mut segments: Vec<(u32, u64)> = Vec::new();
        let mut live = 0i128;
        let mut k = 0;
        while k < events.len() {
            let step = events[k].0;
            while k < events.len() && events[k].0 == step {
                live += events[k].1;
                k += 1;
            }
            if step < steps {
                segments.push((step, u64::try_from(live).unwrap_or(u64::MAX)));
            }
        }
        segments
    }

    /// LOAD: the maximum over steps of the live bytes. No plan of this problem needs less. Computed over
    /// lifetime boundaries (time and memory proportional to the number of buffers) in 128-bit arithmetic;
    /// saturates at `u64::MAX`, which [`BufferProblem::check_limits`] keeps out of reach.
    pub fn lower_bound(&self) -> u64 {
        self.live_segments().into_iter().map(|s| s.1).max().unwrap_or(0)
    }

    /// Total bytes of all buffers (what a plan with no reuse at all would need), saturating at `u64::MAX`.
    pub fn total_bytes(&self) -> u64 {
        self.buffers.iter().fold(0u64, |sum, b| sum.saturating_add(b.size_bytes))
    }

    /// Check the problem against the instance limits of [`crate::limits`]: buffer count, buffer sizes and
    /// alignments (a power of two), pairs of buffers alive together. Within them no packer's arithmetic can
    /// overflow and no packer's memory blows up; every packer run through [`pack_checked`](crate::pack_checked)
    /// is guarded by this check.
    pub fn check_limits(&self) -> Result<(), LimitError> {
        self.check_limits_with(&Limits::default())
    }

    /// [`BufferProblem::check_limits`] under the limits `limits` (which the caller keeps within
    /// [`Limits::CEILING`]).
    pub fn check_limits_with(&self, limits: &Limits) -> Result<(), LimitError> {
        check(|| "the number of buffers".to_owned(), self.buffers.len() as u64, limits.buffers, "MAX_BUFFERS")?;
        for (i, b) in self.buffers.iter().enumerate() {
            let what = |field: &str| format!("buffer {i} (`{}`) {field}", b.name);
            check(|| what("size"), b.size_bytes, limits.instance_buffer_bytes, "MAX_INSTANCE_BUFFER_BYTES")?;
            check(|| what("alignment"), b.align_bytes, limits.align_bytes, "MAX_ALIGN_BYTES")?;
            if !b.align_bytes.is_power_of_two() {
                return Err(LimitError {
                    what: format!("{} (not a power of two)", what("alignment")),
                    value: b.align_bytes,
                    limit: limits.align_bytes,
                    name: "MAX_ALIGN_BYTES",
                });
            }
        }
        check(
            || "the number of pairs of buffers alive at a common step".to_owned(),
            self.conflict_pair_count(),
            limits.conflict_pairs,
            "MAX_CONFLICT_PAIRS",
        )
    }

    /// At least the number of pairs [`BufferProblem::time_conflicts`] returns (exactly that number when no
    /// lifetime is empty), counted in `O(n log n)` time and `O(n)` memory without listing them.
    pub fn conflict_pair_count(&self) -> u64 {
        // Events at equal times: ends first (touching half-open lifetimes do not conflict), then starts, then
        // the buffers of empty lifetimes, which `time_conflicts` pairs with the buffers alive there.
        const END: u8 = 0;
        const START: u8 = 1;
        const EMPTY: u8 = 2;
        let mut events: Vec<(u32, u8)> = Vec::with_capacity(2 * self.buffers.len());
        for b in &self.buffers {
            if b.live.is_empty() {
                events.push((b.live.start, EMPTY));
            } else {
                events.push((b.live.start, START));
                events.push((b.live.end, END));
            }
        }
        events.sort_unstable();
        let (mut alive, mut pairs) = (0u64, 0u64);
        for (_, kind) in events {
            match kind {
                END => alive -= 1,
                START => {
                    pairs += alive;
                    alive += 1;
                }
                _ => pairs += alive,
            }
        }
        pairs
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
        assert_eq!(p.conflict_pair_count(), 2);
    }

    #[test]
    fn the_profile_is_compressed_and_never_wraps() {
        // One buffer over 10^8 steps: two segments, not 10^8 entries.
        let long = BufferProblem::new(vec![buf(16, 0..100_000_000)]);
        assert_eq!(long.live_segments(), vec![(0, 16)]);
        assert_eq!(long.lower_bound(), 16);
        let gap = BufferProblem::new(vec![buf(16, 5..7), buf(8, 9..10)]);
        assert_eq!(gap.live_segments(), vec![(0, 0), (5, 16), (7, 0), (9, 8)]);
        assert_eq!(gap.live_profile(), vec![0, 0, 0, 0, 0, 16, 16, 0, 0, 8]);
        // 19 buffers of 10^18 bytes: 1.9 * 10^19 does not fit in u64; the bound saturates instead of wrapping.
        let huge = BufferProblem::new((0..19).map(|_| buf(1_000_000_000_000_000_000, 0..1)).collect());
        assert_eq!(huge.lower_bound(), u64::MAX);
        assert_eq!(huge.total_bytes(), u64::MAX);
        assert!(huge.check_limits().is_err());
    }

    #[test]
    fn an_allowance_admits_only_its_pair_at_its_lead_and_lowers_the_bound() {
        // Input 0 read last at step 1, output 1 written at step 1, a bystander 2 alive throughout.
        let p = BufferProblem::new(vec![buf(32, 0..2), buf(48, 1..3), buf(16, 0..3)]);
        let allow = OverlapAllowance { input: BufferId(0), output: BufferId(1), lead_bytes: 8, shared_steps: 1 };
        // Output at 8, input at 16: lead 8, admitted; at 9 it is one byte short.
        assert!(allow.admits(&p, &[16, 8, 100], 0, 1));
        assert!(allow.admits(&p, &[16, 8, 100], 1, 0));
        assert!(!allow.admits(&p, &[16, 9, 100], 0, 1));
        assert!(!allow.admits(&p, &[16, 8, 100], 0, 2));
        // Sharing: min(48 - 8, 32) = 32 bytes at step 1: 32 + 48 + 16 - 32 = 64 (LOAD is 96).
        assert_eq!(p.lower_bound(), 96);
        assert_eq!(lower_bound_with_overlaps(&p, &[allow]), 64);
        assert_eq!(lower_bound_with_overlaps(&p, &[]), 96);
    }

    #[test]
    fn round_up_rounds_to_the_next_multiple() {
        assert_eq!(round_up(0, 16), 0);
        assert_eq!(round_up(1, 16), 16);
        assert_eq!(round_up(32, 16), 32);
        assert_eq!(round_up(33, 16), 48);
    }
}
