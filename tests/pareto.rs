//! The latency-RAM tradeoff (issue 9): the front is made of real plans, each checked, each running bit-exact
//! with TFLM's goldens; the objective picks the point its budget asks for; the CLI prints, draws and refuses
//! an impossible budget.

mod common;

use std::process::Command;

use arenaplan::datasets;
use arenaplan::planner::cost::CostModel;
use arenaplan::planner::{check_plan, Graph, Objective, Plan, PlanRequest};
use arenaplan::strategies::pareto::{Pareto, ParetoPoint};

fn cost() -> CostModel {
    let text = std::fs::read_to_string(datasets::cost_table_path()).unwrap();
    CostModel::from_json(&text, "cortex-m4").unwrap()
}

/// Every golden sample of `name` run in `plan`'s program equals TFLM's output.
fn bit_exact(name: &str, bytes: &[u8], graph: &Graph<'_>, plan: &Plan) {
    common::check_goldens(name, bytes, graph, plan).unwrap_or_else(|e| panic!("{} plan: {e}", plan.meta.strategy));
}

fn front(name: &str) -> (Vec<u8>, Vec<ParetoPoint>) {
    let bytes = datasets::model_bytes(name).unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    let front = Pareto::new(cost()).front(&graph, &PlanRequest::default()).unwrap();
    (bytes, front)
}

#[test]
fn every_point_of_every_network_front_is_checked_non_dominated_and_bit_exact() {
    for name in datasets::network_names() {
        let (bytes, front) = front(&name);
        let graph = Graph::from_bytes(&bytes).unwrap();
        assert!(!front.is_empty(), "{name}");
        for pair in front.windows(2) {
            assert!(pair[0].arena_bytes < pair[1].arena_bytes, "{name}: sorted by arena");
            assert!(pair[0].cycles.cycles > pair[1].cycles.cycles, "{name}: a larger arena must buy fewer cycles");
        }
        for point in &front {
            check_plan(&graph, &point.plan).unwrap_or_else(|e| panic!("{name} {}: {e}", point.label()));
            assert_eq!(point.arena_bytes, point.plan.arena_bytes);
            bit_exact(&name, &bytes, &graph, &point.plan);
        }
    }
}

#[test]
fn the_mobilenet_fronts_have_at_least_three_points() {
    for name in datasets::network_names().into_iter().filter(|n| n.starts_with("mobilenet")) {
        let (_, front) = front(&name);
        assert!(front.len() >= 3, "{name}: {} points", front.len());
    }
}

#[test]
fn budgets_pick_the_best_point_within_them_and_refuse_the_impossible() {
    let (_, front) = front("mobilenet_v2_030_80_1000");
    let smallest = front.iter().map(|p| p.arena_bytes).min().unwrap();
    let fastest = front.iter().map(|p| p.cycles.cycles).min().unwrap();
    assert_eq!(Pareto::pick(&front, &Objective::MinRam).unwrap().arena_bytes, smallest);
    let unlimited = Objective::MinLatency { ram_budget_bytes: u64::MAX };
    assert_eq!(Pareto::pick(&front, &unlimited).unwrap().cycles.cycles, fastest);
    for point in &front {
        let picked = Pareto::pick(&front, &Objective::MinLatency { ram_budget_bytes: point.arena_bytes }).unwrap();
        assert!(picked.arena_bytes <= point.arena_bytes && picked.cycles.cycles <= point.cycles.cycles);
        let picked =
            Pareto::pick(&front, &Objective::MinRamUnderLatency { latency_budget_cycles: point.cycles.cycles })
                .unwrap();
        assert!(picked.cycles.cycles <= point.cycles.cycles && picked.arena_bytes <= point.arena_bytes);
    }
    assert!(Pareto::pick(&front, &Objective::MinLatency { ram_budget_bytes: smallest - 1 }).is_err());
    assert!(Pareto::pick(&front, &Objective::MinRamUnderLatency { latency_budget_cycles: fastest - 1 }).is_err());
}

fn arenaplan(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_arenaplan")).args(args).output().expect("the binary runs")
}

#[test]
fn the_command_prints_draws_and_exports_the_chosen_point() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("front.svg");
    let out = arenaplan(&["pareto", "mobilenet_v1_025_96", "--svg", svg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("points on the latency-RAM front"));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<circle"));

    let refused = arenaplan(&["pareto", "mobilenet_v1_025_96", "--ram-budget", "1000"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no plan meets the budget"));

    // The chosen point (the smallest arena: fused segments, the input streamed) exports with its choices in its
    // request, and the document checks.
    let json = dir.path().join("plan.json");
    let exported =
        arenaplan(&["export", "mobilenet_v1_025_96", "-s", "pareto", "--format", "json", "-o", json.to_str().unwrap()]);
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let document = std::fs::read_to_string(&json).unwrap();
    assert!(document.contains("\"segments\"") && document.contains("\"stream_input\": true"), "{document}");
    let checked = arenaplan(&["check-plan", "mobilenet_v1_025_96", json.to_str().unwrap()]);
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));

    // TFLM cannot follow an overlapping plan: the export refuses it, writes nothing, and offers the best plan
    // TFLM can follow.
    let tflm = dir.path().join("model.tflite");
    let refused =
        arenaplan(&["export", "mobilenet_v1_025_96", "-s", "pareto", "--format", "tflm", "-o", tflm.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("The best plan TFLM can follow is") && message.contains("--strategy best"), "{message}");
    assert!(!tflm.exists());
}
