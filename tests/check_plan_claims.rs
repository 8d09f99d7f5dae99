//! `check-plan` and `export --from-json` recompute every claim a plan document makes (issue 11, item 4): a
//! forged lower bound, status, capacity, kernel list, estimated cycles or model description is refused with
//! exit 2, naming the claim, and nothing is exported; an unregistered strategy name is printed as unknown. The
//! library half: one `check_plan` serves the program compiler and the exports alike.

use std::path::Path;
use std::process::{Command, Output};

use arenaplan::planner::check::{check_claims, check_plan, CheckError, ClaimVerifier, KnownStrategies};
use arenaplan::planner::export::json::{from_json, PlanDocument};
use arenaplan::planner::program::{compile, CompileError};
use arenaplan::planner::{BufferProblem, Graph, KernelVariant, PlanRequest, Status};

/// TFLM's greedy needs 73,728 B on this model where 55,296 B is possible: a plan that is not optimal.
const NON_OPTIMAL_GREEDY: &str = "mobilenet_v1_025_96";

fn arenaplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arenaplan")).args(args).output().expect("the binary runs")
}

/// Export `strategy`'s JSON plan of `model` into `dir` and read it back.
fn exported(dir: &Path, model: &str, strategy: &str) -> PlanDocument {
    let path = dir.join(format!("{model}.{strategy}.json"));
    let out = arenaplan(&["export", model, "-s", strategy, "--format", "json", "-o", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    from_json(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Write a (forged) document and run `check-plan` and `export --from-json --format c` on it.
fn check(dir: &Path, model: &str, doc: &PlanDocument) -> (Output, Output, bool) {
    let path = dir.join("forged.json");
    std::fs::write(&path, serde_json::to_string_pretty(doc).unwrap()).unwrap();
    let checked = arenaplan(&["check-plan", model, path.to_str().unwrap()]);
    let header = dir.join("forged.h");
    let _ = std::fs::remove_file(&header);
    let exported = arenaplan(&[
        "export",
        model,
        "--from-json",
        path.to_str().unwrap(),
        "--format",
        "c",
        "-o",
        header.to_str().unwrap(),
    ]);
    let written = header.exists();
    (checked, exported, written)
}

/// Both commands refuse the document with exit 2, name `claim`, and write nothing.
fn assert_refused(dir: &Path, model: &str, doc: &PlanDocument, claim: &str) {
    let (checked, exported, written) = check(dir, model, doc);
    for (what, out) in [("check-plan", &checked), ("export --from-json", &exported)] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what} accepted a forged {claim}: {stderr}");
        assert!(stderr.contains(claim), "{what} does not name `{claim}`: {stderr}");
    }
    assert!(!written, "a refused export wrote its header");
}

#[test]
fn a_forged_lower_bound_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = exported(dir.path(), NON_OPTIMAL_GREEDY, "greedy-by-size");
    doc.lower_bound_bytes = 1;
    assert_refused(dir.path(), NON_OPTIMAL_GREEDY, &doc, "lower_bound_bytes");
    // Above the peak of live bytes, a bound needs a proof; the exact search finds a packing below it instead.
    doc.lower_bound_bytes = doc.arena_bytes;
    assert_refused(dir.path(), NON_OPTIMAL_GREEDY, &doc, "lower_bound_bytes");
    // Above the arena, no bound can be.
    doc.lower_bound_bytes = doc.arena_bytes + 16;
    assert_refused(dir.path(), NON_OPTIMAL_GREEDY, &doc, "lower_bound_bytes");
}

#[test]
fn optimal_on_a_non_optimal_greedy_plan_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = exported(dir.path(), NON_OPTIMAL_GREEDY, "greedy-by-size");
    assert_eq!(doc.status, Status::Heuristic);
    assert!(doc.arena_bytes > doc.lower_bound_bytes, "the greedy plan is not optimal here");
    doc.status = Status::Optimal;
    assert_refused(dir.path(), NON_OPTIMAL_GREEDY, &doc, "status");
}

#[test]
fn a_plan_at_its_lower_bound_must_say_optimal() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = exported(dir.path(), NON_OPTIMAL_GREEDY, "exact");
    assert_eq!((doc.status, doc.arena_bytes), (Status::Optimal, doc.lower_bound_bytes));
    let (checked, _, written) = check(dir.path(), NON_OPTIMAL_GREEDY, &doc);
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    assert!(written, "an honest plan exports");
    let stdout = String::from_utf8_lossy(&checked.stdout);
    assert!(stdout.contains("`exact`") && stdout.contains("optimal"), "{stdout}");
    doc.status = Status::Heuristic;
    assert_refused(dir.path(), NON_OPTIMAL_GREEDY, &doc, "status");
}

