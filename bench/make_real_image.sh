#!/bin/bash
# bench/make_real_image.sh - a 2 GiB ext4 volume image of real files (not
# generated), plus a copy with 1% of it changed by rewriting real files.
#
# make_real_image.sh [OUTDIR]
#
#   OUTDIR/base.img      2 GiB ext4 image holding ~1.4 GiB of installed system
#                        files: every regular file of /usr/share/doc and
#                        /usr/share/locale, and files of /usr/lib taken in the
#                        order of the SHA-256 of their path (a spread sample:
#                        shared libraries, Python modules, compiler and
#                        locale data, firmware, ...) until REAL_DATA_BYTES
#   OUTDIR/changed.img   the same tree with ~1% of the image (REAL_CHANGE_BYTES)
#                        rewritten: files picked in the order of the SHA-256
#                        of "change:" + their path (at most 2 MiB each) get
#                        new contents of the same size, taken from /usr/lib
#                        files that are NOT in the image (real bytes, new to
#                        the repository), and a new mtime: what a package
#                        update that rewrites files in place looks like
#   OUTDIR/manifest.tsv  path, size and SHA-256 of every file in base.img
#   OUTDIR/changes.tsv   path, size, donor file of every rewritten file
#   OUTDIR/SHA256SUMS    the two images' SHA-256, and the manifest's
#                        ("manifest.tsv"): two runs are comparable when the
#                        manifest hash is the same (written last: marks a
#                        finished image pair)
#
# The file set depends on the packages installed, so the manifest hash says
# which data a result was measured on; on the same installation two builds
# give byte-identical images (mke2fs -d with a fixed UUID, hash seed and
# E2FSPROGS_FAKE_TIME, LC_ALL=C, every file's owner, mode and times fixed,
# ctimes pinned with debugfs, no lazy init).  Both images are built the same
# way from the staging tree, so the changed image differs from the base only
# in the rewritten files' data blocks and their inodes.
#
# Files whose path has characters other than [A-Za-z0-9._+@,=:~%/-] are
# left out (debugfs command files are split at white space), as are files
# over 32 MiB (no single file dominates the sample).
#
# Environment: REAL_DATA_BYTES (default 1503238553 = 1.4 GiB),
# REAL_CHANGE_BYTES (default 21474836 = 1% of the 2 GiB image),
# REAL_IMG_SIZE (default 2147483648).
# Requires: python3, e2fsprogs (mkfs.ext4, debugfs, e2fsck), coreutils;
# root to read every file under /usr.
set -euo pipefail
export LC_ALL=C TZ=UTC E2FSPROGS_FAKE_TIME=1700000000
OUT=${1:?usage: make_real_image.sh OUTDIR}
DATA_BYTES=${REAL_DATA_BYTES:-1503238553}
CHANGE_BYTES=${REAL_CHANGE_BYTES:-21474836}
IMG_SIZE=${REAL_IMG_SIZE:-2147483648}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SRC=$OUT/src
rm -rf "$SRC" "$OUT/base.img" "$OUT/changed.img" "$OUT/SHA256SUMS" "$OUT/changed_blocks.txt" \
  "$OUT/changed_offsets.txt"
mkdir -p "$SRC"

############################################################################
# 1. Select and stage the files; plan the change
############################################################################
python3 - "$SRC" "$OUT" "$DATA_BYTES" "$CHANGE_BYTES" <<'PYEOF'
import hashlib, os, re, stat, sys
src, out, budget, change = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
OK = re.compile(r'^[A-Za-z0-9._+@,=:~%/-]+$')
MAXF = 32 << 20

def walk(top):
    """(path, size) of every regular file under top, sorted by path"""
    res = []
    for d, dirs, files in os.walk(top):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(d, f)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and OK.match(p) and 0 < st.st_size <= MAXF \
               and os.access(p, os.R_OK):
                res.append((p, st.st_size))
    return res

def h(s):
    return hashlib.sha256(s.encode()).hexdigest()

chosen = walk('/usr/share/doc') + walk('/usr/share/locale')
used = sum(s for _, s in chosen)
lib = sorted(walk('/usr/lib'), key=lambda e: h(e[0]))
rest = []
for p, s in lib:
    if used + s <= budget:
        chosen.append((p, s))
        used += s
    else:
        rest.append((p, s))
chosen.sort()

def copy(frm, to, n):
    with open(frm, 'rb') as a, open(to, 'wb') as b:
        b.write(a.read(n))

man = []
for p, s in chosen:
    dst = src + p
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    copy(p, dst, s)
    with open(dst, 'rb') as f:
        man.append((p, os.fstat(f.fileno()).st_size, hashlib.sha256(f.read()).hexdigest()))
with open(os.path.join(out, 'manifest.tsv'), 'w') as f:
    for p, s, d in man:
        f.write('%s\t%d\t%s\n' % (p, s, d))

