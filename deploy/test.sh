#!/usr/bin/env bash
# Installs everything, builds vaultnfs with AddressSanitizer and
# UndefinedBehaviorSanitizer, runs every test, then builds the libFuzzer
# targets with clang and runs each briefly (deploy/fuzz.sh).
#
# The kernel-client suite (tests/e2e) runs beside everything else: its
# emulated guest keeps about one of two cores busy for most of half an hour,
# so it starts as soon as its two binaries are built, and the rest of the
# build, the lint, the other tests and the fuzzers use the other core.
#
# Usage: deploy/test.sh [extra ctest arguments]
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
e2e_log=$build/e2e.log
echo "test: the kernel-client suite runs in the background (log: $e2e_log)"
# setsid: its own process group, so that stopping it stops the guest too.
setsid tests/e2e/run.sh --vaultnfs "$build/server/vaultnfs" --fsx "$build/tests/fsx" \
  >"$e2e_log" 2>&1 &
e2e_pid=$!
trap 'kill -TERM -- "-$e2e_pid" 2>/dev/null || true' EXIT

ninja -C "$build" -j"$(nproc)"
./deploy/lint.sh "$build"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -LE e2e "$@"

fuzz_seconds=${VAULTNFS_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" -gt 0 ]; then
  VAULTNFS_FUZZ_SECONDS=$fuzz_seconds ./deploy/fuzz.sh
fi

echo "test: waiting for the kernel-client suite"
e2e_status=0
wait "$e2e_pid" || e2e_status=$?
trap - EXIT
cat "$e2e_log"
case $e2e_status in
  0) echo "test: kernel-client suite passed" ;;
  77) echo "test: kernel-client suite skipped (it needs root)" ;;
  *) echo "test: kernel-client suite FAILED (exit status $e2e_status)" >&2; exit 1 ;;
esac
