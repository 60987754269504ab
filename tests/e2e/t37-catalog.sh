#!/bin/bash
# t37: the file catalog (cairn catalog; format.h CATALOG).  ext4 images made
# by mkfs.ext4 -d from a tree this test makes (nested directories, a 1 GiB
# sparse file, symlinks, hard links, names with spaces, newlines and UTF-8,
# 10,000 small files), and a GPT image with two ext4 partitions: the
# catalog lists exactly the source tree (as find -printf sees it), its
# extents point at the files' bytes in the volume, an incremental after
# one change stores a handful of catalog nodes, prune keeps what backups
# need; --no-catalog, a volume without a file system and a damaged file
# system back up and say why there is no catalog; a damaged catalog node
# is one clear error.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
IMG=$TD/fs.img
GPT=$TD/gpt.img
export CAIRN_NO_PROGRESS=1

# mktree DIR SEED: the source tree.
mktree()
{
	python3 - "$1" "$2" <<'EOF'
import os, random, sys
src, seed = sys.argv[1], int(sys.argv[2])
r = random.Random(seed)
os.makedirs(os.path.join(src, "dir/a/b/c/d"))
os.makedirs(os.path.join(src, "many"))
with open(os.path.join(src, "dir/a/b/c/d/deep.txt"), "w") as f:
    f.write("deep\n")
# 1 GiB, sparse: 1 MiB at 100 MiB and 5000 bytes at the end.
with open(os.path.join(src, "sparse1g"), "wb") as f:
    f.seek(100 << 20)
    f.write(r.randbytes(1 << 20))
    f.seek((1 << 30) - 5000)
    f.write(r.randbytes(5000))
with open(os.path.join(src, "random.bin"), "wb") as f:
    f.write(r.randbytes(300000))
for name in ("with space", "new\nline", "ütf-8 ☃ snow", "-dash", "tab\there"):
    with open(os.path.join(src, "dir", name), "w") as f:
        f.write(name * 3)
os.symlink("a/b/c/d/deep.txt", os.path.join(src, "dir/rel-link"))
os.symlink("/nowhere/at/all", os.path.join(src, "dangling"))
os.symlink("x" * 200, os.path.join(src, "dir/long-target"))  # a slow symlink
os.link(os.path.join(src, "random.bin"), os.path.join(src, "dir/hard"))
os.link(os.path.join(src, "random.bin"), os.path.join(src, "dir/a/hard2"))
os.mkfifo(os.path.join(src, "fifo"))
for i in range(10000):
    with open(os.path.join(src, "many", "f%05d" % i), "w") as f:
        f.write("x" * (i % 97))
os.chmod(os.path.join(src, "dir/a"), 0o751)
os.chmod(os.path.join(src, "random.bin"), 0o4755)
os.chmod(os.path.join(src, "dir/with space"), 0o600)
EOF
	if [ "$(id -u)" = 0 ]; then
		chown 1234:5678 "$1/dir/with space" "$1/many/f00042"
		chown -h 77:88 "$1/dangling"
		mknod "$1/dir/null" c 1 3
	fi
	# Distinct whole-second mtimes (mkfs.ext4 -d keeps seconds).
	find "$1" -mindepth 1 -exec touch -h -d @1700000000 {} +
	touch -d @1600000000 "$1/dir/with space" "$1/many"
	touch -h -d @1650000000 "$1/dir/rel-link"
}

# mkfs_d IMAGE SIZE SRC [TYPE]: an ext4 (or TYPE: ext3 maps blocks, not
# extents) image of SRC.
mkfs_d()
{
	rm -f "$1"
	"mkfs.${4:-ext4}" -q -F -b 4096 -N 20000 -d "$3" -E root_owner=0:0 "$1" "$2" >/dev/null 2>&1 ||
		fail "mkfs.${4:-ext4} -d failed for $1"
}

