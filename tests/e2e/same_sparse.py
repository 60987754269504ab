#!/usr/bin/env python3
"""same_sparse.py A B [CHUNK]: exit 0 when files A and B are equal, reading
only where either holds data (SEEK_DATA), so a 16 TiB image costs what its
data costs; otherwise one line on stderr and exit 1.  With CHUNK (bytes),
B's data must also lie within the CHUNK-sized chunks that hold A's data: a
restore wrote no hole of A out as zeros.  same_sparse.py --map FILE prints
FILE's data extents, "start end" a line.  Used by tests/e2e/t50-sparse.sh
and bench/scale.sh."""
import os
import sys


def extents(fd, size):
    pos = 0
    while pos < size:
        try:
            d = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:
            return
        h = os.lseek(fd, d, os.SEEK_HOLE)
        yield d, h
        pos = h


def main():
    if sys.argv[1] == "--map":
        fd = os.open(sys.argv[2], os.O_RDONLY)
        for d, h in extents(fd, os.fstat(fd).st_size):
            print(d, h)
        return
    a, b = (os.open(p, os.O_RDONLY) for p in sys.argv[1:3])
    cs = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    size = os.fstat(a).st_size
    if os.fstat(b).st_size != size:
        sys.exit(f"size {os.fstat(b).st_size}, expected {size}")
    for fd in (a, b):
        for d, h in extents(fd, size):
            while d < h:
                n = min(h - d, 16 << 20)
                if os.pread(a, n, d) != os.pread(b, n, d):
                    sys.exit(f"bytes at {d} differ")
                d += n
    if not cs:
        return
    chunks = set()
    for d, h in extents(a, size):
        chunks.update(range(d // cs, (h + cs - 1) // cs))
    for d, h in extents(b, size):
        for c in range(d // cs, (h + cs - 1) // cs):
            if c not in chunks:
                sys.exit(f"data at chunk {c} where {sys.argv[1]} has a hole")


main()
