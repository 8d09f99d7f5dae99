//! The few Cortex-M DSP-extension instructions the optimized kernels use, as small functions.
//!
//! On M-profile cores with the DSP extension (the hard-float bare-metal M-profile targets,
//! `thumbv7em-none-eabihf` for the Cortex-M4/M7 and `thumbv8m.main-none-eabihf` /
//! `thumbv8.1m.main-none-eabihf` for the Cortex-M33/M55) each function is one instruction of inline assembly;
//! everywhere else it is plain Rust computing exactly the same bits, so the kernels built on these functions are
//! tested on the host with the very lane arithmetic the microcontroller executes.
//!
//! Stable Rust exposes no `target_feature = "dsp"` cfg for ARM, so the gate is `target_os = "none"`,
//! little-endian, `eabihf` and no 64-bit atomics (which singles out M-profile cores). The assembly starts with
//! `.arch armv7e-m` so that it also assembles for `thumbv8m.main` without `-C target-cpu`; the encodings are the
//! same in ARMv8-M Mainline. A Cortex-M33 built without its optional DSP extension must not use these targets'
//! fast path (it would fault on the first SMLAD).
#![allow(unsafe_code)]

#[cfg(all(
    target_arch = "arm",
    target_os = "none",
    target_endian = "little",
    target_abi = "eabihf",
    not(target_has_atomic = "64")
))]
mod imp {
    use core::arch::asm;

    /// SXTB16: sign-extend bytes 0 and 2 of `x` into the two halfwords of the result.
    #[inline(always)]
    pub(crate) fn sxtb16(x: u32) -> u32 {
        let r: u32;
        // SAFETY: SXTB16 reads one register and writes another; it touches no memory, no stack and no flags.
        unsafe {
            asm!(".arch armv7e-m", "sxtb16 {r}, {x}", r = lateout(reg) r, x = in(reg) x,
                options(pure, nomem, nostack, preserves_flags));
        }
        r
    }

    /// SXTB16 with ROR #8: sign-extend bytes 1 and 3 of `x` into the two halfwords of the result.
    #[inline(always)]
    pub(crate) fn sxtb16_ror8(x: u32) -> u32 {
        let r: u32;
        // SAFETY: register-only instruction (the rotation is part of its operand); no memory, stack or flags.
        unsafe {
            asm!(".arch armv7e-m", "sxtb16 {r}, {x}, ror #8", r = lateout(reg) r, x = in(reg) x,
                options(pure, nomem, nostack, preserves_flags));
        }
        r
    }

    /// SMLAD: `acc + lo(a) * lo(b) + hi(a) * hi(b)` with signed 16-bit halves, wrapping modulo 2^32.
    #[inline(always)]
    pub(crate) fn smlad(a: u32, b: u32, acc: i32) -> i32 {
        let r: i32;
        // SAFETY: register-only instruction; it may set the sticky Q flag (so flags are not declared preserved),
        // and touches no memory or stack.
        unsafe {
            asm!(".arch armv7e-m", "smlad {r}, {a}, {b}, {c}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b,
                c = in(reg) acc, options(pure, nomem, nostack));
        }
        r
    }

    /// SADD16: lane-wise wrapping addition of the two signed halfwords.
    #[inline(always)]
    pub(crate) fn sadd16(a: u32, b: u32) -> u32 {
        let r: u32;
        // SAFETY: register-only instruction; it writes the GE flags (not declared preserved), no memory or stack.
        unsafe {
            asm!(".arch armv7e-m", "sadd16 {r}, {a}, {b}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b,
                options(pure, nomem, nostack));
        }
        r
    }
}

