//! The latency-RAM tradeoff (issue 9, step 7): the Pareto front of (arena bytes, estimated cycles) over the
//! choices a plan can make, and the request's objective picking one point of it.
//!
//! The choices enumerated today:
//! - the kernel variant of each operator that has an optimized kernel (convolutions, depthwise convolutions,
//!   fully connected): the optimized one is faster but brings scratch buffers (im2col) and declares no overlap
//!   with its input; the reference one is slower, needs no scratch and may overlap its input;
//! - the placement strategy: `exact` (every tensor disjoint from the tensors alive with it) or, where it is
//!   registered, `overlap` (outputs written over inputs read for the last time, where the kernels allow it);
//! - row-streamed fused segments ([`crate::fusion`]): chains of operators run row by row with their
//!   intermediate tensors in rings, on the reference kernels, placed by `overlap`.
//!
//! For each placement the search walks from all-optimized to all-reference: at each stage it switches to the
//! reference kernel an optimized operator at a step where the placed buffers reach the top of the arena (an
//! operator elsewhere cannot lower it), the one with the most live bytes there, and plans again. It stops when
//! no optimized operator is left at such a step, or after [`Pareto::patience`] stages without a smaller
//! arena; the all-reference plan is always added. Then the fused points: the segments that gain, where the
//! arena peaks first, fused one more at a time with the other operators optimized until the arena stops
//! falling, and the best of those with every operator on the reference kernels. Every stage is a real plan, checked and estimated by the
//! [`CostModel`]; the front keeps the points no other point beats on both RAM and cycles.
//! Cycles are estimates from the cost table (see [`arenaplan_planner::cost`]); RAM is the arena.

use std::collections::BTreeMap;
use std::time::Instant;

use arenaplan_planner::cost::{CostError, CostModel, CycleEstimate};
use arenaplan_planner::export::pareto_svg::{front_svg, FrontPoint};
use arenaplan_planner::lowering::kernel_variant;
use arenaplan_planner::{
    BufferOrigin, Graph, KernelVariant, Objective, OpId, Plan, PlanRequest, Strategy, StrategyError, TensorId,
};

use crate::{choose_segments, strategy_by_name, ExactPacker};

/// One point of the front: a checked plan, its arena and its estimated cycles.
#[derive(Debug, Clone)]
pub struct ParetoPoint {
    /// The plan (its request records the kernel choice in `kernels` and `op_kernels`).
    pub plan: Plan,
    /// Its arena in bytes.
    pub arena_bytes: u64,
    /// Its estimated cycles, and how they were estimated.
    pub cycles: CycleEstimate,
    /// The placement strategy that made it.
    pub placement: String,
    /// How many operators with an optimized kernel run the reference kernel instead.
    pub reference_ops: usize,
    /// How many operators have an optimized kernel.
    pub optimizable_ops: usize,
    /// How many row-streamed fused segments the plan runs (their operators run the reference kernels).
    pub fused_segments: usize,
    /// Whether the plan reads the model input row by row (it then never sits whole in the arena).
    pub streamed_input: bool,
}

impl ParetoPoint {
    /// A short description: `overlap, 3/52 ops reference`, or `overlap, 18 fused segments, 40/52 ops reference`.
    pub fn label(&self) -> String {
        let fused = match self.fused_segments {
            0 => String::new(),
            n => format!("{n} fused segment{}, ", if n == 1 { "" } else { "s" }),
        };
        let fused = if self.streamed_input { format!("{fused}input streamed, ") } else { fused };
        format!("{}, {fused}{}/{} ops reference", self.placement, self.reference_ops, self.optimizable_ops)
    }
}

/// Why the tradeoff could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ParetoError {
    /// A placement strategy failed.
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    /// A plan could not be estimated.
    #[error(transparent)]
    Cost(#[from] CostError),
    /// No point of the front meets the objective's budget.
    #[error("no plan meets the budget: {0}")]
    OverBudget(String),
}

/// The tradeoff strategy: the front, and the request's objective choosing the point.
pub struct Pareto {
    /// Estimated cycles of a plan.
    pub cost: CostModel,
    /// The placement strategies combined with the kernel choices.
    pub placements: Vec<Box<dyn Strategy>>,
    /// Stages of the walk without a smaller arena after which it stops (several operators may share the
    /// arena's top, so one switch alone need not lower it).
    pub patience: usize,
}

