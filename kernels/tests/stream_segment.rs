//! Row-streamed fused segments (`arenaplan_kernels::stream`): a segment run row by row, its intermediate
//! tensors in rings of rows, writes exactly what its members write run layer by layer with whole tensors; its
//! output placed at the declared lead over its input (`memory::stream_lead_bytes`) in a poisoned arena still
//! does, and one byte less breaks it where the lead is positive; rings too small for a window are refused.
//! Shapes, parameters and data are drawn from a seed.

use arenaplan_kernels::memory::stream_lead_bytes;
use arenaplan_kernels::program::{
    ConvParams, KernelId, Operand, PoolParams, Slice, Step, StepParams, StreamParams, Variant, MAX_OPERANDS,
};
use arenaplan_kernels::stream::{ring_rows, segment_rows};
use arenaplan_kernels::{run, KernelError, Program};

mod common;
use common::Draw;

/// The shapes of the chains under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chain {
    /// 1x1 expand -> 3x3 depthwise (stride 1) -> 1x1 project -> ADD with the segment's input.
    InvertedResidual,
    /// 1x1 expand -> 3x3 depthwise stride 2 -> 1x1 project.
    InvertedStride2,
    /// 3x3 convolution stride 2 -> 3x3 average pool -> 2x2 max pool stride 2.
    ConvPools,
    /// A downsampling residual block: 3x3 stride 2 -> 3x3, beside a 1x1 stride 2 shortcut, then ADD (the
    /// segment's input read by two members, the ADD reading two rings).
    Shortcut,
    /// A stem and a residual block: 3x3 stem -> 3x3 -> 3x3 -> ADD with the stem's output (a ring read by two
    /// members, far apart).
    StemResidual,
}

/// What an arena input of a member reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ref {
    /// The segment's input.
    Input,
    /// Member `i`'s output.
    Member(usize),
}

/// A segment: its member steps with every operand's length (offsets are set by the layouts), the model blob
/// of constants, and the input data.
struct Segment {
    members: Vec<Step>,
    /// What each member's arena inputs read.
    reads: Vec<[Option<Ref>; 2]>,
    model: Vec<u8>,
    input: Vec<u8>,
}

fn count(s: [u32; 4]) -> u32 {
    s.iter().product()
}

fn arena_slice(len: u32) -> Slice {
    Slice { offset: 0, len }
}

/// An ADD of two tensors of shape `p`.
fn add(p: [u32; 4], d: &mut Draw) -> Step {
    let mut inputs = [Operand::Unused; MAX_OPERANDS];
    inputs[0] = Operand::Arena(arena_slice(count(p)));
    inputs[1] = Operand::Arena(arena_slice(count(p)));
    let add = common::add_params(p, d);
    Step {
        kernel: KernelId::AddS8,
        variant: Variant::Reference,
        params: StepParams::Add(add),
        inputs,
        output: arena_slice(count(p)),
        scratch: None,
    }
}