#[cfg(not(all(
    target_arch = "arm",
    target_os = "none",
    target_endian = "little",
    target_abi = "eabihf",
    not(target_has_atomic = "64")
)))]
mod imp {
    /// Portable SXTB16: sign-extend bytes 0 and 2 of `x` into the two halfwords of the result.
    #[inline(always)]
    pub(crate) fn sxtb16(x: u32) -> u32 {
        let lo = x as u8 as i8 as i16 as u16 as u32;
        let hi = (x >> 16) as u8 as i8 as i16 as u16 as u32;
        lo | (hi << 16)
    }

    /// Portable SXTB16 with ROR #8: sign-extend bytes 1 and 3 of `x`.
    #[inline(always)]
    pub(crate) fn sxtb16_ror8(x: u32) -> u32 {
        sxtb16(x.rotate_right(8))
    }

    /// Portable SMLAD: `acc + lo(a) * lo(b) + hi(a) * hi(b)`, wrapping modulo 2^32.
    #[inline(always)]
    pub(crate) fn smlad(a: u32, b: u32, acc: i32) -> i32 {
        let lo = (a as i16 as i32) * (b as i16 as i32);
        let hi = ((a >> 16) as i16 as i32) * ((b >> 16) as i16 as i32);
        acc.wrapping_add(lo.wrapping_add(hi))
    }

    /// Portable SADD16: lane-wise wrapping addition of the two signed halfwords.
    #[inline(always)]
    pub(crate) fn sadd16(a: u32, b: u32) -> u32 {
        let lo = (a as u16).wrapping_add(b as u16) as u32;
        let hi = ((a >> 16) as u16).wrapping_add((b >> 16) as u16) as u32;
        lo | (hi << 16)
    }
}

pub(crate) use imp::{sadd16, smlad, sxtb16, sxtb16_ror8};

/// True where the lane functions above are single DSP instructions (then the kernels use the lane formulation;
/// elsewhere they use plain loops the compiler vectorises).
pub(crate) const HAS_DSP: bool = cfg!(all(
    target_arch = "arm",
    target_os = "none",
    target_endian = "little",
    target_abi = "eabihf",
    not(target_has_atomic = "64")
));

/// The 2-byte-aligned middle of `bytes` as `i16`s (every bit pattern is a valid `i16`).
pub(crate) fn halves_mut(bytes: &mut [u8]) -> &mut [i16] {
    // SAFETY: `u8` and `i16` are plain integers for which every bit pattern is valid; `align_to_mut` only
    // returns a correctly aligned, in-bounds middle part that borrows `bytes` exclusively.
    let (_, halves, _) = unsafe { bytes.align_to_mut::<i16>() };
    halves
}

/// The 4-byte-aligned middle of `bytes` as words (every bit pattern is a valid `u32`), so that the compiler may
/// use the word-aligned multiple loads (LDRD/LDM) on the im2col columns.
pub(crate) fn words_mut(bytes: &mut [u8]) -> &mut [u32] {
    // SAFETY: `u8` and `u32` are plain integers for which every bit pattern is valid; `align_to_mut` only
    // returns a correctly aligned, in-bounds middle part that borrows `bytes` exclusively.
    let (_, words, _) = unsafe { bytes.align_to_mut::<u32>() };
    words
}

/// Pack two `i16` lanes into a word (`lo` in bits 0-15).
#[inline(always)]
pub(crate) fn pack16(lo: i32, hi: i32) -> u32 {
    (lo as u16 as u32) | ((hi as u16 as u32) << 16)
}

/// The low signed halfword.
#[inline(always)]
pub(crate) fn lo16(x: u32) -> i32 {
    x as i16 as i32
}

/// The high signed halfword.
#[inline(always)]
pub(crate) fn hi16(x: u32) -> i32 {
    (x >> 16) as i16 as i32
}

