//! `greedy-by-size` reproduces TFLM's GreedyMemoryPlanner: on every zoo model its arena equals the head bytes
//! TFLM itself reported (read from `datasets/reference/tflm.json`, produced by TFLM's Python interpreter).

use arenaplan_datasets as datasets;
use arenaplan_planner::{lower, validate, Graph, PlanRequest};
use arenaplan_strategies::strategy_by_name;

#[test]
fn greedy_by_size_equals_tflm_head_bytes_on_every_zoo_model() {
    let reference = datasets::tflm_reference().expect("datasets/reference/tflm.json is readable");
    assert!(!reference.models.is_empty(), "the reference file lists no model");
    let greedy = strategy_by_name("greedy-by-size").expect("registered");
    let request = PlanRequest::default();
    let mut mismatches = Vec::new();
    for (name, figures) in &reference.models {
        let bytes = datasets::model_bytes(name).expect("every referenced model is in the zoo");
        let graph = Graph::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let plan = greedy.plan(&graph, &request).unwrap_or_else(|e| panic!("{name}: {e}"));
        let problem = lower(&graph, &graph.default_schedule(), &request).unwrap().problem;
        validate(&problem, &plan).unwrap_or_else(|e| panic!("{name}: {e}"));
        println!(
            "{name:<32} arenaplan {:>8} TFLM head {:>8} lower bound {:>8}",
            plan.arena_bytes, figures.head_bytes, plan.meta.lower_bound_bytes
        );
        if plan.arena_bytes != figures.head_bytes {
            mismatches.push(format!("{name}: arenaplan {} vs TFLM {}", plan.arena_bytes, figures.head_bytes));
        }
    }
    assert!(mismatches.is_empty(), "greedy-by-size differs from TFLM on: {mismatches:#?}");
}
