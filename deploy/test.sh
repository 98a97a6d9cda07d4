#!/usr/bin/env bash
# Installs everything, builds vaultnfs with AddressSanitizer and
# UndefinedBehaviorSanitizer, lints, runs every test, builds the libFuzzer
# targets with clang and runs each briefly (deploy/fuzz.sh), and last runs
# the kernel-client suite (tests/e2e), split between two emulated guests
# that run at once.
#
# The suite runs last, alone: each guest (one vCPU) keeps a core busy, and
# beside them a compile or a test takes four times as long. Its guest image
# is built (if missing) in the background while the rest builds.
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
e2e_args=(--vaultnfs "$build/server/vaultnfs" --fsx "$build/tests/fsx")
# setsid: each background job in its own process group, so that stopping
# it on the way out stops what it started too (debootstrap, a guest).
background=()
stop_background() { for pid in "${background[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done; }
trap stop_background EXIT
setsid tests/e2e/run.sh "${e2e_args[@]}" --prepare >"$build/e2e-prepare.log" 2>&1 &
background+=($!)

ninja -C "$build" -j"$(nproc)"
# The static analyzer is left out here, to save about 100 s of the lint's
# 570 on two cores. Run deploy/lint.sh with it too before a change lands.
VAULTNFS_LINT_ANALYZER=0 ./deploy/lint.sh "$build"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -LE e2e "$@"

fuzz_seconds=${VAULTNFS_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" -gt 0 ]; then
  VAULTNFS_FUZZ_SECONDS=$fuzz_seconds ./deploy/fuzz.sh
fi

status=0
wait "${background[0]}" || status=$?
cat "$build/e2e-prepare.log"
case $status in
  0 | 77) ;;  # 77: skipped, it needs root (the log says so)
  *) echo "test: preparing the kernel-client suite FAILED (exit status $status)" >&2
     exit 1 ;;
esac

echo "test: the kernel-client suite, two guests at once (logs: $build/e2e-*.log)"
# One vCPU each: two emulated guests of two vCPUs on two cores took 4-5
# times as long (fixture-main 158-199 s against 38-39 s, the whole suite
# 1,208 s against 456 s), their vCPUs spinning on guest locks whose holder
# was descheduled.
e2e_shards=2 background=()
for ((k = 0; k < e2e_shards; k++)); do
  setsid tests/e2e/run.sh "${e2e_args[@]}" --shard "$k/$e2e_shards" --cpus 1 >"$build/e2e-$k.log" 2>&1 &
  background+=($!)
done

e2e_failed=0
for ((k = 0; k < e2e_shards; k++)); do
  status=0
  wait "${background[k]}" || status=$?
  cat "$build/e2e-$k.log"
  case $status in
    0 | 77) ;;
    *) echo "test: kernel-client suite, shard $k/$e2e_shards: FAILED (exit status $status)" >&2
       e2e_failed=1 ;;
  esac
done
trap - EXIT
[ "$e2e_failed" = 0 ]