# extents_hold VOLUME JSON SRC PREFIX MIN: for every regular file of SRC (at least MIN), its
# catalog extents (absolute offsets in VOLUME) hold its bytes, and the
# bytes no extent covers are zeros.
extents_hold()
{
	python3 - "$1" "$2" "$3" "$4" "$5" <<'EOF' || fail "a file's extents do not hold its bytes"
import json, os, sys
vol, cat, src, prefix = open(sys.argv[1], "rb"), json.load(open(sys.argv[2])), sys.argv[3], sys.argv[4].rstrip("/")
n = 0
for e in cat:
    if e["type"] != "file" or e["path"].startswith(prefix + "/lost+found"):
        continue
    f = open(os.path.join(src, e["path"][len(prefix) + 1:]), "rb")
    size = os.fstat(f.fileno()).st_size
    covered = 0
    for x in e["extents"]:
        end = min(size, x["file_offset"] + x["length"])
        if end <= x["file_offset"]:
            continue
        f.seek(x["file_offset"])
        want = f.read(end - x["file_offset"])
        vol.seek(x["volume_offset"])
        got = bytes(len(want)) if x["unwritten"] else vol.read(len(want))
        if got != want:
            print("%r: the extent at %d does not hold its bytes" % (e["path"], x["file_offset"]), file=sys.stderr)
            sys.exit(1)
        covered += len(want)
    # The rest is holes: the source reads zeros there (small files: every byte).
    if size <= (64 << 20):
        f.seek(0)
        data = bytearray(f.read())
        for x in e["extents"]:
            data[x["file_offset"]:x["file_offset"] + x["length"]] = bytes(max(0, min(size, x["file_offset"] + x["length"]) - x["file_offset"]))
        if any(data):
            print("%r: bytes outside its extents are not zeros" % e["path"], file=sys.stderr)
            sys.exit(1)
    n += 1
print("%d files read back through their extents" % n, file=sys.stderr)
sys.exit(0 if n >= int(sys.argv[5]) else 1)
EOF
}

t_setup()
{
	command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 is not installed"
	command -v sfdisk >/dev/null || skip "sfdisk is not installed"
	mktree "$TD/src" 3701
	mkfs_d "$IMG" 512M "$TD/src"
	# A GPT image, two partitions of 40 MiB at 1 MiB (ext3) and 41 MiB (ext4).
	mkdir -p "$TD/src1/etc" "$TD/src2/home/user"
	echo one >"$TD/src1/etc/one.conf"
	head -c 300000 /dev/urandom >"$TD/src1/etc/blocks.bin"
	head -c 200000 /dev/urandom >"$TD/src2/home/user/data.bin"
	ln -s data.bin "$TD/src2/home/user/link"
	find "$TD/src1" "$TD/src2" -mindepth 1 -exec touch -h -d @1700000000 {} +
	mkfs_d "$TD/p1.img" 40M "$TD/src1" ext3
	mkfs_d "$TD/p2.img" 40M "$TD/src2"
	truncate -s 100M "$GPT"
	printf 'label: gpt\nstart=2048, size=81920, type=linux\nstart=83968, size=81920, type=linux\n' |
		sfdisk -q "$GPT" >/dev/null
	dd if="$TD/p1.img" of="$GPT" bs=1M seek=1 conv=notrunc status=none
	dd if="$TD/p2.img" of="$GPT" bs=1M seek=41 conv=notrunc status=none
	new_repo "$R"
	cairn backup --repo "$R" "$IMG" --name fs --snapshot none --json >"$TD/b1.json"
	jget "$TD/b1.json" .id >"$TD/id1"
	touch "$TD/ready"
}
test_case "setup: an ext4 image of a made-up tree, a GPT image, a first backup" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete"
}

