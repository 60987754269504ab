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
