//! The decision search of `exact`: "do these buffers fit in capacity C?", by depth-first search over canonical
//! packings only, in the spirit of MiniMalloc (Moffitt, ASPLOS 2023).
//!
//! - Canonical placements: every buffer goes at its lowest free offset (the top of the placed buffers alive with
//!   it, aligned), and buffers are placed in non-decreasing (offset, static rank) order, so each left-justified
//!   packing is visited once.
//! - Dominance: a buffer whose lowest offset is at or above the lowest top any unplaced buffer could reach is
//!   not tried (the other buffer would fit under it and the packing is reached by another branch).
//! - Section bounds: time is cut into sections where the live set is constant; in each, the floor (the top of
//!   its placed buffers, at least the lowest offset any of its unplaced buffers can take, at least the current
//!   offset) plus its unplaced bytes must stay within C.
//! - Children are tried in order of lowest offset, then static rank (the static order is a parameter, and
//!   [`super::ExactPacker`] runs several in turn with growing node limits).

use std::time::Instant;

use arenaplan_planner::problem::round_up;
use arenaplan_planner::BufferProblem;

/// How a search ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A packing within the capacity (offsets of every buffer).
    Found(Vec<u64>),
    /// No packing fits (proven by exhausting the canonical packings).
    Infeasible,
    /// The node limit passed.
    NodeLimit,
    /// The deadline passed.
    Deadline,
}

/// The static data of a search: sizes, alignments, sections and overlaps of a problem whose buffers all have a
/// non-zero size and a non-empty lifetime.
#[derive(Debug, Clone)]
pub struct Instance {
    size: Vec<u64>,
    align: Vec<u64>,
    /// Section range `[lo, hi)` of each buffer.
    sections_of: Vec<(usize, usize)>,
    /// Buffers alive in each section.
    section_buffers: Vec<Vec<usize>>,
    /// Buffers alive at a common step with each buffer.
    overlaps: Vec<Vec<usize>>,
    /// Buffers whose lifetime starts in each section.
    starting: Vec<Vec<usize>>,
    /// For each section, its buffers with their section range and size, packed for the wells rule's scans.
    entries: Vec<Vec<Entry>>,
}

/// A buffer alive in a section, as the wells rule scans it.
#[derive(Debug, Clone, Copy)]
struct Entry {
    buffer: u32,
    first: u32,
    end: u32,
    size: u64,
}

impl Instance {
    /// The search data of `problem` (every buffer must have a non-zero size and a non-empty lifetime).
    pub fn new(problem: &BufferProblem) -> Self {
        let b = &problem.buffers;
        assert!(b.iter().all(|x| x.size_bytes > 0 && !x.live.is_empty()), "exact search needs real buffers");
        let mut points: Vec<u32> = b.iter().flat_map(|x| [x.live.start, x.live.end]).collect();
        points.sort_unstable();
        points.dedup();
        let index = |t: u32| points.binary_search(&t).expect("a boundary");
        let sections_of: Vec<(usize, usize)> = b.iter().map(|x| (index(x.live.start), index(x.live.end))).collect();
        let mut section_buffers = vec![Vec::new(); points.len().saturating_sub(1)];
        for (i, &(lo, hi)) in sections_of.iter().enumerate() {
            for s in &mut section_buffers[lo..hi] {
                s.push(i);
            }
        }
        let mut overlaps = vec![Vec::new(); b.len()];
        for (i, j) in problem.time_conflicts() {
            overlaps[i].push(j);
            overlaps[j].push(i);
        }
        let mut starting = vec![Vec::new(); section_buffers.len()];
        for (i, &(lo, _)) in sections_of.iter().enumerate() {
            starting[lo].push(i);
        }
        let entries = section_buffers
            .iter()
            .map(|list| {
                list.iter()
                    .map(|&j| Entry {
                        buffer: j as u32,
                        first: sections_of[j].0 as u32,
                        end: sections_of[j].1 as u32,
                        size: b[j].size_bytes,
                    })
                    .collect()
            })
            .collect();
        Instance {
            entries,
            starting,
            size: b.iter().map(|x| x.size_bytes).collect(),
            align: b.iter().map(|x| x.align_bytes.max(1)).collect(),
            sections_of,
            section_buffers,
            overlaps,
        }
    }

