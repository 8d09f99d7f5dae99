//! Running a firmware under `qemu-system-arm` with the `insn_mix` counting plugin, and reading what it reports.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{elf, firmware, BoardError, Machine, Segment};

/// The QEMU the measurements run on.
pub const QEMU: &str = "qemu-system-arm";

/// How long one run may take before it is stopped (`ARENAPLAN_QEMU_TIMEOUT_S` overrides, in seconds).
pub fn timeout() -> Duration {
    let seconds = std::env::var("ARENAPLAN_QEMU_TIMEOUT_S").ok().and_then(|s| s.parse().ok()).unwrap_or(900);
    Duration::from_secs(seconds)
}

/// Fails with install instructions unless `qemu-system-arm` runs.
pub fn check_qemu() -> Result<(), BoardError> {
    match Command::new(QEMU).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(status) if status.success() => Ok(()),
        _ => Err(BoardError::MissingTool {
            tool: QEMU.into(),
            install: "install QEMU's Arm system emulator (Debian/Ubuntu: `apt-get install qemu-system-arm`)".into(),
        }),
    }
}

/// The counting plugin, built from `benches/firmware/qemu-plugin/insn_mix.c` with the host C compiler (`CC`,
/// else `cc`) when missing or older than its source.
pub fn plugin() -> Result<PathBuf, BoardError> {
    let source = firmware::firmware_dir().join("qemu-plugin").join("insn_mix.c");
    let root = firmware::work_root();
    let out = root.join("insn_mix.so");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&out).is_some() && modified(&out) >= modified(&source) {
        return Ok(out);
    }
    std::fs::create_dir_all(&root).map_err(|source| BoardError::Io { path: root.clone(), source })?;
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    eprintln!("bench: building the QEMU plugin {}", out.display());
    let partial = root.join(format!("insn_mix.{}.so", std::process::id()));
    let result = Command::new(&cc)
        .args(["-O2", "-Wall", "-shared", "-fPIC", "-o"])
        .arg(&partial)
        .arg(&source)
        .output()
        .map_err(|_| BoardError::MissingTool {
            tool: cc.to_string_lossy().into_owned(),
            install: "install a C compiler for the host (Debian/Ubuntu: `apt-get install gcc`) or set CC".into(),
        })?;
    if !result.status.success() {
        return Err(BoardError::Build {
            target: "the host (QEMU plugin)".into(),
            log: String::from_utf8_lossy(&result.stderr).into_owned(),
        });
    }
    std::fs::rename(&partial, &out).map_err(|source| BoardError::Io { path: out.clone(), source })?;
    Ok(out)
}

/// What one run reported.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Segments in execution order, each tagged with the marker that started it (`start`, `step`, `end`).
    pub segments: Vec<(String, Segment)>,
    /// The model outputs, in output order.
    pub outputs: Vec<Vec<u8>>,
    /// Stack high-water mark in bytes.
    pub stack_bytes: u64,
    /// The linker memory layout the firmware was built with.
    pub memory_layout: String,
    /// Ticks of the MPS2 APB timer around the whole inference, under `-icount shift=0` (MPS2 machines only).
    pub timer_ticks: Option<u64>,
}

/// Instructions per APB timer tick on the MPS2 machines under `-icount shift=0`: one instruction per virtual
/// nanosecond, a 25 MHz timer.
pub const INSTRUCTIONS_PER_TIMER_TICK: u64 = 40;

/// Whether the firmware of this machine reads the APB timer (and QEMU runs it with `-icount shift=0`).
pub fn has_apb_timer(machine: &Machine) -> bool {
    machine.qemu_machine.starts_with("mps2-")
}

fn marker(elf: &elf::Elf, name: &str) -> Result<u64, BoardError> {
    elf.symbols
        .get(name)
        .map(|a| a & !1)
        .ok_or_else(|| BoardError::Data(format!("the firmware has no symbol `{name}`")))
}

/// Run `elf_path` on `machine` with the counting plugin (the counts go beside the ELF, in `counts.tsv`).
pub fn run(elf_path: &Path, machine: &Machine) -> Result<Run, BoardError> {
    let plugin = plugin()?;
    let bytes = std::fs::read(elf_path).map_err(|source| BoardError::Io { path: elf_path.to_owned(), source })?;
    let parsed =
        elf::parse(&bytes).ok_or_else(|| BoardError::Data(format!("{} is not an ELF32 file", elf_path.display())))?;
    let step = marker(&parsed, "arenaplan_marker_step")?;
    let end = marker(&parsed, "arenaplan_marker_end")?;
    let counts_path = elf_path.with_file_name("counts.tsv");
    let _ = std::fs::remove_file(&counts_path);
    let plugin_arg = format!("{},out={},step={step:#x},end={end:#x}", plugin.display(), counts_path.display());
    let fail = |reason: String| BoardError::Run { machine: machine.qemu_machine.clone(), reason };

    eprintln!("bench: running on {} ({})", machine.qemu_machine, machine.qemu_cpu);
    let mut child = Command::new(QEMU)
        .args(["-machine", &machine.qemu_machine, "-cpu", &machine.qemu_cpu])
        .args(["-semihosting-config", "enable=on,target=native", "-nographic", "-monitor", "none"])
        .args(if has_apb_timer(machine) { &["-icount", "shift=0"][..] } else { &[][..] })
        .args(["-plugin", &plugin_arg, "-d", "plugin", "-kernel"])
        .arg(elf_path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|_| BoardError::MissingTool {
            tool: QEMU.into(),
            install: "Debian/Ubuntu: `apt-get install qemu-system-arm`".into(),
        })?;
    // Drain the pipes on threads so a chatty firmware cannot block on a full pipe.
    let mut stdout_pipe = child.stdout.take().expect("piped");
    let mut stderr_pipe = child.stderr.take().expect("piped");
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout_pipe.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let limit = timeout();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "no exit after {} s (ARENAPLAN_QEMU_TIMEOUT_S sets the limit)",
                    limit.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(fail(format!("cannot wait for QEMU: {e}"))),
        }
    };
    let stdout = out_thread.join().unwrap_or_default();
    let stderr = err_thread.join().unwrap_or_default();
    let _ = std::fs::write(elf_path.with_file_name("qemu.log"), format!("{stdout}\n--- stderr ---\n{stderr}"));
    if !status.success() {
        let said: String = stdout.lines().chain(stderr.lines()).take(20).collect::<Vec<_>>().join("\n");
        return Err(fail(format!("QEMU exited with {status}:\n{said}")));
    }
    let mut run = parse_stdout(&stdout).map_err(fail)?;
    let tsv =
        std::fs::read_to_string(&counts_path).map_err(|source| BoardError::Io { path: counts_path.clone(), source })?;
    run.segments = parse_counts(&tsv).map_err(|e| BoardError::Data(format!("{}: {e}", counts_path.display())))?;
    Ok(run)
}

