//! `exact`: our own branch-and-bound for the fixed-schedule problem, in the spirit of MiniMalloc.
//!
//! The problem is first made canonical ([`crate::canonical`]: times as ranks, bytes in units). **With a
//! capacity** (`problem.capacity`, `pack --capacity`, a request's capacity) the packer answers the decision
//! question directly: a packing within the capacity (the warm start when it already fits, else the search's),
//! or [`PackError::Infeasible`] when the search proves none exists, or [`PackError::TimeLimit`] when it could
//! not tell in time. Without a capacity it minimises, as a sequence of decisions (below). Every pruning rule
//! is an on/off flag ([`Rules`]); the nodes searched by the last run are in [`ExactPacker::last_stats`] and in
//! [`Packer::params`] (`nodes`), and long runs can report progress ([`Progress`]).
//!
//! The problem is split at the time points no buffer crosses ([`crate::decompose`]); each part whose warm start
//! (by default `best-of` the greedy family: cheap, and the search starts at the lower bound anyway) exceeds the
//! running lower bound is minimised by asking the decision search ([`search`]) "does it fit in C?": first at
//! the lower bound, then by bisection between the proven bound and the best packing found. Every decision runs
//! the static orders in turn (round robin) with node limits that double, as MiniMalloc does, plus seeded random
//! orders (restarts), so a lucky order answers fast. Our additions to MiniMalloc's rules: the point rules
//! ([`search::Search::with_points`]: where a section has no slack left, its lowest free point must be covered,
//! which makes zero-slack instances a tiling search), the wells rule ([`Rules::wells`]: every tight section must
//! stay fillable by buffers that fit inside the well of floors around it, and every tight plateau between higher
//! floors must be spanned exactly by disjoint lifetimes), symmetry breaking between identical buffers, the
//! guillotine search that every decision on a zero-slack part tries first ([`guillotine`], [`Rules::guillotine`]:
//! it looks for stacks of buffer sets whose bytes are constant over time, recursively, within a node budget of
//! [`GUILLOTINE_NODES_PER_BUFFER`] per buffer; it finds packings but never proves that none exists), and the time
//! sweep for zero-slack parts ([`sweep`], off by default). At the time limit it returns the best packing found
//! (polished by hill climbing in the last tenth of the time) with the bound proven so far ([`Status::Feasible`],
//! `lower_bound_bytes` = that bound).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::problem::round_up;
use arenaplan_planner::{BufferProblem, PackError, PackLimits, Packer, Packing, Status};

use crate::best_of::BestOf;
use crate::canonical::canonicalize;
use crate::common::{finish, unit_of, without_capacity};
use crate::decompose::{partitions, solve_by_parts, subproblem, PartResult};
use crate::hill_climb::hill_climb;
use crate::rng::SplitMix64;

pub mod guillotine;
pub mod search;
pub mod sweep;

use guillotine::Guillotine;
pub use search::Rules;
use search::{Instance, Outcome, PointRule, Search};
use sweep::{zero_slack, Sweep};

/// Guillotine nodes allowed per buffer of a zero-slack part, before the search (a guillotine node takes some tens
/// of nanoseconds: at most about 0.3 ms per buffer).
pub const GUILLOTINE_NODES_PER_BUFFER: u64 = 8192;

/// A static order of the buffers: which buffer is tried first among those with the same lowest offset. Each
/// letter is a key, in decreasing order, as in MiniMalloc's preorderings; ties by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preorder {
    /// Width (sections spanned), then area (bytes x steps), then the largest section total it spans.
    Wat,
    /// Section total, then area, then width.
    Taw,
    /// Section total, then width, then area.
    Twa,
}

impl Preorder {
    /// MiniMalloc's default three.
    pub const ALL: [Preorder; 3] = [Preorder::Wat, Preorder::Taw, Preorder::Twa];

    /// The order of the buffers of `problem` (searched as `inst`).
    pub fn order(self, problem: &BufferProblem, inst: &Instance) -> Vec<usize> {
        let n = inst.len();
        let keys: Vec<(usize, u64, u64)> = (0..n)
            .map(|i| {
                let b = &problem.buffers[i];
                (inst.width(i), b.size_bytes.saturating_mul(b.live.len() as u64), inst.max_section_total(i))
            })
            .collect();
        let key = |i: usize| -> (u64, u64, u64) {
            let (w, a, t) = keys[i];
            match self {
                Preorder::Wat => (w as u64, a, t),
                Preorder::Taw => (t, a, w as u64),
                Preorder::Twa => (t, w as u64, a),
            }
        };
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&x, &y| key(y).cmp(&key(x)).then(x.cmp(&y)));
        order
    }
}

