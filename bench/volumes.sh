#!/bin/bash
# bench/volumes.sh - [volumes] benchmark: change tracking by extent maps on
# XFS, side by side with restic and borg (fixed 64 KiB chunks) in one run.
# Method and numbers: docs/benchmarks.md ("Volumes").
#
# Per run (BENCH_RUNS, medians), on an XFS file system (reflink=1) made on a
# loop device (direct I/O) under BENCH_DIR:
#   1. copy base.img onto XFS as vol.img; cairn full backup (reflink snapshot)
#   2. apply the 1% change in place (the 4 KiB blocks where changed.img
#      differs from base.img, written into vol.img)
#   3. cairn incremental (timed): extent maps of the base snapshot and the
#      new one; bytes_read and change_tracking recorded
#   4. put base.img's blocks back at those places (vol.img = base again,
#      1% away from the incremental), then restore --delta of the
#      incremental onto vol.img (timed), cmp with changed.img; and a full
#      restore of the same backup to a new file (timed), for the ratio
#   5. 16 GiB volume: four reflinked copies of base.img; full backup, the
#      same 1% change in the first 4 GiB, incremental (timed)
#   6. RPO: 10 cycles of 60 MB of scattered 4 KiB writes (one minute at
#      1 MB/s) then an incremental (each timed)
#   peers: restic and borg fixed, full backup of base.img then the timed
#   incremental of changed.img at the same path (they re-read everything)
#
# Environment: BENCH_DIR (default /var/tmp/cairn-bench), BENCH_RUNS (3),
# BENCH_PEERS ("restic borg-fixed"; "" skips them), CAIRN (build/cairn),
# BENCH_RESULTS (bench/results).  Needs root (loop device, mount, page
# cache), xfsprogs, restic, borgbackup, python3.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/cairn-bench}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_PEERS=${BENCH_PEERS-restic borg-fixed}
CAIRN=${CAIRN:-$ROOT/build/cairn}
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results}
IMG=$BENCH_DIR/img
W=$BENCH_DIR/vwork
X=$BENCH_DIR/xfs
LOG=$BENCH_DIR/logs/volumes-$(date -u +%Y%m%dT%H%M%SZ).log

die() { echo "bench/volumes: $*" >&2; exit 1; }
say() { echo "bench/volumes: $*" >&2; }

