#!/bin/bash
# t39: restore-file and diff --files.  An ext4 image made by mkfs.ext4 -d
# from a tree made here (nested directories, a sparse 1 GiB file, symlinks,
# hard links, names with spaces, newlines and UTF-8, a FIFO, a few hundred
# small files) is backed up; single files, trees and the whole file system
# come back byte-identical with modes, times, links and holes; a small
# file fetches few chunks; '-' streams a file or a tar; traversal (a
# symlink planted in DEST, '..') and overwriting are refused in one line
# with nothing written outside DEST; a damaged chunk leaves no file; diff
# --files after changing three files, adding one and removing one names
# exactly those.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
SRC=$TD/src
IMG=$TD/vol.img
NL=$'\n'

# fstree DIR: one line per entry (path, type, mode, size, mtime in seconds,
# link target), lost+found left out; what restore-file must keep.
fstree()
{
	(cd "$1" && find . -mindepth 1 ! -path './lost+found*' ! -name suid -printf '%p|%y|%m|%s|%TY%Tm%Td%TH%TM%TS|%l\n' |
		sed 's/\.[0-9]*|/|/' | sort)
}

t_setup()
{
	mkdir -p "$SRC/d1/d2/d3" "$SRC/many" "$SRC/with space" "$SRC/ütf-8 ñame"
	rand_file "$SRC/d1/small.txt" 1000 1
	rand_file "$SRC/d1/d2/mid.bin" 300000 2
	rand_file "$SRC/d1/d2/d3/deep.bin" 70000 3
	rand_file "$SRC/with space/a file" 5000 4
	rand_file "$SRC/ütf-8 ñame/ünï.bin" 4096 5
	printf 'newline\n' >"$SRC/d1/new${NL}line"
	for i in $(seq 1 300); do echo "small file $i" >"$SRC/many/f$i"; done
	# 1 GiB, sparse: data at the start, in the middle and at the end.
	rand_file "$SRC/sparse.part" 65536 6
	dd if="$SRC/sparse.part" of="$SRC/sparse.img" bs=64k conv=notrunc status=none
	dd if="$SRC/sparse.part" of="$SRC/sparse.img" bs=64k seek=8000 conv=notrunc status=none
	truncate -s 1G "$SRC/sparse.img"
	dd if="$SRC/sparse.part" of="$SRC/sparse.img" bs=64k seek=16383 conv=notrunc status=none
	rm "$SRC/sparse.part"
	ln -s d1/small.txt "$SRC/rel-link"
	ln -s /etc/passwd "$SRC/abs-link"
	ln -s does/not/exist "$SRC/d1/dangling"
	ln "$SRC/d1/d2/mid.bin" "$SRC/d1/hard1"
	ln "$SRC/d1/d2/mid.bin" "$SRC/many/hard2"
	mkfifo "$SRC/d1/fifo"
	chmod 0600 "$SRC/d1/small.txt"
	chmod 0444 "$SRC/with space/a file"
	chmod 0750 "$SRC/d1/d2"
	chmod 0700 "$SRC/d1/d2/d3"
	# Owned by someone else (root only), and set-user-id.
	mkdir "$SRC/owned"
	echo theirs >"$SRC/owned/theirs"
	cp "$SRC/owned/theirs" "$SRC/owned/suid"
	[ "$(id -u)" != 0 ] || chown -R 1234:5678 "$SRC/owned"
	chmod 4755 "$SRC/owned/suid" # after chown, which clears it
	find "$SRC" -exec touch -h -d @1600000000 {} +
	touch -h -d @1500000000 "$SRC/d1/small.txt"
	E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -b 4096 -d "$SRC" -E root_owner=0:0 "$IMG" 160M >/dev/null
	new_repo "$R" --chunk-size 64K
	cairn backup --repo "$R" -q --name vol "$IMG" >"$TD/id1"
	cairn catalog --repo "$R" "$(cat "$TD/id1")" /d1/small.txt >/dev/null
}
test_case "setup: an ext4 image of a tree with holes, links and odd names, backed up with a catalog" t_setup

