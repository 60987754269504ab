#!/bin/bash
# t50: sparse images.  A backup hands each hole to the tree and the
# change-tag cache as one run (docs/design.md §12, issue 18): images with
# holes at the start, in the middle and at the end, not aligned to the
# chunk size, an image that is all hole and one of 16 TiB apparent size
# back up, back up again with nothing changed, and restore byte-identical
# with their holes kept (the restored file's data lies within the chunks
# of the image's data, by SEEK_DATA); a hole that became data and data
# that became a hole between two backups restore too.
. "$(dirname "$0")/lib.sh"

CS=$((64 << 10))

# data_map FILE: the file's data extents (SEEK_DATA/SEEK_HOLE), "start end"
# a line.
data_map()
{
	python3 "$E2E_DIR/same_sparse.py" --map "$1"
}

# same_sparse A B: equal, reading only where either holds data, and B's
# data within the chunks of A's (restore wrote no hole out).
same_sparse()
{
	local d
	d=$(python3 "$E2E_DIR/same_sparse.py" "$1" "$2" "$CS" 2>&1) || fail "$2 differs from $1: $d"
}

# put FILE OFFSET LEN SEED: LEN random bytes at OFFSET, the rest untouched.
put()
{
	python3 - "$@" <<'EOF'
import os, random, sys
path, off, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
fd = os.open(path, os.O_WRONLY)
os.pwrite(fd, random.Random(seed).randbytes(n), off)
os.close(fd)
EOF
}

# round_trip IMAGE DATA: full backup, a no-change incremental (nothing read from a
# hole: it reads at most DATA bytes), both restore identical and sparse.
round_trip()
{
	local img=$1 data=$2 id1 id2
	cairn backup --repo "$R" --name "$(basename "$img")" --snapshot none "$img" --json >b1.json
	cairn backup --repo "$R" --name "$(basename "$img")" --snapshot none "$img" --json >b2.json
	id1=$(jget b1.json .id)
	id2=$(jget b2.json .id)
	[ "$(jget b2.json .bytes_new)" = 0 ] || fail "the no-change incremental stored $(jget b2.json .bytes_new) bytes"
	[ "$(jget b2.json .bytes_read)" -le "$data" ] ||
		fail "the incremental read $(jget b2.json .bytes_read) bytes of $data of data chunks"
	for id in "$id1" "$id2"; do
		rm -f r.img
		cairn restore --repo "$R" "$id" r.img
		same_sparse "$img" r.img
	done
	cairn diff --repo "$R" "$id1" "$id2" >diff.txt 2>&1
	grep -qx "0 B changed between ${id1:0:12} and ${id2:0:12}" diff.txt || fail "the two backups differ: $(cat diff.txt)"
}

t_holes_unaligned()
{
	R=$TT/repo
	new_repo "$R"
	local img=$TT/holes.img size=$(((4 << 30) + 5000))
	truncate -s "$size" "$img"
	put "$img" 0 4000 1                              # data at the start, ends mid-chunk
	put "$img" $(((1 << 30) + 12345)) 200000 2       # in the middle, neither end aligned
	put "$img" $(((2 << 30) - 100)) 300 3            # across a chunk boundary
	put "$img" $((size - 70000)) 70000 4             # at the end, the last chunk partial
	data_map "$img" >&2
	round_trip "$img" $((10 * CS))
	# Holes at the start and the end instead.
	local img2=$TT/middle.img
	truncate -s $(((3 << 30) + 1)) "$img2"
	put "$img2" $(((1 << 30) + 7)) 100000 5
	round_trip "$img2" $((3 * CS))
}
test_case "holes at the start, middle and end, not chunk-aligned: backup, no-change incremental, restore identical and sparse" t_holes_unaligned

t_all_hole()
{
	R=$TT/repo
	new_repo "$R"
	local img=$TT/empty.img
	truncate -s $((1 << 40)) "$img"
	round_trip "$img" 0
	[ -z "$(data_map r.img)" ] || fail "the restore of an all-hole image holds data: $(data_map r.img | head -3)"
	[ "$(allocated_bytes r.img)" -lt $((1 << 20)) ] || fail "r.img occupies $(allocated_bytes r.img) bytes"
}
test_case "an image that is all hole (1 TiB) restores as one hole" t_all_hole

t_16t()
{
	R=$TT/repo
	new_repo "$R"
	local img=$TT/big.img size=$((16 << 40))
	# ext4 caps a file at 16 TiB - 4 KiB: then 1 MiB less, and one byte
	# less again, so that the last chunk is partial.
	truncate -s "$size" "$img" 2>/dev/null || size=$(((16 << 40) - (1 << 20) - 1))
	truncate -s "$size" "$img" 2>/dev/null || skip "this file system refuses a file of $size bytes"
	put "$img" $((3 << 40)) $((1 << 20)) 6
	put "$img" $(((9 << 40) + 33)) 5000 7
	put "$img" $((size - 1000)) 1000 8
	round_trip "$img" $((20 * CS))
	[ "$(allocated_bytes r.img)" -lt $((8 << 20)) ] || fail "r.img occupies $(allocated_bytes r.img) bytes"
}
test_case "a 16 TiB sparse image: backup, no-change incremental and restore cost what its data costs" t_16t

t_hole_moves()
{
	R=$TT/repo
	new_repo "$R"
	local img=$TT/moves.img
	truncate -s $((8 << 30)) "$img"
	put "$img" $((1 << 30)) $((4 << 20)) 9
	put "$img" $((5 << 30)) $((1 << 20)) 10
	cairn backup --repo "$R" --name m --snapshot none "$img" -q >/dev/null
	# Data becomes a hole (punched), a hole becomes data: the parent's
	# change tags there are stepped over, not reused.
	fallocate -p -o $((1 << 30)) -l $((2 << 20)) "$img"
	put "$img" $((3 << 30)) $((1 << 20)) 11
	cairn backup --repo "$R" --name m --snapshot none "$img" --json >b.json
	[ "$(jget b.json .bytes_new)" = $((1 << 20)) ] || fail "stored $(jget b.json .bytes_new) new bytes, expected 1 MiB"
	cairn restore --repo "$R" "$(jget b.json .id)" r.img
	same_sparse "$img" r.img
	# And back again: the punched range holds data again.
	put "$img" $((1 << 30)) $((2 << 20)) 12
	cairn backup --repo "$R" --name m --snapshot none "$img" --json >c.json
	rm -f r.img
	cairn restore --repo "$R" "$(jget c.json .id)" r.img
	same_sparse "$img" r.img
}
test_case "a hole that became data and data that became a hole between backups restore identical" t_hole_moves

test_done
