#!/bin/bash
# t9: volumes on XFS and btrfs (file systems made on loop devices here):
# reflink snapshots, extent-map change tracking that reads only what
# changed, local snapshots and revert, volume attributes.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
CS=65536

t_setup()
{
	new_repo "$R"
}
test_case "setup: a repository" t_setup

# Each test below runs on XFS, then on btrfs: its argument names the file
# system.

t_first()
{
	local FS=$1
	mkfs_mount "$FS" "$TD/$FS"
	# Its own base name on each file system: two disks, two series.
	local v=$TD/$FS/$FS-vol.img
	mk_image "$v" 64 11 24
	cairn backup --repo "$R" "$v" --json >"$TT/b.json"
	[ "$(jget "$TT/b.json" .snapshot)" = reflink ] || fail "snapshot was not a reflink on $FS"
	[ "$(jget "$TT/b.json" .change_tracking)" = full-read ] || fail "a first backup is not a full read"
	cp --sparse=always "$v" "$TD/$FS.v1"
	jget "$TT/b.json" .id >"$TD/$FS.id1"
	# The snapshot the backup read is kept as the base, read-only.
	cairn snapshot list --json >"$TT/s.json"
	[ "$(jq '[.[] | select(.kind == "base" and .volume == "'"$v"'")] | length' "$TT/s.json")" = 1 ] ||
		fail "no base snapshot kept for $v"
	local p
	p=$(jq -r '.[] | select(.kind == "base") | .path' "$TT/s.json" | grep "$FS/" | head -n1)
	[ "$(stat -c %a "$p")" = 400 ] || fail "base snapshot $p is not read-only"
	same_file "$v" "$p"
	# On the volume's file system (the state directory is not), at its
	# root, in a directory only cairn can write.
	case $p in "$TD/$FS/.cairn-snapshots/"*) ;; *) fail "base snapshot at $p, not at the root of $FS" ;; esac
	[ "$(stat -c '%a %u' "$TD/$FS/.cairn-snapshots")" = "700 $(id -u)" ] ||
		fail "the snapshot directory is $(stat -c '%a %u' "$TD/$FS/.cairn-snapshots")"
}
test_case "xfs: a backup reads a reflink snapshot and keeps it as the base" t_first xfs

t_incremental()
{
	local FS=$1
	[ -f "$TD/$FS.id1" ] || skip "no first backup on $FS"
	local v=$TD/$FS/$FS-vol.img touched
	scatter_write "$v" 21 30 >"$TT/writes"
	cp --sparse=always "$v" "$TD/$FS.v2"
	cairn backup --repo "$R" "$v" --json >"$TT/b.json"
	[ "$(jget "$TT/b.json" .change_tracking)" = fiemap ] || fail "change_tracking is $(jget "$TT/b.json" .change_tracking), not fiemap"
	touched=$(chunks_of $CS <"$TT/writes" | wc -l)
	# Only the changed ranges are read: at most the touched chunks (a
	# file system may reallocate a little more around a write, so allow
	# the blocks of one extra chunk per write).
	[ "$(jget "$TT/b.json" .bytes_read)" -le $(((touched + 30) * CS)) ] ||
		fail "read $(jget "$TT/b.json" .bytes_read) bytes for $touched touched chunks"
	[ "$(jget "$TT/b.json" .bytes_read)" -gt 0 ] || fail "read nothing although 30 blocks changed"
	jget "$TT/b.json" .id >"$TD/$FS.id2"
	cairn restore --repo "$R" "$(cat "$TD/$FS.id2")" r2.img
	same_file "$TD/$FS.v2" r2.img
	cairn restore --repo "$R" "$(cat "$TD/$FS.id1")" r1.img
	same_file "$TD/$FS.v1" r1.img
	cairn check --repo "$R" --read-data >/dev/null
}
test_case "xfs: after scattered writes an incremental reads only the changed ranges; both restore byte-identically" t_incremental xfs