t_tree()
{
	need_setup
	[ "$(jget "$TD/b1.json" .catalog)" = true ] || fail "the backup has no catalog: $(jget "$TD/b1.json" .catalog_reason)"
	cairn catalog --repo "$R" "$(cat "$TD/id1")" / --recursive --json >cat.json
	same_tree "$TD/src" cat.json / 10000
	extents_hold "$IMG" cat.json "$TD/src" / 10000
	# The 1 GiB sparse file: its size, and extents only where it has data.
	[ "$(jq '[.[] | select(.path == "/sparse1g")][0].size' cat.json)" = 1073741824 ] || fail "sparse file size"
	alloc=$(jq '[.[] | select(.path == "/sparse1g")][0].extents | map(.length) | add' cat.json)
	[ "$alloc" -le $(((1 << 20) + 8192)) ] || fail "the sparse file has $alloc bytes of extents"
	# Hard links: one inode, nlink 3.
	[ "$(jq '[.[] | select(.path == "/random.bin" or .path == "/dir/hard" or .path == "/dir/a/hard2") | .inode] | unique | length' cat.json)" = 1 ] ||
		fail "hard links do not share an inode"
}
test_case "catalog --recursive --json equals the source tree; extents hold the bytes" t_tree

t_ls()
{
	need_setup
	cairn catalog --repo "$R" latest /dir >ls.out
	grep -qx 'with space' ls.out || fail "ls: no 'with space'"
	grep -qx 'new\\nline' ls.out || fail "ls: a newline in a name is not escaped"
	grep -qx 'ütf-8 ☃ snow' ls.out || fail "ls: UTF-8 name"
	! grep -q / ls.out || fail "a plain listing prints names, not paths"
	cairn catalog --repo "$R" latest /dir --long >long.out
	grep -q '^lrwxrwxrwx .* rel-link -> a/b/c/d/deep.txt$' long.out || fail "--long: symlink line"
	grep -q '^drwxr-x--x ' long.out || fail "--long: mode of dir/a"
	cairn catalog --repo "$R" latest --find 'f0999?' >find.out
	[ "$(wc -l <find.out)" = 10 ] || fail "--find f0999? found $(wc -l <find.out)"
	grep -qx /many/f09995 find.out || fail "--find prints paths"
	cairn catalog --repo "$R" latest /sparse1g --long >one.out
	grep -q ' 1073741824 ' one.out || fail "not a terminal: exact bytes"
	expect_fail -m "not found" cairn catalog --repo "$R" latest /dir/nope
	expect_fail -m "absolute" cairn catalog --repo "$R" latest dir
	expect_fail -m "no backup" cairn catalog --repo "$R" ffffffffffff
}
test_case "catalog lists like ls and find; bad paths are one line" t_ls

t_gpt()
{
	need_setup
	cairn backup --repo "$R" "$GPT" --name gpt --snapshot none --json >b.json
	[ "$(jget b.json .catalog)" = true ] || fail "no catalog: $(jget b.json .catalog_reason)"
	cairn catalog --repo "$R" gpt@latest / >top.out
	[ "$(cat top.out)" = "$(printf 'p1\np2')" ] || fail "top level: $(tr '\n' ' ' <top.out)"
	cairn catalog --repo "$R" gpt@latest /p1 --recursive --json >p1.json
	same_tree "$TD/src1" p1.json /p1 3
	extents_hold "$GPT" p1.json "$TD/src1" /p1 1
	cairn catalog --repo "$R" gpt@latest /p2 --recursive --json >p2.json
	same_tree "$TD/src2" p2.json /p2 3
	# Offsets are the GPT image's, the partition's 41 MiB included.
	off=$(jq '[.[] | select(.path == "/p2/home/user/data.bin")][0].extents[0].volume_offset' p2.json)
	[ "$off" -ge $((41 << 20)) ] || fail "extent at $off, inside partition 1"
	python3 - "$GPT" "$TD/src2/home/user/data.bin" p2.json <<'EOF' || fail "p2's extents"
import json, sys
e = [x for x in json.load(open(sys.argv[3])) if x["path"] == "/p2/home/user/data.bin"][0]
vol, want = open(sys.argv[1], "rb"), open(sys.argv[2], "rb").read()
got = bytearray(len(want))
for x in e["extents"]:
    vol.seek(x["volume_offset"])
    end = min(len(want), x["file_offset"] + x["length"])
    got[x["file_offset"]:end] = vol.read(end - x["file_offset"])
sys.exit(0 if bytes(got) == want else 1)
EOF
}
test_case "a GPT image with ext3 and ext4 partitions: /p1 and /p2" t_gpt

