#!/bin/bash
# t38: cairn mount (FUSE) and instant recovery.  A volume's backups appear
# as image files that read byte-identical to the volumes backed up and
# loop-mount as the file systems they were; with --overlay an image takes
# writes that land in the overlay file only (the backup restores as it
# was), a reopened overlay continues, and restore --from-overlay gives the
# backup plus the writes; a damaged chunk reads as EIO while the rest reads
# right; umount, Ctrl-C and SIGTERM unmount cleanly; a SIGKILLed mount is
# cleared by fusermount3 -u; bad input is one line and a non-zero exit.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
IMG=$TD/vm1.img

# mounted DIR: waits up to 20 s for DIR to become a mount point.
mounted()
{
	local i
	for i in $(seq 200); do
		mountpoint -q "$1" && return 0
		sleep 0.1
	done
	fail "$1 did not become a mount point"
}

# gone DIR: waits up to 20 s for DIR to stop being a mount point.
gone()
{
	local i
	for i in $(seq 200); do
		mountpoint -q "$1" || return 0
		sleep 0.1
	done
	fail "$1 is still mounted"
}

# mount_at DIR ARGS...: cairn mount ARGS DIR, unmounted when the file ends.
mount_at()
{
	local d=$1
	shift
	mkdir -p "$d"
	register_cleanup mount "$d"
	cairn mount --repo "$R" "$@" "$d" --json >"$TT/mount.json"
	mountpoint -q "$d" || fail "cairn mount returned before $d was mounted"
}

# image DIR N: the path of the Nth image (1-based) that mount_at printed.
image()
{
	jget "$TT/mount.json" ".images[$(($2 - 1))].path"
}

need_fuse()
{
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	command -v fusermount3 >/dev/null || skip "fusermount3 is not installed (package fuse3)"
}

t_setup()
{
	mk_image "$IMG" 32 3801 8
	cp "$IMG" "$TD/v1.img"
	new_repo "$R" --chunk-size 16K --pack-size 1M
	cairn backup --repo "$R" "$IMG" --name vm1 --snapshot none -q >"$TD/id1"
	scatter_write "$IMG" 3802 40 >/dev/null
	cp "$IMG" "$TD/v2.img"
	# Image names have a second's resolution: a second apart, name order
	# (what ls and the tests below use) is time order too.
	sleep 1
	cairn backup --repo "$R" "$IMG" --name vm1 --snapshot none -q >"$TD/id2"
}
test_case "setup: two backups of a 32 MiB ext4 image" t_setup

t_read()
{
	need_fuse
	mount_at "$TT/m" vm1
	[ "$(jq '.images | length' "$TT/mount.json")" = 2 ] || fail "a volume's mount shows $(jq '.images|length' "$TT/mount.json") images, not 2"
	[ "$(jget "$TT/mount.json" '.writable')" = false ] || fail "a mount without --overlay says it is writable"
	[ "$(jget "$TT/mount.json" '.images[0].id')" = "$(cat "$TD/id1")" ] || fail "the images are not in time order"
	ls "$TT/m/vm1" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{6}Z-[0-9a-f]{8}\.img$' || fail "image names: $(ls "$TT/m/vm1")"
	same_file "$TD/v1.img" "$(image "$TT/m" 1)"
	same_file "$TD/v2.img" "$(image "$TT/m" 2)"
	[ "$(stat -c %s "$(image "$TT/m" 1)")" = $((32 << 20)) ] || fail "wrong image size"
	# Read-only without an overlay.
	if dd if=/dev/zero of="$(image "$TT/m" 1)" bs=4096 count=1 conv=notrunc 2>"$TT/dd.err"; then
		fail "a read-only image took a write"
	fi
	grep -q "Read-only file system" "$TT/dd.err" || fail "write refused with: $(cat "$TT/dd.err")"
	cairn umount "$TT/m"
	gone "$TT/m"
}
test_case "mount VOLUME: each backup an image, byte-identical, read-only" t_read

t_loop()
{
	need_fuse
	[ "$(id -u)" = 0 ] || skip "needs root for loop mounts"
	mount_at "$TT/m" "$(cat "$TD/id2")"
	[ "$(jq '.images | length' "$TT/mount.json")" = 1 ] || fail "a backup's mount shows more than its image"
	mkdir -p "$TT/fs" "$TT/src"
	mount -o ro,loop "$(image "$TT/m" 1)" "$TT/fs" 2>"$TT/mnt.err" || skip "cannot loop-mount here: $(cat "$TT/mnt.err")"
	register_cleanup mount "$TT/fs"
	mount -o ro,loop "$TD/v2.img" "$TT/src"
	register_cleanup mount "$TT/src"
	diff -r "$TT/src" "$TT/fs" >"$TT/diff" || fail "the loop-mounted tree differs: $(head -3 "$TT/diff")"
	[ "$(cd "$TT/fs" && find . | wc -l)" -gt 10 ] || fail "the loop-mounted tree is nearly empty"
	umount "$TT/fs"
	umount "$TT/src"
	cairn umount "$TT/m"
	gone "$TT/m"
}
test_case "loop-mounting an image read-only shows the file system as it was" t_loop