t_whole()
{
	expect_ok cairn restore-file --repo "$R" --json "$(cat "$TD/id1")" / "$TT/out"
	cp "$TT/.out" rf.json
	# Nanosecond times as the catalog has them.  The catalog records no
	# access time (format.h: reads move them): the restored file's is its
	# mtime (looked at before anything reads the file).
	local mt
	# (jq would print these as floats)
	cairn catalog --repo "$R" --json "$(cat "$TD/id1")" /d1/small.txt >cat.json
	jq -e '.[0] | has("atime_ns") | not' cat.json >/dev/null || fail "the catalog records an atime: $(cat cat.json)"
	mt=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[0]["mtime_ns"])' cat.json)
	[ "$(stat -c %.9X "$TT/out/d1/small.txt" | tr -d .)" = "$mt" ] || fail "atime is not the catalog's mtime $mt"
	[ "$(stat -c %.9Y "$TT/out/d1/small.txt" | tr -d .)" = "$mt" ] || fail "mtime differs from the catalog's $mt"
	# (sparse.img apart: diff reads its 1 GiB of holes slowly)
	diff -r --no-dereference -x lost+found -x fifo -x sparse.img "$SRC" "$TT/out" || fail "the tree differs"
	local off
	for off in 0 $((8000 << 16)) $((16383 << 16)); do
		cmp -i "$off:$off" -n 65536 "$SRC/sparse.img" "$TT/out/sparse.img" || fail "sparse.img differs at $off"
	done
	fstree "$SRC" >src.tree
	fstree "$TT/out" >out.tree
	diff src.tree out.tree || fail "types, modes, sizes, times or link targets differ"
	# Hard links: three names, one inode.
	[ "$(stat -c %i "$TT/out/d1/d2/mid.bin")" = "$(stat -c %i "$TT/out/d1/hard1")" ] || fail "hard1 is not a link"
	[ "$(stat -c %i "$TT/out/d1/d2/mid.bin")" = "$(stat -c %i "$TT/out/many/hard2")" ] || fail "hard2 is not a link"
	[ "$(stat -c %h "$TT/out/many/hard2")" = 3 ] || fail "mid.bin has $(stat -c %h "$TT/out/many/hard2") links"
	# Sparse stays sparse: 1 GiB with 192 KiB of data.
	[ "$(stat -c %s "$TT/out/sparse.img")" = 1073741824 ] || fail "sparse.img has the wrong size"
	local used
	used=$(allocated_bytes "$TT/out/sparse.img")
	[ "$used" -lt $((4 << 20)) ] || fail "sparse.img takes $used bytes"
	[ -p "$TT/out/d1/fifo" ] || fail "the FIFO is missing"
	[ "$(readlink "$TT/out/abs-link")" = /etc/passwd ] || fail "abs-link's target changed"
	[ "$(jget rf.json .files)" = 309 ] || fail "$(jget rf.json .files) files counted, not 309"
	[ "$(jget rf.json .hardlinks)" = 2 ] || fail "hard links counted wrong"
	[ "$(jget rf.json .symlinks)" = 3 ] || fail "symlinks counted wrong"
	# No temporaries left.
	[ -z "$(find "$TT/out" -name '*.cairn-rf*')" ] || fail "temporaries left"
}
test_case "the whole file system comes back identical (modes, times, symlinks, hard links, holes, FIFO)" t_whole

