//! The optimized kernels against the reference kernels, bit for bit, over random shapes and parameters.

use arenaplan_kernels::optimized;
use arenaplan_kernels::program::{ConvParams, FullyConnectedParams};
use arenaplan_kernels::quant::multiply_by_quantized_multiplier;
use arenaplan_kernels::reference;
use arenaplan_kernels::KernelError;
use proptest::prelude::*;

/// Deterministic bytes from a seed (xorshift64*), so shapes and data can be drawn independently.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 32) as u8).collect()
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() >> 1) as i64 % (hi - lo + 1)
    }
    /// Multipliers of every regime: normal Q31 in [2^30, 2^31), the largest, tiny ones.
    fn multiplier(&mut self) -> i32 {
        match self.range(0, 9) {
            0 => i32::MAX,
            1 => self.range(1, 1 << 20) as i32,
            2 => self.range(i32::MAX as i64 - 1000, i32::MAX as i64) as i32,
            _ => self.range(1 << 30, i32::MAX as i64) as i32,
        }
    }
    /// Shifts: mostly the range that keeps outputs informative (a wrong accumulator shows), sometimes extreme.
    fn shift(&mut self, lo: i64) -> i32 {
        if self.range(0, 3) == 0 {
            self.range(lo, 7) as i32
        } else {
            self.range(-12, -3) as i32
        }
    }
    fn words(&mut self, n: usize, f: impl Fn(&mut Self) -> i32) -> Vec<u8> {
        (0..n).flat_map(|_| f(self).to_le_bytes()).collect()
    }
}

/// Requantisation constants, bias and output range for `channels` channels.
struct Quant {
    bias: Vec<u8>,
    multipliers: Vec<u8>,
    shifts: Vec<u8>,
    output_offset: i32,
    act_min: i32,
    act_max: i32,
}

fn quant(r: &mut Bytes, channels: usize, with_bias: bool, shift_lo: i64) -> Quant {
    let bias = if with_bias { r.words(channels, |r| r.range(-(1 << 20), 1 << 20) as i32) } else { Vec::new() };
    let multipliers = r.words(channels, |r| r.multiplier());
    let shifts = r.words(channels, |r| r.shift(shift_lo));
    let (a, b) = (r.range(-128, 127) as i32, r.range(-128, 127) as i32);
    let (act_min, act_max) = if r.range(0, 3) != 0 { (-128, 127) } else { (a.min(b), a.max(b)) };
    Quant { bias, multipliers, shifts, output_offset: r.range(-128, 127) as i32, act_min, act_max }
}

/// Output size and leading padding of one spatial axis: SAME, VALID, or explicit padding.
fn axis(input: u32, k: u32, stride: u32, dil: u32, mode: u8) -> Option<(u32, u32)> {
    let span = dil * (k - 1) + 1;
    match mode {
        0 => {
            let out = input.div_ceil(stride);
            let needed = ((out - 1) * stride + span).saturating_sub(input);
            Some((out, needed / 2))
        }
        1 => (input >= span).then(|| ((input - span) / stride + 1, 0)),
        _ => {
            let pad = 1 + u32::from(mode == 3);
            (input + 2 * pad >= span).then(|| ((input + 2 * pad - span) / stride + 1, pad))
        }
    }
}

#[derive(Debug, Clone)]
struct ConvCase {
    depthwise: bool,
    batches: u32,
    in_h: u32,
    in_w: u32,
    in_c: u32,
    out_c_or_dm: u32,
    k: (u32, u32),
    stride: (u32, u32),
    dil: (u32, u32),
    pad_mode: (u8, u8),
    with_bias: bool,
    seed: u64,
}

fn filters() -> impl Strategy<Value = (u32, u32)> {
    prop_oneof![Just((1, 1)), Just((3, 3)), Just((3, 3)), Just((5, 5)), Just((3, 2)), Just((2, 3)), Just((1, 3))]
}

fn channels() -> impl Strategy<Value = u32> {
    prop_oneof![1..=9u32, Just(4), Just(8), Just(12), Just(16), Just(32)]
}

fn conv_case(depthwise: bool) -> impl Strategy<Value = ConvCase> {
    (
        (1..=2u32, 1..=11u32, 1..=11u32, channels()),
        if depthwise { (1..=3u32).boxed() } else { (1..=9u32).boxed() },
        filters(),
        ((1..=3u32, 1..=3u32), prop_oneof![3 => Just((1, 1)), 1 => (1..=3u32, 1..=2u32)]),
        ((0..4u8, 0..4u8), any::<bool>(), any::<u64>()),
    )
        .prop_map(
            move |((batches, in_h, in_w, in_c), out_c_or_dm, k, (stride, dil), (pad_mode, with_bias, seed))| ConvCase {
                depthwise,
                batches,
                in_h,
                in_w,
                in_c,
                out_c_or_dm,
                k,
                stride,
                dil,
                pad_mode,
                with_bias,
                seed: seed | 1,
            },
        )
}

