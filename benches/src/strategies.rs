//! Strategy figures: every registered packer on every zoo network and on generated instances (perfect packings
//! of known optimum, DNN-like chains), with arena, bounds, status and solve time, plus the project's targets
//! checked against those figures. The `report` binary writes them to `results/strategies.json` and the README.

use std::time::{Duration, Instant};

use arenaplan_datasets as datasets;
use arenaplan_planner::{lower, pack_checked, BufferProblem, Graph, PackLimits, Packer, PlanRequest, Status};
use arenaplan_strategies::exact::{ExactPacker, Rules};
use arenaplan_strategies::instances::hard_suite;
use arenaplan_strategies::packers;
use serde::{Deserialize, Serialize};

/// Where an instance comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceKind {
    /// A zoo network's problem (default schedule, TFLM's scratch).
    Zoo,
    /// A generated perfect packing: optimum = LOAD, known.
    Perfect,
    /// A generated DNN-like chain.
    DnnLike,
}

/// One allocation problem of the report.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Name: the zoo model, or `perfect_<n>_s<seed>` / `dnn_<ops>_s<seed>`.
    pub name: String,
    /// Origin.
    pub kind: InstanceKind,
    /// The problem.
    pub problem: BufferProblem,
    /// The optimum when known by construction.
    pub known_optimum_bytes: Option<u64>,
}

/// The generated instances: the hard-instance suite of `datasets/instances/`
/// ([`arenaplan_strategies::instances::hard_suite`]: zero-slack perfect packings of 50 to 1,000 buffers and
/// DNN-like chains of 57 to 1,003 buffers, with realistic time values).
pub fn generated_instances() -> Vec<Instance> {
    hard_suite()
        .into_iter()
        .map(|s| Instance {
            kind: if s.known_optimum_bytes.is_some() { InstanceKind::Perfect } else { InstanceKind::DnnLike },
            name: s.name,
            problem: s.problem,
            known_optimum_bytes: s.known_optimum_bytes,
        })
        .collect()
}

/// Every zoo network's problem, then [`generated_instances`].
pub fn instances() -> anyhow::Result<Vec<Instance>> {
    let mut out = Vec::new();
    for name in datasets::network_names() {
        let bytes = datasets::model_bytes(&name)?;
        let graph = Graph::from_bytes(&bytes)?;
        let problem = lower(&graph, &graph.default_schedule(), &PlanRequest::default())?.problem;
        out.push(Instance { name, kind: InstanceKind::Zoo, problem, known_optimum_bytes: None });
    }
    out.extend(generated_instances());
    Ok(out)
}

/// One strategy on one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyRow {
    /// Instance name.
    pub instance: String,
    /// Instance origin.
    pub kind: InstanceKind,
    /// Buffers in the problem.
    pub buffers: usize,
    /// Packer name.
    pub strategy: String,
    /// Arena found (`None` when the packer failed).
    pub arena_bytes: Option<u64>,
    /// LOAD, the lower bound of the problem.
    pub lower_bound_bytes: u64,
    /// The best bound the packer proved (at least LOAD).
    pub proven_bound_bytes: Option<u64>,
    /// The optimum when known by construction.
    pub known_optimum_bytes: Option<u64>,
    /// `(arena - LOAD) / LOAD`, in percent.
    pub gap_percent: Option<f64>,
    /// `optimal`, `feasible`, `heuristic` or `error`.
    pub status: String,
    /// Median wall-clock seconds of the runs (one run when a run takes more than 10 ms).
    pub solve_seconds: f64,
    /// The packer's error, if any.
    pub error: Option<String>,
}

/// Run `packer` on `problem`; fast packers run repeatedly (up to 50 ms in all) and report the median time.
fn measure(packer: &dyn Packer, problem: &BufferProblem, limits: &PackLimits) -> (StrategyResult, f64) {
    let start = Instant::now();
    let first = pack_checked(packer, problem, limits);
    let mut times = vec![start.elapsed()];
    if times[0] < Duration::from_millis(10) {
        let budget = Instant::now() + Duration::from_millis(50);
        while Instant::now() < budget && times.len() < 200 {
            let t = Instant::now();
            let _ = pack_checked(packer, problem, limits);
            times.push(t.elapsed());
        }
    }
    times.sort_unstable();
    (
        first.map(|(packing, arena)| (packing.status, packing.lower_bound_bytes, arena)),
        times[times.len() / 2].as_secs_f64(),
    )
}

