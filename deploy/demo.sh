#!/usr/bin/env bash
# The main job on a fresh machine: install, build, create ./demo-vault (its
# password in ./demo-vault.password) if it does not exist, and serve it over
# NFSv3 on 127.0.0.1 until Ctrl-C. It prints the mount commands.
# Usage: deploy/demo.sh [extra `vaultnfs serve` options, e.g. --listen 127.0.0.1:2050]
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
"$vaultnfs" ls demo-vault / -l -R --password-file demo-vault.password
exec "$vaultnfs" serve demo-vault --password-file demo-vault.password "$@"
