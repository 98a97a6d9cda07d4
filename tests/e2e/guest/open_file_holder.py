#!/usr/bin/env python3
"""Keeps a file open (and its directory as the working directory) across a
rename and a server restart done by someone else, then goes on writing and
reading through the same descriptor.

Usage: open_file_holder.py FILE. Prints "ready" once the file is written and
waits for a line on stdin ("go"); then writes and reads again and prints
"ok SIZE" or exits non-zero with what went wrong.
"""
import os
import sys


def check(what, condition):
    if not condition:
        print(f"holder: {what}", file=sys.stderr, flush=True)
        sys.exit(1)


def main():
    path = sys.argv[1]
    os.chdir(os.path.dirname(path))
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    expected = bytearray(b"A" * 100000)
    os.pwrite(fd, expected, 0)
    os.fsync(fd)
    print("ready", flush=True)
    check("no go", sys.stdin.readline().strip() == "go")

    # The file and its directory were renamed and the server restarted:
    # the descriptor and the working directory still name them.
    tail = b"B" * 50000
    os.pwrite(fd, tail, 70000)
    expected[70000:] = tail
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    check("content read back through the open descriptor differs",
          os.pread(fd, 200000, 0) == bytes(expected))
    os.ftruncate(fd, 120000)
    os.fsync(fd)
    check("fstat size after ftruncate", os.fstat(fd).st_size == 120000)
    names = os.listdir(".")
    check(f"the working directory lists {names}", "renamed-file" in names)
    os.close(fd)
    print(f"ok {len(expected)}", flush=True)


if __name__ == "__main__":
    main()
