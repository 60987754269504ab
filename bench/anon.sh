#!/bin/bash
# bench/anon.sh - [scale] target: the anonymous memory of a 64 MiB backup
# into a repository of 524k blobs (4 KiB chunks) against the same backup
# into an empty one (issue 18: at most 4 MiB above it).  Method:
# docs/benchmarks.md ("Scale"); prints a Markdown table.
#
# Per repository (empty, and N synthetic blobs made by cairn-genrepo,
# bench/gen_repo.c), with a state directory of its own:
#   1. backup of a 64 MiB random image A: the first command after the
#      repository was filled, so it builds the local index cache
#   2. backup of another 64 MiB random image B (same work, 16,384 new
#      chunks): the index cache exists (the steady state)
# each under bench/peakmem.py (wall, peak RSS, peak RssAnon sampled every
# 2 ms).  The difference that counts is the "cache warm" row's anon column.
#
# Environment: CAIRN (default build/cairn), GENREPO (default
# build/cairn-genrepo), ANON_DIR (default /var/tmp/cairn-anonbench),
# ANON_BLOBS (default 524288), ANON_IMAGE (default 64M), ANON_RUNS (runs of
# each backup per repository, alternating the repositories; default 1:
# each run after the first backs up fresh random images, so it stays
# "new data into a warm cache").
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAIRN=$(realpath "${CAIRN:-$ROOT/build/cairn}")
GENREPO=$(realpath "${GENREPO:-$ROOT/build/cairn-genrepo}")
W=${ANON_DIR:-/var/tmp/cairn-anonbench}
N=${ANON_BLOBS:-524288}
IMG=${ANON_IMAGE:-64M}
RUNS=${ANON_RUNS:-1}
PM=$ROOT/bench/peakmem.py
export CAIRN_PASSPHRASE=anon CAIRN_KDF_MEMORY=16M CAIRN_NO_PROGRESS=1
rm -rf "$W"
mkdir -p "$W"

for repo in empty big; do
	"$CAIRN" init --repo "$W/$repo" --chunk-size 4K >/dev/null 2>&1
	mkdir -p "$W/state-$repo"
done
"$GENREPO" "$W/big" "$N" >/dev/null 2>&1

# backup REPO IMAGE: one measured backup; prints "wall rss anon"
backup() {
	head -c "$IMG" /dev/urandom >"$W/img"
	CAIRN_STATE_DIR=$W/state-$1 "$PM" -o "$W/pm" "$CAIRN" backup --repo "$W/$1" --name "$2" --snapshot none -q \
		"$W/img" >/dev/null
	cut -d' ' -f1-3 "$W/pm"
}

declare -A res
for run in $(seq 1 "$RUNS"); do
	for repo in empty big; do
		if [ "$run" = 1 ]; then
			res[$repo-cold]=$(backup "$repo" a)
		fi
		res[$repo-warm]+="$(backup "$repo" b$run)|"
	done
done

echo "| repository | backup | wall | peak RSS | peak anonymous |"
echo "|---|---|---:|---:|---:|"
for repo in empty big; do
	label=$([ $repo = empty ] && echo "empty" || echo "$N blobs")
	read -r w r a <<<"${res[$repo-cold]}"
	echo "| $label | first (cache built) | $w s | $r MiB | $a MiB |"
	IFS='|' read -ra warm <<<"${res[$repo-warm]}"
	for x in "${warm[@]}"; do
		read -r w r a <<<"$x"
		echo "| $label | cache warm | $w s | $r MiB | $a MiB |"
	done
done
echo
echo "binary: $CAIRN (sha256 $(sha256sum "$CAIRN" | cut -c1-12)...); image $IMG of random data, 4 KiB chunks"
rm -rf "$W"
