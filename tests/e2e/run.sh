#!/usr/bin/env bash
# The kernel-client suite: boots a Debian guest (../shared/vmtest) in which
# `vaultnfs serve` is mounted by the Linux NFS client and exercised by
# ordinary tools; prints one line per scenario and "N passed, N failed".
#
# Usage: tests/e2e/run.sh --vaultnfs BIN --fsx BIN [--profile quick|full]
#                         [--only 'NAME ...'] [--shard K/N] [--cpus N]
#                         [--console FILE] [--prepare]
#   --profile  quick (default, sized for CI under emulation) or full
#              (larger trees, more operations); also $VAULTNFS_E2E_PROFILE
#   --only     run just these scenarios (names as printed); also $VAULTNFS_E2E_ONLY
#   --shard    run every Nth scenario from the Kth (0-based), so that N guests
#              share the suite; also $VAULTNFS_E2E_SHARD
#   --cpus     the guest's vCPUs (default 2); guests that run at once should
#              not have more of them together than the host has cores
#   --console  keep the guest's kernel log in FILE
#   --prepare  only build the guest image if it is missing, then exit
# Environment: VAULTNFS_E2E_FSX_OPS (fsx operations, overrides the profile),
# VAULTNFS_VMTEST_CACHE (guest image cache, default
# /var/cache/vaultnfs-vmtest), VAULTNFS_SHARED (default ../shared).
# Exit status: 0 all passed, 1 a scenario failed, 77 cannot run here (not
# root), anything else from the harness (124 timeout, 125 harness failure).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=${VAULTNFS_SHARED:-$repo/../shared}
cache=${VAULTNFS_VMTEST_CACHE:-/var/cache/vaultnfs-vmtest}
profile=${VAULTNFS_E2E_PROFILE:-quick}
only=${VAULTNFS_E2E_ONLY:-}
shard=${VAULTNFS_E2E_SHARD:-0/1}
cpus=2 vaultnfs='' fsx='' console='' prepare=0

usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
  case $1 in
    --vaultnfs) vaultnfs=$2; shift 2 ;;
    --fsx) fsx=$2; shift 2 ;;
    --profile) profile=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --shard) shard=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --console) console=$2; shift 2 ;;
    --prepare) prepare=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "e2e: unknown argument $1" >&2; usage ;;
  esac
done
[ -x "$vaultnfs" ] && [ -x "$fsx" ] || { echo "e2e: --vaultnfs and --fsx must name built binaries" >&2; usage; }
case $profile in quick|full) ;; *) echo "e2e: --profile is quick or full" >&2; exit 2 ;; esac
[[ $shard =~ ^([0-9]+)/([1-9][0-9]*)$ ]] && [ "${BASH_REMATCH[1]}" -lt "${BASH_REMATCH[2]}" ] ||
  { echo "e2e: --shard is K/N with 0 <= K < N" >&2; exit 2; }
if [ "$(id -u)" != 0 ]; then
  echo "e2e: SKIPPED: building and booting the guest needs root (run deploy/test.sh as root)" >&2
  exit 77
fi
[ -x "$shared/vmtest/run.sh" ] || { echo "e2e: no VM harness at $shared/vmtest (set VAULTNFS_SHARED)" >&2; exit 125; }

# The guest image, with the packages of the libraries the binaries link.
# shellcheck source=guest_image.sh
source "$here/guest_image.sh"
ensure_guest_image "$cache" "$shared" e2e "$vaultnfs" "$fsx"
[ "$prepare" = 0 ] || exit 0

# The guest sees one shared folder: the binaries, the scripts and the
# fixture vaults with their manifests (copied, so nothing writes to ../shared).
share=$(mktemp -d "${TMPDIR:-/tmp}/vaultnfs-e2e.XXXXXX")
trap 'rm -rf "$share"' EXIT
mkdir -p "$share/bin" "$share/fixtures"
cp "$vaultnfs" "$fsx" "$share/bin/"
cp -r "$here/guest/." "$share/"
cp -r "$shared/fixtures/vaults/." "$share/fixtures/"

timeout=$([ "$profile" = full ] && echo 5400 || echo 2700)
args=(--timeout "$timeout" --mem 3072 --cpus "$cpus" --env "E2E_PROFILE=$profile" --env "E2E_ONLY=$only"
      --env "E2E_SHARD=$shard"
      --env "E2E_FSX_OPS=${VAULTNFS_E2E_FSX_OPS:-}")
[ -n "$console" ] && args+=(--console "$console")
echo "e2e: profile $profile, shard $shard, guest timeout ${timeout}s"
"$shared/vmtest/run.sh" "$cache" "$share" suite.sh "${args[@]}"
