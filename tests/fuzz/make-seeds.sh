#!/bin/sh
# Writes the seed corpora of the fuzz targets: OUTDIR/<target>/<seed>.
# Usage: tests/fuzz/make-seeds.sh BUILD_DIR [OUTDIR]
# (default OUTDIR: BUILD_DIR/tests/fuzz/seeds).  The seeds come from the
# real encoders (make_seeds.c), so they follow the format as it changes.
set -eu
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 BUILD_DIR [OUTDIR]" >&2
	exit 2
fi
build=$1
out=${2:-$build/tests/fuzz/seeds}
gen=$build/tests/fuzz/fuzz_make_seeds
if [ ! -x "$gen" ]; then
	echo "$0: $gen not built (make fuzz)" >&2
	exit 1
fi
rm -rf "$out"
mkdir -p "$out"
"$gen" "$out"
# Seeds of the text parsers (S3 replies) are kept as files; each gets every
# parser selector byte in front (fuzz_s3_xml's first byte picks the parser).
static=$(cd "$(dirname "$0")" && pwd)/static-seeds
for d in "$static"/*/; do
	[ -d "$d" ] || continue
	t=$(basename "$d")
	mkdir -p "$out/$t"
	# (Targets without a selector byte take their seeds as they are.)
	sels="0 1 2 3 4 5 6"
	[ "$t" = fuzz_catalog_node ] && sels=""
	for f in "$d"*; do
		[ -n "$sels" ] || cp "$f" "$out/$t/"
		for sel in $sels; do
			{ printf "\\$(printf '%03o' "$sel")"; cat "$f"; } >"$out/$t/$sel-$(basename "$f")"
		done
	done
done