t_wide_batches()
{
	local FS=$1
	[ -f "$TD/$FS.id2" ] || skip "no incremental on $FS"
	# An incremental lays several strides of unchanged chunks into one
	# batch, as long as its chunks to read fit in one batch's buffer
	# (64 of them).  150 writes touch ~140 of the image's 1,024 chunks:
	# batches that fill up and strides carried over to the next, through
	# the mapping and through read() (which packs the runs it reads).
	local v=$TD/$FS/$FS-vol.img id read_env
	for read_env in "" 1; do
		scatter_write "$v" "3${read_env:-0}" 150 >/dev/null
		cp --sparse=always "$v" "$TD/$FS.v3"
		CAIRN_MAP_SOURCE=$read_env cairn backup --repo "$R" "$v" --json >"$TT/b.json"
		[ "$(jget "$TT/b.json" .change_tracking)" = fiemap ] || fail "not tracked by fiemap"
		[ "$(jget "$TT/b.json" .bytes_read)" -lt $((64 << 20)) ] || fail "read the whole volume"
		id=$(jget "$TT/b.json" .id)
		cairn restore --repo "$R" "$id" r3.img
		same_file "$TD/$FS.v3" r3.img
		rm -f r3.img
	done
}
test_case "xfs: incrementals whose batches span many unchanged chunks restore byte-identically (mapped and read())" t_wide_batches xfs

t_wrong_pass_snapshot()
{
	local FS=$1
	[ -f "$TD/$FS.id2" ] || skip "no incremental on $FS"
	# The reflink snapshot is taken while the key is derived; a wrong
	# passphrase must remove it again and leave the base as it was.
	local v=$TD/$FS/$FS-vol.img before after
	before=$(ls -A "$TD/$FS/.cairn-snapshots" | sort | tr '\n' ' ')
	CAIRN_PASSPHRASE=wrong expect_fail -m "wrong passphrase" cairn backup --repo "$R" "$v"
	after=$(ls -A "$TD/$FS/.cairn-snapshots" | sort | tr '\n' ' ')
	[ "$before" = "$after" ] || fail "snapshots were '$before', are '$after' after a wrong passphrase"
	cairn backup --repo "$R" "$v" --json >"$TT/b.json"
	[ "$(jget "$TT/b.json" .change_tracking)" = fiemap ] || fail "the base was lost: not tracked by fiemap"
}
test_case "xfs: a wrong passphrase removes the snapshot it took; the next incremental still has its base" t_wrong_pass_snapshot xfs

t_untrusted_base()
{
	local FS=$1
	[ -f "$TD/$FS.id2" ] || skip "no incremental on $FS"
	local v=$TD/$FS/$FS-vol.img p
	# A base that changed is not trusted: the next backup reads everything.
	p=$(cairn snapshot list --json | jq -r '.[] | select(.kind == "base") | .path' | grep "$FS/" | head -n1)
	chmod 600 "$p"
	scatter_write "$v" 22 5 >/dev/null
	cairn backup --repo "$R" "$v" --json >"$TT/b.json"
	[ "$(jget "$TT/b.json" .change_tracking)" = full-read ] || fail "a changed base was trusted"
	jget "$TT/b.json" .full_read_because | grep -q changed || fail "no reason given for the full read"
	cairn restore --repo "$R" latest r.img
	same_file "$v" r.img
	# --full never trusts a base either.
	scatter_write "$v" 23 5 >/dev/null
	cairn backup --repo "$R" "$v" --full --json >"$TT/b.json"
	[ "$(jget "$TT/b.json" .change_tracking)" = full-read ] || fail "--full used the base"
	# And the one after is incremental again.
	scatter_write "$v" 24 5 >/dev/null
	cairn backup --repo "$R" "$v" --json >"$TT/b.json"
	[ "$(jget "$TT/b.json" .change_tracking)" = fiemap ] || fail "tracking did not resume after --full"
	cairn restore --repo "$R" latest r3.img
	same_file "$v" r3.img
	# Old bases are removed: one per volume and repository.
	[ "$(cairn snapshot list --json | jq '[.[] | select(.kind == "base" and (.path | contains("'"$FS"'/")))] | length')" = 1 ] ||
		fail "more than one base snapshot kept"
}
test_case "xfs: a changed base or --full makes a full read; tracking resumes after" t_untrusted_base xfs

