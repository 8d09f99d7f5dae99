//! One inference of an exported arenaplan program on a Cortex-M under QEMU, reported over semihosting.
//!
//! The program (`arenaplan export MODEL --format rust`), the model and the input sample come from the folder
//! named by `ARENAPLAN_FW_DIR` at build time (see `build.rs`). The firmware paints its stack, fills the model
//! inputs, runs the program step by step in a static arena, calling [`arenaplan_marker_step`] before every step
//! and [`arenaplan_marker_end`] after the last (an instruction-counting QEMU plugin cuts its counts at their
//! addresses), then prints the output bytes in hex and the stack high-water mark, and exits through
//! semihosting: success when the program ran, failure otherwise.
#![no_std]
#![no_main]

use core::cell::UnsafeCell;
use core::fmt::Write as _;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use arenaplan_kernels::StepObserver;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hio};

/// The exported program: `STEPS`, `PRECOMPUTED`, `INPUTS`, `OUTPUTS`, `ARENA_BYTES`, `program(model)`.
#[allow(dead_code, unused_imports, clippy::all)]
mod exported {
    include!(concat!(env!("OUT_DIR"), "/program.rs"));
}

/// The model file (weights and biases), in flash.
static MODEL: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/model.tflite"));
/// Every model input, concatenated in input order.
static INPUT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/input.bin"));

/// The word the unused stack is painted with.
const PAINT: u32 = 0xC0DE_5EED;
/// Bytes below the current stack pointer left unpainted (the painter's own frame).
const PAINT_MARGIN_BYTES: usize = 256;

/// The arena, in `.bss`, handed out once as a `&'static mut` by [`take_arena`].
struct Arena {
    bytes: UnsafeCell<[u8; exported::ARENA_BYTES]>,
    taken: AtomicBool,
}

// SAFETY: the bytes are reachable only through `take_arena`, which hands them out at most once.
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena { bytes: UnsafeCell::new([0; exported::ARENA_BYTES]), taken: AtomicBool::new(false) };

/// The arena, the first time; `None` after.
fn take_arena() -> Option<&'static mut [u8]> {
    if ARENA.taken.swap(true, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: `taken` was false, so no other reference to the bytes exists, and none will.
    Some(unsafe { &mut *ARENA.bytes.get() })
}

static LAST_STEP: AtomicU32 = AtomicU32::new(u32::MAX);
static FINISHED: AtomicBool = AtomicBool::new(false);

/// Called before every step: the counting plugin starts a new segment when this function's code runs.
#[inline(never)]
#[no_mangle]
pub extern "C" fn arenaplan_marker_step(index: u32) {
    // Volatile: a call to a function without side effects could be removed, and the plugin would see nothing.
    // SAFETY: the pointer comes from a live static; the atomic is only ever accessed by this core.
    unsafe { core::ptr::write_volatile(LAST_STEP.as_ptr(), index) };
}

/// Called after the last step: the counting plugin closes the last step's segment here.
#[inline(never)]
#[no_mangle]
pub extern "C" fn arenaplan_marker_end() {
    // SAFETY: as in `arenaplan_marker_step`; a body different from it, so the two are never merged.
    unsafe { core::ptr::write_volatile(FINISHED.as_ptr(), true) };
}

struct Markers {
    steps: usize,
}

impl StepObserver for Markers {
    fn before_step(&mut self, index: usize) {
        arenaplan_marker_step(index as u32);
    }
    fn after_step(&mut self, index: usize) {
        if index + 1 == self.steps {
            arenaplan_marker_end();
        }
    }
}

extern "C" {
    /// First byte above the statics (cortex-m-rt): the lowest address the stack may grow to.
    static __sheap: u32;
    /// The initial stack pointer (cortex-m-rt): the top of the stack.
    static _stack_start: u32;
}

fn stack_bounds() -> (usize, usize) {
    // SAFETY: only the addresses of the linker symbols are taken, never their contents.
    (core::ptr::addr_of!(__sheap) as usize, core::ptr::addr_of!(_stack_start) as usize)
}