t_single()
{
	local cs size
	cs=65536
	size=$(stat -c %s "$SRC/d1/small.txt")
	expect_ok cairn restore-file --repo "$R" --json "$(cat "$TD/id1")" /d1/small.txt "$TT/out"
	same_file "$SRC/d1/small.txt" "$TT/out/small.txt"
	[ "$(stat -c '%a %Y' "$TT/out/small.txt")" = "600 1500000000" ] || fail "mode or mtime: $(stat -c '%a %Y' "$TT/out/small.txt")"
	[ "$(ls -A "$TT/out")" = small.txt ] || fail "more than the file was written: $(ls -A "$TT/out")"
	# A 1000-byte file lies in one chunk (two if it straddles a boundary).
	local n b
	n=$(jget "$TT/.out" .chunks_fetched)
	b=$(jget "$TT/.out" .bytes_fetched)
	echo "  $size bytes: $n chunks, $b bytes fetched (chunk size $cs)" >&2
	[ "$n" -ge 1 ] && [ "$n" -le $(((size + cs - 1) / cs + 1)) ] || fail "$n chunks fetched for a $size-byte file"
	[ "$b" -le $((2 * cs + 4096)) ] || fail "$b bytes fetched for a $size-byte file"
	# A tree, by its path; a name with a newline; a UTF-8 name.
	expect_ok cairn restore-file --repo "$R" "$(cat "$TD/id1")" /d1 "/ütf-8 ñame" "$TT/t"
	diff -r --no-dereference -x fifo "$SRC/d1" "$TT/t/d1" || fail "the tree /d1 differs"
	diff -r "$SRC/ütf-8 ñame" "$TT/t/ütf-8 ñame" || fail "the UTF-8 directory differs"
	same_file "$SRC/d1/new${NL}line" "$TT/t/d1/new${NL}line"
	[ "$(stat -c %a "$TT/t/d1/d2")" = 750 ] || fail "d2's mode is $(stat -c %a "$TT/t/d1/d2")"
	# "." and repeated or trailing slashes are nothing; a relative PATH is
	# from the root.
	expect_ok cairn restore-file --repo "$R" "$(cat "$TD/id1")" //d1/./d2/ "$TT/u"
	expect_ok cairn restore-file --repo "$R" "$(cat "$TD/id1")" d1/small.txt "$TT/u"
	diff -r "$SRC/d1/d2" "$TT/u/d2" || fail "//d1/./d2/ did not land as d2"
	same_file "$SRC/d1/small.txt" "$TT/u/small.txt"
	[ "$(stat -c %Y "$TT/t/d1/d2")" = 1600000000 ] || fail "d2's mtime is $(stat -c %Y "$TT/t/d1/d2")"
}
test_case "a single file fetches few chunks; a tree and odd names come back identical" t_single

t_stream()
{
	cairn restore-file --repo "$R" "$(cat "$TD/id1")" /d1/d2/mid.bin - >mid.out 2>mid.err
	same_file "$SRC/d1/d2/mid.bin" mid.out
	grep -q 'restored 1 files' mid.err || fail "no summary on stderr: $(cat mid.err)"
	cairn restore-file --repo "$R" "$(cat "$TD/id1")" /d1 /many - >t.tar 2>t.err
	mkdir x
	tar -x -f t.tar -C x
	diff -r --no-dereference -x fifo "$SRC/d1" x/d1 || fail "the tar's d1 differs"
	diff -r "$SRC/many" x/many || fail "the tar's many differs"
	[ "$(stat -c %i x/d1/hard1)" = "$(stat -c %i x/many/hard2)" ] || fail "the tar lost the hard link"
	[ "$(stat -c '%a %Y' x/d1/small.txt)" = "600 1500000000" ] || fail "the tar lost a mode or mtime"
	[ "$(readlink x/d1/dangling)" = does/not/exist ] || fail "the tar lost a symlink"
	# A long path needs a pax header: a tree whose names are long.
	local long
	long=$(printf 'n%.0s' $(seq 1 200))
	mkdir -p "lsrc/$long/$long"
	echo deep >"lsrc/$long/$long/$long"
	E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -d lsrc long.img 16M >/dev/null
	cairn backup --repo "$R" -q --name long long.img >/dev/null
	cairn restore-file --repo "$R" long@latest / - >l.tar 2>/dev/null
	mkdir lx
	tar -x -f l.tar -C lx
	same_file "lsrc/$long/$long/$long" "lx/$long/$long/$long"
}
test_case "'-' streams one file, or a tar (links, modes, long pax names) that tar -x extracts" t_stream

