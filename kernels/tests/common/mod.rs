//! Helpers shared by the kernels' integration tests.

use arenaplan_kernels::program::AddParams;

/// Deterministic draws from a seed (xorshift64*).
#[allow(dead_code)] // each test file uses its own subset
pub struct Draw(pub u64);

impl Draw {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() >> 1) as i64 % (hi - lo + 1)
    }
    pub fn u(&mut self, lo: u32, hi: u32) -> u32 {
        self.range(lo as i64, hi as i64) as u32
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 24) as u8).collect()
    }
    pub fn i32s(&mut self, n: usize, lo: i64, hi: i64) -> Vec<u8> {
        (0..n).flat_map(|_| (self.range(lo, hi) as i32).to_le_bytes()).collect()
    }
}

/// ADD parameters for three tensors of shape `s`, offsets and multipliers drawn from `d`.
#[allow(dead_code)] // not every test file adds
pub fn add_params(s: [u32; 4], d: &mut Draw) -> AddParams {
    AddParams {
        input1: s,
        input2: s,
        output: s,
        left_shift: 20,
        input1_offset: d.range(-127, 128) as i32,
        input1_multiplier: d.range(1 << 30, i32::MAX as i64) as i32,
        input1_shift: -1,
        input2_offset: d.range(-127, 128) as i32,
        input2_multiplier: d.range(1 << 30, i32::MAX as i64) as i32,
        input2_shift: -1,
        output_multiplier: d.range(1 << 30, i32::MAX as i64) as i32,
        output_shift: -19,
        output_offset: d.range(-128, 127) as i32,
        act_min: -128,
        act_max: 127,
    }
}