    /// Number of buffers.
    pub fn len(&self) -> usize {
        self.size.len()
    }

    /// Whether there is no buffer.
    pub fn is_empty(&self) -> bool {
        self.size.is_empty()
    }

    /// Number of sections.
    pub fn section_count(&self) -> usize {
        self.section_buffers.len()
    }

    /// Sections each buffer spans.
    pub fn width(&self, i: usize) -> usize {
        self.sections_of[i].1 - self.sections_of[i].0
    }

    /// The largest total of bytes over the sections a buffer spans.
    pub fn max_section_total(&self, i: usize) -> u64 {
        let (lo, hi) = self.sections_of[i];
        (lo..hi).map(|s| self.section_buffers[s].iter().map(|&j| self.size[j]).sum::<u64>()).max().unwrap_or(0)
    }

    /// Bytes of a buffer.
    pub fn size(&self, i: usize) -> u64 {
        self.size[i]
    }

    /// Alignment of a buffer.
    pub fn align(&self, i: usize) -> u64 {
        self.align[i]
    }

    /// Section range `[first, end)` a buffer spans.
    pub fn sections(&self, i: usize) -> (usize, usize) {
        self.sections_of[i]
    }

    /// Bytes alive in each section.
    pub fn section_totals(&self) -> Vec<u64> {
        self.section_buffers.iter().map(|s| s.iter().map(|&j| self.size[j]).sum()).collect()
    }

    /// Whether two buffers are interchangeable: same size, alignment and lifetime.
    pub fn identical(&self, i: usize, j: usize) -> bool {
        self.size[i] == self.size[j] && self.align[i] == self.align[j] && self.sections_of[i] == self.sections_of[j]
    }

    /// `order` with every buffer's identical twins moved right after the first of them (otherwise stable), so
    /// twins have consecutive ranks.
    pub fn group_twins(&self, order: &[usize]) -> Vec<usize> {
        let key = |i: usize| (self.size[i], self.align[i], self.sections_of[i]);
        let mut classes: std::collections::HashMap<(u64, u64, (usize, usize)), Vec<usize>> =
            std::collections::HashMap::new();
        for &i in order {
            classes.entry(key(i)).or_default().push(i);
        }
        let mut out = Vec::with_capacity(order.len());
        for &i in order {
            if let Some(members) = classes.remove(&key(i)) {
                out.extend(members);
            }
        }
        out
    }
}

const UNPLACED: u64 = u64::MAX;

/// Previous values of entries (buffer or section index, value), to undo a placement.
type UndoLog = Vec<(usize, u64)>;

/// Which point a tight section must have covered, when one is tight (see [`Search::with_points`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PointRule {
    /// No point rule: MiniMalloc's children (every unplaced buffer, in canonical order).
    Off,
    /// The earliest section whose floor is the lowest offset; buffers ranked by start section first, so the
    /// buffer covering that point is also the next one in canonical order.
    Earliest,
    /// The tight section at the lowest offset with the fewest buffers able to cover its point.
    Fewest,
}

