#!/bin/bash
# cairn mount against cairn restore, from Ceph RGW on 127.0.0.1 (docs/design.md §18),
# and the three speed targets of issue 21 that concern it:
#   (a) mount and read the whole image at least as fast as `cairn restore`
#   (b) boot-ready instant access (mount plus the first 100 MiB of random
#       reads) under 2 s
#   (c) `catalog --recursive` of the whole tree under 0.5 s
#
#   bench/mount.sh          (root: FUSE; Ceph RGW from scripts/install-deps servers)
#
# One backup of the 4 GiB benchmark image (bench/make_image.sh, built once
# under BENCH_DIR/img) in an S3 repository on RGW (memstore), then, RUNS
# times each (median printed, every run in the log).  Times of a mount run
# from the `cairn mount` command to the last byte read (the unmount after
# is not counted); caches are dropped before each run.
#   restore     cairn restore of the backup to a file
#   mount-read  cairn mount + dd bs=1M of the whole image to /dev/null
#   first-read  cairn mount + one 4 KiB read in the middle of the image
#               (the time to the first byte: open, tree root, one leaf, one get)
#   boot-qd8    cairn mount + 100 MiB of random 4..64 KiB reads (offsets
#               uniform over the whole image, 8 readers at once: a VM's
#               queue depth)
#   boot-qd1    the same with one reader (not run unless named in CASES)
#   boot-1g     the same, qd8, offsets in the image's first 1 GiB
#   boot-100m   the same, qd8, offsets in the image's first 100 MiB (a boot
#               reads a small part of its disk: kernel, initrd, the root
#               file system's metadata, many times)
#   catalog     cairn catalog --recursive of the whole tree (to /dev/null)
# The ratios printed at the end: mount-read / restore (target <= 1), the
# boot cases against 2 s, catalog against 0.5 s.  The image read through
# a mount is compared with the image once, untimed.  The machine may be
# shared: the numbers are noisy, and the load average is printed.
#
# CAIRN_BASE=BINARY also runs every case with an earlier build, alternating
# with CAIRN's in the same run (rows "base-<case>"; A B A B); CASES="boot-qd8
# boot-100m" runs only those cases.
# RUNS=0 only checks.  Env: BENCH_DIR (default /var/tmp/cairn-bench), RUNS (3), CAIRN
# (build/cairn), BENCH_RESULTS (bench/results).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/cairn-bench}
RUNS=${RUNS:-3}
CAIRN=${CAIRN:-$ROOT/build/cairn}
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results}
die() { echo "bench/mount: $*" >&2; exit 1; }
say() { echo "bench/mount: $*" >&2; }

[ "$(id -u)" = 0 ] || die "needs root (FUSE mounts without fusermount3 setuid, drop_caches)"
[ -x "$CAIRN" ] || die "no cairn binary at $CAIRN (make)"
command -v radosgw >/dev/null || die "Ceph RGW missing (scripts/install-deps servers)"
[ -c /dev/fuse ] || die "no /dev/fuse"

IMG_DIR=$BENCH_DIR/img
W=$BENCH_DIR/mount
mkdir -p "$BENCH_DIR" "$RESULTS"
if [ ! -s "$IMG_DIR/SHA256SUMS" ]; then
	say "building the 4 GiB benchmark image in $IMG_DIR (once)"
	"$ROOT/bench/make_image.sh" "$IMG_DIR" >&2 || die "make_image.sh failed"
fi
IMG=$IMG_DIR/base.img
rm -rf "$W"
mkdir -p "$W"
LOG=$W/log
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
export CAIRN_PASSPHRASE=cairn-bench-passphrase CAIRN_NO_PROGRESS=1 CAIRN_STATE_DIR=$W/state

