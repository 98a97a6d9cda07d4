# shellcheck shell=bash
# Sourced by tests/e2e/run.sh and bench/vm/run.sh: the guest image both boot.
#
# ensure_guest_image CACHE SHARED LABEL BINARY...
#   Makes sure the image in CACHE (built with SHARED/vmtest/build-image.sh)
#   holds the Debian packages of every library the BINARYs link (the
#   sanitizer runtimes too in an ASan build), since the guest runs these very
#   binaries. Rebuilds it only when a package is missing; the packages it was
#   built with are kept in CACHE/vaultnfs-packages. LABEL prefixes messages.
ensure_guest_image() {
  local cache=$1 shared=$2 label=$3
  shift 3
  local packages stamp missing all
  packages=$(for lib in $(ldd "$@" | awk '$3 ~ /^\// {print $3}' | sort -u); do
               # dpkg knows a file by one of its names, with or without /usr.
               real=$(realpath "$lib")
               for name in "$lib" "$real" "/usr$lib" "/usr$real"; do
                 dpkg -S "$name" 2>/dev/null && break
               done || true
             done | cut -d: -f1 | sort -u | tr '\n' ' ')
  # Suites started together (deploy/test.sh starts two) check and build
  # the image one at a time, so it is built once.
  local lock
  mkdir -p "$(dirname "$cache")"
  exec {lock}>"$cache.lock"
  flock "$lock"
  stamp=$cache/vaultnfs-packages
  missing=$(comm -23 <(tr ' ' '\n' <<<"$packages" | grep . | sort -u) \
                     <(tr ' ' '\n' 2>/dev/null < "$stamp" | grep . | sort -u) || true)
  if [ ! -f "$cache/image.ok" ] || [ -n "$missing" ]; then
    all=$(cat <(tr ' ' '\n' <<<"$packages") <(tr ' ' '\n' 2>/dev/null < "$stamp" || true) | grep . | sort -u | tr '\n' ' ')
    echo "$label: building the guest image in $cache (about two minutes; extra packages: $all)"
    local force=()
    [ -f "$cache/image.ok" ] && force=(--force)
    VMTEST_EXTRA_PACKAGES=$all "$shared/vmtest/build-image.sh" "$cache" "${force[@]}"
    echo "$all" > "$stamp"
  fi
  exec {lock}>&-
}
