#!/usr/bin/env bash
# Installs every build and test dependency of vaultnfs from Debian 12 packages.
# Idempotent: when everything is present it prints nothing and touches nothing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  clang-format clang-tidy shellcheck
  libssl-dev openssl
  libboost-dev libboost-program-options-dev
  libmimalloc-dev
  nlohmann-json3-dev
  libutf8proc-dev
  libgtest-dev libgmock-dev googletest
  libbenchmark-dev
  libtirpc-dev rpcbind
  libnfs-dev
  clang libclang-rt-14-dev
  # The kernel-client suite (tests/e2e) builds and boots a Debian guest.
  qemu-system-x86 debootstrap e2fsprogs
  # bench/compare: the peer server, loopback TCP ceiling, plots.
  nfs-ganesha nfs-ganesha-vfs iperf3 gnuplot-nox iproute2
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
