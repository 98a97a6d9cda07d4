#!/usr/bin/env python3
"""Makes a deterministic tree shaped like real data: nested directories of
small files, a few large ones, symlinks, long names (past the vault's
shortening threshold) and non-ASCII names, with varied modes and
nanosecond modification times.

Usage: make_tree.py DIR SMALL_FILES LARGE_FILES LARGE_BYTES
"""
import os
import random
import sys

NAMES = ["notes", "Überblick", "résumé", "日本語のファイル", "emoji 🎉", "space name",
         "CamelCase", "x" * 150, "y" * 180 + " long"]


def main():
    root, small, large, large_bytes = sys.argv[1], *map(int, sys.argv[2:5])
    rng = random.Random(20261126)
    os.makedirs(root)
    dirs = [root]
    for i in range(max(4, small // 40)):
        parent = rng.choice(dirs)
        if parent.count(os.sep) - root.count(os.sep) >= 4:
            parent = root
        path = os.path.join(parent, f"dir{i}-{rng.choice(NAMES)[:40]}")
        os.mkdir(path)
        dirs.append(path)
    files = []
    for i in range(small):
        path = os.path.join(rng.choice(dirs), f"{i}-{rng.choice(NAMES)}.txt")
        size = rng.choice([0, 1, 100, 1000, 4096, 5000, 32768, 32769, rng.randrange(20000)])
        with open(path, "wb") as out:
            out.write(rng.randbytes(size))
        files.append(path)
    for i in range(large):
        path = os.path.join(rng.choice(dirs), f"large-{i}.bin")
        with open(path, "wb") as out:
            left = large_bytes + i * 12345
            while left > 0:
                piece = min(left, 1 << 20)
                out.write(rng.randbytes(piece))
                left -= piece
        files.append(path)
    for i in range(max(3, small // 200)):
        target = rng.choice(files)
        link = os.path.join(rng.choice(dirs), f"link{i}")
        os.symlink(os.path.relpath(target, os.path.dirname(link)), link)
    os.symlink("/absolute/target/that/does/not/exist", os.path.join(root, "dangling"))
    for path in files:
        os.chmod(path, rng.choice([0o644, 0o600, 0o755, 0o444, 0o640]))
        when = rng.randrange(10**9, 17 * 10**8) * 10**9 + rng.randrange(10**9)
        os.utime(path, ns=(when, when))
    print(f"{len(files)} files, {len(dirs)} directories under {root}")


if __name__ == "__main__":
    main()