[ "$(id -u)" = 0 ] || die "needs root (loop device, mount, drop_caches)"
[ -x "$CAIRN" ] || die "no cairn binary at $CAIRN (run make)"
[[ $BENCH_RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
command -v mkfs.xfs >/dev/null || die "mkfs.xfs missing (apt-get install xfsprogs)"
mkdir -p "$BENCH_DIR/logs" "$RESULTS"
exec 9>"$BENCH_DIR/.lock"
flock -n 9 || die "another bench run holds $BENCH_DIR/.lock"
[ -f "$IMG/SHA256SUMS" ] || "$ROOT/bench/make_image.sh" "$IMG" >"$BENCH_DIR/logs/make_image.log" 2>&1 ||
	die "building the images failed"
: >"$LOG"

LOOP=
cleanup() {
	mountpoint -q "$X" && umount "$X"
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	rm -rf "$W" "$BENCH_DIR/xfs.fsimg"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The blocks where changed.img differs from base.img, once: "OFFSET" lines.
if [ ! -s "$IMG/changed_offsets.txt" ]; then
	say "listing the changed 4 KiB blocks (once)"
	python3 - "$IMG/base.img" "$IMG/changed.img" >"$IMG/changed_offsets.tmp" <<'EOF'
import sys
BS, CH = 4096, 16 << 20
with open(sys.argv[1], 'rb') as a, open(sys.argv[2], 'rb') as b:
    pos = 0
    while True:
        x, y = a.read(CH), b.read(CH)
        if not x and not y:
            break
        if x != y:
            for i in range(0, max(len(x), len(y)), BS):
                if x[i:i + BS] != y[i:i + BS]:
                    print(pos + i)
        pos += CH
EOF
	mv "$IMG/changed_offsets.tmp" "$IMG/changed_offsets.txt"
fi

# patch FROM TO [BASE_OFFSET]: writes FROM's changed blocks into TO in place
# (at BASE_OFFSET + offset), then syncs.
patch_blocks() {
	python3 - "$1" "$2" "${3:-0}" "$IMG/changed_offsets.txt" <<'EOF'
import os, sys
src, dst, base, offs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(src, 'rb') as s, open(dst, 'r+b') as d:
    for line in open(offs):
        o = int(line)
        s.seek(o)
        d.seek(base + o)
        d.write(s.read(4096))
    d.flush()
    os.fsync(d.fileno())
EOF
}

# scatter FILE COUNT SEED: COUNT random 4 KiB writes of random data.
scatter() {
	python3 - "$1" "$2" "$3" <<'EOF'
import os, random, sys
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
with open(path, 'r+b') as f:
    size = f.seek(0, 2)
    for _ in range(n):
        f.seek(r.randrange(size // 4096) * 4096)
        f.write(r.randbytes(4096))
    f.flush()
    os.fsync(f.fileno())
EOF
}

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# As bench/run.sh does: drop the page cache, then read the step's input
# once, so every tool reads from the page cache (the numbers measure the
# tools, not the disk).
warm() { drop; cat "$@" >/dev/null; }

# t CMD...: wall seconds of CMD (sync included) into T; stdout in $W/out.
T=0
t() {
	echo "+ $*" >>"$LOG"
	/usr/bin/time -f %e -o "$W/time" sh -c '"$@" && sync' sh "$@" >"$W/out" 2>>"$LOG" ||
		{ say "FAILED: $*"; tail -n 3 "$LOG" >&2; exit 1; }
	T=$(tail -n 1 "$W/time")
	cat "$W/out" >>"$LOG"
}

jv() { jq -r "$1" "$W/out"; }

RAW=$W/raw.tsv
rec() { printf '%s\t%s\t%s\n' "$RUN" "$1" "$2" >>"$RAW"; }

rm -rf "$W"
mkdir -p "$W/home" "$W/src"
export HOME=$W/home XDG_CACHE_HOME=$W/home/.cache TMPDIR=$W
export CAIRN_PASSPHRASE=bench RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench CAIRN_STATE_DIR=$W/state
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes

say "XFS on a loop device (reflink=1)"
truncate -s 40G "$BENCH_DIR/xfs.fsimg"
mkfs.xfs -q -f -m reflink=1 "$BENCH_DIR/xfs.fsimg"
# Direct I/O: the loop device then reads and writes the image file as a
# disk would be, with one page cache (XFS's) above it instead of a second
# one (the image file's) below; a buffered loop served a snapshot's "cold"
# reads from that second cache and paid an fsync as the host file system's
# slow writeback of the image file.
LOOP=$(losetup -f --show --direct-io=on "$BENCH_DIR/xfs.fsimg")
mkdir -p "$X"
mount "$LOOP" "$X"

for RUN in $(seq 1 "$BENCH_RUNS"); do
	say "run $RUN/$BENCH_RUNS"
	rm -rf "$W/repo" "$W/state" "$X"/* "$X/.cairn-snapshots" "$W/r.img"
	"$CAIRN" init --repo "$W/repo" >>"$LOG" 2>&1
	cp --sparse=always "$IMG/base.img" "$X/vol.img"
	warm "$X/vol.img"
	t "$CAIRN" backup --repo "$W/repo" "$X/vol.img" --name vol --json
	rec cairn_full_s "$T"
	patch_blocks "$IMG/changed.img" "$X/vol.img"
	warm "$X/vol.img"
	t "$CAIRN" backup --repo "$W/repo" "$X/vol.img" --name vol --json
	rec cairn_incr_s "$T"
	rec cairn_incr_read_b "$(jv .bytes_read)"
	rec cairn_incr_tracking "$(jv .change_tracking)"
	say "  4 GiB: incremental ${T}s, read $(jv .bytes_read) B ($(jv .change_tracking))"

	# Roll the volume back by 1% (base's blocks), then --delta to the
	# incremental again; and a full restore of it for comparison.
	patch_blocks "$IMG/base.img" "$X/vol.img"
	warm "$X/vol.img"
	find "$W/repo" -type f -exec cat {} + >/dev/null
	t "$CAIRN" restore --repo "$W/repo" vol@latest "$X/vol.img" --delta --json
	rec cairn_delta_s "$T"
	rec cairn_delta_compared_b "$(jv .bytes_compared)"
	cmp -s "$X/vol.img" "$IMG/changed.img" && rec delta_verify ok || rec delta_verify FAIL
	warm "$W/repo"/config
	find "$W/repo" -type f -exec cat {} + >/dev/null
	t "$CAIRN" restore --repo "$W/repo" vol@latest "$W/r.img" --json
	rec cairn_restore_s "$T"
	cmp -s "$W/r.img" "$IMG/changed.img" && rec restore_verify ok || rec restore_verify FAIL
	rm -f "$W/r.img"
	say "  delta restore $(awk -v r="$RUN" '$1==r && $2=="cairn_delta_s"{print $3}' "$RAW")s vs full ${T}s"

	# RPO: one minute of 1 MB/s scattered writes (15,360 x 4 KiB), ten times.
	for c in $(seq 1 10); do
		scatter "$X/vol.img" 15360 $((RUN * 100 + c))
		t "$CAIRN" backup --repo "$W/repo" "$X/vol.img" --name vol --json
		rec "cairn_rpo_s_$c" "$T"
	done
	say "  RPO cycles: $(awk -v r="$RUN" '$1==r && $2 ~ /^cairn_rpo_s_/{printf "%s ", $3}' "$RAW")"

	# 16 GiB: four reflinked copies of base.img; same change in the first.
	rm -f "$X/vol.img"
	rm -rf "$X/.cairn-snapshots"
	cp --sparse=always "$IMG/base.img" "$X/vol16.img"
	for k in 1 2 3; do
		xfs_io -c "reflink $X/vol16.img 0 $((k << 32)) $((1 << 32))" "$X/vol16.img" >/dev/null
	done
	t "$CAIRN" backup --repo "$W/repo" "$X/vol16.img" --name vol16 --json
	patch_blocks "$IMG/changed.img" "$X/vol16.img"
	warm "$X/vol16.img"
	t "$CAIRN" backup --repo "$W/repo" "$X/vol16.img" --name vol16 --json
	rec cairn_incr16_s "$T"
	rec cairn_incr16_read_b "$(jv .bytes_read)"
	say "  16 GiB: incremental ${T}s, read $(jv .bytes_read) B"
	rm -f "$X/vol16.img"

	for p in $BENCH_PEERS; do
		rm -rf "$W/prepo" "$W/home"
		mkdir -p "$W/home"
		ln -f "$IMG/base.img" "$W/src/volume.img"
		case $p in
		restic)
			restic -r "$W/prepo" init >>"$LOG" 2>&1
			t restic -r "$W/prepo" backup "$W/src/volume.img"
			rm -f "$W/src/volume.img"
			ln "$IMG/changed.img" "$W/src/volume.img"
			warm "$W/src/volume.img"
			t restic -r "$W/prepo" backup "$W/src/volume.img" ;;
		borg-fixed)
			borg init -e repokey "$W/prepo" >>"$LOG" 2>&1
			t borg create --chunker-params fixed,65536 --compression lz4 "$W/prepo::full" "$W/src/volume.img"
			rm -f "$W/src/volume.img"
			ln "$IMG/changed.img" "$W/src/volume.img"
			warm "$W/src/volume.img"
			t borg create --chunker-params fixed,65536 --compression lz4 "$W/prepo::incr" "$W/src/volume.img" ;;
		esac
		rec "${p}_incr_s" "$T"
		say "  $p incremental ${T}s"
		rm -rf "$W/prepo"
	done
done

python3 - "$RAW" "$RESULTS/volumes-latest.md" <<'EOF'
import statistics, sys
raw, out = sys.argv[1], sys.argv[2]
vals = {}
for line in open(raw):
    run, k, v = line.rstrip('\n').split('\t')
    vals.setdefault(k, []).append(v)
def med(k):
    v = [float(x) for x in vals.get(k, [])]
    return statistics.median(v) if v else float('nan')
incr, incr16 = med('cairn_incr_s'), med('cairn_incr16_s')
restic, borg = med('restic_incr_s'), med('borg-fixed_incr_s')
delta, full = med('cairn_delta_s'), med('cairn_restore_s')
rpo = [med('cairn_rpo_s_%d' % c) for c in range(1, 11)]
L = []
L.append('| measure | median | target | met |')
L.append('|---|---:|---|---|')
L.append('| cairn incremental, 4 GiB, 1%% change (%s) | %.2f s | < 0.7 s | %s |' % (
    '/'.join(sorted(set(vals.get('cairn_incr_tracking', [])))), incr, 'yes' if incr < 0.7 else 'no'))
L.append('| bytes read by it | %.1f MiB | the change (41 MiB) | |' % (med('cairn_incr_read_b') / 2**20))
L.append('| restic 0.14 incremental | %.2f s (%.1fx cairn) | cairn >= 20x faster | %s |' % (
    restic, restic / incr, 'yes' if restic / incr >= 20 else 'no'))
L.append('| borg fixed 64 KiB incremental | %.2f s (%.1fx cairn) | cairn >= 8x faster | %s |' % (
    borg, borg / incr, 'yes' if borg / incr >= 8 else 'no'))
L.append('| cairn incremental, 16 GiB, same change | %.2f s (%.2fx the 4 GiB) | <= 1.5x | %s |' % (
    incr16, incr16 / incr, 'yes' if incr16 / incr <= 1.5 else 'no'))
L.append('| restore --delta of the 1%%-changed volume | %.2f s (%.1fx faster than full %.2f s) | >= 5x | %s |' % (
    delta, full / delta, full, 'yes' if full / delta >= 5 else 'no'))
L.append('| RPO: incremental after 60 MB of scattered writes, cycles 1..10 | %s s (max %.2f) | well inside 60 s | %s |' % (
    ' '.join('%.2f' % x for x in rpo), max(rpo), 'yes' if max(rpo) < 10 else 'no'))
L.append('')
L.append('verify: delta %s, full restore %s; runs: %d' % (
    ','.join(vals.get('delta_verify', [])), ','.join(vals.get('restore_verify', [])), len(vals.get('cairn_incr_s', []))))
open(out, 'w').write('\n'.join(L) + '\n')
print('\n'.join(L))
EOF
cp "$RAW" "$RESULTS/volumes-latest.tsv"
say "results in $RESULTS/volumes-latest.md; log $LOG"