RGW_DIR=$W/rgw
RGW_UP=0
cleanup() {
	mountpoint -q "$W/m" && { "$CAIRN" umount "$W/m" 2>/dev/null || umount -l "$W/m"; }
	[ "$RGW_UP" = 1 ] && CEPH_RGW_DIR=$RGW_DIR "$ROOT/scripts/servers/start-ceph-rgw.sh" stop >>"$LOG" 2>&1
	rm -f "$W"/restore.img
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
envval() { echo "$1" | sed -n "s/^$2=//p"; }

say "starting Ceph RGW"
port=$(free_port)
RGW_UP=1
env=$(CEPH_RGW_DIR=$RGW_DIR CEPH_RGW_PORT=$port CEPH_MON_PORT=$((port + 1)) CEPH_RGW_MEM=$((6 << 30)) \
	"$ROOT/scripts/servers/start-ceph-rgw.sh" start 2>>"$LOG") || die "Ceph RGW did not start, see $LOG"
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
AWS_ACCESS_KEY_ID=$(envval "$env" S3_ACCESS_KEY)
AWS_SECRET_ACCESS_KEY=$(envval "$env" S3_SECRET_KEY)
export CAIRN_REPO="s3://mount/repo?endpoint=$(envval "$env" S3_ENDPOINT)&region=us-east-1"

"$CAIRN" init -q >>"$LOG" 2>&1 || die "init failed, see $LOG"
say "backing up $IMG"
"$CAIRN" backup "$IMG" --name bench --snapshot none -q >"$W/id" 2>>"$LOG" || die "backup failed, see $LOG"

# random_reads IMAGE TOTAL_MIB THREADS SPAN_BYTES SEED: TOTAL_MIB of random
# 4..64 KiB reads at 4 KiB-aligned offsets below SPAN_BYTES.
random_reads() {
	python3 - "$@" <<'EOF'
import os, random, sys, threading
path, total, threads, span, seed = sys.argv[1], int(sys.argv[2]) << 20, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
fd = os.open(path, os.O_RDONLY)
span = min(span, os.fstat(fd).st_size)
per = total // threads
def reader(k):
    r = random.Random(seed * 100 + k)
    done = 0
    while done < per:
        n = r.randrange(1, 17) * 4096
        off = r.randrange(0, (span - n) // 4096) * 4096
        got = os.pread(fd, n, off)
        assert len(got) == n
        done += n
ts = [threading.Thread(target=reader, args=(k,)) for k in range(threads)]
for t in ts: t.start()
for t in ts: t.join()
EOF
}

declare -A T
# run NAME CMD...: wall seconds of CMD appended to T[NAME], or the seconds
# CMD wrote to $W/elapsed (a mount case: from the mount to the last read).
run() {
	local name=$1 t0 t1 s
	shift
	sync
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
	rm -f "$W/elapsed"
	t0=$(date +%s.%N)
	"$@" >>"$LOG" 2>&1 || die "$name failed, see $LOG"
	t1=$(date +%s.%N)
	if [ -s "$W/elapsed" ]; then s=$(cat "$W/elapsed"); else s=$(echo "$t1 - $t0" | bc); fi
	T[$name]="${T[$name]:-} $s"
	say "  $name: $s s (load $(cut -d' ' -f1 /proc/loadavg))"
}
median() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
range() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.2f-%.2f", lo, hi}'; }

# mounted CMD...: mounts, runs CMD with the image's path appended, writes
# the seconds from the mount to CMD's end to $W/elapsed, unmounts.
mounted() {
	local t0 t1 rc
	mkdir -p "$W/m"
	t0=$(date +%s.%N)
	"$CAIRN" mount latest "$W/m" -q || return 1
	"$@" "$(ls "$W"/m/bench/*.img)"
	rc=$?
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc >"$W/elapsed"
	"$CAIRN" umount "$W/m" -q || return 1
	return $rc
}
read_all() { dd if="$1" of=/dev/null bs=1M status=none; }
first_read() { dd if="$1" of=/dev/null bs=4096 count=1 skip=$((1 << 19)) status=none; }
mount_check() {
	mkdir -p "$W/m"
	"$CAIRN" mount latest "$W/m" -q || return 1
	cmp "$(ls "$W"/m/bench/*.img)" "$IMG" || { echo "the mounted image differs from the image"; return 1; }
	"$CAIRN" umount "$W/m" -q
}
# boot THREADS SPAN SEED IMAGE
boot() { random_reads "$4" 100 "$1" "$2" "$3"; }
restore() {
	rm -f "$W/restore.img"
	"$CAIRN" restore latest "$W/restore.img" -q
}
catalog() { "$CAIRN" catalog latest --recursive >/dev/null; }

CASES=${CASES:-restore mount-read first-read boot-qd8 boot-1g boot-100m catalog}
# case NAME ROUND: one run of a case (with the binary in CAIRN).
one_case() {
	case $1 in
	restore) restore ;;
	mount-read) mounted read_all ;;
	first-read) mounted first_read ;;
	boot-qd1) mounted boot 1 $((4 << 30)) "$2" ;;
	boot-qd8) mounted boot 8 $((4 << 30)) "$2" ;;
	boot-1g) mounted boot 8 $((1 << 30)) "$2" ;;
	boot-100m) mounted boot 8 $((100 << 20)) "$2" ;;
	catalog) catalog ;;
	*) die "no case $1" ;;
	esac
}
KEYS=""
for k in $CASES; do
	KEYS="$KEYS $k"
	[ -n "${CAIRN_BASE:-}" ] && KEYS="$KEYS base-$k"
