#!/bin/bash
# t8: restore --delta rewrites only what differs, by change tags or by ids,
# and the result is byte-identical to a full restore.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
IMG=$TD/vol.img

t_setup()
{
	new_repo "$R"
	mk_image "$IMG" 32 7 8
	cairn backup --repo "$R" "$IMG" --name vol --json >"$TD/b1.json"
	jget "$TD/b1.json" .id >"$TD/id1"
}
test_case "setup: a backup of a 32 MiB image" t_setup

# changed_copy OUT SEED COUNT: a copy of the backed-up image with COUNT
# scattered 4 KiB writes.
changed_copy()
{
	cp --sparse=always "$IMG" "$1"
	scatter_write "$1" "$2" "$3" >"$1.writes"
}

t_by_tags()
{
	changed_copy t.img 11 40
	cairn restore --repo "$R" "$(cat "$TD/id1")" t.img --delta --json >out.json
	same_file "$IMG" t.img
	[ "$(jget out.json .compared_by)" = "change tags" ] || fail "expected a comparison by change tags"
	[ "$(jget out.json .delta)" = true ] || fail "delta is not true in the JSON"
	# Only the touched chunks were rewritten (zero chunks that got data
	# are punched, which counts as written too).
	local touched written
	touched=$(chunks_of 65536 <t.img.writes | wc -l)
	written=$(jget out.json .bytes_written)
	[ "$written" -le $((touched * 65536)) ] || fail "rewrote $written bytes for $touched touched chunks"
	[ "$written" -gt 0 ] || fail "nothing rewritten"
	[ "$(jget out.json .chunks_same)" -gt 0 ] || fail "no chunk was found the same"
}
test_case "--delta by change tags rewrites only the changed chunks" t_by_tags

t_by_ids()
{
	# Without the state directory the tags are unknown: compare by id.
	changed_copy t.img 12 40
	CAIRN_STATE_DIR=$TT/empty-state cairn restore --repo "$R" "$(cat "$TD/id1")" t.img --delta --json >out.json
	same_file "$IMG" t.img
	[ "$(jget out.json .compared_by)" = ids ] || fail "expected a comparison by ids"
	local touched
	touched=$(chunks_of 65536 <t.img.writes | wc -l)
	[ "$(jget out.json .bytes_written)" -le $((touched * 65536)) ] || fail "rewrote more than the touched chunks"
}
test_case "--delta without change tags compares by id" t_by_ids

t_unchanged()
{
	cp --sparse=always "$IMG" t.img
	cairn restore --repo "$R" "$(cat "$TD/id1")" t.img --delta --json >out.json
	same_file "$IMG" t.img
	[ "$(jget out.json .bytes_written)" -eq 0 ] || fail "rewrote data onto an identical target"
	[ "$(jget out.json .bytes_fetched)" -eq 0 ] || fail "fetched data for an identical target"
}
test_case "--delta onto an identical target writes nothing" t_unchanged

t_zeros_and_size()
{
	# Data where the backup has zeros, and a target of the wrong size.
	cp --sparse=always "$IMG" t.img
	dd if=/dev/urandom of=t.img bs=1M seek=40 count=2 conv=notrunc 2>/dev/null # grows it to 42 MiB
	head -c 1048576 /dev/urandom | dd of=t.img bs=1M seek=20 conv=notrunc 2>/dev/null
	cairn restore --repo "$R" "$(cat "$TD/id1")" t.img --delta
	same_file "$IMG" t.img
	cp --sparse=always "$IMG" small.img
	truncate -s 16M small.img
	cairn restore --repo "$R" "$(cat "$TD/id1")" small.img --delta
	same_file "$IMG" small.img
}
test_case "--delta zeroes stray data and fixes the target's size" t_zeros_and_size

t_other_volume()
{
	# A target that has nothing in common with the backup still ends up
	# byte-identical (everything is rewritten).
	mk_image other.img 32 99 8
	cairn restore --repo "$R" "$(cat "$TD/id1")" other.img --delta
	same_file "$IMG" other.img
}
test_case "--delta onto an unrelated image rewrites it entirely" t_other_volume

t_device()
{
	[ "$(id -u)" = 0 ] || skip "needs root for a loop device"
	truncate -s 32M dev.img
	local dev
	dev=$(setup_loop dev.img) || skip "no loop device available"
	cairn restore --repo "$R" "$(cat "$TD/id1")" "$dev" --force
	scatter_write "$dev" 5 30 >/dev/null
	cairn restore --repo "$R" "$(cat "$TD/id1")" "$dev" --delta --json >out.json
	cmp -n "$(stat -c %s "$IMG")" "$dev" "$IMG" || fail "device differs from the image after --delta"
	[ "$(jget out.json .bytes_written)" -le $((30 * 65536)) ] || fail "rewrote more than the touched chunks"
}
test_case "--delta onto a loop device" t_device

t_bad()
{
	expect_fail -m "does not exist|no such file" cairn restore --repo "$R" "$(cat "$TD/id1")" missing.img --delta
	mkdir adir
	expect_fail -m "neither a file nor a block device" cairn restore --repo "$R" "$(cat "$TD/id1")" adir --delta
}
test_case "--delta needs an existing file or device" t_bad

test_done
