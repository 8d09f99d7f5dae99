//! Whole models run in one arena from a plan, compared bit for bit with TFLM's outputs (the goldens in
//! `datasets/golden/`, produced by TFLM's Python interpreter).

mod common;
use common::check_goldens;

use arenaplan::datasets;
use arenaplan::kernels::{self, KernelError};
use arenaplan::planner::program::{compile, CompileError};
use arenaplan::planner::{Graph, KernelVariant, Plan, PlanRequest};
use arenaplan::strategies::strategy_by_name;
use proptest::prelude::*;

fn greedy_plan(graph: &Graph<'_>) -> Plan {
    greedy_plan_with(graph, KernelVariant::Reference)
}

fn greedy_plan_with(graph: &Graph<'_>, kernels: KernelVariant) -> Plan {
    strategy_by_name("greedy-by-size").unwrap().plan(graph, &PlanRequest::default().with_kernels(kernels)).unwrap()
}

/// Single-op models whose every operator the reference set implements: each must compile and match TFLM.
const MUST_MATCH: &[&str] = &[
    "op_add_broadcast",
    "op_add_relu",
    "op_avgpool_same",
    "op_avgpool_valid",
    "op_conv_1x1_relu6",
    "op_conv_dilation2",
    "op_conv_relu",
    "op_conv_stride2_same",
    "op_conv_valid_13x11_k3x2",
    "op_dwconv_3x3",
    "op_dwconv_mult2",
    "op_dwconv_stride2",
    "op_fully_connected",
    "op_maxpool",
    "op_reshape",
    "fc_autoencoder_640",
    "op_mean_hw",
    "op_mul_broadcast",
    "op_pad",
    "op_softmax",
    "op_concat",
    "mobilenet_v1_025_96",
    "mobilenet_v2_030_80_1000",
    "mobilenet_v2_035_96",
    "resnet8_32",
    "ds_cnn_49x10",
    "squeezenet_mini",
    "op_hard_swish",
    "op_logistic",
    "mobilenet_v3_mini",
    "op_transpose",
    "op_transpose_3d",
    "op_nchw_conv",
    "op_strided_slice",
    "op_slice",
    "op_split",
    "op_split_v",
    "op_strided_slice_shrink",
    "op_resize_nearest_align",
    "op_resize_nearest",
    "op_relu",
    "op_relu6",
    "op_leaky_relu",
    "op_tanh",
    "op_sub_broadcast",
    "op_maximum",
    "op_minimum",
    "op_pack",
    "op_unpack",
    "op_resize_bilinear",
    "op_resize_bilinear_align",
    "op_transpose_conv",
    "op_prelu",
];

#[test]
fn every_supported_zoo_model_matches_tflm_bit_for_bit() {
    every_supported_zoo_model_matches_tflm_with(KernelVariant::Reference);
}

#[test]
fn every_supported_zoo_model_matches_tflm_bit_for_bit_with_the_optimized_kernels() {
    every_supported_zoo_model_matches_tflm_with(KernelVariant::Optimized);
}

#[test]
fn optimized_plans_choose_optimized_kernels_and_give_them_their_scratch() {
    let bytes = datasets::model_bytes("ds_cnn_49x10").unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    let plan = greedy_plan_with(&graph, KernelVariant::Optimized);
    assert!(plan.kernels.contains(&KernelVariant::Optimized));
    let compiled = compile(&graph, &plan).unwrap();
    let optimized: Vec<_> = compiled.steps.iter().filter(|s| s.variant == kernels::Variant::Optimized).collect();
    assert_eq!(optimized.len(), plan.kernels.iter().filter(|k| **k == KernelVariant::Optimized).count());
    for step in optimized {
        let needed = kernels::scratch_bytes(step);
        let given = step.scratch.map_or(0, |s| s.len as usize);
        assert!(given >= needed, "{:?}: scratch {given} < {needed}", step.kernel);
    }
    // A plan whose variants were edited after planning no longer matches its lowering: refused.
    let mut forged = plan.clone();
    forged.kernels.iter_mut().for_each(|k| *k = KernelVariant::Reference);
    assert!(compile(&graph, &forged).is_err());
}

