# shellcheck shell=bash
# Writing the way people do, then checking the vault itself with the vault
# command line once the mount is gone.

# Arguments of make_tree.py (small files, large files, bytes per large
# file) for the tree cp -a copies, and for the smaller one tar and rsync
# move.
big_tree() { if [ "$PROFILE" = full ]; then echo "10000 4 67108864"; else echo "1000 3 4194304"; fi; }
small_tree() { if [ "$PROFILE" = full ]; then echo "5000 2 16777216"; else echo "400 1 2097152"; fi; }

# Serves a new vault at $1 and mounts it at $2.
serve_new_vault() {
  new_vault "$1"
  serve "$1"
  mount_printed "$2"
}

# Unmounts $2, stops the server of vault $1 cleanly and copies the whole
# vault out to $3 with `vaultnfs get -r`.
unmount_and_copy_out() {
  unmount "$2"
  stop_server TERM
  vault_tree "$1" "$3"
}

# Times "$@" and prints it as a note.
timed() {
  local start=$EPOCHREALTIME
  "$@"
  awk -v a="$start" -v b="$EPOCHREALTIME" -v what="$*" \
    'BEGIN { printf "note: %-60.60s %6.1f s\n", what, b - a }'
}

copy_tree() {
  local vault=$WORK/cp-vault mp=/mnt/cp src=$WORK/big-tree out=$WORK/out
  rm -rf "$src"
  # shellcheck disable=SC2046
  ./make_tree.py "$src" $(big_tree) | sed 's/^/note: /'
  serve_new_vault "$vault" "$mp"
  timed cp -a "$src" "$mp/copy"
  same_tree "$src" "$mp/copy"
  diff <(mtime_listing "$src") <(mtime_listing "$mp/copy") || fail "cp -a lost modification times"
  unmount_and_copy_out "$vault" "$mp" "$out"
  same_tree "$src" "$out/copy"
  diff <(mtime_listing "$src") <(mtime_listing "$out/copy") || fail "the vault lost modification times"
}

tar_and_rsync() {
  local vault=$WORK/tar-vault mp=/mnt/tar src=$WORK/small-tree changed=$WORK/small-tree-changed out=$WORK/out
  rm -rf "$src" "$changed"
  # shellcheck disable=SC2046
  ./make_tree.py "$src" $(small_tree) | sed 's/^/note: /'
  serve_new_vault "$vault" "$mp"

  # Round trip: an archive made on the mount from a tree on the mount,
  # extracted onto the mount.
  timed bash -c "tar --format=posix -C '$WORK' -cf - small-tree | tar -C '$mp' -xpf -"
  timed tar --format=posix -C "$mp/small-tree" -cf "$mp/tree.tar" .
  mkdir "$mp/untar"
  timed tar -C "$mp/untar" -xpf "$mp/tree.tar"
  same_tree "$src" "$mp/untar"
  diff <(mtime_listing "$src") <(mtime_listing "$mp/untar") || fail "tar lost modification times"

  timed rsync -a "$src/" "$mp/rsync/"
  same_tree "$src" "$mp/rsync"
  # An incremental run replaces changed files by renaming a temporary copy
  # over them.
  cp -a "$src" "$changed"
  local -a notes
  mapfile -t notes < <(find "$changed" -type f -name '*notes*')
  for f in "${notes[@]:0:20}"; do echo changed >> "$f"; done
  timed rsync -a "$changed/" "$mp/rsync/"
  same_tree "$changed" "$mp/rsync"

  unmount_and_copy_out "$vault" "$mp" "$out"
  same_tree "$src" "$out/untar"
  same_tree "$changed" "$out/rsync"
  diff <(mtime_listing "$changed") <(mtime_listing "$out/rsync") || fail "the vault lost modification times"
  mkdir "$out/from-tar"
  tar -C "$out/from-tar" -xpf "$out/tree.tar"
  same_tree "$src" "$out/from-tar"
}

git_repository() {
  local vault=$WORK/git-vault mp=/mnt/git out=$WORK/out
  serve_new_vault "$vault" "$mp"
  local repo=$mp/repo
  mkdir "$repo"
  cp -a /usr/lib/python3.11/json /usr/lib/python3.11/email /usr/lib/python3.11/http "$repo/"
  find "$repo" -name __pycache__ -prune -exec rm -rf {} +
  cd "$repo" || return
  git init -q -b main
  git config user.email e2e@example.org
  git config user.name e2e
  timed git add -A
  timed git commit -qm "python libraries"
  echo "# changed" >> json/__init__.py
  git mv http web
  [ "$(git status --porcelain | wc -l)" -gt 1 ] || fail "git status shows no changes"
  git commit -qam "change and move"
  git checkout -q -b side HEAD~1
  [ -d http ] && [ ! -d web ] || fail "checkout of the first commit did not restore http/"
  echo side > side.txt && git add side.txt && git commit -qm side
  git checkout -q main
  [ -d web ] && [ ! -e side.txt ] || fail "checkout back to main is wrong"
  git merge -q --no-edit side
  timed git fsck --strict --no-progress
  [ -z "$(git status --porcelain)" ] || fail "the work tree is not clean: $(git status --porcelain | head)"
  git log --oneline | sed 's/^/note: git log: /'
  cd / || return
  unmount_and_copy_out "$vault" "$mp" "$out"
  cd "$out/repo" || return
  git fsck --strict --no-progress
  [ -z "$(git status --porcelain)" ] || fail "the repository copied out of the vault is not clean"
  [ "$(git log --oneline | wc -l)" = 4 ] || fail "the history copied out of the vault is wrong"
}