t_incremental()
{
	need_setup
	debugfs -w -R "sif /dir/a/b/c/d/deep.txt mtime @1800000000" "$IMG" >/dev/null 2>&1
	cairn backup --repo "$R" "$IMG" --name fs --snapshot none --json >b2.json
	jget b2.json .id >"$TD/id2"
	n1=$(jget "$TD/b1.json" .catalog_nodes_new)
	n2=$(jget b2.json .catalog_nodes_new)
	echo "catalog nodes stored: $n1 by the first backup, $n2 by the second" >&2
	[ "$n1" -ge 30 ] || fail "the first backup stored only $n1 catalog nodes"
	# deep.txt's directory, its five ancestors and the volume node.
	[ "$n2" -le 7 ] || fail "one changed file stored $n2 catalog nodes"
	cairn catalog --repo "$R" latest /dir/a/b/c/d/deep.txt --json >e.json
	[ "$(jq '.[0].mtime_ns == 1800000000000000000' e.json)" = true ] || fail "the change is not in the catalog"
}
test_case "an incremental after changing one file stores a handful of catalog nodes" t_incremental

t_no_catalog()
{
	need_setup
	cairn backup --repo "$R" "$IMG" --name nocat --snapshot none --no-catalog -q >/dev/null
	cairn list --repo "$R" --json >l.json
	[ "$(jq -r '[.[] | select(.volume == "nocat")][0].catalog' l.json)" = false ] || fail "has a catalog"
	jq -r '[.[] | select(.volume == "nocat")][0].catalog_reason' l.json | grep -q -- --no-catalog ||
		fail "reason: $(jq -r '[.[] | select(.volume == "nocat")][0].catalog_reason' l.json)"
	expect_fail -m "no file catalog.*--no-catalog" cairn catalog --repo "$R" nocat@latest
}
test_case "--no-catalog: no catalog, and list --json says why" t_no_catalog

t_no_fs()
{
	need_setup
	rand_file "$TT/rand.img" $((16 << 20)) 3702
	cairn backup --repo "$R" "$TT/rand.img" --name rand --snapshot none -q >/dev/null
	cairn list --repo "$R" --json >l.json
	[ "$(jq -r '[.[] | select(.volume == "rand")][0].catalog_reason' l.json)" = "no file system found" ] ||
		fail "reason: $(jq -r '[.[] | select(.volume == "rand")][0].catalog_reason' l.json)"
	expect_fail -m "no file catalog: no file system found" cairn catalog --repo "$R" rand@latest
	cairn restore --repo "$R" rand@latest "$TT/back.img" -q
	same_file "$TT/rand.img" "$TT/back.img"
}
test_case "a volume of random bytes backs up; list --json gives the reason" t_no_fs