/// The pruning rules of the search, each on/off so it can be ablated. Turning any rule off keeps the search
/// complete and sound (it only visits more nodes); the test `strategies/tests/exact_rules.rs` checks every
/// combination against brute force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rules {
    /// Spatial inference: when a placement pushes the lowest offset of a buffer alive with it so high that the
    /// buffer can no longer end within the capacity, the node fails at once (instead of when that buffer's turn
    /// comes).
    pub inference: bool,
    /// Section bounds: in every section (a time interval with a constant live set), the floor (top of its placed
    /// buffers, raised to the lowest offset any of its unplaced buffers can take, and to the current canonical
    /// offset) plus its unplaced bytes must stay within the capacity.
    pub section_bounds: bool,
    /// Dominance: a buffer whose lowest offset is at or above the lowest top any unplaced buffer can reach is not
    /// tried (that buffer would fit entirely below it; the packing is reached by another branch).
    pub dominance: bool,
    /// Dynamic decomposition: when no unplaced buffer crosses a section boundary any more, the pieces on either
    /// side are solved independently.
    pub decomposition: bool,
    /// Symmetry breaking: identical buffers (same size, alignment and lifetime) are placed in a fixed order.
    pub symmetry: bool,
    /// Point rules: a section with no slack left must have its lowest free point covered next (the configured
    /// [`PointRule`]s apply; off forces [`PointRule::Off`]).
    pub points: bool,
    /// Wells: in every section with no slack left, the lowest free point must still be coverable by some
    /// unplaced buffer alive there whose whole lifetime lies within the *well* around it (the sections on
    /// either side whose floor is not above that point); otherwise the node fails, however high that section.
    pub wells: bool,
    /// The time sweep for parts with zero slack at the capacity ([`super::sweep`]).
    pub sweep: bool,
    /// The guillotine search first for parts with zero slack at the capacity ([`super::guillotine`]: stacks of
    /// sets whose bytes are constant over time, split recursively; it finds packings, never proves there is none).
    pub guillotine: bool,
    /// In the time sweep, every hole must be the sum of some subset of the buffers left to place there.
    pub hole_sums: bool,
    /// Time reversal: the restarts also search the part mirrored in time (the same problem, whose lowest-leftmost
    /// points are the original's lowest-rightmost), for diversity on heavy-tailed instances.
    pub reversal: bool,
    /// Restarts: node limits that double, each round running the static orders and as many seeded random
    /// orders. Off, each decision runs its first configuration once, to the end.
    pub restarts: bool,
}

impl Rules {
    /// Every rule on (the default).
    pub const ALL: Rules = Rules {
        inference: true,
        section_bounds: true,
        dominance: true,
        decomposition: true,
        symmetry: true,
        points: true,
        wells: true,
        sweep: true,
        guillotine: true,
        hole_sums: true,
        reversal: true,
        restarts: true,
    };

    /// The default of [`super::ExactPacker`]: every rule but the time sweep (and its hole sums) and time
    /// reversal, which on the generated perfect packings spent the restarts' node budget without solving an
    /// instance the default misses (the report's ablation table measures both).
    pub const DEFAULT: Rules = Rules { sweep: false, hole_sums: false, reversal: false, ..Rules::ALL };

    /// Every rule off: plain depth-first search over canonical packings.
    pub const NONE: Rules = Rules {
        inference: false,
        section_bounds: false,
        dominance: false,
        decomposition: false,
        symmetry: false,
        points: false,
        wells: false,
        sweep: false,
        guillotine: false,
        hole_sums: false,
        reversal: false,
        restarts: false,
    };

    /// The names of the rules, in the order of [`Rules::get`] and [`Rules::set`].
    pub const NAMES: [&'static str; 12] = [
        "inference",
        "section_bounds",
        "dominance",
        "decomposition",
        "symmetry",
        "points",
        "wells",
        "sweep",
        "guillotine",
        "hole_sums",
        "reversal",
        "restarts",
    ];

    /// The rule named `NAMES[k]`.
    pub fn get(&self, k: usize) -> bool {
        [
            self.inference,
            self.section_bounds,
            self.dominance,
            self.decomposition,
            self.symmetry,
            self.points,
            self.wells,
            self.sweep,
            self.guillotine,
            self.hole_sums,
            self.reversal,
            self.restarts,
        ][k]
    }

