//! The `arenaplan` command-line tool.

use std::fmt;
use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::Parser;

/// `println!` for command output: returns the write error (with `?`) instead of panicking, so a closed pipe
/// (`arenaplan inspect | head -1`) or a full disk ends the command cleanly.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*)))?
    };
}

/// `eprintln!` for notes and errors: a closed or full standard error is ignored instead of panicking (the exit
/// status still tells the outcome).
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod cli;

/// Write to standard output, reporting failures (a closed pipe, a full disk) as errors rather than panicking.
pub(crate) fn write_stdout(args: fmt::Arguments<'_>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)?;
    out.flush()
}

/// Whether the error comes from writing into a pipe whose reader has gone (`| head`): a quiet stop, not a
/// failure.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            errln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
