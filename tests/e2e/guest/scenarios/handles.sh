# shellcheck shell=bash
# File handles outlive renames and server restarts.

open_file_survives_restart() {
  local vault=$WORK/handles-vault mp=/mnt/handles line
  new_vault "$vault"
  serve "$vault"
  mount_printed "$mp"
  mkdir -p "$mp/dir1" "$mp/elsewhere"
  coproc HOLDER { ./open_file_holder.py "$mp/dir1/file"; }
  read -r -t 300 line <&"${HOLDER[0]}" || fail "the holder did not start"
  [ "$line" = ready ] || fail "the holder said: $line"
  mv "$mp/dir1/file" "$mp/dir1/renamed-file"
  mv "$mp/dir1" "$mp/elsewhere/dir2"
  stop_server TERM
  serve "$vault"
  echo go >&"${HOLDER[1]}"
  read -r -t 300 line <&"${HOLDER[0]}" || true
  wait "$HOLDER_PID" || fail "the holder failed (last said: $line)"
  [ "$line" = "ok 120000" ] || fail "the holder said: $line"
  # And a second restart with the server killed: the handle of the working
  # directory and of the renamed file still resolve.
  stop_server KILL
  serve "$vault"
  (cd "$mp/elsewhere/dir2" && [ "$(stat -c %s renamed-file)" = 120000 ]) || fail "stat after a crash"
  [ "$(head -c 70000 "$mp/elsewhere/dir2/renamed-file" | tr -d A | wc -c)" = 0 ] || fail "content after a crash"
  unmount "$mp"
  stop_server TERM
  vault_cli get "$vault" /elsewhere/dir2/renamed-file "$WORK/renamed-file"
  [ "$(stat -c %s "$WORK/renamed-file")" = 120000 ]
}