# The operations of names_and_attributes, applied alike to the mount and to
# a reference directory on ext4 ($1).
name_operations() {
  cd "$1" || return
  mkdir -p a/b/c d
  for i in 1 2 3 4 5; do echo "file $i" > "a/b/f$i"; done
  mv a/b/f1 d/                                  # a file across directories
  mv a/b/c d/                                   # a directory across directories
  echo new > d/over && echo old > a/b/f2 && mv d/over a/b/f2   # rename over an existing file
  mkdir e && mv e d/c/                          # into a moved directory
  mkdir -p x/y && echo inside > x/y/z && mv x d/c/e/   # a non-empty directory
  local long long_dir
  long=$(printf 'long-name-%.0s' {1..20})       # 200 bytes: past 220 encrypted
  long_dir=$(printf 'D%.0s' {1..230})
  echo "long" > "$long"
  mkdir "$long_dir" && echo deep > "$long_dir/$long"
  mv "$long" "renamed-$long"
  echo unicode > "Ünïcödé – 文件 🎉.txt"
  mkdir "目录" && echo "inside" > "目录/ファイル"
  ln -s "Ünïcödé – 文件 🎉.txt" unicode-link
  ln -s ../../d/f1 a/b/up-link
  ln -s "$long_dir/$long" long-link
  head -c 100000 /dev/zero | tr '\0' 'x' > sized
  truncate -s 40000 sized                       # shrink inside a chunk
  truncate -s 70000 sized                       # grow past it: zeros
  truncate -s 0 a/b/f3
  chmod 600 a/b/f4 && chmod 755 a/b/f5 && chmod 700 d/c && chmod 444 sized
  touch -d '2001-02-03 04:05:06.123456789' a/b/f4 sized
  touch -d '1999-12-31 23:59:59' d/f1
  mkdir -p gone/deeper/deepest && touch gone/deeper/deepest/{1,2,3} gone/x && rm -rf gone
  rm a/b/f5
  cd - > /dev/null || return
}

names_and_attributes() {
  local vault=$WORK/names-vault mp=/mnt/names ref=$WORK/names-ref out=$WORK/out
  serve_new_vault "$vault" "$mp"
  rm -rf "$ref" && mkdir "$ref"
  name_operations "$ref"
  name_operations "$mp"
  same_tree "$ref" "$mp"
  diff <(mtime_listing "$ref" | grep -E ' (sized|a/b/f4|d/f1)$') \
       <(mtime_listing "$mp" | grep -E ' (sized|a/b/f4|d/f1)$') || fail "touch -d times differ"
  [ "$(stat -c %s "$mp/sized")" = 70000 ] && [ "$(tail -c 30000 "$mp/sized" | tr -d '\0' | wc -c)" = 0 ] ||
    fail "truncate did not grow with zeros"
  # A decomposed (NFD) name is stored as Cryptomator stores names, in NFC,
  # and found again under either spelling.
  local nfd nfc
  nfd=$(printf 'Cafe\xcc\x81') nfc=$(printf 'Caf\xc3\xa9')
  echo accent > "$mp/$nfd"
  [ "$(cat "$mp/$nfc")" = accent ] && [ "$(cat "$mp/$nfd")" = accent ] || fail "NFD/NFC lookup"
  [ "$(find "$mp" -maxdepth 1 -name "$nfc" | wc -l)" = 1 ] || fail "the NFD name is not listed in NFC"
  rm "$mp/$nfc"
  unmount_and_copy_out "$vault" "$mp" "$out"
  same_tree "$ref" "$out"
  diff <(mtime_listing "$ref" | grep -E ' (sized|a/b/f4|d/f1)$') \
       <(mtime_listing "$out" | grep -E ' (sized|a/b/f4|d/f1)$') || fail "touch -d times were not kept in the vault"
  # The long names really are shortened in the vault.
  [ "$(find "$vault/d" -name '*.c9s' | wc -l)" -ge 3 ] || fail "no .c9s nodes for the long names"
}
