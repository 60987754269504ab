#!/bin/bash
# bench/scale.sh - [scale] benchmark: what a backup, a restore, `list` and
# `check` cost as the repository grows, and what a sparse image's change-tag
# state costs as its apparent size grows.  Method: docs/benchmarks.md
# ("Scale"); tables written to bench/results/scale.md.
#
# Part 1, per repository size N in SCALE_BLOBS (default "1M 10M 50M"):
#   1. init a repository, fill it with N synthetic blobs (cairn-genrepo,
#      bench/gen_repo.c: real packs and index objects of 64-byte blobs,
#      written by cairn's own codec, pack writer and index; `check` finds
#      them consistent)
#   2. full backup of a 1 GiB volume of random data (SCALE_VOLUME) into it
#      (timed: the first command after the repository grew, so it pays
#      for whatever a binary builds locally from the index objects)
#   3. change 1% of the volume (SCALE_CHANGE_PCT; chunk-sized, chunk-aligned
#      random writes at random places) and run the incremental   (timed)
#   4. restore that incremental to a new file, cmp with the volume  (timed)
#   4b. copy that incremental to a new repository of the same key family
#      (`init --copy-keys-from`)                                    (timed)
#      and, for 3, 4 and 4b, the start-up: process start to the first
#      chunk, as CAIRN_PROFILE=1 prints it (binaries that do; else "-")
#   5. `cairn list`                                                 (timed)
#   6. `cairn check` (structure only)                               (timed)
#   and the state directory's size after them (a binary may keep a local
#   index cache there)
# Part 2, per apparent size in SCALE_SPARSE (default "64G 1T 16T"), each
# into its own empty repository and state directory: a sparse image holding
# SCALE_SPARSE_DATA (1 GiB) of random data in 1 MiB extents at random
# places; full backup, a no-change incremental, a restore to a new (sparse)
# file (each timed), and the state directory's size after the incremental
# (the change-tag cache lives there), in bytes per data chunk.
#
# "Timed" = wall seconds and peak RSS (/usr/bin/time -f %M), one run each.
# Each command gets SCALE_TIMEOUT seconds (default 3600); one that runs out
# is recorded as "timeout" and the script goes on.
#
# Environment:
#   CAIRN           binary under test (default build/cairn); any cairn works,
#                   so one run can be made per binary (before/after)
#   GENREPO         the generator (default build/cairn-genrepo, `ninja -C
#                   build cairn-genrepo`); the repository format is the
#                   same for every binary, so one generator serves all
#   SCALE_DIR       work directory (default /var/tmp/cairn-scalebench);
#                   50M blobs need about 8 GB there, the sparse part about
#                   2 GiB plus what the binary's state takes
#   SCALE_BLOBS     repository sizes, with K/M suffixes ("" skips part 1)
#   SCALE_SPARSE    apparent sizes, with G/T suffixes ("" skips part 2);
#                   ext4 caps a file at 16 TiB - 4 KiB, so a size the file
#                   system refuses is cut by 1 MiB (and the table says so)
#   SCALE_CHUNK     --chunk-size for init (default: cairn's, 64 KiB)
#   SCALE_VOLUME, SCALE_CHANGE_PCT, SCALE_SPARSE_DATA, SCALE_TIMEOUT
#   SCALE_OUT       the Markdown file (default bench/results/scale.md);
#                   SCALE_APPEND=1 appends a section instead of replacing it
#   SCALE_LABEL     a word for the section title (e.g. "before", "after")
#   SCALE_KEEP=1    keeps the work directory
# Needs python3, /usr/bin/time, timeout, cmp, flock.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAIRN=$(realpath "${CAIRN:-$ROOT/build/cairn}")
GENREPO=$(realpath "${GENREPO:-$ROOT/build/cairn-genrepo}")
SCALE_DIR=${SCALE_DIR:-/var/tmp/cairn-scalebench}
SCALE_BLOBS=${SCALE_BLOBS-1M 10M 50M}
SCALE_SPARSE=${SCALE_SPARSE-64G 1T 16T}
SCALE_CHUNK=${SCALE_CHUNK:-}
SCALE_VOLUME=${SCALE_VOLUME:-1G}
SCALE_CHANGE_PCT=${SCALE_CHANGE_PCT:-1}
SCALE_SPARSE_DATA=${SCALE_SPARSE_DATA:-1G}
SCALE_TIMEOUT=${SCALE_TIMEOUT:-3600}
SCALE_OUT=${SCALE_OUT:-$ROOT/bench/results/scale.md}
SCALE_LABEL=${SCALE_LABEL:-}

