# shellcheck shell=bash
# Random I/O checked against a reference: fsx and fio's own verification.

fsx_random_io() {
  local vault=$WORK/fsx-vault mp=/mnt/fsx ops=${E2E_FSX_OPS:-} seed
  [ -n "$ops" ] || ops=$([ "$PROFILE" = full ] && echo 200000 || echo 10000)
  seed=$(date +%s)
  new_vault "$vault"
  serve "$vault"
  mount_printed "$mp"
  # Two files at once, with different shapes: one within a few chunks,
  # one of megabytes with large I/O.
  "$BIN/fsx" --ops "$ops" --seed "$seed" --max-size 200000 --max-io 40000 \
    "$mp/fsx-small" "$WORK/fsx-small.ref" > "$WORK/fsx1.out" 2>&1 &
  local first=$!
  "$BIN/fsx" --ops $((ops / 10)) --seed $((seed + 1)) --max-size 4000000 --max-io 300000 \
    "$mp/fsx-large" "$WORK/fsx-large.ref" > "$WORK/fsx2.out" 2>&1 || { cat "$WORK/fsx2.out"; fail "fsx (large) found a difference"; }
  wait $first || { cat "$WORK/fsx1.out"; fail "fsx (small) found a difference"; }
  grep -h 'all comparisons matched' "$WORK/fsx1.out" "$WORK/fsx2.out" | sed 's/^/note: /'
  unmount "$mp"
  stop_server TERM
  # What the vault holds after the clean stop is what the reference holds.
  vault_cli get "$vault" /fsx-small "$WORK/fsx-small.vault"
  vault_cli get "$vault" /fsx-large "$WORK/fsx-large.vault"
  cmp "$WORK/fsx-small.ref" "$WORK/fsx-small.vault"
  cmp "$WORK/fsx-large.ref" "$WORK/fsx-large.vault"
}

fio_verify() {
  local vault=$WORK/fio-vault mp=/mnt/fio size=4M
  [ "$PROFILE" = full ] && size=128M
  new_vault "$vault"
  serve "$vault"
  mount_printed "$mp"
  # Four jobs at once: random 4 KiB writes through the page cache, random
  # 16 KiB O_DIRECT writes, sequential 1 MiB writes, and unaligned 5000-byte
  # writes; each verifies every block it wrote when reading it back.
  fio --output-format=terse --terse-version=3 --directory="$mp" --size="$size" --verify=crc32c \
      --verify_fatal=1 --do_verify=1 --ioengine=psync --group_reporting=0 \
      --name=rand4k --rw=randwrite --bs=4k \
      --name=direct16k --rw=randwrite --bs=16k --direct=1 \
      --name=seq1m --rw=write --bs=1M --fsync_on_close=1 \
      --name=odd --rw=randwrite --bs=5000 > "$WORK/fio.out" ||
    { cat "$WORK/fio.out"; fail "fio reported an error"; }
  awk -F';' '{ printf "note: fio %-10s write %7d KiB/s  read-verify %7d KiB/s  errors %s\n", $3, $48, $7, $5 }' "$WORK/fio.out"
  awk -F';' '$5 != 0 { bad = 1 } END { exit bad }' "$WORK/fio.out" || fail "fio counted errors"
  unmount "$mp"
  stop_server TERM
}