type StrategyResult = Result<(Status, u64, u64), arenaplan_planner::PackError>;

/// Every registered packer on every instance of [`instances`], within `limits` each.
pub fn run_strategy_report(limits: &PackLimits) -> anyhow::Result<Vec<StrategyRow>> {
    Ok(run_on(&instances()?, limits))
}

/// Every registered packer on the given instances.
pub fn run_on(instances: &[Instance], limits: &PackLimits) -> Vec<StrategyRow> {
    let mut rows = Vec::new();
    for inst in instances {
        let load = inst.problem.lower_bound();
        for packer in packers() {
            let (result, seconds) = measure(packer.as_ref(), &inst.problem, limits);
            let (status, bound, arena, error) = match result {
                Ok((status, bound, arena)) => (format!("{status:?}").to_lowercase(), Some(bound), Some(arena), None),
                Err(e) => ("error".to_owned(), None, None, Some(e.to_string())),
            };
            rows.push(StrategyRow {
                instance: inst.name.clone(),
                kind: inst.kind,
                buffers: inst.problem.buffers.len(),
                strategy: packer.name(),
                arena_bytes: arena,
                lower_bound_bytes: load,
                proven_bound_bytes: bound,
                known_optimum_bytes: inst.known_optimum_bytes,
                gap_percent: arena.map(|a| gap_percent(a, load)),
                status,
                solve_seconds: seconds,
                error,
            });
        }
    }
    rows
}

fn gap_percent(arena: u64, bound: u64) -> f64 {
    if bound == 0 {
        0.0
    } else {
        (arena as f64 - bound as f64) / bound as f64 * 100.0
    }
}

/// One target of the project, checked against the figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetCheck {
    /// The target, in words.
    pub target: String,
    /// Whether every instance it covers meets it (`None` when no instance covers it).
    pub met: Option<bool>,
    /// The instances that miss it, with their figures (or a short summary).
    pub detail: String,
}

/// The strategy targets, checked against `rows`.
pub fn target_checks(rows: &[StrategyRow]) -> Vec<TargetCheck> {
    let check = |target: &str, covered: Vec<&StrategyRow>, ok: &dyn Fn(&StrategyRow) -> bool| {
        let misses: Vec<String> = covered
            .iter()
            .filter(|r| !ok(r))
            .map(|r| format!("{} {}: {} in {:.3} s", r.instance, r.strategy, r.status, r.solve_seconds))
            .collect();
        TargetCheck {
            target: target.to_owned(),
            met: (!covered.is_empty()).then_some(misses.is_empty()),
            detail: if covered.is_empty() {
                "no instance".to_owned()
            } else if misses.is_empty() {
                format!("{} of {} met", covered.len(), covered.len())
            } else {
                format!("{} of {} missed: {}", misses.len(), covered.len(), misses.join("; "))
            },
        }
    };
    let mut out = vec![
        check(
            "exact proves perfect packings of 150-500 buffers optimal in < 1 s each",
            rows.iter()
                .filter(|r| {
                    r.kind == InstanceKind::Perfect && (150..=500).contains(&r.buffers) && r.strategy == "exact"
                })
                .collect(),
            &|r| r.status == "optimal" && r.solve_seconds < 1.0,
        ),
        check(
            "ilp proves every zoo model optimal in < 1 s",
            rows.iter().filter(|r| r.kind == InstanceKind::Zoo && r.strategy == "ilp").collect(),
            &|r| r.status == "optimal" && r.solve_seconds < 1.0,
        ),
        check(
            "every greedy packer plans a 500-buffer instance in < 1 ms",
            rows.iter().filter(|r| r.buffers >= 500 && r.strategy.starts_with("greedy-")).collect(),
            &|r| r.arena_bytes.is_some() && r.solve_seconds < 1e-3,
        ),
    ];
    // Wherever exact reaches the bound on a zoo model, the best non-exact strategy must reach it too.
    let mut misses = Vec::new();
    let mut covered = 0;
    let zoo: std::collections::BTreeSet<&str> =
        rows.iter().filter(|r| r.kind == InstanceKind::Zoo).map(|r| r.instance.as_str()).collect();
    for model in zoo {
        let of_model: Vec<&StrategyRow> = rows.iter().filter(|r| r.instance == model).collect();
        let Some(exact) = of_model.iter().find(|r| r.strategy == "exact") else { continue };
        if exact.arena_bytes != Some(exact.lower_bound_bytes) {
            continue;
        }
        covered += 1;
        let best = of_model.iter().filter(|r| r.strategy != "exact").filter_map(|r| r.arena_bytes).min();
        if best != exact.arena_bytes {
            misses.push(format!("{model}: best non-exact {best:?} vs bound {}", exact.lower_bound_bytes));
        }
    }
    out.push(TargetCheck {
        target: "on zoo models the best non-exact strategy reaches the bound wherever exact shows it reachable"
            .to_owned(),
        met: (covered > 0).then_some(misses.is_empty()),
        detail: if covered == 0 {
            "no zoo model where exact reaches the bound".to_owned()
        } else if misses.is_empty() {
            format!("{covered} of {covered} met")
        } else {
            format!("{} of {covered} missed: {}", misses.len(), misses.join("; "))
        },
    });
    out
}

