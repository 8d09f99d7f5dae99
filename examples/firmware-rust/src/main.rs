//! One inference of an exported model on a Cortex-M4, checked bit for bit.
//!
//! `src/model.rs` is the module `arenaplan export MODEL --format rust` writes (`run.sh` writes it); it holds
//! the model, the compiled program, the input and output descriptors and `Network`, which owns the arena.
//! `data/input.bin` is a fixed input (raw int8) and `data/expected.bin` what TFLM answers for it. The firmware
//! checks the model's hash, runs the network, compares the output with the expected bytes, prints the best
//! class with its dequantised score, and exits through semihosting: status 0 when the output is bit-exact,
//! 1 otherwise.
#![no_std]
#![no_main]

mod model;

use core::fmt::Write as _;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hio};

/// The input sample, raw int8, in the first input's row-major order.
static INPUT: &[u8] = include_bytes!("../data/input.bin");
/// TFLM's output for it.
static EXPECTED: &[u8] = include_bytes!("../data/expected.bin");

/// Semihosting standard output (writes are dropped when the host gives none).
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
    let mut out = Console(hio::hstdout().ok());
    let verdict = infer(&mut out);
    if let Err(reason) = verdict {
        let _ = writeln!(out, "FAIL: {reason}");
    }
    debug::exit(if verdict.is_ok() { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    loop {
        cortex_m::asm::nop();
    }
}

/// Runs the network on `INPUT` and compares with `EXPECTED`.
fn infer(out: &mut Console) -> Result<(), &'static str> {
    // Once, at start-up: the model bytes are those the program was compiled from. (With the model embedded in
    // `model.rs` this always holds; firmware that keeps the `.tflite` elsewhere passes those bytes instead.)
    if let Err(mismatch) = model::checked_program(model::MODEL) {
        let _ = writeln!(out, "{mismatch}");
        return Err("wrong model");
    }
    // The network owns its arena (`model::ARENA_BYTES`): here on the stack of `main`, which never returns.
    let mut network = model::Network::new();
    let input = network.input_mut(0).ok_or("the model has no input")?;
    if input.len() != INPUT.len() {
        return Err("data/input.bin does not have the input's size");
    }
    input.copy_from_slice(INPUT);
    network.invoke().map_err(|_| "the interpreter refused the program")?;
    let output = network.output(0).ok_or("the model has no output")?;
    let differing = output.iter().zip(EXPECTED).filter(|(a, b)| a != b).count();
    if output.len() != EXPECTED.len() || differing > 0 {
        let _ = writeln!(out, "{differing} of {} output bytes differ from TFLM's", output.len());
        return Err("not bit-exact");
    }

    let mut scores = [0.0f32; model::OUTPUT_ELEMENTS[0]];
    network.read_output(0, &mut scores).map_err(|_| "cannot dequantise the output")?;
    let best = (0..scores.len()).fold(0, |best, i| if scores[i] > scores[best] { i } else { best });
    let _ = writeln!(
        out,
        "bit-exact: {} output bytes equal TFLM's; best class {best} (score {:.4}); arena {} B",
        output.len(),
        scores[best],
        model::ARENA_BYTES
    );
    Ok(())
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut out = Console(hio::hstdout().ok());
    let _ = writeln!(out, "panic: {info}");
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::nop();
    }
}