/// Accumulate the 2 pixels x 2 filter rows block over the full 4-tap groups of a two-pixel column:
/// `acc = [p0 . w0, p1 . w0, p0 . w1, p1 . w1]` (wrapping), where group `q` of `col` is the words
/// `[p0 (t0, t2), p1 (t0, t2), p0 (t1, t3), p1 (t1, t3)]` and `w0`, `w1` hold at least `col.len()` filter bytes.
#[inline(always)]
pub(crate) fn dot_2x2_groups(col: &[u32], w0: &[u8], w1: &[u8], acc: [i32; 4]) -> [i32; 4] {
    let groups = col.len() / 4;
    assert!(w0.len() >= 4 * groups && w1.len() >= 4 * groups);
    #[cfg(all(
        target_arch = "arm",
        target_os = "none",
        target_endian = "little",
        target_abi = "eabihf",
        not(target_has_atomic = "64")
    ))]
    {
        // An odd group first, in Rust; then pairs of groups in one assembly loop.
        let odd = groups % 2;
        let [mut a00, mut a10, mut a01, mut a11] = dot_2x2_portable(&col[..4 * odd], w0, w1, acc);
        let pairs = groups / 2;
        if pairs > 0 {
            let c = col[4 * odd..4 * groups].as_ptr();
            // SAFETY: `c` walks the 8 * pairs in-bounds words of `col` after the odd group; `end` is one past them.
            let end = unsafe { c.add(8 * pairs) };
            let w = w0[4 * odd..].as_ptr();
            let k = (w1.as_ptr() as usize).wrapping_sub(w0.as_ptr() as usize);
            // SAFETY: the loop runs `pairs` times (do-while: pairs >= 1). Each pass reads 8 words at `c` (inside
            // `col`, word-aligned because `col` is a `&[u32]`, as LDRD requires) and 8 bytes at `w` and at `w + k`,
            // which is the same offset into `w1` as `w` is into `w0`; the assert above bounds both rows by
            // `4 * groups` bytes, and `w` starts at byte `4 * odd`, so every read is in bounds. Unaligned LDR is
            // allowed on ARMv7-M and ARMv8-M Mainline. The only write is the push of r6 below the stack pointer
            // (so neither `nostack` nor `readonly` is claimed), popped before the block ends, which leaves r6 and sp as they were;
            // the flags (CMP, and the sticky Q flag of SMLAD) are declared clobbered by omitting
            // `preserves_flags`.
            unsafe {
                core::arch::asm!(
                    ".arch armv7e-m",
                    // r6 holds a fifth temporary. Rust never assigns it to a named operand, and every operand
                    // below is named, so r6 may hold a value of the surrounding code: it is saved on the stack and
                    // restored before the block ends.
                    "push {{r6}}",
                    "2:",
                    "ldr lr, [r5, r9]",
                    "ldr r12, [r5], #4",
                    "sxtb16 r6, r12, ror #8",
                    "sxtb16 r12, r12",
                    "ldrd r10, r11, [r4], #8",
                    "smlad r0, r10, r12, r0",
                    "smlad r1, r11, r12, r1",
                    "sxtb16 r12, lr, ror #8",
                    "sxtb16 lr, lr",
                    "smlad r2, r10, lr, r2",
                    "smlad r3, r11, lr, r3",
                    "ldrd r10, r11, [r4], #8",
                    "smlad r0, r10, r6, r0",
                    "smlad r1, r11, r6, r1",
                    "smlad r2, r10, r12, r2",
                    "smlad r3, r11, r12, r3",
                    "ldr lr, [r5, r9]",
                    "ldr r12, [r5], #4",
                    "sxtb16 r6, r12, ror #8",
                    "sxtb16 r12, r12",
                    "ldrd r10, r11, [r4], #8",
                    "smlad r0, r10, r12, r0",
                    "smlad r1, r11, r12, r1",
                    "sxtb16 r12, lr, ror #8",
                    "sxtb16 lr, lr",
                    "smlad r2, r10, lr, r2",
                    "smlad r3, r11, lr, r3",
                    "ldrd r10, r11, [r4], #8",
                    "smlad r0, r10, r6, r0",
                    "smlad r1, r11, r6, r1",
                    "smlad r2, r10, r12, r2",
                    "smlad r3, r11, r12, r3",
                    "cmp r4, r8",
                    "bne 2b",
                    "pop {{r6}}",
                    // Every operand in an explicit register (a00..a11 = r0..r3, column r4, filter r5, end r8,
                    // row distance r9, column words r10/r11, filter words r12/lr), so none of them is r6.
                    inout("r0") a00,
                    inout("r1") a10,
                    inout("r2") a01,
                    inout("r3") a11,
                    inout("r4") c => _,
                    inout("r5") w => _,
                    in("r8") end,
                    in("r9") k,
                    out("r10") _,
                    out("r11") _,
                    out("r12") _,
                    out("lr") _,
                    // Not `readonly`: the push writes (unobservable) stack memory; not `nostack` either.
                    options(),
                );
            }
        }
        [a00, a10, a01, a11]
    }
    #[cfg(not(all(
        target_arch = "arm",
        target_os = "none",
        target_endian = "little",
        target_abi = "eabihf",
        not(target_has_atomic = "64")
    )))]
    {
        dot_2x2_portable(col, w0, w1, acc)
    }
}

