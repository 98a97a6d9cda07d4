# shellcheck shell=bash
# Data safety across server crashes and stops, with a hard mount: the
# client must carry on after the restart, resend what the server may have
# lost (the write verifier changes), and nothing it was told is stable may
# be missing.

durability_bytes() { if [ "$PROFILE" = full ]; then echo 268435456; else echo 25165824; fi; }

# The number of $2 calls (WRITE, COMMIT) and bytes the client has sent on
# the mount at $1.
call_counters() {
  awk -v mp="$1" -v op="$2:" '$1 == "device" { here = ($5 == mp) } here && $1 == op { print $2, $5 }' \
    /proc/self/mountstats
}
write_counters() { call_counters "$1" WRITE; }

# Waits until the client sent at least $2 WRITE calls on mount $1 (data is
# in the server's hands, not yet committed), as long as process $3 lives.
wait_for_writes() {
  local deadline=$((SECONDS + 300))
  until [ "$(write_counters "$1" | cut -d' ' -f1)" -ge "$2" ]; do
    kill -0 "$3" 2>/dev/null || fail "the writer finished before $2 WRITE calls were sent"
    [ $SECONDS -lt $deadline ] || fail "the client did not send $2 WRITE calls"
    sleep 0.05
  done
}

# Prints how much the client sent for a file of $2 bytes on mount $1.
note_resent() {
  local calls bytes
  read -r calls bytes < <(write_counters "$1")
  echo "note: $((bytes / 1048576)) MiB sent in $calls WRITE calls for a $(($2 / 1048576)) MiB file"
  [ "$bytes" -gt $(($2 + 1048576)) ] || fail "the client resent nothing after the verifier changed"
}

# Cuts the largest file of the vault at $1 (stopped) 9,000 bytes into its
# next-to-last chunk, as a crash inside the server's pwrite that appended
# it can: that chunk fails authentication now. The client on mount $2 must
# have committed nothing, so that the cut loses only what it will resend.
tear_last_chunk() {
  local size path chunks keep commits
  commits=$(call_counters "$2" COMMIT | cut -d' ' -f1)
  [ "$commits" = 0 ] || fail "the client sent $commits COMMIT calls before the crash: a tear would cut stable data"
  read -r size path < <(find "$1/d" -type f -name '*.c9r' -printf '%s %p\n' | sort -n | tail -1)
  # SIV_GCM: a 68-byte header, chunks of 32 KiB + 28 bytes.
  chunks=$(((size - 68) / 32796))
  [ "$chunks" -ge 2 ] || fail "only $size bytes of the file were on disk: nothing to tear"
  keep=$((68 + (chunks - 1) * 32796 + 9000))
  truncate -s "$keep" "$path"
  echo "note: tore the file from $size to $keep bytes, inside chunk $((chunks - 1))"
}

# Interrupts writer "$@" (writing $WORK/src.bin to $mp/$name) with signal
# $signal once data is in flight, restarts the server, and checks that the
# writer succeeds, the file is whole through the mount (caches dropped) and,
# after a crash right after, in the vault itself. With TEAR=1 the crash
# also tears the file's last chunk on disk (tear_last_chunk).
interrupted_write() {
  local signal=$1 name=$2; shift 2
  local vault=$WORK/durable-vault mp=/mnt/durable bytes
  bytes=$(durability_bytes)
  head -c "$bytes" /dev/urandom > "$WORK/src.bin"
  new_vault "$vault"
  serve "$vault"
  mount_printed "$mp"
  "$@" &
  local writer=$!
  wait_for_writes "$mp" 8 "$writer"
  stop_server "$signal"
  echo "note: server stopped with SIG$signal after $(write_counters "$mp" | cut -d' ' -f1) WRITE calls"
  [ "${TEAR:-0}" = 0 ] || tear_last_chunk "$vault" "$mp"
  serve "$vault"
  wait "$writer" || fail "the writer failed after the restart"
  note_resent "$mp" "$bytes"
  sync
  echo 3 > /proc/sys/vm/drop_caches
  cmp "$WORK/src.bin" "$mp/$name" || fail "the file read back through the mount differs"
  # Everything the client was told is stable is on disk: crash the server
  # now and read the vault directly.
  stop_server KILL
  vault_cli get "$vault" "/$name" "$WORK/$name.vault"
  cmp "$WORK/src.bin" "$WORK/$name.vault" || fail "the vault lost data the client was told was stable"
  rm -f "$WORK/$name.vault"
  serve "$vault"
  unmount "$mp"
  stop_server TERM
}

kill_during_dd_fsync() {
  interrupted_write KILL dd.bin dd if="$WORK/src.bin" of=/mnt/durable/dd.bin bs=1M conv=fsync status=none
}

kill_during_cp_sync() {
  interrupted_write KILL cp.bin bash -c "cp '$WORK/src.bin' /mnt/durable/cp.bin && sync"
}

# The client resends from wherever its writeback stands, in pieces that
# need not match the server's chunks: they must rebuild the torn one.
kill_and_tear_during_cp_sync() {
  TEAR=1 interrupted_write KILL cp.bin bash -c "cp '$WORK/src.bin' /mnt/durable/cp.bin && sync"
}

sigterm_during_write() {
  interrupted_write TERM dd.bin dd if="$WORK/src.bin" of=/mnt/durable/dd.bin bs=1M conv=fsync status=none
  grep -q 'stopped; every write is on disk' "$SERVER_LOG" || fail "the server did not report a clean stop"
}
