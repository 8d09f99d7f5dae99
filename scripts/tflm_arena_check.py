#!/usr/bin/env python3
"""Check stated `tensor_arena` sizes in TFLM's own Python interpreter (64-bit host build), many models at once.

Reads a JSON list of cases on stdin, each
  {"name": ..., "model": PATH.tflite, "arena_bytes": N or null, "inputs": [PATH.bin, ...],
   "expected_outputs": [PATH.bin, ...]}
and prints one JSON object per case on stdout:
  {"name": ..., "minimum_bytes": M, "head": H, "tail": T, "allocates": bool, "smaller_fails": bool,
   "outputs_identical": bool, "error": ...}

* `minimum_bytes` is the smallest arena with which `runtime.Interpreter` allocates the model, found by bisection
  (allocation success grows with the arena size); `head` and `tail` are what `print_allocations` reports with an
  arena of that size.
* When `arena_bytes` is given: `allocates` says whether the interpreter allocates with exactly that many bytes,
  `smaller_fails` whether it refuses `arena_bytes - 16`, and `outputs_identical` whether one inference on the
  raw `inputs` (row-major, the input tensors' types) gives outputs byte-identical to `expected_outputs`.

All cases run in one child process; when TFLM aborts it (it does on some models), the parent charges the case
being loaded and starts a new child at the next case. `print_allocations` writes to file descriptor 2 from C++,
so fd 2 is redirected to a temporary file around the call. Needs the `tflite-micro` pip package and numpy.
Exit status 0 (the verdicts are in the output), 2 on usage errors.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

ALLOCATION = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
UPPER_BOUND = 64 << 20


def quiet(function):
    """Call `function` with file descriptor 2 sent to a temporary file; returns (result, captured text)."""
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            result = function()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        return result, captured.read().decode(errors="replace")


def load(runtime, path, size):
    """The interpreter for `path` with an arena of `size` bytes, or None when TFLM refuses to allocate."""

    def make():
        try:
            return runtime.Interpreter.from_file(path, arena_size=size)
        except RuntimeError:
            return None

    return quiet(make)[0]


def allocates(runtime, path, size):
    """Whether TFLM allocates `path` in `size` bytes. Tried in a forked process: with too small an arena some
    kernels dereference the null pointer a failed allocation returns, and TFLM dies (SIGSEGV); that is a
    failure too."""
    pid = os.fork()
    if pid == 0:
        ok = False
        try:
            ok = load(runtime, path, size) is not None
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def check_case(runtime, np, case):
    path = case["model"]
    record = {"name": case["name"]}
    if not allocates(runtime, path, UPPER_BOUND):
        record["error"] = f"TFLM does not allocate {path} even with {UPPER_BOUND} bytes"
        return record
    lo, hi = 0, UPPER_BOUND  # lo fails (or is 0), hi allocates
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if not allocates(runtime, path, mid):
            lo = mid
        else:
            hi = mid
    record["minimum_bytes"] = hi
    interpreter = load(runtime, path, hi)
    _, text = quiet(interpreter.print_allocations)
    record.update({kind: int(value) for kind, value in ALLOCATION.findall(text)})
    del interpreter
    stated = case.get("arena_bytes")
    if stated is None:
        return record
    record["smaller_fails"] = not allocates(runtime, path, stated - 16)
    interpreter = load(runtime, path, stated)
    record["allocates"] = interpreter is not None
    if interpreter is None:
        return record
    for i, input_path in enumerate(case.get("inputs", [])):
        details = interpreter.get_input_details(i)
        data = np.fromfile(input_path, dtype=details["dtype"]).reshape(details["shape"])
        interpreter.set_input(data, i)
    interpreter.invoke()
    identical = True
    for j, expected_path in enumerate(case.get("expected_outputs", [])):
        got = np.ascontiguousarray(interpreter.get_output(j)).tobytes()
        with open(expected_path, "rb") as f:
            identical = identical and got == f.read()
    record["outputs_identical"] = identical
    return record


def child(cases):
    import numpy as np
    from tflite_micro import runtime

    for case in cases:
        sys.stdout.write(json.dumps({"loading": case["name"]}) + "\n")
        sys.stdout.flush()
        sys.stdout.write(json.dumps(check_case(runtime, np, case)) + "\n")
        sys.stdout.flush()


def main(argv):
    if argv[1:2] == ["--child"]:
        child(json.load(sys.stdin))
        return 0
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    cases = json.load(sys.stdin)
    results = {}
    remaining = list(cases)
    while remaining:
        proc = subprocess.run(
            [sys.executable, __file__, "--child"], input=json.dumps(remaining), capture_output=True, text=True
        )
        loading = None
        for line in proc.stdout.splitlines():
            record = json.loads(line)
            if "loading" in record:
                loading = record["loading"]
            else:
                results[record["name"]] = record
                loading = None
        if loading is not None:
            results[loading] = {"name": loading, "error": f"TFLM died (status {proc.returncode})"}
        elif proc.returncode != 0:
            first = next(c["name"] for c in remaining if c["name"] not in results)
            results[first] = {"name": first, "error": proc.stderr.strip()[-500:] or "child died"}
        remaining = [c for c in remaining if c["name"] not in results]
    for case in cases:
        print(json.dumps(results[case["name"]]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