# The change: files in "change:" hash order, at most 2 MiB, until CHANGE
# bytes; each gets the bytes of the next donor (files not in the image, in
# path-hash order) with the same size or larger, cut to its size.
cand = sorted((e for e in man if e[1] <= 2 << 20), key=lambda e: h('change:' + e[0]))
donors = [d for d in rest if d[1] >= 4096]
plan, total, di = [], 0, 0
for p, s, _ in cand:
    if total >= change:
        break
    k = di
    while k < len(donors) and donors[k][1] < s:
        k += 1
    if k == len(donors):
        continue
    plan.append((p, s, donors[k][0]))
    donors.pop(k)
    total += s
with open(os.path.join(out, 'changes.tsv'), 'w') as f:
    for p, s, d in plan:
        f.write('%s\t%d\t%s\n' % (p, s, d))
print('staged %d files, %.1f MiB; change: %d files, %.1f MiB'
      % (len(man), used / 2**20, len(plan), total / 2**20))
PYEOF

# Owner, mode and times of the staging tree fixed (mke2fs -d copies them).
find "$SRC" -type d -exec chmod 0755 {} +
find "$SRC" -type f -exec chmod 0644 {} +
chown -R 0:0 "$SRC" 2>/dev/null || true
find "$SRC" -exec touch -h -d @1700000000 {} +

# mkimage NAME: the ext4 image OUT/NAME from the staging tree, ctimes pinned.
mkimage() {
  local img=$OUT/$1
  rm -f "$img"
  truncate -s "$IMG_SIZE" "$img"
  mkfs.ext4 -q -F -b 4096 -I 256 -i 16384 -T default -L realvol \
    -U 6b1e0c3a-0000-4000-8000-000000000011 \
    -E hash_seed=6b1e0c3a-0000-4000-8000-000000000012,root_owner=0:0,nodiscard,lazy_itable_init=0,lazy_journal_init=0 \
    -d "$SRC" "$img"
  # mke2fs -d copies each file's ctime, which touch cannot set: pin it.
  {
    (cd "$SRC" && find . -mindepth 1 | sort | sed 's|^\.||; s|^|sif |; s|$| ctime @1700000000|')
    echo 'sif / ctime @1700000000'
    echo 'sif /lost+found ctime @1700000000'
  } >"$OUT/dbg_fix.cmd"
  debugfs -w -f "$OUT/dbg_fix.cmd" "$img" >"$OUT/dbg_fix.log" 2>&1
  if ! e2fsck -fn "$img" >/dev/null 2>&1; then
    echo "e2fsck reported problems in $img"; e2fsck -fn "$img" | tail -20; exit 1
  fi
}

############################################################################
# 2. base.img
############################################################################
mkimage base.img

############################################################################
# 3. changed.img: the planned files rewritten in place, new mtime
############################################################################
python3 - "$SRC" "$OUT/changes.tsv" <<'PYEOF'
import os, sys
src = sys.argv[1]
for line in open(sys.argv[2]):
    p, s, d = line.rstrip('\n').split('\t')
    s = int(s)
    with open(d, 'rb') as a:
        data = a.read(s)
    assert len(data) == s
    with open(src + p, 'r+b') as f:
        orig = f.read()
        # mke2fs -d leaves all-zero blocks unallocated: keep the zero
        # blocks where they were, so the allocation (and the layout of
        # every file after this one) stays the same.
        new = bytearray()
        for i in range(0, s, 4096):
            o, n = orig[i:i + 4096], data[i:i + 4096]
            if not o.strip(b'\0'):
                new += o
            elif not n.strip(b'\0'):
                new += o
            else:
                new += n
        f.seek(0)
        f.write(new)
    os.utime(src + p, (1700086400, 1700086400))
PYEOF
mkimage changed.img
rm -rf "$SRC" "$OUT/dbg_fix.cmd" "$OUT/dbg_fix.log"

############################################################################
# 4. Report + hashes
############################################################################
python3 - "$OUT/base.img" "$OUT/changed.img" <<'PYEOF'
import sys
BS, Z = 4096, bytes(4096)
z = nz = diff = 0
with open(sys.argv[1], 'rb') as a, open(sys.argv[2], 'rb') as b:
    while True:
        x, y = a.read(1 << 24), b.read(1 << 24)
        if not x:
            break
        for i in range(0, len(x), BS):
            if x[i:i + BS] == Z:
                z += 1
            else:
                nz += 1
            if x[i:i + BS] != y[i:i + BS]:
                diff += 1
print('base.img: %d zero 4K blocks (%.1f%%), %d non-zero (%.1f MiB); changed.img differs in %d blocks (%.1f MiB, %.2f%%)'
      % (z, 100.0 * z / (z + nz), nz, nz * BS / 2**20, diff, diff * BS / 2**20, 100.0 * diff / (z + nz)))
PYEOF
(cd "$OUT" && sha256sum base.img changed.img manifest.tsv) >"$OUT/SHA256SUMS.tmp"
cat "$OUT/SHA256SUMS.tmp"
mv "$OUT/SHA256SUMS.tmp" "$OUT/SHA256SUMS"