/// Paint the stack from its lowest address to a little below the current stack pointer.
fn paint_stack() {
    let (bottom, _) = stack_bounds();
    let sp = cortex_m::register::msp::read() as usize;
    let mut p = (bottom + 3) & !3;
    while p + 4 <= sp - PAINT_MARGIN_BYTES {
        // SAFETY: [bottom, sp - margin) is RAM between the statics and the live stack: no object lives there.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Bytes of stack ever used: from the top down to the lowest word that is no longer the paint.
fn stack_high_water_bytes() -> usize {
    let (bottom, top) = stack_bounds();
    let mut p = (bottom + 3) & !3;
    // SAFETY: reads of RAM words between the statics and the stack top.
    while p < top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    top - p
}

/// The CMSDK APB timer 0 of the MPS2 machines, free-running down from `u32::MAX`.
#[cfg(arenaplan_apb_timer)]
mod timer {
    const CTRL: *mut u32 = 0x4000_0000 as *mut u32;
    const VALUE: *mut u32 = 0x4000_0004 as *mut u32;
    const RELOAD: *mut u32 = 0x4000_0008 as *mut u32;

    /// Load the largest count and enable the timer.
    pub fn start() {
        // SAFETY: the timer's registers, on the machines this module is compiled for.
        unsafe {
            core::ptr::write_volatile(RELOAD, u32::MAX);
            core::ptr::write_volatile(VALUE, u32::MAX);
            core::ptr::write_volatile(CTRL, 1);
        }
    }

    /// The current count.
    pub fn value() -> u32 {
        // SAFETY: as in `start`.
        unsafe { core::ptr::read_volatile(VALUE) }
    }
}

struct Console(Option<hio::HostStream>);

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        match &mut self.0 {
            Some(out) => out.write_all(s.as_bytes()).map_err(|_| core::fmt::Error),
            None => Ok(()),
        }
    }
}

#[entry]
fn main() -> ! {
    paint_stack();
    let ok = infer();
    debug::exit(if ok { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    loop {
        cortex_m::asm::nop();
    }
}

fn infer() -> bool {
    let mut out = Console(hio::hstdout().ok());
    let program = exported::program(MODEL);
    let Some(arena) = take_arena() else { return false };
    let _ = writeln!(out, "arenaplan-firmware memory={} steps={}", env!("ARENAPLAN_FW_MEMORY"), program.steps.len());

    let mut offset = 0;
    for i in 0..program.inputs.len() {
        let Some(slot) = arenaplan_kernels::input_mut(&program, arena, i) else { return false };
        let Some(bytes) = INPUT.get(offset..offset + slot.len()) else {
            let _ = writeln!(out, "error: input.bin is shorter than the model inputs");
            return false;
        };
        slot.copy_from_slice(bytes);
        offset += slot.len();
    }

    let mut markers = Markers { steps: program.steps.len() };
    #[cfg(arenaplan_apb_timer)]
    timer::start();
    #[cfg(arenaplan_apb_timer)]
    let before = timer::value();
    let result = arenaplan_kernels::run_observed(&program, arena, &mut markers);
    #[cfg(arenaplan_apb_timer)]
    let ticks = before.wrapping_sub(timer::value());
    if let Err(e) = result {
        let _ = writeln!(out, "error: {e:?}");
        return false;
    }
    #[cfg(arenaplan_apb_timer)]
    let _ = writeln!(out, "timer_ticks {ticks}");
    let last = LAST_STEP.load(Ordering::Relaxed);
    if !program.steps.is_empty() && (!FINISHED.load(Ordering::Relaxed) || last as usize + 1 != program.steps.len()) {
        let _ = writeln!(out, "error: the markers did not run (last step {last})");
        return false;
    }

    for j in 0..program.outputs.len() {
        let Some(bytes) = arenaplan_kernels::output(&program, arena, j) else { return false };
        let _ = write!(out, "output{j} ");
        let mut line = [0u8; 128];
        for chunk in bytes.chunks(line.len() / 2) {
            for (k, b) in chunk.iter().enumerate() {
                line[2 * k] = HEX[(b >> 4) as usize];
                line[2 * k + 1] = HEX[(b & 15) as usize];
            }
            let _ = out.write_str(core::str::from_utf8(&line[..2 * chunk.len()]).unwrap_or(""));
        }
        let _ = writeln!(out);
    }
    let (bottom, top) = stack_bounds();
    let _ = writeln!(out, "stack_bytes {} of {}", stack_high_water_bytes(), top - bottom);
    let _ = writeln!(out, "done");
    true
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut out = Console(hio::hstdout().ok());
    let _ = writeln!(out, "panic: {info}");
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::nop();
    }
}
