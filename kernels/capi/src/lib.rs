//! The C API of the arenaplan kernels interpreter: `libarenaplan_capi.a` and `include/arenaplan.h`.
//!
//! C code holds a program blob (written by `arenaplan export --format c-program`, or by
//! `arenaplan_planner::export::program_blob`), the `.tflite` model bytes and one arena, and calls
//! [`arenaplan_run`]. Every function checks its pointers and the blob, and answers with a status code
//! ([`status`]); none allocates, none panics on any input. Built for a bare-metal target (`target_os =
//! "none"`) the library is `no_std` and carries a panic handler that only a bug in this library could reach.
#![cfg_attr(target_os = "none", no_std)]
#![warn(missing_docs)]

pub mod status;

use arenaplan_kernels::encoding::ProgramBlob;
use arenaplan_kernels::io::{ElementType, TensorDescriptor, MAX_RANK};
use arenaplan_kernels::program::Slice;
use arenaplan_kernels::{check_model, run_blob};
use status::{status_of_decode, status_of_run, ARENAPLAN_ERR_INDEX, ARENAPLAN_ERR_NULL, ARENAPLAN_OK};

/// Facts about a program blob, as C sees them (`arenaplan_info` in the header).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArenaplanInfo {
    /// Bytes of arena the program needs.
    pub arena_bytes: u32,
    /// Bytes of the model file the program reads weights from.
    pub model_bytes: u32,
    /// Number of steps (kernel invocations).
    pub step_count: u32,
    /// Number of model inputs.
    pub input_count: u32,
    /// Number of model outputs.
    pub output_count: u32,
}

/// The bytes `len` bytes from `ptr`: empty when `len` is 0 (any pointer), `None` for a null pointer otherwise.
///
/// # Safety
/// A non-null `ptr` must be valid for reads of `len` bytes for the lifetime `'a`.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        Some(&[])
    } else if ptr.is_null() {
        None
    } else {
        // SAFETY: the caller promises `ptr` is valid for `len` bytes.
        Some(unsafe { core::slice::from_raw_parts(ptr, len) })
    }
}

/// The mutable form of [`bytes`].
///
/// # Safety
/// A non-null `ptr` must be valid for reads and writes of `len` bytes for `'a`, and not aliased.
unsafe fn bytes_mut<'a>(ptr: *mut u8, len: usize) -> Option<&'a mut [u8]> {
    if len == 0 {
        Some(&mut [])
    } else if ptr.is_null() {
        None
    } else {
        // SAFETY: the caller promises `ptr` is valid and unaliased for `len` bytes.
        Some(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
    }
}

/// Fill `*info` with the facts of the program blob `program[0..program_len]`.
///
/// # Safety
/// `program` must be valid for `program_len` bytes; `info` must be null or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn arenaplan_program_info(
    program: *const u8,
    program_len: usize,
    info: *mut ArenaplanInfo,
) -> i32 {
    // SAFETY: forwarded from the caller.
    let Some(program) = (unsafe { bytes(program, program_len) }) else { return ARENAPLAN_ERR_NULL };
    if info.is_null() {
        return ARENAPLAN_ERR_NULL;
    }
    let blob = match ProgramBlob::parse(program) {
        Ok(blob) => blob,
        Err(e) => return status_of_decode(e),
    };
    let h = blob.header();
    let facts = ArenaplanInfo {
        arena_bytes: h.arena_bytes,
        model_bytes: h.model_len,
        step_count: h.step_count,
        input_count: h.input_count,
        output_count: h.output_count,
    };
    // SAFETY: `info` is non-null and the caller promises it is valid for a write.
    unsafe { info.write(facts) };
    ARENAPLAN_OK
}

/// Write the place of input or output `index` (`place(blob, index)`) to `*offset` and `*len`.
///
/// # Safety
/// As [`arenaplan_input`].
unsafe fn write_place(
    program: *const u8,
    program_len: usize,
    index: u32,
    offset: *mut u32,
    len: *mut u32,
    place: fn(&ProgramBlob<'_>, u32) -> Option<Slice>,
) -> i32 {
    // SAFETY: forwarded from the caller.
    let Some(program) = (unsafe { bytes(program, program_len) }) else { return ARENAPLAN_ERR_NULL };
    if offset.is_null() || len.is_null() {
        return ARENAPLAN_ERR_NULL;
    }
    let blob = match ProgramBlob::parse(program) {
        Ok(blob) => blob,
        Err(e) => return status_of_decode(e),
    };
    let Some(slice) = place(&blob, index) else { return ARENAPLAN_ERR_INDEX };
    // SAFETY: both pointers are non-null and the caller promises they are valid for a write.
    unsafe {
        offset.write(slice.offset);
        len.write(slice.len);
    }
    ARENAPLAN_OK
}

/// Where model input `index` goes in the arena: `*offset` (bytes from the arena's start) and `*len` (bytes).
/// Write the quantised input there before [`arenaplan_run`].
///
/// # Safety
/// `program` must be valid for `program_len` bytes; `offset` and `len` must be null or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn arenaplan_input(
    program: *const u8,
    program_len: usize,
    index: u32,
    offset: *mut u32,
    len: *mut u32,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { write_place(program, program_len, index, offset, len, |b, i| b.input(i)) }
}

