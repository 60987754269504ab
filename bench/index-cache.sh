#!/bin/bash
# The local index cache at scale (repo/idxcache.h): RSS and wall time of a
# backup of a 64 MiB random image, of its restore, and of `list`, in a
# 4 KiB-chunk repository holding N synthetic blobs (bench/gen_index.c),
# with the index loaded whole into RAM (CAIRN_NO_INDEX_CACHE=1, as before
# the cache) and through the cache (first run: builds it; second: uses it).
#     bench/index-cache.sh BUILD_DIR N [N...]
set -eu
build=${1:?usage: $0 BUILD_DIR N [N...]}
shift
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/cairn-idxbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cc -O2 -I"$here/src" -I"$here/include" -I"$build" "$here/bench/gen_index.c" "$build/libcairn.a" \
	-lcrypto -lzstd -llz4 -ljansson -lsqlite3 -lblkid -lm -lpthread -ldl -o "$work/gen_index"
export CAIRN_PASSPHRASE=bench CAIRN_NO_PROGRESS=1
cairn=$build/cairn
head -c 64M /dev/urandom >"$work/img"

# run LABEL CMD...: prints "LABEL  max RSS MiB  wall s"
run()
{
	local label=$1
	shift
	/usr/bin/time -f '%M %e' -o "$work/t" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
	read -r kb s <"$work/t"
	printf '%-34s %8.1f MiB %7.2f s\n' "$label" "$(echo "$kb / 1024" | bc -l)" "$s"
}

# change: rewrites 1% of the image (10 runs of 64 KiB).
change()
{
	for i in 0 1 2 3 4 5 6 7 8 9; do
		dd if=/dev/urandom of="$work/img" bs=64K count=1 seek=$((RANDOM % 1024)) conv=notrunc status=none
	done
}

for n in "$@"; do
	R=$work/repo-$n
	export CAIRN_STATE_DIR=$work/state-$n
	"$cairn" init --repo "$R" --chunk-size 4K --kdf-memory 16M >/dev/null
	[ "$n" -gt 0 ] && "$work/gen_index" "$R" "$n" >/dev/null
	echo "== $n synthetic blobs ($(ls "$R/index" | wc -l) index objects)"
	CAIRN_NO_INDEX_CACHE=1 "$cairn" backup --repo "$R" --name v "$work/img" >/dev/null 2>&1
	change
	run "backup 1% changed, index in RAM" env CAIRN_NO_INDEX_CACHE=1 "$cairn" backup --repo "$R" --name v "$work/img"
	change
	run "backup 1% changed, cache built" "$cairn" backup --repo "$R" --name v "$work/img"
	change
	run "backup 1% changed, cache used" "$cairn" backup --repo "$R" --name v "$work/img"
	run "restore, whole index in RAM" env CAIRN_NO_INDEX_CACHE=1 "$cairn" restore --repo "$R" v@latest "$work/out" --force
	run "restore, cache used" "$cairn" restore --repo "$R" v@latest "$work/out" --force
	run "list" "$cairn" list --repo "$R"
	echo "cache file: $(du -m "$CAIRN_STATE_DIR"/cache/*/index | cut -f1) MiB"
	rm -rf "$R" "$CAIRN_STATE_DIR" "$work/out"
done