/// The README's strategy section: gap to LOAD per instance and strategy, solve times, and the target checks.
pub fn render_markdown(rows: &[StrategyRow]) -> String {
    let mut strategies: Vec<&str> = Vec::new();
    let mut instances: Vec<(&str, usize, u64)> = Vec::new();
    for r in rows {
        if !strategies.contains(&r.strategy.as_str()) {
            strategies.push(&r.strategy);
        }
        if !instances.iter().any(|i| i.0 == r.instance) {
            instances.push((&r.instance, r.buffers, r.lower_bound_bytes));
        }
    }
    let cell = |instance: &str, strategy: &str, f: &dyn Fn(&StrategyRow) -> String| {
        rows.iter().find(|r| r.instance == instance && r.strategy == strategy).map(f).unwrap_or_else(|| "-".into())
    };
    let header = |first: &str| {
        let mut h = format!("| {first} | buffers | LOAD B |");
        let mut rule = String::from("|---|---:|---:|");
        for s in &strategies {
            h.push_str(&format!(" {s} |"));
            rule.push_str("---:|");
        }
        format!("{h}\n{rule}\n")
    };
    let mut out = String::from(
        "Gap of the arena above LOAD (the lower bound), in percent; `*` marks a proven optimum, `!` an error.\n\n",
    );
    out.push_str(&header("instance"));
    for &(name, buffers, load) in &instances {
        out.push_str(&format!("| {name} | {buffers} | {load} |"));
        for s in &strategies {
            let text = cell(name, s, &|r| match (r.gap_percent, r.status.as_str()) {
                (Some(g), "optimal") => format!("{g:.1}*"),
                (Some(g), _) => format!("{g:.1}"),
                _ => "!".to_owned(),
            });
            out.push_str(&format!(" {text} |"));
        }
        out.push('\n');
    }
    out.push_str("\nSolve time (median of repeated runs for fast packers), milliseconds.\n\n");
    out.push_str(&header("instance"));
    for &(name, buffers, load) in &instances {
        out.push_str(&format!("| {name} | {buffers} | {load} |"));
        for s in &strategies {
            out.push_str(&format!(" {} |", cell(name, s, &|r| format!("{:.3}", r.solve_seconds * 1e3))));
        }
        out.push('\n');
    }
    out.push_str("\nTargets:\n\n");
    for c in target_checks(rows) {
        let mark = match c.met {
            Some(true) => "met",
            Some(false) => "NOT MET",
            None => "not measured",
        };
        out.push_str(&format!("- {} — **{mark}** ({})\n", c.target, c.detail));
    }
    out
}

/// One run of `exact` on a hard instance: minimising, or deciding a capacity, with some rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExactRun {
    /// Instance name.
    pub instance: String,
    /// Buffers in the problem.
    pub buffers: usize,
    /// LOAD.
    pub lower_bound_bytes: u64,
    /// The capacity asked for (`None`: minimising).
    pub capacity: Option<u64>,
    /// The rules that were on ([`Rules::describe`]).
    pub rules: String,
    /// The rule turned off for this run, in the ablation (`None`: the default rules; `+sweep` marks the sweep
    /// turned on).
    pub ablated: Option<String>,
    /// Arena found (`None` on an error).
    pub arena_bytes: Option<u64>,
    /// The bound proven.
    pub proven_bound_bytes: Option<u64>,
    /// `optimal`, `feasible`, `fits` (a capacity answered yes), `infeasible` (proven no), `time_limit`, `error`.
    pub outcome: String,
    /// Search nodes.
    pub nodes: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Peak resident memory of the process during the run, KiB (Linux: `VmHWM` of `/proc/self/status` after
    /// the peak was reset by writing 5 to `/proc/self/clear_refs`; `None` where that is not possible). It
    /// includes the report's own data, so it is an upper bound on what the run needed.
    #[serde(default)]
    pub peak_rss_kib: Option<u64>,
}