#[test]
fn a_short_or_altered_kernel_list_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = "ds_cnn_49x10";
    let honest = exported(dir.path(), model, "greedy-by-size");
    let mut doc = honest.clone();
    doc.kernels.pop();
    assert_refused(dir.path(), model, &doc, "kernel variants");
    let mut doc = honest.clone();
    doc.kernels[0] = KernelVariant::Optimized;
    assert_refused(dir.path(), model, &doc, "kernel variant at step 0");
}

#[test]
fn forged_capacity_cycles_and_model_description_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = "ds_cnn_49x10";
    let honest = exported(dir.path(), model, "greedy-by-size");
    let mut doc = honest.clone();
    doc.capacity_bytes = Some(doc.arena_bytes);
    assert_refused(dir.path(), model, &doc, "capacity_bytes");
    let mut doc = honest.clone();
    doc.estimated_cycles = Some(1);
    assert_refused(dir.path(), model, &doc, "estimated_cycles");
    let mut doc = honest.clone();
    doc.model.operators += 1;
    assert_refused(dir.path(), model, &doc, "model.operators");
}

#[test]
fn check_plan_prints_recomputed_figures_and_marks_an_unknown_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let model = "ds_cnn_49x10";
    let mut doc = exported(dir.path(), model, "greedy-by-size");
    let (checked, _, _) = check(dir.path(), model, &doc);
    let stdout = String::from_utf8_lossy(&checked.stdout).into_owned();
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    assert!(stdout.contains(&format!("arena {} B", doc.arena_bytes)), "{stdout}");
    assert!(stdout.contains(&format!("lower bound {} B", doc.lower_bound_bytes)), "{stdout}");
    assert!(stdout.contains(&format!("{} reference", doc.kernels.len())), "{stdout}");
    assert!(!stdout.contains("unknown"), "{stdout}");
    doc.strategy = "my-own-packer".to_owned();
    let (checked, exported, written) = check(dir.path(), model, &doc);
    assert!(checked.status.success() && exported.status.success() && written);
    let stdout = String::from_utf8_lossy(&checked.stdout);
    assert!(stdout.contains("`my-own-packer` (unknown: not a registered strategy)"), "{stdout}");
    assert!(String::from_utf8_lossy(&exported.stderr).contains("unknown"));
}

/// A verifier that "proves" whatever it is asked: check_claims must then accept a bound above the load and
/// report it as re-proven; with no prover the same claim is refused.
struct ProvesAll;

impl ClaimVerifier for ProvesAll {
    fn is_registered(&self, _: &str) -> bool {
        true
    }
    fn proves_no_fit(&self, _: &BufferProblem, _: u64, _: &PlanRequest) -> bool {
        true
    }
}

fn greedy_plan(graph: &Graph<'_>) -> arenaplan::planner::Plan {
    let strategy = arenaplan::strategies::strategy_by_name("greedy-by-size").unwrap();
    strategy.plan(graph, &PlanRequest::default()).unwrap()
}

#[test]
fn bounds_above_the_load_need_a_proof() {
    let bytes = arenaplan::datasets::model_bytes(NON_OPTIMAL_GREEDY).unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    let mut plan = greedy_plan(&graph);
    let checked = check_plan(&graph, &plan).unwrap();
    assert_eq!(checked.load_bytes, plan.meta.lower_bound_bytes);
    plan.meta.lower_bound_bytes = checked.load_bytes + 16;
    let err = check_claims(&checked, &plan, &KnownStrategies::default()).unwrap_err();
    assert!(matches!(err, CheckError::Claim { claim: "lower_bound_bytes", .. }), "{err}");
    let claims = check_claims(&checked, &plan, &ProvesAll).unwrap();
    assert!(claims.reproven && claims.status == Status::Heuristic);
}

#[test]
fn the_compiler_and_the_exports_share_check_plan() {
    let bytes = arenaplan::datasets::model_bytes("ds_cnn_49x10").unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    let mut plan = greedy_plan(&graph);
    assert!(compile(&graph, &plan).is_ok());
    plan.kernels.truncate(plan.kernels.len() - 1);
    let expected = check_plan(&graph, &plan).unwrap_err();
    assert!(matches!(expected, CheckError::KernelCount { .. }), "{expected}");
    match compile(&graph, &plan) {
        Err(CompileError::Lowering(message)) => assert_eq!(message, expected.to_string()),
        other => panic!("compile did not refuse the plan as check_plan does: {other:?}"),
    }
    let err = arenaplan::planner::export::c_header::to_c_header(&graph, &plan, "m").unwrap_err();
    assert_eq!(err.to_string(), expected.to_string());
}
