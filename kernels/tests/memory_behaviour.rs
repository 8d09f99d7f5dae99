//! Proof of the memory behaviours declared in `arenaplan_kernels::memory`: every kernel with a declared lead
//! `d` runs, through the interpreter, in a poisoned arena with its output exactly `d` bytes before its input,
//! and writes exactly what the disjoint run writes; and one byte less breaks it for some shape (the allowance
//! is tight). Shapes, parameters and data are drawn from a seed.

use arenaplan_kernels::memory::output_lead_bytes;
use arenaplan_kernels::program::{
    BroadcastParams, ClampParams, ConvParams, KernelId, LeakyReluParams, LogisticParams, MulParams, Operand,
    PoolParams, QuantizeParams, ReluParams, Slice, Step, StepParams, Variant, MAX_OPERANDS,
};
use arenaplan_kernels::reference::access::ArenaCells;
use arenaplan_kernels::reference::aliased::{run_aliased, OperandBytes};
use arenaplan_kernels::{run, KernelError, Program};
use proptest::prelude::*;

mod common;
use common::Draw;

/// The kernels with a declared memory behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Conv,
    Depthwise,
    AvgPool,
    MaxPool,
    Copy,
    Relu,
    Relu6,
    LeakyRelu,
    Quantize,
    Logistic,
    Tanh,
    Add,
    Sub,
    Mul,
    Maximum,
    Minimum,
}

const KINDS: [Kind; 16] = [
    Kind::Conv,
    Kind::Depthwise,
    Kind::AvgPool,
    Kind::MaxPool,
    Kind::Copy,
    Kind::Relu,
    Kind::Relu6,
    Kind::LeakyRelu,
    Kind::Quantize,
    Kind::Logistic,
    Kind::Tanh,
    Kind::Add,
    Kind::Sub,
    Kind::Mul,
    Kind::Maximum,
    Kind::Minimum,
];

/// One step to run: its kernel and parameters, the arena inputs' data (one or two), the constants (in the
/// model blob, at the slices the step names), and the output length.
struct Case {
    step: Step,
    inputs: Vec<Vec<u8>>,
    model: Vec<u8>,
    output_len: usize,
}

/// Window sizes of one axis: `(input, filter, stride, dilation, pad, output)`.
fn axis(d: &mut Draw, dilated: bool) -> (u32, u32, u32, u32, u32, u32) {
    let input = d.u(1, 9);
    let filter = d.u(1, 3);
    let stride = d.u(1, 3);
    let dilation = if dilated { d.u(1, 2) } else { 1 };
    let span = dilation * (filter - 1) + 1;
    let pad = d.u(0, filter - 1);
    let output = ((input + 2 * pad).saturating_sub(span) / stride + 1).max(1);
    (input, filter, stride, dilation, pad, output)
}