/// The 2 pixels x 2 output channels block of a 1x1 convolution read straight from the int8 input rows:
/// `acc + [x0 . w0, x1 . w0, x0 . w1, x1 . w1]` (wrapping), where `x0`, `x1` are `4 * groups` input bytes each
/// (widened here, two lanes per SXTB16) and group `q` of `wcol` is the words `[w0 (t0, t2), w1 (t0, t2),
/// w0 (t1, t3), w1 (t1, t3)]` (the filter rows already widened in the same lane order), `groups = wcol.len() / 4`.
#[inline(always)]
pub(crate) fn dot_2x2_rows(x0: &[u8], x1: &[u8], wcol: &[u32], acc: [i32; 4]) -> [i32; 4] {
    let groups = wcol.len() / 4;
    assert!(x0.len() >= 4 * groups && x1.len() >= 4 * groups);
    #[cfg(all(
        target_arch = "arm",
        target_os = "none",
        target_endian = "little",
        target_abi = "eabihf",
        not(target_has_atomic = "64")
    ))]
    {
        // An odd group first, in Rust; then pairs of groups in one assembly loop.
        let odd = groups % 2;
        let [mut a00, mut a10, mut a01, mut a11] = dot_2x2_rows_portable(x0, x1, &wcol[..4 * odd], acc);
        let pairs = groups / 2;
        if pairs > 0 {
            let w = wcol[4 * odd..4 * groups].as_ptr();
            // SAFETY: `w` walks the 8 * pairs in-bounds words of `wcol` after the odd group; `end` is one past them.
            let end = unsafe { w.add(8 * pairs) };
            let x = x0[4 * odd..].as_ptr();
            let k = (x1.as_ptr() as usize).wrapping_sub(x0.as_ptr() as usize);
            // SAFETY: the loop runs `pairs` times (do-while: pairs >= 1). Each pass reads 8 words at `w` (inside
            // `wcol`, word-aligned because `wcol` is a `&[u32]`, as LDRD requires) and 8 bytes at `x` and at
            // `x + k`, the same offset into `x1` as `x` is into `x0`; the assert above bounds both rows by
            // `4 * groups` bytes and `x` starts at byte `4 * odd`, so every read is in bounds. Unaligned LDR is
            // allowed on ARMv7-M and ARMv8-M Mainline. The only write is the push of r6 below the stack pointer
            // (so neither `nostack` nor `readonly` is claimed), popped before the block ends, which leaves r6
            // and sp as they were; the flags (CMP, and the sticky Q flag of SMLAD) are declared clobbered by
            // omitting `preserves_flags`.
            unsafe {
                core::arch::asm!(
                    ".arch armv7e-m",
                    // r6 holds the widened input lanes. Rust never assigns it to a named operand, and every
                    // operand below is named, so r6 may hold a value of the surrounding code: it is saved on the
                    // stack and restored before the block ends.
                    "push {{r6}}",
                    "2:",
                    "ldr r11, [r4, r9]",
                    "ldr r10, [r4], #4",
                    "ldrd r12, lr, [r5], #8",
                    "sxtb16 r6, r10",
                    "smlad r0, r6, r12, r0",
                    "smlad r2, r6, lr, r2",
                    "sxtb16 r6, r11",
                    "smlad r1, r6, r12, r1",
                    "smlad r3, r6, lr, r3",
                    "ldrd r12, lr, [r5], #8",
                    "sxtb16 r6, r10, ror #8",
                    "smlad r0, r6, r12, r0",
                    "smlad r2, r6, lr, r2",
                    "sxtb16 r6, r11, ror #8",
                    "smlad r1, r6, r12, r1",
                    "smlad r3, r6, lr, r3",
                    "ldr r11, [r4, r9]",
                    "ldr r10, [r4], #4",
                    "ldrd r12, lr, [r5], #8",
                    "sxtb16 r6, r10",
                    "smlad r0, r6, r12, r0",
                    "smlad r2, r6, lr, r2",
                    "sxtb16 r6, r11",
                    "smlad r1, r6, r12, r1",
                    "smlad r3, r6, lr, r3",
                    "ldrd r12, lr, [r5], #8",
                    "sxtb16 r6, r10, ror #8",
                    "smlad r0, r6, r12, r0",
                    "smlad r2, r6, lr, r2",
                    "sxtb16 r6, r11, ror #8",
                    "smlad r1, r6, r12, r1",
                    "smlad r3, r6, lr, r3",
                    "cmp r5, r8",
                    "bne 2b",
                    "pop {{r6}}",
                    // Every operand in an explicit register (a00..a11 = r0..r3, input r4, widened filter r5,
                    // end r8, row distance r9, input words r10/r11, filter words r12/lr), so none of them is r6.
                    inout("r0") a00,
                    inout("r1") a10,
                    inout("r2") a01,
                    inout("r3") a11,
                    inout("r4") x => _,
                    inout("r5") w => _,
                    in("r8") end,
                    in("r9") k,
                    out("r10") _,
                    out("r11") _,
                    out("r12") _,
                    out("lr") _,
                    // Not `readonly`: the push writes (unobservable) stack memory; not `nostack` either.
                    options(),
                );
            }
        }
        [a00, a10, a01, a11]
    }
    #[cfg(not(all(
        target_arch = "arm",
        target_os = "none",
        target_endian = "little",
        target_abi = "eabihf",
        not(target_has_atomic = "64")
    )))]
    {
        dot_2x2_rows_portable(x0, x1, wcol, acc)
    }
}

