#!/bin/bash
# bench/prune.sh - prune after forgetting most of a long history: cairn vs
# restic 0.14, on the same history, in one run.  Method and numbers:
# docs/benchmarks.md ("Prune").
#
# History (built once, cached in BENCH_DIR/prune-history-N): N backups of
# the 4 GiB benchmark image (BENCH_DIR/img/base.img), each after a 1%
# change: 41 writes of 1 MiB of random data at random 1 MiB-aligned offsets
# (seeded by the backup's number), written in place into one copy of the
# image, which both tools back up from the same path after every change
# (cairn with --snapshot none: the history is not timed, and reading the
# live file is what restic does too).
#
# Each run: hard-link copies of both repositories (prune only adds and
# deletes files, so the cache stays intact), forget all but the last KEEP
# backups (untimed), then per tool: drop the page cache, read the
# repository once (warm cache, as bench/run.sh), and time
#   cairn prune --repo R            (defaults: --max-unused 5%)
#   restic -r R prune               (defaults: --max-unused 5%)
# each followed by sync inside the timing.  Untimed checks afterwards:
# cairn check and a restore of the newest backup compared with the image;
# restic check.
#
# Environment:
#   BENCH_DIR              default /var/tmp/cairn-bench
#   BENCH_PRUNE_BACKUPS    history length, default 100
#   BENCH_PRUNE_KEEP       backups kept by forget, default 10
#   BENCH_PRUNE_RUNS       timed runs, median reported (default 3)
#   BENCH_PRUNE_TOOLS      default "cairn restic"
#   CAIRN                  cairn binary, default build/cairn
#   BENCH_RESULTS          default bench/results (writes prune-latest.md)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/cairn-bench}
N=${BENCH_PRUNE_BACKUPS:-100}
KEEP=${BENCH_PRUNE_KEEP:-10}
RUNS=${BENCH_PRUNE_RUNS:-3}
TOOLS=${BENCH_PRUNE_TOOLS:-cairn restic}
CAIRN=${CAIRN:-$ROOT/build/cairn}
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results}

die() { echo "bench/prune: $*" >&2; exit 1; }
say() { echo "bench/prune: $*" >&2; }

