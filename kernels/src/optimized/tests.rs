//! The lane (Cortex-M) formulation against the reference, run on the host where the public functions take the
//! wide formulation; `tests/optimized.rs` checks the public functions.

extern crate std;

use super::{conv2d_s8, fully_connected_s8, Engine};
use crate::program::{ConvParams, FullyConnectedParams};
use crate::reference;
use proptest::prelude::*;
use std::vec;
use std::vec::Vec;

fn words(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Bytes from a seed (xorshift64*).
fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            (s.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

prop_compose! {
    fn conv_case()(
        depthwise in any::<bool>(), in_h in 1..=9u32, in_w in 1..=9u32,
        in_c in prop_oneof![1..=9u32, Just(4), Just(8), Just(16)], out_c_or_dm in 1..=7u32,
        k in prop_oneof![Just((1u32, 1u32)), Just((3, 3)), Just((3, 3)), Just((5, 5)), Just((3, 2))],
        stride in (1..=3u32, 1..=3u32), dil in prop_oneof![3 => Just((1u32, 1u32)), 1 => Just((2, 2))],
        pad in (0..=2u32, 0..=2u32), input_offset in prop_oneof![3 => -127..=128i32, 1 => -255..=255i32],
        output_offset in -128..=127i32,
        multiplier in prop_oneof![(1i32 << 30)..=i32::MAX, 1..=(1i32 << 20)], shift in -12..=2i32,
        with_bias in any::<bool>(), seed in any::<u64>(),
    ) -> Option<(ConvParams, bool, bool, u64)> {
        let dm = if depthwise { out_c_or_dm.min(3) } else { 1 };
        let (k, dm) = if depthwise && seed % 2 == 0 { ((3, 3), 1) } else { (k, dm) };
        let out_c = if depthwise { in_c * dm } else { out_c_or_dm };
        let span = (dil.0 * (k.0 - 1) + 1, dil.1 * (k.1 - 1) + 1);
        if in_h + 2 * pad.0 < span.0 || in_w + 2 * pad.1 < span.1 {
            None
        } else {
            let out_h = (in_h + 2 * pad.0 - span.0) / stride.0 + 1;
            let out_w = (in_w + 2 * pad.1 - span.1) / stride.1 + 1;
            let p = ConvParams {
                input: [1, in_h, in_w, in_c], output: [1, out_h, out_w, out_c], filter_h: k.0, filter_w: k.1,
                stride_h: stride.0, stride_w: stride.1, dilation_h: dil.0, dilation_w: dil.1, pad_h: pad.0,
                pad_w: pad.1, depth_multiplier: dm, input_offset, output_offset, act_min: -128, act_max: 127,
            };
            let _ = (multiplier, shift);
            Some((p, depthwise, with_bias, seed ^ ((multiplier as u64) << 8) ^ (shift as u64)))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn lanes_conv_matches_reference(case in conv_case(), multiplier in (1i32 << 30)..=i32::MAX, shift in -12..=-3i32) {
        let Some((mut p, depthwise, with_bias, seed)) = case else { return Ok(()) };
        if seed % 3 == 0 {
            // A narrower output range (ReLU-like), besides all of int8.
            (p.act_min, p.act_max) = (-100 + (seed % 50) as i32, 90);
        }
        let out_c = p.output[3] as usize;
        let input = bytes(seed, p.input.iter().product::<u32>() as usize);
        let filter_len = if depthwise { 1 } else { p.input[3] } * p.filter_h * p.filter_w * p.output[3];
        let filter = bytes(seed.rotate_left(17), filter_len as usize);
        let bias = if with_bias { words(&(0..out_c as i32).map(|i| i * 977 - 3000).collect::<Vec<_>>()) } else { Vec::new() };
        let mults = words(&vec![multiplier; out_c]);
        let shifts = words(&(0..out_c as i32).map(|i| shift - i % 2).collect::<Vec<_>>());
        let out_len = p.output.iter().product::<u32>() as usize;
        let mut expected = vec![0u8; out_len];
        reference::conv2d_s8::conv2d_s8(&p, depthwise, &input, &filter, &bias, &mults, &shifts, &mut expected).unwrap();
        let mut scratch = vec![0u8; conv2d_s8::conv2d_s8_scratch_bytes(&p, depthwise) + 1];
        let mut got = vec![0u8; out_len];
        conv2d_s8::run(Engine::Lanes, &p, depthwise, &input, &filter, &bias, &mults, &shifts, &mut scratch[1..], &mut got);
        prop_assert_eq!(expected, got);
    }

    #[test]
    fn lanes_conv_1x1_direct_matches_reference(
        batches in 1..=2u32, in_h in 1..=6u32, in_w in 4..=6u32, in_c in prop_oneof![Just(4u32), Just(8), Just(12), 4..=24u32],
        out_c in 1..=9u32, input_offset in prop_oneof![3 => -127..=128i32, 1 => -255..=255i32],
        output_offset in -128..=127i32, multiplier in prop_oneof![(1i32 << 30)..=i32::MAX, 1..=(1i32 << 20)],
        shift in -12..=1i32, act in prop_oneof![Just((-128i32, 127i32)), (-128..=127i32, -128..=127i32)], with_bias in any::<bool>(), seed in any::<u64>(),
    ) {
        let in_c = in_c / 4 * 4;
        let p = ConvParams {
            input: [batches, in_h, in_w, in_c], output: [batches, in_h, in_w, out_c], filter_h: 1, filter_w: 1,
            stride_h: 1, stride_w: 1, dilation_h: 1, dilation_w: 1, pad_h: 0, pad_w: 0, depth_multiplier: 1,
            input_offset, output_offset, act_min: act.0.min(act.1), act_max: act.0.max(act.1),
        };
        let input = bytes(seed, p.input.iter().product::<u32>() as usize);
        let filter = bytes(seed.rotate_left(17), (in_c * out_c) as usize);
        let bias = if with_bias { words(&(0..out_c as i32).map(|i| i * 977 - 3000).collect::<Vec<_>>()) } else { Vec::new() };
        let mults = words(&vec![multiplier; out_c as usize]);
        let shifts = words(&(0..out_c as i32).map(|i| shift - i % 3).collect::<Vec<_>>());
        let out_len = p.output.iter().product::<u32>() as usize;
        let mut expected = vec![0u8; out_len];
        reference::conv2d_s8::conv2d_s8(&p, false, &input, &filter, &bias, &mults, &shifts, &mut expected).unwrap();
        let mut scratch = vec![0u8; conv2d_s8::conv2d_s8_scratch_bytes(&p, false) + 3];
        let mut got = vec![0u8; out_len];
        let at = (seed % 4) as usize;
        conv2d_s8::run(Engine::Lanes, &p, false, &input, &filter, &bias, &mults, &shifts, &mut scratch[at..], &mut got);
        prop_assert_eq!(expected, got);
    }

    #[test]
    fn lanes_fully_connected_matches_reference(
        batches in 1..=4u32, depth in 1..=40u32, units in 1..=7u32, input_offset in -127..=128i32,
        filter_offset in prop_oneof![Just(0i32), -127..=128i32], shift in -13..=-5i32, seed in any::<u64>(),
    ) {
        let p = FullyConnectedParams {
            batches, depth, units, input_offset, filter_offset, output_offset: 3, act_min: -100, act_max: 120,
        };
        let input = bytes(seed, (batches * depth) as usize);
        let weights = bytes(seed.rotate_left(9), (units * depth) as usize);
        let bias = words(&(0..units as i32).map(|i| 500 - i * 211).collect::<Vec<_>>());
        let (mults, shifts) = (words(&[1_300_000_000]), words(&[shift]));
        let mut expected = vec![0u8; (batches * units) as usize];
        reference::fully_connected_s8::fully_connected_s8(&p, &input, &weights, &bias, &mults, &shifts, &mut expected).unwrap();
        let mut scratch = vec![0u8; fully_connected_s8::fully_connected_s8_scratch_bytes(&p) + 2];
        let mut got = vec![0u8; expected.len()];
        fully_connected_s8::run(Engine::Lanes, &p, &input, &weights, &bias, &mults, &shifts, &mut scratch[2..], &mut got);
        prop_assert_eq!(expected, got);
    }
}
