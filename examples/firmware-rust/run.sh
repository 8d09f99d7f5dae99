#!/usr/bin/env bash
# Builds the example firmware for one zoo model and runs it in QEMU's mps2-an386 (Cortex-M4).
#
#   examples/firmware-rust/run.sh [MODEL] [extra export flags, e.g. --kernels optimized]
#
# Writes src/model.rs with `arenaplan export MODEL --format rust`, copies the model's first golden sample
# (input and TFLM's output) into data/, builds with `cargo build --release` and runs the ELF under
# qemu-system-arm with semihosting. Exit status: the firmware's (0 when its output is bit-exact with TFLM's).
# Needs: the thumbv7em-none-eabihf Rust target and qemu-system-arm.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
model="${1:-ds_cnn_49x10}"
shift || true
# Shared with the repository's builds unless the caller chose a target folder.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/example-firmware-rust}"

echo "run.sh: exporting $model"
# ARENAPLAN names a built `arenaplan` binary (the test passes its own); otherwise cargo builds and runs it.
if [[ -n "${ARENAPLAN:-}" ]]; then
    (cd "$root" && "$ARENAPLAN" export "$model" --strategy best --format rust -o "$here/src/model.rs" "$@")
else
    (cd "$root" && CARGO_TARGET_DIR="$root/target" cargo run -q -- export "$model" --strategy best --format rust \
        -o "$here/src/model.rs" "$@")
fi
mkdir -p "$here/data"
cp "$root/datasets/golden/$model/sample0_input0.bin" "$here/data/input.bin"
cp "$root/datasets/golden/$model/sample0_output0.bin" "$here/data/expected.bin"

echo "run.sh: building for thumbv7em-none-eabihf"
(cd "$here" && cargo build -q --release)
elf="$CARGO_TARGET_DIR/thumbv7em-none-eabihf/release/arenaplan-example-firmware"
size="$(stat -c %s "$elf")"
echo "run.sh: running $elf ($size B ELF) on qemu-system-arm -machine mps2-an386"
timeout 300 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
    -semihosting-config enable=on,target=native -kernel "$elf"