/// [`dot_2x2_rows`] in Rust over the lane functions, over the groups of `wcol` (all of them off Cortex-M, the
/// odd one on it).
#[inline(always)]
fn dot_2x2_rows_portable(x0: &[u8], x1: &[u8], wcol: &[u32], acc: [i32; 4]) -> [i32; 4] {
    let [mut a00, mut a10, mut a01, mut a11] = acc;
    for ((a, b), w) in x0.chunks_exact(4).zip(x1.chunks_exact(4)).zip(wcol.chunks_exact(4)) {
        let a = u32::from_le_bytes([a[0], a[1], a[2], a[3]]);
        let b = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let (a02, a13, b02, b13) = (sxtb16(a), sxtb16_ror8(a), sxtb16(b), sxtb16_ror8(b));
        a00 = smlad(a13, w[2], smlad(a02, w[0], a00));
        a01 = smlad(a13, w[3], smlad(a02, w[1], a01));
        a10 = smlad(b13, w[2], smlad(b02, w[0], a10));
        a11 = smlad(b13, w[3], smlad(b02, w[1], a11));
    }
    [a00, a10, a01, a11]
}

/// [`dot_2x2_groups`] in Rust over the lane functions (the whole computation off Cortex-M, the odd group on it).
#[inline(always)]
fn dot_2x2_portable(col: &[u32], w0: &[u8], w1: &[u8], acc: [i32; 4]) -> [i32; 4] {
    let [mut a00, mut a10, mut a01, mut a11] = acc;
    for ((x, u), v) in col.chunks_exact(4).zip(w0.chunks_exact(4)).zip(w1.chunks_exact(4)) {
        let u = u32::from_le_bytes([u[0], u[1], u[2], u[3]]);
        let v = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
        let (u02, u13) = (sxtb16(u), sxtb16_ror8(u));
        let (v02, v13) = (sxtb16(v), sxtb16_ror8(v));
        a00 = smlad(x[0], u02, a00);
        a10 = smlad(x[1], u02, a10);
        a01 = smlad(x[0], v02, a01);
        a11 = smlad(x[1], v02, a11);
        a00 = smlad(x[2], u13, a00);
        a10 = smlad(x[3], u13, a10);
        a01 = smlad(x[2], v13, a01);
        a11 = smlad(x[3], v13, a11);
    }
    [a00, a10, a01, a11]
}

