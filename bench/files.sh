#!/bin/bash
# bench/files.sh - file-level access (issue [files]): what the file catalog
# costs a backup and how fast it lists.  Later parts of the issue
# (restore-file, mount) add their rows here.
#
# On bench/make_image.sh's 4 GiB ext4 image (base.img, then changed.img
# with ~1% of its blocks rewritten), into a local repository, RUNS times
# each (medians printed):
#   full backup of base.img with the catalog and with --no-catalog (wall
#     seconds; the catalog's own seconds from the manifest)
#   incremental backup of changed.img after it: bytes stored, with and
#     without the catalog (and the catalog nodes it stored)
#   cairn catalog BACKUP / --recursive of the whole tree (plain and --json,
#     to /dev/null), wall seconds
# Targets (issue [files]): the catalog adds < 5% to a full backup's time
# and < 1% to an incremental's stored bytes; catalog --recursive < 0.5 s.
# The page cache is left warm (no drop_caches): both variants read the
# same cached image, so the difference is the catalog's CPU and I/O.
#
# Environment:
#   BENCH_DIR   default /var/tmp/cairn-bench (the image: BENCH_DIR/img)
#   RUNS        default 3
#   CAIRN       cairn binary, default build/cairn
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/cairn-bench}
RUNS=${RUNS:-3}
CAIRN=${CAIRN:-$ROOT/build/cairn}
die() { echo "bench/files: $*" >&2; exit 1; }
say() { echo "bench/files: $*" >&2; }
[ -x "$CAIRN" ] || die "no cairn binary at $CAIRN (make)"
IMG=$BENCH_DIR/img
if [ ! -f "$IMG/SHA256SUMS" ]; then
	say "building the benchmark image in $IMG (a few minutes)"
	"$ROOT/bench/make_image.sh" "$IMG" >"$BENCH_DIR/make_image.log" 2>&1 || die "make_image.sh failed"
fi
W=$BENCH_DIR/files
rm -rf "$W"
mkdir -p "$W"
trap 'rm -rf "$W"' EXIT
export CAIRN_PASSPHRASE=cairn-bench-passphrase CAIRN_STATE_DIR=$W/state CAIRN_NO_PROGRESS=1
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
now() { date +%s.%N; }

for run in $(seq 1 "$RUNS"); do
	for mode in catalog nocatalog; do
		R=$W/repo-$mode
		rm -rf "$R" "$W/state"
		"$CAIRN" init --repo "$R" -q >/dev/null
		flag=()
		[ $mode = catalog ] || flag=(--no-catalog)
		t0=$(now)
		"$CAIRN" backup --repo "$R" "$IMG/base.img" --name vol --snapshot none --json "${flag[@]}" >"$W/full.json"
		t1=$(now)
		"$CAIRN" backup --repo "$R" "$IMG/changed.img" --name vol --snapshot none --json "${flag[@]}" >"$W/incr.json"
		echo "$(echo "$t1 - $t0" | bc)" >>"$W/$mode.full_s"
		jq -r .bytes_stored "$W/incr.json" >>"$W/$mode.incr_bytes"
		jq -r .catalog_seconds "$W/full.json" >>"$W/$mode.cat_s"
		jq -r .catalog_nodes_new "$W/full.json" >>"$W/$mode.full_nodes"
		jq -r .catalog_nodes_new "$W/incr.json" >>"$W/$mode.incr_nodes"
		jq -r .catalog_bytes_new "$W/full.json" >>"$W/$mode.full_cbytes"
		if [ $mode = catalog ]; then
			id=$(jq -r .id "$W/incr.json")
			t0=$(now)
			"$CAIRN" catalog --repo "$R" "$id" / --recursive >/dev/null
			t1=$(now)
			"$CAIRN" catalog --repo "$R" "$id" / --recursive --json >"$W/cat.json"
			t2=$(now)
			echo "$(echo "$t1 - $t0" | bc)" >>"$W/ls_s"
			echo "$(echo "$t2 - $t1" | bc)" >>"$W/ls_json_s"
			jq length "$W/cat.json" >"$W/entries"
		fi
		say "run $run $mode: full $(tail -n1 "$W/$mode.full_s") s, incremental stored $(tail -n1 "$W/$mode.incr_bytes") bytes"
	done
done

fc=$(median <"$W/catalog.full_s")
fn=$(median <"$W/nocatalog.full_s")
ic=$(median <"$W/catalog.incr_bytes")
in=$(median <"$W/nocatalog.incr_bytes")
cat <<EOF
## File catalog cost (bench/files.sh, $RUNS runs, medians; $(nproc) cores, warm page cache)

| measure | with catalog | --no-catalog | catalog's share | target |
| --- | --- | --- | --- | --- |
| full backup of the 4 GiB image, s | $fc | $fn | $(echo "scale=4; ($fc - $fn) * 100 / $fn" | bc) % (catalog pass $(median <"$W/catalog.cat_s") s) | < 5 % |
| incremental (1% changed), bytes stored | $ic | $in | $(echo "scale=4; ($ic - $in) * 100 / $in" | bc) % | < 1 % |
| catalog nodes stored: full / incremental | $(median <"$W/catalog.full_nodes") / $(median <"$W/catalog.incr_nodes") | - | $(median <"$W/catalog.full_cbytes") plaintext bytes (full) | |
| catalog / --recursive, $(cat "$W/entries") entries, s | $(median <"$W/ls_s") (--json $(median <"$W/ls_json_s")) | - | - | < 0.5 s |
EOF
