#!/usr/bin/env bash
# The main job on a fresh machine: install, build, create ./demo-vault (its
# password in ./demo-vault.password) if it does not exist, and list it.
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVAULTNFS_BENCH=OFF >/dev/null
ninja -C build vaultnfs
vaultnfs=build/server/vaultnfs

if [ ! -d demo-vault ]; then
  umask 077
  head -c 18 /dev/urandom | base64 | tr -d '/+=' >demo-vault.password
  "$vaultnfs" init demo-vault --password-file demo-vault.password
  echo "Hello from vaultnfs. This file is stored encrypted." >demo-vault.hello
  "$vaultnfs" put demo-vault demo-vault.hello /hello.txt --password-file demo-vault.password
  "$vaultnfs" mkdir demo-vault /documents --password-file demo-vault.password
  rm -f demo-vault.hello
  echo "created ./demo-vault (password in ./demo-vault.password)"
fi
"$vaultnfs" info demo-vault --password-file demo-vault.password
"$vaultnfs" ls demo-vault / -l -R --password-file demo-vault.password
