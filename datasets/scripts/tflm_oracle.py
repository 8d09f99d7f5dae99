"""Run every zoo model in TFLM's Python interpreter (the oracle): golden outputs and TFLM's arena figures.

Usage: python tflm_oracle.py DATASETS_DIR [NAME ...]

For each model, in a subprocess of its own (a bad model can abort the whole process inside TFLM):
- three seeded random int8 inputs per model input -> golden/NAME/sampleK_inputI.bin, sampleK_outputJ.bin;
- TFLM's head/tail/total arena bytes from print_allocations() -> reference/tflm.json.
"""
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tempfile

SAMPLES = 3
ARENA = 4 << 20


def run_one(models_dir, golden_dir, name):
    """Child process: goldens for one model, then its arena figures printed as JSON on stdout."""
    import numpy as np
    from tflite_micro import runtime

    path = os.path.join(models_dir, name + ".tflite")
    out_dir = os.path.join(golden_dir, name)
    os.makedirs(out_dir, exist_ok=True)
    it = runtime.Interpreter.from_file(path, arena_size=ARENA)
    n_in = len(it.get_input_details_all()) if hasattr(it, "get_input_details_all") else None
    inputs = []
    i = 0
    while n_in is None or i < n_in:
        try:
            inputs.append(it.get_input_details(i))
        except Exception:
            break
        i += 1
    for k in range(SAMPLES):
        rng = np.random.default_rng(1000 * k + 7)
        for i, d in enumerate(inputs):
            x = rng.integers(-128, 128, size=d["shape"], dtype=np.int8)
            x.tofile(os.path.join(out_dir, f"sample{k}_input{i}.bin"))
            it.set_input(x, i)
        it.invoke()
        j = 0
        while True:
            try:
                y = it.get_output(j)
            except Exception:
                break
            np.asarray(y, dtype=np.int8).tofile(os.path.join(out_dir, f"sample{k}_output{j}.bin"))
            j += 1
    # print_allocations writes to file descriptor 2 from C++: capture it in a temporary file.
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            it.print_allocations()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
    figures = {}
    for key in ("head", "tail", "total"):
        m = re.search(rf"{key}\D*?(\d+) bytes", text)
        if not m:
            raise RuntimeError(f"no {key} figure in print_allocations output: {text!r}")
        figures[key + "_bytes"] = int(m.group(1))
    print(json.dumps(figures))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        run_one(*sys.argv[2:5])
        return
    root = sys.argv[1]
    models_dir = os.path.join(root, "models")
    golden_dir = os.path.join(root, "golden")
    names = sys.argv[2:] or sorted(f[:-7] for f in os.listdir(models_dir) if f.endswith(".tflite"))
    ref_path = os.path.join(root, "reference", "tflm.json")
    os.makedirs(os.path.dirname(ref_path), exist_ok=True)
    reference = {"models": {}}
    if os.path.exists(ref_path):
        with open(ref_path) as f:
            reference = json.load(f)
    reference["tflite_micro_version"] = importlib.metadata.version("tflite-micro")
    try:
        reference["tensorflow_version"] = importlib.metadata.version("tensorflow-cpu")
    except importlib.metadata.PackageNotFoundError:
        pass
    failed = []
    for name in names:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", models_dir, golden_dir, name], capture_output=True, text=True
        )
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            print(f"FAILED {name}: exit {proc.returncode}: {proc.stderr[-2000:]}", flush=True)
            failed.append(name)
            continue
        reference["models"][name] = json.loads(lines[-1])
        print(f"{name}: {reference['models'][name]}", flush=True)
    reference["models"] = dict(sorted(reference["models"].items()))
    with open(ref_path, "w") as f:
        json.dump(reference, f, indent=2, sort_keys=True)
        f.write("\n")
    if failed:
        print("failed:", ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