fn segment(chain: Chain, seed: u64) -> Segment {
    let mut d = Draw(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut model = Vec::new();
    let mut members = Vec::new();
    let mut reads: Vec<[Option<Ref>; 2]> = Vec::new();
    let (h, w, c) = (d.u(3, 11), d.u(3, 7), d.u(1, 5));
    let input = [1, h, w, c];
    let out_size = |size: u32, k: u32, s: u32, pad: u32| (size + 2 * pad - k) / s + 1;
    // A conv (or depthwise) member from `from` with a k x k window, `out_c` channels, stride s, padding k / 2.
    let mut conv = |from: [u32; 4], k: u32, s: u32, out_c: u32, depthwise: bool, d: &mut Draw| {
        let pad = k / 2;
        let output = [1, out_size(from[1], k, s, pad), out_size(from[2], k, s, pad), out_c];
        let filter = if depthwise { k * k * out_c } else { out_c * k * k * from[3] };
        let mut constant = |bytes: Vec<u8>| {
            let slice = Slice { offset: model.len() as u32, len: bytes.len() as u32 };
            model.extend(bytes);
            Operand::Model(slice)
        };
        let mut inputs = [Operand::Unused; MAX_OPERANDS];
        inputs[0] = Operand::Arena(arena_slice(count(from)));
        inputs[1] = constant(d.bytes(filter as usize));
        inputs[2] = constant(d.i32s(out_c as usize, -5000, 5000));
        inputs[3] = constant(d.i32s(out_c as usize, 1 << 30, i32::MAX as i64));
        inputs[4] = constant(d.i32s(out_c as usize, -9, -5));
        let params = ConvParams {
            input: from,
            output,
            filter_h: k,
            filter_w: k,
            stride_h: s,
            stride_w: s,
            dilation_h: 1,
            dilation_w: 1,
            pad_h: pad,
            pad_w: pad,
            depth_multiplier: if depthwise { out_c / from[3] } else { 1 },
            input_offset: d.range(-127, 128) as i32,
            output_offset: d.range(-128, 127) as i32,
            act_min: -128,
            act_max: 127,
        };
        let kernel = if depthwise { KernelId::DepthwiseConv2dS8 } else { KernelId::Conv2dS8 };
        let step = Step {
            kernel,
            variant: Variant::Reference,
            params: StepParams::Conv(params),
            inputs,
            output: arena_slice(count(output)),
            scratch: None,
        };
        (step, output)
    };
    let pool = |from: [u32; 4], k: u32, s: u32, average: bool| {
        let pad = if s == 1 { k / 2 } else { 0 };
        let output = [1, out_size(from[1], k, s, pad), out_size(from[2], k, s, pad), from[3]];
        let params = PoolParams {
            input: from,
            output,
            filter_h: k,
            filter_w: k,
            stride_h: s,
            stride_w: s,
            pad_h: pad,
            pad_w: pad,
            act_min: -128,
            act_max: 127,
        };
        let mut inputs = [Operand::Unused; MAX_OPERANDS];
        inputs[0] = Operand::Arena(arena_slice(count(from)));
        let kernel = if average { KernelId::AvgPool2dS8 } else { KernelId::MaxPool2dS8 };
        (
            Step {
                kernel,
                variant: Variant::Reference,
                params: StepParams::Pool(params),
                inputs,
                output: arena_slice(count(output)),
                scratch: None,
            },
            output,
        )
    };
    match chain {
        Chain::InvertedResidual | Chain::InvertedStride2 => {
            let expanded = c * d.u(2, 4);
            let stride = if chain == Chain::InvertedStride2 { 2 } else { 1 };
            let (expand, e) = conv(input, 1, 1, expanded, false, &mut d);
            let (depthwise, dw) = conv(e, 3, stride, expanded, true, &mut d);
            let out_c = if stride == 1 { c } else { d.u(1, 6) };
            let (project, p) = conv(dw, 1, 1, out_c, false, &mut d);
            members.extend([expand, depthwise, project]);
            reads.extend([[Some(Ref::Input), None], [Some(Ref::Member(0)), None], [Some(Ref::Member(1)), None]]);
            if stride == 1 {
                members.push(add(p, &mut d));
                reads.push([Some(Ref::Member(2)), Some(Ref::Input)]);
            }
        }
        Chain::ConvPools => {
            let (first, a) = conv(input, 3, 2, d.u(1, 6), false, &mut d);
            let (avg, b) = pool(a, 3, 1, true);
            let (max, _) = pool(b, 2, 2, false);
            members.extend([first, avg, max]);
            reads.extend([[Some(Ref::Input), None], [Some(Ref::Member(0)), None], [Some(Ref::Member(1)), None]]);
        }
        Chain::Shortcut => {
            let out_c = d.u(1, 6);
            let (a, sa) = conv(input, 3, 2, out_c, false, &mut d);
            let (b, sb) = conv(sa, 3, 1, out_c, false, &mut d);
            let (shortcut, ss) = conv(input, 1, 2, out_c, false, &mut d);
            assert_eq!(sb, ss);
            members.extend([a, b, shortcut, add(sb, &mut d)]);
            reads.extend([
                [Some(Ref::Input), None],
                [Some(Ref::Member(0)), None],
                [Some(Ref::Input), None],
                [Some(Ref::Member(1)), Some(Ref::Member(2))],
            ]);
        }
        Chain::StemResidual => {
            let ch = d.u(1, 5);
            let (stem, s0) = conv(input, 3, 1, ch, false, &mut d);
            let (a, s1) = conv(s0, 3, 1, ch, false, &mut d);
            let (b, s2) = conv(s1, 3, 1, ch, false, &mut d);
            members.extend([stem, a, b, add(s2, &mut d)]);
            reads.extend([
                [Some(Ref::Input), None],
                [Some(Ref::Member(0)), None],
                [Some(Ref::Member(1)), None],
                [Some(Ref::Member(2)), Some(Ref::Member(0))],
            ]);
        }
    }
    let input = d.bytes(count(input) as usize);
    Segment { members, reads, model, input }
}

/// The shape of member `j`'s output and its row bytes.
fn out_rows(step: &Step) -> (u32, u32) {
    let shape = match step.params {
        StepParams::Conv(p) => p.output,
        StepParams::Pool(p) => p.output,
        StepParams::Add(p) => p.output,
        _ => unreachable!("members are convolutions, pools and ADDs"),
    };
    (shape[1], shape[2] * shape[3])
}

/// Place the segment's members in an arena: the input at `input_at`, the output at `output_at`, and the
/// intermediate tensors after `rings_at`, each as a ring of `held(j)` rows (or whole when `held(j)` is its
/// height); every arena input wired as `seg.reads` says.
fn place(seg: &Segment, input_at: u32, output_at: u32, rings_at: u32, held: impl Fn(usize) -> u32) -> Vec<Step> {
    let mut steps = seg.members.clone();
    let n = steps.len();
    let mut at = rings_at;
    let input = Slice { offset: input_at, len: seg.input.len() as u32 };
    for j in 0..n {
        if j + 1 == n {
            steps[j].output.offset = output_at;
        } else {
            let (_, row_bytes) = out_rows(&steps[j]);
            steps[j].output = Slice { offset: at, len: held(j) * row_bytes };
            at += steps[j].output.len + 16;
        }
        for k in 0..2 {
            match seg.reads[j][k] {
                Some(Ref::Input) => steps[j].inputs[k] = Operand::Arena(input),
                Some(Ref::Member(i)) => steps[j].inputs[k] = Operand::Arena(steps[i].output),
                None => {}
            }
        }
    }
    steps
}

/// The bytes a tensor of `len` bytes occupies after the ring region of `members` (generous).
fn rings_bytes(members: &[Step]) -> u32 {
    members.iter().map(|s| s.output.len + 16).sum()
}

fn poison(len: usize, seed: u64) -> Vec<u8> {
    let mut d = Draw(seed | 1);
    d.bytes(len)
}

/// Run `steps` (a program) over a poisoned arena of `arena_len` bytes with the input at `input_at`; the output
/// at `output` and the run's result.
fn run_program(
    seg: &Segment,
    steps: &[Step],
    arena_len: u32,
    input_at: u32,
    output: Slice,
) -> Result<Vec<u8>, KernelError> {
    let mut arena = poison(arena_len as usize, 7);
    arena[input_at as usize..input_at as usize + seg.input.len()].copy_from_slice(&seg.input);
    let program =
        Program { steps, model: &seg.model, precomputed: &[], arena_bytes: arena_len, inputs: &[], outputs: &[] };
    run(&program, &mut arena)?;
    Ok(arena[output.range().unwrap()].to_vec())
}

/// The output of the members run layer by layer, every tensor whole and disjoint.
fn layer_by_layer(seg: &Segment) -> Vec<u8> {
    let whole = seg.members.iter().map(|s| s.output.len + 16).sum::<u32>() + seg.input.len() as u32;
    let steps = place(seg, 0, whole, seg.input.len() as u32 + 16, |j| out_rows(&seg.members[j]).0);
    let last = steps.last().unwrap().output;
    run_program(seg, &steps, whole + last.len + 16, 0, last).expect("the layer-by-layer run works")
}

/// The segment header followed by `members`.
fn with_header(members: &[Step]) -> Vec<Step> {
    let mut inputs = [Operand::Unused; MAX_OPERANDS];
    inputs[0] = members[0].inputs[0];
    let header = Step {
        kernel: KernelId::RowStreamS8,
        variant: Variant::Reference,
        params: StepParams::Stream(StreamParams { members: members.len() as u32 }),
        inputs,
        output: members.last().unwrap().output,
        scratch: None,
    };
    std::iter::once(header).chain(members.iter().copied()).collect()
}

/// The rows each ring needs ([`ring_rows`]), plus `extra`, capped at the tensor's height.
fn tight(seg: &Segment, extra: u32) -> impl Fn(usize) -> u32 + '_ {
    let whole = place(seg, 0, 1 << 20, 1 << 16, |j| out_rows(&seg.members[j]).0);
    let rows = segment_rows(&whole).expect("a segment");
    let need = ring_rows(&rows[..whole.len()]).expect("ring sizes");
    move |j| (need[j] as u32 + extra).min(out_rows(&seg.members[j]).0)
}

