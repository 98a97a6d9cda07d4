# shellcheck shell=bash
# Helpers for the scenarios, sourced by suite.sh inside the guest. Every
# helper fails (returns non-zero, which ends the scenario under set -e)
# with a message on stderr saying what went wrong.

BIN=/share/bin
VAULTNFS=$BIN/vaultnfs
FIXTURES=/share/fixtures
WORK=/scratch/e2e
PASSWORD_FILE=$WORK/password
DEFAULT_PASSWORD='e2e password'
PORT=2049

# The vault command line, with the password of the vault being used.
vault_cli() { "$VAULTNFS" "$@" --password-file "$PASSWORD_FILE"; }

fail() { echo "FAILED: $*" >&2; return 1; }

# Prints the password of a fixture vault (from its manifest).
fixture_password() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["password"])' "$FIXTURES/$1.json"
}

# A writable copy of the fixture vault $1 at $2; its password becomes the
# current one.
copy_fixture() {
  rm -rf "$2"
  cp -a "$FIXTURES/$1" "$2"
  fixture_password "$1" > "$PASSWORD_FILE"
}

# A new, empty vault at $1 with the default password.
new_vault() {
  rm -rf "$1"
  printf '%s\n' "$DEFAULT_PASSWORD" > "$PASSWORD_FILE"
  vault_cli init "$1" > /dev/null
}

# Waits up to $2 seconds (default 120) until something listens on TCP port
# $1 of 127.0.0.1, as long as process $3 (if given) lives. Mounting a port
# nobody listens on would hang for minutes.
wait_for_port() {
  local port=$1 deadline=$((SECONDS + ${2:-120})) pid=${3:-}
  until ss -Hltn "sport = :$port" | grep -q .; do
    [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || fail "the server exited before listening on port $port"
    [ $SECONDS -lt $deadline ] || fail "nothing listens on port $port"
    sleep 0.2
  done
}

# Waits up to $2 seconds until the server's log, from line $3 (default 1)
# on, has a line matching the extended regex $1: what the server logs about
# a request may come after its reply.
wait_for_log() {
  local deadline=$((SECONDS + $2))
  until tail -n "+${3:-1}" "$SERVER_LOG" | grep -q -E -- "$1"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# Starts `vaultnfs serve VAULT` with extra options and waits until it
# listens and has printed its mount commands. Sets SERVER_PID; its output
# goes to $SERVER_LOG.
SERVER_PID=
SERVER_LOG=$WORK/server.log
serve() {
  local vault=$1 from; shift
  : >> "$SERVER_LOG"
  echo "--- serve $vault $*" >> "$SERVER_LOG"
  from=$(wc -l < "$SERVER_LOG")
  # Its defaults: 127.0.0.1 and ::1, port 2049 ($PORT), reserved ports only.
  "$VAULTNFS" serve "$vault" --password-file "$PASSWORD_FILE" "$@" >> "$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  wait_for_port "$PORT" 120 "$SERVER_PID" || { tail -20 "$SERVER_LOG" >&2; return 1; }
  # It opens its port first, then prints the commands (in one write, the
  # libnfs line among them); under load a grep in between would miss them.
  wait_for_log '^  libnfs: ' 60 "$from" || fail "the server printed no mount commands"
}

# Stops the server with signal $1 (default TERM). After TERM or INT it must
# exit 0, having written everything out.
stop_server() {
  local signal=${1:-TERM} status=0
  [ -n "$SERVER_PID" ] || return 0
  kill "-$signal" "$SERVER_PID"
  wait "$SERVER_PID" || status=$?
  SERVER_PID=
  if [ "$signal" != KILL ] && [ $status != 0 ]; then
    tail -20 "$SERVER_LOG" >&2
    fail "the server exited with status $status after SIG$signal"
  fi
}

# One line from the reports the servers of this scenario logged as they
# stopped (not those killed): the calls by procedure, most first, with the
# failed ones and the mean handler time, e.g.
#   "3126 calls: LOOKUP 1050 (1000 failed, 9.2 us), GETATTR 1024 (4.0 us)"
call_report() {
  awk '
    /calls answered since the start/ { in_report = 1; next }
    in_report && $(NF - 5) == "calls" && $(NF - 3) == "failed" {
      name = $3
      for (i = 4; i <= NF - 7; i++) name = name " " $i
      calls[name] += $(NF - 6); failed[name] += $(NF - 4); time[name] += $(NF - 6) * $(NF - 2)
      next
    }
    { in_report = 0 }
    END { for (name in calls) printf "%d\t%s\t%d\t%.1f\n", calls[name], name, failed[name], time[name] / calls[name] }
  ' "$SERVER_LOG" | sort -t "$(printf '\t')" -k1,1nr | awk -F '\t' '
    { total += $1
      line = line (NR > 1 ? ", " : " ") $2 " " $1 " (" ($3 > 0 ? $3 " failed, " : "") $4 " us)" }
    END { if (total > 0) print total " calls:" line }'
}

# The Linux mount command the server printed, aimed at mount point $1 (the
# very line users copy, minus sudo).
printed_mount_command() {
  local line
  line=$(grep -m1 '^  Linux:  sudo mount ' "$SERVER_LOG") || fail "the server printed no Linux mount command"
  line=${line#  Linux:  sudo }
  echo "${line% /mnt/vault} $1"
}

# Mounts with the printed command (plus extra -o options $2, if any) at $1.
mount_printed() {
  local -a command
  read -ra command <<< "$(printed_mount_command "$1")"
  [ -z "${2:-}" ] || command+=(-o "$2")
  mkdir -p "$1"
  echo "+ ${command[*]}"
  timeout 120 "${command[@]}" || fail "mount failed: ${command[*]}"
}

unmount() {
  timeout 120 umount "$1" || fail "umount $1 failed"
}

# Leaves no mounts or servers behind after a scenario, whatever happened.
cleanup_guest() {
  local mp
  for mp in $(awk '$3 == "nfs" {print $2}' /proc/mounts); do
    umount -f -l "$mp" 2>/dev/null || true
  done
  pkill -KILL -x vaultnfs 2>/dev/null || true
  SERVER_PID=
}

# Runs "$@" and expects it to fail with an error message containing $1.
expect_error() {
  local needle=$1 out; shift
  if out=$("$@" 2>&1); then fail "expected '$needle' from: $* (it succeeded)"; fi
  grep -q -- "$needle" <<<"$out" || fail "expected '$needle' from: $*, got: $out"
}

# One line per entry of the tree at $1: kind, permissions, size, symlink
# target and path; sorted. Directory sizes and times vary between file
# systems and are left out.
tree_listing() {
  (cd "$1" && find . -mindepth 1 \( -type d -printf 'd %m - - %P\n' \) -o \
      \( -type f -printf 'f %m %s - %P\n' \) -o \( -type l -printf 'l - - %l %P\n' \) | LC_ALL=C sort)
}

# Modification times of the regular files below $1, to the nanosecond.
mtime_listing() {
  (cd "$1" && find . -type f -printf '%T@ %P\n' | LC_ALL=C sort -k2)
}

# The tree at $1 must equal the tree at $2: names, kinds, modes, sizes,
# symlink targets and content.
same_tree() {
  diff <(tree_listing "$1") <(tree_listing "$2") >&2 || fail "$1 and $2 differ in names, kinds, modes or sizes"
  diff -r --no-dereference "$1" "$2" >&2 || fail "$1 and $2 differ in content"
}

# The whole content of the vault $1 (now unmounted and not served), copied
# out with the vault command line into the new directory $2.
vault_tree() {
  rm -rf "$2"
  vault_cli get -r "$1" / "$2"
}