t_refuse()
{
	mkdir -p out outside
	# A symlink planted in DEST where a directory goes.
	ln -s "$TT/outside" out/d1
	expect_fail cairn restore-file --repo "$R" "$(cat "$TD/id1")" /d1 out
	grep -q 'symlink' "$TT/.err" || fail "the error does not say why: $(cat "$TT/.err")"
	[ -z "$(ls -A outside)" ] || fail "something was written through the planted symlink"
	[ -L out/d1 ] || fail "the planted symlink was touched without --force"
	# A planted symlink in place of a file: never written through.
	ln -s "$TT/outside/victim" out/small.txt
	expect_fail -m 'exists' cairn restore-file --repo "$R" "$(cat "$TD/id1")" /d1/small.txt out
	[ ! -e outside/victim ] || fail "written through a planted symlink"
	# With --force the symlinks are replaced, never followed.
	expect_ok cairn restore-file --repo "$R" --force "$(cat "$TD/id1")" /d1 /d1/small.txt out
	[ -d out/d1 ] && [ ! -L out/d1 ] || fail "--force did not put a directory in place of the symlink"
	[ -f out/small.txt ] && [ ! -L out/small.txt ] || fail "--force did not replace the symlink"
	[ -z "$(ls -A outside)" ] || fail "something was written outside DEST"
	same_file "$SRC/d1/small.txt" out/small.txt
	# '..' in PATH.
	expect_fail -m "'\.\.'" cairn restore-file --repo "$R" "$(cat "$TD/id1")" /d1/../../etc out2
	expect_fail -m "'\.\.'" cairn restore-file --repo "$R" "$(cat "$TD/id1")" ../d1 out2
	[ ! -e out2 ] || fail "a refused restore created DEST"
	# An existing file without --force: refused before anything is written.
	mkdir keep
	echo mine >keep/small.txt
	expect_fail -m 'exists.*--force' cairn restore-file --repo "$R" "$(cat "$TD/id1")" /d1/d2 /d1/small.txt keep
	[ "$(cat keep/small.txt)" = mine ] || fail "the existing file was overwritten"
	[ ! -e keep/d2 ] || fail "something was written before the refusal"
	# Two PATHs landing on one name.
	expect_fail -m 'would both be' cairn restore-file --repo "$R" "$(cat "$TD/id1")" /d1/d2/mid.bin /d1/d2 /d1/d2/mid.bin out4
	[ ! -e out4/mid.bin ] || fail "a clash was written"
	# Not in the catalog; bad options.
	expect_fail -m 'not found' cairn restore-file --repo "$R" "$(cat "$TD/id1")" /nope out3
	expect_fail -c 2 cairn restore-file --repo "$R" "$(cat "$TD/id1")" out3
	expect_fail -c 2 -m "owner" cairn restore-file --repo "$R" --preserve mode "$(cat "$TD/id1")" /d1 out3
	# A backup without a catalog says why.
	cairn backup --repo "$R" -q --name vol --no-catalog "$IMG" >"$TD/nocat"
	expect_fail -m 'no file catalog' cairn restore-file --repo "$R" "$(cat "$TD/nocat")" /d1 out3
	[ ! -e out3 ] || fail "failed restores created DEST"
}
test_case "traversal and overwriting are refused in one line, nothing written outside DEST" t_refuse

t_damage()
{
	cp -a "$R" bad
	# The largest pack holds mid.bin's chunks: damage its middle part.
	local pack
	pack=$(find bad/packs -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
	python3 - "$pack" <<'EOF'
import os, sys
p = sys.argv[1]
n = os.path.getsize(p)
with open(p, "r+b") as f:
    for off in range(n // 10, n * 6 // 10, 2048):
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ 0x55]))
EOF
	mkdir out
	expect_fail -m 'damaged|authentication' cairn restore-file --repo bad "$(cat "$TD/id1")" /d1/d2/mid.bin out
	[ -z "$(ls -A out)" ] || fail "a damaged chunk left $(ls -A out)"
	# Over an existing file with --force: the old one stays whole.
	echo old >out/mid.bin
	expect_fail -m 'damaged|authentication' cairn restore-file --repo bad --force "$(cat "$TD/id1")" /d1/d2/mid.bin out
	[ "$(cat out/mid.bin)" = old ] || fail "the existing file was damaged"
	[ "$(ls -A out)" = mid.bin ] || fail "temporaries left: $(ls -A out)"
	# Streaming fails too, with the same one line.
	expect_fail -m 'damaged|authentication' cairn restore-file --repo bad "$(cat "$TD/id1")" /d1/d2/mid.bin -
}
test_case "a damaged chunk is one clear error and leaves no partial file" t_damage

