#!/usr/bin/env python3
"""Compares what find and sha256sum saw through the mount with a fixture
vault's manifest: every entry present with its kind, size, symlink target
and SHA-256, and nothing else.

Usage: check_manifest.py MANIFEST FIND_OUTPUT SHA256SUM_OUTPUT
  FIND_OUTPUT       from find MOUNT -mindepth 1 -printf '%y\t%s\t%l\t%P\0'
  SHA256SUM_OUTPUT  from find MOUNT -type f -print0 | xargs -0 sha256sum -z
                    (run in MOUNT with ./ paths)
"""
import json
import sys

KINDS = {"d": "dir", "f": "file", "l": "symlink"}


def main():
    manifest_path, find_path, sums_path = sys.argv[1:4]
    manifest = json.load(open(manifest_path, encoding="utf-8"))
    expected = {e["path"]: e for e in manifest["entries"] if e["path"] != "/"}

    seen = {}
    for record in open(find_path, "rb").read().split(b"\0"):
        if not record:
            continue
        kind, size, target, path = record.decode("utf-8").split("\t", 3)
        seen["/" + path] = (KINDS.get(kind, kind), int(size), target)
    sums = {}
    for record in open(sums_path, "rb").read().split(b"\0"):
        if record:
            digest, path = record.decode("utf-8").split("  ", 1)
            sums["/" + path.removeprefix("./")] = digest

    problems = []
    for path in sorted(set(expected) | set(seen)):
        if path not in seen:
            problems.append(f"missing through the mount: {path!r}")
            continue
        if path not in expected:
            problems.append(f"not in the manifest: {path!r}")
            continue
        want, (kind, size, target) = expected[path], seen[path]
        if kind != want["type"]:
            problems.append(f"{path!r}: a {kind}, the manifest says {want['type']}")
        elif kind == "file" and (size != want["size"] or sums.get(path) != want["sha256"]):
            problems.append(f"{path!r}: size {size} sha256 {sums.get(path)}, expected "
                            f"{want['size']} {want['sha256']}")
        elif kind == "symlink" and target != want["target"]:
            problems.append(f"{path!r}: points to {target!r}, expected {want['target']!r}")
    for problem in problems[:20]:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} differences from {manifest_path}", file=sys.stderr)
        return 1
    print(f"{len(expected)} entries match {manifest['name']}'s manifest "
          f"({sum(1 for e in expected.values() if e['type'] == 'file')} files hashed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