die() { echo "scale.sh: $*" >&2; exit 1; }
[ -x "$CAIRN" ] || die "no cairn binary at $CAIRN (set CAIRN)"
[ -z "$SCALE_BLOBS" ] || [ -x "$GENREPO" ] || die "no generator at $GENREPO (ninja -C build cairn-genrepo, or set GENREPO)"
for t in python3 /usr/bin/time timeout cmp flock; do
	command -v "$t" >/dev/null || die "$t is needed"
done

# "1M" -> 1000000 (blob counts are decimal), "64G" -> bytes (binary).
count() {
	case $1 in
	*K) echo $((${1%K} * 1000)) ;;
	*M) echo $((${1%M} * 1000000)) ;;
	*[0-9]) echo "$1" ;;
	*) die "not a count: $1" ;;
	esac
}
bytes() {
	case $1 in
	*K) echo $((${1%K} << 10)) ;;
	*M) echo $((${1%M} << 20)) ;;
	*G) echo $((${1%G} << 30)) ;;
	*T) echo $((${1%T} << 40)) ;;
	*[0-9]) echo "$1" ;;
	*) die "not a size: $1" ;;
	esac
}

export CAIRN_PASSPHRASE=scale CAIRN_KDF_MEMORY=16M CAIRN_FROM_PASSPHRASE=scale CAIRN_TO_PASSPHRASE=scale
mkdir -p "$SCALE_DIR"
W=$(realpath "$SCALE_DIR")
# Two runs in one work directory would overwrite each other's files.
exec 9>"$W/.lock"
flock -n 9 || die "another scale.sh runs in $W (set SCALE_DIR)"
LOG=$W/scale-$(date -u +%Y%m%dT%H%M%SZ).log
: >"$LOG"
log() { echo "$*" | tee -a "$LOG" >&2; }

# measure NAME CMD...: runs CMD (output to the log) under /usr/bin/time and
# timeout; sets WALL (seconds) and RSS (MiB), or "timeout"/"failed (rc)".
measure() {
	local name=$1
	shift
	local tf=$W/time.out rc=0
	echo "+ $name: $*" >>"$LOG"
	timeout "$SCALE_TIMEOUT" /usr/bin/time -f "%e %M" -o "$tf" "$@" >>"$LOG" 2>&1 || rc=$?
	if [ "$rc" = 124 ]; then
		WALL="timeout (${SCALE_TIMEOUT} s)"
		RSS="-"
	elif [ "$rc" != 0 ]; then
		WALL="failed ($rc)"
		RSS="-"
	else
		read -r WALL RSS < <(tail -1 "$tf" | awk '{ printf "%.2f %.1f\n", $1, $2 / 1024 }')
	fi
	log "  $name: $WALL s, $RSS MiB"
}

# startup: the start-up the last command printed under CAIRN_PROFILE=1.
startup() {
	local v
	v=$(tail -40 "$LOG" | grep -o 'start-up [0-9.]* s' | tail -1 | awk '{ print $2 }')
	if [ -n "$v" ]; then echo "$v s"; else echo "-"; fi
}

init_repo() { # DIR
	rm -rf "$1"
	"$CAIRN" init --repo "$1" ${SCALE_CHUNK:+--chunk-size "$SCALE_CHUNK"} >>"$LOG" 2>&1
}

chunk_size() { # REPO: the chunk size init chose, from its log line
	grep -o 'chunk size [0-9]* [KM]iB' "$LOG" | tail -1 | awk '{ print $3 ($4 == "MiB" ? "M" : "K") }'
}

# The random volume, made once, copied per repository.
VOLUME_BYTES=$(bytes "$SCALE_VOLUME")
python_random_file() { # PATH BYTES
	python3 - "$1" "$2" <<'PY'
import os, sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    left = size
    while left:
        n = min(left, 16 << 20)
        f.write(os.urandom(n))
        left -= n
PY
}

# change FILE PCT CHUNK SEED: overwrites PCT% of FILE with random data in
# chunk-sized, chunk-aligned pieces at random places (distinct chunks).
change() {
	python3 - "$@" <<'PY'
import os, random, sys
path, pct, chunk, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
fd = os.open(path, os.O_WRONLY)
n = os.fstat(fd).st_size // chunk
k = max(1, int(n * pct / 100))
for i in random.Random(seed).sample(range(n), k):
    os.pwrite(fd, os.urandom(chunk), i * chunk)
os.fsync(fd)
os.close(fd)
print(f"changed {k} of {n} chunks")
PY
}

