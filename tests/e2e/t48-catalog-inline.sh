#!/bin/bash
# t48: files whose bytes the file system keeps in its metadata, not in
# data blocks (format.h CATALOG, ENTRY flag bit 1: the bytes inline in the
# catalog).  An ext4 image made by mkfs.ext4 -O inline_data -d (no root
# needed: small files and directories live in their inodes, up to 60 bytes
# in i_block and more in the system.data attribute), and, as root, a btrfs
# image written through a loop mount with compress=zstd (files under 2 KiB
# inline in its metadata, compressible ones up to 4 KiB inline and
# compressed): the catalog lists exactly the tree (find -printf), holds
# the small files' bytes itself, restore-file (into a directory and as a
# tar) gives them back byte-identical with modes and times without
# fetching a chunk, and diff --files after one small file changed names
# exactly it.  Damaged inline entries are test_catalog's and
# fuzz_catalog_node's.
. "$(dirname "$0")/lib.sh"

R=repo # in each test's directory
export CAIRN_NO_PROGRESS=1
# mkfs.ext4 -d gives the same image for the same tree: one UUID, one hash
# seed, one clock (inode ctimes).
UUID=0b5a1a2c-1111-2222-3333-444455556666

# small_tree DIR: small files of every size around the inline limits
# (ext4: 60 bytes and the inode's room; btrfs: max_inline 2048 and the
# 4096-byte sector), random and compressible, nested and inline
# directories, symlinks, a hard link, odd modes and names; mtimes fixed.
small_tree()
{
	python3 - "$1" <<'EOF'
import os, random, sys
src = sys.argv[1]
r = random.Random(48)
os.makedirs(os.path.join(src, "deep/a/b"))
os.makedirs(os.path.join(src, "tiny dir"))
os.makedirs(os.path.join(src, "wide"))
sizes = [1, 2, 30, 59, 60, 61, 100, 120, 150, 200, 500, 1000, 2047, 2048, 2049, 3000, 4095, 4096, 4097, 10000]
for s in sizes:
    with open(os.path.join(src, "rand-%d" % s), "wb") as f:
        f.write(r.randbytes(s))
    with open(os.path.join(src, "deep/a/b/text-%d" % s), "wb") as f:
        # Compressible, but no compressed extent past 4 KiB (those have
        # no catalog: t44).
        f.write((b"cairn inline %d " % s * (s // 10 + 1))[:s] if s <= 4096 else r.randbytes(s))
open(os.path.join(src, "empty"), "w").close()
with open(os.path.join(src, "tiny dir/x"), "w") as f:
    f.write("x\n")
for i in range(60):
    with open(os.path.join(src, "wide/f%02d" % i), "wb") as f:
        f.write(r.randbytes(r.randrange(1, 300)))
with open(os.path.join(src, "ütf-8 ☃ name with space"), "w") as f:
    f.write("snow\n")
os.symlink("rand-100", os.path.join(src, "short link"))
os.symlink("deep/a/b/" + "y" * 120, os.path.join(src, "long link"))
os.link(os.path.join(src, "rand-30"), os.path.join(src, "deep/hard"))
os.chmod(os.path.join(src, "rand-59"), 0o600)
os.chmod(os.path.join(src, "rand-61"), 0o4755)
EOF
	fix_times "$1"
}

# fix_times DIR: distinct mtimes with nanoseconds for everything in DIR;
# atimes in the future, which reading does not move (relatime): mkfs.ext4
# -d copies them, and t_ext4_diff's two images differ in one file alone.
fix_times()
{
	python3 - "$1" <<'EOF'
import os, sys
t = 1700000000
for root, dirs, files in sorted(os.walk(sys.argv[1], topdown=False)):
    for n in sorted(files + dirs):
        t += 1
        os.utime(os.path.join(root, n), ns=(4000000000 * 10**9 + t, t * 10**9 + 987654321), follow_symlinks=False)
EOF
}

# mkext IMG SRC: the ext4 inline_data image of SRC (the same bytes for
# the same tree).
mkext()
{
	command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 is not installed"
	rm -f "$1"
	E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -O inline_data -I 256 -U $UUID -E hash_seed=$UUID,root_owner=0:0 \
		-d "$2" "$1" 64M >/dev/null 2>&1 || skip "mkfs.ext4 -O inline_data -d failed"
}

# same_restored OUT JSON PREFIX: every entry of the catalog listing JSON
# (of PREFIX) is under OUT with its type, mode, size and mtime (to the
# nanosecond), owner when root; nothing else is there.
same_restored()
{
	python3 - "$1" "$2" "$3" "$(id -u)" <<'EOF' || fail "the restored tree differs from the catalog"
import json, os, stat, sys
out, cat, prefix, uid = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3].rstrip("/"), int(sys.argv[4])
types = {"file": stat.S_ISREG, "dir": stat.S_ISDIR, "symlink": stat.S_ISLNK}
want = {e["path"][len(prefix) + 1:]: e for e in cat
        if e["path"] != prefix and not e["path"][len(prefix):].startswith("/lost+found")}
got = set()
for root, dirs, files in os.walk(out):
    if root == out and "lost+found" in dirs:
        dirs.remove("lost+found")
    for n in dirs + files:
        got.add(os.path.relpath(os.path.join(root, n), out))
bad = ["extra %r" % p for p in sorted(got - set(want))] + ["missing %r" % p for p in sorted(set(want) - got)]
for p in sorted(set(want) & got):
    e, st = want[p], os.lstat(os.path.join(out, p))
    if not types[e["type"]](st.st_mode):
        bad.append("%r is not a %s" % (p, e["type"]))
    # (set-id bits come back with --preserve owner only)
    if e["type"] != "symlink" and (st.st_mode & 0o1777) != (e["mode"] & 0o1777):
        bad.append("%r: mode %o, the catalog has %o" % (p, st.st_mode & 0o7777, e["mode"] & 0o7777))
    if e["type"] != "dir" and st.st_size != e["size"]:
        bad.append("%r: size %d, the catalog has %d" % (p, st.st_size, e["size"]))
    if st.st_mtime_ns != e["mtime_ns"]:
        bad.append("%r: mtime %d, the catalog has %d" % (p, st.st_mtime_ns, e["mtime_ns"]))
    if uid == 0 and (st.st_uid, st.st_gid) != (e["uid"], e["gid"]):
        bad.append("%r: owner %d:%d, the catalog has %d:%d" % (p, st.st_uid, st.st_gid, e["uid"], e["gid"]))
for b in bad[:20]:
    print(b, file=sys.stderr)
print("%d entries compared, %d differences" % (len(want), len(bad)), file=sys.stderr)
sys.exit(1 if bad or len(want) < 50 else 0)
EOF
}

# inline_files JSON MIN: at least MIN files of the listing hold their bytes
# inline; every one of them has no extent and at most 4096 bytes.
inline_files()
{
	local n
	n=$(jq '[.[] | select(.inline_bytes != null)] | length' "$1")
	[ "$n" -ge "$2" ] || fail "$n files hold their bytes in the catalog, expected at least $2"
	jq -e '[.[] | select(.inline_bytes != null)] | all(.extents == [] and .inline_bytes >= 1 and
		.inline_bytes <= 4096 and .inline_bytes <= .size)' "$1" >/dev/null || fail "an inline entry is inconsistent"
}

# roundtrip TREE ID: restore-file of the whole file system into a
# directory and as a tar, each identical to TREE and the catalog; one
# small file alone fetches no chunk.
roundtrip()
{
	local tree=$1 id=$2
	expect_ok cairn restore-file --repo "$R" "$id" / "$TT/out"
	diff -r --no-dereference -x lost+found "$tree" "$TT/out" || fail "restore-file differs from the tree"
	same_restored "$TT/out" cat.json /
	mkdir "$TT/tar"
	cairn restore-file --repo "$R" "$id" /deep - 2>"$TT/.err" | tar -x -C "$TT/tar" ||
		fail "restore-file - | tar -x failed: $(head -c 300 "$TT/.err")"
	diff -r --no-dereference "$tree/deep" "$TT/tar/deep" || fail "the tar of /deep differs from the tree"
	# (jq would print the nanoseconds as a float)
	[ "$(stat -c %.9Y "$TT/tar/deep/a/b/text-100" | tr -d .)" = "$(python3 -c 'import json, sys
print([e["mtime_ns"] for e in json.load(open(sys.argv[1])) if e["path"] == "/deep/a/b/text-100"][0])' cat.json)" ] ||
		fail "the tar's mtime of text-100 differs from the catalog's"
	cairn restore-file --repo "$R" "$id" /rand-150 - >one 2>"$TT/.err" || fail "restore-file /rand-150 - failed"
	cmp one "$tree/rand-150" || fail "/rand-150 on standard output differs"
	expect_ok cairn restore-file --repo "$R" --json "$id" /rand-100 "/tiny dir" "$TT/small"
	[ "$(jget "$TT/.out" .chunks_fetched)" = 0 ] ||
		fail "restoring inline files fetched $(jget "$TT/.out" .chunks_fetched) chunks"
	cmp "$TT/small/rand-100" "$tree/rand-100" || fail "/rand-100 differs"
	cmp "$TT/small/tiny dir/x" "$tree/tiny dir/x" || fail "/tiny dir/x differs"
	# catalog -l shows an inline file as any other.
	expect_ok cairn catalog --repo "$R" --long "$id" /rand-100
	grep -Eq '^-rw-r--r-- +1 .* 100 .* rand-100$' "$TT/.out" || fail "catalog -l: $(cat "$TT/.out")"
}

# diff_one ID_A ID_B PATH [content]: diff --files names exactly PATH, as
# modified (with "content": for its bytes, size and mtime the same).
diff_one()
{
	expect_ok cairn diff --repo "$R" --files "$1" "$2"
	[ "$(grep -c . "$TT/.out")" = 1 ] && grep -qx "M	$3" "$TT/.out" ||
		fail "diff --files names other files: $(tr '\n' '|' <"$TT/.out")"
	if [ -n "${4:-}" ]; then
		expect_ok cairn diff --repo "$R" --files --json "$1" "$2"
		jq -e '.files[0].reasons | index("content") and (index("size") | not) and (index("mtime") | not)' \
			"$TT/.out" >/dev/null || fail "diff --files gives reasons $(jq -c '.files[0].reasons' "$TT/.out")"
	fi
}

t_ext4()
{
	small_tree src
	mkext vol.img src
	# The image holds what this test is about: a file past the 60 bytes
	# of i_block, inline, and an inline directory.
	debugfs -R "stat /rand-100" vol.img 2>/dev/null | grep -q 'Size of inline data: 100' ||
		skip "mkfs.ext4 did not keep /rand-100 inline"
	debugfs -R 'stat "/tiny dir"' vol.img 2>/dev/null | grep -q 'Size of inline data' ||
		skip "mkfs.ext4 did not keep '/tiny dir' inline"
	new_repo "$R"
	expect_ok cairn backup --repo "$R" --json vol.img
	[ "$(jq -r .catalog "$TT/.out")" = true ] || fail "no catalog: $(jq -r .catalog_reason "$TT/.out")"
	local id
	id=$(jq -r .id "$TT/.out")
	expect_ok cairn catalog --repo "$R" "$id" / --recursive --json
	cp "$TT/.out" cat.json
	same_tree src cat.json / 100
	# Every file of up to 60 bytes, and more, is inline.
	inline_files cat.json 35
	jq -e '.[] | select(.path == "/rand-100") | .inline_bytes == 100' cat.json >/dev/null ||
		fail "/rand-100's 100 bytes are not in the catalog"
	roundtrip src "$id"
}

t_ext4_diff()
{
	small_tree src
	mkext vol.img src
	new_repo "$R"
	expect_ok cairn backup --repo "$R" -q vol.img
	local a b mt
	a=$(cat "$TT/.out")
	# Other bytes, the same size and mtime (mkfs.ext4 -d copies both, and
	# the ctime, which the write moved): the bytes say so.
	python3 -c 'import os, sys
p = sys.argv[1]
st = os.stat(p)
b = bytearray(open(p, "rb").read())
b[0] ^= 0xff
open(p, "wb").write(b)
os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))' src/rand-100
	mkext vol.img src
	expect_ok cairn backup --repo "$R" -q vol.img
	b=$(cat "$TT/.out")
	diff_one "$a" "$b" /rand-100 content
}