t_delta_extents()
{
	local FS=$1
	[ -f "$TD/$FS.id2" ] || skip "no incremental on $FS"
	local v=$TD/$FS/$FS-vol.img
	cairn backup --repo "$R" "$v" --json >b.json
	cp --sparse=always "$v" want.img
	# The live volume drifts; --delta rolls it back, comparing only the
	# ranges its extents no longer share with the backup's base snapshot.
	scatter_write "$v" 51 20 >writes
	cairn restore --repo "$R" "$(jget b.json .id)" "$v" --delta --json >r.json
	same_file want.img "$v"
	[ "$(jget r.json .compared_by)" = "extent maps and change tags" ] || fail "compared by $(jget r.json .compared_by)"
	local touched
	touched=$(chunks_of $CS <writes | wc -l)
	[ "$(jget r.json .bytes_compared)" -le $(((touched + 20) * CS)) ] ||
		fail "compared $(jget r.json .bytes_compared) bytes for $touched touched chunks"
	# Onto a copy that shares nothing the maps say "everything differs":
	# still byte-identical.
	cp --sparse=always "$v" "$TD/$FS/copy.img"
	scatter_write "$TD/$FS/copy.img" 52 5 >/dev/null
	cairn restore --repo "$R" "$(jget b.json .id)" "$TD/$FS/copy.img" --delta
	same_file want.img "$TD/$FS/copy.img"
}
test_case "xfs: restore --delta onto the drifted live volume compares only what its extents changed" t_delta_extents xfs

t_snapshots()
{
	local FS=$1
	[ -d "$TD/$FS" ] && mountpoint -q "$TD/$FS" || skip "no $FS file system"
	local v=$TD/$FS/snap.img id
	mk_image "$v" 16 31 4
	cp --sparse=always "$v" orig.img
	cairn snapshot create "$v" --name before --json >s.json
	[ "$(jget s.json .method)" = reflink ] || fail "snapshot create did not reflink on $FS"
	id=$(jget s.json .id)
	scatter_write "$v" 32 50 >/dev/null
	cmp -s "$v" orig.img && fail "the writes changed nothing"
	# Open for writing: refused; attached to a loop device: refused.
	exec 7>>"$v"
	expect_fail -m "open for writing" cairn snapshot revert "$id"
	exec 7>&-
	local dev
	dev=$(setup_loop "$v") || skip "no loop device"
	expect_fail -m "attached to /dev/loop" cairn snapshot revert "$v@before"
	detach_loop "$dev" || fail "the loop device stays attached"
	cairn snapshot revert "$v@before"
	same_file orig.img "$v"
	# --force reverts even while it is open for writing.
	scatter_write "$v" 33 5 >/dev/null
	exec 7>>"$v"
	cairn snapshot revert "${id:0:6}" --force
	exec 7>&-
	same_file orig.img "$v"
	# --keep: the oldest user snapshots beyond N go.
	cairn snapshot create "$v" --name s2 >/dev/null
	cairn snapshot create "$v" --name s3 --keep 2 >/dev/null
	[ "$(cairn snapshot list "$v" --json | jq 'length')" = 2 ] || fail "--keep 2 left $(cairn snapshot list "$v" --json | jq length)"
	cairn snapshot list "$v" --json | jq -e 'map(.name) == ["s2", "s3"]' >/dev/null || fail "--keep removed the wrong ones"
	expect_fail -m "already has a snapshot named" cairn snapshot create "$v" --name s3
	cairn snapshot delete "$v@s2"
	expect_fail -m "no snapshot" cairn snapshot delete "$v@s2"
	[ "$(cairn snapshot list "$v" --json | jq 'length')" = 1 ] || fail "delete did not delete"
}
test_case "xfs: snapshot create, revert (refused while in use, --force), --keep, delete" t_snapshots xfs