impl Pareto {
    /// The tradeoff with `cost`, placing with `exact` and, when registered, `overlap`.
    pub fn new(cost: CostModel) -> Pareto {
        let mut placements: Vec<Box<dyn Strategy>> =
            vec![Box::new(arenaplan_planner::PackerStrategy { packer: ExactPacker::default() })];
        placements.extend(strategy_by_name("overlap"));
        Pareto { cost, placements, patience: 4 }
    }

    /// Every point the search visits, then the front: non-dominated points by increasing arena.
    pub fn front(&self, graph: &Graph<'_>, request: &PlanRequest) -> Result<Vec<ParetoPoint>, ParetoError> {
        let optimizable: Vec<OpId> = (0..graph.op_count() as u32)
            .map(OpId)
            .filter(|&op| kernel_variant(graph, op, KernelVariant::Optimized) == KernelVariant::Optimized)
            .collect();
        let mut points = Vec::new();
        for placement in &self.placements {
            let mut reference: BTreeMap<u32, KernelVariant> = BTreeMap::new();
            let (mut best_arena, mut stale) = (u64::MAX, 0);
            loop {
                let point = self.point(graph, request, placement.as_ref(), &reference, &[], &optimizable)?;
                let next = peak_operator(graph, &point.plan, &optimizable, &reference);
                if point.arena_bytes < best_arena {
                    (best_arena, stale) = (point.arena_bytes, 0);
                } else {
                    stale += 1;
                }
                points.push(point);
                match next {
                    Some(op) if stale < self.patience => {
                        reference.insert(op.0, KernelVariant::Reference);
                    }
                    _ => break,
                }
            }
            if reference.len() < optimizable.len() {
                let all: BTreeMap<u32, KernelVariant> =
                    optimizable.iter().map(|op| (op.0, KernelVariant::Reference)).collect();
                points.push(self.point(graph, request, placement.as_ref(), &all, &[], &optimizable)?);
            }
        }
        if let Some(placement) = self.placements.iter().find(|p| p.name() == "overlap") {
            points.extend(self.fused_points(graph, request, placement.as_ref(), &optimizable)?);
        }
        Ok(pareto_filter(points))
    }

    /// The points with row-streamed fused segments, placed by `placement`: the segments [`choose_segments`]
    /// picks, where the arena peaks first, one more at a time with every other operator optimized, until one
    /// more no longer lowers the arena; then the best of those with every operator on the reference kernels.
    fn fused_points(
        &self,
        graph: &Graph<'_>,
        request: &PlanRequest,
        placement: &dyn Strategy,
        optimizable: &[OpId],
    ) -> Result<Vec<ParetoPoint>, ParetoError> {
        let all_reference =
            PlanRequest { kernels: KernelVariant::Reference, op_kernels: BTreeMap::new(), ..request.clone() };
        let choices = choose_segments(graph, &graph.default_schedule(), &all_reference).map_err(StrategyError::from)?;
        let gaining: Vec<Vec<u32>> = choices.into_iter().map(|c| c.ops).collect();
        let mut points = Vec::new();
        if gaining.is_empty() {
            return Ok(points);
        }
        // Segments where the arena peaks first, one more at a time, until one more no longer lowers the arena
        // (the segments come by decreasing peak, so the rest cannot lower it either); every other operator
        // optimized.
        let (mut best_arena, mut best_take, mut stale) = (u64::MAX, 0, 0);
        for take in 1..=gaining.len() {
            let point = self.point(graph, request, placement, &BTreeMap::new(), &gaining[..take], optimizable)?;
            if point.arena_bytes < best_arena {
                (best_arena, best_take, stale) = (point.arena_bytes, take, 0);
            } else {
                stale += 1;
            }
            points.push(point);
            if stale > 0 {
                break;
            }
        }
        // The best of those with every other operator on the reference kernels too (no scratch, more overlaps).
        let all: BTreeMap<u32, KernelVariant> = optimizable.iter().map(|op| (op.0, KernelVariant::Reference)).collect();
        points.push(self.point(graph, request, placement, &all, &gaining[..best_take], optimizable)?);
        // With the model input read row by row: the segments chosen for that, with the other operators
        // optimized.
        let streaming = PlanRequest { stream_input: true, ..all_reference };
        let streamed: Vec<Vec<u32>> = choose_segments(graph, &graph.default_schedule(), &streaming)
            .map_err(StrategyError::from)?
            .into_iter()
            .map(|c| c.ops)
            .collect();
        let streaming = PlanRequest { stream_input: true, ..request.clone() };
        let point = self.point(graph, &streaming, placement, &BTreeMap::new(), &streamed, optimizable)?;
        if point.streamed_input {
            points.push(point);
        }
        Ok(points)
    }

