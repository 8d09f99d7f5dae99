//! A researcher's strategy written outside the workspace's crates, through the public API only: it reorders
//! operators (ready operators latest-first instead of file order), chooses the kernel set, packs with a packer of
//! its own held to the public packer contract (`Packing::from_offsets`), assembles the plan with
//! `Plan::assemble`, and the plan then runs bit-exact with TFLM like any registered strategy's.

use std::collections::BTreeMap;

use arenaplan::datasets;
use arenaplan::kernels;
use arenaplan::planner::program::compile;
use arenaplan::planner::{
    check_plan, lower, BufferProblem, Graph, KernelVariant, OpId, PackError, PackLimits, Packer, Packing, Plan,
    PlanMeta, PlanRequest, Status, Strategy, StrategyError, TensorId,
};

/// Every buffer on top of the previous one: valid, never clever.
struct Stack;

impl Packer for Stack {
    fn name(&self) -> String {
        "stack".to_owned()
    }

    fn pack(&self, problem: &BufferProblem, _limits: &PackLimits) -> Result<Packing, PackError> {
        let mut offsets = Vec::with_capacity(problem.buffers.len());
        let mut top = 0u64;
        for b in &problem.buffers {
            offsets.push(top);
            top += b.size_bytes;
        }
        Packing::from_offsets(&self.name(), problem, offsets, Status::Heuristic, 0).map(|(p, _)| p)
    }
}

/// Ready operators latest-first: a valid order that differs from the file's on graphs with branches.
fn latest_first(graph: &Graph<'_>) -> Vec<OpId> {
    let n = graph.op_count();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let ready = (0..n).rev().find(|&i| {
            !done[i]
                && graph
                    .op(OpId(i as u32))
                    .inputs
                    .iter()
                    .flatten()
                    .all(|&t| graph.producer(TensorId(t as u32)).is_none_or(|p| done[p.0 as usize]))
        });
        let i = ready.expect("a DAG always has a ready operator");
        done[i] = true;
        order.push(OpId(i as u32));
    }
    order
}

/// The researcher's strategy.
struct LatestFirst;

impl Strategy for LatestFirst {
    fn name(&self) -> String {
        "latest-first-stack".to_owned()
    }

    fn plan(&self, graph: &Graph, request: &PlanRequest) -> Result<Plan, StrategyError> {
        let lowering = lower(graph, &latest_first(graph), request)?;
        let packing = Stack.pack(&lowering.problem, &PackLimits::from_request(request))?;
        let meta = PlanMeta {
            strategy: self.name(),
            params: BTreeMap::new(),
            status: packing.status,
            lower_bound_bytes: packing.lower_bound_bytes,
            estimated_cycles: None,
            solve_seconds: 0.0,
            request: request.clone(),
        };
        Ok(Plan::assemble(lowering, packing, meta))
    }
}

#[test]
fn a_strategy_from_outside_reorders_operators_and_its_plans_run_bit_exact() {
    let mut reordered = 0;
    for name in ["squeezenet_mini", "resnet8_32", "ds_cnn_49x10"] {
        let bytes = datasets::model_bytes(name).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        for kernels in [KernelVariant::Reference, KernelVariant::Optimized] {
            let request = PlanRequest::default().with_kernels(kernels);
            let plan = LatestFirst.plan(&graph, &request).unwrap();
            check_plan(&graph, &plan).unwrap();
            let default: Vec<u32> = graph.default_schedule().iter().map(|op| op.0).collect();
            if plan.schedule != default {
                reordered += 1;
            }
            let compiled = compile(&graph, &plan).unwrap();
            let program = compiled.program(&bytes);
            let golden = &datasets::goldens(name).unwrap()[0];
            let mut arena = vec![0u8; program.arena_bytes as usize];
            let slot = kernels::input_mut(&program, &mut arena, 0).unwrap();
            slot.iter_mut().zip(&golden.inputs[0]).for_each(|(s, &v)| *s = v as u8);
            kernels::run(&program, &mut arena).unwrap();
            let got: Vec<i8> = kernels::output(&program, &arena, 0).unwrap().iter().map(|&b| b as i8).collect();
            assert_eq!(got, golden.outputs[0], "{name} with {kernels:?} kernels");
        }
    }
    assert!(reordered > 0, "latest-first should reorder at least one branched network");
}

#[test]
fn the_packer_contract_refuses_overlaps_and_marks_optimal_only_at_the_bound() {
    let bytes = datasets::model_bytes("fc_autoencoder_640").unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    let problem = lower(&graph, &graph.default_schedule(), &PlanRequest::default()).unwrap().problem;
    let zeros = vec![0; problem.buffers.len()];
    assert!(matches!(
        Packing::from_offsets("zeros", &problem, zeros, Status::Optimal, 0),
        Err(PackError::Invalid { .. })
    ));
    let stacked = Stack.pack(&problem, &PackLimits::default()).unwrap();
    let arena: u64 = problem.buffers.iter().map(|b| b.size_bytes).sum();
    assert_eq!(stacked.status == Status::Optimal, arena == problem.lower_bound());
    let small = problem.clone().with_capacity(arena - 1);
    assert!(matches!(Stack.pack(&small, &PackLimits::default()), Err(PackError::NoFit { .. })));
}