t_diff()
{
	cp "$IMG" v2.img
	rand_file new.bin 20000 7
	rand_file changed.bin 300000 8
	# Three files changed (content and metadata), one added, one removed;
	# debugfs writes the image without mounting it.
	cat >cmds <<EOF
rm /d1/d2/d3/deep.bin
write changed.bin /d1/d2/d3/deep.bin
sif "/with space/a file" mode 0100600
rm /many/f17
write new.bin /many/f17
write new.bin /d1/added.bin
rm /many/f200
EOF
	E2FSPROGS_FAKE_TIME=1800000000 debugfs -w -f cmds v2.img >/dev/null 2>&1
	cairn backup --repo "$R" -q --name vol v2.img >id2
	expect_ok cairn diff --repo "$R" --files "$(cat "$TD/id1")" "$(cat id2)"
	cat "$TT/.out"
	grep -v '^?' "$TT/.out" >got
	printf 'A\t/d1/added.bin\nD\t/many/f200\nM\t/d1/d2/d3/deep.bin\nM\t/many/f17\nM\t/with space/a file\n' | sort >want
	sort got | diff want - || fail "diff --files named other files"
	# The order is by path.
	[ "$(cut -f2 "$TT/.out" | LC_ALL=C sort -c 2>&1)" = "" ] || fail "not sorted by path"
	grep -q '1 added, 1 removed, 3 modified' "$TT/.err" || fail "summary: $(cat "$TT/.err")"
	# JSON names why.
	expect_ok cairn diff --repo "$R" --files --json "$(cat "$TD/id1")" "$(cat id2)"
	[ "$(jq -r '.files[] | select(.path == "/with space/a file") | .reasons | join(",")' "$TT/.out")" = mode ] ||
		fail "the mode change is not named: $(cat "$TT/.out")"
	[ "$(jget "$TT/.out" .added)" = 1 ] && [ "$(jget "$TT/.out" .removed)" = 1 ] &&
		[ "$(jget "$TT/.out" .modified)" = 3 ] || fail "counts: $(head -c 300 "$TT/.out")"
	# '?' only for files whose metadata stayed and that share a changed chunk.
	jq -e '[.files[] | select(.status == "maybe") | .reasons == ["shared-chunk"]] | all' "$TT/.out" >/dev/null ||
		fail "a '?' entry has other reasons"
	# The same backup twice: nothing.
	expect_ok cairn diff --repo "$R" --files "$(cat id2)" "$(cat id2)"
	[ ! -s "$TT/.out" ] || fail "a backup differs from itself: $(head -3 "$TT/.out")"
	# Without a catalog: one line.
	expect_fail -m 'no file catalog' cairn diff --repo "$R" --files "$(cat "$TD/nocat")" "$(cat id2)"
}
test_case "diff --files after changing three files, adding one and removing one names exactly those" t_diff