# sparse FILE APPARENT DATA: a sparse file with DATA bytes of random data in
# 1 MiB extents at random 1 MiB-aligned places.
sparse() {
	python3 - "$@" <<'PY'
import os, random, sys
path, size, data = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.ftruncate(fd, size)
rng = random.Random(18)
for o in sorted(rng.sample(range(size >> 20), data >> 20)):
    os.pwrite(fd, os.urandom(1 << 20), o << 20)
os.close(fd)
PY
}

# same_sparse A B: 0 when the files are equal, reading only where either
# holds data (SEEK_DATA), so a 16 TiB image costs what its data costs.
same_sparse() {
	python3 "$ROOT/tests/e2e/same_sparse.py" "$@"
}

VER=$("$CAIRN" --version 2>/dev/null | head -1 || true)
SUM=$(sha256sum "$CAIRN" | cut -c1-12)
GIT=$(git -C "$(dirname "$CAIRN")" describe --always --dirty 2>/dev/null || echo "?")
CMDLINE="SCALE_BLOBS=\"$SCALE_BLOBS\" SCALE_SPARSE=\"$SCALE_SPARSE\"${SCALE_CHUNK:+ SCALE_CHUNK=$SCALE_CHUNK} CAIRN=$CAIRN bench/scale.sh"

OUTTMP=$W/section.md
row() { echo "$*" >>"$OUTTMP"; echo "row: $*" >>"$LOG"; }
{
	echo "## Scale${SCALE_LABEL:+: $SCALE_LABEL} ($(date -u +%Y-%m-%d\ %H:%M) UTC)"
	echo
	echo "- command: \`$CMDLINE\`"
	echo "- binary: $CAIRN (${VER:-cairn}, git $GIT, sha256 $SUM...)"
	echo "- machine: $(nproc) cores, $(free -g | awk '/^Mem/ { print $2 }') GiB RAM, $(df -T "$W" | awk 'NR == 2 { print $2 }') under $W;" \
		"load average at start $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: wall times are noisy, RSS is not)"
	echo "- one run per cell; RSS = peak resident set (/usr/bin/time %M); volume $SCALE_VOLUME of random data," \
		"${SCALE_CHANGE_PCT}% changed in whole chunks at random places before the incremental"
	echo "- synthetic blobs: 64-byte unique blobs, 8,192 a pack, sealed, packed and indexed by cairn's own code" \
		"(bench/gen_repo.c, \`cairn-genrepo\`); \`check found\` is what \`cairn check\` counted (the volume's own chunks included)"
	echo
} >"$OUTTMP"

# ---- part 1: repository size ----
if [ -n "$SCALE_BLOBS" ]; then
	log "volume: $SCALE_VOLUME of random data"
	python_random_file "$W/base.img" "$VOLUME_BYTES"
	{
		echo "### Repository size (synthetic blobs + one ${SCALE_VOLUME} volume)"
		echo
		echo "| blobs | generate | index objects | check found | full (first) | RSS | incremental (${SCALE_CHANGE_PCT}%) | RSS | start-up | restore | RSS | start-up | copy | RSS | start-up | list | RSS | check | RSS | state |"
		echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	} >>"$OUTTMP"
	for size in $SCALE_BLOBS; do
		n=$(count "$size")
		R=$W/repo-$size
		export CAIRN_STATE_DIR=$W/state-$size
		rm -rf "$CAIRN_STATE_DIR" "$W/out.img"
		log "== $size blobs ($n)"
		init_repo "$R"
		cs=$(bytes "$(chunk_size)")
		measure generate "$GENREPO" "$R" "$n"
		gen="$WALL s"
		idx=$(du -sb "$R/index" | cut -f1)
		cp "$W/base.img" "$W/vol.img"
		measure full "$CAIRN" backup --repo "$R" --name vol --snapshot none -q "$W/vol.img"
		full="$WALL s | $RSS MiB"
		change "$W/vol.img" "$SCALE_CHANGE_PCT" "$cs" 4 >>"$LOG"
		CAIRN_PROFILE=1 measure incremental "$CAIRN" backup --repo "$R" --name vol --snapshot none -q "$W/vol.img"
		inc="$WALL s | $RSS MiB | $(startup)"
		CAIRN_PROFILE=1 measure restore "$CAIRN" restore --repo "$R" latest "$W/out.img"
		res="$WALL s | $RSS MiB | $(startup)"
		if [ -e "$W/out.img" ] && ! cmp -s "$W/vol.img" "$W/out.img"; then
			res="$WALL s (WRONG DATA) | $RSS MiB"
			log "  restore differs from the volume"
		fi
		rm -f "$W/out.img"
		rm -rf "$W/copy-$size"
		"$CAIRN" init --repo "$W/copy-$size" --copy-keys-from "$R" >>"$LOG" 2>&1
		CAIRN_PROFILE=1 measure copy "$CAIRN" copy --repo "$R" latest --to "$W/copy-$size" -q
		cpy="$WALL s | $RSS MiB | $(startup)"
		rm -rf "$W/copy-$size"
		measure list "$CAIRN" list --repo "$R"
		lst="$WALL s | $RSS MiB"
		measure check "$CAIRN" check --repo "$R"
		chk="$WALL s | $RSS MiB"
		# The state directory after all of it: a local index cache lives there.
		stsz=$(du -sb "$CAIRN_STATE_DIR" 2>/dev/null | awk '{ printf "%.1f MB", $1 / 1e6 }')
		# What check found, as a sanity column: N blobs and no problems.
		found=$(tail -3 "$LOG" | grep -o 'no problems: .*' | grep -o '[0-9,]* packs, [0-9,]* blobs' || echo "PROBLEMS (see the log)")
		row "| $size | $gen | $(awk -v b="$idx" 'BEGIN { printf "%.0f MB", b / 1e6 }') | $found | $full | $inc | $res | $cpy | $lst | $chk | ${stsz:-0 MB} |"
		[ -n "${SCALE_KEEP:-}" ] || rm -rf "$R" "$CAIRN_STATE_DIR"
	done
	rm -f "$W/base.img" "$W/vol.img"
	echo >>"$OUTTMP"
