# shellcheck shell=bash
# A second writer changes the vault while it is mounted (as a sync client
# or another Cryptomator app would); the mount shows it once the client's
# attribute cache expires.

changes_from_outside() {
  local vault=$WORK/outside-vault mp=/mnt/outside ac=3
  new_vault "$vault"
  mkdir -p "$WORK/local"
  echo one > "$WORK/local/a.txt"
  echo two > "$WORK/local/b.txt"
  echo three > "$WORK/local/c.txt"
  for f in a b c; do vault_cli put "$vault" "$WORK/local/$f.txt" /; done
  vault_cli mkdir "$vault" /dir
  serve "$vault"
  mount_printed "$mp" "actimeo=$ac"
  # The client caches the directory and the files now.
  [ "$(cat "$mp/a.txt" "$mp/b.txt" "$mp/c.txt")" = "$(printf 'one\ntwo\nthree')" ]
  ls -l "$mp" "$mp/dir" > /dev/null

  echo "new content, longer" > "$WORK/local/a.txt"
  echo added > "$WORK/local/new.txt"
  vault_cli put "$vault" "$WORK/local/a.txt" /a.txt    # replaced
  vault_cli put "$vault" "$WORK/local/new.txt" /       # added
  vault_cli rm "$vault" /b.txt                         # removed
  vault_cli mv "$vault" /c.txt /dir/                   # moved
  local changed=$EPOCHREALTIME waited
  until [ -e "$mp/new.txt" ] && [ ! -e "$mp/b.txt" ] && [ -e "$mp/dir/c.txt" ] && [ ! -e "$mp/c.txt" ] &&
        [ "$(cat "$mp/a.txt" 2>/dev/null)" = "new content, longer" ]; do
    waited=$(awk -v a="$changed" -v b="$EPOCHREALTIME" 'BEGIN { print int(b - a) }')
    [ "$waited" -lt $((ac * 4 + 10)) ] || { ls -la "$mp" "$mp/dir"; fail "the changes are not visible after ${waited}s"; }
    sleep 0.2
  done
  awk -v a="$changed" -v b="$EPOCHREALTIME" -v ac=$ac \
    'BEGIN { printf "note: all four changes visible %.1f s after the last one (actimeo=%d)\n", b - a, ac }'
  [ "$(cat "$mp/new.txt")" = added ] && [ "$(cat "$mp/dir/c.txt")" = three ]
  # And the other way round: what the mount writes, the other writer sees.
  echo from-the-mount > "$mp/dir/mounted.txt"
  sync
  [ "$(vault_cli cat "$vault" /dir/mounted.txt)" = from-the-mount ]
  unmount "$mp"
  stop_server TERM
}
