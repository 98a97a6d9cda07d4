#!/bin/bash
# The in-VM comparison benchmark, run as root inside the vmtest guest by
# bench/vm/run.sh (which stages this script, the vaultnfs binary as
# bin/vaultnfs and tests/e2e/guest/lib.sh as e2e-lib.sh in the share).
# Four targets, all backed by the same scratch ext4 disk:
#   vaultnfs   a fresh vault (`vaultnfs init`), `vaultnfs serve` with its
#              default options, mounted by the guest kernel's NFS client with
#              the mount command the server prints (vers=3,tcp,nolock)
#   gocryptfs  a fresh gocryptfs (-init, then mounted: FUSE), default options
#   ganesha    nfs-ganesha (FSAL_VFS) exporting a plain directory, mounted
#              by the same client with the same options: what NFS itself
#              costs here, with no encryption (the floor under vaultnfs)
#   ext4       a plain directory on the scratch ext4 (the ceiling)
# and on each the same workloads, one at a time, psync at queue depth 1:
#   seq write 1M         fio, 1 MiB blocks, buffered, end_fsync=1 (MiB/s)
#   seq read 1M cold     fio, 1 MiB blocks, buffered, of that file (MiB/s)
#   rand read 4k cold    fio, 4 KiB random reads, buffered, time-based (IOPS)
#   rand read 4k direct  the same with O_DIRECT (IOPS)
#   rand write 4k fsync  fio, 4 KiB random writes, buffered, time-based, then
#                        fsync; the fsync is inside fio's runtime (IOPS)
#   tree extract         tar -xf of a tree of small text files, then sync (ms)
#   tree find+stat cold  find | xargs stat over that tree (ms)
#   tree grep -r cold    grep -rlF of a string in 1 % of the files (ms)
#   tree rm -rf          rm -rf of the tree, then sync (ms)
# The tree (default 2,000 files quick, 10,000 full; about 3 KiB each, 50 to a
# directory) is generated once as a tar in /tmp (tmpfs) before the targets.
#
# Fairness, "cold": before each cold workload, for every target, the test
# waits 1 s (gocryptfs's own caches expire after 1 s), restarts
# `vaultnfs serve` (SIGTERM, serve again on the same port; the NFS mount
# stays, handles survive restarts) so that its user-space directory-listing
# cache is empty too (ganesha likewise, for its metadata cache), then runs `sync; echo 3 > /proc/sys/vm/drop_caches`.
# The NFS client, FUSE, the backing ext4 and the servers all share the
# guest's one kernel, so that drops the client page cache, dentries and
# attributes and the ciphertext pages under vaultnfs and gocryptfs alike; no
# remount is needed (the log shows `fincore` of the fio file after the drop:
# 0 resident pages). O_DIRECT is used only for the separate "direct" random
# read row, not for the sequential rows: buffered reads are what
# applications see, and the three targets treat O_DIRECT differently (the
# NFS client sends each read to the server, FUSE passes it on). Tree
# extract and rm -rf include a trailing `sync`, so all three have their
# data on disk when the clock stops (NFS additionally makes each file
# durable at close, as close-to-open NFS semantics require). Everything
# runs on 127.0.0.1 inside the guest; qemu's scratch disk is
# cache=writeback, so "disk" reads may come from the host page cache.
# After each result a bracketed log line (not in the JSON) says how busy the
# vCPUs were, how much CPU the serving process (vaultnfs, gocryptfs or
# ganesha) used, and for the NFS targets which NFSv3 calls the kernel client
# made: enough to tell CPU-bound from round-trip-bound.
#
# Run it through the host script:  bench/vm/run.sh --vaultnfs BIN
# Environment (run.sh passes these on): BENCH_PROFILE quick|full,
# BENCH_TARGETS (default "vaultnfs gocryptfs ganesha ext4"), BENCH_SIZE_MIB (fio file
# size: quick 128, full 1024), BENCH_RUNTIME (seconds per random fio job:
# quick 6, full 30), BENCH_FILES (tree size: quick 2000, full 10000),
# BENCH_RESTART_SERVER (1: restart vaultnfs before cold workloads; 0: keep it
# running, so only the kernel's caches are cold), BENCH_OUT (default
# /share/results). Results: $BENCH_OUT/results.json, a JSON list of
# {target, workload, value, unit, detail}, rewritten after every result.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=SCRIPTDIR/../../tests/e2e/guest/lib.sh
source ./e2e-lib.sh

