//! Whatever `plan` and `export` accept, `run` runs (issue 11, items 1 and 2).
//!
//! Zoo models are mutated, in their quantisation parameters and shapes (located in the file from what the
//! reader reports) or anywhere at random; every mutant that loads and plans (the path `plan` and `export`
//! take) must compile and run in its arena without a panic, with the reference and with the optimized kernels. The tests run with overflow checks on (debug
//! builds), so an overflow in the parameter computation fails them. Resources are capped so nothing hangs:
//! mutants above the caps below are planned and compiled but not run.

use arenaplan::datasets;
use arenaplan::kernels;
use arenaplan::planner::limits::MAX_ARENA_BYTES;
use arenaplan::planner::program::compile;
use arenaplan::planner::{lower, validate, Graph, KernelVariant, OpId, PlanRequest};
use arenaplan::strategies::strategy_by_name;
use proptest::prelude::*;
use std::sync::OnceLock;

/// Mutants with more multiply-accumulates than this are not run (a debug build runs a few M per second).
const RUN_MAX_MACS: u64 = 2_000_000;
/// Mutants whose arena exceeds this are not run.
const RUN_MAX_ARENA_BYTES: u64 = 1 << 20;

/// A model to mutate: its name, bytes, and where its shapes and quantisation parameters lie.
struct Original {
    name: String,
    bytes: Vec<u8>,
    targets: Vec<(usize, Field)>,
}

/// The models mutated: every single-operator zoo model and the smallest network (read once).
fn models() -> &'static [Original] {
    static MODELS: OnceLock<Vec<Original>> = OnceLock::new();
    MODELS.get_or_init(|| {
        datasets::model_names()
            .into_iter()
            .filter(|name| name.starts_with("op_") || name == "fc_autoencoder_640")
            .map(|name| {
                let bytes = datasets::model_bytes(&name).expect("zoo model");
                let targets = targets(&bytes);
                Original { name, bytes, targets }
            })
            .collect()
    })
}

/// Where a little-endian vector of `items` (FlatBuffer layout: a `u32` length, then the items) lies in
/// `bytes`: the offsets of its first item, for every occurrence.
fn find_vector(bytes: &[u8], items: &[Vec<u8>]) -> Vec<usize> {
    let mut needle = (items.len() as u32).to_le_bytes().to_vec();
    items.iter().for_each(|item| needle.extend_from_slice(item));
    if needle.len() < 8 {
        return Vec::new();
    }
    bytes.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i + 4).collect()
}

/// What a targeted mutation overwrites: `(offset, width)` of one element of a shape, scale or zero-point
/// vector, as found in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Dim,
    Scale,
    ZeroPoint,
}

fn targets(bytes: &[u8]) -> Vec<(usize, Field)> {
    let graph = Graph::from_bytes(bytes).expect("zoo models load");
    let mut out = Vec::new();
    for t in &graph.model().tensors {
        let dims: Vec<Vec<u8>> = t.shape.iter().map(|&d| (d as i32).to_le_bytes().to_vec()).collect();
        for at in find_vector(bytes, &dims) {
            out.extend((0..dims.len()).map(|k| (at + 4 * k, Field::Dim)));
        }
        if let Some(q) = &t.quantization {
            let scales: Vec<Vec<u8>> = q.scales.iter().map(|s| s.to_le_bytes().to_vec()).collect();
            for at in find_vector(bytes, &scales) {
                out.extend((0..scales.len()).map(|k| (at + 4 * k, Field::Scale)));
            }
            let zps: Vec<Vec<u8>> = q.zero_points.iter().map(|z| z.to_le_bytes().to_vec()).collect();
            for at in find_vector(bytes, &zps) {
                out.extend((0..zps.len()).map(|k| (at + 8 * k, Field::ZeroPoint)));
            }
        }
    }
    out.sort_unstable_by_key(|t| t.0);
    out.dedup();
    out
}

/// Values that break arithmetic, for each kind of field (`pick` chooses one; `raw` is used as is otherwise).
fn hostile(field: Field, pick: u8, raw: u64) -> Vec<u8> {
    match field {
        Field::Dim => {
            let v: i32 = match pick % 8 {
                0 => 0,
                1 => 1,
                2 => i32::MAX,
                3 => -1,
                4 => 1 << 16,
                5 => 3,
                6 => (raw % 300) as i32,
                _ => raw as i32,
            };
            v.to_le_bytes().to_vec()
        }
        Field::Scale => {
            let v: f32 = match pick % 10 {
                0 => 0.0,
                1 => -0.5,
                2 => f32::NAN,
                3 => f32::INFINITY,
                4 => 1e-30,
                5 => 1e30,
                6 => f32::from_bits(1), // the smallest subnormal
                7 => 1e-6,
                8 => 1e6,
                _ => f32::from_bits(raw as u32),
            };
            v.to_le_bytes().to_vec()
        }
        Field::ZeroPoint => {
            let v: i64 = match pick % 9 {
                0 => 127,
                1 => -128,
                2 => 128,
                3 => -129,
                4 => 1 << 40,
                5 => i64::MIN,
                6 => (1 << 32) + 5, // truncates to 5 as i32
                7 => (raw % 512) as i64 - 256,
                _ => raw as i64,
            };
            v.to_le_bytes().to_vec()
        }
    }
}