/// What the last run of an [`ExactPacker`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExactStats {
    /// Search nodes visited, over every decision and restart (bottom-up search and time sweep).
    pub nodes: u64,
    /// Of which in the time sweep.
    pub sweep_nodes: u64,
    /// Of which in the guillotine search (much cheaper nodes: one buffer put on one side of a cut).
    pub guillotine_nodes: u64,
    /// Decisions ("does it fit in C?") asked.
    pub decisions: u64,
    /// Decisions answered by a proof that nothing fits.
    pub infeasible_proofs: u64,
}

/// A progress line of a long search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressReport {
    /// Time since the packer started.
    pub elapsed: Duration,
    /// Search nodes so far.
    pub nodes: u64,
    /// The proven lower bound so far, in bytes.
    pub lower_bound_bytes: u64,
    /// The best arena found so far, in bytes (of the part being solved when the problem splits into parts).
    pub best_bytes: u64,
}

/// Where progress goes.
#[derive(Clone, Default)]
pub enum Progress {
    /// Nowhere (the default).
    #[default]
    Off,
    /// One line on standard error at most every `interval`, and one at the end.
    Stderr {
        /// The least time between two lines.
        interval: Duration,
    },
    /// A callback, called at most every `interval`, and once at the end.
    Callback {
        /// The least time between two calls.
        interval: Duration,
        /// The function called.
        report: Arc<dyn Fn(&ProgressReport) + Send + Sync>,
    },
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Progress::Off => write!(f, "Off"),
            Progress::Stderr { interval } => write!(f, "Stderr({interval:?})"),
            Progress::Callback { interval, .. } => write!(f, "Callback({interval:?})"),
        }
    }
}

/// The state of one run: counters, bounds for progress lines, and the byte unit of the canonical problem.
struct Run<'a> {
    progress: &'a Progress,
    started: Instant,
    last_report: Instant,
    unit: u64,
    lower: u64,
    best: u64,
    stats: ExactStats,
}

impl Run<'_> {
    fn count(&mut self, nodes: u64, sweep: bool) {
        self.stats.nodes += nodes;
        if sweep {
            self.stats.sweep_nodes += nodes;
        }
        self.maybe_report(false);
    }

    fn count_guillotine(&mut self, nodes: u64) {
        self.stats.guillotine_nodes += nodes;
        self.count(nodes, false);
    }

    fn maybe_report(&mut self, last: bool) {
        let interval = match self.progress {
            Progress::Off => return,
            Progress::Stderr { interval } | Progress::Callback { interval, .. } => *interval,
        };
        if !last && self.last_report.elapsed() < interval {
            return;
        }
        self.last_report = Instant::now();
        let report = ProgressReport {
            elapsed: self.started.elapsed(),
            nodes: self.stats.nodes,
            lower_bound_bytes: self.lower.saturating_mul(self.unit),
            best_bytes: self.best.saturating_mul(self.unit),
        };
        match self.progress {
            Progress::Off => {}
            Progress::Stderr { .. } => eprintln!(
                "exact: {:>8.3} s  nodes {:>12}  bound {:>12} B  best {:>12} B",
                report.elapsed.as_secs_f64(),
                report.nodes,
                report.lower_bound_bytes,
                report.best_bytes
            ),
            Progress::Callback { report: f, .. } => f(&report),
        }
    }
}

/// The exact search packer.
pub struct ExactPacker {
    /// The packer whose result is the first upper bound (and the answer if the search finds nothing better).
    pub warm_start: Box<dyn Packer>,
    /// Search configurations (static order, point rule) tried in turn by every decision.
    pub configs: Vec<(Preorder, PointRule)>,
    /// The pruning rules (each can be turned off for ablation).
    pub rules: Rules,
    /// Hill-climbing moves spent on the best plan when the search could not prove it optimal.
    pub polish_iterations: u32,
    /// With a capacity: after answering the decision question, go on minimising below the capacity.
    pub minimise_within_capacity: bool,
    /// Where progress goes.
    pub progress: Progress,
    last: Mutex<Option<ExactStats>>,
}

