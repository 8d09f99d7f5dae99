#!/usr/bin/env python3
"""Check a model exported by `arenaplan export --format tflm` in TFLM's own Python interpreter.

Runs the original model (TFLM plans its arena online) and the exported one (TFLM honours arenaplan's offline
plan) on the golden inputs, and checks that

  * both produce outputs identical to each other and to the golden outputs, and
  * TFLM's head section (the planned part of the arena, from `print_allocations`) of the exported model equals
    `--expected-head`, the figure arenaplan predicts (its arena, or more when TFLM's online placement of scratch
    buffers around the offline tensors lands higher).

Each model runs in a child process, because TFLM aborts the whole process on some models (SIGABRT in softmax
preparation) and because `print_allocations` writes to file descriptor 2 from C++: the parent reads the child's
stderr. Prints one JSON object on stdout; exit status 0 when every check passed, 1 when one failed, 2 on usage
errors.

Usage:
  check_tflm_export.py ORIGINAL.tflite EXPORTED.tflite --golden DIR [--expected-head BYTES] [--arena-size BYTES]

DIR holds `sample{K}_input{I}.bin` and `sample{K}_output{J}.bin` (raw tensors, row-major), as in
`datasets/golden/NAME/`. Needs the `tflite-micro` pip package (and numpy, which it pulls in).
"""

import argparse
import base64
import json
import os
import re
import subprocess
import sys

ALLOCATION = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")


def numbered(directory, prefix):
    """Paths `prefix0.bin`, `prefix1.bin`, ... until the first missing one."""
    paths = []
    while True:
        path = os.path.join(directory, f"{prefix}{len(paths)}.bin")
        if not os.path.exists(path):
            return paths
        paths.append(path)


def samples(directory):
    """[(input paths, output paths)] per golden sample, in sample order."""
    out = []
    while True:
        k = len(out)
        inputs = numbered(directory, f"sample{k}_input")
        if not inputs:
            return out
        out.append((inputs, numbered(directory, f"sample{k}_output")))


def child(model, golden, arena_size):
    """Run `model` on every golden sample; print outputs as JSON; allocations go to fd 2."""
    import numpy as np
    from tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(model, arena_size=arena_size)
    results = []
    for inputs, outputs in samples(golden):
        for i, path in enumerate(inputs):
            details = interpreter.get_input_details(i)
            data = np.fromfile(path, dtype=details["dtype"]).reshape(details["shape"])
            interpreter.set_input(data, i)
        interpreter.invoke()
        results.append(
            [base64.b64encode(np.ascontiguousarray(interpreter.get_output(j)).tobytes()).decode() for j in range(len(outputs))]
        )
    sys.stdout.write(json.dumps({"outputs": results}))
    sys.stdout.flush()
    interpreter.print_allocations()


def run(model, golden, arena_size):
    """Run a model in a child process: (outputs per sample, {total, head, tail}) or raise RuntimeError."""
    proc = subprocess.run(
        [sys.executable, __file__, "--child", model, "--golden", golden, "--arena-size", str(arena_size)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"TFLM failed on {model} (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    figures = {kind: int(value) for kind, value in ALLOCATION.findall(proc.stderr)}
    if "head" not in figures:
        raise RuntimeError(f"no `Arena allocation head` line from print_allocations for {model}: {proc.stderr[-2000:]}")
    outputs = [[base64.b64decode(o) for o in sample] for sample in json.loads(proc.stdout)["outputs"]]
    return outputs, figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("original", nargs="?")
    parser.add_argument("exported", nargs="?")
    parser.add_argument("--golden", required=True, help="folder of sampleK_inputI.bin / sampleK_outputJ.bin")
    parser.add_argument("--expected-head", type=int, help="the head bytes arenaplan predicts for the export")
    parser.add_argument("--arena-size", type=int, default=16 * 1024 * 1024)
    parser.add_argument("--child", metavar="MODEL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.golden, args.arena_size)
        return 0
    if not args.original or not args.exported:
        parser.error("ORIGINAL and EXPORTED are required")
    golden = samples(args.golden)
    report = {"original": args.original, "exported": args.exported, "samples": len(golden), "problems": []}
    problems = report["problems"]
    if not golden:
        problems.append(f"no golden samples in {args.golden}")
    try:
        original_outputs, original_figures = run(args.original, args.golden, args.arena_size)
        exported_outputs, exported_figures = run(args.exported, args.golden, args.arena_size)
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        problems.append(str(err))
        report["ok"] = False
        print(json.dumps(report, indent=2))
        return 1
    report["original_tflm"] = original_figures
    report["exported_tflm"] = exported_figures
    report["head_bytes"] = exported_figures["head"]
    report["expected_head_bytes"] = args.expected_head
    report["outputs_identical"] = original_outputs == exported_outputs
    if not report["outputs_identical"]:
        problems.append("the exported model's outputs differ from the original's")
    expected = [[open(p, "rb").read() for p in outputs] for _, outputs in golden]
    report["matches_golden"] = exported_outputs == expected
    if not report["matches_golden"]:
        problems.append("the exported model's outputs differ from the golden outputs")
    if args.expected_head is not None and exported_figures["head"] != args.expected_head:
        problems.append(f"TFLM head is {exported_figures['head']} bytes, arenaplan predicted {args.expected_head}")
    report["ok"] = not problems
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
