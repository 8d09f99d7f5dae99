//! The `overlap` strategy end to end: every zoo model planned with outputs written over inputs (where the
//! kernels declare it safe) runs bit-exact against TFLM's goldens with both kernel sets; the optimized
//! convolutions get no allowance; the checker refuses an output one byte past its allowance; the TFLM export
//! refuses a plan that uses an overlap.

mod common;
use common::check_goldens;

use arenaplan::datasets;
use arenaplan::planner::export::{tflm, ExportError};
use arenaplan::planner::plan::arena_bytes_of;
use arenaplan::planner::tflite::OpKind;
use arenaplan::planner::{
    check_plan, BufferOrigin, CheckError, Graph, KernelVariant, OpId, Plan, PlanRequest, TensorId,
};
use arenaplan::planner::{lower, ValidationError};
use arenaplan::strategies::strategy_by_name;

fn overlap_plan(graph: &Graph<'_>, request: &PlanRequest) -> Plan {
    strategy_by_name("overlap").expect("`overlap` is registered").plan(graph, request).expect("overlap plans")
}

/// The zoo's networks (the `op_*` files are single operators).
fn networks() -> Vec<String> {
    datasets::model_names().into_iter().filter(|m| !m.starts_with("op_")).collect()
}

#[test]
fn every_zoo_model_planned_with_overlaps_matches_tflm_with_both_kernel_sets() {
    let mut failures = Vec::new();
    let mut overlapping = 0;
    for kernel_set in [KernelVariant::Reference, KernelVariant::Optimized] {
        for name in datasets::model_names() {
            let bytes = datasets::model_bytes(&name).unwrap();
            let graph = Graph::from_bytes(&bytes).unwrap();
            let request = PlanRequest::default().with_kernels(kernel_set);
            let plan = overlap_plan(&graph, &request);
            let checked = check_plan(&graph, &plan).expect("the overlap plan checks");
            overlapping += usize::from(checked.uses_overlaps);
            if let Err(e) = check_goldens(&name, &bytes, &graph, &plan) {
                failures.push(format!("{} kernels: {e}", kernel_set.name()));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(overlapping > 0, "no zoo plan used an overlap: the test would prove nothing");
}

#[test]
fn with_the_reference_kernels_every_network_with_convolutions_goes_below_todays_lower_bound() {
    for name in networks() {
        let bytes = datasets::model_bytes(&name).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        let has_conv = (0..graph.op_count())
            .any(|i| matches!(graph.op(OpId(i as u32)).kind, OpKind::Conv2d(_) | OpKind::DepthwiseConv2d(_)));
        if !has_conv {
            continue;
        }
        let request = PlanRequest::default();
        let today = lower(&graph, &graph.default_schedule(), &request).unwrap().problem.lower_bound();
        let plan = overlap_plan(&graph, &request);
        assert!(
            plan.arena_bytes < today,
            "{name}: overlap arena {} B, today's lower bound {today} B",
            plan.arena_bytes
        );
    }
}

#[test]
fn the_optimized_convolutions_get_no_overlap_allowance() {
    for name in networks() {
        let bytes = datasets::model_bytes(&name).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        let request = PlanRequest::default().with_kernels(KernelVariant::Optimized);
        let lowering = lower(&graph, &graph.default_schedule(), &request).unwrap();
        for a in &lowering.overlap_allowances {
            let BufferOrigin::Tensor(t) = lowering.problem.buffers[a.output.0 as usize].origin else { continue };
            let producer = graph.producer(TensorId(t)).expect("an output has a producer");
            let kind = graph.op(producer).kind;
            assert!(
                !matches!(kind, OpKind::Conv2d(_) | OpKind::DepthwiseConv2d(_) | OpKind::FullyConnected(_)),
                "{name}: an optimized {} was allowed an overlap",
                kind.name()
            );
        }
    }
}

#[test]
fn the_checker_refuses_an_output_one_byte_past_its_allowance_and_tflm_refuses_overlaps() {
    let name = "mobilenet_v2_030_80_1000";
    let bytes = datasets::model_bytes(name).unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    // Alignment 1, so the strategy ties outputs at exactly their declared lead.
    let request = PlanRequest { alignment_bytes: 1, ..PlanRequest::default() };
    let plan = overlap_plan(&graph, &request);
    let checked = check_plan(&graph, &plan).expect("the overlap plan checks");
    assert!(checked.uses_overlaps);
    let at_lead = checked
        .lowering
        .overlap_allowances
        .iter()
        .find(|a| plan.offsets[a.output.0 as usize] + a.lead_bytes == plan.offsets[a.input.0 as usize])
        .expect("some tie sits exactly at its lead");
    let mut shifted = plan.clone();
    shifted.offsets[at_lead.output.0 as usize] += 1;
    shifted.arena_bytes = arena_bytes_of(&shifted.problem, &shifted.offsets);
    let err = check_plan(&graph, &shifted).expect_err("one byte past the allowance");
    assert!(matches!(err, CheckError::Invalid(ValidationError::Overlap { .. })), "{err}");
    check_goldens(name, &bytes, &graph, &plan).unwrap();

    let tflm_request = PlanRequest::default();
    let tflm_plan = overlap_plan(&graph, &tflm_request);
    assert!(check_plan(&graph, &tflm_plan).unwrap().uses_overlaps);
    match tflm::to_tflm(&graph, &tflm_plan) {
        Err(ExportError::Unsupported { format: "tflm", reason }) => assert!(reason.contains("TFLM"), "{reason}"),
        other => panic!("the tflm export of an overlapping plan was not refused: {:?}", other.map(|b| b.len())),
    }
}
