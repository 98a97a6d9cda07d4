# shellcheck shell=bash
# Mounting: the command the server prints, and through rpcbind.

# Serves a copy of fixture vault $1, mounts it with the printed command,
# reads every entry with find (stat, readlink) and sha256sum, compares with
# the manifest, then unmounts and stops the server cleanly.
read_fixture() {
  local vault=$WORK/fixture-$1 mp=/mnt/$1
  copy_fixture "$1" "$vault"
  serve "$vault"
  mount_printed "$mp"
  find "$mp" -mindepth 1 -printf '%y\t%s\t%l\t%P\0' > "$WORK/find.out"
  (cd "$mp" && find . -type f -print0 | xargs -0 -r sha256sum -z) > "$WORK/sums.out"
  ./check_manifest.py "$FIXTURES/$1.json" "$WORK/find.out" "$WORK/sums.out" | sed 's/^/note: /'
  unmount "$mp"
  stop_server TERM
}

# `--register` with rpcbind running: a mount with no port options finds
# the server, and a clean stop unregisters it.
mount_through_rpcbind() {
  local vault=$WORK/rpcbind-vault mp=/mnt/rpcbind
  copy_fixture small-threshold "$vault"
  rpcbind -w
  serve "$vault" --register
  grep -q 'through rpcbind: sudo mount -t nfs -o vers=3,tcp,nolock 127.0.0.1:/ /mnt/vault' "$SERVER_LOG" ||
    fail "the server did not print the rpcbind mount command"
  rpcinfo -p 127.0.0.1 | grep -q ' 100003 *3 *tcp' || fail "NFSv3 is not registered"
  mkdir -p "$mp"
  timeout 120 mount -t nfs -o vers=3,tcp,nolock 127.0.0.1:/ "$mp"
  grep -q 'port=2049' /proc/mounts || fail "the mount did not find port 2049"
  [ "$(cat "$mp/a.txt")" = "$(vault_cli cat "$vault" /a.txt)" ] || fail "a.txt differs"
  echo written through rpcbind > "$mp/via-rpcbind.txt"
  unmount "$mp"
  stop_server TERM
  if rpcinfo -p 127.0.0.1 | grep -q ' 100003 '; then fail "still registered after the stop"; fi
  killall rpcbind
  [ "$(vault_cli cat "$vault" /via-rpcbind.txt)" = "written through rpcbind" ]
}