# mkbtrfs IMG SRC: a btrfs image holding a copy of SRC, written with
# compress=zstd where the kernel has it; or the test skips.
mkbtrfs()
{
	[ "$(id -u)" = 0 ] || skip "needs root for loop devices and mounts"
	command -v mkfs.btrfs >/dev/null || skip "mkfs.btrfs is not installed"
	truncate -s 300M "$1"
	mkfs.btrfs -q -f "$1" >/dev/null 2>&1 || skip "mkfs.btrfs failed"
	mkdir -p "$TT/m"
	mount -o loop,compress=zstd "$1" "$TT/m" 2>/dev/null || mount -o loop "$1" "$TT/m" 2>/dev/null ||
		skip "the kernel cannot mount btrfs here"
	cp -a "$2/." "$TT/m/"
	umount "$TT/m"
}

# nothing_left: no loop device or mount of cairn's remains.
nothing_left()
{
	! grep -q cairn-catalog /proc/mounts || fail "a catalog mount was left in the host's mount table"
}

t_btrfs()
{
	small_tree src
	mkbtrfs vol.img src
	new_repo "$R"
	expect_ok cairn backup --repo "$R" --json vol.img
	[ "$(jq -r .catalog "$TT/.out")" = true ] || fail "no catalog: $(jq -r .catalog_reason "$TT/.out")"
	local a b
	a=$(jq -r .id "$TT/.out")
	nothing_left
	expect_ok cairn catalog --repo "$R" "$a" / --recursive --json
	cp "$TT/.out" cat.json
	mount -o loop,ro vol.img "$TT/m"
	register_cleanup mount "$TT/m"
	same_tree "$TT/m" cat.json / 100
	# What the file system did with them: inline, some compressed.
	local flags
	flags=$(for f in "$TT"/m/rand-100 "$TT"/m/deep/a/b/text-3000; do filefrag -v "$f" 2>/dev/null; done)
	grep -q inline <<<"$flags" || skip "btrfs kept no small file inline"
	grep -q encoded <<<"$flags" || echo "# (no compressed inline extent: compress=zstd not in effect)"
	inline_files cat.json 60
	jq -e '.[] | select(.path == "/rand-4097") | .inline_bytes == null and (.extents | length) >= 1' \
		cat.json >/dev/null || fail "/rand-4097 is not in extents"
	roundtrip "$TT/m" "$a"
	umount "$TT/m"
	# One small file changed through the file system.
	mount -o loop vol.img "$TT/m"
	printf 'changed!' | dd of="$TT/m/deep/a/b/text-200" conv=notrunc status=none
	umount "$TT/m"
	expect_ok cairn backup --repo "$R" -q vol.img
	b=$(cat "$TT/.out")
	diff_one "$a" "$b" /deep/a/b/text-200
	nothing_left
}

test_case "ext4 -O inline_data: catalog equals the tree with inline bytes; restore-file and tar identical" t_ext4
test_case "ext4 -O inline_data: diff --files names the one small file whose bytes changed (content)" t_ext4_diff
test_case "btrfs with inline and compressed small files: catalog, restore-file, tar, diff --files" t_btrfs
test_done
