#!/bin/bash
# bench/files.sh - file-level access (issue [files]): what the file catalog
# costs a backup and how fast it lists.  Later parts of the issue
# (restore-file, mount) add their rows here.
#
# On bench/make_image.sh's 4 GiB ext4 image, into a local repository, RUNS
# times each (medians printed).  The incremental is base.img with whole
# files rewritten in place until at least 40 MiB (~1% of the image; 79 MiB
# in 159 files with seed 21) changed, and those files' mtimes changed:
# files picked (seed 21) from base.img's own catalog, their
# extents overwritten with random bytes (dd at the catalog's volume
# offsets), mtimes set with debugfs.  (make_image.sh's changed.img writes
# blocks at random, metadata too: its file system does not read back, so
# it has no catalog and would measure nothing.)
#   full backup of base.img with the catalog and with --no-catalog (wall
#     seconds; the catalog's own seconds from the manifest)
#   incremental backup of the changed copy after it: bytes stored, with
#     and without the catalog (and the catalog nodes it stored)
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
# The changed copy, once: files of base.img's catalog rewritten in place.
say "making the changed copy (1% of the bytes, inside files)"
"$CAIRN" init --repo "$W/prep" -q >/dev/null
"$CAIRN" backup --repo "$W/prep" "$IMG/base.img" --name vol --snapshot none -q >/dev/null
"$CAIRN" catalog --repo "$W/prep" latest / --recursive --json >"$W/base-catalog.json"
rm -rf "$W/prep" "$W/state"
cp --sparse=always "$IMG/base.img" "$W/changed.img"
python3 - "$W/base-catalog.json" "$W/changed.img" "$W/debugfs.cmds" <<'PYEOF'
import json, random, sys
cat, img, cmds = json.load(open(sys.argv[1])), sys.argv[2], open(sys.argv[3], "w")
r = random.Random(21)
files = sorted((e for e in cat if e["type"] == "file" and e["extents"] and " " not in e["path"]), key=lambda e: e["path"])
r.shuffle(files)
budget, done = 40 << 20, 0
with open(img, "r+b") as f:
    for e in files:
        if done >= budget:
            break
        for x in e["extents"]:
            n = min(x["length"], max(0, e["size"] - x["file_offset"]))
            f.seek(x["volume_offset"])
            f.write(r.randbytes(n))
            done += n
        cmds.write("sif %s mtime @1800000000\n" % e["path"])
print("rewrote %d bytes" % done, file=sys.stderr)
open(sys.argv[3] + ".bytes", "w").write("%d\n" % done)
PYEOF
debugfs -w -f "$W/debugfs.cmds" "$W/changed.img" >/dev/null 2>&1 || die "debugfs failed"
say "changed: $(wc -l <"$W/debugfs.cmds") files"

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
		"$CAIRN" backup --repo "$R" "$W/changed.img" --name vol --snapshot none --json "${flag[@]}" >"$W/incr.json"
		echo "$(echo "$t1 - $t0" | bc)" >>"$W/$mode.full_s"
		jq -r .bytes_stored "$W/incr.json" >>"$W/$mode.incr_bytes"
		jq -r .catalog_seconds "$W/full.json" >>"$W/$mode.cat_s"
		jq -r .catalog_nodes_new "$W/full.json" >>"$W/$mode.full_nodes"
		jq -r .catalog_nodes_new "$W/incr.json" >>"$W/$mode.incr_nodes"
		jq -r .catalog_bytes_new "$W/full.json" >>"$W/$mode.full_cbytes"
		if [ $mode = catalog ]; then
			id=$(jq -r .id "$W/full.json")
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
| full backup of the 4 GiB image, s | $fc | $fn | catalog pass $(median <"$W/catalog.cat_s") s = $(echo "scale=3; $(median <"$W/catalog.cat_s") * 100 / $fc" | bc) % (wall difference $(echo "scale=1; ($fc - $fn) * 100 / $fn" | bc) %: noise) | < 5 % |
| incremental ($(wc -l <"$W/debugfs.cmds") files, $(($(cat "$W/debugfs.cmds.bytes") >> 20)) MiB rewritten), bytes stored | $ic | $in | $(echo "scale=4; ($ic - $in) * 100 / $in" | bc) % | < 1 % |
| catalog nodes stored: full / incremental | $(median <"$W/catalog.full_nodes") / $(median <"$W/catalog.incr_nodes") | - | $(median <"$W/catalog.full_cbytes") plaintext bytes (full) | |
| catalog / --recursive, $(cat "$W/entries") entries, s | $(median <"$W/ls_s") (--json $(median <"$W/ls_json_s")) | - | - | < 0.5 s |
EOF
