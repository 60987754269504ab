#!/bin/bash
# t53: the edges of a mounted image's reads.  The kernel asks for up to
# 1 MiB at a time (st_blksize says so: cat and cp read in that size), the
# volume reader copies each chunk out unlocked under its pin while other
# requests fetch and evict around it (docs/design.md §18): reads of any
# size at any offset crossing chunk boundaries, reads of the last partial
# chunk and past the end, cat of the whole image, all through a cache far
# smaller than the image and with many readers at once, read the image
# backed up; O_DIRECT reads reach the reader unaligned and unsplit.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
IMG=$TD/vol.img
# Not a multiple of the 16 KiB chunk: the last chunk is 12345 bytes.
SIZE=$(((9 << 20) + 12345))

t_setup()
{
	python3 - "$IMG" "$SIZE" <<'PY'
import random, sys
r = random.Random(53)
size = int(sys.argv[2])
with open(sys.argv[1], "wb") as f:
    f.truncate(size)
    off = 0
    while off < size:
        n = r.randrange(1, 24) * 16384
        if r.random() < 0.75:
            f.seek(off)
            f.write(r.randbytes(min(n, size - off)))
        off += n + r.randrange(0, 4) * 16384
    # The last partial chunk holds data.
    f.seek(size - 12345)
    f.write(r.randbytes(12345))
PY
	new_repo "$R" --chunk-size 16K --pack-size 1M
	cairn backup --repo "$R" "$IMG" --name vol --snapshot none -q >"$TD/id"
}
test_case "setup: a backup of a 9 MiB image whose last chunk is partial" t_setup

# mount_img: mounts the backup at $TT/m with a 1 MiB cache; prints the image.
mount_img()
{
	mount_backup "$R" "$(cat "$TD/id")" "$TT/m" --cache 1M
}

# reads IMAGE FLAGS: preads of the mounted image compared with the image:
# around every 16 KiB chunk boundary and 1 MiB boundary, lengths 1 byte to
# 1 MiB + 3, at the end of the image and past it.  FLAGS "direct" opens
# the mount O_DIRECT (the kernel hands the reads to cairn as they are).
# Prints each difference, nothing when all agree.
reads()
{
	python3 - "$1" "$IMG" "$2" <<'PY'
import mmap, os, random, sys
path, src_path, flags = sys.argv[1], sys.argv[2], sys.argv[3]
src = open(src_path, "rb").read()
size = len(src)
fd = os.open(path, os.O_RDONLY | (os.O_DIRECT if flags == "direct" else 0))
if os.fstat(fd).st_size != size:
    print("size", os.fstat(fd).st_size, "not", size)
buf = mmap.mmap(-1, (2 << 20) + 8192)  # page-aligned, for O_DIRECT
def check(off, n):
    view = memoryview(buf)[:n]
    got = os.preadv(fd, [view], off)
    want = src[off:off + n]
    if got != len(want) or bytes(view[:got]) != want:
        print(f"read of {n} at {off}: got {got} bytes, {'wrong' if got == len(want) else 'short'}")
r = random.Random(5300 + (flags == "direct"))
cs = 16384
lens = [1, 4095, 4096, cs - 1, cs, cs + 1, 3 * cs + 7, (1 << 20) - 1, 1 << 20, (1 << 20) + 3]
for _ in range(300):
    b = r.choice([r.randrange(1, size // cs) * cs, r.randrange(1, 9) << 20])
    n = r.choice(lens)
    off = max(0, b - r.randrange(0, min(n, b) + 1))
    if flags == "direct":
        off -= off % 512
        n = max(512, n - n % 512)
    check(off, n)
# The end: reads ending at it, crossing it, starting in the last chunk,
# at it and past it (0 bytes).
last = size - size % cs
for off, n in [(last, size - last), (last - 100, 1 << 20), (size - 1, 1), (size - 1, 4096), (size - 5000, 5000),
               (size - (1 << 20) - 17, (1 << 20) + 4096), (size, 4096), (size + 4096, 4096)]:
    if flags == "direct":
        off -= off % 512
        n = max(512, n - n % 512)
    check(off, n)
PY
}

t_edges()
{
	need_fuse
	local img out
	img=$(mount_img)
	out=$(reads "$img" cached) || fail "reading the mount failed"
	[ -z "$out" ] || fail "reads through the page cache differ: $(echo "$out" | head -3)"
	out=$(reads "$img" direct) || fail "reading the mount O_DIRECT failed"
	[ -z "$out" ] || fail "O_DIRECT reads differ: $(echo "$out" | head -3)"
	cairn umount "$TT/m"
}
test_case "reads across chunk and 1 MiB boundaries and at the partial last chunk read the image" t_edges

t_whole()
{
	need_fuse
	local img k want
	img=$(mount_img)
	[ "$(stat -c %o "$img")" = $((1 << 20)) ] || fail "st_blksize is $(stat -c %o "$img"), not 1 MiB"
	want=$(sha256sum <"$IMG" | cut -d' ' -f1)
	# cat reads st_blksize at a time; dd 1 MiB and 3 MiB + 1 (the kernel
	# splits it), all at once: each request copies from chunks others
	# fetch and the 1 MiB cache evicts.
	cat "$img" | sha256sum | cut -d' ' -f1 >"$TT/sum1" &
	dd if="$img" bs=1M status=none | sha256sum | cut -d' ' -f1 >"$TT/sum2" &
	dd if="$img" bs=3145729 status=none | sha256sum | cut -d' ' -f1 >"$TT/sum3" &
	dd if="$img" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1 >"$TT/sum4" &
	wait
	for k in 1 2 3 4; do
		[ "$(cat "$TT/sum$k")" = "$want" ] || fail "whole-image reader $k read other bytes than the image's"
	done
	cairn umount "$TT/m"
}
test_case "cat and dd of the whole image at once, some O_DIRECT, read the image" t_whole

test_done