/// The invariant: if the mutant loads and plans as `plan` and `export` do (with the kernel set `kernels`), it
/// compiles and runs.
fn plan_compile_run(bytes: &[u8], kernels: KernelVariant) -> Result<(), TestCaseError> {
    let Ok(graph) = Graph::from_bytes(bytes) else { return Ok(()) };
    let request = PlanRequest::default().with_kernels(kernels);
    let Ok(plan) = strategy_by_name("greedy-by-size").expect("registered").plan(&graph, &request) else {
        return Ok(());
    };
    // What `plan_checked` in the CLI adds: an independent lowering, the validator, the arena limit.
    let schedule: Vec<OpId> = plan.schedule.iter().map(|&i| OpId(i)).collect();
    let Ok(lowering) = lower(&graph, &schedule, &request) else { return Ok(()) };
    if validate(&lowering.problem, &plan).is_err() || plan.arena_bytes > MAX_ARENA_BYTES {
        return Ok(());
    }
    // Compiling may refuse (an operator without a kernel, a parameter outside the kernel's range), cleanly.
    let Ok(compiled) = compile(&graph, &plan) else { return Ok(()) };
    if graph.total_macs() > RUN_MAX_MACS || plan.arena_bytes > RUN_MAX_ARENA_BYTES {
        return Ok(());
    }
    let program = compiled.program(bytes);
    let mut arena = vec![0u8; program.arena_bytes as usize];
    if let Some(input) = kernels::input_mut(&program, &mut arena, 0) {
        input.iter_mut().enumerate().for_each(|(i, b)| *b = (i * 37 % 251) as u8);
    }
    kernels::run(&program, &mut arena).map_err(|e| TestCaseError::fail(format!("compiled but did not run: {e}")))?;
    Ok(())
}

#[test]
fn every_zoo_model_plans_compiles_and_runs() {
    for Original { name, bytes, .. } in models() {
        for kernels in [KernelVariant::Reference, KernelVariant::Optimized] {
            plan_compile_run(bytes, kernels).unwrap_or_else(|e| panic!("{name} ({kernels:?}): {e}"));
        }
        let graph = Graph::from_bytes(bytes).unwrap();
        assert!(graph.total_macs() <= RUN_MAX_MACS, "{name} would not be run by the property tests");
    }
}

#[test]
fn the_targets_are_found_in_every_model() {
    for Original { name, targets: t, .. } in models() {
        for field in [Field::Dim, Field::Scale, Field::ZeroPoint] {
            assert!(t.iter().any(|x| x.1 == field), "{name}: no {field:?} found");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3000,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(11),
        ..ProptestConfig::default()
    })]

    /// Hostile values written over quantisation parameters and shape dimensions.
    #[test]
    fn mutated_quantisation_and_shapes_never_make_run_panic(
        model in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<u64>()), 1..4),
        optimized in any::<bool>(),
    ) {
        let original = &models()[model.index(models().len())];
        let mut bytes = original.bytes.clone();
        let spots = &original.targets;
        for (spot, pick, raw) in edits {
            let (at, field) = spots[spot.index(spots.len())];
            let value = hostile(field, pick, raw);
            bytes[at..at + value.len()].copy_from_slice(&value);
        }
        plan_compile_run(&bytes, if optimized { KernelVariant::Optimized } else { KernelVariant::Reference })?;
    }

    /// Random bytes overwritten anywhere in the file.
    #[test]
    fn randomly_mutated_models_never_make_run_panic(
        model in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        optimized in any::<bool>(),
    ) {
        let mut bytes = models()[model.index(models().len())].bytes.clone();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        plan_compile_run(&bytes, if optimized { KernelVariant::Optimized } else { KernelVariant::Reference })?;
    }
}