    /// Plan with `placement` for the request with every operator optimized but those in `reference`.
    fn point(
        &self,
        graph: &Graph<'_>,
        request: &PlanRequest,
        placement: &dyn Strategy,
        reference: &BTreeMap<u32, KernelVariant>,
        segments: &[Vec<u32>],
        optimizable: &[OpId],
    ) -> Result<ParetoPoint, ParetoError> {
        let request = PlanRequest {
            kernels: KernelVariant::Optimized,
            op_kernels: reference.clone(),
            segments: segments.to_vec(),
            ..request.clone()
        };
        let plan = placement.plan(graph, &request)?;
        let cycles = self.cost.estimate(graph, &plan)?;
        // Operators with an optimized kernel that run the reference one (asked, or fused).
        let reference_ops = plan
            .schedule
            .iter()
            .zip(&plan.kernels)
            .filter(|(op, k)| **k == KernelVariant::Reference && optimizable.contains(&OpId(**op)))
            .count();
        Ok(ParetoPoint {
            arena_bytes: plan.arena_bytes,
            cycles,
            placement: placement.name(),
            reference_ops,
            optimizable_ops: optimizable.len(),
            fused_segments: segments.len(),
            streamed_input: plan.meta.request.stream_input && {
                let schedule: Vec<OpId> = plan.schedule.iter().map(|&op| OpId(op)).collect();
                arenaplan_planner::lower_for_estimates(graph, &schedule, &plan.meta.request)
                    .is_ok_and(|l| l.segments.iter().any(|s| s.streamed_input.is_some()))
            },
            plan,
        })
    }

    /// The point of `front` that `objective` asks for.
    pub fn pick<'f>(front: &'f [ParetoPoint], objective: &Objective) -> Result<&'f ParetoPoint, ParetoError> {
        Pareto::pick_index(front, objective).map(|i| &front[i])
    }

    /// The index in `front` of the point that `objective` asks for.
    pub fn pick_index(front: &[ParetoPoint], objective: &Objective) -> Result<usize, ParetoError> {
        let points = || front.iter().enumerate();
        let by_cycles = |(_, p): &(usize, &ParetoPoint)| (p.cycles.cycles, p.arena_bytes);
        let by_arena = |(_, p): &(usize, &ParetoPoint)| (p.arena_bytes, p.cycles.cycles);
        let (chosen, budget) = match *objective {
            Objective::MinRam => (points().min_by_key(by_arena), "none".to_owned()),
            Objective::MinLatency { ram_budget_bytes } => (
                points().filter(|(_, p)| p.arena_bytes <= ram_budget_bytes).min_by_key(by_cycles),
                format!("an arena of at most {ram_budget_bytes} B"),
            ),
            Objective::MinRamUnderLatency { latency_budget_cycles } => (
                points().filter(|(_, p)| p.cycles.cycles <= latency_budget_cycles).min_by_key(by_arena),
                format!("at most {latency_budget_cycles} estimated cycles"),
            ),
            Objective::Weighted { ram_weight, latency_weight } => {
                let score =
                    |p: &ParetoPoint| ram_weight * p.arena_bytes as f64 + latency_weight * p.cycles.cycles as f64;
                (points().min_by(|(_, a), (_, b)| score(a).total_cmp(&score(b))), "none".to_owned())
            }
        };
        let chosen = chosen.map(|(i, _)| i);
        chosen.ok_or_else(|| {
            let range = match (front.iter().map(|p| p.arena_bytes).min(), front.iter().map(|p| p.cycles.cycles).min()) {
                (Some(ram), Some(cycles)) => {
                    format!(" (the front's smallest arena is {ram} B, its fewest cycles {cycles})")
                }
                _ => " (the front is empty)".to_owned(),
            };
            ParetoError::OverBudget(format!("{budget}{range}"))
        })
    }
}

