#!/usr/bin/env bash
# Installs everything, builds vaultnfs with AddressSanitizer and
# UndefinedBehaviorSanitizer, runs every test (ctest), then builds the
# libFuzzer targets with clang and runs each briefly (deploy/fuzz.sh).
# Usage: deploy/test.sh [extra ctest arguments]
# Environment: VAULTNFS_FUZZ_SECONDS, run time per fuzz target (default 20;
# 0 skips fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/install-deps.sh
build=${VAULTNFS_TEST_BUILD_DIR:-build-test}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVAULTNFS_SANITIZE=ON >/dev/null
ninja -C "$build" -j"$(nproc)"
./deploy/lint.sh "$build"
# Sanitizer reports must fail the run, never scroll past.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"

fuzz_seconds=${VAULTNFS_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" -gt 0 ]; then
  VAULTNFS_FUZZ_SECONDS=$fuzz_seconds ./deploy/fuzz.sh
fi
