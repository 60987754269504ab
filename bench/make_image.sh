#!/bin/bash
# The deterministic benchmark image of docs/design.md §10, ported from the
# generator the project started with.  The image content is unchanged; the
# only changes are the completion stamp OUT/SHA256SUMS (removed at
# start, written last) so bench/run.sh can tell a finished, cached image
# pair from an interrupted build, removal of run.sh's cached changed-block
# count (OUT/changed_blocks.txt) on rebuild, and an if/else for the e2fsck
# check (shellcheck SC2015).
#
# make_image.sh [OUTDIR]
#
# Builds a deterministic, byte-reproducible 4 GiB ext4 volume image plus a
# "changed" copy with 1% of its 4 KiB blocks rewritten:
#   OUTDIR/base.img     4 GiB ext4 image (host-sparse)
#   OUTDIR/changed.img  base.img with ~1% of blocks overwritten (scattered 4-64 KiB writes)
#
# Target mix of the 4 GiB (measured mix is printed at the end):
#   ~30% incompressible pseudo-random file data  (media / archives)
#   ~30% compressible file data (log lines, CSV rows, source-like text)
#   ~40% zeros: unallocated space, partly as a tail and partly as ~900 MiB of
#        "trimmed" holes interleaved between files (temp files that were
#        written, deleted and discarded), plus zeroed ext4 metadata areas.
#
# Determinism: content comes from Python's random.Random (MT19937) with fixed
# seeds; the filesystem is built without mounting (mke2fs -d) with fixed
# UUID/hash seed, E2FSPROGS_FAKE_TIME, fixed source-file times, LC_ALL=C
# (mke2fs -d walks directories with scandir+alphasort), then debugfs removes
# the filler files and fixes ctimes; freed filler blocks are zeroed (like
# fstrim with discard-zeroes-data).  With Debian 12 e2fsprogs 1.47.0 and
# Python 3.11 two runs give the same sha256 (OUT/SHA256SUMS holds them;
# each bench/results file names the ones it ran on).
# Requires: python3 (>=3.9), e2fsprogs (mkfs.ext4, debugfs, e2fsck), coreutils.
set -euo pipefail
export LC_ALL=C TZ=UTC E2FSPROGS_FAKE_TIME=1700000000
OUT=${1:?usage: make_image.sh OUTDIR}
SEED=${SEED:-20240601}
IMG_SIZE=$((4 * 1024 * 1024 * 1024))
mkdir -p "$OUT"
SRC="$OUT/src"
rm -rf "$SRC" "$OUT/base.img" "$OUT/changed.img" "$OUT/SHA256SUMS" "$OUT/changed_blocks.txt"
mkdir -p "$SRC"

############################################################################
# 1. Generate the file tree (content only; deterministic)
############################################################################
python3 - "$SRC" "$SEED" <<'PYEOF'
import os, sys, random

src, seed = sys.argv[1], int(sys.argv[2])
MiB = 1 << 20
master = random.Random(seed)
manifest = []          # (relpath, kind, size)

def write_random(path, size, rng):
    with open(path, 'wb') as f:
        left = size
        while left:
            n = min(left, 8 * MiB)
            f.write(rng.randbytes(n))
            left -= n

# ---------------- compressible generators ----------------
LEVELS = ['INFO'] * 12 + ['DEBUG'] * 6 + ['WARN'] * 3 + ['ERROR']
SERVICES = ['api-gateway', 'auth', 'billing', 'search', 'nginx', 'worker', 'scheduler', 'db-proxy']
PATHS = ['/api/v1/users/%d', '/api/v1/orders/%d', '/static/js/app.%x.js', '/login', '/api/v2/search?q=%d',
         '/healthz', '/api/v1/items/%d/reviews', '/metrics', '/api/v1/carts/%d', '/img/p/%d.jpg']
MSGS = ['request completed method=%s path=%s status=%d bytes=%d dur_ms=%.3f',
        'cache miss key=user:%d:profile ttl=%d',
        'db query table=%s rows=%d dur_ms=%.2f',
        'job %s finished id=%d attempts=%d',
        'connection from %s accepted fd=%d',
        'retrying upstream=%s attempt=%d backoff_ms=%d',
        'user %d logged in from %s session=%016x',
        'gc pause heap_mb=%d pause_us=%d']
