#!/usr/bin/env bash
# The in-VM comparison benchmark: boots a Debian guest (../shared/vmtest) and
# runs bench/vm/guest.sh in it, which measures the same fio and tree
# workloads on vaultnfs (mounted by the guest kernel's NFS client), on
# gocryptfs (FUSE), on nfs-ganesha serving plaintext (the same client: what
# NFS itself costs) and on the guest's plain ext4; then copies the results
# out and prints a markdown table with the vaultnfs/gocryptfs and
# ganesha/gocryptfs ratios (oriented so that > 1 means the NFS side is
# better) and the targets: >= 2x on the sequential and tree workloads, >= 1x
# on 4 KiB random reads.
#
# Usage: bench/vm/run.sh --vaultnfs BIN [--profile quick|full] [--out DIR]
#                        [--console FILE]
#   --vaultnfs  the vaultnfs binary to serve with (a Release build)
#   --profile   quick (default; 128 MiB fio file, 6 s random jobs, a tree of
#               2,000 files; about 6 minutes under emulation) or full
#               (1 GiB, 30 s, 10,000 files); also $VAULTNFS_BENCH_PROFILE
#   --out       where results.json (a list of {target, workload, value, unit,
#               detail}), table.md and guest.log go (default ./bench-vm-results)
#   --console   keep the guest's kernel log in FILE
# Environment: VAULTNFS_BENCH_TARGETS (default "vaultnfs gocryptfs ganesha ext4"),
# VAULTNFS_BENCH_SIZE_MIB, VAULTNFS_BENCH_RUNTIME, VAULTNFS_BENCH_FILES
# (override the profile), VAULTNFS_BENCH_RESTART_SERVER (1 default: restart
# vaultnfs before cold workloads; see guest.sh), VAULTNFS_VMTEST_CACHE (guest
# image cache, default /var/cache/vaultnfs-vmtest, shared with tests/e2e),
# VAULTNFS_SHARED (default ../shared).
# Exit status: 0 done, 1 a workload failed, 2 usage, 77 cannot run here (not
# root), anything else from the harness (124 timeout, 125 harness failure).
# Under emulation (TCG) the numbers measure CPU emulation as much as I/O:
# compare the columns of one run, not runs on different machines.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=${VAULTNFS_SHARED:-$repo/../shared}
cache=${VAULTNFS_VMTEST_CACHE:-/var/cache/vaultnfs-vmtest}
profile=${VAULTNFS_BENCH_PROFILE:-quick}
vaultnfs='' out=./bench-vm-results console=''

# The header above, on stdout for --help and on stderr after a usage error.
usage() {
  if [ "${1:-2}" = 0 ]; then sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  else sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; fi
  exit "${1:-2}"
}
while [ $# -gt 0 ]; do
  case $1 in
    --vaultnfs) vaultnfs=${2:-}; shift 2 ;;
    --profile) profile=${2:-}; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    --console) console=${2:-}; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "bench-vm: unknown argument $1" >&2; usage ;;
  esac
done
[ -n "$vaultnfs" ] && [ -x "$vaultnfs" ] || { echo "bench-vm: --vaultnfs must name a built binary" >&2; usage; }
case $profile in quick|full) ;; *) echo "bench-vm: --profile is quick or full" >&2; exit 2 ;; esac
[ -n "$out" ] || { echo "bench-vm: --out needs a directory" >&2; exit 2; }
if [ "$(id -u)" != 0 ]; then
  echo "bench-vm: SKIPPED: building and booting the guest needs root" >&2
  exit 77
fi
[ -x "$shared/vmtest/run.sh" ] || { echo "bench-vm: no VM harness at $shared/vmtest (set VAULTNFS_SHARED)" >&2; exit 125; }

# The guest image, with the packages of the libraries the binaries link.
# shellcheck source=../../tests/e2e/guest_image.sh
source "$repo/tests/e2e/guest_image.sh"
ensure_guest_image "$cache" "$shared" bench-vm "$vaultnfs"

# The share: the binary, the guest script, the e2e helpers it sources, and
# the folder the guest writes its results into.
share=$(mktemp -d "${TMPDIR:-/tmp}/vaultnfs-bench-vm.XXXXXX")
trap 'rm -rf "$share"' EXIT
mkdir -p "$share/bin" "$share/results" "$out"
cp "$vaultnfs" "$share/bin/vaultnfs"
cp "$here/guest.sh" "$share/guest.sh"
cp "$repo/tests/e2e/guest/lib.sh" "$share/e2e-lib.sh"

timeout=$([ "$profile" = full ] && echo 5400 || echo 900)
args=(--timeout "$timeout" --mem 3072 --env "BENCH_PROFILE=$profile")
for name in TARGETS SIZE_MIB RUNTIME FILES RESTART_SERVER; do
  var=VAULTNFS_BENCH_$name
  [ -z "${!var:-}" ] || args+=(--env "BENCH_$name=${!var}")
done
[ -n "$console" ] && args+=(--console "$console")
echo "bench-vm: profile $profile, guest timeout ${timeout}s, results in $out"
status=0
# With pipefail the pipeline fails with the harness's status (tee succeeds).
"$shared/vmtest/run.sh" "$cache" "$share" guest.sh "${args[@]}" 2>&1 | tee "$out/guest.log" || status=$?

if [ ! -s "$share/results/results.json" ]; then
  echo "bench-vm: the guest wrote no results (status $status)" >&2
  exit $((status == 0 ? 1 : status))
fi
cp "$share/results/results.json" "$out/results.json"
echo
if [ "$status" != 0 ]; then
  echo "bench-vm: the guest failed (status $status); the results it got so far:"
fi
python3 "$here/table.py" "$out/results.json" | tee "$out/table.md"
exit "$status"
