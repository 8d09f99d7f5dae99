#!/usr/bin/env python3
"""Print TFLM's arena figures (head, tail, total from `print_allocations`) for many `.tflite` files.

Usage: tflm_heads.py [--arena-size BYTES] MODEL.tflite...

Prints one JSON object per model on stdout, in argument order: {"path": ..., "head": ..., "tail": ...,
"total": ...}, or {"path": ..., "error": ...} when TFLM refuses the model or dies on it. The models are loaded
(no inference: the head is planned when the interpreter is created) by one child process that walks the list;
when TFLM aborts the child (it does on some models), the parent records the error and starts a new child at the
next model. `print_allocations` writes to file descriptor 2 from C++, so the child redirects fd 2 to a
temporary file around each call. Needs the `tflite-micro` pip package. Exit status 0, or 2 on usage errors.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

ALLOCATION = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")


def child(arena_size, paths):
    """Load each model in turn; print its figures as a JSON line as soon as they are known."""
    from tflite_micro import runtime

    for path in paths:
        # Tell the parent which model is being loaded, so a crash is charged to it.
        sys.stdout.write(json.dumps({"loading": path}) + "\n")
        sys.stdout.flush()
        try:
            interpreter = runtime.Interpreter.from_file(path, arena_size=arena_size)
        except Exception as e:  # TFLM's refusal, e.g. "failed to allocate tensors"
            sys.stdout.write(json.dumps({"path": path, "error": str(e)}) + "\n")
            sys.stdout.flush()
            continue
        with tempfile.TemporaryFile() as captured:
            saved = os.dup(2)
            os.dup2(captured.fileno(), 2)
            try:
                interpreter.print_allocations()
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            captured.seek(0)
            text = captured.read().decode(errors="replace")
        figures = {kind: int(value) for kind, value in ALLOCATION.findall(text)}
        figures["path"] = path
        sys.stdout.write(json.dumps(figures) + "\n")
        sys.stdout.flush()
        del interpreter


def main(argv):
    args = argv[1:]
    arena_size = 64 << 20
    if args[:1] == ["--child"]:
        child(int(args[1]), args[2:])
        return 0
    if args[:1] == ["--arena-size"]:
        if len(args) < 2:
            print(__doc__, file=sys.stderr)
            return 2
        arena_size, args = int(args[1]), args[2:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    results = {}
    remaining = list(args)
    while remaining:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(arena_size)] + remaining,
            capture_output=True,
            text=True,
        )
        loading = None
        for line in proc.stdout.splitlines():
            record = json.loads(line)
            if "loading" in record:
                loading = record["loading"]
            else:
                results[record["path"]] = record
                loading = None
        done = [p for p in remaining if p in results]
        if loading is not None and loading not in results:
            results[loading] = {"path": loading, "error": f"TFLM died (status {proc.returncode})"}
        elif len(done) < len(remaining) and proc.returncode != 0:
            # The child died before naming a model: charge the next one.
            first = next(p for p in remaining if p not in results)
            results[first] = {"path": first, "error": proc.stderr.strip()[-500:] or "child died"}
        remaining = [p for p in remaining if p not in results]
    for path in args:
        print(json.dumps(results[path]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
