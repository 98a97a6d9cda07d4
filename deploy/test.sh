#!/usr/bin/env bash
# Installs everything, builds vaultnfs with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs every test (ctest).
# Usage: deploy/test.sh [extra ctest arguments]
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
