//! `arenaplan export` (a plan to firmware or other tools) and `arenaplan check-plan` (a JSON plan against its
//! model). Every export is validated against a fresh lowering of the model before a byte is written, and the
//! output appears only when complete (written beside the target, then renamed).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use arenaplan_planner::check::{status_name, ClaimVerifier, VerifiedClaims};
use arenaplan_planner::export::{c_header, c_program, csv, json, rust, tflm, tflm_arena, ExportError};
use arenaplan_planner::{
    pack_checked_within, BufferProblem, Graph, KernelVariant, PackError, PackLimits, Plan, PlanRequest,
};
use arenaplan_strategies as strategies;
use clap::{Args, ValueEnum};

use super::limit_args::LimitArgs;
use super::plan::{plan_checked, selected_strategies};
use super::request_args::RequestArgs;
use super::ModelSource;

/// What `arenaplan export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A copy of the `.tflite` with the plan as TFLM's `OfflineMemoryAllocation` metadata.
    Tflm,
    /// A C99 header: arena size, offsets, lifetimes, schedule, compile-time checks.
    C,
    /// The whole plan as a versioned JSON document (`docs/plan-schema.md`).
    Json,
    /// The MiniMalloc solution CSV.
    Csv,
    /// A `no_std` Rust module: the compiled program as statics, for the `arenaplan-kernels` interpreter.
    Rust,
    /// C for the arenaplan C API: `-o NAME.c` and `NAME.h` beside it (program blob, model bytes, arena size,
    /// input and output descriptors).
    CProgram,
}

/// Arguments of `arenaplan export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A `.tflite` file or a zoo model name.
    model: String,
    /// The strategy that makes the plan; `best` runs every registered strategy and keeps the smallest arena.
    #[arg(long, short = 's', default_value = "greedy-by-size")]
    strategy: String,
    /// Export this JSON plan (from `arenaplan export --format json`) instead of planning; it is checked first.
    #[arg(long, conflicts_with = "strategy")]
    from_json: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum)]
    format: Format,
    /// Output file.
    #[arg(long, short = 'o')]
    output: PathBuf,
    /// Prefix of the C identifiers (default: the model name).
    #[arg(long)]
    prefix: Option<String>,
    /// The request: alignment, capacity, time limit, seed, kernel set.
    #[command(flatten)]
    request: RequestArgs,
}

/// Arguments of `arenaplan check-plan`.
#[derive(Debug, Args)]
pub struct CheckPlanArgs {
    /// A `.tflite` file or a zoo model name.
    model: String,
    /// A JSON plan written by `arenaplan export --format json`.
    plan: PathBuf,
    /// Resource limits for loading the model.
    #[command(flatten)]
    limits: LimitArgs,
}

