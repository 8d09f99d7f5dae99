//! Every export validates before it writes: on every zoo network a valid plan exports and reads back
//! (JSON equal, CSV equal, TFLM offline words equal to the offsets, model still readable), and a plan with
//! two buffers alive together at the same address is refused by every exporter.

use std::collections::BTreeMap;

use arenaplan_datasets as datasets;
use arenaplan_planner::check::KnownStrategies;
use arenaplan_planner::export::{c_header, csv, json, tflm, ExportError};
use arenaplan_planner::minimalloc_csv::read_csv;
use arenaplan_planner::plan::arena_bytes_of;
use arenaplan_planner::tflite::read_model;
use arenaplan_planner::{
    lower, BufferOrigin, Graph, Plan, PlanMeta, PlanRequest, Status, ValidationError, PLAN_SCHEMA_VERSION,
};

/// A valid plan made here, independently of any strategy: every buffer after the previous one (no reuse).
fn no_reuse_plan(graph: &Graph<'_>) -> Plan {
    let request = PlanRequest::default();
    let lowering = lower(graph, &graph.default_schedule(), &request).unwrap();
    let mut offsets = Vec::new();
    let mut next = 0;
    for b in &lowering.problem.buffers {
        offsets.push(next);
        next += b.size_bytes;
    }
    Plan {
        schema_version: PLAN_SCHEMA_VERSION,
        schedule: lowering.schedule,
        kernels: lowering.kernels,
        arena_bytes: next,
        offsets,
        meta: PlanMeta {
            strategy: "no-reuse (test)".to_owned(),
            params: BTreeMap::from([("why".to_owned(), "a plan the test can trust".to_owned())]),
            status: Status::Heuristic,
            lower_bound_bytes: lowering.problem.lower_bound(),
            estimated_cycles: None,
            solve_seconds: 0.1 + 0.2, // a float that does not print short, to test the round trip
            request,
        },
        problem: lowering.problem,
    }
}

/// The same plan with the second of two buffers alive at a common step moved onto the first.
fn overlapping(plan: &Plan) -> Plan {
    let (a, b) = *plan.problem.time_conflicts().first().expect("some buffers are alive together");
    let mut bad = plan.clone();
    bad.offsets[b] = bad.offsets[a];
    bad.arena_bytes = arena_bytes_of(&bad.problem, &bad.offsets);
    bad
}

fn networks() -> Vec<String> {
    let names = datasets::network_names();
    assert!(!names.is_empty(), "the zoo has no network");
    names
}

#[test]
fn json_documents_round_trip_and_check() {
    for name in networks() {
        let bytes = datasets::model_bytes(&name).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        let plan = no_reuse_plan(&graph);
        let text = json::to_json(&graph, &plan, &name).unwrap();
        let document = json::from_json(&text).unwrap();
        assert_eq!(document.model.sha256, json::sha256_hex(&bytes), "{name}");
        assert_eq!(document.to_plan().unwrap(), plan, "{name}: the plan read back differs");
        assert_eq!(json::check_document(&graph, &document, &KnownStrategies::default()).unwrap().0, plan, "{name}");
        // Deterministic: the same plan gives the same bytes.
        assert_eq!(json::to_json(&graph, &plan, &name).unwrap(), text);
    }
}

#[test]
fn a_document_for_another_model_is_refused() {
    let names = networks();
    let bytes = datasets::model_bytes(&names[0]).unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    let mut document = json::PlanDocument::new(&no_reuse_plan(&graph), json::model_info(&graph, &names[0]));
    document.model.sha256 = "0".repeat(64);
    let err = json::check_document(&graph, &document, &KnownStrategies::default()).unwrap_err();
    assert!(err.to_string().contains("SHA-256"), "{err}");
}

#[test]
fn csv_solutions_read_back_equal() {
    for name in networks() {
        let bytes = datasets::model_bytes(&name).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        let plan = no_reuse_plan(&graph);
        let read = read_csv(&csv::to_csv(&graph, &plan).unwrap()).unwrap();
        assert_eq!(read.offsets.as_deref(), Some(plan.offsets.as_slice()), "{name}");
        for (r, b) in read.problem.buffers.iter().zip(&plan.problem.buffers) {
            assert_eq!((r.size_bytes, &r.live, r.align_bytes), (b.size_bytes, &b.live, b.align_bytes), "{name}");
        }
    }
}

