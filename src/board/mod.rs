//! Measuring an exported program on Cortex-M: firmware built for the board's core, run under `qemu-system-arm`,
//! instructions counted exactly per step by a TCG plugin, cycles estimated from a per-class timing model, RAM
//! from the ELF's statics plus a painted stack, flash from its sections.
//!
//! [`measure`] does it all for one program: [`firmware::build`] writes the exported program, the model and the
//! input into a work folder and builds `benches/firmware` for the board's target; [`qemu::run`] runs it with the
//! `insn_mix` plugin (`benches/firmware/qemu-plugin/insn_mix.c`, built with the host C compiler when missing);
//! [`timing`] turns each segment's instruction mix into estimated cycles. Boards and timings are data
//! (`datasets/boards/`). A figure says how it was counted: instructions are exact for the emulated machine,
//! cycles are a model.

pub mod elf;
pub mod firmware;
pub mod profiles;
pub mod qemu;
pub mod timing;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use profiles::{Board, Machine};

/// What can go wrong while measuring on a board.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// A tool the measurement needs is not installed.
    #[error("`{tool}` is not available: {install}")]
    MissingTool {
        /// The tool.
        tool: String,
        /// How to install it.
        install: String,
    },
    /// No board of that name in `datasets/boards/boards.json`.
    #[error("no board named `{name}` (boards: {known})")]
    UnknownBoard {
        /// The name asked for.
        name: String,
        /// The names known.
        known: String,
    },
    /// A data file (board profiles, timing model) is malformed or incomplete.
    #[error("{0}")]
    Data(String),
    /// The firmware did not build.
    #[error("the firmware did not build for {target}:\n{log}")]
    Build {
        /// The Rust target.
        target: String,
        /// The tail of cargo's output.
        log: String,
    },
    /// The firmware did not run to completion, or its output is not what the harness prints.
    #[error("the firmware failed on {machine}: {reason}")]
    Run {
        /// The QEMU machine.
        machine: String,
        /// What happened.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// What the firmware runs: an exported program and the files it includes.
#[derive(Debug, Clone, Copy)]
pub struct FirmwareSource<'a> {
    /// Names the work folder (e.g. `MODEL-BOARD-KERNELS`); characters other than `[A-Za-z0-9_.-]` become `_`.
    pub label: &'a str,
    /// The module written by `arenaplan export MODEL --format rust`.
    pub program_rs: &'a str,
    /// The `.tflite` bytes the program reads its constants from.
    pub model: &'a [u8],
    /// Every model input, concatenated in input order.
    pub input: &'a [u8],
}

/// Instructions executed between two markers, by class.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Segment {
    /// Instructions executed.
    pub instructions: u64,
    /// Counts per column of the plugin (instruction classes, registers moved, branch outcomes).
    pub counts: BTreeMap<String, u64>,
    /// Estimated cycles ([`timing`]).
    pub estimated_cycles: f64,
}

/// Sizes of the firmware's sections, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sections {
    /// `.vector_table`.
    pub vector_table: u64,
    /// `.text`: code.
    pub text: u64,
    /// `.rodata`: constants (the model, the program).
    pub rodata: u64,
    /// `.data`: initialised statics (RAM, with an initial image in flash).
    pub data: u64,
    /// `.bss` and `.uninit`: zeroed statics, the arena among them.
    pub bss: u64,
}

impl Sections {
    /// Flash: the vector table, code, constants and the initial image of `.data`.
    pub fn flash_bytes(&self) -> u64 {
        self.vector_table + self.text + self.rodata + self.data
    }
    /// RAM taken by statics (the arena included).
    pub fn static_ram_bytes(&self) -> u64 {
        self.data + self.bss
    }
}

/// One measured inference.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The board asked for.
    pub board: Board,
    /// The machine the instructions were counted on.
    pub machine: Machine,
    /// The firmware ELF.
    pub elf: PathBuf,
    /// Which linker memory layout the firmware used (`mps3-an547-ddr` when the code left the ITCM).
    pub memory_layout: String,
    /// From reset to the first step (stack painting, input copy, program checks).
    pub setup: Segment,
    /// One segment per step, in order.
    pub steps: Vec<Segment>,
    /// After the last step (stack scan, printing).
    pub teardown: Segment,
    /// The model outputs the firmware printed.
    pub outputs: Vec<Vec<u8>>,
    /// Stack high-water mark, in bytes.
    pub stack_bytes: u64,
    /// Section sizes of the ELF.
    pub sections: Sections,
    /// An independent count of the inference's instructions (steps, markers and the program check before
    /// them): the MPS2 APB timer under `-icount shift=0`, to +-[`qemu::INSTRUCTIONS_PER_TIMER_TICK`]. `None`
    /// on machines without that timer.
    pub timer_instructions: Option<u64>,
}

impl Measurement {
    /// Instructions of the inference: every step.
    pub fn step_instructions(&self) -> u64 {
        self.steps.iter().map(|s| s.instructions).sum()
    }
    /// Estimated cycles of the inference: every step.
    pub fn step_cycles(&self) -> f64 {
        self.steps.iter().map(|s| s.estimated_cycles).sum()
    }
    /// RAM the firmware needs: its statics (arena included) and the stack it used.
    pub fn ram_bytes(&self) -> u64 {
        self.sections.static_ram_bytes() + self.stack_bytes
    }
}

/// Build the firmware of `source` for `board_name` (a board or an emulated machine of `boards.json`), run it
/// under QEMU with the counting plugin, and estimate the cycles of every step.
pub fn measure(source: &FirmwareSource<'_>, board_name: &str) -> Result<Measurement, BoardError> {
    let (board, machine) = profiles::board(board_name)?;
    let timing = timing::core_timing(&machine.core)?;
    qemu::check_qemu()?;
    let built = firmware::build(source, &board.machine, &machine)?;
    let run = qemu::run(&built.elf, &machine)?;
    let estimate = |mut s: Segment| -> Result<Segment, BoardError> {
        s.estimated_cycles = timing.cycles(&s.counts)?;
        Ok(s)
    };
    let (mut setup, mut steps, mut teardown) = (Segment::default(), Vec::new(), Segment::default());
    for (marker, segment) in run.segments {
        let segment = estimate(segment)?;
        match marker.as_str() {
            "start" => setup = segment,
            "step" => steps.push(segment),
            _ => teardown = segment,
        }
    }
    Ok(Measurement {
        board,
        machine,
        elf: built.elf,
        memory_layout: run.memory_layout,
        setup,
        steps,
        teardown,
        outputs: run.outputs,
        stack_bytes: run.stack_bytes,
        sections: built.sections,
        timer_instructions: run.timer_ticks.map(|t| t * qemu::INSTRUCTIONS_PER_TIMER_TICK),
    })
}
