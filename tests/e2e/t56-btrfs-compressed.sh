#!/bin/bash
# t56: btrfs files in compressed extents (format.h CATALOG, EXTENT bit 2;
# source/mntscan.c reads their EXTENT_DATA items, restore-file
# decompresses them, compress/fszip.c).  As root, btrfs images written
# through a loop mount with compress=zstd, compress=zlib and compress=lzo
# (btrfs's own framing of LZO1X, with liblzo2) hold compressible files of several sizes (8 KiB, an odd 70001 bytes,
# 200 KiB, 5 MiB), one with holes, one partly overwritten after it was
# written (extents that use a part of their decompressed bytes: offset
# != 0), a reflinked copy and an incompressible file: the backup has a
# catalog listing exactly the tree (find -printf), with compressed extents
# of the algorithm; restore-file gives the files back byte-identical
# (into a directory and on standard output), fetching only the chunks of
# the on-disk bytes; diff --files after one file changed names exactly
# it.  Built without liblzo2, lzo extents are listed and diffed, and
# restore-file refuses such a file with one line.  Damage:
# any byte of the repository's pack flipped gives an error or the right
# bytes, never wrong ones; a compressed extent damaged in the volume
# itself is one clear error.  Damaged records are test_catalog's and
# fuzz_catalog_node's; the decompressors' edge cases test_compress's.
. "$(dirname "$0")/lib.sh"

R=repo # in each test's directory
export CAIRN_NO_PROGRESS=1