    /// The same rules with `NAMES[k]` set to `on`.
    pub fn set(mut self, k: usize, on: bool) -> Self {
        let field = match k {
            0 => &mut self.inference,
            1 => &mut self.section_bounds,
            2 => &mut self.dominance,
            3 => &mut self.decomposition,
            4 => &mut self.symmetry,
            5 => &mut self.points,
            6 => &mut self.wells,
            7 => &mut self.sweep,
            8 => &mut self.guillotine,
            9 => &mut self.hole_sums,
            10 => &mut self.reversal,
            _ => &mut self.restarts,
        };
        *field = on;
        self
    }

    /// The same rules with the one named `name` set to `on` (`None` for an unknown name).
    pub fn with(self, name: &str, on: bool) -> Option<Self> {
        Rules::NAMES.iter().position(|&n| n == name).map(|k| self.set(k, on))
    }

    /// All `2^12` combinations of the rules.
    pub fn every_combination() -> Vec<Rules> {
        (0..1u32 << Rules::NAMES.len())
            .map(|bits| (0..Rules::NAMES.len()).fold(Rules::NONE, |r, k| r.set(k, bits >> k & 1 == 1)))
            .collect()
    }

    /// The rules as text: the names of those on, comma-separated (`none` when every rule is off).
    pub fn describe(&self) -> String {
        let on: Vec<&str> = (0..Rules::NAMES.len()).filter(|&k| self.get(k)).map(|k| Rules::NAMES[k]).collect();
        if on.is_empty() {
            "none".to_owned()
        } else {
            on.join(",")
        }
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules::DEFAULT
    }
}

/// The result of one subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Found,
    NotFound,
    Stop,
}

/// One run of the decision search.
pub struct Search<'a> {
    inst: &'a Instance,
    capacity: u64,
    /// Static rank of each buffer (lower = tried first on equal offsets).
    rank: Vec<usize>,
    /// Buffer of each rank.
    by_rank: Vec<usize>,
    offset: Vec<u64>,
    /// Offsets along the latest successful path (every placement writes here; the final path overwrites all).
    solution: Vec<u64>,
    min_offset: Vec<u64>,
    floor: Vec<u64>,
    total: Vec<u64>,
    /// Unplaced buffers alive on both sides of the boundary between sections `s` and `s + 1`.
    cuts: Vec<u32>,
    stamp: Vec<u32>,
    generation: u32,
    nodes: u64,
    node_limit: u64,
    deadline: Instant,
    /// The pruning rules.
    rules: Rules,
    /// The buffer ranked just before each rank, when it is identical (same size, alignment and lifetime).
    twin_before: Vec<bool>,
    /// Which tight point decides the children.
    points: PointRule,
    stopped: Option<Outcome>,
    /// Scratch space of the wells rule: first and last section of each section's well, and a stack.
    well_left: Vec<usize>,
    well_right: Vec<usize>,
    well_stack: Vec<usize>,
    /// Sections whose floor changed with the last placement (valid when `changed_valid`): the wells check of the
    /// node below it re-examines only sections whose well touches one of them (the parent passed on the others).
    changed: Vec<usize>,
    changed_valid: bool,
    /// Scratch space: number of changed sections before each section.
    changed_before: Vec<u32>,
    /// Scratch space of the plateau cover: section boundaries reachable by disjoint lifetimes.
    reach: Vec<bool>,
}

