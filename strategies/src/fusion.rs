//! Choosing row-streamed fused segments (issue 9, step 3), and the `fused` strategy that plans with them.
//!
//! Fusing operators ([`arenaplan_planner::segments`]) holds their intermediate tensors as rings of rows, but
//! keeps every tensor the segment touches alive through all of it, and its members lose their own overlap
//! allowances: fusing a whole long run is not always smaller (nor valid). So each run of operators that can
//! stream ([`fusable_runs`]) is cut into pieces by a dynamic programme over its cut points that minimises the
//! run's peak (invalid pieces skipped): a piece of one operator
//! costs the operator's step in the unfused problem (its overlap allowance credited), a longer piece the
//! highest step of the problem with that piece fused (its segment allowance credited). Pieces occupy
//! disjoint steps and change nothing outside their own, so the chain's peak is the largest of its pieces'.
//! The costs are lower bounds of live bytes, an estimate for choosing; every plan is then packed, lowered
//! again and checked as usual.

use std::time::Instant;

use arenaplan_planner::segments::{fusable_runs, MAX_SEGMENT_OPERATORS};
use arenaplan_planner::{
    live_profile_with_overlaps, lower, lower_for_estimates, Graph, LoweringError, OpId, Plan, PlanRequest, Strategy,
    StrategyError,
};

use crate::strategy_by_name;

/// One segment a cut chose, with the estimate that chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentChoice {
    /// The segment's operators.
    pub ops: Vec<u32>,
    /// The peak of live bytes over its operators' steps unfused (allowances credited).
    pub unfused_peak: u64,
    /// The same peak with the segment fused.
    pub fused_peak: u64,
}

/// The segments of the cut of least peak of every fusable run of `graph` run in `schedule` under `request`
/// (whose own `segments` are ignored), by decreasing unfused peak (the segments where the arena peaks first).
pub fn choose_segments(
    graph: &Graph<'_>,
    schedule: &[OpId],
    request: &PlanRequest,
) -> Result<Vec<SegmentChoice>, LoweringError> {
    let request = PlanRequest { segments: Vec::new(), ..request.clone() };
    let base = lower(graph, schedule, &request)?;
    let base_profile = live_profile_with_overlaps(&base.problem, &base.overlap_allowances);
    // The step of the operator at schedule position `pos` (see `lowering`: one step earlier than `pos + 1`
    // unless unwritten tensors take step 0).
    let shift = usize::from(base.unwritten_tensors > 0);
    let mut step_of = vec![0usize; graph.op_count()];
    for (pos, op) in schedule.iter().enumerate() {
        step_of[op.0 as usize] = pos + 1 + shift;
    }
    let mut choices = Vec::new();
    for chain in fusable_runs(graph, schedule) {
        let n = chain.len();
        let single = |i: usize| base_profile.get(step_of[chain[i] as usize]).copied().unwrap_or(0);
        // The peak over the steps of operators j..=i fused as one piece; `None` for an invalid piece.
        let piece = |j: usize, i: usize| -> Result<Option<u64>, LoweringError> {
            if i == j {
                return Ok(Some(single(i)));
            }
            let fused = PlanRequest { segments: vec![chain[j..=i].to_vec()], ..request.clone() };
            // The lowering checks the piece; one it refuses is not a segment.
            let lowering = match lower_for_estimates(graph, schedule, &fused) {
                Err(LoweringError::Segment(_)) => return Ok(None),
                other => other?,
            };
            let profile = live_profile_with_overlaps(&lowering.problem, &lowering.overlap_allowances);
            let steps = step_of[chain[j] as usize]..=step_of[chain[i] as usize];
            Ok(Some(steps.filter_map(|s| profile.get(s).copied()).max().unwrap_or(0)))
        };
        // best[i]: least peak of the first i operators; cut[i]: where its last piece starts.
        let mut best = vec![u64::MAX; n + 1];
        let mut cut = vec![0usize; n + 1];
        best[0] = 0;
        for i in 0..n {
            for j in i.saturating_sub(MAX_SEGMENT_OPERATORS - 1)..=i {
                let Some(cost) = piece(j, i)? else { continue };
                let peak = best[j].max(cost);
                if peak < best[i + 1] {
                    (best[i + 1], cut[i + 1]) = (peak, j);
                }
            }
        }
        let mut end = n;
        while end > 0 {
            let start = cut[end];
            if end - start >= 2 {
                let unfused_peak = (start..end).map(single).max().unwrap_or(0);
                let fused_peak = piece(start, end - 1)?.unwrap_or(u64::MAX);
                if fused_peak < unfused_peak {
                    choices.push(SegmentChoice { ops: chain[start..end].to_vec(), unfused_peak, fused_peak });
                }
            }
            end = start;
        }
    }
    choices.sort_by_key(|c| (std::cmp::Reverse(c.unfused_peak), c.ops[0]));
    Ok(choices)
}

/// The `fused` strategy: the request's segments, or when it names none every segment [`choose_segments`]
/// picks, placed by `overlap` (outputs over inputs where the kernels allow it, a segment's output
/// over its input included). Segment members run the reference kernels; other operators keep the request's.
pub struct Fused;

impl Strategy for Fused {
    fn name(&self) -> String {
        "fused".to_owned()
    }

    fn plan(&self, graph: &Graph, request: &PlanRequest) -> Result<Plan, StrategyError> {
        let started = Instant::now();
        let schedule = graph.default_schedule();
        let mut request = request.clone();
        if request.segments.is_empty() {
            let choices = choose_segments(graph, &schedule, &request).map_err(StrategyError::from)?;
            request.segments = choices.into_iter().map(|c| c.ops).collect();
        }
        let placement = strategy_by_name("overlap").expect("`overlap` is registered");
        let mut plan = placement.plan(graph, &request)?;
        plan.meta.strategy = self.name();
        plan.meta.params.insert("placement".to_owned(), placement.name());
        plan.meta.params.insert("segments".to_owned(), request.segments.len().to_string());
        plan.meta.solve_seconds = started.elapsed().as_secs_f64();
        Ok(plan)
    }
}
