#!/usr/bin/env python3
"""bench/peakmem.py: runs a command and reports its wall time, peak resident
set and peak anonymous memory.

    bench/peakmem.py [-o FILE] CMD [ARG...]

Prints (to FILE, default stderr) one line: "WALL_S RSS_MIB ANON_MIB RC".
The peak RSS is the kernel's (VmHWM, read from /proc/PID/status until the
process is reaped, and rusage's ru_maxrss, whichever is larger); the peak
anonymous memory (RssAnon: heap, stacks, private mappings, not the page
cache or mapped files) has no high-water mark in /proc, so it is sampled
every 2 ms: a peak shorter than that can be missed (allocations this large
are touched for longer than that).  The command's own output passes
through; the exit status is the command's.
"""
import os
import resource
import sys
import time


def status(pid):
    rss = anon = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    rss = int(line.split()[1])
                elif line.startswith("RssAnon:"):
                    anon = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return rss, anon


def main():
    args = sys.argv[1:]
    out = None
    if len(args) >= 2 and args[0] == "-o":
        out, args = args[1], args[2:]
    if not args:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(args[0], args)
        finally:
            os._exit(127)
    peak_rss = peak_anon = 0
    while True:
        # WNOWAIT would keep the zombie readable, but a zombie's status has
        # no memory lines: sample until the child is gone, then reap.
        rss, anon = status(pid)
        peak_rss, peak_anon = max(peak_rss, rss), max(peak_anon, anon)
        done, st, ru = os.wait4(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.002)
    wall = time.monotonic() - t0
    peak_rss = max(peak_rss, ru.ru_maxrss)
    rc = os.waitstatus_to_exitcode(st)
    line = f"{wall:.2f} {peak_rss / 1024:.1f} {peak_anon / 1024:.1f} {rc}\n"
    if out:
        with open(out, "w") as f:
            f.write(line)
    else:
        sys.stderr.write(line)
    return rc if rc >= 0 else 128 - rc


if __name__ == "__main__":
    sys.exit(main())