test_case "btrfs: a backup reads a reflink snapshot and keeps it as the base" t_first btrfs
test_case "btrfs: after scattered writes an incremental reads only the changed ranges; both restore byte-identically" t_incremental btrfs
test_case "btrfs: incrementals whose batches span many unchanged chunks restore byte-identically (mapped and read())" t_wide_batches btrfs
test_case "btrfs: a wrong passphrase removes the snapshot it took; the next incremental still has its base" t_wrong_pass_snapshot btrfs
test_case "btrfs: a changed base or --full makes a full read; tracking resumes after" t_untrusted_base btrfs
test_case "btrfs: restore --delta onto the drifted live volume compares only what its extents changed" t_delta_extents btrfs
test_case "btrfs: snapshot create, revert (refused while in use, --force), --keep, delete" t_snapshots btrfs

t_copy_fallback()
{
	# /tmp-like file systems without reflinks get a copy, with a warning.
	mk_image v.img 8 41 2
	cairn snapshot create v.img --name c 2>err >/dev/null
	grep -q "copy" err || fail "no warning about the copy's cost: $(cat err)"
	cairn snapshot list v.img --json | jq -e '.[0].method == "copy"' >/dev/null || fail "method is not copy"
	# Copies live under the state directory, never beside the image.
	case $(cairn snapshot list v.img --json | jq -r '.[0].path') in
	"$CAIRN_STATE_DIR"/snapshots/v.img.*) ;;
	*) fail "copy snapshot at $(cairn snapshot list v.img --json | jq -r '.[0].path')" ;;
	esac
	[ ! -e .cairn-snapshots ] || fail "a snapshot directory was made beside the image"
	expect_fail -m "cannot make reflink" cairn snapshot create v.img --method reflink
	scatter_write v.img 42 10 >/dev/null
	cairn snapshot revert v.img@c
	cmp -s v.img "$(cairn snapshot list v.img --json | jq -r '.[0].path')" || fail "revert from a copy differs"
	# A backup by default does not copy: it reads the live file, says so,
	# and checks it for change during the read.
	local before
	before=$(ls -A "$CAIRN_STATE_DIR/snapshots" | sort | tr '\n' ' ')
	cairn backup --repo "$R" v.img --json >b.json
	[ "$(jget b.json .snapshot)" = none ] || fail "the default backup's snapshot is $(jget b.json .snapshot), not none"
	[ "$(jget b.json .snapshot_reason)" = "no instant snapshot here" ] || fail "reason: $(jget b.json .snapshot_reason)"
	[ "$(jget b.json .snapshot_bytes_copied)" = 0 ] || fail "the default backup copied $(jget b.json .snapshot_bytes_copied) bytes"
	[ "$(jget b.json .consistency)" = unchanged ] || fail "consistency: $(jget b.json .consistency)"
	[ "$(ls -A "$CAIRN_STATE_DIR/snapshots" | sort | tr '\n' ' ')" = "$before" ] || fail "the default backup left a snapshot"
	# A copy when asked for.
	cairn backup --repo "$R" v.img --snapshot copy --json >b.json
	[ "$(jget b.json .snapshot)" = copy ] || fail "the backup's snapshot is not a copy"
	[ "$(jget b.json .consistency)" = snapshot ] || fail "consistency of a copy: $(jget b.json .consistency)"
	# A copy is not kept as a base.
	cairn snapshot list v.img --json | jq -e 'map(select(.kind == "base")) | length == 0' >/dev/null ||
		fail "a copy snapshot was kept as a base"
	cairn backup --repo "$R" v.img --snapshot none --json >b.json
	[ "$(jget b.json .snapshot)" = none ] || fail "--snapshot none took a snapshot"
	expect_fail -c 2 cairn backup --repo "$R" v.img --snapshot sideways
}
test_case "no reflinks here: snapshots are copies (with a warning); a backup reads the live file unless --snapshot copy" t_copy_fallback