/// The segment streamed with its output `lead` bytes before its input (disjoint when `lead` is `None`).
fn streamed(seg: &Segment, lead: Option<i64>, extra: u32) -> Result<Vec<u8>, KernelError> {
    let rings = rings_bytes(&seg.members);
    let out_len = seg.members.last().unwrap().output.len as i64;
    let in_len = seg.input.len() as i64;
    let (output_at, input_at) = match lead {
        None => (rings as i64, rings as i64 + out_len + 16),
        Some(lead) => (rings as i64, rings as i64 + lead),
    };
    let members = place(seg, input_at as u32, output_at as u32, 0, tight(seg, extra));
    let end = (input_at + in_len).max(output_at + out_len) as u32 + 16;
    run_program(seg, &with_header(&members), end, input_at as u32, members.last().unwrap().output)
}

const CHAINS: [Chain; 5] =
    [Chain::InvertedResidual, Chain::InvertedStride2, Chain::ConvPools, Chain::Shortcut, Chain::StemResidual];

#[test]
fn a_streamed_segment_writes_what_its_layers_write() {
    for chain in CHAINS {
        for seed in 0..40 {
            let seg = segment(chain, seed);
            let expected = layer_by_layer(&seg);
            for extra in [0, 1, 3] {
                assert_eq!(streamed(&seg, None, extra).unwrap(), expected, "{chain:?} seed {seed} extra {extra}");
            }
        }
    }
}

