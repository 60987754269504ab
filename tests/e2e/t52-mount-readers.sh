#!/bin/bash
# t52: a mounted image under many readers at once reads byte-identical.
# The mount serves requests on many threads, the kernel sends up to 32
# read-ahead requests at once, and the volume reader merges gets across
# holes and widens them for a dense random reader (docs/design.md §18):
# four whole-image readers and four random readers at once, through a
# chunk cache far smaller than the image, all see the image backed up;
# then a sequential reader and a dense random reader after each other.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
IMG=$TD/vol.img

need_fuse()
{
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	command -v fusermount3 >/dev/null || skip "fusermount3 is not installed (package fuse3)"
}

t_setup()
{
	# 48 MiB: runs of random data with holes between them (zero chunks
	# the reader does not fetch, and merges gets across).
	python3 - "$IMG" <<'PY'
import random, sys
r = random.Random(52)
with open(sys.argv[1], "wb") as f:
    f.truncate(48 << 20)
    off = 0
    while off < (48 << 20):
        n = r.randrange(1, 40) * 16384
        if r.random() < 0.7:
            f.seek(off)
            f.write(r.randbytes(min(n, (48 << 20) - off)))
        off += n + r.randrange(0, 8) * 16384
PY
	new_repo "$R" --chunk-size 16K --pack-size 1M
	cairn backup --repo "$R" "$IMG" --name vol --snapshot none -q >"$TD/id"
}
test_case "setup: a backup of a 48 MiB image with holes" t_setup

# mount_img: mounts the backup at $TT/m with a 1 MiB cache; prints the image.
mount_img()
{
	mkdir -p "$TT/m"
	register_cleanup mount "$TT/m"
	cairn mount --repo "$R" "$(cat "$TD/id")" "$TT/m" --cache 1M --json >"$TT/mount.json"
	mountpoint -q "$TT/m" || fail "cairn mount returned before $TT/m was mounted"
	jget "$TT/mount.json" '.images[0].path'
}

# random_reader IMAGE SEED SPAN: 400 random reads of 4..64 KiB below SPAN,
# each compared with the image backed up; says how many differed.
random_reader()
{
	python3 - "$1" "$IMG" "$2" "$3" <<'PY'
import os, random, sys
m, src, seed, span = os.open(sys.argv[1], os.O_RDONLY), os.open(sys.argv[2], os.O_RDONLY), int(sys.argv[3]), int(sys.argv[4])
r = random.Random(seed)
bad = 0
for _ in range(400):
    n = r.randrange(1, 17) * 4096
    off = r.randrange(0, span - n)
    if os.pread(m, n, off) != os.pread(src, n, off):
        bad += 1
print(bad)
PY
}

t_concurrent()
{
	need_fuse
	local img want k
	img=$(mount_img)
	want=$(sha256sum <"$IMG" | cut -d' ' -f1)
	for k in 1 2 3 4; do
		sha256sum <"$img" | cut -d' ' -f1 >"$TT/sum$k" &
		random_reader "$img" "$k" $((48 << 20)) >"$TT/bad$k" &
	done
	wait
	for k in 1 2 3 4; do
		[ "$(cat "$TT/sum$k")" = "$want" ] || fail "whole-image reader $k read other bytes than the image's"
		[ "$(cat "$TT/bad$k")" = 0 ] || fail "random reader $k: $(cat "$TT/bad$k") of 400 reads differ"
	done
	cairn umount "$TT/m"
}
test_case "four whole-image readers and four random readers at once read the image" t_concurrent

t_dense()
{
	need_fuse
	local img
	img=$(mount_img)
	# Random reads packed in 2 MiB (the reader widens its gets around
	# them), then the whole image in order, then random reads over it.
	[ "$(random_reader "$img" 7 $((2 << 20)))" = 0 ] || fail "dense random reads differ"
	same_file "$IMG" "$img"
	[ "$(random_reader "$img" 8 $((48 << 20)))" = 0 ] || fail "random reads after a whole read differ"
	cairn umount "$TT/m"
}
test_case "dense random reads, a whole read and sparse random reads after each other" t_dense

test_done