/// The picture of `front` (by increasing arena) with the point at `chosen` ringed.
pub fn front_picture(heading: &str, front: &[ParetoPoint], chosen: Option<usize>) -> String {
    let points: Vec<FrontPoint> = front
        .iter()
        .map(|p| FrontPoint { arena_bytes: p.arena_bytes, cycles: p.cycles.cycles, label: p.label() })
        .collect();
    front_svg(heading, &points, chosen)
}

/// The optimized operator (not yet in `reference`) at a step where the placed buffers reach the top of the
/// arena (the steps that set the arena, whatever the placement), holding the most live bytes there; `None`
/// when no such operator is left.
fn peak_operator(
    graph: &Graph<'_>,
    plan: &Plan,
    optimizable: &[OpId],
    reference: &BTreeMap<u32, KernelVariant>,
) -> Option<OpId> {
    let problem = &plan.problem;
    let steps = problem.step_count() as usize;
    let profile = problem.live_profile();
    let mut top = vec![0u64; steps];
    for (buffer, &offset) in problem.buffers.iter().zip(&plan.offsets) {
        let end = (buffer.live.end as usize).min(steps);
        for t in top.iter_mut().take(end).skip(buffer.live.start as usize) {
            *t = (*t).max(offset + buffer.size_bytes);
        }
    }
    // The step of an operator: where its outputs (or scratch buffers) begin.
    let mut step_of: BTreeMap<u32, u32> = BTreeMap::new();
    for buffer in &problem.buffers {
        let op = match buffer.origin {
            BufferOrigin::Tensor(t) => graph.producer(TensorId(t)).map(|op| op.0),
            BufferOrigin::Scratch(op) => Some(op),
            BufferOrigin::Instance => None,
        };
        if let Some(op) = op {
            let start = buffer.live.start;
            step_of.entry(op).and_modify(|s| *s = (*s).min(start)).or_insert(start);
        }
    }
    optimizable
        .iter()
        .filter(|op| !reference.contains_key(&op.0))
        .filter_map(|&op| step_of.get(&op.0).map(|&step| (op, step as usize)))
        .filter(|&(_, step)| top.get(step).copied() == Some(plan.arena_bytes))
        .max_by_key(|&(op, step)| (profile.get(step).copied().unwrap_or(0), std::cmp::Reverse(op.0)))
        .map(|(op, _)| op)
}

/// The points no other point beats on both arena and cycles, by increasing arena (equal points once).
pub fn pareto_filter(mut points: Vec<ParetoPoint>) -> Vec<ParetoPoint> {
    points.sort_by_key(|p| (p.arena_bytes, p.cycles.cycles));
    let mut front: Vec<ParetoPoint> = Vec::new();
    for point in points {
        if front.last().is_none_or(|last| point.cycles.cycles < last.cycles.cycles) {
            front.push(point);
        }
    }
    front
}

impl Strategy for Pareto {
    fn name(&self) -> String {
        "pareto".to_owned()
    }

    /// The front's point the request's objective picks; its plan records the kernel choice, and its parameters
    /// the estimate, the core and the front's size.
    fn plan(&self, graph: &Graph, request: &PlanRequest) -> Result<Plan, StrategyError> {
        let started = Instant::now();
        let front = self.front(graph, request).map_err(into_strategy_error)?;
        let point = Pareto::pick(&front, &request.objective).map_err(into_strategy_error)?;
        let mut plan = point.plan.clone();
        plan.meta.strategy = self.name();
        let params = &mut plan.meta.params;
        params.insert("placement".to_owned(), point.placement.clone());
        params.insert("estimated_cycles".to_owned(), point.cycles.cycles.to_string());
        params.insert("cost_core".to_owned(), self.cost.core().to_owned());
        params.insert("front_points".to_owned(), front.len().to_string());
        params.insert("reference_ops".to_owned(), point.reference_ops.to_string());
        plan.meta.solve_seconds = started.elapsed().as_secs_f64();
        Ok(plan)
    }
}

/// A tradeoff error as a strategy error: a strategy's own, or the objective's.
fn into_strategy_error(error: ParetoError) -> StrategyError {
    match error {
        ParetoError::Strategy(e) => e,
        other => StrategyError::Objective(other.to_string()),
    }
}