impl<'a> Search<'a> {
    /// A search of `inst` within `capacity`, children tried in `order` on equal offsets.
    pub fn new(inst: &'a Instance, capacity: u64, order: &[usize], node_limit: u64, deadline: Instant) -> Self {
        let n = inst.len();
        let order = inst.group_twins(order);
        let mut rank = vec![0; n];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r;
        }
        let total = inst.section_buffers.iter().map(|s| s.iter().map(|&j| inst.size[j]).sum()).collect();
        let mut cuts = vec![0u32; inst.section_count().saturating_sub(1)];
        for &(lo, hi) in &inst.sections_of {
            for c in &mut cuts[lo..hi - 1] {
                *c += 1;
            }
        }
        Search {
            inst,
            capacity,
            rank,
            twin_before: (0..n).map(|r| r > 0 && inst.identical(order[r - 1], order[r])).collect(),
            by_rank: order,
            offset: vec![UNPLACED; n],
            solution: vec![0; n],
            min_offset: vec![0; n],
            floor: vec![0; inst.section_count()],
            total,
            cuts,
            stamp: vec![0; inst.section_count()],
            generation: 0,
            nodes: 0,
            node_limit,
            deadline,
            rules: Rules::ALL,
            points: PointRule::Off,
            stopped: None,
            well_left: vec![0; inst.section_count()],
            well_right: vec![0; inst.section_count()],
            well_stack: Vec::with_capacity(inst.section_count()),
            reach: vec![false; inst.section_count() + 1],
            changed: Vec::new(),
            changed_valid: false,
            changed_before: vec![0; inst.section_count() + 2],
        }
    }

    /// The same search with other pruning rules (every rule on by default; `sweep`, `hole_sums` and `restarts`
    /// are the caller's business). With `points` off, [`Search::with_points`] has no effect.
    pub fn with_rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        if !rules.points {
            self.points = PointRule::Off;
        }
        self
    }

    /// The same search with a point rule (off by default).
    ///
    /// At a node whose lowest possible offset is `x`, a section whose floor is `x` and whose floor plus unplaced
    /// bytes equal the capacity (no slack left) must have its point `(section, x)` covered, by a buffer alive in
    /// it whose lowest offset is exactly `x`. If such a section has no such buffer, the node is a dead end;
    /// otherwise the children are the buffers covering the point of one such section (an "or" over one point
    /// instead of over every buffer): the earliest section ([`PointRule::Earliest`], which ranks buffers by
    /// start section first) or the one with the fewest candidates ([`PointRule::Fewest`]). On zero-slack
    /// instances this turns the search into a tiling search that fails as soon as some point cannot be covered.
    pub fn with_points(mut self, rule: PointRule) -> Self {
        let rule = if self.rules.points { rule } else { PointRule::Off };
        if rule == PointRule::Earliest && self.points != PointRule::Earliest {
            let sections_of = &self.inst.sections_of;
            let mut order = self.by_rank.clone();
            order.sort_by_key(|&i| sections_of[i].0); // stable: the given order breaks ties (twins stay adjacent)
            for (r, &i) in order.iter().enumerate() {
                self.rank[i] = r;
            }
            self.twin_before = (0..order.len()).map(|r| r > 0 && self.inst.identical(order[r - 1], order[r])).collect();
            self.by_rank = order;
        }
        self.points = rule;
        self
    }

    /// Run the search; returns the outcome and the nodes visited.
    pub fn run(mut self) -> (Outcome, u64) {
        let all = (0, self.inst.section_count());
        let outcome = if !self.check(all, 0) {
            Outcome::Infeasible
        } else {
            let ranks: Vec<usize> = (0..self.inst.len()).collect();
            match self.dfs(&ranks, all, 0, 0) {
                Step::Found => Outcome::Found(self.solution.clone()),
                Step::NotFound => Outcome::Infeasible,
                Step::Stop => self.stopped.take().unwrap_or(Outcome::Deadline),
            }
        };
        (outcome, self.nodes)
    }

    /// Every section of `range` within the capacity, given that nothing goes below `offset` any more.
    fn check(&self, range: (usize, usize), offset: u64) -> bool {
        if !self.rules.section_bounds {
            return true;
        }
        let (lo, hi) = range;
        self.floor[lo..hi].iter().zip(&self.total[lo..hi]).all(|(&f, &t)| f.max(offset) + t <= self.capacity)
    }

    /// Place the unplaced buffers among `ranks` (all within the sections `range`), at or above (`min_offset`,
    /// `min_rank`). The state is always restored on return; a found packing is in `self.solution`.
    fn dfs(&mut self, ranks: &[usize], range: (usize, usize), min_offset: u64, min_rank: usize) -> Step {
        self.nodes += 1;
        if self.nodes > self.node_limit {
            self.stopped = Some(Outcome::NodeLimit);
            return Step::Stop;
        }
        if self.nodes % 64 == 0 && Instant::now() >= self.deadline {
            self.stopped = Some(Outcome::Deadline);
            return Step::Stop;
        }
        // Unplaced buffers of this piece (by rank), the lowest offset any can take and the lowest top.
        let remaining: Vec<usize> =
            ranks.iter().copied().filter(|&r| self.offset[self.by_rank[r]] == UNPLACED).collect();
        if remaining.is_empty() {
            return Step::Found;
        }
        let (mut x, mut min_height) = (u64::MAX, u64::MAX);
        for &r in &remaining {
            let i = self.by_rank[r];
            x = x.min(self.min_offset[i]);
            min_height = min_height.min(self.min_offset[i] + self.inst.size[i]);
        }
        if self.rules.wells && !self.wells_coverable(range) {
            return Step::NotFound;
        }
        let mut point: Option<(usize, usize)> = None; // (candidates, section)
        if self.points != PointRule::Off {
            for s in range.0..range.1 {
                if self.total[s] == 0 || self.floor[s] > x {
                    continue;
                }
                if x + self.total[s] != self.capacity {
                    if self.points == PointRule::Earliest {
                        break; // The earliest section at `x` has slack: no rule here.
                    }
                    continue;
                }
                let candidates = self.inst.section_buffers[s]
                    .iter()
                    .filter(|&&j| self.offset[j] == UNPLACED && self.min_offset[j] == x)
                    .count();
                if candidates == 0 {
                    return Step::NotFound;
                }
                if point.is_none_or(|(c, _)| candidates < c) {
                    point = Some((candidates, s));
                }
                if candidates == 1 || self.points == PointRule::Earliest {
                    break;
                }
            }
        }
        // Under `Earliest`, the covering buffer is also the next in canonical order; under `Fewest` it is not.
        let tight_node = point.is_some() && self.points == PointRule::Fewest;
        let mut children: Vec<(u64, usize)> = match point {
            // The buffers covering the point: alive in its section, lowest offset exactly `x`.
            Some((_, s)) => self.inst.section_buffers[s]
                .iter()
                .filter(|&&j| self.offset[j] == UNPLACED && self.min_offset[j] == x)
                .map(|&j| (x, self.rank[j]))
                .collect(),
            None => remaining.iter().map(|&r| (self.min_offset[self.by_rank[r]], r)).collect(),
        };
        children.sort_unstable();
        for &(offset, r) in &children {
            if (offset, r) < (min_offset, min_rank) {
                continue;
            }
            if self.rules.symmetry && self.twin_before[r] && self.offset[self.by_rank[r - 1]] == UNPLACED {
                // Its identical twin ranked just before is unplaced: placing the twin first gives the same packing.
                continue;
            }
            if self.rules.dominance && offset >= min_height {
                // Dominated: the buffer of least height fits entirely below this one. Children are sorted by
                // offset, so every later child is dominated too.
                break;
            }
            let i = self.by_rank[r];
            let (offset_log, floor_log, feasible) = self.place(i, offset);
            self.solution[i] = offset;
            // The child's wells check need only look again at the sections whose floors just changed.
            self.changed.clear();
            self.changed.extend(floor_log.iter().map(|&(s, _)| s));
            self.changed_valid = true;
            let mut step = Step::NotFound;
            if feasible && self.check(range, offset) {
                // A covering placement is not the next buffer in canonical order: it keeps the previous
                // canonical bound (raised to `offset` when it moved up) for the nodes below.
                let (next_offset, next_rank) = if !tight_node {
                    (offset, r)
                } else if offset > min_offset {
                    (offset, 0)
                } else {
                    (min_offset, min_rank)
                };
                step = if self.rules.decomposition {
                    self.decompose(i, &remaining, range, next_offset, next_rank)
                } else {
                    self.dfs(&remaining, range, next_offset, next_rank)
                };
            }
            self.unplace(i, offset_log, floor_log);
            if step != Step::NotFound {
                return step;
            }
        }
        Step::NotFound
    }

    /// The wells rule (see [`Rules::wells`]) over the sections of `range`.
    fn wells_coverable(&mut self, range: (usize, usize)) -> bool {
        let (lo, hi) = range;
        let floor = &self.floor;
        // Nearest section on each side whose floor is strictly higher (a monotonic stack, both ways).
        self.well_stack.clear();
        for s in lo..hi {
            while self.well_stack.last().is_some_and(|&t| floor[t] <= floor[s]) {
                self.well_stack.pop();
            }
            self.well_left[s] = self.well_stack.last().map_or(lo, |&t| t + 1);
            self.well_stack.push(s);
        }
        self.well_stack.clear();
        for s in (lo..hi).rev() {
            while self.well_stack.last().is_some_and(|&t| floor[t] <= floor[s]) {
                self.well_stack.pop();
            }
            self.well_right[s] = self.well_stack.last().map_or(hi, |&t| t);
            self.well_stack.push(s);
        }
        // Changed sections, as prefix counts: `changed_before[t + 1] - changed_before[u]` counts those in `u..=t`.
        let incremental = self.changed_valid;
        if incremental {
            self.changed_before[lo..=hi + 1].iter_mut().for_each(|c| *c = 0);
            for &t in &self.changed {
                if (lo..hi).contains(&t) {
                    self.changed_before[t + 1] += 1;
                }
            }
            for t in lo..=hi {
                self.changed_before[t + 1] += self.changed_before[t];
            }
        }
        let changed_before = &self.changed_before;
        let touched = |u: usize, t: usize| !incremental || changed_before[t.min(hi - 1) + 1] > changed_before[u];
        let inst = self.inst;
        let tight = |s: usize| self.total[s] > 0 && floor[s] + self.total[s] == self.capacity;
        let fits = |j: usize, f: u64| {
            let align = inst.align[j];
            (align == 1 || f % align == 0) && f + inst.size[j] <= self.capacity
        };
        let wall = |t: usize| if t < lo || t >= hi { self.capacity } else { floor[t].min(self.capacity) };
        let coverable = (lo..hi).all(|s| {
            let f = floor[s];
            if !tight(s) {
                return true;
            }
            if !touched(self.well_left[s].saturating_sub(1).max(lo), self.well_right[s]) {
                return true; // Same well, walls and buffers as at the parent node, which passed.
            }
            let (left, right) = (self.well_left[s] as u32, self.well_right[s] as u32);
            // Below the lower wall of its well, section `s` is filled only by buffers whose lifetimes lie inside
            // the well (nothing else can reach there); one of them must be able to start at its floor.
            let top = wall((left as usize).wrapping_sub(1)).min(wall(right as usize));
            let mut inner = 0u64;
            let mut starts_here = false;
            for e in &inst.entries[s] {
                if e.first >= left && e.end <= right && self.offset[e.buffer as usize] == UNPLACED {
                    inner += e.size;
                    starts_here = starts_here || fits(e.buffer as usize, f);
                }
            }
            starts_here && f + inner >= top
        });
        if !coverable {
            return false;
        }
        // Plateau cover: a run of tight sections at one floor with higher floors on both sides must be covered at
        // that floor by buffers with disjoint lifetimes inside it, which together span it exactly.
        let mut s = lo;
        while s < hi {
            let f = floor[s];
            let mut end = s + 1;
            while end < hi && floor[end] == f {
                end += 1;
            }
            let (a, b) = (s, end);
            s = end;
            if self.well_left[a] != a || self.well_right[a] != b || !(a..b).all(tight) {
                continue;
            }
            self.reach[a..=b].iter_mut().for_each(|r| *r = false);
            self.reach[a] = true;
            for t in a..b {
                if !self.reach[t] {
                    continue;
                }
                for &j in &inst.starting[t] {
                    let e = inst.sections_of[j].1;
                    if e <= b && self.offset[j] == UNPLACED && fits(j, f) {
                        self.reach[e] = true;
                    }
                }
            }
            if !self.reach[b] {
                return false;
            }
        }
        true
    }

    /// After placing `i`: when no unplaced buffer crosses some boundaries of `range` any more, solve the pieces
    /// between them independently (each from offset 0); otherwise go on with the same search.
    fn decompose(&mut self, i: usize, ranks: &[usize], range: (usize, usize), offset: u64, rank: usize) -> Step {
        let (lo, hi) = self.inst.sections_of[i];
        let mut cutpoints = vec![range.0];
        for s in lo..hi - 1 {
            self.cuts[s] -= 1;
            if self.cuts[s] == 0 && range.0 <= s && s + 1 < range.1 {
                cutpoints.push(s + 1);
            }
        }
        let step = if cutpoints.len() == 1 {
            self.dfs(ranks, range, offset, rank)
        } else {
            cutpoints.push(range.1);
            let mut step = Step::Found;
            for w in cutpoints.windows(2) {
                let piece = (w[0], w[1]);
                let inside: Vec<usize> = ranks
                    .iter()
                    .copied()
                    .filter(|&r| {
                        let j = self.by_rank[r];
                        let (a, b) = self.inst.sections_of[j];
                        self.offset[j] == UNPLACED && a < piece.1 && piece.0 < b
                    })
                    .collect();
                if inside.is_empty() {
                    continue;
                }
                self.changed_valid = false; // A piece's walls differ from its parent's: check it whole.
                step = self.dfs(&inside, piece, 0, 0);
                if step != Step::Found {
                    break;
                }
            }
            step
        };
        for s in lo..hi - 1 {
            self.cuts[s] += 1;
        }
        step
    }

    /// Put buffer `i` at `offset`; returns the undo logs and whether every buffer alive with it can still end
    /// within the capacity.
    fn place(&mut self, i: usize, offset: u64) -> (UndoLog, UndoLog, bool) {
        let inst = self.inst;
        self.offset[i] = offset;
        let height = offset + inst.size[i];
        let mut feasible = height <= self.capacity;
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        let mut offset_log = Vec::new();
        let mut affected = Vec::new();
        for &j in &inst.overlaps[i] {
            if self.offset[j] != UNPLACED || self.min_offset[j] >= height {
                continue;
            }
            offset_log.push((j, self.min_offset[j]));
            self.min_offset[j] = round_up(height, inst.align[j]);
            if self.rules.inference && self.min_offset[j] + inst.size[j] > self.capacity {
                feasible = false;
            }
            let (lo, hi) = inst.sections_of[j];
            for s in lo..hi {
                if self.stamp[s] != self.generation {
                    self.stamp[s] = self.generation;
                    affected.push(s);
                }
            }
        }
        let mut floor_log = Vec::new();
        let (lo, hi) = inst.sections_of[i];
        for s in lo..hi {
            floor_log.push((s, self.floor[s]));
            self.floor[s] = height;
            self.total[s] -= inst.size[i];
        }
        // A section's floor is at least the lowest offset any of its unplaced buffers can take.
        for s in affected {
            let lowest = inst.section_buffers[s]
                .iter()
                .filter(|&&j| self.offset[j] == UNPLACED)
                .map(|&j| self.min_offset[j])
                .min();
            if let Some(lowest) = lowest {
                if self.floor[s] < lowest {
                    floor_log.push((s, self.floor[s]));
                    self.floor[s] = lowest;
                }
            }
        }
        (offset_log, floor_log, feasible)
    }

    fn unplace(&mut self, i: usize, offset_log: UndoLog, floor_log: UndoLog) {
        let inst = self.inst;
        for &(s, f) in floor_log.iter().rev() {
            self.floor[s] = f;
        }
        let (lo, hi) = inst.sections_of[i];
        for s in lo..hi {
            self.total[s] += inst.size[i];
        }
        for &(j, o) in offset_log.iter().rev() {
            self.min_offset[j] = o;
        }
        self.offset[i] = UNPLACED;
    }
}