t_block_device()
{
	[ "$(id -u)" = 0 ] || skip "needs root for a loop device"
	mk_image dev.img 32 61 8
	local dev
	dev=$(setup_loop dev.img) || skip "no loop device available"
	# A block device cannot be reflinked: by default it is read live (no
	# clock to check it by: "unchecked"); asked for, the snapshot is a copy
	# under the state directory, gone after the backup.
	local before
	before=$(ls -A "$CAIRN_STATE_DIR/snapshots" 2>/dev/null)
	cairn backup --repo "$R" "$dev" --name blk --json >b.json
	[ "$(jget b.json .snapshot)" = none ] || fail "default snapshot of a device is $(jget b.json .snapshot)"
	[ "$(jget b.json .consistency)" = unchecked ] || fail "consistency of a live device: $(jget b.json .consistency)"
	jq -e '.change_during_read == null' b.json >/dev/null || fail "change_during_read of a device: $(jq -c .change_during_read b.json)"
	cairn backup --repo "$R" "$dev" --name blk --snapshot copy --json >b.json
	[ "$(jget b.json .snapshot)" = copy ] || fail "snapshot of a device is $(jget b.json .snapshot)"
	[ "$(ls -A "$CAIRN_STATE_DIR/snapshots" 2>/dev/null)" = "$before" ] || fail "the device's copy snapshot was left behind"
	cairn restore --repo "$R" blk@latest r.img
	cmp -n "$(stat -c %s dev.img)" r.img "$dev" || fail "restore differs from the device"
	cairn snapshot create "$dev" --name d >/dev/null 2>&1
	local p
	p=$(cairn snapshot list "$dev" --json | jq -r '.[0].path')
	case $p in "$CAIRN_STATE_DIR"/snapshots/*) ;; *) fail "device snapshot at $p, not under the state directory" ;; esac
	scatter_write "$dev" 62 20 >/dev/null
	cairn snapshot revert "$dev@d"
	cmp "$p" "$dev" || fail "revert of a device differs"
	cairn snapshot delete "$dev@d"
}
test_case "a block device is read live by default, copied under the state directory when asked; revert rewrites it" t_block_device

t_snapshot_bad()
{
	expect_fail -m "cannot open volume" cairn snapshot create missing.img
	expect_fail -m "no snapshot" cairn snapshot revert 0123456789abcdef
	expect_fail -m "no snapshot" cairn snapshot delete nothex
	expect_fail -c 2 cairn snapshot frobnicate x
	expect_fail -c 2 cairn snapshot create
	mk_image w.img 4 43 1
	cairn snapshot create w.img --name tamper >/dev/null
	chmod 600 "$(cairn snapshot list w.img --json | jq -r '.[0].path')"
	expect_fail -m "changed or is missing" cairn snapshot revert w.img@tamper
}
test_case "snapshot errors: missing volume, unknown snapshot, usage, a tampered snapshot" t_snapshot_bad

t_volume_info()
{
	truncate -s 32M l.img
	mkfs.ext4 -q -L cairnvol -U 0f0e0d0c-0b0a-4908-8706-050403020100 l.img
	cairn backup --repo "$R" l.img --snapshot none >/dev/null
	cairn restore --repo "$R" l.img@latest out.img 2>err
	grep -q "volume: ext4, label 'cairnvol', UUID 0f0e0d0c-0b0a-4908-8706-050403020100, 512-byte logical blocks" err ||
		fail "attributes not printed: $(cat err)"
	rm out.img
	cairn restore --repo "$R" l.img@latest out.img --json >o.json
	jq -e '.volume_info == {"fs_type": "ext4", "label": "cairnvol", "uuid": "0f0e0d0c-0b0a-4908-8706-050403020100", "logical_block_size": 512}' o.json >/dev/null ||
		fail "volume_info wrong: $(jq -c .volume_info o.json)"
}
test_case "the volume's type, label, UUID and block size are recorded and printed after a restore" t_volume_info

test_done
