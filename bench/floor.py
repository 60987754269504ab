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
    the image's own non-zero 64 KiB blocks, each block compressed on its
    own, which gives the ratio and the compression and decompression
    speeds of that data.  Two ways: `zstd -b<L> -B64K` and `lz4 -b1 -B4`
    (reported as zstd<L>_b_cbps etc.), which time by the wall clock, and
    the same libraries (libzstd.so.1, liblz4.so.1) called block by block
    from here and timed by this process's CPU time, which a machine shared
    with other work does not inflate; the floor uses the CPU-time rates,
    as openssl speed times by CPU time too.
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


def lib_rates(name, level, path):
    """(compress B/s, decompress B/s, ratio) of 64 KiB blocks by CPU time"""
    import ctypes
    import time
    data = open(path, 'rb').read()
    blocks = [data[i:i + BS] for i in range(0, len(data), BS)]
    if name == 'lz4':
        lib = ctypes.CDLL('liblz4.so.1')
        lib.LZ4_compressBound.restype = ctypes.c_int
        cap = lib.LZ4_compressBound(BS)
        dst = ctypes.create_string_buffer(cap)

        def comp(b):
            return lib.LZ4_compress_default(b, dst, len(b), cap)

        def decomp(c, out):
            return lib.LZ4_decompress_safe(c, out, len(c), BS)
    else:
        lib = ctypes.CDLL('libzstd.so.1')
        lib.ZSTD_compressBound.restype = ctypes.c_size_t
        lib.ZSTD_createCCtx.restype = ctypes.c_void_p
        lib.ZSTD_createDCtx.restype = ctypes.c_void_p
        lib.ZSTD_compressCCtx.restype = ctypes.c_size_t
        lib.ZSTD_compressCCtx.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                          ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
        lib.ZSTD_decompressDCtx.restype = ctypes.c_size_t
        lib.ZSTD_decompressDCtx.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                            ctypes.c_char_p, ctypes.c_size_t]
        cap = lib.ZSTD_compressBound(BS)
        dst = ctypes.create_string_buffer(cap)
        cctx, dctx = lib.ZSTD_createCCtx(), lib.ZSTD_createDCtx()

        def comp(b):
            return lib.ZSTD_compressCCtx(cctx, dst, cap, b, len(b), level)

        def decomp(c, out):
            return lib.ZSTD_decompressDCtx(dctx, out, BS, c, len(c))
    comped, insize, outsize = [], 0, 0
    t0 = time.process_time()
    for b in blocks:
        n = comp(b)
        comped.append(dst.raw[:n])
        insize += len(b)
        outsize += n
    ct = time.process_time() - t0
    out = ctypes.create_string_buffer(BS)
    t0 = time.process_time()
    for c in comped:
        decomp(c, out)
    dt = time.process_time() - t0
    return insize / ct, insize / dt, insize / outsize


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
        # zstd -b takes no negative level: --fast=N sets it and a bare -b keeps it.
        comps = [('zstd' + lv, int(lv), (['zstd', '-b' + lv] if int(lv) > 0 else ['zstd', '--fast=%d' % -int(lv), '-b'])
                  + ['-B64K', '-i2', path]) for lv in levels]
        comps.append(('lz4', 1, ['lz4', '-b1', '-B4', '-i2', path]))
        for name, level, cmd in comps:
            cb, db, ratio = bench(cmd)
            out[name + '_b_cbps'], out[name + '_b_dbps'], out[name + '_b_ratio'] = cb, db, ratio
            cb, db, ratio = lib_rates(name, level, path)
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