fn every_supported_zoo_model_matches_tflm_with(kernels: KernelVariant) {
    let mut unsupported = Vec::new();
    let mut failures = Vec::new();
    let mut matched = Vec::new();
    for name in datasets::model_names() {
        let bytes = datasets::model_bytes(&name).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        let plan = greedy_plan_with(&graph, kernels);
        match compile(&graph, &plan) {
            Err(CompileError::Unsupported { name: op, .. }) => {
                assert!(!MUST_MATCH.contains(&name.as_str()), "{name} should compile but {op} is unsupported");
                unsupported.push(format!("{name} ({op})"));
                continue;
            }
            Err(e) => panic!("{name}: {e}"),
            Ok(_) => {}
        }
        match check_goldens(&name, &bytes, &graph, &plan) {
            Ok(samples) => matched.push(format!("{name} ({samples} samples)")),
            Err(e) => failures.push(e),
        }
    }
    println!("bit-exact with TFLM ({} kernels): {}", kernels.name(), matched.join(", "));
    println!("not yet supported: {}", unsupported.join(", "));
    assert!(failures.is_empty(), "outputs differ from TFLM's:\n{}", failures.join("\n"));
    for name in MUST_MATCH {
        assert!(matched.iter().any(|m| m.starts_with(&format!("{name} "))), "{name} did not run");
    }
}

/// SQUEEZE and EXPAND_DIMS copy bytes as RESHAPE does (in TFLM too), but the Keras converter never emits them:
/// `op_reshape` with its RESHAPE read as each of them must still give TFLM's outputs.
#[test]
fn squeeze_and_expand_dims_run_like_reshape() {
    use arenaplan::planner::tflite::{read_model, OpKind};
    let bytes = datasets::model_bytes("op_reshape").unwrap();
    for kind in [OpKind::Squeeze, OpKind::ExpandDims] {
        let mut model = read_model(&bytes).unwrap();
        let reshape = model.operators.iter().position(|o| o.kind == OpKind::Reshape).expect("a RESHAPE");
        model.operators[reshape].kind = kind;
        let graph = Graph::from_model(model).unwrap();
        let plan = greedy_plan(&graph);
        let compiled = compile(&graph, &plan).unwrap();
        assert_eq!(compiled.steps[reshape].kernel, kernels::KernelId::CopyS8);
        assert_eq!(check_goldens("op_reshape", &bytes, &graph, &plan), Ok(3), "{}", kind.name());
    }
}

#[test]
fn an_arena_smaller_than_the_plan_is_an_error() {
    let bytes = datasets::model_bytes("fc_autoencoder_640").unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    let compiled = compile(&graph, &greedy_plan(&graph)).unwrap();
    let program = compiled.program(&bytes);
    let mut arena = vec![0u8; program.arena_bytes as usize - 1];
    assert!(matches!(kernels::run(&program, &mut arena), Err(KernelError::ArenaTooSmall { .. })));
}

#[test]
fn a_plan_the_validator_rejects_is_never_compiled() {
    let bytes = datasets::model_bytes("fc_autoencoder_640").unwrap();
    let graph = Graph::from_bytes(&bytes).unwrap();
    let mut plan = greedy_plan(&graph);
    // Put every buffer at offset 0: buffers alive together now overlap.
    plan.offsets.iter_mut().for_each(|o| *o = 0);
    plan.arena_bytes = plan.problem.buffers.iter().map(|b| b.size_bytes).max().unwrap();
    assert!(matches!(compile(&graph, &plan), Err(CompileError::Invalid(_))));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Any valid plan gives the same outputs: first fit over a random buffer order.
    #[test]
    fn random_valid_plans_give_identical_outputs(seed in any::<u64>(), model in 0usize..3) {
        let name = ["fc_autoencoder_640", "op_add_broadcast", "op_conv_stride2_same"][model];
        let bytes = datasets::model_bytes(name).unwrap();
        let graph = Graph::from_bytes(&bytes).unwrap();
        let mut plan = greedy_plan(&graph);
        let n = plan.problem.buffers.len();
        let mut order: Vec<usize> = (0..n).collect();
        let mut state = seed | 1;
        for i in (1..n).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        plan.offsets = arenaplan::strategies::greedy::first_fit_in_order(&plan.problem, &order);
        plan.arena_bytes = arenaplan::planner::plan::arena_bytes_of(&plan.problem, &plan.offsets);
        prop_assert!(check_goldens(name, &bytes, &graph, &plan).is_ok());
    }
}
