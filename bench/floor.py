#!/usr/bin/env python3
"""bench/floor.py IMAGE WORKDIR [ZSTD_LEVELS] - the CPU floor of a backup of
IMAGE on this machine, measured now (bench/run.sh runs it once per image in
every run, so the floor and the tools' times come from the same machine state).

A backup of IMAGE has to HMAC-SHA-256 every non-zero chunk, compress it and
seal the result with AES-256-GCM; nothing else is unavoidable.  This script
measures, on one core each:
  - HMAC-SHA-256 and AES-256-GCM throughput on 64 KiB buffers
    (`openssl speed -mr -bytes 65536 -hmac sha256`, `... -evp aes-256-gcm`);
  - zstd at each level of ZSTD_LEVELS (default "1 3") and lz4 on a sample of
    the image's own non-zero 64 KiB blocks, compressed in 64 KiB blocks
    (`zstd -b<L> -B64K`, `lz4 -b1 -B4`), which gives the ratio and the
    compression and decompression speeds of that data.
The sample is every k-th non-zero 64 KiB block of IMAGE, at most
BENCH_FLOOR_SAMPLE_MIB (default 256) MiB, written to WORKDIR/floor-sample.bin
and removed afterwards.

Prints key=value lines (bytes and bytes per second):
  nonzero_b, cores, hmac_bps, aes_bps,
  zstd<L>_cbps, zstd<L>_dbps, zstd<L>_ratio (also for lz4 as lz4_*),
and the floors, CPU-seconds of one core and wall seconds over all cores:
  floor_zstd<L>_cpu_s = N/hmac + N/zstd<L> + (N/ratio)/aes
  floor_zstd<L>_s     = floor_zstd<L>_cpu_s / cores
  restore_floor_zstd<L>_cpu_s = (N/ratio)/aes + N/unzstd<L> + N/hmac
(the restore checks every chunk's id), and _s likewise.
"""
import os
import re
import subprocess
import sys

BS = 64 << 10


def sample(image, path, max_bytes):
    zero = bytes(BS)
    nonzero = 0
    with open(image, 'rb') as f:
        while True:
            b = f.read(BS)
            if not b:
                break
            if b != zero[:len(b)]:
                nonzero += len(b)
    k = max(1, -(-nonzero // max_bytes))
    i = 0
    with open(image, 'rb') as f, open(path, 'wb') as out:
        while True:
            b = f.read(BS)
            if not b:
                break
            if b != zero[:len(b)]:
                if i % k == 0:
                    out.write(b)
                i += 1
    return nonzero


def openssl(args):
    r = subprocess.run(['openssl', 'speed', '-mr', '-seconds', '2', '-bytes', str(BS)] + args,
                       capture_output=True, text=True, check=True)
    for line in r.stdout.splitlines():
        if line.startswith('+F:'):
            return float(line.split(':')[-1])
    raise SystemExit('floor.py: no result from openssl speed %s' % ' '.join(args))


def bench(cmd):
    """(compress B/s, decompress B/s, ratio) from zstd -b or lz4 -b"""
    r = subprocess.run(cmd, capture_output=True, text=True)
    text = (r.stdout + r.stderr).replace('\r', '\n')
    m = None
    for line in text.splitlines():
        x = re.search(r'(\d+) -> +(\d+) \(x?([0-9.]+)\),\s*([0-9.]+) MB/s\s*,?\s*([0-9.]+) MB/s', line)
        if x:
            m = x
    if not m:
        raise SystemExit('floor.py: cannot read the output of %s:\n%s' % (' '.join(cmd), text[-400:]))
    src, dst = int(m.group(1)), int(m.group(2))
    return float(m.group(4)) * 1e6, float(m.group(5)) * 1e6, src / dst


def main():
    image, work = sys.argv[1], sys.argv[2]
    levels = (sys.argv[3] if len(sys.argv) > 3 else '1 3').split()
    path = os.path.join(work, 'floor-sample.bin')
    max_b = int(os.environ.get('BENCH_FLOOR_SAMPLE_MIB', '256')) << 20
    try:
        n = sample(image, path, max_b)
        cores = os.cpu_count() or 1
        hmac = openssl(['-hmac', 'sha256'])
        aes = openssl(['-evp', 'aes-256-gcm'])
        aes_dec = openssl(['-decrypt', '-evp', 'aes-256-gcm'])
        out = {'nonzero_b': n, 'cores': cores, 'hmac_bps': hmac, 'aes_bps': aes,
               'aes_dec_bps': aes_dec, 'sample_b': os.path.getsize(path)}
        comps = [('zstd' + lv, ['zstd', '-b' + lv, '-B64K', '-i2', path]) for lv in levels]
        comps.append(('lz4', ['lz4', '-b1', '-B4', '-i2', path]))
        for name, cmd in comps:
            cb, db, ratio = bench(cmd)
            out[name + '_cbps'], out[name + '_dbps'], out[name + '_ratio'] = cb, db, ratio
            cpu = n / hmac + n / cb + n / ratio / aes
            out['floor_%s_cpu_s' % name] = cpu
            out['floor_%s_s' % name] = cpu / cores
            rcpu = n / ratio / aes_dec + n / db + n / hmac
            out['restore_floor_%s_cpu_s' % name] = rcpu
            out['restore_floor_%s_s' % name] = rcpu / cores
    finally:
        if os.path.exists(path):
            os.unlink(path)
    for k, v in out.items():
        print('%s=%s' % (k, ('%.6g' % v) if isinstance(v, float) else v))


if __name__ == '__main__':
    main()