/// Reset the process's peak resident memory to its current size; false when the system does not allow it.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The process's peak resident memory since the last reset, KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Run `exact` with `rules` on `inst` (at `capacity` when set).
fn exact_run(
    inst: &Instance,
    rules: Rules,
    ablated: Option<String>,
    capacity: Option<u64>,
    limits: &PackLimits,
) -> ExactRun {
    let packer = ExactPacker::default().with_rules(rules);
    let mut problem = inst.problem.clone();
    problem.capacity = capacity;
    let reset = reset_peak_rss();
    let start = Instant::now();
    let result = pack_checked(&packer, &problem, limits);
    let peak = if reset { peak_rss_kib() } else { None };
    let seconds = start.elapsed().as_secs_f64();
    let nodes = packer.last_stats().map_or(0, |s| s.nodes);
    let (arena, bound, outcome) = match result {
        Ok((p, arena)) => {
            let outcome = match (capacity, p.status) {
                (Some(_), _) => "fits",
                (None, Status::Optimal) => "optimal",
                (None, _) => "feasible",
            };
            (Some(arena), Some(p.lower_bound_bytes), outcome.to_owned())
        }
        Err(arenaplan_planner::PackError::Infeasible { lower_bound_bytes, .. }) => {
            (None, Some(lower_bound_bytes), "infeasible".to_owned())
        }
        Err(arenaplan_planner::PackError::TimeLimit { .. }) => (None, None, "time_limit".to_owned()),
        Err(_) => (None, None, "error".to_owned()),
    };
    ExactRun {
        instance: inst.name.clone(),
        buffers: inst.problem.buffers.len(),
        lower_bound_bytes: inst.problem.lower_bound(),
        capacity,
        rules: rules.describe(),
        ablated,
        arena_bytes: arena,
        proven_bound_bytes: bound,
        outcome,
        nodes,
        seconds,
        peak_rss_kib: peak,
    }
}

/// The figures of `exact` on the hard-instance suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HardSuiteReport {
    /// Minimising, default rules, every suite instance.
    pub minimise: Vec<ExactRun>,
    /// Deciding the capacity of each perfect packing (its optimum), default rules.
    pub decide: Vec<ExactRun>,
    /// The ablation: each zero-slack instance of 150-500 buffers minimised with the default rules, then with each
    /// rule off in turn (and the time sweep on).
    pub ablation: Vec<ExactRun>,
    /// The time limit of each ablation run, seconds.
    pub ablation_limit_seconds: f64,
}

/// Run `exact` over the suite ([`generated_instances`]): minimising within `limits`, deciding each perfect
/// packing's capacity within `limits`, and the ablation within `ablation_limit` per run.
pub fn run_hard_suite(limits: &PackLimits, ablation_limit: Duration) -> HardSuiteReport {
    let suite = generated_instances();
    let minimise = suite.iter().map(|i| exact_run(i, Rules::DEFAULT, None, None, limits)).collect();
    let decide = suite
        .iter()
        .filter_map(|i| i.known_optimum_bytes.map(|c| exact_run(i, Rules::DEFAULT, None, Some(c), limits)))
        .collect();
    let short = PackLimits { time_limit: ablation_limit, seed: limits.seed };
    let mut ablation = Vec::new();
    for inst in
        suite.iter().filter(|i| i.kind == InstanceKind::Perfect && (150..=500).contains(&i.problem.buffers.len()))
    {
        ablation.push(exact_run(inst, Rules::DEFAULT, None, None, &short));
        // The guillotine search alone solves these instances before any other rule matters: the other rules are
        // ablated from the default without it.
        let guillotine = Rules::NAMES.iter().position(|&n| n == "guillotine");
        let base = guillotine.map_or(Rules::DEFAULT, |g| Rules::DEFAULT.set(g, false));
        if guillotine.is_some() {
            ablation.push(exact_run(inst, base, Some("guillotine".to_owned()), None, &short));
        }
        for (k, &name) in Rules::NAMES.iter().enumerate() {
            if name == "hole_sums" || Some(k) == guillotine {
                continue; // hole_sums only matters with the sweep on.
            }
            let (rules, label) = if base.get(k) {
                (base.set(k, false), name.to_owned())
            } else {
                (base.set(k, true), format!("+{name}"))
            };
            ablation.push(exact_run(inst, rules, Some(label), None, &short));
        }
    }
    HardSuiteReport { minimise, decide, ablation, ablation_limit_seconds: ablation_limit.as_secs_f64() }
}