#[test]
fn tflm_exports_carry_the_offsets_and_keep_the_model() {
    for name in networks() {
        let bytes = datasets::model_bytes(&name).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        let plan = no_reuse_plan(&graph);
        let out = tflm::to_tflm(&graph, &plan).unwrap();
        assert!(out.ends_with(&bytes), "{name}: the original bytes are not kept whole at the end");
        assert_eq!(&out[4..8], b"TFL3");

        // Our reader sees the same model.
        let (before, after) = (read_model(&bytes).unwrap(), read_model(&out).unwrap());
        assert_eq!(after.total_tensor_count, before.total_tensor_count, "{name}");
        assert_eq!(after.operators.len(), before.operators.len(), "{name}");
        for (x, y) in before.tensors.iter().zip(&after.tensors) {
            assert_eq!((x.name, &x.shape, x.byte_size, x.data), (y.name, &y.shape, y.byte_size, y.data), "{name}");
        }

        // The offline words: version, subgraphs, n, then our offset for every planned tensor and -1 elsewhere.
        let words = tflm::read_offline_plan(&out).unwrap().expect("an OfflineMemoryAllocation entry");
        assert_eq!(words[..3], [1, before.subgraph_count as i32, before.total_tensor_count as i32], "{name}");
        assert_eq!(words.len(), 3 + before.total_tensor_count, "{name}");
        let mut expected = vec![-1; before.total_tensor_count];
        for (b, &offset) in plan.problem.buffers.iter().zip(&plan.offsets) {
            if let BufferOrigin::Tensor(t) = b.origin {
                expected[t as usize] = offset as i32;
            }
        }
        assert_eq!(words[3..], expected[..], "{name}");

        // Exporting the export replaces the entry instead of adding a second one.
        let again = tflm::with_offline_plan(&out, &words).unwrap();
        assert_eq!(tflm::read_offline_plan(&again).unwrap(), Some(words));
    }
}

#[test]
fn an_overlapping_plan_is_refused_by_every_exporter() {
    for name in networks() {
        let bytes = datasets::model_bytes(&name).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        let bad = overlapping(&no_reuse_plan(&graph));
        let results: Vec<(&str, Result<(), ExportError>)> = vec![
            ("tflm", tflm::to_tflm(&graph, &bad).map(drop)),
            ("c", c_header::to_c_header(&graph, &bad, "m").map(drop)),
            ("json", json::to_json(&graph, &bad, "m").map(drop)),
            ("csv", csv::to_csv(&graph, &bad).map(drop)),
        ];
        for (format, result) in results {
            match result {
                Err(ExportError::Invalid(ValidationError::Overlap { .. })) => {}
                other => panic!("{name}: the {format} export of an overlapping plan gave {other:?}"),
            }
        }
        // A document of the bad plan, written by hand, is refused when read back against the model.
        let document = json::PlanDocument::new(&bad, json::model_info(&graph, &name));
        assert!(matches!(
            json::check_document(&graph, &document, &KnownStrategies::default()).map(|(plan, _)| plan),
            Err(ExportError::Invalid(ValidationError::Overlap { .. }))
        ));
    }
}

#[test]
fn a_plan_whose_arena_lies_is_refused() {
    let names = networks();
    let bytes = datasets::model_bytes(&names[0]).unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    let mut plan = no_reuse_plan(&graph);
    plan.arena_bytes += 16;
    let err = tflm::to_tflm(&graph, &plan).unwrap_err();
    assert!(matches!(err, ExportError::Invalid(ValidationError::ArenaMismatch { .. })), "{err}");
}

#[test]
fn tflm_export_refuses_a_reordered_schedule() {
    for name in networks() {
        let bytes = datasets::model_bytes(&name).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        // Find two adjacent operators that do not depend on each other, and swap them.
        let order = graph.default_schedule();
        let Some(i) = (0..order.len().saturating_sub(1)).find(|&i| {
            let mut swapped = order.clone();
            swapped.swap(i, i + 1);
            graph.is_valid_schedule(&swapped)
        }) else {
            continue; // a pure chain: no other order exists
        };
        let mut swapped = order.clone();
        swapped.swap(i, i + 1);
        let lowering = lower(&graph, &swapped, &PlanRequest::default()).unwrap();
        let mut plan = no_reuse_plan(&graph);
        plan.schedule = lowering.schedule;
        plan.problem = lowering.problem;
        plan.offsets = plan
            .problem
            .buffers
            .iter()
            .scan(0, |next, b| Some(std::mem::replace(next, *next + b.size_bytes)))
            .collect();
        plan.arena_bytes = arena_bytes_of(&plan.problem, &plan.offsets);
        let err = tflm::to_tflm(&graph, &plan).unwrap_err();
        assert!(matches!(err, ExportError::Unsupported { format: "tflm", .. }), "{name}: {err}");
        // The other formats carry the schedule, so they accept it.
        assert!(json::to_json(&graph, &plan, &name).is_ok());
        return;
    }
    eprintln!("note: every zoo network is a pure chain; the reordered-schedule refusal was not exercised");
}