case $BENCH_DIR in /*) ;; *) die "BENCH_DIR must be absolute" ;; esac
[[ $N =~ ^[1-9][0-9]*$ ]] && [[ $KEEP =~ ^[1-9][0-9]*$ ]] && [ "$KEEP" -lt "$N" ] ||
	die "BENCH_PRUNE_BACKUPS and BENCH_PRUNE_KEEP must be positive with KEEP < BACKUPS"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_PRUNE_RUNS must be a positive integer"
[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install -y time)"
[ -x "$CAIRN" ] || die "no cairn binary at $CAIRN (make)"
case " $TOOLS " in *" restic "*) command -v restic >/dev/null || die "restic missing" ;; esac

IMG=$BENCH_DIR/img
HIST=$BENCH_DIR/prune-history-$N
W=$BENCH_DIR/prune-work
LOGDIR=$BENCH_DIR/logs
mkdir -p "$BENCH_DIR" "$LOGDIR" "$RESULTS"
exec 9>"$BENCH_DIR/.lock"
flock -n 9 || die "another bench run holds $BENCH_DIR/.lock"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOG=$LOGDIR/prune-$STAMP.log
: >"$LOG"
# A private copy: the build may be relinked while the history is built.
cp "$CAIRN" "$BENCH_DIR/cairn-prune-bench"
CAIRN=$BENCH_DIR/cairn-prune-bench

if [ ! -f "$IMG/base.img" ]; then
	say "building the benchmark image in $IMG (a few minutes)"
	"$ROOT/bench/make_image.sh" "$IMG" >>"$LOG" 2>&1 || die "make_image.sh failed, see $LOG"
fi

export RESTIC_PASSWORD=cairn-bench-passphrase CAIRN_PASSPHRASE=cairn-bench-passphrase
export CAIRN_NO_PROGRESS=1

# One 1% change of image $1, seeded by $2.
change()
{
	python3 - "$1" "$2" <<'EOF'
import random, sys
path, seed = sys.argv[1], int(sys.argv[2])
r = random.Random(seed)
MiB = 1 << 20
with open(path, "r+b") as f:
    size = f.seek(0, 2)
    for _ in range(41):           # 41 MiB = 1% of 4 GiB
        f.seek(r.randrange(size // MiB) * MiB)
        f.write(r.randbytes(MiB))
EOF
}

build_history()
{
	local t=$HIST.tmp i
	say "building the history: $N backups of base.img with a 1% change each (once; cached in $HIST)"
	rm -rf "$t"
	mkdir -p "$t/home"
	cp --sparse=always "$IMG/base.img" "$t/vol.img"
	"$CAIRN" init --repo "$t/cairn" -q >/dev/null
	case " $TOOLS " in *" restic "*) HOME=$t/home XDG_CACHE_HOME=$t/home/.cache restic -r "$t/restic" init -q >>"$LOG" 2>&1 ;; esac
	for i in $(seq 1 "$N"); do
		[ "$i" = 1 ] || change "$t/vol.img" "$i"
		CAIRN_STATE_DIR=$t/state "$CAIRN" backup "$t/vol.img" --repo "$t/cairn" --name vol --snapshot none -q \
			>>"$LOG" 2>&1 || die "cairn backup $i failed, see $LOG"
		case " $TOOLS " in *" restic "*)
			HOME=$t/home XDG_CACHE_HOME=$t/home/.cache restic -r "$t/restic" backup "$t/vol.img" -q \
				>>"$LOG" 2>&1 || die "restic backup $i failed, see $LOG" ;;
		esac
		[ $((i % 10)) != 0 ] || say "  $i/$N"
	done
	mv "$t/vol.img" "$t/final.img"
	echo "$N backups; change: 41 x 1 MiB random at seeded 1 MiB-aligned offsets" >"$t/complete"
	mv "$t" "$HIST"
}

[ -f "$HIST/complete" ] || build_history
say "history: $HIST ($(du -sh "$HIST/cairn" | cut -f1) cairn, $(du -sh "$HIST/restic" 2>/dev/null | cut -f1) restic)"

drop_caches()
{
	sync
	if [ -w /proc/sys/vm/drop_caches ]; then echo 3 >/proc/sys/vm/drop_caches; else say "cannot drop caches (not root)"; fi
}

preread() { find "$1" -type f -print0 | xargs -0 cat >/dev/null; }

# timed TOOL-LABEL CMD...: "seconds peak-RSS-KiB CPU-seconds" on stdout
# (CPU = user + sys of the command and its sync).
timed()
{
	local label=$1 out
	shift
	out=$W/time.$label
	/usr/bin/time -f '%e %M %U %S' -o "$out" sh -c '"$@" && sync' sh "$@" >>"$LOG" 2>&1 || die "$label failed, see $LOG"
	tail -n1 "$out" | awk '{printf "%s %s %.2f\n", $1, $2, $3 + $4}'
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

declare -A T RSS CPU BEFORE AFTER
for run in $(seq 1 "$RUNS"); do
	rm -rf "$W"
	mkdir -p "$W/home"
	export HOME=$W/home XDG_CACHE_HOME=$W/home/.cache CAIRN_STATE_DIR=$W/state TMPDIR=$W
	for tool in $TOOLS; do
		cp -al "$HIST/$tool" "$W/$tool"
		BEFORE[$tool]=$(du -sb "$W/$tool" | cut -f1)
	done
	[ ! -d "$HIST/home/.cache/restic" ] || cp -a "$HIST/home/.cache" "$W/home/"
	for tool in $TOOLS; do
		case $tool in
		cairn)
			"$CAIRN" forget --repo "$W/cairn" --keep-last "$KEEP" -q >/dev/null 2>>"$LOG"
			drop_caches
			preread "$W/cairn"
			read -r s m c < <(timed cairn "$CAIRN" prune --repo "$W/cairn" --json)
			;;
		restic)
			restic -r "$W/restic" forget --keep-last "$KEEP" -q >>"$LOG" 2>&1
			drop_caches
			preread "$W/restic"
			read -r s m c < <(timed restic restic -r "$W/restic" prune)
			;;
		esac
		T[$tool]+="$s "
		RSS[$tool]+="$m "
		CPU[$tool]+="$c "
		AFTER[$tool]=$(du -sb "$W/$tool" | cut -f1)
		say "run $run: $tool prune ${s} s, ${c} CPU-s, peak RSS $((m / 1024)) MiB"
	done
	# Untimed: the results are sound.
	for tool in $TOOLS; do
		case $tool in
		cairn)
			"$CAIRN" check --repo "$W/cairn" -q >>"$LOG" 2>&1 || die "cairn check failed after prune"
			"$CAIRN" restore --repo "$W/cairn" latest "$W/restored.img" -q >>"$LOG" 2>&1 || die "cairn restore failed"
			cmp -s "$W/restored.img" "$HIST/final.img" || die "cairn: the newest backup does not restore the image"
			rm -f "$W/restored.img"
			[ "$("$CAIRN" list --repo "$W/cairn" --json | jq length)" = "$KEEP" ] || die "cairn kept the wrong number"
			;;
		restic)
			restic -r "$W/restic" check -q >>"$LOG" 2>&1 || die "restic check failed after prune"
			;;
		esac
	done
done

gib() { awk -v b="$1" 'BEGIN {printf "%.2f", b / 1073741824}'; }
{
	echo "| tool | prune s (median) | prune s (runs) | CPU-s (median) | peak RSS MiB | repository before GiB | after GiB |"
	echo "|---|---:|---|---:|---:|---:|---:|"
	for tool in $TOOLS; do
		s=$(echo "${T[$tool]}" | tr ' ' '\n' | grep . | median)
		m=$(echo "${RSS[$tool]}" | tr ' ' '\n' | grep . | median)
		c=$(echo "${CPU[$tool]}" | tr ' ' '\n' | grep . | median)
		echo "| $tool | $s | ${T[$tool]% } | $c | $((${m%.*} / 1024)) | $(gib "${BEFORE[$tool]}") | $(gib "${AFTER[$tool]}") |"
	done
	if [[ " $TOOLS " == *" cairn "* && " $TOOLS " == *" restic "* ]]; then
		c=$(echo "${T[cairn]}" | tr ' ' '\n' | grep . | median)
		r=$(echo "${T[restic]}" | tr ' ' '\n' | grep . | median)
		echo
		echo "restic / cairn: $(awk -v a="$r" -v b="$c" 'BEGIN {printf "%.1fx", a / b}') (prune of $N backups after forgetting $((N - KEEP)), medians of $RUNS run(s))"
	fi
} | tee "$RESULTS/prune-latest.md"
say "log: $LOG"
rm -rf "$W" "$BENCH_DIR/cairn-prune-bench"