PROFILE=${BENCH_PROFILE:-quick}
case $PROFILE in
  quick) size_mib=128 runtime=6 files=2000 ;;
  full) size_mib=1024 runtime=30 files=10000 ;;
  *) echo "bench: BENCH_PROFILE is quick or full" >&2; exit 2 ;;
esac
SIZE_MIB=${BENCH_SIZE_MIB:-$size_mib}
RUNTIME=${BENCH_RUNTIME:-$runtime}
FILES=${BENCH_FILES:-$files}
TARGETS=${BENCH_TARGETS:-vaultnfs gocryptfs ganesha ext4}
RESTART_SERVER=${BENCH_RESTART_SERVER:-1}
OUT=${BENCH_OUT:-/share/results}
NEEDLE=VAULTNFS_BENCH_NEEDLE

# The e2e helpers (new_vault, serve, stop_server, mount_printed, unmount)
# work in $WORK; point them at a directory of our own.
WORK=/scratch/bench
# shellcheck disable=SC2034  # read by the e2e helpers
PASSWORD_FILE=$WORK/password
SERVER_LOG=$WORK/server.log
VAULT=$WORK/vault
VAULT_MNT=/mnt/vaultnfs
GC_CIPHER=$WORK/gocryptfs-cipher
GC_PASSWORD=$WORK/gocryptfs.password
GC_MNT=/mnt/gocryptfs
GC_PID=
GN_EXPORT=$WORK/ganesha
GN_MNT=/mnt/ganesha
GN_PID=
EXT4_DIR=$WORK/ext4
TAR=/tmp/tree.tar
RECORDS=$WORK/records
mkdir -p "$WORK" "$OUT"
: > "$RECORDS"
: > "$SERVER_LOG"

on_error() {
  echo "bench: FAILED (status $1) at line $2: $3" >&2
  if [ -s "$SERVER_LOG" ]; then
    echo "bench: end of the vaultnfs log:" >&2
    tail -15 "$SERVER_LOG" >&2
  fi
}
trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR

# ---- results ---------------------------------------------------------------------
# record TARGET WORKLOAD VALUE UNIT DETAIL: prints the result and rewrites
# results.json (so a run that dies later still leaves what it measured).
record() {
  printf '%-10s %-22s %12s %-6s (%s)\n' "$1" "$2" "$3" "$4" "$5"
  printf '{"target": "%s", "workload": "%s", "value": %s, "unit": "%s", "detail": "%s"}\n' \
    "$1" "$2" "$3" "$4" "$5" >> "$RECORDS"
  awk 'BEGIN { print "[" } NR > 1 { print prev "," } { prev = "  " $0 }
       END { if (NR) print prev; print "]" }' "$RECORDS" > "$OUT/results.json.tmp"
  mv "$OUT/results.json.tmp" "$OUT/results.json"
}

# Microseconds since the epoch, without a fork (fork is slow under TCG).
now_us() { now=${EPOCHREALTIME/./}; }
# Milliseconds between two now_us readings, with one decimal.
elapsed_ms() { local us=$(($2 - $1)); printf '%d.%d' $((us / 1000)) $((us % 1000 / 100)); }

# ---- diagnostics (log only) ------------------------------------------------------
# probe_start TARGET before a workload, probe_end after it: prints the CPU
# time of the serving process, how busy the guest's vCPUs were, and for the
# NFS targets the NFSv3 calls the kernel client made. All
# read from /proc without forking, outside the timed region.
NFS3_PROCS=(null getattr setattr lookup access readlink read write create mkdir symlink mknod
            remove rmdir rename link readdir readdirplus fsstat fsinfo pathconf commit)