t_overlay()
{
	need_fuse
	local id1 img
	id1=$(cat "$TD/id1")
	mount_at "$TT/m" "$id1" --overlay "$TD/ov"
	[ "$(jget "$TT/mount.json" '.writable')" = true ] || fail "an overlay mount is not writable"
	img=$(image "$TT/m" 1)
	cp "$TD/v1.img" "$TD/want.img"
	# Unaligned bytes, whole blocks, zeros over data, and the last bytes.
	for w in "12345 777 3811" "1048576 65536 3812" "$(((32 << 20) - 100)) 100 3813"; do
		set -- $w
		rand_file "$TT/w" "$2" "$3"
		dd if="$TT/w" of="$img" bs="$2" count=1 seek="$1" oflag=seek_bytes conv=notrunc status=none
		dd if="$TT/w" of="$TD/want.img" bs="$2" count=1 seek="$1" oflag=seek_bytes conv=notrunc status=none
	done
	dd if=/dev/zero of="$img" bs=4096 seek=2048 count=4 conv=notrunc status=none
	dd if=/dev/zero of="$TD/want.img" bs=4096 seek=2048 count=4 conv=notrunc status=none
	same_file "$TD/want.img" "$img"
	# A disk does not grow.
	if dd if="$TT/w" of="$img" bs=1 seek=$((32 << 20)) conv=notrunc 2>/dev/null; then
		fail "a write past the end of the image succeeded"
	fi
	cairn umount "$TT/m"
	gone "$TT/m"
	# The backup is unchanged; the overlay holds little.
	cairn restore --repo "$R" "$id1" "$TT/orig.img" -q
	same_file "$TD/v1.img" "$TT/orig.img"
	[ "$(allocated_bytes "$TD/ov")" -lt $((1 << 20)) ] || fail "the overlay takes $(allocated_bytes "$TD/ov") bytes"
	# Reopened, it continues.
	mount_at "$TT/m" "$id1" --overlay "$TD/ov"
	same_file "$TD/want.img" "$(image "$TT/m" 1)"
	cairn umount "$TT/m"
	gone "$TT/m"
	# The backup plus the writes, to real storage.
	cairn restore --repo "$R" "$id1" "$TT/new.img" --from-overlay "$TD/ov" --json >"$TT/r.json"
	same_file "$TD/want.img" "$TT/new.img"
	[ "$(jget "$TT/r.json" '.overlay_bytes')" -gt 0 ] || fail "restore reports no overlay bytes"
}
test_case "--overlay: writes read back, the backup unchanged, reopened continues, restore --from-overlay" t_overlay

t_overlay_refused()
{
	need_fuse
	[ -f "$TD/ov" ] || skip "needs the overlay of the test before"
	mkdir -p "$TT/m"
	expect_fail -m "overlay .* belongs to backup" cairn mount --repo "$R" "$(cat "$TD/id2")" "$TT/m" --overlay "$TD/ov"
	expect_fail -m "overlay .* belongs to backup" cairn restore --repo "$R" "$(cat "$TD/id2")" "$TT/x.img" --from-overlay "$TD/ov"
	[ ! -e "$TT/x.img" ] || fail "a refused restore left its target"
	expect_fail -m "one image" cairn mount --repo "$R" vm1 "$TT/m" --overlay "$TT/ov2"
	[ ! -e "$TT/ov2" ] || fail "a refused mount created its overlay"
	echo junk >"$TT/notov"
	expect_fail -m "not a cairn overlay" cairn restore --repo "$R" "$(cat "$TD/id1")" "$TT/y.img" --from-overlay "$TT/notov"
	mountpoint -q "$TT/m" && fail "a refused mount is mounted"
	return 0
}
test_case "an overlay of another backup, of several images, or not an overlay: refused" t_overlay_refused