#[test]
fn the_declared_lead_is_safe_and_tight_where_positive() {
    let mut tight_seen = 0;
    for chain in CHAINS {
        for seed in 0..40 {
            let seg = segment(chain, seed);
            let members = place(&seg, 0, 1 << 20, 1 << 16, tight(&seg, 0));
            let lead = stream_lead_bytes(&members).expect("a segment declares a lead") as i64;
            let expected = layer_by_layer(&seg);
            assert_eq!(streamed(&seg, Some(lead), 0).unwrap(), expected, "{chain:?} seed {seed} lead {lead}");
            if lead > 0 && streamed(&seg, Some(lead - 1), 0) != Ok(expected) {
                tight_seen += 1;
            }
        }
    }
    // Without a residual the lead is positive; somewhere one byte less must break the output.
    assert!(tight_seen > 0, "no positive lead was shown tight");
}

#[test]
fn a_residual_block_streams_in_place() {
    // The inverted residual reads each input row for the last time in the ADD that writes the same output
    // row, so its output may sit exactly on its input.
    for seed in 0..20 {
        let seg = segment(Chain::InvertedResidual, seed);
        let members = place(&seg, 0, 1 << 20, 1 << 16, tight(&seg, 0));
        assert_eq!(stream_lead_bytes(&members), Some(0), "seed {seed}");
    }
}

#[test]
fn every_ring_one_row_smaller_than_sized_is_refused() {
    let mut refused = 0;
    for chain in CHAINS {
        for seed in 0..10 {
            let seg = segment(chain, seed);
            let need = tight(&seg, 0);
            for shrink in 0..seg.members.len() - 1 {
                if need(shrink) <= 1 {
                    continue;
                }
                let members = place(&seg, 1 << 16, 1 << 17, 0, |j| need(j) - u32::from(j == shrink));
                let out = members.last().unwrap().output;
                let header = with_header(&members);
                let result = run_program(&seg, &header, (1 << 17) + out.len + 16, 1 << 16, out);
                assert_eq!(result, Err(KernelError::BadOperand { step: 0 }), "{chain:?} seed {seed} ring {shrink}");
                refused += 1;
            }
        }
    }
    assert!(refused > 20, "only {refused} rings were shrunk");
}