impl Default for ExactPacker {
    /// Warm start from `best-of`; the rules of [`Rules::DEFAULT`]; four configurations: MiniMalloc's `WAT` and `TAW` orders, each
    /// with both point rules (on zero-slack instances the search time is heavy-tailed, and diverse restarts pay).
    fn default() -> Self {
        ExactPacker {
            warm_start: Box::new(BestOf::default()),
            configs: vec![
                (Preorder::Wat, PointRule::Fewest),
                (Preorder::Taw, PointRule::Earliest),
                (Preorder::Taw, PointRule::Fewest),
                (Preorder::Wat, PointRule::Earliest),
            ],
            rules: Rules::DEFAULT,
            polish_iterations: 2_000,
            minimise_within_capacity: false,
            progress: Progress::Off,
            last: Mutex::new(None),
        }
    }
}

impl ExactPacker {
    /// MiniMalloc's own search: its three orders, its rules only (inference, section bounds, dominance, dynamic
    /// decomposition, restarts; no point rules, wells, symmetry breaking, guillotine search, time sweep or
    /// reversal).
    pub fn minimalloc() -> Self {
        ExactPacker {
            configs: Preorder::ALL.iter().map(|&p| (p, PointRule::Off)).collect(),
            rules: Rules {
                inference: true,
                section_bounds: true,
                dominance: true,
                decomposition: true,
                restarts: true,
                ..Rules::NONE
            },
            polish_iterations: 0,
            ..ExactPacker::default()
        }
    }