t_damage()
{
	need_fuse
	local pack
	cp -a "$R" "$TT/bad"
	# The largest pack holds data chunks; flip a byte in its middle.
	pack=$(find "$TT/bad/packs" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
	python3 - "$pack" <<'EOF'
import os, sys
p = sys.argv[1]
n = os.path.getsize(p)
with open(p, "r+b") as f:
    f.seek(n // 3)
    b = f.read(1)
    f.seek(n // 3)
    f.write(bytes([b[0] ^ 0x55]))
EOF
	mkdir -p "$TT/m"
	register_cleanup mount "$TT/m"
	cairn mount --repo "$TT/bad" "$(cat "$TD/id1")" "$TT/m" -q
	img=$(ls "$TT/m"/vm1/*.img)
	if dd if="$img" of=/dev/null bs=1M 2>"$TT/dd.err"; then
		fail "reading an image with a damaged chunk succeeded"
	fi
	grep -q "Input/output error" "$TT/dd.err" || fail "dd failed with: $(cat "$TT/dd.err")"
	# Chunk by chunk: the damaged ones fail, every other reads right.
	python3 - "$img" "$TD/v1.img" <<'EOF' || fail "a chunk read wrong"
import errno, os, sys
cs = 16384
img, src = sys.argv[1], sys.argv[2]
fd = os.open(img, os.O_RDONLY)
bad = ok = 0
with open(src, "rb") as s:
    for off in range(0, os.path.getsize(src), cs):
        s.seek(off)
        want = s.read(cs)
        try:
            got = os.pread(fd, cs, off)
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            bad += 1
            continue
        if got != want:
            print("chunk at %d reads wrong" % off)
            sys.exit(1)
        ok += 1
print("  %d chunks read right, %d EIO" % (ok, bad), file=sys.stderr)
sys.exit(0 if bad >= 1 and ok > 100 else 1)
EOF
	cairn umount "$TT/m"
	gone "$TT/m"
}
test_case "a damaged chunk reads as EIO, the rest of the image reads right" t_damage

t_signals()
{
	need_fuse
	local pid
	mkdir -p "$TT/m"
	register_cleanup mount "$TT/m"
	# Ctrl-C on a foreground mount: unmounted, exit 0.
	"$CAIRN" mount --repo "$R" vm1 "$TT/m" --foreground -q 2>"$TT/fg.err" &
	pid=$!
	mounted "$TT/m"
	same_file "$TD/v1.img" "$(ls "$TT/m"/vm1/*.img | head -1)"
	kill -INT "$pid"
	wait "$pid" || fail "the foreground mount exited $? on SIGINT: $(cat "$TT/fg.err")"
	gone "$TT/m"
	# SIGTERM to the background server: unmounted.
	cairn mount --repo "$R" vm1 "$TT/m" -q
	pid=$(pgrep -f -- "mount --repo $R vm1 $TT/m" | head -1)
	[ -n "$pid" ] || fail "no serving process"
	kill -TERM "$pid"
	gone "$TT/m"
	# SIGKILL: the mount point is dead until fusermount3 -u clears it.
	cairn mount --repo "$R" vm1 "$TT/m" -q
	pid=$(pgrep -f -- "mount --repo $R vm1 $TT/m" | head -1)
	kill -KILL "$pid"
	sleep 0.3
	if ls "$TT/m" >/dev/null 2>"$TT/ls.err"; then
		fail "a killed mount still serves"
	fi
	grep -q "Transport endpoint is not connected" "$TT/ls.err" || fail "ls after kill: $(cat "$TT/ls.err")"
	fusermount3 -u "$TT/m"
	gone "$TT/m"
	[ -z "$(ls -A "$TT/m")" ] || fail "the mount point is not empty after fusermount3 -u"
}
test_case "Ctrl-C and SIGTERM unmount cleanly; a SIGKILLed mount is cleared by fusermount3 -u" t_signals

t_group()
{
	need_fuse
	local gid
	rand_file "$TT/a.img" $((3 << 20)) 3821
	rand_file "$TT/b.img" $((5 << 20)) 3822
	cairn group create g38 --volume "$TT/a.img" --volume "$TT/b.img" -q
	cairn group backup g38 --repo "$R" --json >"$TT/gb.json"
	gid=$(jget "$TT/gb.json" .id)
	mount_at "$TT/m" "$gid"
	[ "$(jq '.images | length' "$TT/mount.json")" = 2 ] || fail "a group backup's mount shows $(jq '.images|length' "$TT/mount.json") images"
	same_file "$TT/a.img" "$(ls "$TT"/m/a.img/*.img)"
	same_file "$TT/b.img" "$(ls "$TT"/m/b.img/*.img)"
	cairn umount "$TT/m"
	gone "$TT/m"
}
test_case "mount GROUP-BACKUP: each member's image" t_group

t_bad_input()
{
	mkdir -p "$TT/m" "$TT/full"
	: >"$TT/full/x"
	: >"$TT/file"
	expect_fail -c 1 -m "no backup, volume or group backup is named 'nosuch'" cairn mount --repo "$R" nosuch "$TT/m"
	expect_fail -c 1 -m "not a directory" cairn mount --repo "$R" vm1 "$TT/file"
	expect_fail -c 1 -m "not empty" cairn mount --repo "$R" vm1 "$TT/full"
	expect_fail -c 1 -m "mount point .*nodir" cairn mount --repo "$R" vm1 "$TT/nodir"
	expect_fail -c 2 -m "need BACKUP" cairn mount --repo "$R" vm1
	expect_fail -c 2 -m "cache" cairn mount --repo "$R" vm1 "$TT/m" --cache lots
	expect_fail -c 1 -m "cannot unmount" cairn umount "$TT/m"
	mountpoint -q "$TT/m" && fail "something got mounted"
	[ -f "$TT/full/x" ] || fail "the non-empty directory lost its file"
	cairn mount --help | grep -q "overlay" || fail "mount --help says nothing of --overlay"
}
test_case "bad input: one clear line, non-zero exit, nothing mounted" t_bad_input

test_done