METHODS = ['GET'] * 8 + ['POST'] * 3 + ['PUT', 'DELETE']
TABLES = ['users', 'orders', 'items', 'sessions', 'payments', 'events']
JOBS = ['reindex', 'send-mail', 'thumbnail', 'export-csv', 'cleanup']
WORDS = ('the of and to in is for that with on as by this be from at or an are it not int return if else '
         'while for static const char struct void unsigned size_t buffer length offset value result error '
         'self def import class None True False print range len dict list append config path file data '
         'index block chunk hash table node next prev count total begin end init free alloc read write').split()

def gen_log(path, size, rng, host):
    t = 1690000000.0 + rng.random() * 1e6
    out, cur = [], 0
    r = rng.random; ri = rng.randint; ch = rng.choice
    while cur < size:
        t += r() * 0.05
        sec = int(t)
        ts = '2023-%02d-%02dT%02d:%02d:%02d.%03dZ' % (1 + sec // 2600000 % 12, 1 + sec // 86400 % 28,
                                                     sec // 3600 % 24, sec // 60 % 60, sec % 60, int((t - sec) * 1000))
        k = ri(0, 7)
        if k == 0:
            p = ch(PATHS)
            p = p % ri(1, 99999) if '%' in p else p
            m = MSGS[0] % (ch(METHODS), p, ch((200, 200, 200, 200, 201, 204, 304, 404, 500)), ri(0, 200000), r() * 300)
        elif k == 1:
            m = MSGS[1] % (ri(1, 500000), ch((60, 300, 3600)))
        elif k == 2:
            m = MSGS[2] % (ch(TABLES), ri(0, 5000), r() * 50)
        elif k == 3:
            m = MSGS[3] % (ch(JOBS), ri(1, 10**7), ri(1, 3))
        elif k == 4:
            m = MSGS[4] % ('10.%d.%d.%d' % (ri(0, 3), ri(0, 255), ri(1, 254)), ri(3, 4000))
        elif k == 5:
            m = MSGS[5] % (ch(SERVICES), ri(1, 5), ri(10, 2000))
        elif k == 6:
            m = MSGS[6] % (ri(1, 500000), '192.168.%d.%d' % (ri(0, 255), ri(1, 254)), rng.getrandbits(64))
        else:
            m = MSGS[7] % (ri(100, 4000), ri(50, 90000))
        line = '%s %s %s[%d]: %s %s\n' % (ts, host, ch(SERVICES), ri(1000, 1100), ch(LEVELS), m)
        out.append(line)
        cur += len(line)
    data = ''.join(out).encode()[:size]
    with open(path, 'wb') as f:
        f.write(data)

def gen_csv(path, size, rng):
    out = ['id,timestamp,customer_id,sku,qty,unit_price,currency,status,region\n']
    cur = len(out[0]); i = rng.randint(1, 10**6); ri = rng.randint; ch = rng.choice
    while cur < size:
        i += 1
        line = '%d,%d,%d,SKU-%05d,%d,%.2f,%s,%s,%s\n' % (
            i, 1690000000 + i * 7, ri(1, 200000), ri(1, 20000), ri(1, 9), ri(100, 99999) / 100.0,
            ch(('EUR', 'USD', 'USD', 'GBP')), ch(('paid', 'paid', 'paid', 'shipped', 'refunded', 'pending')),
            ch(('eu-west', 'us-east', 'us-west', 'ap-south')))
        out.append(line)
        cur += len(line)
    with open(path, 'wb') as f:
        f.write(''.join(out).encode()[:size])

def gen_text(path, size, rng):
    out, cur = [], 0
    ch = rng.choice; ri = rng.randint
    while cur < size:
        ind = '    ' * ri(0, 3)
        line = ind + ' '.join(ch(WORDS) for _ in range(ri(2, 12))) + ch((';', ':', '', ' {', ' }', ')')) + '\n'
        out.append(line)
        cur += len(line)
    with open(path, 'wb') as f:
        f.write(''.join(out).encode()[:size])

# ---------------- plan ----------------
def sizes_until(rng, budget, lo, hi, log=True):
    """random sizes (log-uniform between lo and hi) until budget used"""
    import math
    out = []
    while budget > 0:
        s = int(math.exp(rng.uniform(math.log(lo), math.log(hi)))) if log else rng.randint(lo, hi)
        s = min(s, budget)
        out.append(s)
        budget -= s
    return out

KiB = 1024
plan = []   # (dir, name, kind, size)
r = random.Random(master.getrandbits(64))
# incompressible ~1230 MiB
for i, s in enumerate(sizes_until(r, 560 * MiB, 40 * MiB, 120 * MiB)):
    plan.append(('srv/media', 'video_%03d.mp4' % i, 'rand', s))
for u in range(1, 5):
    for i, s in enumerate(sizes_until(r, 110 * MiB, 300 * KiB, 6 * MiB)):
        plan.append(('home/user%d/photos' % u, 'IMG_%04d.jpg' % i, 'rand', s))
for i, s in enumerate(sizes_until(r, 230 * MiB, 4 * KiB, 2 * MiB)):
    plan.append(('usr/lib/pkg%02d' % (i % 40), 'lib%04d.so.gz' % i, 'rand', s))
# compressible ~1230 MiB
for a in range(1, 9):
    for i, s in enumerate(sizes_until(r, 100 * MiB, 4 * MiB, 48 * MiB)):
        plan.append(('var/log/app%d' % a, 'app.log.%d' % i, 'log', s))
for i, s in enumerate(sizes_until(r, 300 * MiB, 1 * MiB, 64 * MiB)):
    plan.append(('var/lib/db/export', 'orders_%03d.csv' % i, 'csv', s))
for u in range(1, 5):
    for i, s in enumerate(sizes_until(r, 32 * MiB + 512 * KiB, 1 * KiB, 96 * KiB)):
        plan.append(('home/user%d/projects/src/m%02d' % (u, i % 30), 'file%04d.c' % i, 'text', s))

# fillers (deleted later -> zeroed holes between files): ~900 MiB total,
# attached after random real files so they interleave on disk.
fill_sizes = sizes_until(r, 900 * MiB, 16 * KiB, 24 * MiB)
targets = r.sample(range(len(plan)), len(fill_sizes))
fillers = []
for s, t in zip(fill_sizes, targets):
    d, n, _, _ = plan[t]
    fillers.append((d, n + '.~tmp', 'fill', s))
plan += fillers

made_dirs = set()
for idx, (d, n, kind, s) in enumerate(plan):
    full = os.path.join(src, d)
    if d not in made_dirs:
        os.makedirs(full, exist_ok=True)
        made_dirs.add(d)
    rng = random.Random((seed << 20) + idx)
    p = os.path.join(full, n)
    if kind == 'rand':
        write_random(p, s, rng)
    elif kind == 'log':
        gen_log(p, s, rng, 'host-%02d' % (idx % 17))
    elif kind == 'csv':
        gen_csv(p, s, rng)
    elif kind == 'text':
        gen_text(p, s, rng)
    else:  # filler: non-zero so mke2fs allocates it; gets zeroed after deletion
        with open(p, 'wb') as f:
            f.write(bytes([0xA5]) * s)
    manifest.append((os.path.join(d, n), kind, s))

tot = {}
for _, k, s in manifest:
    tot[k] = tot.get(k, 0) + s
with open(os.path.join(src, '..', 'manifest.tsv'), 'w') as f:
    for p, k, s in manifest:
        f.write('%s\t%s\t%d\n' % (p, k, s))
print('files:', len(manifest), {k: '%.1f MiB' % (v / MiB) for k, v in sorted(tot.items())})
PYEOF

find "$SRC" -exec touch -h -d @1700000000 {} +

############################################################################
# 2. Build the ext4 image without mounting
############################################################################
truncate -s "$IMG_SIZE" "$OUT/base.img"
mkfs.ext4 -q -F -b 4096 -I 256 -i 16384 -L benchvol \
  -U 6b1e0c3a-0000-4000-8000-000000000001 \
  -E hash_seed=6b1e0c3a-0000-4000-8000-000000000002,root_owner=0:0,nodiscard,lazy_itable_init=0,lazy_journal_init=0 \
  -d "$SRC" "$OUT/base.img"

# 3. Delete filler files (record their blocks first), fix ctimes
grep -P '\tfill\t' "$OUT/manifest.tsv" | cut -f1 > "$OUT/fillers.txt"
sed 's|^|blocks /|' "$OUT/fillers.txt" > "$OUT/dbg_blocks.cmd"
debugfs -f "$OUT/dbg_blocks.cmd" "$OUT/base.img" 2>/dev/null | grep -v '^debugfs:' > "$OUT/filler_blocks.txt"
sed 's|^|stat /|' "$OUT/fillers.txt" | debugfs -f - "$OUT/base.img" 2>/dev/null | grep -o '^Inode: [0-9]*' | awk '{print $2}' > "$OUT/filler_inodes.txt"
[ "$(wc -l < "$OUT/filler_inodes.txt")" = "$(wc -l < "$OUT/fillers.txt")" ] || { echo "filler inode lookup failed"; exit 1; }
{
  sed 's|^|rm /|' "$OUT/fillers.txt"
  # debugfs rm stamps the freed inode's ctime with the real clock: pin it
  sed 's|^\(.*\)$|sif <\1> ctime @1700000000|' "$OUT/filler_inodes.txt"
  (cd "$SRC" && find . -mindepth 1 | sort | sed 's|^\.||' | grep -v '\.~tmp$' | sed 's|^|sif |; s|$| ctime @1700000000|')
  echo 'sif / ctime @1700000000'
  echo 'sif /lost+found ctime @1700000000'
} > "$OUT/dbg_fix.cmd"
debugfs -w -f "$OUT/dbg_fix.cmd" "$OUT/base.img" > "$OUT/dbg_fix.log" 2>&1

# 4. Zero the freed filler blocks (punch holes == discard that zeroes)
python3 - "$OUT/base.img" "$OUT/filler_blocks.txt" <<'PYEOF'
import os, sys
img, lst = sys.argv[1], sys.argv[2]
blocks = sorted(int(x) for line in open(lst) for x in line.split())
fd = os.open(img, os.O_RDWR)
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
def punch(off, ln):
    if libc.fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, off, ln) != 0:
        os.pwrite(fd, bytes(ln), off)   # fallback: write zeros
