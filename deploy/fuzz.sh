#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang and runs each one for
# a while, one per core at a time, then prints executions, corpus size and
# crashes per target. Exits non-zero if any target crashed, leaked, hung or
# failed to start; the input that did it is kept in BUILD/crashes/TARGET/
# (rerun: BUILD/tests/fuzz/TARGET FILE).
#
# Usage: deploy/fuzz.sh [TARGET...]      (default: every target)
# Environment:
#   VAULTNFS_FUZZ_SECONDS    run time per target (default 300)
#   VAULTNFS_FUZZ_BUILD_DIR  build directory (default build-fuzz)
#
# Each target starts from its checked-in seeds (tests/fuzz/corpus/TARGET/,
# never written to) plus what earlier runs found (BUILD/corpus/TARGET/).
# Only the fuzz targets and the libraries they link are built.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${VAULTNFS_FUZZ_SECONDS:-300}
build=${VAULTNFS_FUZZ_BUILD_DIR:-build-fuzz}

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVAULTNFS_FUZZ=ON -DVAULTNFS_BENCH=OFF -DVAULTNFS_SANITIZE=OFF >/dev/null
ninja -C "$build" fuzz

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets <"$build/fuzz_targets.txt"
fi

# Runs one target; its summary line goes to BUILD/fuzz-TARGET.result, and
# its status is the fuzzer's.
fuzz_one() {
  local t=$1
  local corpus="$build/corpus/$t" crashes="$build/crashes/$t" log="$build/fuzz-$t.log"
  local result="$build/fuzz-$t.result"
  mkdir -p "$corpus" "$crashes"
  local seeds=()
  [ -d "tests/fuzz/corpus/$t" ] && seeds=("tests/fuzz/corpus/$t")
  echo "fuzz: $t for ${seconds}s (log: $log)"
  local status=0
  # -timeout: one input running this long is a hang, and a finding.
  "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "$corpus" "${seeds[@]}" >"$log" 2>&1 || status=$?
  local execs inputs outcome artifact
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  inputs=$(find "$corpus" -type f | wc -l)
  outcome="0 crashes"
  if [ "$status" -ne 0 ]; then
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    if [ -n "$artifact" ]; then
      outcome="1 crash: $artifact"
    else
      outcome="FAILED with exit status $status, see $log"
    fi
    { echo "fuzz: $t FAILED; the end of its log:"; tail -n 40 "$log"; } >&2
  fi
  printf '%-24s %12s execs %6s corpus inputs   %s\n' "$t" "${execs:-?}" "$inputs" "$outcome" \
    >"$result"
  return "$status"
}

# One target per core at a time: each fuzzer is a single process on one core.
failed=0
running=0
for t in "${targets[@]}"; do
  rm -f "$build/fuzz-$t.result"
  if [ "$running" -ge "$(nproc)" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
  fuzz_one "$t" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done

for t in "${targets[@]}"; do
  # A target that could not even start has no result file.
  cat "$build/fuzz-$t.result" 2>/dev/null ||
    { printf '%-24s FAILED, no result, see %s\n' "$t" "$build/fuzz-$t.log"; failed=1; }
done
exit "$failed"
