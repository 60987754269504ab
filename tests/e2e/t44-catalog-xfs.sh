#!/bin/bash
# t44: XFS and btrfs catalogs (source/mntscan.c: a read-only loop mount in
# a private mount namespace, FIEMAP).  Images made by mkfs.xfs and
# mkfs.btrfs, populated through a loop mount (nested directories, names
# with spaces, symlinks, hard links, a sparse file, a reflinked copy), are
# backed up as root: the catalog lists exactly the tree (find -printf),
# restore-file gives it back byte-identical, diff --files of two backups
# names the changed file, and no mount or loop device is left behind.
# A btrfs holding a compressed file larger than the 4 KiB a catalog keeps
# itself has one (its extents compressed; t56 has the rest); a backup by a
# user who is not root has none, with the reason in list --json and as
# the one-line error of catalog.
. "$(dirname "$0")/lib.sh"

R=repo # in each test's directory
export CAIRN_NO_PROGRESS=1

# populate DIR: the tree, through the mount at DIR.
populate()
{
	mkdir -p "$1/top/a b/c  d/e" "$1/empty dir"
	rand_file "$1/top/a b/c  d/e/deep file" 300000 1
	rand_file "$1/big" $((3 << 20)) 2
	echo "small text" >"$1/top/small"
	ln -s "a b/c  d/e/deep file" "$1/top/rel link"
	ln -s /nowhere "$1/dangling"
	ln "$1/big" "$1/top/a b/hard link"
	# Sparse: 10 MiB with 192 KiB of data at 2.5 MiB and 5000 bytes at the end.
	truncate -s 10M "$1/sparse"
	dd if=/dev/urandom of="$1/sparse" bs=64k count=3 seek=40 conv=notrunc status=none
	dd if=/dev/urandom of="$1/sparse" bs=1 count=5000 seek=$(((10 << 20) - 5000)) conv=notrunc status=none
	cp --reflink=always "$1/big" "$1/reflinked" 2>/dev/null || cp "$1/big" "$1/reflinked"
	chmod 0751 "$1/top/a b"
	chown 1234:5678 "$1/top/small"
	find "$1" -mindepth 1 -exec touch -h -d @1700000000 {} +
}

# mkimg KIND IMAGE [MOUNT OPTIONS]: a KIND image file populated through a
# loop mount (with OPTIONS), unmounted again; or the test skips.
mkimg()
{
	local kind=$1 img=$2 opts=${3:-}
	[ "$(id -u)" = 0 ] || skip "needs root for loop devices and mounts"
	command -v "mkfs.$kind" >/dev/null || skip "mkfs.$kind is not installed"
	truncate -s 300M "$img"
	case $kind in
	xfs) mkfs.xfs -q -f -m reflink=1 "$img" >/dev/null 2>&1 || skip "mkfs.xfs failed" ;;
	btrfs) mkfs.btrfs -q -f "$img" >/dev/null 2>&1 || skip "mkfs.btrfs failed" ;;
	esac
	mkdir -p "$TT/m"
	mount -o "loop${opts:+,$opts}" "$img" "$TT/m" 2>/dev/null || skip "the kernel cannot mount $kind here"
	populate "$TT/m"
	umount "$TT/m"
}

# nothing_left IMAGE: no loop device and no mount of cairn's remain.
nothing_left()
{
	! losetup -a | grep -F "$TD" | grep -v '\.fsimg' || fail "a loop device of the test was left attached"
	! grep -q cairn-catalog /proc/mounts || fail "a catalog mount was left in the host's mount table"
	! ls -d /tmp/cairn-catalog.* 2>/dev/null | grep -q . || true
}