fi

# ---- part 2: sparse images ----
if [ -n "$SCALE_SPARSE" ]; then
	DATA_BYTES=$(bytes "$SCALE_SPARSE_DATA")
	{
		echo "### Sparse images ($SCALE_SPARSE_DATA of data, 1 MiB extents at random places)"
		echo
		echo "| apparent size | full | RSS | no-change incremental | RSS | restore | RSS | state | per data chunk |"
		echo "|---|---|---|---|---|---|---|---|---|"
	} >>"$OUTTMP"
	for size in $SCALE_SPARSE; do
		b=$(bytes "$size")
		label=$size
		R=$W/srepo
		export CAIRN_STATE_DIR=$W/sstate
		rm -rf "$CAIRN_STATE_DIR" "$W/simg" "$W/sout.img"
		log "== sparse $size"
		if ! truncate -s "$b" "$W/simg" 2>>"$LOG"; then
			b=$((b - (1 << 20)))
			label="$size - 1 MiB"
			log "  the file system refuses $size: $label"
		fi
		sparse "$W/simg" "$b" "$DATA_BYTES"
		init_repo "$R"
		cs=$(bytes "$(chunk_size)")
		measure full "$CAIRN" backup --repo "$R" --name s --snapshot none -q "$W/simg"
		full="$WALL s | $RSS MiB"
		measure no-change "$CAIRN" backup --repo "$R" --name s --snapshot none -q "$W/simg"
		inc="$WALL s | $RSS MiB"
		st=$(du -sb "$CAIRN_STATE_DIR" | cut -f1)
		std=$(du -sB1 "$CAIRN_STATE_DIR" | cut -f1)
		measure restore "$CAIRN" restore --repo "$R" latest "$W/sout.img"
		res="$WALL s | $RSS MiB"
		if [ -e "$W/sout.img" ] && ! same_sparse "$W/simg" "$W/sout.img"; then
			res="$WALL s (WRONG DATA) | $RSS MiB"
			log "  restore differs from the image"
		fi
		rm -f "$W/sout.img" "$W/simg"
		per=$(awk -v s="$st" -v d="$DATA_BYTES" -v c="$cs" 'BEGIN { printf "%.0f B", s / (d / c) }')
		row "| $label | $full | $inc | $res | $(awk -v s="$st" -v d="$std" 'BEGIN { printf "%.1f MB (%.1f MB on disk)", s / 1e6, d / 1e6 }') | $per |"
		[ -n "${SCALE_KEEP:-}" ] || rm -rf "$R" "$CAIRN_STATE_DIR"
	done
	echo >>"$OUTTMP"
fi

{
	echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); log: $LOG"
	echo
} >>"$OUTTMP"
mkdir -p "$(dirname "$SCALE_OUT")"
if [ -n "${SCALE_APPEND:-}" ] && [ -e "$SCALE_OUT" ]; then
	cat "$OUTTMP" >>"$SCALE_OUT"
else
	cat "$OUTTMP" >"$SCALE_OUT"
fi
cat "$OUTTMP"