is_nfs() { [ "$1" = vaultnfs ] || [ "$1" = ganesha ]; }
nfs3_counts() {   # sets NFS3 to the client's per-procedure counts
  local -a f
  NFS3=()
  while read -ra f; do
    [ "${f[0]}" = proc3 ] && { NFS3=("${f[@]:2}"); return 0; }
  done < /proc/net/rpc/nfs
}
server_ticks() {  # sets TICKS to user+system clock ticks of the target's server
  local pid='' f
  TICKS=0
  case $1 in
    vaultnfs) pid=$SERVER_PID ;;
    gocryptfs) pid=$GC_PID ;;
    ganesha) pid=$GN_PID ;;
  esac
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 0
  read -ra f < "/proc/$pid/stat"
  TICKS=$((f[13] + f[14]))
}
cpu_busy() {      # sets BUSY and TOTAL to the guest's busy and all CPU ticks
  local -a f
  read -ra f < /proc/stat
  TOTAL=$((f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7] + f[8]))
  BUSY=$((TOTAL - f[4] - f[5]))
}
probe_start() {
  server_ticks "$1"; P_TICKS=$TICKS
  cpu_busy; P_BUSY=$BUSY P_TOTAL=$TOTAL
  is_nfs "$1" && { nfs3_counts; P_NFS3=("${NFS3[@]}"); }
  return 0
}
probe_end() {
  local line i calls=''
  server_ticks "$1"; cpu_busy
  line="    [guest vCPUs $(( (BUSY - P_BUSY) * 100 / (TOTAL - P_TOTAL > 0 ? TOTAL - P_TOTAL : 1) ))% busy"
  [ "$1" = ext4 ] || line+="; $1 cpu $(elapsed_ms 0 $(( (TICKS - P_TICKS) * 10000 ))) ms"
  if is_nfs "$1"; then
    nfs3_counts
    for i in "${!NFS3_PROCS[@]}"; do
      (( ${NFS3[i]:-0} - ${P_NFS3[i]:-0} > 0 )) && calls+=" ${NFS3_PROCS[i]} $(( NFS3[i] - P_NFS3[i] ))"
    done
    line+="; NFS calls:${calls:- none}"
  fi
  echo "$line]"
}

# timed TARGET WORKLOAD DETAIL COMMAND...: records COMMAND's wall time in ms.
timed() {
  local target=$1 workload=$2 detail=$3 t0
  shift 3
  probe_start "$target"
  now_us; t0=$now
  "$@"
  now_us
  record "$target" "$workload" "$(elapsed_ms "$t0" "$now")" ms "$detail"
  probe_end "$target"
}

# ---- cold caches ---------------------------------------------------------------------
# make_cold TARGET: nothing of the data under test stays cached (see header).
make_cold() {
  sleep 1
  if [ "$1" = vaultnfs ] && [ "$RESTART_SERVER" = 1 ]; then
    stop_server TERM
    serve "$VAULT"
    # The kernel client waits before reconnecting to a server that closed
    # the connection (about 3 s); pay that here, outside the clock.
    timeout 60 stat -f "$VAULT_MNT" > /dev/null
  fi
  if [ "$1" = ganesha ] && [ "$RESTART_SERVER" = 1 ]; then
    stop_ganesha
    start_ganesha
    timeout 60 stat -f "$GN_MNT" > /dev/null
  fi
  sync
  echo 3 > /proc/sys/vm/drop_caches
}