/// The README's hard-instance section: `exact` per instance (nodes, time, outcome), the capacity decisions, and
/// the ablation table (nodes and time per rule turned off).
pub fn render_hard_suite_markdown(report: &HardSuiteReport) -> String {
    let mut out = String::from(
        "`exact` (default rules) on the suite of `datasets/instances/` (realistic time values; one shared core, so \
         times are noisy: node counts are the stable figure).\n\n\
         Peak RSS: the process's peak resident memory during the minimising run (Linux `VmHWM`, reset before each \
         run through `/proc/self/clear_refs`), MB; it includes the report's own data.\n\n\
         | instance | buffers | LOAD B | arena B | outcome | nodes | time ms | peak RSS MB | decide at optimum | nodes \
         | time ms |\n\
         |---|---:|---:|---:|---|---:|---:|---:|---|---:|---:|\n",
    );
    for r in &report.minimise {
        let d = report.decide.iter().find(|d| d.instance == r.instance);
        let (d_outcome, d_nodes, d_ms) = match d {
            Some(d) => (d.outcome.clone(), d.nodes.to_string(), format!("{:.1}", d.seconds * 1e3)),
            None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.1} | {} | {d_outcome} | {d_nodes} | {d_ms} |\n",
            r.instance,
            r.buffers,
            r.lower_bound_bytes,
            r.arena_bytes.map_or("-".to_owned(), |a| a.to_string()),
            r.outcome,
            r.nodes,
            r.seconds * 1e3,
            r.peak_rss_kib.map_or("-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0))
        ));
    }
    let proven: Vec<&ExactRun> = report
        .minimise
        .iter()
        .filter(|r| r.instance.starts_with("perfect_") && (150..=500).contains(&r.buffers))
        .collect();
    let met = proven.iter().filter(|r| r.outcome == "optimal" && r.seconds < 1.0).count();
    let misses: Vec<String> = proven
        .iter()
        .filter(|r| !(r.outcome == "optimal" && r.seconds < 1.0))
        .map(|r| format!("{}: {} in {:.2} s", r.instance, r.outcome, r.seconds))
        .collect();
    out.push_str(&format!(
        "\nTarget: exact proves every zero-slack instance of 150-500 buffers optimal in < 1 s — {met} of {} met{}.\n",
        proven.len(),
        if misses.is_empty() { String::new() } else { format!(" ({})", misses.join("; ")) }
    ));
    let fits = report.decide.iter().filter(|r| r.outcome == "fits" && r.seconds < 1.0).count();
    out.push_str(&format!(
        "Target: at its capacity a feasible instance is packed within it in < 1 s — {fits} of {} met.\n",
        report.decide.len()
    ));
    // Ablation: one row per instance, one column per variant; cells `nodes / ms`, `†` when not proven.
    let mut variants: Vec<Option<String>> = Vec::new();
    for r in &report.ablation {
        if !variants.contains(&r.ablated) {
            variants.push(r.ablated.clone());
        }
    }
    out.push_str(&format!(
        "\nAblation ({:.0} s limit per run): the default rules, the guillotine search off, then each other rule \
         off in turn (`+rule` = turned on) *with the guillotine search off too*, since it alone solves these \
         instances before any other rule matters: nodes / ms, `†` = not proven optimal within the limit.\n\n\
         | instance |",
        report.ablation_limit_seconds
    ));
    for v in &variants {
        out.push_str(&format!(
            " {} |",
            v.as_deref().map_or("default".to_owned(), |n| format!("no {n}").replace("no +", "+"))
        ));
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(variants.len()));
    out.push('\n');
    let mut names: Vec<&str> = Vec::new();
    for r in &report.ablation {
        if !names.contains(&r.instance.as_str()) {
            names.push(&r.instance);
        }
    }
    for name in names {
        out.push_str(&format!("| {name} |"));
        for v in &variants {
            let cell =
                report.ablation.iter().find(|r| r.instance == name && &r.ablated == v).map_or("-".to_owned(), |r| {
                    format!("{} / {:.0}{}", r.nodes, r.seconds * 1e3, if r.outcome == "optimal" { "" } else { " †" })
                });
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        instance: &str,
        kind: InstanceKind,
        buffers: usize,
        strategy: &str,
        arena: u64,
        status: &str,
        s: f64,
    ) -> StrategyRow {
        StrategyRow {
            instance: instance.into(),
            kind,
            buffers,
            strategy: strategy.into(),
            arena_bytes: Some(arena),
            lower_bound_bytes: 100,
            proven_bound_bytes: Some(100),
            known_optimum_bytes: None,
            gap_percent: Some(gap_percent(arena, 100)),
            status: status.into(),
            solve_seconds: s,
            error: None,
        }
    }

    #[test]
    fn targets_are_judged_from_the_rows() {
        let rows = vec![
            row("perfect_150_s1", InstanceKind::Perfect, 150, "exact", 100, "optimal", 0.5),
            row("perfect_450_s1", InstanceKind::Perfect, 450, "exact", 120, "feasible", 10.0),
            row("m", InstanceKind::Zoo, 10, "ilp", 100, "optimal", 0.01),
            row("m", InstanceKind::Zoo, 10, "exact", 100, "optimal", 0.01),
            row("m", InstanceKind::Zoo, 10, "greedy-by-size", 110, "heuristic", 0.0001),
            row("perfect_500_s3", InstanceKind::Perfect, 500, "greedy-by-size", 140, "heuristic", 0.002),
        ];
        let checks = target_checks(&rows);
        assert_eq!(
            checks.iter().map(|c| c.met).collect::<Vec<_>>(),
            vec![Some(false), Some(true), Some(false), Some(true)]
        );
        assert!(checks[0].detail.contains("perfect_450_s1"));
        let text = render_markdown(&rows);
        assert!(text.contains("| m | 10 | 100 | 0.0* | 0.0* | 10.0 |"), "{text}");
        assert!(text.contains("NOT MET"));
    }

    fn run(instance: &str, ablated: Option<&str>, outcome: &str, nodes: u64, seconds: f64) -> ExactRun {
        ExactRun {
            instance: instance.into(),
            buffers: 300,
            lower_bound_bytes: 1 << 20,
            capacity: None,
            rules: "x".into(),
            ablated: ablated.map(str::to_owned),
            arena_bytes: Some(1 << 20),
            proven_bound_bytes: Some(1 << 20),
            outcome: outcome.into(),
            nodes,
            seconds,
            peak_rss_kib: Some(4096),
        }
    }

    #[test]
    fn the_hard_suite_section_shows_targets_and_the_ablation() {
        let report = HardSuiteReport {
            minimise: vec![
                run("perfect_300_s1", None, "optimal", 3323, 0.05),
                run("perfect_450_s2", None, "feasible", 9, 2.0),
            ],
            decide: vec![ExactRun { capacity: Some(1 << 20), ..run("perfect_300_s1", None, "fits", 100, 0.01) }],
            ablation: vec![
                run("perfect_300_s1", None, "optimal", 3323, 0.05),
                run("perfect_300_s1", Some("wells"), "feasible", 99999, 1.0),
                run("perfect_300_s1", Some("+sweep"), "optimal", 4000, 0.06),
            ],
            ablation_limit_seconds: 1.0,
        };
        let text = render_hard_suite_markdown(&report);
        assert!(
            text.contains(
                "| perfect_300_s1 | 300 | 1048576 | 1048576 | optimal | 3323 | 50.0 | 4.0 | fits | 100 | 10.0 |"
            ),
            "{text}"
        );
        assert!(text.contains("1 of 2 met (perfect_450_s2: feasible in 2.00 s)"), "{text}");
        assert!(text.contains("| default | no wells | +sweep |"), "{text}");
        assert!(text.contains("| perfect_300_s1 | 3323 / 50 | 99999 / 1000 † | 4000 / 60 |"), "{text}");
    }
}
