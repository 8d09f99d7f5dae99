#!/usr/bin/env bash
# Fuzz the three targets in turn, ROUNDS times, SECONDS each (defaults: 1 round of 600 s), one process at a
# time. Run from the fuzz/ folder with the nightly toolchain and cargo-fuzz installed. The corpora grow in
# corpus/<target>/ (seeded from seeds/<target>/); crashes land in artifacts/<target>/. Each run's final
# statistics are appended to fuzz.log (grep `stat::number_of_executed_units` to count executions).
set -u
ROUNDS=${ROUNDS:-1}
SECONDS_PER_TARGET=${SECONDS_PER_TARGET:-600}
TARGETS=${TARGETS:-"tflite csv plan_json"}
for round in $(seq 1 "$ROUNDS"); do
  for target in $TARGETS; do
    mkdir -p "corpus/$target"
    echo "=== round $round target $target $(date -u +%FT%TZ)" >> fuzz.log
    cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=1536 -print_final_stats=1 \
      >> fuzz.log 2>&1
    echo "=== exit $? $(date -u +%FT%TZ)" >> fuzz.log
  done
done