    /// The same packer with other rules.
    pub fn with_rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    /// The same packer with a progress sink.
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// The statistics of the last finished run (`None` before the first).
    pub fn last_stats(&self) -> Option<ExactStats> {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pack and return the statistics of this run alongside.
    pub fn pack_with_stats(
        &self,
        problem: &BufferProblem,
        limits: &PackLimits,
    ) -> (Result<Packing, PackError>, ExactStats) {
        let canonical = canonicalize(problem);
        let mut run = Run {
            progress: &self.progress,
            started: Instant::now(),
            last_report: Instant::now(),
            unit: canonical.unit,
            lower: 0,
            best: 0,
            stats: ExactStats::default(),
        };
        let result = self.pack_canonical(&canonical.problem, limits, &mut run);
        run.maybe_report(true);
        let stats = run.stats;
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(stats);
        let result = match result {
            Ok(packing) => Ok(canonical.packing_back(packing)),
            Err(e) => Err(canonical.error_back(e, problem.capacity)),
        };
        (result, stats)
    }

    /// The search data of a part, and of its mirror image in time when [`Rules::reversal`] is on (same buffer
    /// indices, so offsets found on either are offsets of the part).
    fn instances(&self, part: &BufferProblem) -> Vec<Instance> {
        let mut insts = vec![Instance::new(part)];
        if self.rules.reversal && self.rules.restarts {
            let end = part.buffers.iter().map(|b| b.live.end).max().unwrap_or(0);
            let mut mirrored = part.clone();
            for b in &mut mirrored.buffers {
                b.live = end - b.live.end..end - b.live.start;
            }
            insts.push(Instance::new(&mirrored));
        }
        insts
    }

    /// The static orders of a part's configurations.
    fn orders(&self, part: &BufferProblem, inst: &Instance) -> Vec<(Vec<usize>, PointRule)> {
        let configs = if self.configs.is_empty() { &[(Preorder::Wat, PointRule::Off)][..] } else { &self.configs };
        configs.iter().map(|&(p, rule)| (p.order(part, inst), rule)).collect()
    }

    /// The answer of one decision "does `part` fit in `capacity`?".
    ///
    /// On a part with zero slack at `capacity`, the guillotine search runs first (when [`Rules::guillotine`] is on),
    /// within [`GUILLOTINE_NODES_PER_BUFFER`] nodes per buffer; the searches below run only if it found nothing.
    ///
    /// With restarts: rounds with node limits that double (from twice the buffer count); each round runs the
    /// time sweep (when the part has zero slack at `capacity`), every configuration's static order, then as
    /// many seeded random orders, so that the heavy-tailed search gets diverse restarts. Without: the time sweep
    /// or else the first configuration, once, to the end. Deterministic for a given `seed`.
    fn decide(
        &self,
        run: &mut Run,
        insts: &[Instance],
        orders: &[(Vec<usize>, PointRule)],
        capacity: u64,
        seed: u64,
        deadline: Instant,
    ) -> Outcome {
        run.stats.decisions += 1;
        let rules = self.rules;
        let inst = &insts[0];
        let zero = zero_slack(inst, capacity);
        let sweep = rules.sweep && zero;
        if rules.guillotine && zero {
            let limit = GUILLOTINE_NODES_PER_BUFFER.saturating_mul(inst.len() as u64);
            let (outcome, nodes) = Guillotine::new(inst, capacity, limit, deadline).run();
            run.count_guillotine(nodes);
            match outcome {
                Outcome::Found(_) | Outcome::Deadline => return outcome,
                Outcome::Infeasible | Outcome::NodeLimit => {} // No guillotine packing (found): search.
            }
        }
        let outcome = if !rules.restarts {
            let (outcome, nodes) = if sweep {
                Sweep::new(inst, capacity, rules, u64::MAX, deadline, 0).run()
            } else {
                let (order, points) = &orders[0];
                Search::new(inst, capacity, order, u64::MAX, deadline).with_rules(rules).with_points(*points).run()
            };
            run.count(nodes, sweep);
            outcome
        } else {
            self.decide_with_restarts(run, insts, orders, capacity, seed, deadline, sweep)
        };
        if outcome == Outcome::Infeasible {
            run.stats.infeasible_proofs += 1;
        }
        outcome
    }

    #[allow(clippy::too_many_arguments)]
    fn decide_with_restarts(
        &self,
        run: &mut Run,
        insts: &[Instance],
        orders: &[(Vec<usize>, PointRule)],
        capacity: u64,
        seed: u64,
        deadline: Instant,
        sweep: bool,
    ) -> Outcome {
        let inst = &insts[0];
        let mut node_limit = inst.len().max(1) as u64;
        let mut rng = SplitMix64::new(seed ^ 0x6578_6163_7421);
        loop {
            node_limit = node_limit.saturating_mul(2);
            if sweep {
                for shuffle in [0, rng.next_u64() | 1] {
                    let (outcome, nodes) = Sweep::new(inst, capacity, self.rules, node_limit, deadline, shuffle).run();
                    run.count(nodes, true);
                    if outcome != Outcome::NodeLimit {
                        return outcome;
                    }
                }
            }
            let random: Vec<(Vec<usize>, PointRule)> = (0..orders.len())
                .map(|k| {
                    let mut order: Vec<usize> = (0..inst.len()).collect();
                    for i in (1..order.len()).rev() {
                        order.swap(i, rng.below(i as u64 + 1) as usize);
                    }
                    (order, if k % 2 == 0 { PointRule::Fewest } else { PointRule::Earliest })
                })
                .collect();
            for inst in insts {
                for (order, points) in orders.iter().chain(&random) {
                    let (outcome, nodes) = Search::new(inst, capacity, order, node_limit, deadline)
                        .with_rules(self.rules)
                        .with_points(*points)
                        .run();
                    run.count(nodes, false);
                    if outcome != Outcome::NodeLimit {
                        return outcome;
                    }
                }
            }
        }
    }

    /// Minimise one part: returns the best packing found and the bound proven on `max(target, optimum)`.
    fn solve_part(
        &self,
        run: &mut Run,
        part: &BufferProblem,
        target: u64,
        start: &[u64],
        seed: u64,
        deadline: Instant,
    ) -> PartResult {
        let insts = self.instances(part);
        let orders = self.orders(part, &insts[0]);
        let unit = unit_of(part, 0..part.buffers.len());
        let mut best = start.to_vec();
        let mut best_arena = arena_bytes_of(part, start);
        let mut lower = target.max(part.lower_bound());
        run.lower = run.lower.max(lower);
        run.best = best_arena;
        let mut first = true;
        while lower < best_arena {
            // First at the bound (real networks and zero-slack instances fit there), then by bisection.
            let capacity = if first { lower } else { lower + (best_arena - 1 - lower) / 2 };
            first = false;
            match self.decide(run, &insts, &orders, capacity, seed, deadline) {
                Outcome::Found(offsets) => {
                    best_arena = arena_bytes_of(part, &offsets);
                    best = offsets;
                    run.best = best_arena;
                }
                // Every left-justified packing's arena is a multiple of `unit`.
                Outcome::Infeasible => {
                    lower = round_up(capacity + 1, unit);
                    run.lower = run.lower.max(lower.min(best_arena));
                }
                Outcome::NodeLimit | Outcome::Deadline => break,
            }
        }
        PartResult { offsets: Some(best), lower_bound_bytes: lower.min(best_arena) }
    }

    /// Answer "does `problem` fit in `capacity`?" part by part, from the warm start `offsets`.
    fn decide_capacity(
        &self,
        run: &mut Run,
        problem: &BufferProblem,
        offsets: &mut [u64],
        capacity: u64,
        limits: &PackLimits,
        deadline: Instant,
    ) -> Result<(), PackError> {
        for idx in partitions(problem) {
            let part = subproblem(problem, &idx);
            let start: Vec<u64> = idx.iter().map(|&i| offsets[i]).collect();
            if arena_bytes_of(&part, &start) <= capacity {
                continue;
            }
            let insts = self.instances(&part);
            let orders = self.orders(&part, &insts[0]);
            match self.decide(run, &insts, &orders, capacity, limits.seed, deadline) {
                Outcome::Found(found) => {
                    for (k, &i) in idx.iter().enumerate() {
                        offsets[i] = found[k];
                    }
                }
                Outcome::Infeasible => {
                    run.lower = capacity + 1;
                    return Err(PackError::Infeasible { capacity, lower_bound_bytes: capacity + 1 });
                }
                Outcome::NodeLimit | Outcome::Deadline => {
                    return Err(PackError::TimeLimit { limit: limits.time_limit });
                }
            }
        }
        Ok(())
    }

    /// The packer on a canonical problem.
    fn pack_canonical(
        &self,
        problem: &BufferProblem,
        limits: &PackLimits,
        run: &mut Run,
    ) -> Result<Packing, PackError> {
        let start = Instant::now();
        let deadline = start + limits.time_limit;
        // The search gets 90% of the time; if it cannot close the gap, local search polishes its best plan in
        // the rest, so `exact` is never behind `hill-climb` on the problems it cannot solve.
        let search_deadline = start + limits.time_limit.mul_f64(0.9);
        let load = problem.lower_bound();
        run.lower = load;
        let warm = self.warm_start.pack(&without_capacity(problem), limits)?;
        let mut offsets = warm.offsets;
        // Buffers of no part (size zero, or an empty lifetime) overlap nothing: at offset 0 they add nothing.
        for (o, b) in offsets.iter_mut().zip(&problem.buffers) {
            if b.size_bytes == 0 || b.live.is_empty() {
                *o = 0;
            }
        }
        run.best = arena_bytes_of(problem, &offsets);
        if let Some(capacity) = problem.capacity {
            if load > capacity {
                return Err(PackError::Infeasible { capacity, lower_bound_bytes: load });
            }
            self.decide_capacity(run, problem, &mut offsets, capacity, limits, deadline)?;
            run.best = arena_bytes_of(problem, &offsets);
            if !self.minimise_within_capacity {
                return finish(&self.name(), problem, offsets, Status::Feasible, load);
            }
        }
        let (mut offsets, lower_bound) =
            solve_by_parts(problem, &offsets, search_deadline, |part, target, start, deadline| {
                self.solve_part(run, part, target, start, limits.seed, deadline)
            });
        run.lower = run.lower.max(lower_bound);
        if arena_bytes_of(problem, &offsets) > lower_bound {
            offsets = hill_climb(problem, &offsets, self.polish_iterations, limits.seed, deadline);
        }
        run.best = arena_bytes_of(problem, &offsets);
        finish(&self.name(), problem, offsets, Status::Feasible, lower_bound)
    }
}

impl Packer for ExactPacker {
    fn name(&self) -> String {
        "exact".to_owned()
    }

    fn params(&self) -> BTreeMap<String, String> {
        let configs: Vec<String> = self.configs.iter().map(|(p, r)| format!("{p:?}/{r:?}")).collect();
        let mut params = BTreeMap::from([
            ("warm_start".to_owned(), self.warm_start.name()),
            ("configs".to_owned(), configs.join(",")),
            ("rules".to_owned(), self.rules.describe()),
            ("minimise_within_capacity".to_owned(), self.minimise_within_capacity.to_string()),
        ]);
        if let Some(stats) = self.last_stats() {
            params.insert("nodes".to_owned(), stats.nodes.to_string());
            params.insert("sweep_nodes".to_owned(), stats.sweep_nodes.to_string());
            params.insert("decisions".to_owned(), stats.decisions.to_string());
        }
        params
    }

    fn pack(&self, problem: &BufferProblem, limits: &PackLimits) -> Result<Packing, PackError> {
        self.pack_with_stats(problem, limits).0
    }
}
