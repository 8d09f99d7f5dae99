//! Building `benches/firmware` for one board: the exported program, the model and the input go into a work
//! folder `target/arenaplan-firmware/LABEL/`, and cargo builds the firmware for the machine's target with its
//! own target folder per machine (`target/arenaplan-firmware/cargo-MACHINE/`, so the `-C target-cpu` of one
//! machine never invalidates another's build).

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{elf, BoardError, FirmwareSource, Machine, Sections};

/// The firmware crate's folder (`ARENAPLAN_FIRMWARE_SRC` overrides the one of this source tree).
pub fn firmware_dir() -> PathBuf {
    match std::env::var_os("ARENAPLAN_FIRMWARE_SRC") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("benches").join("firmware"),
    }
}

/// Where firmware work folders and builds go: `CARGO_TARGET_DIR` (else this source tree's `target/`), then
/// `arenaplan-firmware/`.
pub fn work_root() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
    };
    target.join("arenaplan-firmware")
}

/// A built firmware.
#[derive(Debug, Clone)]
pub struct Built {
    /// The ELF file.
    pub elf: PathBuf,
    /// Its section sizes.
    pub sections: Sections,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BoardError + '_ {
    move |source| BoardError::Io { path: path.to_owned(), source }
}

/// Write `bytes` to `path` unless it already holds them (an unchanged file keeps its time, so cargo does not
/// rebuild).
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), BoardError> {
    if std::fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes).map_err(io(path))
}

/// Whether the Rust standard library of `target` is installed (`rustup target add` puts it there).
fn target_installed(target: &str) -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc).args(["--print", "target-libdir", "--target", target]).output() else {
        return false;
    };
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    out.status.success()
        && std::fs::read_dir(&dir)
            .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("libcore-")))
            .unwrap_or(false)
}

/// The work folder name of a label.
pub fn sanitize(label: &str) -> String {
    label.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '_' }).collect()
}

/// Write the firmware's inputs and build it for `machine` (named `machine_name`), showing progress on stderr.
pub fn build(source: &FirmwareSource<'_>, machine_name: &str, machine: &Machine) -> Result<Built, BoardError> {
    if !target_installed(&machine.rust_target) {
        return Err(BoardError::MissingTool {
            tool: format!("the Rust target {}", machine.rust_target),
            install: format!("rustup target add {}", machine.rust_target),
        });
    }
    let root = work_root();
    let work = root.join(sanitize(source.label));
    std::fs::create_dir_all(&work).map_err(io(&work))?;
    write_if_changed(&work.join("program.rs"), source.program_rs.as_bytes())?;
    write_if_changed(&work.join("model.tflite"), source.model)?;
    write_if_changed(&work.join("input.bin"), source.input)?;

    let manifest = firmware_dir().join("Cargo.toml");
    let cargo_target = root.join(format!("cargo-{}", sanitize(machine_name)));
    eprintln!(
        "bench: building the firmware for {machine_name} ({}, -C target-cpu={}) from {}",
        machine.rust_target,
        machine.target_cpu,
        work.display()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(cargo)
        .args(["build", "--release", "--target", &machine.rust_target, "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &cargo_target)
        .env("ARENAPLAN_FW_DIR", &work)
        .env("ARENAPLAN_FW_BOARD", machine_name)
        .env("RUSTFLAGS", format!("-C target-cpu={}", machine.target_cpu))
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BoardError::MissingTool { tool: "cargo".into(), install: format!("install Rust ({e})") })?;
    let mut log = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let trimmed = line.trim_start();
            if trimmed.starts_with("Compiling arenaplan") || trimmed.starts_with("Finished") {
                eprintln!("bench:   {trimmed}");
            }
            log.push(line);
        }
    }
    let status = child.wait().map_err(io(&manifest))?;
    if !status.success() {
        let tail = log[log.len().saturating_sub(40)..].join("\n");
        return Err(BoardError::Build { target: machine.rust_target.clone(), log: tail });
    }
    // A copy in the work folder: the next build for this machine overwrites cargo's.
    let built = cargo_target.join(&machine.rust_target).join("release").join("arenaplan-firmware");
    let elf_path = work.join("firmware.elf");
    let bytes = std::fs::read(&built).map_err(io(&built))?;
    std::fs::write(&elf_path, &bytes).map_err(io(&elf_path))?;
    let parsed =
        elf::parse(&bytes).ok_or_else(|| BoardError::Data(format!("{} is not an ELF32 file", elf_path.display())))?;
    let size = |name: &str| parsed.sections.get(name).copied().unwrap_or(0);
    let sections = Sections {
        vector_table: size(".vector_table"),
        text: size(".text"),
        rodata: size(".rodata"),
        data: size(".data"),
        bss: size(".bss") + size(".uninit"),
    };
    Ok(Built { elf: elf_path, sections })
}