/// Run reference and optimized on one case; `None` when the shapes give no output.
fn run_conv(case: &ConvCase, scratch_offset: usize) -> Option<(Vec<u8>, Vec<u8>)> {
    let (oh, ph) = axis(case.in_h, case.k.0, case.stride.0, case.dil.0, case.pad_mode.0)?;
    let (ow, pw) = axis(case.in_w, case.k.1, case.stride.1, case.dil.1, case.pad_mode.1)?;
    let out_c = if case.depthwise { case.in_c * case.out_c_or_dm } else { case.out_c_or_dm };
    let mut r = Bytes(case.seed);
    let p = ConvParams {
        input: [case.batches, case.in_h, case.in_w, case.in_c],
        output: [case.batches, oh, ow, out_c],
        filter_h: case.k.0,
        filter_w: case.k.1,
        stride_h: case.stride.0,
        stride_w: case.stride.1,
        dilation_h: case.dil.0,
        dilation_w: case.dil.1,
        pad_h: ph,
        pad_w: pw,
        depth_multiplier: if case.depthwise { case.out_c_or_dm } else { 1 },
        input_offset: if r.range(0, 5) == 0 { [-127, 128][r.range(0, 1) as usize] } else { r.range(-127, 128) as i32 },
        output_offset: 0,
        act_min: -128,
        act_max: 127,
    };
    let q = quant(&mut r, out_c as usize, case.with_bias, -31);
    let p = ConvParams { output_offset: q.output_offset, act_min: q.act_min, act_max: q.act_max, ..p };
    let input = r.bytes((case.batches * case.in_h * case.in_w * case.in_c) as usize);
    let filter_len = if case.depthwise { case.k.0 * case.k.1 * out_c } else { out_c * case.k.0 * case.k.1 * case.in_c };
    let filter = r.bytes(filter_len as usize);
    let out_len = (case.batches * oh * ow * out_c) as usize;
    let mut expected = vec![0u8; out_len];
    reference::conv2d_s8::conv2d_s8(
        &p,
        case.depthwise,
        &input,
        &filter,
        &q.bias,
        &q.multipliers,
        &q.shifts,
        &mut expected,
    )
    .unwrap();
    let need = optimized::conv2d_s8::conv2d_s8_scratch_bytes(&p, case.depthwise);
    let mut scratch = vec![0xa5u8; need + scratch_offset];
    let mut got = vec![0u8; out_len];
    optimized::conv2d_s8::conv2d_s8(
        &p,
        case.depthwise,
        &input,
        &filter,
        &q.bias,
        &q.multipliers,
        &q.shifts,
        &mut scratch[scratch_offset..],
        &mut got,
    )
    .unwrap();
    if need > 0 {
        let mut small = vec![0u8; need - 1];
        let err = optimized::conv2d_s8::conv2d_s8(
            &p,
            case.depthwise,
            &input,
            &filter,
            &q.bias,
            &q.multipliers,
            &q.shifts,
            &mut small,
            &mut got.clone(),
        );
        assert!(matches!(err, Err(KernelError::BadLength { .. })), "scratch one byte short must be refused");
    }
    Some((expected, got))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn requantize_matches_reference(x in any::<i32>(), seed in any::<u64>(), shift in -31..=31i32) {
        let mut r = Bytes(seed | 1);
        let m = if r.range(0, 6) == 0 { [i32::MIN, i32::MAX, 0, -1, 1][r.range(0, 4) as usize] } else { r.multiplier() };
        prop_assert_eq!(optimized::requantize(x, m, shift), multiply_by_quantized_multiplier(x, m, shift));
    }

    #[test]
    fn conv2d_matches_reference(case in conv_case(false), offset in 0..4usize) {
        if let Some((expected, got)) = run_conv(&case, offset) {
            prop_assert_eq!(expected, got);
        }
    }

    #[test]
    fn depthwise_matches_reference(case in conv_case(true), offset in 0..4usize) {
        if let Some((expected, got)) = run_conv(&case, offset) {
            prop_assert_eq!(expected, got);
        }
    }

    /// 1x1 stride-1 convolutions without padding (the direct paths: no im2col, offset folded into the bias).
    #[test]
    fn conv2d_1x1_matches_reference(
        batches in 1..=2u32, in_h in 1..=9u32, in_w in 1..=9u32, in_c in prop_oneof![channels(), 33..=70u32],
        out_c in 1..=9u32, pad_mode in (0..2u8, 0..2u8), with_bias in any::<bool>(), seed in any::<u64>(),
        offset in 0..4usize,
    ) {
        let case = ConvCase {
            depthwise: false, batches, in_h, in_w, in_c, out_c_or_dm: out_c, k: (1, 1), stride: (1, 1), dil: (1, 1),
            pad_mode, with_bias, seed: seed | 1,
        };
        if let Some((expected, got)) = run_conv(&case, offset) {
            prop_assert_eq!(expected, got);
        }
    }

    /// The 3x3 depth-multiplier-1 fast path, with images large enough to have interior pixels.
    #[test]
    fn depthwise_3x3_matches_reference(
        in_h in 3..=12u32, in_w in 3..=12u32, in_c in prop_oneof![Just(4u32), Just(8), Just(16), 5..=13u32],
        stride in (1..=2u32, 1..=2u32), dil in prop_oneof![3 => Just((1u32, 1u32)), 1 => Just((2, 1))],
        pad_mode in (0..2u8, 0..2u8), with_bias in any::<bool>(), seed in any::<u64>(),
    ) {
        let case = ConvCase {
            depthwise: true, batches: 1, in_h, in_w, in_c, out_c_or_dm: 1, k: (3, 3), stride, dil, pad_mode,
            with_bias, seed: seed | 1,
        };
        if let Some((expected, got)) = run_conv(&case, 1) {
            prop_assert_eq!(expected, got);
        }
    }

    #[test]
    fn fully_connected_matches_reference(
        batches in 1..=5u32, depth in 1..=70u32, units in 1..=9u32, per_channel in any::<bool>(),
        with_bias in any::<bool>(), filter_offset in prop_oneof![Just(0i32), -127..=128i32], seed in any::<u64>(),
    ) {
        let mut r = Bytes(seed | 1);
        let channels = if per_channel { units as usize } else { 1 };
        let q = quant(&mut r, channels, with_bias, -31);
        let bias = if with_bias { r.words(units as usize, |r| r.range(-(1 << 20), 1 << 20) as i32) } else { Vec::new() };
        let p = FullyConnectedParams {
            batches, depth, units,
            input_offset: r.range(-127, 128) as i32,
            filter_offset,
            output_offset: q.output_offset,
            act_min: q.act_min,
            act_max: q.act_max,
        };
        let input = r.bytes((batches * depth) as usize);
        let weights = r.bytes((units * depth) as usize);
        let mut expected = vec![0u8; (batches * units) as usize];
        reference::fully_connected_s8::fully_connected_s8(&p, &input, &weights, &bias, &q.multipliers, &q.shifts, &mut expected).unwrap();
        let need = optimized::fully_connected_s8::fully_connected_s8_scratch_bytes(&p);
        let mut scratch = vec![0x5au8; need + 2];
        let mut got = vec![0u8; expected.len()];
        optimized::fully_connected_s8::fully_connected_s8(&p, &input, &weights, &bias, &q.multipliers, &q.shifts, &mut scratch[1..], &mut got).unwrap();
        prop_assert_eq!(&expected, &got);
        let mut small = vec![0u8; need - 1];
        let refused = optimized::fully_connected_s8::fully_connected_s8(&p, &input, &weights, &bias, &q.multipliers, &q.shifts, &mut small, &mut got);
        prop_assert!(matches!(refused, Err(KernelError::BadLength { .. })), "scratch one byte short must be refused");
    }
}

/// Exact ties of both roundings (small accumulators, multipliers that are simple fractions), every shift.
#[test]
fn requantize_matches_reference_on_ties() {
    let multipliers = [1 << 30, 3 << 29, (1 << 30) + 1, i32::MAX, 1 << 29, 1, i32::MIN, -(1 << 30)];
    for m in multipliers {
        for shift in -31..=8 {
            for x in (-3000..3000).chain([i32::MIN, i32::MIN + 1, i32::MAX, i32::MAX - 1, 1 << 30, -(1 << 30)]) {
                assert_eq!(
                    optimized::requantize(x, m, shift),
                    multiply_by_quantized_multiplier(x, m, shift),
                    "x {x} multiplier {m} shift {shift}"
                );
            }
        }
    }
}
