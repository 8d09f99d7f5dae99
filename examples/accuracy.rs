//! Runs a model on a directory of inputs with arenaplan's planner and kernels, and reports how often its top
//! class agrees with the labels.
//!
//! ```sh
//! cargo run --release --example accuracy -- MODEL DIR [--strategy NAME] [--kernels reference|optimized]
//! cargo run --release --example accuracy -- MODEL DIR --write-golden-demo   # a demo directory from the zoo
//! ```
//!
//! `MODEL` is a `.tflite` path or a zoo model name. `DIR/labels.csv` has one `file,label` line per sample
//! (`label` the index of the expected class; a first line whose label is not a number is a header). Each file
//! holds the model's (single) input: `.bin` raw int8 bytes, or `.f32` little-endian `f32` real values,
//! quantised with the input's scale and zero point as TFLM's QUANTIZE rounds. The model is planned with the
//! strategy (`best-of` unless told), compiled, checked against its bytes' SHA-256, and run in one arena per
//! sample; the class is the index of the largest dequantised score of the first output.
//!
//! `--write-golden-demo` fills `DIR` with the zoo model's golden inputs, labelled with the class TFLM chose for
//! each, so the run reports agreement with TFLM.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};
use arenaplan::datasets;
use arenaplan::kernels::{run, TensorDescriptor};
use arenaplan::planner::program::compile;
use arenaplan::planner::{Graph, KernelVariant, PlanRequest};
use arenaplan::strategies::strategy_by_name;

/// The command line.
struct Args {
    model: String,
    dir: PathBuf,
    strategy: String,
    kernels: KernelVariant,
    write_golden_demo: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let usage = "usage: accuracy MODEL DIR [--strategy NAME] [--kernels reference|optimized] [--write-golden-demo]";
    let mut positional = Vec::new();
    let (mut strategy, mut kernels, mut write_golden_demo) = ("best-of".to_owned(), KernelVariant::Reference, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--strategy" => strategy = args.next().ok_or_else(|| anyhow!("--strategy needs a name\n{usage}"))?,
            "--kernels" => {
                kernels = match args.next().as_deref() {
                    Some("reference") => KernelVariant::Reference,
                    Some("optimized") => KernelVariant::Optimized,
                    other => bail!("--kernels takes reference or optimized, not {other:?}\n{usage}"),
                }
            }
            "--write-golden-demo" => write_golden_demo = true,
            flag if flag.starts_with("--") => bail!("unknown flag {flag}\n{usage}"),
            _ => positional.push(arg),
        }
    }
    let [model, dir] = <[String; 2]>::try_from(positional).map_err(|_| anyhow!("{usage}"))?;
    Ok(Args { model, dir: PathBuf::from(dir), strategy, kernels, write_golden_demo })
}

/// The model's bytes: a file, or a zoo model by name.
fn model_bytes(model: &str) -> anyhow::Result<Vec<u8>> {
    if Path::new(model).is_file() {
        return std::fs::read(model).with_context(|| format!("cannot read {model}"));
    }
    datasets::model_bytes(model).with_context(|| format!("{model} is neither a file nor a zoo model"))
}

/// Index of the largest value (the first of equal ones).
fn argmax(values: &[f32]) -> usize {
    (0..values.len()).fold(0, |best, i| if values[i] > values[best] { i } else { best })
}

/// Writes the zoo model's golden inputs into `dir` with the class TFLM chose for each as its label.
fn write_golden_demo(model: &str, dir: &Path) -> anyhow::Result<()> {
    let goldens = datasets::goldens(model).with_context(|| format!("no golden samples for {model}"))?;
    if goldens.is_empty() {
        bail!("{model} has no golden samples");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut labels = String::from("file,label\n");
    for golden in &goldens {
        let file = format!("sample{}.bin", golden.sample);
        let input: Vec<u8> = golden.inputs[0].iter().map(|&v| v as u8).collect();
        std::fs::write(dir.join(&file), input)?;
        let tflm: Vec<f32> = golden.outputs[0].iter().map(|&v| v as f32).collect();
        labels.push_str(&format!("{file},{}\n", argmax(&tflm)));
    }
    std::fs::write(dir.join("labels.csv"), labels)?;
    println!("wrote {} samples of {model} into {}", goldens.len(), dir.display());
    Ok(())
}

/// The `(file, label)` lines of `DIR/labels.csv`.
fn read_labels(dir: &Path) -> anyhow::Result<Vec<(String, usize)>> {
    let path = dir.join("labels.csv");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut samples = Vec::new();
    for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let (file, label) =
            line.rsplit_once(',').ok_or_else(|| anyhow!("{}:{}: expected `file,label`", path.display(), number + 1))?;
        match label.trim().parse::<usize>() {
            Ok(label) => samples.push((file.trim().to_owned(), label)),
            Err(_) if number == 0 => {} // a header
            Err(_) => bail!("{}:{}: label {label:?} is not a class index", path.display(), number + 1),
        }
    }
    if samples.is_empty() {
        bail!("{} lists no samples", path.display());
    }
    Ok(samples)
}

/// Puts one sample file into the arena as the model input described by `input`.
fn load_sample(path: &Path, input: &TensorDescriptor, arena: &mut [u8]) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("bin") => {
            let place = input.bytes_mut(arena)?;
            if bytes.len() != place.len() {
                bail!("{}: {} bytes, the input takes {}", path.display(), bytes.len(), place.len());
            }
            place.copy_from_slice(&bytes);
        }
        Some("f32") => {
            if bytes.len() % 4 != 0 {
                bail!("{}: {} bytes is not a whole number of f32 values", path.display(), bytes.len());
            }
            let reals: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            input.quantize_into(&reals, arena).with_context(|| path.display().to_string())?;
        }
        _ => bail!("{}: a sample is a .bin (raw int8) or .f32 (real values) file", path.display()),
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    if args.write_golden_demo {
        return write_golden_demo(&args.model, &args.dir);
    }
    let bytes = model_bytes(&args.model)?;
    let graph = Graph::from_bytes(&bytes)?;
    let strategy = strategy_by_name(&args.strategy).ok_or_else(|| anyhow!("no strategy {}", args.strategy))?;
    let request = PlanRequest { kernels: args.kernels, ..PlanRequest::default() };
    let plan = strategy.plan(&graph, &request)?;
    let compiled = compile(&graph, &plan)?;
    let program = compiled.checked_program(&bytes)?;
    let [input] = compiled.input_descriptors.as_slice() else {
        bail!("the model has {} inputs; this example feeds one", compiled.input_descriptors.len());
    };
    let output = compiled.output_descriptors.first().ok_or_else(|| anyhow!("the model has no output"))?;

    let samples = read_labels(&args.dir)?;
    let mut arena = vec![0u8; compiled.arena_bytes as usize];
    let mut scores = vec![0.0f32; output.elements()];
    let mut agree = 0;
    for (file, label) in &samples {
        load_sample(&args.dir.join(file), input, &mut arena)?;
        run(&program, &mut arena).with_context(|| format!("{file}: the interpreter refused the program"))?;
        output.dequantize_from(&arena, &mut scores)?;
        let predicted = argmax(&scores);
        if predicted == *label {
            agree += 1;
        } else {
            println!("{file}: predicted {predicted}, labelled {label}");
        }
    }
    println!(
        "{}: {agree} of {} samples agree with their labels ({:.2}%); strategy {}, {} kernels, arena {} B",
        args.model,
        samples.len(),
        100.0 * agree as f64 / samples.len() as f64,
        args.strategy,
        args.kernels.to_kernels().name(),
        compiled.arena_bytes
    );
    Ok(())
}