# ---- fio ---------------------------------------------------------------------------------
# fio_job TARGET DIR RW BS DIRECT [fio options...]: runs one job on
# DIR/fio.dat and sets MIBS and IOPS from its terse (v3) line: fields 6-9
# are read KiB, KiB/s, IOPS and runtime in ms, 47-50 the same for writes.
fio_job() {
  local target=$1 dir=$2 rw=$3 bs=$4 direct=$5 line
  shift 5
  probe_start "$target"
  line=$(fio --name="$rw" --filename="$dir/fio.dat" --rw="$rw" --bs="$bs" --size="${SIZE_MIB}M" \
           --direct="$direct" --ioengine=psync --iodepth=1 --numjobs=1 \
           --output-format=terse --terse-version=3 "$@" | grep '^3;')
  read -r MIBS IOPS < <(awk -F';' '{
      kib = $6 + $47; ms = ($9 > $50) ? $9 : $50; mibs = (ms > 0) ? kib / 1024 / (ms / 1000) : 0
      printf "%.1f %.0f\n", mibs, $8 + $49 }' <<< "$line")
  PROBE=$(probe_end "$target")
}

# Prints how much of the fio file is still in the page cache (should be 0).
show_resident() {
  echo "    resident after drop: $(fincore --bytes --noheadings --output RES "$1/fio.dat" 2>/dev/null || echo '?') bytes"
}

bench_fio() {
  local t=$1 dir=$2 size="${SIZE_MIB} MiB"
  fio_job "$t" "$dir" write 1M 0 --end_fsync=1
  record "$t" "seq write 1M" "$MIBS" MiB/s "$size, buffered, end_fsync"; echo "$PROBE"
  make_cold "$t"; show_resident "$dir"
  fio_job "$t" "$dir" read 1M 0
  record "$t" "seq read 1M cold" "$MIBS" MiB/s "$size, buffered, after drop_caches"; echo "$PROBE"
  make_cold "$t"
  fio_job "$t" "$dir" randread 4k 0 --time_based --runtime="$RUNTIME"
  record "$t" "rand read 4k cold" "$IOPS" IOPS "${RUNTIME}s over $size, buffered, after drop_caches"
  echo "$PROBE"
  make_cold "$t"
  fio_job "$t" "$dir" randread 4k 1 --time_based --runtime="$RUNTIME"
  record "$t" "rand read 4k direct" "$IOPS" IOPS "${RUNTIME}s over $size, O_DIRECT"; echo "$PROBE"
  fio_job "$t" "$dir" randwrite 4k 0 --time_based --runtime="$RUNTIME" --end_fsync=1
  record "$t" "rand write 4k fsync" "$IOPS" IOPS "${RUNTIME}s over $size, buffered, end_fsync"
  echo "$PROBE"
  rm -f "$dir/fio.dat"
  sync
}

# ---- the tree ----------------------------------------------------------------------------
# Writes $TAR: the directory "tree" with FILES small text files, 50 to a
# directory in two levels; sizes log-normal around 2 KiB (at most 64 KiB);
# every 100th file ends with $NEEDLE. Prints "ENTRIES FILES BYTES NEEDLES".
make_tree_tar() {
  python3 - "$TAR" "$FILES" "$NEEDLE" <<'PY'
import io, math, random, sys, tarfile
out, files, needle = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = random.Random(20261126)
words = ("the of and to in is that for it as with was on be by at this are from or an which "
         "have not but had they were one all there been has when who will more no if out so "
         "what up its about into than them can only other new some could time these two may "
         "then do first any now such like over even most made after also did many before must "
         "through back years where much way well down should because each just those people "
         "how little state good very make world still own see work long get here between both "
         "life being under never day same another know while last might great old year off "
         "come since against go came right used take three return value buffer struct static "
         "const void int char size_t error handle vault chunk header nonce cipher").split()
pool, length = [], 0
while length < 256 * 1024:
    line = " ".join(rng.choice(words) for _ in range(rng.randrange(4, 14))) + "\n"
    pool.append(line)
    length += len(line)
pool = "".join(pool).encode()
per_dir = 50
leaves = max(1, math.ceil(files / per_dir))
tops = max(1, math.ceil(math.sqrt(leaves)))
mtime = 1700000000
def add_dir(tar, name):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, mtime
    tar.addfile(info)
entries = total = needles = 0
with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tar:
    add_dir(tar, "tree"); entries += 1
    for top in range(tops):
        add_dir(tar, f"tree/src{top:03d}"); entries += 1
    for leaf in range(leaves):
        d = f"tree/src{leaf % tops:03d}/module{leaf:04d}"
        add_dir(tar, d); entries += 1
        for i in range(leaf * per_dir, min(files, (leaf + 1) * per_dir)):
            size = min(65536, int(rng.lognormvariate(math.log(2048), 1.0)))
            start = rng.randrange(len(pool) - size) if size < len(pool) else 0
            data = f"file {i}\n".encode() + pool[start:start + size]
            if i % 100 == 99:
                data += f"\n{needle}\n".encode(); needles += 1
            info = tarfile.TarInfo(f"{d}/file{i:05d}.txt")
            info.size, info.mode, info.mtime = len(data), 0o644, mtime + i
            tar.addfile(info, io.BytesIO(data))
            entries += 1; total += len(data)
print(entries, files, total, needles)
PY
}