/// Write `bytes` to `path` so that `path` never holds a partial file: the bytes go to a new temporary file in
/// the target's directory, which is renamed over `path` once complete and removed on every error path. A
/// `path` that names a directory is refused before anything is written.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);

    if path.is_dir() {
        bail!("cannot write {}: it is a directory", path.display());
    }
    let file_name = path.file_name().with_context(|| format!("cannot write {}: no file name", path.display()))?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let (file, temp) = loop {
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".{}.{}.tmp", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
        let temp = dir.join(name);
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => break (file, temp),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot write {}", path.display())),
        }
    };
    let written = (|| -> std::io::Result<()> {
        let mut file = file;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        // The temporary file is ours alone; nothing else to undo.
        let _ = std::fs::remove_file(&temp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

/// Plan with one named strategy, or with every registered one keeping the smallest arena (`best`; ties go to
/// the earlier strategy of the registry).
pub fn plan_named(name: &str, graph: &Graph<'_>, request: &PlanRequest) -> anyhow::Result<Plan> {
    let names = if name == "best" { vec!["all".to_owned()] } else { vec![name.to_owned()] };
    let mut best: Option<Plan> = None;
    for strategy in selected_strategies(&names)? {
        let plan = plan_checked(strategy.as_ref(), graph, request)?;
        if best.as_ref().is_none_or(|b| plan.arena_bytes < b.arena_bytes) {
            best = Some(plan);
        }
    }
    best.context("no strategy selected")
}

/// The CLI's [`ClaimVerifier`]: strategy names from the registry, and proofs by the `exact` search (asked
/// whether the problem fits in the capacity, within the plan's request time limit).
pub struct RegistryVerifier;

impl ClaimVerifier for RegistryVerifier {
    fn is_registered(&self, strategy: &str) -> bool {
        strategy == "pareto" || strategies::strategy_by_name(strategy).is_some()
    }

    fn proves_no_fit(&self, problem: &BufferProblem, capacity: u64, request: &PlanRequest) -> bool {
        let Some(exact) = strategies::packer_by_name("exact") else { return false };
        let problem = problem.clone().with_capacity(capacity);
        matches!(
            pack_checked_within(exact.as_ref(), &problem, &PackLimits::from_request(request), &request.limits),
            Err(PackError::Infeasible { .. })
        )
    }
}

/// Read a JSON plan and check it against its model, every claim recomputed ([`json::check_document`]).
fn checked_document(graph: &Graph<'_>, path: &Path, model: &Path) -> anyhow::Result<(Plan, VerifiedClaims)> {
    json::check_document(graph, &read_document(path)?, &RegistryVerifier)
        .with_context(|| format!("the plan {} does not hold for {}", path.display(), model.display()))
}

/// The kernel variants of a plan, counted: e.g. `12 reference, 19 optimized`.
fn kernel_summary(kernels: &[KernelVariant]) -> String {
    let count = |v: KernelVariant| kernels.iter().filter(|&&k| k == v).count();
    [KernelVariant::Reference, KernelVariant::Optimized]
        .into_iter()
        .filter(|&v| count(v) > 0)
        .map(|v| format!("{} {}", count(v), v.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a strategy name is printed: as is, or marked when the registry does not know it.
fn strategy_label(claims: &VerifiedClaims) -> String {
    if claims.strategy_registered {
        format!("`{}`", claims.strategy)
    } else {
        format!("`{}` (unknown: not a registered strategy)", claims.strategy)
    }
}

fn read_document(path: &Path) -> anyhow::Result<json::PlanDocument> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    json::from_json(&text).with_context(|| format!("cannot read the plan {}", path.display()))
}

/// A refused `tflm` export's error, with the best plan TFLM can follow offered beside it (the registry's `best`
/// with TFLM's reference kernels).
fn offer_tflm_plan(error: ExportError, graph: &Graph<'_>, request: &PlanRequest) -> anyhow::Error {
    let tflm_request =
        PlanRequest { kernels: KernelVariant::Reference, op_kernels: Default::default(), ..request.clone() };
    match plan_named("best", graph, &tflm_request) {
        Ok(best) => anyhow::anyhow!(
            "{error}. The best plan TFLM can follow is `{}` with an arena of {} B: export it with --strategy best \
             --kernels reference",
            best.meta.strategy,
            best.arena_bytes
        ),
        Err(_) => anyhow::Error::new(error),
    }
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let source = ModelSource::resolve(Some(&args.model))?;
    let bytes = source.read()?;
    let request = args.request.request(&source)?;
    let graph = Graph::from_bytes_within(&bytes, &request.limits)
        .with_context(|| format!("cannot load {}", source.path.display()))?;
    let plan = match &args.from_json {
        Some(path) => {
            let (plan, claims) = checked_document(&graph, path, &source.path)?;
            if !claims.strategy_registered {
                errln!("note: the plan's strategy {}", strategy_label(&claims));
            }
            plan
        }
        None => plan_named(&args.strategy, &graph, &request)?,
    };
    let out: Vec<u8> = match args.format {
        Format::Tflm => tflm::to_tflm(&graph, &plan).map_err(|e| offer_tflm_plan(e, &graph, &request))?,
        Format::C => c_header::to_c_header(&graph, &plan, args.prefix.as_deref().unwrap_or(&source.name))?.into_bytes(),
        Format::Json => json::to_json(&graph, &plan, &source.name)?.into_bytes(),
        Format::Csv => csv::to_csv(&graph, &plan)?.into_bytes(),
        Format::Rust => rust::to_rust(&graph, &plan, &source.name)?.into_bytes(),
        Format::CProgram => {
            let header_path = args.output.with_extension("h");
            if header_path == args.output {
                bail!("--format c-program writes NAME.c and NAME.h: name the .c file with -o");
            }
            let header_name = header_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let prefix = args.prefix.as_deref().unwrap_or(&source.name);
            let files = c_program::to_c_program(&graph, &plan, prefix, &header_name)?;
            write_atomically(&header_path, files.header.as_bytes())?;
            files.source.into_bytes()
        }
    };
    if args.format == Format::Tflm {
        // Our own reader must accept what we wrote, and see the same tensors.
        let reread = Graph::from_bytes_within(&out, &request.limits)
            .context("internal error: the exported model does not read back")?;
        if reread.tensor_count() != graph.tensor_count() || reread.op_count() != graph.op_count() {
            bail!("internal error: the exported model reads back with other tensors or operators");
        }
    }
    write_atomically(&args.output, &out)?;
    errln!(
        "{}: `{}` plan, arena {} B (lower bound {} B), written as {:?} to {}",
        source.name,
        plan.meta.strategy,
        plan.arena_bytes,
        plan.meta.lower_bound_bytes,
        args.format,
        args.output.display()
    );
    if args.format == Format::Tflm {
        let head = tflm::predicted_tflm_head(&plan.problem, &plan.offsets);
        if head != plan.arena_bytes {
            errln!(
                "note: TFLM places scratch buffers itself, around the offline tensors; its head will be {head} B, \
                 not {} B",
                plan.arena_bytes
            );
        }
        let arena = |build| tflm_arena::tflm_tensor_arena(&graph, &plan.problem, head, build);
        match (arena(tflm_arena::TflmBuild::MCU_32), arena(tflm_arena::TflmBuild::HOST_PYTHON_64)) {
            (Ok(mcu), Ok(host)) => errln!(
                "TFLM tensor_arena: {} B on a 32-bit MCU (head {} B, tail {} B), {} B on a 64-bit host (TFLM's \
                 Python interpreter: head {} B, tail {} B)",
                mcu.arena_bytes,
                mcu.head_bytes,
                mcu.tail_bytes,
                host.arena_bytes,
                host.head_bytes,
                host.tail_bytes
            ),
            (Err(e), _) | (_, Err(e)) => errln!("note: TFLM's tensor_arena size is not known for this model: {e}"),
        }
    }
    Ok(())
}

pub fn run_check(args: CheckPlanArgs) -> anyhow::Result<()> {
    let source = ModelSource::resolve(Some(&args.model))?;
    let bytes = source.read()?;
    let limits = args.limits.limits()?;
    let graph =
        Graph::from_bytes_within(&bytes, &limits).with_context(|| format!("cannot load {}", source.path.display()))?;
    let (plan, claims) = checked_document(&graph, &args.plan, &source.path)?;
    let capacity = claims.capacity_bytes.map_or_else(|| "no capacity".to_owned(), |c| format!("capacity {c} B"));
    let bound = if claims.reproven { "re-proven by the exact search" } else { "the peak of live bytes" };
    outln!(
        "valid: {} plan of {} ({} buffers, {} steps; kernels: {}), arena {} B, lower bound {} B ({bound}), {}, {capacity}",
        strategy_label(&claims),
        source.name,
        plan.problem.buffers.len(),
        plan.schedule.len(),
        kernel_summary(&plan.kernels),
        claims.arena_bytes,
        claims.lower_bound_bytes,
        status_name(claims.status),
    );
    Ok(())
}