# roundtrip KIND [MOUNT OPTIONS]: catalog equals the tree, restore-file is
# byte-identical, diff --files finds the one changed file.
roundtrip()
{
	local kind=$1 img=$TT/$1.img id id2
	mkimg "$kind" "$img" "${2:-}"
	new_repo "$R"
	expect_ok cairn backup --repo "$R" --json "$img"
	[ "$(jq -r .catalog "$TT/.out")" = true ] || fail "$kind: no catalog: $(jq -r .catalog_reason "$TT/.out")"
	id=$(jq -r .id "$TT/.out")
	nothing_left
	expect_ok cairn catalog --repo "$R" "$id" / --recursive --json
	cp "$TT/.out" cat.json
	mount -o loop,ro${2:+,$2} "$img" "$TT/m"
	register_cleanup mount "$TT/m"
	same_tree "$TT/m" cat.json / 10
	# Extents: the sparse file's are its data alone; the reflinked copy's
	# are shared.
	jq -e '.[] | select(.path == "/sparse") | [.extents[].length] | add < 1048576' cat.json >/dev/null ||
		fail "$kind: the sparse file's extents cover its holes"
	if [ "$kind" = btrfs ] || xfs_info "$TT/m" 2>/dev/null | grep -q 'reflink=1'; then
		jq -e '.[] | select(.path == "/reflinked") | all(.extents[]; .shared)' cat.json >/dev/null ||
			fail "$kind: the reflinked copy's extents are not marked shared"
	fi
	expect_ok cairn restore-file --repo "$R" "$id" / "$TT/out"
	diff -r --no-dereference "$TT/m" "$TT/out" || fail "$kind: restore-file differs from the file system"
	[ "$(stat -c %s "$TT/out/sparse")" = $((10 << 20)) ] || fail "$kind: the sparse file's size differs"
	[ "$(readlink "$TT/out/top/rel link")" = "a b/c  d/e/deep file" ] || fail "$kind: a symlink differs"
	[ "$(stat -c %i "$TT/out/big")" = "$(stat -c %i "$TT/out/top/a b/hard link")" ] ||
		fail "$kind: the hard link was not kept"
	umount "$TT/m"
	# One file changed: diff --files names it.
	mount -o loop${2:+,$2} "$img" "$TT/m"
	rand_file "$TT/m/top/small" 5000 9
	umount "$TT/m"
	expect_ok cairn backup --repo "$R" -q "$img"
	id2=$(cat "$TT/.out")
	expect_ok cairn diff --repo "$R" --files "$id" "$id2"
	grep -q '^M	/top/small$' "$TT/.out" || fail "$kind: diff --files does not name the changed file"
	# (Files whose data shares a chunk with it may be named as such.)
	! grep -q '^M	/big$' "$TT/.out" || fail "$kind: diff --files names an unchanged file as modified"
	nothing_left
}

t_xfs() { roundtrip xfs; }
# btrfs keeps small files' data inline in its metadata unless told not to.
t_btrfs() { roundtrip btrfs max_inline=0; }

t_btrfs_compressed()
{
	mkimg btrfs "$TT/b.img"
	mount -o loop,compress=zstd "$TT/b.img" "$TT/m" 2>/dev/null || skip "the kernel cannot compress btrfs here"
	printf '%.0sa compressible line of text\n' $(seq 1 8000) >"$TT/m/top/compressed"
	umount "$TT/m"
	new_repo "$R"
	expect_ok cairn backup --repo "$R" --json "$TT/b.img"
	[ "$(jq -r .catalog "$TT/.out")" = true ] ||
		fail "a btrfs with a large compressed file has no catalog: $(jq -r .catalog_reason "$TT/.out")"
	expect_ok cairn catalog --repo "$R" latest /top/compressed --json
	jq -e '.[0].size == 224000 and any(.[0].extents[]; .compression == "zstd")' "$TT/.out" >/dev/null ||
		fail "the compressed file is not in zstd extents: $(head -c 300 "$TT/.out")"
	nothing_left
}

t_not_root()
{
	mkimg xfs "$TT/x.img"
	command -v runuser >/dev/null || skip "runuser is not installed"
	new_repo "$R"
	chmod 0755 "$TT" "$TD"
	chmod -R a+rwX "$R"
	chmod a+r "$TT/x.img"
	local st=$TT/nobody-state
	mkdir -p "$st"
	chown nobody "$st"
	# The binary under test sits in a directory of root's alone.
	cp "$CAIRN" "$TT/cairn-bin"
	chmod 0755 "$TT/cairn-bin"
	runuser -u nobody -- env CAIRN_PASSPHRASE="$CAIRN_PASSPHRASE" CAIRN_STATE_DIR="$st" CAIRN_NO_PROGRESS=1 \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" "$TT/cairn-bin" backup --repo "$R" --snapshot none --json "$TT/x.img" >"$TT/.out" 2>"$TT/.err" ||
		fail "backup as nobody failed: $(head -c 300 "$TT/.err")"
	jq -r .catalog_reason "$TT/.out" | grep -q 'xfs: .*needs root' || fail "the reason does not say root"
	expect_ok cairn list --repo "$R" --json
	jq -e '.[0].catalog == false and (.[0].catalog_reason | test("needs root"))' "$TT/.out" >/dev/null ||
		fail "list --json does not give the reason"
	expect_fail -m 'needs root' cairn restore-file --repo "$R" latest /big "$TT/out"
	[ ! -e "$TT/out" ] || fail "restore-file without a catalog wrote something"
}

test_case "XFS: catalog equals the tree, restore-file and diff --files" t_xfs
test_case "btrfs (max_inline=0): catalog equals the tree, restore-file and diff --files" t_btrfs
test_case "btrfs with a compressed file past 4 KiB: in the catalog, in zstd extents" t_btrfs_compressed
test_case "not root: no catalog of XFS, the reason shown" t_not_root
test_done
