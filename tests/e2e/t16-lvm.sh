#!/bin/bash
# t11: LVM logical volumes: thin snapshots, change tracking with thin_delta,
# revert by merge.  Needs device-mapper; where the kernel has none every
# test is skipped with that reason (the parsers and thin_delta itself are
# tested in tests/unit/test_lvm.c without it).
. "$(dirname "$0")/lib.sh"

R=$TD/repo
VG=cairne2e$$

need_dm()
{
	[ "$(id -u)" = 0 ] || skip "needs root"
	[ -e /dev/mapper/control ] || skip "device-mapper is not available here (no /dev/mapper/control)"
	command -v lvcreate >/dev/null || skip "lvm2 is not installed"
	command -v thin_delta >/dev/null || skip "thin-provisioning-tools are not installed"
}

t_setup()
{
	need_dm
	new_repo "$R"
	truncate -s 2G "$TD/pv.img"
	local dev
	dev=$(setup_loop "$TD/pv.img") || skip "no loop device"
	pvcreate -q "$dev" >/dev/null 2>&1 || skip "pvcreate refused the loop device"
	vgcreate -q "$VG" "$dev" >/dev/null 2>&1 || skip "vgcreate failed"
	echo "$VG" >"$TD/vg"
	lvcreate -q -L 1G -T "$VG/pool" >/dev/null 2>&1 || skip "the kernel refuses thin pools (dm-thin-pool)"
	lvcreate -q -V 256M -T "$VG/pool" -n data >/dev/null 2>&1 || skip "cannot create a thin volume"
	dd if=/dev/urandom of="/dev/$VG/data" bs=1M count=64 status=none
	touch "$TD/ready"
}
test_case "setup: a volume group on a loop device with a thin pool and a thin volume" t_setup

t_incremental()
{
	[ -f "$TD/ready" ] || skip "no LVM setup"
	local v=/dev/$VG/data
	cairn backup --repo "$R" "$v" --json >b1.json
	[ "$(jget b1.json .snapshot)" = lvm ] || fail "not an LVM snapshot: $(jget b1.json .snapshot)"
	scatter_write "$v" 7 20 >writes
	cairn backup --repo "$R" "$v" --json >b2.json
	[ "$(jget b2.json .change_tracking)" = thin-delta ] || fail "change_tracking $(jget b2.json .change_tracking)"
	[ "$(jget b2.json .bytes_read)" -le $((20 * 65536 * 2)) ] || fail "read $(jget b2.json .bytes_read) bytes for 20 writes"
	cairn restore --repo "$R" data@latest r.img
	cmp -n $((256 << 20)) r.img "$v" || fail "restore differs from the volume"
	[ "$(cairn snapshot list --json | jq '[.[] | select(.method == "lvm" and .kind == "base")] | length')" = 1 ] ||
		fail "not exactly one LVM base snapshot"
}
test_case "thin LV: backups read LVM thin snapshots; the incremental reads only what thin_delta reports" t_incremental

t_revert()
{
	[ -f "$TD/ready" ] || skip "no LVM setup"
	local v=/dev/$VG/data
	cairn snapshot create "$v" --name before >/dev/null
	dd if="$v" of=before.img bs=1M status=none
	scatter_write "$v" 8 50 >/dev/null
	cairn snapshot revert "$v@before"
	lvchange -an "$VG/data" >/dev/null 2>&1 && lvchange -ay "$VG/data" >/dev/null 2>&1 || true
	cmp before.img "$v" || fail "revert by merge did not restore the volume"
}
test_case "thin LV: snapshot revert merges the snapshot back" t_revert

t_teardown()
{
	[ -f "$TD/vg" ] || skip "no volume group made"
	vgremove -q -f "$(cat "$TD/vg")" >/dev/null 2>&1 || fail "vgremove failed"
}
test_case "teardown: remove the volume group" t_teardown

test_done