/// Read the firmware's report: `arenaplan-firmware memory=M steps=N`, `outputJ HEX`, `stack_bytes B of T`, `done`.
pub fn parse_stdout(stdout: &str) -> Result<Run, String> {
    let mut run = Run::default();
    let mut done = false;
    for line in stdout.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("arenaplan-firmware ") {
            for field in rest.split_whitespace() {
                if let Some(m) = field.strip_prefix("memory=") {
                    run.memory_layout = m.to_owned();
                }
            }
        } else if let Some(rest) = line.strip_prefix("output") {
            let (_, hex) = rest.split_once(' ').unwrap_or((rest, ""));
            run.outputs.push(decode_hex(hex).ok_or_else(|| format!("malformed output line `{line}`"))?);
        } else if let Some(rest) = line.strip_prefix("stack_bytes ") {
            let n = rest.split_whitespace().next().unwrap_or("");
            run.stack_bytes = n.parse().map_err(|_| format!("malformed stack line `{line}`"))?;
        } else if let Some(rest) = line.strip_prefix("timer_ticks ") {
            run.timer_ticks = Some(rest.trim().parse().map_err(|_| format!("malformed timer line `{line}`"))?);
        } else if line == "done" {
            done = true;
        } else if line.starts_with("error") || line.starts_with("panic") {
            return Err(line.to_owned());
        }
    }
    if !done {
        return Err(format!("the firmware did not finish; it printed:\n{stdout}"));
    }
    Ok(run)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// Read the plugin's TSV: a header (`segment marker insns CLASS...`) and one row per segment.
pub fn parse_counts(tsv: &str) -> Result<Vec<(String, Segment)>, String> {
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().ok_or("empty")?.split('\t').collect();
    if header.get(..3) != Some(&["segment", "marker", "insns"][..]) {
        return Err("unexpected header".into());
    }
    let mut segments = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != header.len() {
            return Err(format!("row `{line}` has {} fields, the header {}", fields.len(), header.len()));
        }
        let number = |s: &str| s.parse::<u64>().map_err(|_| format!("`{s}` is not a count"));
        let mut segment = Segment { instructions: number(fields[2])?, ..Segment::default() };
        for (name, value) in header[3..].iter().zip(&fields[3..]) {
            segment.counts.insert((*name).to_owned(), number(value)?);
        }
        let classes: u64 = segment.counts.iter().filter(|(k, _)| is_instruction_class(k)).map(|(_, v)| v).sum();
        if classes != segment.instructions {
            return Err(format!("classes add up to {classes}, not to the {} instructions", segment.instructions));
        }
        segments.push((fields[1].to_owned(), segment));
    }
    Ok(segments)
}

/// Whether a plugin column counts instructions (the others count registers moved and branch outcomes).
pub fn is_instruction_class(column: &str) -> bool {
    !column.ends_with("_regs") && !column.starts_with("branch_")
}

/// The instruction classes of a segment, largest first (ties by name).
pub fn classes_by_count(counts: &BTreeMap<String, u64>) -> Vec<(&str, u64)> {
    let mut v: Vec<(&str, u64)> =
        counts.iter().filter(|(k, &n)| is_instruction_class(k) && n > 0).map(|(k, &n)| (k.as_str(), n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_firmware_report_and_refuses_an_unfinished_one() {
        let run = parse_stdout(
            "arenaplan-firmware memory=mps2-an386 steps=2\noutput0 00ff80\ntimer_ticks 7\nstack_bytes 480 of 4096\ndone\n",
        )
        .unwrap();
        assert_eq!(run.outputs, vec![vec![0x00, 0xff, 0x80]]);
        assert_eq!(run.stack_bytes, 480);
        assert_eq!(run.memory_layout, "mps2-an386");
        assert_eq!(run.timer_ticks, Some(7));
        assert!(parse_stdout("output0 00\nstack_bytes 4 of 8\n").is_err());
        assert!(parse_stdout("error: OutOfRange { step: 0 }\ndone\n").is_err());
    }

    #[test]
    fn reads_counts_and_checks_that_classes_add_up() {
        let tsv = "segment\tmarker\tinsns\talu\tload\tldm_regs\tbranch_taken\n0\tstart\t5\t3\t2\t0\t1\n1\tstep\t4\t4\t0\t9\t9\n";
        let segments = parse_counts(tsv).unwrap();
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[1].0, "step");
        assert_eq!(segments[1].1.counts["ldm_regs"], 9);
        let bad = "segment\tmarker\tinsns\talu\n0\tstart\t5\t3\n";
        assert!(parse_counts(bad).is_err());
    }
}
