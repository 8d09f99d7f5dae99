#!/usr/bin/env python3
"""Time one inference of a model in TFLM's own Python interpreter (its reference kernels), on this host.

The peer figure of the `report` binary: arenaplan's kernels are timed on the same machine, in the same run, on
the same golden input. Prints one JSON object on stdout: {"median_ms": ..., "runs": N, "tflm": VERSION}.

Usage:
  tflm_latency.py MODEL.tflite INPUT.bin [--runs N] [--arena-size BYTES]

INPUT.bin is the raw int8 input tensor (row-major), as in `datasets/golden/NAME/sample0_input0.bin`. One warm-up
inference runs first and is not counted. Needs the `tflite-micro` pip package (and numpy).
"""

import argparse
import json
import statistics
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("input")
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--arena-size", type=int, default=4 * 1024 * 1024)
    args = parser.parse_args()

    import numpy as np
    from tflite_micro import runtime

    try:
        from importlib.metadata import version

        tflm_version = version("tflite-micro")
    except Exception:  # noqa: BLE001 - the version is information only
        tflm_version = "unknown"

    interpreter = runtime.Interpreter.from_file(args.model, arena_size=args.arena_size)
    details = interpreter.get_input_details(0)
    data = np.fromfile(args.input, dtype=np.int8).reshape(details["shape"])
    interpreter.set_input(data, 0)
    interpreter.invoke()
    times = []
    for _ in range(max(args.runs, 1)):
        interpreter.set_input(data, 0)
        start = time.perf_counter()
        interpreter.invoke()
        times.append((time.perf_counter() - start) * 1e3)
    json.dump({"median_ms": statistics.median(times), "runs": len(times), "tflm": tflm_version}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
