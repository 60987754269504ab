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

# The copy to an unrelated repository rebuilds the tree from the source's
# (re-chunk-id'd): a hole stays a zero subtree pushed as one run, a
# subtree the parent's copy has is reused whole, so memory follows tree
# depth and data, not apparent size (issue 18).
t_copy_unrelated()
{
	R=$TT/repo
	local u=$TT/u img=$TT/copy.img id n=0
	export CAIRN_TO_PASSPHRASE='destination passphrase (e2e)' CAIRN_FROM_PASSPHRASE=$CAIRN_PASSPHRASE
	new_repo "$R"
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE new_repo "$u" --compression lz4
	truncate -s $((1 << 40)) "$img"
	put "$img" $((5 << 30)) $((1 << 20)) 13
	put "$img" $(((700 << 30) + 4321)) 100000 14
	cairn backup --repo "$R" --name c --snapshot none "$img" -q >id1
	measured copy --repo "$R" "$(cat id1)" --to "$u" --no-holds --json >c1.json
	bounded $((8 << 20))
	# Changed; grown to 2 TiB (a tree level more), then shrunk back: the
	# parent's tree shorter, then taller than the copied one's.
	put "$img" $(((5 << 30) + 4096)) 70000 15
	cairn backup --repo "$R" --name c --snapshot none "$img" -q >/dev/null
	truncate -s $((2 << 40)) "$img"
	put "$img" $(((2 << 40) - 5000)) 5000 16
	cairn backup --repo "$R" --name c --snapshot none "$img" -q >/dev/null
	truncate -s $((1 << 40)) "$img"
	put "$img" $((100 << 30)) 3000 17
	cairn backup --repo "$R" --name c --snapshot none "$img" -q >/dev/null
	# Incremental: of the source only the changed chunks and the nodes
	# above them are read, the parents' copies' other subtrees taken whole.
	measured copy --repo "$R" --all --to "$u" --no-holds --json >c.json
	bounded $((1 << 20))
	[ "$(jget c.json .backups_copied)" = 3 ] || fail "copied $(jget c.json .backups_copied) backups, expected 3"
	[ "$(jget c.json .bytes_sent)" -lt $((8 << 20)) ] ||
		fail "the copy of 1.2 MiB of data sent $(jget c.json .bytes_sent) bytes"
	for id in $(cairn list --repo "$R" --json | jq -r '.[].id'); do
		rm -f s.img d.img
		cairn restore --repo "$R" "$id" s.img -q
		CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn restore --repo "$u" "$id" d.img -q
		same_sparse s.img d.img
		n=$((n + 1))
	done
	[ "$n" = 4 ] || fail "$n backups restored, expected 4"
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn check --repo "$u" --read-data
}
test_case "copy of a 1 TiB sparse image to an unrelated repository: under 100 MiB, restores identical" t_copy_unrelated

# diff --files looks chunk ids up among the data chunks only: two backups
# of a 1 TiB ext4 image (64 KiB chunks: 2^24 of them, 512 MiB of ids a
# side when every chunk had one) name exactly the changed files.
t_diff_files()
{
	R=$TT/repo
	local img=$TT/fs.img src=$TT/src
	command -v mkfs.ext4 >/dev/null && command -v debugfs >/dev/null || skip "mkfs.ext4 or debugfs is missing"
	new_repo "$R"
	mkdir -p "$src"
	head -c 300000 /dev/urandom >"$src/a.bin"
	head -c 50000 /dev/urandom >"$src/b.bin"
	truncate -s $((1 << 40)) "$img"
	mkfs.ext4 -q -F -b 4096 -N 256 -E lazy_itable_init=1,lazy_journal_init=1 -d "$src" "$img" >/dev/null ||
		skip "mkfs.ext4 of a 1 TiB image failed"
	cairn backup --repo "$R" --name fs --snapshot none "$img" -q >id1
	head -c 100000 /dev/urandom >c.bin
	printf 'rm /a.bin\nwrite c.bin /a.bin\nwrite c.bin /new.bin\n' >cmds
	debugfs -w -f cmds "$img" >/dev/null 2>&1 || fail "debugfs failed"
	cairn backup --repo "$R" --name fs --snapshot none "$img" -q >id2
	measured diff --repo "$R" --files --every-file "$(cat id1)" "$(cat id2)" >got
	bounded $((32 << 20)) # the trees' nodes over ext4's metadata and the catalogs
	printf 'A\t/new.bin\nM\t/a.bin\n' | diff - <(grep -v '^?' got | sort) || fail "diff --files named other files"
	# 256 MiB of address space is enough (an id per chunk took 1 GiB);
	# ASan reserves terabytes of it, so there only the RSS above counts.
	if [ "${E2E_SMALL:-0}" != 1 ]; then
		(ulimit -v $((256 << 10)) && "$CAIRN" diff --repo "$R" --files "$(cat id1)" "$(cat id2)" >got2 2>err2) ||
			fail "diff --files in 256 MiB of address space: $(cat err2)"
		printf 'A\t/new.bin\nM\t/a.bin\n' | diff - <(grep -v '^?' got2 | sort) ||
			fail "diff --files in 256 MiB named other files"
	fi
}
test_case "diff --files of two backups of a 1 TiB ext4 image: exactly the changed files, memory for the data" t_diff_files

test_done