done
for i in $(seq "$RUNS"); do
	say "round $i of $RUNS"
	for k in $CASES; do
		run "$k" one_case "$k" "$i"
		rm -f "$W/restore.img"
		if [ -n "${CAIRN_BASE:-}" ]; then
			CAIRN=$CAIRN_BASE run "base-$k" one_case "$k" "$i"
			rm -f "$W/restore.img"
		fi
	done
done
say "checking the mounted image against the image"
mount_check >>"$LOG" 2>&1 || die "the mounted image differs, see $LOG"

# ratio A B: median of A over median of B.
ratio() { echo "scale=2; $(median ${T[$1]}) / $(median ${T[$2]})" | bc; }
targets() {
	local p=$1
	[ -n "${T[${p}mount-read]:-}" ] && [ -n "${T[${p}restore]:-}" ] &&
		echo "- (a) ${p}mount-read / ${p}restore: $(ratio "${p}mount-read" "${p}restore") (target <= 1; ${p}restore $(median ${T[${p}restore]}) s)"
	for k in boot-qd8 boot-1g boot-100m boot-qd1 first-read; do
		[ -n "${T[$p$k]:-}" ] && echo "- (b) $p$k: $(median ${T[$p$k]}) s (target < 2 s)"
	done
	[ -n "${T[${p}catalog]:-}" ] && echo "- (c) ${p}catalog: $(median ${T[${p}catalog]}) s (target < 0.5 s)"
	return 0
}

OUT=$RESULTS/$STAMP-mount.md
{
	echo "# cairn mount vs restore, $STAMP"
	echo
	echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); image $(du -h --apparent-size "$IMG" | cut -f1) ($(du -h "$IMG" | cut -f1) allocated); Ceph RGW on 127.0.0.1 (memstore); median of $RUNS"
	echo
	echo "| what | median s | range s | runs (s) |"
	echo "| --- | --- | --- | --- |"
	for k in $KEYS; do
		echo "| $k | $(median ${T[$k]}) | $(range ${T[$k]}) | ${T[$k]} |"
	done
	echo
	targets ""
	[ -n "${CAIRN_BASE:-}" ] && targets base-
	[ -n "${CAIRN_BASE:-}" ] && echo "(base-: $CAIRN_BASE; CAIRN: $CAIRN)"
} | tee "$OUT"
say "results in $OUT"
