#!/bin/bash
# bench/compression.sh - the compression table of docs/design.md.
#
#   bench/compression.sh CAIRN IMAGE...
#
# For each IMAGE: bench/compbench's per-mode line (ratio and MB/s of one
# core through cairn's own compressor on the image's non-zero 64 KiB
# chunks), zstd's and lz4's own benchmarks on the same file (zstd -b with
# 64 KiB blocks at levels 1 and 3 and --fast 1, 3, 5; lz4 -b with 64 KiB
# blocks), then a full `cairn backup --snapshot none` of the image into a
# fresh repository per mode (wall seconds, CPU seconds, pack bytes), and
# restic 0.14's default (zstd "auto") and --compression max on the same
# image when restic is installed.  Page cache warm: each image is read once
# before.  Work directory: BENCH_DIR (default /var/tmp/cairn-comp/work).
# Modes: COMP_MODES (default "none lz4 zstd:-5 zstd:-3 zstd:-1 zstd:1
# zstd:3 zstd:6 zstd:19").  COMP_COMPBENCH=0 leaves compbench out,
# COMP_CLI=0 the zstd and lz4 command-line benchmarks, BENCH_RESTIC=0 restic.
set -euo pipefail
CAIRN=${1:?usage: compression.sh CAIRN IMAGE...}
shift
case $CAIRN in /*) ;; *) CAIRN=$PWD/$CAIRN ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
COMPBENCH=${COMPBENCH:-$(dirname "$CAIRN")/cairn-compbench}
W=${BENCH_DIR:-/var/tmp/cairn-comp/work}
MODES=${COMP_MODES:-"none lz4 zstd:-5 zstd:-3 zstd:-1 zstd:1 zstd:3 zstd:6 zstd:19"}
export CAIRN_PASSPHRASE=bench CAIRN_KDF_MEMORY=16M RESTIC_PASSWORD=bench
export CAIRN_STATE_DIR=$W/state
mkdir -p "$W"

# timed OUT CMD...: runs CMD, appends "wall user+sys" seconds to OUT.
timed()
{
	local out=$1
	shift
	/usr/bin/time -f '%e %U %S' -o "$out.t" "$@" >/dev/null 2>"$out.err" ||
		{ echo "failed: $* ($(tail -n1 "$out.err"))" >&2; return 1; }
	awk '{printf "%.2f\t%.2f\n", $1, $2 + $3}' "$out.t"
}

for img in "$@"; do
	name=$(basename "$img" .img)
	echo "## $img ($(du -h --apparent-size "$img" | cut -f1) apparent, $(du -h "$img" | cut -f1) allocated)"
	cat "$img" >/dev/null
	if [ "${COMP_COMPBENCH:-1}" = 1 ]; then
		echo "### cairn-compbench (one core, non-zero 64 KiB chunks)"
		# shellcheck disable=SC2086
		"$COMPBENCH" "$img" 65536 $MODES
	fi
	# zstd's and lz4's own benchmarks time by the wall clock: on a busy
	# machine their MB/s say little (COMP_CLI=0 leaves them out).
	[ "${COMP_CLI:-1}" = 1 ] && echo "### zstd -b / lz4 -b (whole file, 64 KiB blocks, one core)"
	[ "${COMP_CLI:-1}" = 1 ] && for z in -b1 -b3 --fast=1 --fast=3 --fast=5; do
		case $z in --fast=*) args=("$z" -b) ;; *) args=("$z") ;; esac
		printf 'zstd %s\t' "$z"
		zstd -q "${args[@]}" -B64K -i3 "$img" 2>&1 | tr '\r' '\n' | grep -E 'MB/s' | tail -n1 | sed 's/^ *//'
	done
	if [ "${COMP_CLI:-1}" = 1 ]; then
		printf 'lz4 -b1\t'
		lz4 -q -b1 -B4 -i3 "$img" 2>&1 | tr '\r' '\n' | grep -E 'MB/s' | tail -n1 | sed 's/^ *//'
	fi
	echo "### cairn backup --snapshot none, one fresh repository per mode (2 cores)"
	printf 'mode\twall_s\tcpu_s\trepo_bytes\n'
	for m in $MODES; do
		r=$W/repo-$name-${m/:/_}
		rm -rf "$r" "$CAIRN_STATE_DIR"
		"$CAIRN" init -q --repo "$r" --compression "$m" >/dev/null
		t=$(timed "$W/t" "$CAIRN" backup -q --repo "$r" --snapshot none "$img")
		printf '%s\t%s\t%s\n' "$m" "$t" "$(du -sb "$r" | cut -f1)"
		rm -rf "$r"
	done
	if command -v restic >/dev/null && [ "${BENCH_RESTIC:-1}" = 1 ]; then
		echo "### restic $(restic version | cut -d' ' -f2) backup of the same file"
		printf 'restic\twall_s\tcpu_s\trepo_bytes\n'
		for c in auto max; do
			r=$W/restic-$name-$c
			rm -rf "$r"
			restic -q init --repo "$r" >/dev/null
			t=$(timed "$W/t" restic -q --repo "$r" backup --compression "$c" "$img")
			printf '%s\t%s\t%s\n' "$c" "$t" "$(du -sb "$r" | cut -f1)"
			rm -rf "$r"
		done
	fi
done