extract_tree() { tar -xf "$TAR" --no-same-owner -C "$1"; sync; }
stat_tree() {
  local n
  n=$(find "$1/tree" -print0 | xargs -0 stat --printf '%s %Y %n\n' | wc -l)
  [ "$n" = "$TREE_ENTRIES" ] || { echo "bench: find+stat saw $n entries, not $TREE_ENTRIES" >&2; return 1; }
}
grep_tree() {
  local n
  n=$(grep -rlF "$NEEDLE" "$1/tree" | wc -l)
  [ "$n" = "$TREE_NEEDLES" ] || { echo "bench: grep -r found $n files, not $TREE_NEEDLES" >&2; return 1; }
}
remove_tree() { rm -rf "$1/tree"; sync; }

bench_tree() {
  local t=$1 dir=$2 what="$TREE_FILES files, $TREE_ENTRIES entries, $((TREE_BYTES / 1024)) KiB"
  sync
  timed "$t" "tree extract" "tar -xf of $what, then sync" extract_tree "$dir"
  make_cold "$t"
  timed "$t" "tree find+stat cold" "find | xargs stat, $TREE_ENTRIES entries" stat_tree "$dir"
  make_cold "$t"
  timed "$t" "tree grep -r cold" "grep -rlF over $what" grep_tree "$dir"
  timed "$t" "tree rm -rf" "rm -rf of $what (warm), then sync" remove_tree "$dir"
}

# ---- targets -----------------------------------------------------------------------------
setup_vaultnfs() {
  new_vault "$VAULT"
  serve "$VAULT"
  mount_printed "$VAULT_MNT"
  echo "    $(grep " $VAULT_MNT " /proc/mounts)"
}
teardown_vaultnfs() { unmount "$VAULT_MNT"; stop_server TERM; rm -rf "$VAULT"; }

setup_gocryptfs() {
  rm -rf "$GC_CIPHER"
  mkdir -p "$GC_CIPHER" "$GC_MNT"
  printf '%s\n' "bench gocryptfs password" > "$GC_PASSWORD"
  # A low scrypt cost only makes -init and the mount quicker; it does not
  # change the speed of anything measured.
  gocryptfs -init -q -scryptn 10 -passfile "$GC_PASSWORD" "$GC_CIPHER"
  gocryptfs -q -nosyslog -passfile "$GC_PASSWORD" "$GC_CIPHER" "$GC_MNT"
  GC_PID=$(pidof -s gocryptfs)
  echo "    $(grep " $GC_MNT " /proc/mounts)"
}
teardown_gocryptfs() { umount "$GC_MNT"; rm -rf "$GC_CIPHER"; }