t_damaged_fs()
{
	need_setup
	mkfs_d "$TT/dmg.img" 40M "$TD/src1"
	# The root directory's block, overwritten with random bytes.
	blk=$(debugfs -R "blocks /" "$TT/dmg.img" 2>/dev/null | awk '{print $1}')
	[ -n "$blk" ] || fail "no block of the root directory"
	head -c 4096 /dev/urandom | dd of="$TT/dmg.img" bs=4096 seek="$blk" conv=notrunc status=none
	cairn backup --repo "$R" "$TT/dmg.img" --name dmg --snapshot none >id.out 2>err.out ||
		fail "the backup of a damaged file system failed: $(cat err.out)"
	grep -q "warning.*no file catalog of the volume: the file system could not be read" err.out ||
		fail "no warning: $(cat err.out)"
	cairn list --repo "$R" --json >l.json
	jq -r '[.[] | select(.volume == "dmg")][0].catalog_reason' l.json | grep -q "could not be read" ||
		fail "reason: $(jq -r '[.[] | select(.volume == "dmg")][0].catalog_reason' l.json)"
	cairn restore --repo "$R" dmg@latest "$TT/back.img" -q
	same_file "$TT/dmg.img" "$TT/back.img"
}
test_case "a damaged ext4 backs up with a warning and the reason" t_damaged_fs

t_prune()
{
	need_setup
	cairn forget --repo "$R" "$(cat "$TD/id1")" -q
	cairn prune --repo "$R" -q
	cairn catalog --repo "$R" "$(cat "$TD/id2")" / -R --json >cat.json
	[ "$(jq length cat.json)" -gt 10000 ] || fail "the catalog after prune lists $(jq length cat.json)"
	cairn check --repo "$R" -q
}
test_case "prune keeps the catalog nodes backups use; check passes" t_prune

t_group()
{
	need_setup
	cp "$TD/p1.img" "$TD/vol1.img"
	cp "$TD/p2.img" "$TD/vol2.img"
	cairn group create g37 --volume "$TD/vol1.img" --volume "$TD/vol2.img" >/dev/null
	cairn group backup g37 --repo "$R" --json >gb.json
	gid=$(jget gb.json .id)
	cairn catalog --repo "$R" "$gid" vol2.img:/home/user --json >u.json
	[ "$(jq -r '.[].path' u.json | sort | tr '\n' ' ')" = "vol2.img:/home/user/data.bin vol2.img:/home/user/link " ] ||
		fail "group member listing: $(jq -r '.[].path' u.json | tr '\n' ' ')"
	cairn catalog --repo "$R" "$gid" vol1.img: --recursive >r.out
	grep -qx 'vol1.img:/etc/one.conf' r.out || fail "VOLUME: lists the member's root"
	expect_fail -m "VOLUME:/PATH" cairn catalog --repo "$R" "$gid" /etc
	expect_fail -m "no volume nope" cairn catalog --repo "$R" "$gid" nope:/
	cairn group backup g37 --repo "$R" --no-catalog --json >gb2.json
	[ "$(jq '[.backups[].catalog] | all(. == false)' gb2.json)" = true ] ||
		fail "group backup --no-catalog: $(jq -c '[.backups[].catalog_reason]' gb2.json)"
}
test_case "a group backup: VOLUME:/path, and group backup --no-catalog" t_group

t_corrupt()
{
	need_setup
	X=$TT/x
	new_repo "$X"
	cairn backup --repo "$X" "$TD/p2.img" --name small --snapshot none -q >/dev/null
	[ "$(npacks "$X")" = 1 ] || fail "expected one pack"
	pack=$(find "$X/packs" -type f ! -name '.tmp.*')
	size=$(stat -c %s "$pack")
	toc=$(python3 -c 'import struct,sys; f=open(sys.argv[1],"rb"); f.seek(-12,2); print(struct.unpack("<I", f.read(4))[0])' "$pack")
	# The last blob before the TOC is the catalog's volume node (written
	# last): flip the last byte of its tag.
	flip_byte "$pack" $((size - 12 - toc - 1))
	expect_fail -m "catalog" cairn catalog --repo "$X" latest
	rc=0
	cairn check --repo "$X" >check.out 2>&1 || rc=$?
	[ $rc = 3 ] || fail "check exited $rc"
	grep -q "catalog node" check.out || fail "check does not name the catalog node"
}
test_case "a damaged catalog node is one clear error; check reports it" t_corrupt

test_done