t_diff_content()
{
	# Bytes of mid.bin changed under the file system (no time changes):
	# one whole chunk inside its extents gets new bytes.
	cp "$IMG" v3.img
	cairn catalog --repo "$R" --json "$(cat "$TD/id1")" /d1/d2/mid.bin >mid.json
	python3 - mid.json v3.img <<'EOF2' || fail "no whole chunk inside mid.bin's extents"
import json, os, sys
e = json.load(open(sys.argv[1]))[0]
cs = 65536
for x in e["extents"]:
    first = -(-x["volume_offset"] // cs) * cs
    if first + cs <= x["volume_offset"] + min(x["length"], e["size"] - x["file_offset"]):
        with open(sys.argv[2], "r+b") as f:
            f.seek(first)
            f.write(os.urandom(cs))
        sys.exit(0)
sys.exit(1)
EOF2
	cairn backup --repo "$R" -q --name vol v3.img >id3
	# The catalog is the same: without --every-file nothing is walked.
	expect_ok cairn diff --repo "$R" --files "$(cat "$TD/id1")" "$(cat id3)"
	[ ! -s "$TT/.out" ] || fail "an unchanged catalog was walked: $(head -3 "$TT/.out")"
	expect_ok cairn diff --repo "$R" --files --every-file --json "$(cat "$TD/id1")" "$(cat id3)"
	jq -r '.files[] | "\(.letter) \(.path) \(.reasons | join(","))"' "$TT/.out" >got
	cat got
	printf 'M /d1/d2/mid.bin content\nM /d1/hard1 content\nM /many/hard2 content\n' | diff - got ||
		fail "a content change under unchanged metadata is not named exactly"
}
test_case "diff --files --every-file names a file whose bytes changed under unchanged metadata" t_diff_content

t_nonroot()
{
	[ "$(id -u)" = 0 ] || skip "needs root to switch to an unprivileged user"
	command -v setpriv >/dev/null || skip "no setpriv"
	cp -a "$R" nr
	mkdir out st
	chown -R 65534:65534 nr out st
	chmod 755 "$TT"
	CAIRN_STATE_DIR=$TT/st setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$CAIRN" restore-file --repo nr "$(cat "$TD/id1")" /d1 "/with space" out >nr.out 2>&1 ||
		fail "restore-file as nobody failed: $(cat nr.out)"
	diff -r --no-dereference -x fifo "$SRC/d1" out/d1 || fail "d1 differs"
	[ "$(stat -c %U out/d1/small.txt)" = nobody ] || fail "owned by $(stat -c %U out/d1/small.txt)"
}
test_case "extraction runs without root" t_nonroot

t_owner()
{
	[ "$(id -u)" = 0 ] || skip "needs root to set owners"
	expect_ok cairn restore-file --repo "$R" "$(cat "$TD/id1")" /owned plain
	[ "$(stat -c '%u:%g %a' plain/owned/theirs)" = "0:0 644" ] || fail "without --preserve: $(stat -c '%u:%g %a' plain/owned/theirs)"
	[ "$(stat -c %a plain/owned/suid)" = 755 ] || fail "set-user-id kept without the owner: $(stat -c %a plain/owned/suid)"
	expect_ok cairn restore-file --repo "$R" --preserve owner "$(cat "$TD/id1")" /owned kept
	[ "$(stat -c '%u:%g' kept/owned/theirs)" = 1234:5678 ] || fail "owner not kept: $(stat -c '%u:%g' kept/owned/theirs)"
	[ "$(stat -c '%u:%g' kept/owned)" = 1234:5678 ] || fail "directory owner not kept"
	[ "$(stat -c '%u:%g %a' kept/owned/suid)" = "1234:5678 4755" ] || fail "suid file: $(stat -c '%u:%g %a' kept/owned/suid)"
}
test_case "--preserve owner sets owners (and keeps set-id bits, dropped without it)" t_owner

t_group()
{
	local v
	for v in a b; do
		mkdir "s$v"
		echo "file of $v" >"s$v/$v.txt"
		E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -d "s$v" "$v.img" 16M >/dev/null
	done
	cairn group create g39 --volume "$TT/a.img" --volume "$TT/b.img" -q
	cairn group backup g39 --repo "$R" -q >gid
	expect_ok cairn restore-file --repo "$R" "$(cat gid)" a.img:/a.txt b.img:/b.txt out
	same_file sa/a.txt out/a.txt
	same_file sb/b.txt out/b.txt
	expect_fail -m 'VOLUME:' cairn restore-file --repo "$R" "$(cat gid)" /a.txt out2
	expect_fail -m 'no volume' cairn restore-file --repo "$R" "$(cat gid)" c.img:/a.txt out2
	[ ! -e out2 ] || fail "a refused restore created DEST"
}
test_case "a group backup's files as VOLUME:/path" t_group

t_partitions()
{
	command -v sfdisk >/dev/null || skip "no sfdisk"
	# A GPT image with an ext4 file system in each of two partitions, each
	# with a hard link of its inode 12: links never cross file systems.
	truncate -s 64M g.img
	printf 'label: gpt\nstart=2048, size=55296\nstart=57344, size=63488\n' | sfdisk -q g.img
	mkdir s1 s2
	echo one >s1/a
	ln s1/a s1/a2
	echo two >s2/b
	ln s2/b s2/b2
	mkfs.ext4 -q -F -d s1 -E offset=$((2048 * 512)) g.img 27M >/dev/null
	mkfs.ext4 -q -F -d s2 -E offset=$((57344 * 512)) g.img 31M >/dev/null
	cairn backup --repo "$R" -q --name gpt g.img >id
	expect_ok cairn restore-file --repo "$R" "$(cat id)" / out
	same_file s1/a out/p1/a
	same_file s2/b2 out/p2/b2
	[ "$(stat -c %i out/p1/a)" = "$(stat -c %i out/p1/a2)" ] || fail "p1's hard link is lost"
	[ "$(stat -c %i out/p2/b)" = "$(stat -c %i out/p2/b2)" ] || fail "p2's hard link is lost"
	[ "$(stat -c %i out/p1/a)" != "$(stat -c %i out/p2/b)" ] || fail "a hard link crosses partitions"
	expect_ok cairn restore-file --repo "$R" "$(cat id)" /p2/b one
	same_file s2/b one/b
}
test_case "a partitioned volume: /p1 and /p2, hard links within each" t_partitions

test_done