# ganesha: NFSv3 over TCP only, on ports of its own, registered with a
# rpcbind started here (ganesha refuses to start without one).
GN_PORT=2149 GN_MOUNT_PORT=20148
start_ganesha() {
  ganesha.nfsd -f "$WORK/ganesha.conf" -L "$WORK/ganesha.log" -p /run/ganesha.pid -N NIV_EVENT
  wait_for_port "$GN_PORT" 120 || { tail -20 "$WORK/ganesha.log" >&2; return 1; }
  GN_PID=$(cat /run/ganesha.pid)
}
stop_ganesha() {
  kill "$GN_PID"
  while kill -0 "$GN_PID" 2>/dev/null; do sleep 0.1; done
  GN_PID=
}
setup_ganesha() {
  rm -rf "$GN_EXPORT"
  mkdir -p "$GN_EXPORT" "$GN_MNT" /run/rpcbind /var/lib/nfs/ganesha
  cat > "$WORK/ganesha.conf" <<CONF
NFS_CORE_PARAM {
    Protocols = 3; NFS_Port = $GN_PORT; MNT_Port = $GN_MOUNT_PORT;
    Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false;
}
EXPORT {
    Export_Id = 1; Path = $GN_EXPORT; Pseudo = /ganesha; Protocols = 3; Transports = TCP;
    Access_Type = RW; Squash = No_Root_Squash; SecType = sys;
    FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
CONF
  pidof rpcbind > /dev/null || rpcbind -w
  start_ganesha
  timeout 120 mount -t nfs -o "vers=3,tcp,port=$GN_PORT,mountport=$GN_MOUNT_PORT,nolock" \
    "127.0.0.1:$GN_EXPORT" "$GN_MNT"
  echo "    $(grep " $GN_MNT " /proc/mounts)"
}
teardown_ganesha() { unmount "$GN_MNT"; stop_ganesha; rm -rf "$GN_EXPORT"; }

setup_ext4() { mkdir -p "$EXT4_DIR"; echo "    $(grep ' /scratch ' /proc/mounts)"; }
teardown_ext4() { rm -rf "$EXT4_DIR"; }

# ---- main --------------------------------------------------------------------------------
echo "bench: profile $PROFILE; guest kernel $(uname -r), $(nproc) vCPUs," \
     "$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB, accel ${VMTEST_ACCEL:-?}"
echo "bench: fio file ${SIZE_MIB} MiB, random jobs ${RUNTIME} s, tree of $FILES files;" \
     "restart vaultnfs before cold workloads: $RESTART_SERVER"
echo "bench: $(fio --version), gocryptfs $(gocryptfs -version | awk '{ print $2; exit }' | tr -d ';')," \
     "vaultnfs sha256 $(sha256sum < "$VAULTNFS" | cut -c1-16)"
now_us; t0=$now
read -r TREE_ENTRIES TREE_FILES TREE_BYTES TREE_NEEDLES < <(make_tree_tar)
now_us
echo "bench: tree tar: $TREE_FILES files, $TREE_ENTRIES entries, $TREE_BYTES bytes," \
     "$TREE_NEEDLES with the needle; made in $(elapsed_ms "$t0" "$now") ms"

for target in $TARGETS; do
  case $target in
    vaultnfs) dir=$VAULT_MNT ;;
    gocryptfs) dir=$GC_MNT ;;
    ganesha) dir=$GN_MNT ;;
    ext4) dir=$EXT4_DIR ;;
    *) echo "bench: unknown target $target (vaultnfs, gocryptfs, ganesha, ext4)" >&2; exit 2 ;;
  esac
  echo "== $target: $dir"
  now_us; t0=$now
  "setup_$target"
  bench_fio "$target" "$dir"
  bench_tree "$target" "$dir"
  "teardown_$target"
  sync
  echo 3 > /proc/sys/vm/drop_caches
  now_us
  echo "== $target done in $(elapsed_ms "$t0" "$now") ms"
done
echo "bench: $(wc -l < "$RECORDS") results in $OUT/results.json"
