#!/usr/bin/env bash
# Installs everything, builds vaultnfs with AddressSanitizer and
# UndefinedBehaviorSanitizer, runs every test, then builds the libFuzzer
# targets with clang and runs each briefly (deploy/fuzz.sh).
#
# The kernel-client suite (tests/e2e) runs beside everything else, split
# between two emulated guests: each keeps about one core busy, so they start
# as soon as their two binaries are built, and share the machine with the
# rest of the build, the lint, the other tests and the fuzzers.
#
# Usage: deploy/test.sh [extra ctest arguments, for all but the kernel-client
# suite, which always runs whole]
# Environment: VAULTNFS_FUZZ_SECONDS, run time per fuzz target (default 20;
# 0 skips fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/install-deps.sh
build=${VAULTNFS_TEST_BUILD_DIR:-build-test}
# Line tables (-g1) are all a sanitizer's stack trace needs, and they build
# about a third faster than full debug information.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
  -DVAULTNFS_SANITIZE=ON >/dev/null
# Sanitizer reports must fail the run, never scroll past.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

ninja -C "$build" -j"$(nproc)" vaultnfs fsx
e2e_shards=2 e2e_pids=()
for ((k = 0; k < e2e_shards; k++)); do
  # setsid: each in its own process group, so that stopping it stops its guest too.
  setsid tests/e2e/run.sh --vaultnfs "$build/server/vaultnfs" --fsx "$build/tests/fsx" \
    --shard "$k/$e2e_shards" >"$build/e2e-$k.log" 2>&1 &
  e2e_pids+=($!)
done
echo "test: the kernel-client suite runs in the background (logs: $build/e2e-*.log)"
stop_e2e() { for pid in "${e2e_pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done; }
trap stop_e2e EXIT

ninja -C "$build" -j"$(nproc)"
./deploy/lint.sh "$build"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -LE e2e "$@"

fuzz_seconds=${VAULTNFS_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" -gt 0 ]; then
  VAULTNFS_FUZZ_SECONDS=$fuzz_seconds ./deploy/fuzz.sh
fi

echo "test: waiting for the kernel-client suite"
e2e_failed=0
for ((k = 0; k < e2e_shards; k++)); do
  status=0
  wait "${e2e_pids[k]}" || status=$?
  cat "$build/e2e-$k.log"
  case $status in
    0 | 77) ;;  # 77: skipped, it needs root (the log says so)
    *) echo "test: kernel-client suite, shard $k/$e2e_shards: FAILED (exit status $status)" >&2
       e2e_failed=1 ;;
  esac
done
trap - EXIT
[ "$e2e_failed" = 0 ]
