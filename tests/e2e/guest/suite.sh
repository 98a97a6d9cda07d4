#!/bin/bash
# The end-to-end scenarios, run as root inside the vmtest guest by
# tests/e2e/run.sh: vaultnfs serves vaults on the guest's loopback and the
# guest kernel's NFS client mounts them. Prints one line per scenario and a
# closing "N passed, N failed"; exits 1 if any scenario failed.
#
# Environment: E2E_PROFILE quick|full (sizes), E2E_ONLY (scenario names to
# run, space-separated; empty runs all), E2E_SHARD K/N (every Nth scenario
# from the Kth, counting in the order below; default 0/1, all).
set -uo pipefail
cd "$(dirname "$0")"
# shellcheck source=lib.sh
source ./lib.sh
for file in scenarios/*.sh; do
  # shellcheck disable=SC1090
  source "$file"
done

PROFILE=${E2E_PROFILE:-quick}
SCENARIO_SECONDS=$([ "$PROFILE" = full ] && echo 3600 || echo 1500)
set -m
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$WORK/logs"

passed=0 failed=0
shard=${E2E_SHARD:-0/1} scenario_index=-1
selected() {
  scenario_index=$((scenario_index + 1))
  [ $((scenario_index % ${shard#*/})) = "${shard%/*}" ] || return 1
  [ -z "${E2E_ONLY:-}" ] && return 0
  local name
  for name in $E2E_ONLY; do [ "$name" = "$1" ] && return 0; done
  return 1
}

# scenario NAME FUNCTION [ARGS...]: runs FUNCTION under set -e in a
# subshell, then prints PASS or FAIL with the time taken, the lines the
# scenario marked with "note:" (on failure: the end of its output and of
# the server's log) and the calls its servers answered (call_report).
scenario() {
  local name=$1 log=$WORK/logs/$1.log start=$EPOCHREALTIME status=0 seconds
  shift
  selected "$name" || return 0
  : > "$SERVER_LOG"
  # In its own process group (job control is on), so that a scenario stuck
  # on a dead server can be killed whole when its time is up.
  ( set -eE; "$@" ) > "$log" 2>&1 &
  local pid=$!
  ( sleep "$SCENARIO_SECONDS"
    echo "TIMEOUT: killed after ${SCENARIO_SECONDS}s; the kernel says:" >> "$log"
    dmesg | tail -15 >> "$log"
    kill -KILL -- "-$pid" ) 2> /dev/null &
  local watchdog=$!
  wait "$pid" || status=$?
  kill -- "-$watchdog" 2> /dev/null || true
  wait "$watchdog" 2> /dev/null || true
  seconds=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  cleanup_guest
  if [ $status = 0 ]; then
    passed=$((passed + 1))
    printf 'PASS  %-34s %7s s\n' "$name" "$seconds"
  else
    failed=$((failed + 1))
    printf 'FAIL  %-34s %7s s  (exit %s)\n' "$name" "$seconds" "$status"
    tail -25 "$log" | sed 's/^/      | /'
    echo "      server log:"
    tail -15 "$SERVER_LOG" | sed 's/^/      | /'
  fi
  grep '^note: ' "$log" | sed 's/^note: /      /' || true
  call_report | sed 's/^/      server: /'
}

echo "vaultnfs e2e suite, profile $PROFILE, kernel $(uname -r), $(nproc) vCPUs"

# The order balances the shard 0/2 and 1/2 split that deploy/test.sh runs:
# the longest, fsx, shares its half with fixture-main; cp-a-tree and
# tar-and-rsync fall into the other.
for fixture in small-threshold main cryptomator-desktop-2024; do
  scenario "fixture-$fixture" read_fixture "$fixture"
done
scenario mount-through-rpcbind mount_through_rpcbind
scenario cp-a-tree copy_tree
scenario fsx fsx_random_io
scenario tar-and-rsync tar_and_rsync
scenario git-repository git_repository
scenario names-and-attributes names_and_attributes
scenario fio-verify fio_verify
scenario kill-during-dd-fsync kill_during_dd_fsync
scenario kill-during-cp-sync kill_during_cp_sync
scenario kill-and-tear-during-cp-sync kill_and_tear_during_cp_sync
scenario sigterm-during-write sigterm_during_write
scenario open-file-survives-restart open_file_survives_restart
scenario changes-from-outside changes_from_outside
scenario reserved-port reserved_port
scenario other-uid other_uid
scenario read-only read_only

echo "$passed passed, $failed failed"
[ $failed = 0 ]