# populate DIR: the tree, through the mount at DIR (synced between the
# steps, so that the overwrite lands in extents of their own).
populate()
{
	python3 - "$1" <<'EOF'
import os, random, sys
d = sys.argv[1]
r = random.Random(56)
def text(n):
    out, i, have = [], 0, 0
    while have < n:
        out.append(b"line %d of compressible text, word %d\n" % (i, r.randrange(1000)))
        have += len(out[-1])
        i += 1
    return b"".join(out)[:n]
def put(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
os.makedirs(os.path.join(d, "sub dir"))
put("f8k", text(8192))
put("odd", text(70001))
put("f200k", text(200 << 10))
put("sub dir/f5m", text(5 << 20))
put("random", r.randbytes(300 << 10))
# Holes: 64 KiB of text, nothing up to 700 KiB, 100 KiB, nothing up to 2 MiB.
with open(os.path.join(d, "holey"), "wb") as f:
    f.write(text(64 << 10))
    f.seek(700 << 10)
    f.write(text(100 << 10))
    f.truncate(2 << 20)
put("overwritten", text(512 << 10))
EOF
	sync
	# Over the middle of the first compressed extent: the file keeps its
	# head and tail, each a part (offset != 0 for the tail).
	python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(100 << 10)
    f.write(b"overwritten later, " * 431)' "$1/overwritten"
	cp --reflink=always "$1/f200k" "$1/f200k.clone" || fail "cp --reflink=always failed on btrfs"
	sync
	find "$1" -mindepth 1 -exec touch -h -d @1700000000 {} +
}

# mkimg IMAGE ALGORITHM: a btrfs image populated through a loop mount with
# compress=ALGORITHM, unmounted again; or the test skips.
mkimg()
{
	[ "$(id -u)" = 0 ] || skip "needs root for loop devices and mounts"
	command -v mkfs.btrfs >/dev/null || skip "mkfs.btrfs is not installed"
	truncate -s 300M "$1"
	mkfs.btrfs -q -f "$1" >/dev/null 2>&1 || skip "mkfs.btrfs failed"
	mkdir -p "$TT/m"
	mount -o "loop,compress=$2" "$1" "$TT/m" 2>/dev/null || skip "the kernel cannot mount btrfs with compress=$2"
	populate "$TT/m"
	umount "$TT/m"
}

# backup_catalog IMAGE: a new repository's backup of IMAGE, which must
# have a catalog; its id in $ID, its listing in cat.json.
backup_catalog()
{
	new_repo "$R"
	expect_ok cairn backup --repo "$R" --json "$1"
	[ "$(jq -r .catalog "$TT/.out")" = true ] || fail "no catalog: $(jq -r .catalog_reason "$TT/.out")"
	ID=$(jq -r .id "$TT/.out")
	expect_ok cairn catalog --repo "$R" "$ID" / --recursive --json
	cp "$TT/.out" cat.json
	! grep -q cairn-catalog /proc/mounts || fail "a catalog mount was left in the host's mount table"
}

# check_extents ALGORITHM: what the catalog says of the compressed files.
check_extents()
{
	local a=$1
	# Every compressible file past 4 KiB is in compressed extents of a,
	# each within the bounds of what it decompresses to.
	for f in /f8k /odd /f200k "/sub dir/f5m" /overwritten /f200k.clone; do
		jq -e --arg p "$f" --arg a "$a" '.[] | select(.path == $p) | (.extents | length) >= 1 and
			any(.extents[]; .compression == $a) and all(.extents[] | select(.compression != null);
			.disk_length >= 1 and .disk_length <= .ram_length and .ram_length <= 131072 and
			.data_offset + .length <= .ram_length)' cat.json >/dev/null ||
			fail "$f: not in $a-compressed extents: $(jq -c --arg p "$f" '.[] | select(.path == $p) | .extents[:3]' cat.json)"
	done
	# The partly overwritten file uses the tail of an extent.
	jq -e '.[] | select(.path == "/overwritten") | any(.extents[]; .compression != null and .data_offset > 0)' \
		cat.json >/dev/null || fail "/overwritten has no extent with a data offset: $(jq -c \
		'.[] | select(.path == "/overwritten") | .extents' cat.json)"
	# The copy shares the original's compressed extents.
	[ "$(jq -c '[.[] | select(.path == "/f200k" or .path == "/f200k.clone") | .extents | map(del(.shared))] |
		.[0] == .[1]' cat.json)" = true ] || fail "the reflinked copy's extents differ from the original's"
	jq -e '.[] | select(.path == "/f200k.clone") | all(.extents[]; .shared)' cat.json >/dev/null ||
		fail "the reflinked copy's extents are not marked shared"
	# Holes stay holes.
	jq -e '.[] | select(.path == "/holey") | .size == 2097152 and ([.extents[].length] | add) < 262144' \
		cat.json >/dev/null || fail "/holey's extents cover its holes"
}

# restored_same: restore-file of the whole tree into a directory and of
# single files on standard output give the bytes of the file system
# (mounted at $TT/m).
restored_same()
{
	expect_ok cairn restore-file --repo "$R" "$ID" / "$TT/out"
	diff -r --no-dereference "$TT/m" "$TT/out" || fail "restore-file differs from the file system"
	for f in holey overwritten odd f200k.clone; do
		cairn restore-file --repo "$R" "$ID" "/$f" - >one 2>"$TT/.err" || fail "restore-file /$f - failed: $(cat "$TT/.err")"
		cmp one "$TT/m/$f" || fail "/$f on standard output differs"
	done
	# Only the chunks of the on-disk (compressed) bytes are fetched: at
	# most those the extents touch, far fewer than 5 MiB would be.
	expect_ok cairn restore-file --repo "$R" --json "$ID" "/sub dir/f5m" "$TT/five"
	cmp "$TT/five/f5m" "$TT/m/sub dir/f5m" || fail "/sub dir/f5m differs"
	local fetched touched
	fetched=$(jget "$TT/.out" .chunks_fetched)
	touched=$(jq '[.[] | select(.path == "/sub dir/f5m") | .extents[] |
		range(.volume_offset / 65536 | floor; (.volume_offset + .disk_length - 1) / 65536 | floor + 1)] |
		unique | length' cat.json)
	[ "$fetched" -ge 1 ] && [ "$fetched" -le "$touched" ] && [ "$touched" -lt 80 ] ||
		fail "restoring /sub dir/f5m fetched $fetched chunks; its compressed extents touch $touched"
}

roundtrip()
{
	local a=$1 img=$TT/vol.img
	mkimg "$img" "$a"
	backup_catalog "$img"
	mount -o loop,ro "$img" "$TT/m"
	register_cleanup mount "$TT/m"
	same_tree "$TT/m" cat.json / 9
	check_extents "$a"
	restored_same
	umount "$TT/m"
	diff_changed "$img" "$a"
	# And the change restores.
	mount -o loop,ro "$img" "$TT/m"
	expect_ok cairn restore-file --repo "$R" "$ID2" "/sub dir/f5m" "$TT/two"
	cmp "$TT/two/f5m" "$TT/m/sub dir/f5m" || fail "the changed /sub dir/f5m differs"
	umount "$TT/m"
}

# diff_changed IMAGE ALGORITHM: one file changed through the file system
# and backed up again (id in $ID2): diff --files names it alone as
# modified (files whose on-disk bytes share a chunk with its new ones may
# be named as maybe, '?').
diff_changed()
{
	local img=$1 a=$2
	mount -o "loop,compress=$a" "$img" "$TT/m"
	python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(50000)
    f.write(b"a change in the middle")' "$TT/m/sub dir/f5m"
	umount "$TT/m"
	expect_ok cairn backup --repo "$R" -q "$img"
	ID2=$(cat "$TT/.out")
	expect_ok cairn diff --repo "$R" --files "$ID" "$ID2"
	[ "$(grep -c '^M' "$TT/.out")" = 1 ] && grep -qx "M	/sub dir/f5m" "$TT/.out" ||
		fail "diff --files names other files as modified: $(tr '\n' '|' <"$TT/.out")"
	! grep -q '^[AD]' "$TT/.out" || fail "diff --files adds or removes files: $(tr '\n' '|' <"$TT/.out")"
}

t_zstd() { roundtrip zstd; }
t_zlib() { roundtrip zlib; }

# lzo: with liblzo2 as zstd and zlib; without it a plain file restores and
# an lzo one is refused with one line, nothing of it left.
t_lzo()
{
	local img=$TT/vol.img rc=0
	mkimg "$img" lzo
	backup_catalog "$img"
	mount -o loop,ro "$img" "$TT/m"
	register_cleanup mount "$TT/m"
	same_tree "$TT/m" cat.json / 9
	check_extents lzo
	cairn restore-file --repo "$R" "$ID" /f200k "$TT/out2" >/dev/null 2>"$TT/.err" || rc=$?
	if [ $rc = 0 ]; then
		cmp "$TT/out2/f200k" "$TT/m/f200k" || fail "/f200k differs"
		restored_same
	else
		[ "$(wc -l <"$TT/.err")" = 1 ] && grep -q "f200k.*lzo.*liblzo2" "$TT/.err" ||
			fail "restore-file of an lzo file: $(tr '\n' '|' <"$TT/.err")"
		[ -z "$(ls -A "$TT/out2" 2>/dev/null)" ] || fail "a refused restore-file left $(ls -A "$TT/out2")"
		expect_ok cairn restore-file --repo "$R" "$ID" /random "$TT/out"
		cmp "$TT/out/random" "$TT/m/random" || fail "/random differs"
	fi
	umount "$TT/m"
	diff_changed "$img" lzo
}

# 40 bytes spread over the pack flipped in turn (a copy of the repository
# each time): restore-file of the compressed files either fails with one line,
# leaving no file but whole ones written before, or gives their exact
# bytes; some flips hit their chunks.
t_damaged_chunk()
{
	local img=$TT/vol.img pack size off n=0 failed=0
	mkimg "$img" zstd
	backup_catalog "$img"
	mount -o loop,ro "$img" "$TT/m"
	register_cleanup mount "$TT/m"
	[ "$(npacks "$R")" = 1 ] || fail "expected one pack, found $(npacks "$R")"
	size=$(stat -c %s "$(find "$R/packs" -type f)")
	for off in $(seq 100 $((size / 40)) $((size - 200))); do
		rm -rf d out && cp -a "$R" d
		pack=$(find d/packs -type f)
		flip_byte "$pack" "$off"
		n=$((n + 1))
		if cairn restore-file --repo d "$ID" /f200k /overwritten "/sub dir/f5m" out >/dev/null 2>err; then
			cmp -s out/f200k "$TT/m/f200k" && cmp -s out/overwritten "$TT/m/overwritten" &&
				cmp -s out/f5m "$TT/m/sub dir/f5m" ||
				fail "pack byte $off flipped: restore-file wrote wrong bytes without an error"
		else
			[ "$(wc -l <err)" = 1 ] || fail "pack byte $off flipped: $(wc -l <err) lines on stderr: $(tr '\n' '|' <err)"
			# Files written before the error are whole; none is half-written.
			for f in $(ls -A out 2>/dev/null); do
				case $f in
				f200k | overwritten) cmp -s "out/$f" "$TT/m/$f" ;;
				f5m) cmp -s out/f5m "$TT/m/sub dir/f5m" ;;
				*) false ;;
				esac || fail "pack byte $off flipped: a failed restore-file left '$f', not the file's bytes"
			done
			grep -q "catalog" err || failed=$((failed + 1))
		fi
	done
	echo "# $n flips, $failed failed reading the files' chunks"
	[ "$failed" -ge 2 ] || fail "only $failed of $n flips hit the compressed files' chunks"
	umount "$TT/m"
}