/// The 3x3 window of 4 channels of a depthwise convolution with depth multiplier 1: taps at
/// `base + ky * row_stride + kx * col_stride` (bytes), `ky, kx` in `0..3`.
pub(crate) struct Dw3x3Window<'a> {
    data: &'a [u8],
    col_stride: usize,
    row_stride: usize,
    /// Bytes a window needs from its base: `2 * row_stride + 2 * col_stride + 4` (saturating).
    span: usize,
}

impl<'a> Dw3x3Window<'a> {
    /// Windows over `data` with the given strides.
    pub(crate) fn new(data: &'a [u8], col_stride: usize, row_stride: usize) -> Self {
        let span = row_stride.saturating_mul(2).saturating_add(col_stride.saturating_mul(2)).saturating_add(4);
        Dw3x3Window { data, col_stride, row_stride, span }
    }

    /// `acc[i] + sum over the 9 taps t of w[t][i] * x[t][i]` (wrapping) for the 4 channels `i` of the window at
    /// `base`. `weights` holds the filter in the order the channel pairs are consumed: for channels
    /// `(0, 2)` then `(1, 3)`, the tap pairs `(0, 1), (2, 3), (4, 5), (6, 7)` as `(w[a][i], w[b][i])` for the
    /// first channel then the second, then tap 8 as `(w[8][first], w[8][second])`. Panics if the window leaves
    /// the slice.
    #[inline(always)]
    pub(crate) fn mac(&self, base: usize, weights: &[u32; 18], acc: [i32; 4]) -> [i32; 4] {
        assert!(base <= self.data.len() && self.span <= self.data.len() - base);
        #[cfg(all(
            target_arch = "arm",
            target_os = "none",
            target_endian = "little",
            target_abi = "eabihf",
            not(target_has_atomic = "64")
        ))]
        {
            let [mut a0, mut a1, mut a2, mut a3] = acc;
            let p = self.data[base..].as_ptr();
            // SAFETY: the block reads 4 bytes at `p + ky * row_stride + kx * col_stride` for ky, kx in 0..3 (the
            // pointer walks down two rows and back, `p` itself is discarded), all within
            // `base + 2 * row_stride + 2 * col_stride + 4 = base + span <= data.len()` by the assert above
            // (`span` saturates, so an overflow fails the assert); unaligned LDR is allowed on ARMv7-M and
            // ARMv8-M Mainline. It reads words 0..18 of `weights` (a 4-byte aligned `[u32; 18]`). Nothing is
            // written to memory, the stack is not used; SMLAD/SMLAxy may set the sticky Q flag, so flags are not
            // declared preserved.
            unsafe {
                core::arch::asm!(
                    ".arch armv7e-m",
                    // Channels 0 and 2 (bytes 0 and 2 of each word).
                    "ldr {va}, [{p}]",
                    "ldr {vb}, [{p}, {cs}]",
                    "sxtb16 {va}, {va}",
                    "sxtb16 {vb}, {vb}",
                    "pkhbt {x}, {va}, {vb}, lsl #16",
                    "ldr {y}, [{w}, #0]",
                    "smlad {a0}, {x}, {y}, {a0}",
                    "pkhtb {x}, {vb}, {va}, asr #16",
                    "ldr {y}, [{w}, #4]",
                    "smlad {a2}, {x}, {y}, {a2}",
                    "ldr {va}, [{p}, {cs}, lsl #1]",
                    "add {p}, {p}, {rs}",
                    "ldr {vb}, [{p}]",
                    "sxtb16 {va}, {va}",
                    "sxtb16 {vb}, {vb}",
                    "pkhbt {x}, {va}, {vb}, lsl #16",
                    "ldr {y}, [{w}, #8]",
                    "smlad {a0}, {x}, {y}, {a0}",
                    "pkhtb {x}, {vb}, {va}, asr #16",
                    "ldr {y}, [{w}, #12]",
                    "smlad {a2}, {x}, {y}, {a2}",
                    "ldr {va}, [{p}, {cs}]",
                    "ldr {vb}, [{p}, {cs}, lsl #1]",
                    "add {p}, {p}, {rs}",
                    "sxtb16 {va}, {va}",
                    "sxtb16 {vb}, {vb}",
                    "pkhbt {x}, {va}, {vb}, lsl #16",
                    "ldr {y}, [{w}, #16]",
                    "smlad {a0}, {x}, {y}, {a0}",
                    "pkhtb {x}, {vb}, {va}, asr #16",
                    "ldr {y}, [{w}, #20]",
                    "smlad {a2}, {x}, {y}, {a2}",
                    "ldr {va}, [{p}]",
                    "ldr {vb}, [{p}, {cs}]",
                    "sxtb16 {va}, {va}",
                    "sxtb16 {vb}, {vb}",
                    "pkhbt {x}, {va}, {vb}, lsl #16",
                    "ldr {y}, [{w}, #24]",
                    "smlad {a0}, {x}, {y}, {a0}",
                    "pkhtb {x}, {vb}, {va}, asr #16",
                    "ldr {y}, [{w}, #28]",
                    "smlad {a2}, {x}, {y}, {a2}",
                    "ldr {va}, [{p}, {cs}, lsl #1]",
                    "sxtb16 {va}, {va}",
                    "ldr {y}, [{w}, #32]",
                    "smlabb {a0}, {va}, {y}, {a0}",
                    "smlatt {a2}, {va}, {y}, {a2}",
                    "sub {p}, {p}, {rs}, lsl #1",
                    // Channels 1 and 3 (bytes 1 and 3).
                    "ldr {va}, [{p}]",
                    "ldr {vb}, [{p}, {cs}]",
                    "sxtb16 {va}, {va}, ror #8",
                    "sxtb16 {vb}, {vb}, ror #8",
                    "pkhbt {x}, {va}, {vb}, lsl #16",
                    "ldr {y}, [{w}, #36]",
                    "smlad {a1}, {x}, {y}, {a1}",
                    "pkhtb {x}, {vb}, {va}, asr #16",
                    "ldr {y}, [{w}, #40]",
                    "smlad {a3}, {x}, {y}, {a3}",
                    "ldr {va}, [{p}, {cs}, lsl #1]",
                    "add {p}, {p}, {rs}",
                    "ldr {vb}, [{p}]",
                    "sxtb16 {va}, {va}, ror #8",
                    "sxtb16 {vb}, {vb}, ror #8",
                    "pkhbt {x}, {va}, {vb}, lsl #16",
                    "ldr {y}, [{w}, #44]",
                    "smlad {a1}, {x}, {y}, {a1}",
                    "pkhtb {x}, {vb}, {va}, asr #16",
                    "ldr {y}, [{w}, #48]",
                    "smlad {a3}, {x}, {y}, {a3}",
                    "ldr {va}, [{p}, {cs}]",
                    "ldr {vb}, [{p}, {cs}, lsl #1]",
                    "add {p}, {p}, {rs}",
                    "sxtb16 {va}, {va}, ror #8",
                    "sxtb16 {vb}, {vb}, ror #8",
                    "pkhbt {x}, {va}, {vb}, lsl #16",
                    "ldr {y}, [{w}, #52]",
                    "smlad {a1}, {x}, {y}, {a1}",
                    "pkhtb {x}, {vb}, {va}, asr #16",
                    "ldr {y}, [{w}, #56]",
                    "smlad {a3}, {x}, {y}, {a3}",
                    "ldr {va}, [{p}]",
                    "ldr {vb}, [{p}, {cs}]",
                    "sxtb16 {va}, {va}, ror #8",
                    "sxtb16 {vb}, {vb}, ror #8",
                    "pkhbt {x}, {va}, {vb}, lsl #16",
                    "ldr {y}, [{w}, #60]",
                    "smlad {a1}, {x}, {y}, {a1}",
                    "pkhtb {x}, {vb}, {va}, asr #16",
                    "ldr {y}, [{w}, #64]",
                    "smlad {a3}, {x}, {y}, {a3}",
                    "ldr {va}, [{p}, {cs}, lsl #1]",
                    "sxtb16 {va}, {va}, ror #8",
                    "ldr {y}, [{w}, #68]",
                    "smlabb {a1}, {va}, {y}, {a1}",
                    "smlatt {a3}, {va}, {y}, {a3}",
                    a0 = inout(reg) a0,
                    a1 = inout(reg) a1,
                    a2 = inout(reg) a2,
                    a3 = inout(reg) a3,
                    p = inout(reg) p => _,
                    cs = in(reg) self.col_stride,
                    rs = in(reg) self.row_stride,
                    w = in(reg) weights.as_ptr(),
                    va = out(reg) _,
                    vb = out(reg) _,
                    x = out(reg) _,
                    y = out(reg) _,
                    options(readonly, nostack),
                );
            }
            [a0, a1, a2, a3]
        }
        #[cfg(not(all(
            target_arch = "arm",
            target_os = "none",
            target_endian = "little",
            target_abi = "eabihf",
            not(target_has_atomic = "64")
        )))]
        {
            // The same lane arithmetic as the assembly, in Rust.
            let mut acc = acc;
            let word = |ky: usize, kx: usize| {
                let at = base + ky * self.row_stride + kx * self.col_stride;
                u32::from_le_bytes([self.data[at], self.data[at + 1], self.data[at + 2], self.data[at + 3]])
            };
            let taps = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)];
            for (half, (first, second)) in [(0, 2), (1, 3)].into_iter().enumerate() {
                let widen = |v: u32| if half == 0 { sxtb16(v) } else { sxtb16_ror8(v) };
                let w = &weights[9 * half..9 * half + 9];
                for j in 0..4 {
                    let (ta, tb) = (taps[2 * j], taps[2 * j + 1]);
                    let (va, vb) = (widen(word(ta.0, ta.1)), widen(word(tb.0, tb.1)));
                    acc[first] = smlad((va & 0xffff) | (vb << 16), w[2 * j], acc[first]);
                    acc[second] = smlad((va >> 16) | (vb & 0xffff_0000), w[2 * j + 1], acc[second]);
                }
                let v8 = widen(word(2, 2));
                acc[first] = acc[first].wrapping_add(lo16(v8) * lo16(w[8]));
                acc[second] = acc[second].wrapping_add(hi16(v8) * hi16(w[8]));
            }
            acc
        }
    }
}
