#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang and runs each one for
# a while, then prints executions, corpus size and crashes per target. Exits
# non-zero if any target crashed, leaked, hung or failed to start; the input
# that did it is kept in BUILD/crashes/TARGET/ (rerun: BUILD/tests/fuzz/TARGET FILE).
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

summary=()
failed=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  crashes="$build/crashes/$t"
  log="$build/fuzz-$t.log"
  mkdir -p "$corpus" "$crashes"
  seeds=()
  [ -d "tests/fuzz/corpus/$t" ] && seeds=("tests/fuzz/corpus/$t")
  echo "fuzz: $t for ${seconds}s (log: $log)"
  status=0
  # -timeout: one input running this long is a hang, and a finding.
  "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "$corpus" "${seeds[@]}" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  inputs=$(find "$corpus" -type f | wc -l)
  if [ "$status" -eq 0 ]; then
    summary+=("$(printf '%-24s %12s execs %6s corpus inputs   0 crashes' "$t" "${execs:-?}" "$inputs")")
  else
    failed=1
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    if [ -n "$artifact" ]; then
      outcome="1 crash: $artifact"
    else
      outcome="FAILED with exit status $status, see $log"
    fi
    summary+=("$(printf '%-24s %12s execs %6s corpus inputs   %s' "$t" "${execs:-?}" "$inputs" \
      "$outcome")")
    echo "fuzz: $t FAILED; the end of its log:" >&2
    tail -n 40 "$log" >&2
  fi
done

printf '%s\n' "${summary[@]}"
exit "$failed"