# The volume's own bytes damaged under a compressed extent (the first
# byte of the zstd frame or zlib stream, its magic or header): backed up
# as they are, and restore-file says the extent does not decompress.
damaged_volume()
{
	local a=$1 img=$TT/vol.img off
	mkimg "$img" "$a"
	backup_catalog "$img"
	off=$(jq '.[] | select(.path == "/f200k") | .extents[0].volume_offset' cat.json)
	flip_byte "$img" "$off"
	expect_ok cairn backup --repo "$R" -q "$img"
	local id2
	id2=$(cat "$TT/.out")
	expect_fail -m "/f200k.*$a-compressed extent does not decompress" \
		cairn restore-file --repo "$R" "$id2" /f200k "$TT/out"
	[ -z "$(ls -A "$TT/out" 2>/dev/null)" ] || fail "a failed restore-file left $(ls -A "$TT/out")"
	expect_fail -m "does not decompress" cairn restore-file --repo "$R" "$id2" /f200k -
	# The rest of the volume still restores.
	expect_ok cairn restore-file --repo "$R" "$id2" /odd "$TT/out3"
}
t_damaged_zstd() { damaged_volume zstd; }
t_damaged_zlib() { damaged_volume zlib; }

test_case "btrfs compress=zstd: catalog, restore-file (directory, stdout, only the on-disk chunks), diff --files" t_zstd
test_case "btrfs compress=zlib: catalog, restore-file (directory, stdout, only the on-disk chunks), diff --files" t_zlib
test_case "btrfs compress=lzo: catalog, diff --files; restore-file as zstd with liblzo2, else one line" t_lzo
test_case "a flipped pack byte under compressed extents: an error or the right bytes, never wrong ones" t_damaged_chunk
test_case "a zstd extent damaged in the volume: restore-file says it does not decompress" t_damaged_zstd
test_case "a zlib extent damaged in the volume: restore-file says it does not decompress" t_damaged_zlib
test_done