runs, i = 0, 0
while i < len(blocks):
    j = i
    while j + 1 < len(blocks) and blocks[j + 1] == blocks[j] + 1:
        j += 1
    punch(blocks[i] * 4096, (j - i + 1) * 4096)
    runs += 1
    i = j + 1
os.close(fd)
print('zeroed %d filler blocks (%.1f MiB) in %d runs' % (len(blocks), len(blocks) * 4096 / 2**20, runs))
PYEOF
if e2fsck -fn "$OUT/base.img" >/dev/null 2>&1; then
  echo "e2fsck: clean"
else
  echo "e2fsck reported problems"; e2fsck -fn "$OUT/base.img" | tail -20; exit 1
fi
rm -rf "$SRC"

############################################################################
# 5. The "changed" image: 1% of 4 KiB blocks rewritten, scattered
############################################################################
cp --sparse=always "$OUT/base.img" "$OUT/changed.img"
python3 - "$OUT/changed.img" "$SEED" <<'PYEOF'
import os, sys, random
img, seed = sys.argv[1], int(sys.argv[2])
BS = 4096
nblk = os.path.getsize(img) // BS
target = nblk // 100                       # 1% of the blocks = 40 MiB
rng = random.Random(seed * 7 + 1)
dirty = bytearray(nblk)
ndirty = nwrites = nbytes = 0
fd = os.open(img, os.O_RDWR)
while ndirty < target:
    ln = rng.randint(1, 16)                # 4 KiB .. 64 KiB
    start = rng.randrange(0, nblk - ln + 1)  # 4 KiB aligned
    os.pwrite(fd, rng.randbytes(ln * BS), start * BS)
    nwrites += 1; nbytes += ln * BS
    for b in range(start, start + ln):
        if not dirty[b]:
            dirty[b] = 1; ndirty += 1
os.close(fd)
print('changed image: %d writes, %.1f MiB written, %d distinct 4K blocks dirty (%.3f%%)'
      % (nwrites, nbytes / 2**20, ndirty, 100.0 * ndirty / nblk))
PYEOF

############################################################################
# 6. Report composition + hashes
############################################################################
python3 - "$OUT/base.img" <<'PYEOF'
import sys
z = nz = 0
Z = bytes(4096)
with open(sys.argv[1], 'rb') as f:
    while True:
        b = f.read(1 << 24)
        if not b: break
        for i in range(0, len(b), 4096):
            if b[i:i+4096] == Z: z += 1
            else: nz += 1
print('base.img: %d zero 4K blocks (%.1f%%), %d non-zero (%.1f MiB)' % (z, 100.0*z/(z+nz), nz, nz*4096/2**20))
PYEOF
(cd "$OUT" && sha256sum base.img changed.img) > "$OUT/SHA256SUMS.tmp"
cat "$OUT/SHA256SUMS.tmp"
du -h --apparent-size "$OUT/base.img"; du -h "$OUT/base.img" "$OUT/changed.img"
mv "$OUT/SHA256SUMS.tmp" "$OUT/SHA256SUMS"