#[test]
fn a_ring_smaller_than_a_window_is_refused() {
    let seg = segment(Chain::InvertedStride2, 3);
    // The depthwise reads 3 rows of the expanded tensor: a ring of 2 cannot hold them.
    let members = place(&seg, 4096, 8192, 0, |j| if j == 0 { 2 } else { 1 });
    let out = members.last().unwrap().output;
    let result = run_program(&seg, &with_header(&members), 16384, 4096, out);
    assert_eq!(result, Err(KernelError::BadOperand { step: 0 }));
}

#[test]
fn an_output_over_a_ring_or_too_close_to_the_input_is_refused() {
    let seg = segment(Chain::InvertedStride2, 5);
    let members = place(&seg, 4096, 8192, 0, tight(&seg, 0));
    let mut over_ring = members.clone();
    let n = over_ring.len();
    over_ring[n - 1].output.offset = members[0].output.offset;
    let header = with_header(&over_ring);
    let out = over_ring[n - 1].output;
    assert_eq!(run_program(&seg, &header, 16384, 4096, out), Err(KernelError::Overlap { step: 0 }));
    let lead = stream_lead_bytes(&members).unwrap() as u32;
    let mut too_close = members.clone();
    too_close[n - 1].output.offset = 4096 + 1 - lead;
    let header = with_header(&too_close);
    let out = too_close[n - 1].output;
    assert_eq!(run_program(&seg, &header, 16384, 4096, out), Err(KernelError::Overlap { step: 0 }));
}

#[test]
fn the_gathered_convolution_writes_what_the_plain_one_writes_within_and_beyond_its_window() {
    use arenaplan_kernels::reference::conv2d_s8::{conv2d_s8, conv2d_s8_rows_gathered, GATHER_BYTES};
    let mut beyond = 0;
    for seed in 0..24u64 {
        let mut d = Draw(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        // Some windows exceed the stack copy (3 x 3 x in_c > GATHER_BYTES) and take the plain loop.
        let (k, in_c) = if seed % 3 == 0 { (3, 120 + d.u(0, 20)) } else { (d.u(1, 3), d.u(1, 16)) };
        beyond += usize::from((k * k * in_c) as usize > GATHER_BYTES);
        let (h, w, out_c, s) = (d.u(k, 7), d.u(k, 6), d.u(1, 9), d.u(1, 2));
        let pad = k / 2;
        let out = |n: u32| (n + 2 * pad - k) / s + 1;
        let p = ConvParams {
            input: [1, h, w, in_c],
            output: [1, out(h), out(w), out_c],
            filter_h: k,
            filter_w: k,
            stride_h: s,
            stride_w: s,
            dilation_h: 1,
            dilation_w: 1,
            pad_h: pad,
            pad_w: pad,
            depth_multiplier: 1,
            input_offset: d.range(-127, 128) as i32,
            output_offset: d.range(-128, 127) as i32,
            act_min: -128,
            act_max: 127,
        };
        let input = d.bytes((h * w * in_c) as usize);
        let filter = d.bytes((out_c * k * k * in_c) as usize);
        let bias = d.i32s(out_c as usize, -5000, 5000);
        let mult = d.i32s(out_c as usize, 1 << 30, i32::MAX as i64);
        let shift = d.i32s(out_c as usize, -9, -5);
        let len = (p.output[1] * p.output[2] * out_c) as usize;
        let (mut plain, mut gathered) = (vec![0u8; len], vec![0u8; len]);
        conv2d_s8(&p, false, &input, &filter, &bias, &mult, &shift, &mut plain).unwrap();
        let rows = 0..p.output[1] as usize;
        conv2d_s8_rows_gathered(&p, &input[..], &filter, &bias, &mult, &shift, &mut gathered[..], rows).unwrap();
        assert_eq!(plain, gathered, "seed {seed}: {p:?}");
    }
    assert!(beyond > 0, "no window exceeded the stack copy");
}