fn case(kind: Kind, seed: u64) -> Case {
    let mut d = Draw(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut model = Vec::new();
    let mut constant = |bytes: Vec<u8>| {
        let slice = Slice { offset: model.len() as u32, len: bytes.len() as u32 };
        model.extend(bytes);
        Operand::Model(slice)
    };
    let mut operands = [Operand::Unused; MAX_OPERANDS];
    let elementwise = [1, d.u(1, 3), d.u(1, 5), d.u(1, 7)];
    let count = |s: [u32; 4]| s.iter().map(|&x| x as usize).product::<usize>();
    let (params, inputs, output_len) = match kind {
        Kind::Conv | Kind::Depthwise => {
            let depthwise = kind == Kind::Depthwise;
            let (in_h, k_h, s_h, dil_h, pad_h, out_h) = axis(&mut d, true);
            let (in_w, k_w, s_w, dil_w, pad_w, out_w) = axis(&mut d, true);
            let in_c = d.u(1, 6);
            let multiplier = if depthwise { d.u(1, 3) } else { 1 };
            let out_c = if depthwise { in_c * multiplier } else { d.u(1, 8) };
            let batches = d.u(1, 2);
            let filter_len = if depthwise { k_h * k_w * out_c } else { out_c * k_h * k_w * in_c } as usize;
            operands[1] = constant(d.bytes(filter_len));
            operands[2] = constant(d.i32s(out_c as usize, -5000, 5000));
            operands[3] = constant(d.i32s(out_c as usize, 1 << 30, i32::MAX as i64));
            operands[4] = constant(d.i32s(out_c as usize, -10, -4));
            let p = ConvParams {
                input: [batches, in_h, in_w, in_c],
                output: [batches, out_h, out_w, out_c],
                filter_h: k_h,
                filter_w: k_w,
                stride_h: s_h,
                stride_w: s_w,
                dilation_h: dil_h,
                dilation_w: dil_w,
                pad_h,
                pad_w,
                depth_multiplier: multiplier,
                input_offset: d.range(-127, 128) as i32,
                output_offset: d.range(-128, 127) as i32,
                act_min: -128,
                act_max: 127,
            };
            let input = d.bytes(count(p.input));
            (StepParams::Conv(p), vec![input], count(p.output))
        }
        Kind::AvgPool | Kind::MaxPool => {
            let (in_h, k_h, s_h, _, pad_h, out_h) = axis(&mut d, false);
            let (in_w, k_w, s_w, _, pad_w, out_w) = axis(&mut d, false);
            let (batches, ch) = (d.u(1, 2), d.u(1, 6));
            let p = PoolParams {
                input: [batches, in_h, in_w, ch],
                output: [batches, out_h, out_w, ch],
                filter_h: k_h,
                filter_w: k_w,
                stride_h: s_h,
                stride_w: s_w,
                pad_h,
                pad_w,
                act_min: -128,
                act_max: 127,
            };
            let input = d.bytes(count(p.input));
            (StepParams::Pool(p), vec![input], count(p.output))
        }
        Kind::Copy | Kind::Relu | Kind::Relu6 | Kind::LeakyRelu | Kind::Quantize | Kind::Logistic | Kind::Tanh => {
            let zp = d.range(-128, 127) as i32;
            let (m, s) = (d.range(1 << 30, i32::MAX as i64) as i32, d.range(-3, 1) as i32);
            let params = match kind {
                Kind::Copy => StepParams::NoParams,
                Kind::Relu => StepParams::Relu(ReluParams {
                    input_zero_point: zp,
                    output_zero_point: d.range(-128, 0) as i32,
                    multiplier: m,
                    shift: s,
                    act_min: -128,
                    act_max: 127,
                }),
                Kind::Relu6 => {
                    StepParams::Clamp(ClampParams { min: d.range(-128, 0) as i32, max: d.range(1, 127) as i32 })
                }
                Kind::LeakyRelu => StepParams::LeakyRelu(LeakyReluParams {
                    input_zero_point: zp,
                    output_zero_point: d.range(-10, 10) as i32,
                    multiplier_identity: m,
                    shift_identity: s,
                    multiplier_alpha: 1 << 30,
                    shift_alpha: -2,
                }),
                Kind::Quantize => StepParams::Quantize(QuantizeParams {
                    input_zero_point: zp,
                    output_zero_point: d.range(-128, 127) as i32,
                    multiplier: m,
                    shift: s,
                }),
                _ => StepParams::Logistic(LogisticParams {
                    input_zero_point: zp,
                    input_range_radius: d.range(20, 200) as i32,
                    input_multiplier: m,
                    input_left_shift: d.range(0, 4) as i32,
                }),
            };
            let input = d.bytes(count(elementwise));
            (params, vec![input], count(elementwise))
        }
        Kind::Add | Kind::Sub | Kind::Mul | Kind::Maximum | Kind::Minimum => {
            let s = elementwise;
            let params = match kind {
                Kind::Add | Kind::Sub => StepParams::Add(common::add_params(s, &mut d)),
                Kind::Mul => StepParams::Mul(MulParams {
                    input1: s,
                    input2: s,
                    output: s,
                    input1_offset: d.range(-127, 128) as i32,
                    input2_offset: d.range(-127, 128) as i32,
                    output_offset: d.range(-128, 127) as i32,
                    multiplier: d.range(1 << 30, i32::MAX as i64) as i32,
                    shift: -8,
                    act_min: -128,
                    act_max: 127,
                }),
                _ => StepParams::Broadcast(BroadcastParams { input1: s, input2: s, output: s }),
            };
            let (a, b) = (d.bytes(count(s)), d.bytes(count(s)));
            (params, vec![a, b], count(s))
        }
    };
    let kernel = match kind {
        Kind::Conv => KernelId::Conv2dS8,
        Kind::Depthwise => KernelId::DepthwiseConv2dS8,
        Kind::AvgPool => KernelId::AvgPool2dS8,
        Kind::MaxPool => KernelId::MaxPool2dS8,
        Kind::Copy => KernelId::CopyS8,
        Kind::Relu => KernelId::ReluS8,
        Kind::Relu6 => KernelId::Relu6S8,
        Kind::LeakyRelu => KernelId::LeakyReluS8,
        Kind::Quantize => KernelId::QuantizeS8,
        Kind::Logistic => KernelId::LogisticS8,
        Kind::Tanh => KernelId::TanhS8,
        Kind::Add => KernelId::AddS8,
        Kind::Sub => KernelId::SubS8,
        Kind::Mul => KernelId::MulS8,
        Kind::Maximum => KernelId::MaximumS8,
        Kind::Minimum => KernelId::MinimumS8,
    };
    let kernel_params = match (kernel, params) {
        (KernelId::TanhS8, StepParams::Logistic(p)) => StepParams::Tanh(p),
        (_, p) => p,
    };
    let step = Step {
        kernel,
        variant: Variant::Reference,
        params: kernel_params,
        inputs: operands,
        output: Slice { offset: 0, len: output_len as u32 },
        scratch: None,
    };
    Case { step, inputs, model, output_len }
}

/// Poison: bytes no kernel output is likely to repeat by chance, different at every address.
fn poison(len: usize, seed: u64) -> Vec<u8> {
    Draw(seed | 1).bytes(len)
}

/// Lay `case` out in a poisoned arena: input `k` at `in_start`, the output at `in_start - lead` (a negative
/// lead puts it after the input's start), the other input (if any) disjoint after everything. Returns the
/// arena and the step with its slices.
fn layout(case: &Case, overlapped: usize, lead: i64) -> (Vec<u8>, Step) {
    let in_len = case.inputs[overlapped].len();
    let margin = (case.output_len + in_len + 64) as i64;
    let in_start = margin;
    let out_start = in_start - lead;
    let other_start = (2 * margin + in_len as i64 + case.output_len as i64) as usize;
    let mut arena = poison(other_start + in_len + 64, (case.output_len as u64 * 31).wrapping_add(lead as u64));
    let mut step = case.step;
    for (k, data) in case.inputs.iter().enumerate() {
        let start = if k == overlapped { in_start as usize } else { other_start };
        arena[start..start + data.len()].copy_from_slice(data);
        step.inputs[k] = Operand::Arena(Slice { offset: start as u32, len: data.len() as u32 });
    }
    step.output = Slice { offset: out_start as u32, len: case.output_len as u32 };
    (arena, step)
}

fn program<'a>(steps: &'a [Step], model: &'a [u8], arena_bytes: usize) -> Program<'a> {
    Program { steps, model, precomputed: &[], arena_bytes: arena_bytes as u32, inputs: &[], outputs: &[] }
}

/// The output of the disjoint run (the plain-slice kernels).
fn disjoint_output(case: &Case) -> Vec<u8> {
    let (mut arena, step) = layout(case, 0, -((case.inputs[0].len() + 8) as i64));
    let steps = [step];
    run(&program(&steps, &case.model, arena.len()), &mut arena).expect("the disjoint run");
    arena[step.output.range().unwrap()].to_vec()
}

/// The output with input `k` overlapped at `lead`, through the interpreter (which checks the declaration).
fn checked_output(case: &Case, k: usize, lead: i64) -> Result<Vec<u8>, KernelError> {
    let (mut arena, step) = layout(case, k, lead);
    let steps = [step];
    run(&program(&steps, &case.model, arena.len()), &mut arena)?;
    Ok(arena[step.output.range().unwrap()].to_vec())
}

/// The output with input `k` overlapped at `lead`, run aliased without any check.
fn unchecked_output(case: &Case, k: usize, lead: i64) -> Vec<u8> {
    let (mut arena, step) = layout(case, k, lead);
    let out = step.output.range().unwrap();
    let len = arena.len();
    let cells = ArenaCells::new(&mut arena[..len]);
    let mut operands = [OperandBytes::Blob(&[]); MAX_OPERANDS];
    for (i, operand) in step.inputs.iter().enumerate() {
        operands[i] = match *operand {
            Operand::Arena(s) => OperandBytes::Arena(cells.window(s.range().unwrap()).unwrap()),
            Operand::Model(s) => OperandBytes::Blob(&case.model[s.range().unwrap()]),
            _ => OperandBytes::Blob(&[]),
        };
    }
    run_aliased(&step, 0, &operands, cells.window(out.clone()).unwrap()).expect("the aliased run");
    let _ = cells;
    arena[out].to_vec()
}

/// The declared lead of input `k` of `case`'s step.
fn declared(case: &Case, k: usize) -> i64 {
    let (_, step) = layout(case, k, 0);
    output_lead_bytes(&step, k).unwrap_or_else(|| panic!("{:?} declares no lead for input {k}", step.kernel)) as i64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// At exactly the declared lead (and a little further), every kernel writes what the disjoint run writes.
    #[test]
    fn every_declared_lead_is_safe(kind in 0..KINDS.len(), seed in any::<u64>(), extra in 0i64..3) {
        let case = case(KINDS[kind], seed);
        let expected = disjoint_output(&case);
        for k in 0..case.inputs.len() {
            let lead = declared(&case, k);
            prop_assert_eq!(&checked_output(&case, k, lead).unwrap(), &expected, "{:?} input {} lead {}", KINDS[kind], k, lead);
            prop_assert_eq!(&checked_output(&case, k, lead + extra).unwrap(), &expected);
        }
    }

    /// One byte short of the lead, the interpreter refuses the step.
    #[test]
    fn one_byte_short_is_refused(kind in 0..KINDS.len(), seed in any::<u64>()) {
        let case = case(KINDS[kind], seed);
        for k in 0..case.inputs.len() {
            let short = declared(&case, k) - 1;
            // Output at `in_start - short`: it overlaps the input unless it lies wholly before or after it.
            let overlaps = short < case.output_len as i64 && -short < case.inputs[k].len() as i64;
            if overlaps {
                prop_assert_eq!(checked_output(&case, k, short), Err(KernelError::Overlap { step: 0 }));
            }
        }
    }
}

/// Tightness: for every kernel, some shape gives a wrong output with the output one byte short of its lead.
#[test]
fn every_lead_is_tight() {
    for kind in KINDS {
        let broken = (0..400u64).find(|&seed| {
            let case = case(kind, seed);
            let expected = disjoint_output(&case);
            (0..case.inputs.len()).any(|k| unchecked_output(&case, k, declared(&case, k) - 1) != expected)
        });
        assert!(broken.is_some(), "{kind:?}: no shape breaks one byte short of the declared lead");
    }
}

/// The optimized convolutions declare nothing: their loop order is not the reference's.
#[test]
fn the_optimized_convolutions_declare_no_overlap() {
    for kind in [Kind::Conv, Kind::Depthwise] {
        let mut case = case(kind, 7);
        case.step.variant = Variant::Optimized;
        let (_, step) = layout(&case, 0, 0);
        assert_eq!(output_lead_bytes(&step, 0), None);
    }
}
