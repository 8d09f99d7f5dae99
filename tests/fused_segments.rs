//! Row-streamed fused segments end to end: every zoo network planned with its fusable chains fused
//! (`planner::segments::greedy_segments`) runs bit-exact against TFLM's goldens, and needs less arena than
//! without fusing wherever a chain holds a tensor the peak needs; bad segment requests are refused by name.

mod common;
use common::check_goldens;

use arenaplan::datasets;
use arenaplan::planner::export::{tflm, ExportError};
use arenaplan::planner::segments::greedy_segments;
use arenaplan::planner::{
    check_plan, lower, BufferOrigin, CheckError, Graph, LoweringError, Plan, PlanRequest, TensorId,
};
use arenaplan::strategies::strategy_by_name;

fn overlap_plan(graph: &Graph<'_>, request: &PlanRequest) -> Plan {
    strategy_by_name("overlap").expect("`overlap` is registered").plan(graph, request).expect("overlap plans")
}

#[test]
fn every_zoo_model_with_its_chains_fused_matches_tflm() {
    let mut failures = Vec::new();
    let mut fused_models = 0;
    let mut smaller = 0;
    for name in datasets::model_names() {
        let bytes = datasets::model_bytes(&name).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        let chains = greedy_segments(&graph, &graph.default_schedule());
        if chains.is_empty() {
            continue;
        }
        fused_models += 1;
        let plain = overlap_plan(&graph, &PlanRequest::default());
        let request = PlanRequest { segments: chains.clone(), ..PlanRequest::default() };
        let plan = overlap_plan(&graph, &request);
        check_plan(&graph, &plan).expect("the fused plan checks");
        println!(
            "{name}: {} chains ({} ops), arena {} -> {} B",
            chains.len(),
            chains.iter().map(Vec::len).sum::<usize>(),
            plain.arena_bytes,
            plan.arena_bytes
        );
        smaller += usize::from(plan.arena_bytes < plain.arena_bytes);
        if let Err(e) = check_goldens(&name, &bytes, &graph, &plan) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(fused_models >= 5, "only {fused_models} zoo models have a fusable chain");
    assert!(smaller > 0, "fusing made no zoo plan smaller");
}

#[test]
fn the_fused_strategy_matches_tflm_and_is_never_larger_than_overlap() {
    let mut failures = Vec::new();
    let mut smaller = Vec::new();
    for name in datasets::model_names() {
        let bytes = datasets::model_bytes(&name).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        let plain = overlap_plan(&graph, &PlanRequest::default());
        let plan = strategy_by_name("fused").unwrap().plan(&graph, &PlanRequest::default()).expect("fused plans");
        check_plan(&graph, &plan).expect("the fused plan checks");
        assert!(
            plan.arena_bytes <= plain.arena_bytes,
            "{name}: fused {} > overlap {}",
            plan.arena_bytes,
            plain.arena_bytes
        );
        if plan.arena_bytes < plain.arena_bytes {
            smaller.push(format!("{name}: {} -> {}", plain.arena_bytes, plan.arena_bytes));
        }
        if let Err(e) = check_goldens(&name, &bytes, &graph, &plan) {
            failures.push(e);
        }
    }
    println!("{smaller:#?}");
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(smaller.len() >= 3, "fusing lowered only {smaller:?}");
}

#[test]
fn a_segment_that_cannot_stream_is_refused_by_name() {
    let name = "mobilenet_v2_030_80_1000";
    let bytes = datasets::model_bytes(name).unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    let schedule = graph.default_schedule();
    let chain = greedy_segments(&graph, &schedule).into_iter().next().expect("a segment");
    // Out of order, a lone operator, and an operator in two segments.
    for segments in [
        vec![chain.iter().rev().copied().collect::<Vec<u32>>()],
        vec![vec![chain[0]]],
        vec![chain.clone(), chain[1..].to_vec()],
    ] {
        let request = PlanRequest { segments: segments.clone(), ..PlanRequest::default() };
        match lower(&graph, &schedule, &request) {
            Err(LoweringError::Segment(e)) => assert!(e.to_string().contains("cannot be row-streamed"), "{e}"),
            other => panic!("{segments:?}: expected a segment error, got {other:?}"),
        }
    }
    // A plan whose request names a bad segment fails its check.
    let mut plan = overlap_plan(&graph, &PlanRequest::default());
    plan.meta.request.segments = vec![vec![chain[0]]];
    assert!(matches!(check_plan(&graph, &plan), Err(CheckError::Lowering(_))));
}

#[test]
fn the_tflm_export_refuses_a_fused_plan_by_name() {
    let name = "mobilenet_v2_030_80_1000";
    let bytes = datasets::model_bytes(name).unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    let plan = strategy_by_name("fused").unwrap().plan(&graph, &PlanRequest::default()).unwrap();
    assert!(!plan.meta.request.segments.is_empty(), "the fused plan has no segment: the test proves nothing");
    match tflm::to_tflm(&graph, &plan) {
        Err(ExportError::Unsupported { format: "tflm", reason }) => {
            assert!(reason.contains("row-streamed fused segments"), "{reason}")
        }
        other => panic!("expected the tflm export to refuse, got {:?}", other.map(|b| b.len())),
    }
}

#[test]
fn streaming_the_input_row_by_row_matches_tflm_and_keeps_the_input_out_of_the_arena() {
    let mut streamed = Vec::new();
    for name in datasets::network_names() {
        let bytes = datasets::model_bytes(&name).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        let fused = strategy_by_name("fused").unwrap();
        let whole = fused.plan(&graph, &PlanRequest::default()).unwrap();
        let request = PlanRequest { stream_input: true, ..PlanRequest::default() };
        let plan = fused.plan(&graph, &request).expect("fused plans with a streamed input");
        let checked = check_plan(&graph, &plan).expect("the streamed plan checks");
        let input = graph.model().inputs[0];
        if checked.lowering.segments.iter().any(|s| s.streamed_input.is_some()) {
            // The input is a ring now, smaller than the whole input.
            let ring = checked.problem().buffers.iter().find(|b| b.origin == BufferOrigin::Tensor(input as u32));
            let whole_bytes = graph.tensor(TensorId(input as u32)).byte_size as u64;
            assert!(ring.is_some_and(|b| b.size_bytes < whole_bytes), "{name}: the input is not a ring");
            streamed.push(format!("{name}: {} -> {}", whole.arena_bytes, plan.arena_bytes));
        }
        check_goldens(&name, &bytes, &graph, &plan).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    println!("{streamed:#?}");
    assert!(streamed.len() >= 3, "only {streamed:?} streamed their input");
}

#[test]
fn a_streamed_input_needs_its_rows_and_is_not_exported_for_firmware() {
    let name = "mobilenet_v2_030_80_1000";
    let bytes = datasets::model_bytes(name).unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    let request = PlanRequest { stream_input: true, ..PlanRequest::default() };
    let plan = strategy_by_name("fused").unwrap().plan(&graph, &request).unwrap();
    let compiled = arenaplan::planner::program::compile(&graph, &plan).unwrap();
    let program = compiled.program(&bytes);
    assert!(arenaplan::kernels::input_is_streamed(&program, 0), "the plan does not stream its input");
    let mut arena = vec![0u8; program.arena_bytes as usize];
    assert_eq!(
        arenaplan::kernels::run(&program, &mut arena),
        Err(arenaplan::kernels::KernelError::NoInputRows { input: 0, row: 0 })
    );
    match arenaplan::planner::export::rust::to_rust(&graph, &plan, name) {
        Err(ExportError::Unsupported { format: "rust", reason }) => assert!(reason.contains("row by row"), "{reason}"),
        other => panic!("expected the rust export to refuse, got {:?}", other.map(|m| m.len())),
    }
}
