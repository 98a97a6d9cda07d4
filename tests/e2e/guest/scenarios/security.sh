# shellcheck shell=bash
# The defaults that keep a vault private: reserved ports, allowed uids,
# read-only serving.

reserved_port() {
  local vault=$WORK/secure-vault mp=/mnt/secure
  new_vault "$vault"
  serve "$vault"
  mkdir -p "$mp"
  local -a mount_command
  read -ra mount_command <<< "$(printed_mount_command "$mp")"
  if timeout 120 "${mount_command[@]}" -o noresvport 2> "$WORK/mount.err"; then
    fail "a mount from a non-reserved port succeeded without --insecure"
  fi
  echo "note: refused: $(tail -1 "$WORK/mount.err")"
  wait_for_log 'resvport|--insecure' 30 || fail "the server did not log how to fix the refusal"
  stop_server TERM
  serve "$vault" --insecure
  timeout 120 "${mount_command[@]}" -o noresvport
  echo allowed > "$mp/file"
  [ "$(cat "$mp/file")" = allowed ]
  unmount "$mp"
  stop_server TERM
}

# Runs "$@" as uid and gid 1234, which neither owns the vault nor is root.
as_stranger() { setpriv --reuid=1234 --regid=1234 --clear-groups "$@"; }

other_uid() {
  local vault=$WORK/uid-vault mp=/mnt/uid
  new_vault "$vault"
  serve "$vault"
  mount_printed "$mp"
  echo secret > "$mp/file"
  chmod 644 "$mp/file"
  expect_error "Permission denied" as_stranger cat "$mp/file"
  # The mount's root is revalidated by a GETATTR that fails, which Linux
  # reports as a stale handle whatever the error.
  expect_error "Stale file handle\|Permission denied" as_stranger ls "$mp"
  expect_error "Permission denied" as_stranger touch "$mp/new"
  wait_for_log 'uid 1234' 30 || fail "the server did not log the refused uid"
  unmount "$mp"
  stop_server TERM
  # --allow-uid lets that uid in with the owner's rights (the vault has
  # one owner, shown on every file), so the owner bits decide.
  serve "$vault" --allow-uid 1234
  mount_printed "$mp"
  [ "$(as_stranger cat "$mp/file")" = secret ] || fail "--allow-uid 1234 cannot read the file"
  as_stranger touch "$mp/new"
  chmod 444 "$mp/file"
  expect_error "Permission denied" as_stranger dd if=/dev/zero of="$mp/file" count=1 status=none
  unmount "$mp"
  stop_server TERM
}

read_only() {
  local vault=$WORK/ro-vault mp=/mnt/ro
  new_vault "$vault"
  echo kept > "$WORK/kept.txt"
  vault_cli put "$vault" "$WORK/kept.txt" /kept.txt
  vault_cli mkdir "$vault" /dir
  serve "$vault" --read-only
  mount_printed "$mp"
  [ "$(cat "$mp/kept.txt")" = kept ]
  local rofs="Read-only file system"
  expect_error "$rofs" touch "$mp/new"
  expect_error "$rofs" mkdir "$mp/newdir"
  expect_error "$rofs" ln -s kept.txt "$mp/link"
  expect_error "$rofs" rm "$mp/kept.txt"
  expect_error "$rofs" rmdir "$mp/dir"
  expect_error "$rofs" mv "$mp/kept.txt" "$mp/moved.txt"
  expect_error "$rofs" chmod 600 "$mp/kept.txt"
  expect_error "$rofs" python3 -c 'import os, sys; os.utime(sys.argv[1], (0, 0))' "$mp/kept.txt"
  expect_error "$rofs" ln "$mp/kept.txt" "$mp/hardlink"
  # Opening an existing file for writing is decided by the client from
  # ACCESS, which (as knfsd's) grants no write on a read-only export: the
  # open fails at once, instead of writes landing in the client's cache
  # and failing only at close.
  local denied="Permission denied"
  expect_error "$denied" truncate -s 0 "$mp/kept.txt"
  expect_error "$denied" cp "$WORK/kept.txt" "$mp/kept.txt"
  expect_error "$denied" dd if=/dev/zero of="$mp/kept.txt" bs=1 count=1 conv=notrunc status=none
  [ "$(cat "$mp/kept.txt")" = kept ] || fail "the content changed"
  unmount "$mp"
  stop_server TERM
}