/// Where model output `index` is in the arena after [`arenaplan_run`].
///
/// # Safety
/// As [`arenaplan_input`].
#[no_mangle]
pub unsafe extern "C" fn arenaplan_output(
    program: *const u8,
    program_len: usize,
    index: u32,
    offset: *mut u32,
    len: *mut u32,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { write_place(program, program_len, index, offset, len, |b, j| b.output(j)) }
}

/// Check that `model` is the file the program was compiled against (length and FNV-1a checksum: one pass over
/// the model, e.g. once at start-up; [`arenaplan_run`] checks the length only).
///
/// # Safety
/// `program` and `model` must be valid for `program_len` and `model_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn arenaplan_check_model(
    program: *const u8,
    program_len: usize,
    model: *const u8,
    model_len: usize,
) -> i32 {
    // SAFETY: forwarded from the caller.
    let (Some(program), Some(model)) = (unsafe { bytes(program, program_len) }, unsafe { bytes(model, model_len) })
    else {
        return ARENAPLAN_ERR_NULL;
    };
    match check_model(program, model) {
        Ok(()) => ARENAPLAN_OK,
        Err(e) => status_of_run(e),
    }
}

/// Run the program over `model` in `arena`, whose inputs were written at their places
/// ([`arenaplan_input`]); the outputs are then at [`arenaplan_output`]. Everything is checked before the first
/// step runs; on an error status the arena may hold partial results only if a step itself refused to run.
///
/// # Safety
/// `program` and `model` must be valid for reads of their lengths; `arena` valid for reads and writes of
/// `arena_len` bytes and not overlapping the other two.
#[no_mangle]
pub unsafe extern "C" fn arenaplan_run(
    program: *const u8,
    program_len: usize,
    model: *const u8,
    model_len: usize,
    arena: *mut u8,
    arena_len: usize,
) -> i32 {
    // SAFETY: forwarded from the caller.
    let slices = unsafe { (bytes(program, program_len), bytes(model, model_len), bytes_mut(arena, arena_len)) };
    let (Some(program), Some(model), Some(arena)) = slices else { return ARENAPLAN_ERR_NULL };
    match run_blob(program, model, arena) {
        Ok(()) => ARENAPLAN_OK,
        Err(e) => status_of_run(e),
    }
}

/// A model input or output as C describes it (`arenaplan_tensor` in the header; the export writes them).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ArenaplanTensor {
    /// Its first byte, from the arena's start.
    pub offset: u32,
    /// Its length in bytes.
    pub bytes: u32,
    /// Element type (`ARENAPLAN_INT8`, ...).
    pub element: u32,
    /// Number of dimensions.
    pub rank: u32,
    /// Dimensions, outermost first.
    pub dims: [u32; MAX_RANK],
    /// Quantisation scale.
    pub scale: f32,
    /// Quantisation zero point.
    pub zero_point: i32,
}

/// The kernels crate's descriptor of `t`'s quantisation (all [`arenaplan_quantize`] and
/// [`arenaplan_dequantize`] read).
fn quantisation(t: &ArenaplanTensor) -> TensorDescriptor {
    TensorDescriptor {
        dims: t.dims,
        rank: t.rank.min(MAX_RANK as u32) as u8,
        element: ElementType::Int8,
        scale: t.scale,
        zero_point: t.zero_point,
        slice: Slice { offset: t.offset, len: t.bytes },
    }
}

/// The int8 value of `real` in tensor `*tensor`'s quantisation, as TFLM's QUANTIZE computes it:
/// `round(real / scale) + zero_point`, rounding half away from zero, clamped to [-128, 127] (NaN gives the
/// zero point). 0 when `tensor` is null.
///
/// # Safety
/// `tensor` must be null or point to a valid `arenaplan_tensor`.
#[no_mangle]
pub unsafe extern "C" fn arenaplan_quantize(tensor: *const ArenaplanTensor, real: f32) -> i8 {
    // SAFETY: the caller promises a non-null `tensor` is valid.
    match unsafe { tensor.as_ref() } {
        Some(t) => quantisation(t).quantize(real),
        None => 0,
    }
}

/// The real value of the int8 `q` in tensor `*tensor`'s quantisation: `scale * (q - zero_point)`, as TFLM's
/// DEQUANTIZE computes it. 0 when `tensor` is null.
///
/// # Safety
/// `tensor` must be null or point to a valid `arenaplan_tensor`.
#[no_mangle]
pub unsafe extern "C" fn arenaplan_dequantize(tensor: *const ArenaplanTensor, q: i8) -> f32 {
    // SAFETY: the caller promises a non-null `tensor` is valid.
    match unsafe { tensor.as_ref() } {
        Some(t) => quantisation(t).dequantize(q),
        None => 0.0,
    }
}

/// A short English name of a status code, as a NUL-terminated static string (`"unknown status"` for a code
/// this library never returns).
#[no_mangle]
pub extern "C" fn arenaplan_status_name(status: i32) -> *const core::ffi::c_char {
    status::name(status).as_ptr().cast()
}

/// Only a bug in this library can panic (every input error is a status code); the core then stops here.
#[cfg(target_os = "none")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