/// `bytes` with every occurrence of tensor `tensor`'s vector of `field` (shape, scales or zero points) given
/// `value` at element `element`; identical vectors of other tensors change too, which only adds to the damage.
fn with_field(name: &str, tensor: usize, field: Field, element: usize, value: &[u8]) -> Vec<u8> {
    let original = models().iter().find(|m| m.name == name).expect("zoo model");
    let mut bytes = original.bytes.clone();
    let graph = Graph::from_bytes(&original.bytes).unwrap();
    let t = &graph.model().tensors[tensor];
    let q = t.quantization.as_ref();
    let (items, width): (Vec<Vec<u8>>, usize) = match field {
        Field::Dim => (t.shape.iter().map(|&d| (d as i32).to_le_bytes().to_vec()).collect(), 4),
        Field::Scale => (q.unwrap().scales.iter().map(|s| s.to_le_bytes().to_vec()).collect(), 4),
        Field::ZeroPoint => (q.unwrap().zero_points.iter().map(|z| z.to_le_bytes().to_vec()).collect(), 8),
    };
    let spots = find_vector(&original.bytes, &items);
    assert!(!spots.is_empty(), "{name}: tensor {tensor}'s {field:?} vector not found");
    for at in spots {
        let at = at + width * element;
        bytes[at..at + value.len()].copy_from_slice(value);
    }
    bytes
}

/// The output tensor of the first operator of a zoo model.
fn first_output(name: &str) -> usize {
    let bytes = &models().iter().find(|m| m.name == name).unwrap().bytes;
    Graph::from_bytes(bytes).unwrap().model().operators[0].outputs[0]
}

fn load_error(bytes: &[u8]) -> String {
    match Graph::from_bytes(bytes) {
        Ok(_) => panic!("the mutant loads"),
        Err(e) => e.to_string(),
    }
}

/// Finding: an int8 output with a fused RELU and a zero point outside [-128, 127] planned and exported, then
/// `run` panicked on "min > max". Now refused at load, naming the tensor.
#[test]
fn a_relu_output_zero_point_out_of_range_is_refused_at_load() {
    let out = first_output("op_conv_relu");
    for zp in [200i64, -129, 128] {
        let err = load_error(&with_field("op_conv_relu", out, Field::ZeroPoint, 0, &zp.to_le_bytes()));
        assert!(err.contains(&format!("zero point {zp} is outside [-128, 127]")), "{err}");
    }
}

/// Finding: a 64-bit zero point of 2^40 was silently truncated to 32 bits.
#[test]
fn a_64_bit_zero_point_is_refused_not_truncated() {
    let out = first_output("op_conv_relu");
    let zp: i64 = (1 << 40) + 5;
    let err = load_error(&with_field("op_conv_relu", out, Field::ZeroPoint, 0, &zp.to_le_bytes()));
    assert!(err.contains(&format!("zero point {zp}")), "{err}");
}

/// Finding: scale 0, negative, NaN or infinite was accepted and run.
#[test]
fn scales_that_are_not_finite_and_positive_are_refused_at_load() {
    let out = first_output("op_conv_relu");
    for scale in [0.0f32, -0.5, f32::NAN, f32::INFINITY] {
        let err = load_error(&with_field("op_conv_relu", out, Field::Scale, 0, &scale.to_le_bytes()));
        assert!(err.contains("is not a finite positive number"), "scale {scale}: {err}");
    }
}

/// Finding: a 1.2 KB softmax model with a dimension of 0x7fffffff planned to a 2 GB arena; `run` allocated it.
#[test]
fn a_huge_dimension_is_refused_naming_the_limit() {
    let out = first_output("op_softmax");
    let err = load_error(&with_field("op_softmax", out, Field::Dim, 1, &i32::MAX.to_le_bytes()));
    assert!(err.contains("MAX_ARENA_BYTES"), "{err}");
}

/// Finding: shapes were never checked against each other (one flipped bit in a conv model gave 45 G MACs).
#[test]
fn a_conv_output_shape_that_does_not_follow_from_its_input_is_refused() {
    let out = first_output("op_conv_relu");
    let err = load_error(&with_field("op_conv_relu", out, Field::Dim, 1, &40_000i32.to_le_bytes()));
    assert!(err.contains("CONV_2D") && err.contains("the inputs and options give"), "{err}");
}

/// Finding: the debug build overflowed in the parameter computation (`zero_point + round(6 / scale)`).
#[test]
fn the_activation_range_of_a_tiny_scale_does_not_overflow() {
    use arenaplan::planner::program::activation_range_s8;
    use arenaplan::planner::tflite::Activation;
    assert_eq!(activation_range_s8(Activation::Relu6, 1e-30, 127), (127, 127));
    assert_eq!(activation_range_s8(Activation::ReluN1To1, f32::MIN_POSITIVE, -128), (-128, 127));
    assert_eq!(activation_range_s8(Activation::Relu6, 0.05, -128), (-128, -8));
}
