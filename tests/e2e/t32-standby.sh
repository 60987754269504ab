#!/usr/bin/env bash
# Warm standby volumes (cairn standby, docs/design.md §14): a standby kept
# current through incrementals by writing only what changed, byte-identical
# to a restore of each restore point; an update killed with SIGKILL leaves
# the old or the new image, and the next command finishes it; a group
# standby; a target written behind the standby's back is refused; reflink
# clones on XFS; the daemon's --every; status's exit status; bad input.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"

CS=16384

# vol_repo REPO IMG SEED: a repository with chunk size CS holding one
# backup of an 8 MiB random image IMG (named like its file).
vol_repo()
{
	rand_file "$2" $((8 << 20)) "$3"
	new_repo "$1" --chunk-size 16K
	cairn backup --repo "$1" -q "$2" >/dev/null
}

# changed_bytes SEED COUNT IMG: scatter COUNT 4 KiB writes and print the
# bytes of the distinct chunks they touch.
changed_bytes()
{
	scatter_write "$3" "$1" "$2" | chunks_of $CS | wc -l | awk -v cs=$CS '{ print $1 * cs }'
}

t_chain()
{
	local repo=${1:-$TD/repo} img=$TT/vol.img sb=sb-${1:-local} rounds="1 2 3 4" first id want w ch i rc
	if [ -n "${1:-}" ]; then
		rounds="1 2"
		s3_use "$1"
		repo=$(s3_uri "$1" standby)
	fi
	vol_repo "$repo" "$img" 11
	cp "$img" v0.img
	cairn standby create "$sb" --volume vol.img --repo "$repo" --to "$TT/standby.img" --json >c.json
	first=$(jget c.json .to)
	[ "$(jget c.json .mode)" = full ] || fail "create did not restore in full"
	same_file "$img" "$TT/standby.img"
	for i in $rounds; do
		want=$(changed_bytes $((100 + i)) 6 "$img")
		id=$(cairn backup --repo "$repo" -q "$img")
		cairn standby update "$sb" --json >u.json
		[ "$(jget u.json .to)" = "$id" ] || fail "update $i did not apply $id"
		cairn restore "$id" "r$i.img" --repo "$repo" -q
		same_file "r$i.img" "$TT/standby.img"
		w=$(jget u.json .bytes_written)
		ch=$(jget u.json .bytes_changed)
		[ "$ch" -eq "$want" ] || fail "update $i: the trees say $ch bytes changed, the writes touched $want"
		[ "$w" -le "$want" ] || fail "update $i wrote $w bytes for $want changed"
		[ "$w" -gt 0 ] || fail "update $i wrote nothing"
		rm -f "r$i.img"
	done
	# Nothing new: nothing written.
	cairn standby update "$sb" --json >u.json
	[ "$(jq -r .changed u.json)" = false ] || fail "an update with nothing new changed something"
	cairn standby show "$sb" --json >s.json
	[ "$(jget s.json .backup)" = "$id" ] || fail "show does not hold $id"
	[ "$(jget s.json .bytes_written)" -gt 0 ] || fail "show records no bytes written"
	cairn standby status "$sb" --json >st.json
	[ "$(jq -r '.[0].behind' st.json)" = false ] || fail "status: a current standby is behind"
	# Back to the first restore point (--at): the diff runs either way.
	cairn standby update "$sb" --at "$first" --json >u.json
	same_file v0.img "$TT/standby.img"
	rc=0
	cairn standby status "$sb" --json >st.json || rc=$?
	[ $rc -eq 1 ] || fail "status of a standby behind (no --every) exited $rc, expected 1"
	[ "$(jq -r '.[0].behind' st.json)" = true ] || fail "status: a standby held at an older restore point is not behind"
}

t_kill()
{
	local img=$TT/vol.img new held pid i
	vol_repo "$TD/krepo" "$img" 21
	cairn standby create kb --volume vol.img --repo "$TD/krepo" --to "$TT/standby.img" -q >/dev/null
	# Before the commit point (staging sleeps at its progress reports):
	# the old image stands.
	cp "$TT/standby.img" old.img
	scatter_write "$img" 22 24 >/dev/null
	new=$(cairn backup --repo "$TD/krepo" -q "$img")
	CAIRN_TEST_JOB_DELAY=300 "$CAIRN" standby update kb -q >/dev/null 2>&1 &
	pid=$!
	sleep 0.1
	kill -9 $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	cairn standby show kb --json >s.json
	[ "$(jget s.json .backup)" != "$new" ] || fail "an update killed before its commit point was applied"
	same_file old.img "$TT/standby.img"
	cairn standby update kb -q >/dev/null
	same_file "$img" "$TT/standby.img"
	# After the commit point, in the middle of applying the journal (a
	# pause per range): the next command finishes the update.
	scatter_write "$img" 23 24 >/dev/null
	new=$(cairn backup --repo "$TD/krepo" -q "$img")
	CAIRN_TEST_JOB_DELAY=300 "$CAIRN" standby update kb -q >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 100); do
		[ "$(cairn standby list --json | jq -r '.[] | select(.name == "kb") | .pending')" = true ] && break
		sleep 0.1
	done
	kill -9 $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	[ "$i" -lt 100 ] || fail "the update never reached its commit point"
	cmp -s "$img" "$TT/standby.img" && fail "the update was not killed while applying"
	cairn standby show kb --json >s.json
	held=$(jget s.json .backup)
	[ "$held" = "$new" ] || fail "show did not finish the committed update: holds $held, not $new"
	[ "$(jq -r .pending s.json)" = false ] || fail "show left the update pending"
	same_file "$img" "$TT/standby.img"
	! compgen -G "$CAIRN_STATE_DIR/standby/kb/*.journal" >/dev/null || fail "a journal was left behind"
	cairn standby update kb --json >u.json
	[ "$(jq -r .changed u.json)" = false ] || fail "an update after the recovery changed something"
}

t_group()
{
	local x=$TT/x gid
	mkdir -p "$x"
	rand_file "$x/a.img" $((2 << 20)) 31
	rand_file "$x/b.img" $((3 << 20)) 32
	echo '<domain>v1</domain>' >"$x/app.xml"
	new_repo "$TD/grepo" --chunk-size 16K
	cairn group create sgrp --volume "$x/a.img" --volume "$x/b.img" --config "$x/app.xml" -q
	cairn group backup sgrp --repo "$TD/grepo" -q >/dev/null
	cairn standby create gs --group sgrp --repo "$TD/grepo" --to "$TT/dr" -q >/dev/null
	same_file "$x/a.img" "$TT/dr/a.img"
	same_file "$x/b.img" "$TT/dr/b.img"
	same_file "$x/app.xml" "$TT/dr/app.xml"
	scatter_write "$x/b.img" 33 5 >/dev/null
	echo '<domain>v2</domain>' >"$x/app.xml"
	gid=$(cairn group backup sgrp --repo "$TD/grepo" -q)
	cairn standby update gs --json >u.json
	[ "$(jget u.json .to)" = "$gid" ] || fail "group standby does not hold $gid"
	[ "$(jget u.json .bytes_written)" -le $((5 * CS)) ] || fail "group update wrote more than the change"
	same_file "$x/a.img" "$TT/dr/a.img"
	same_file "$x/b.img" "$TT/dr/b.img"
	same_file "$x/app.xml" "$TT/dr/app.xml"
	expect_fail -m "is of group|no group backup|not found" cairn standby update gs --at "$(cairn list --repo "$TD/grepo" --json | jq -r '.[0].id')"
}

t_modified()
{
	local img=$TT/vol.img
	vol_repo "$TD/mrepo" "$img" 41
	cairn standby create mb --volume vol.img --repo "$TD/mrepo" --to "$TT/standby.img" -q >/dev/null
	scatter_write "$img" 42 3 >/dev/null
	cairn backup --repo "$TD/mrepo" -q "$img" >/dev/null
	# Someone writes to the standby's image.
	scatter_write "$TT/standby.img" 43 2 >/dev/null
	cp "$TT/standby.img" before.img
	expect_fail -m "changed since the standby last wrote it.*--force" cairn standby update mb
	same_file before.img "$TT/standby.img"
	cairn standby update mb --force -q >/dev/null
	same_file "$img" "$TT/standby.img"
	# After --force the standby trusts its image again.
	scatter_write "$img" 44 3 >/dev/null
	cairn backup --repo "$TD/mrepo" -q "$img" >/dev/null
	cairn standby update mb -q >/dev/null
	same_file "$img" "$TT/standby.img"
}

t_status_daemon()
{
	local img=$TT/vol.img rc=0 now job
	vol_repo "$TD/drepo" "$img" 51
	cairn standby create db --volume vol.img --repo "$TD/drepo" --to "$TT/standby.img" --every 1m -q >/dev/null
	cairn standby status db >st.out
	grep -q current st.out || fail "a fresh standby is not current: $(cat st.out)"
	scatter_write "$img" 52 3 >/dev/null
	cairn backup --repo "$TD/drepo" -q "$img" >/dev/null
	# Behind by less than two intervals: shown, exit 0.
	cairn standby status db >st.out || fail "status failed for a standby behind by seconds"
	grep -q behind st.out || fail "status does not say behind: $(cat st.out)"
	# The daemon runs the update once it is due.
	now=$(date +%s)
	CAIRN_TEST_NOW=$((now + 30)) cairn daemon --once -q
	cmp -s "$img" "$TT/standby.img" && fail "the daemon updated a standby before it was due"
	CAIRN_TEST_NOW=$((now + 90)) cairn daemon --once -q
	same_file "$img" "$TT/standby.img"
	# As a job of kind standby, with its log.
	job=$(cairn status --json | jq -r '[.[] | select(.kind == "standby" and (.source | test(" db ")))][0].id')
	[ "$job" != null ] || fail "no job of kind standby for the daemon's update"
	cairn log "$job" | grep -q "standby db now holds restore point" || fail "the job's log does not say what it applied"
	cairn standby status db --json >st.json
	[ "$(jq -r '.[0].behind' st.json)" = false ] || fail "the daemon's update left the standby behind"
	# A restore point made more than two intervals after the one held: late.
	scatter_write "$img" 54 2 >/dev/null
	CAIRN_TEST_NOW=$((now + 400)) cairn backup --repo "$TD/drepo" -q "$img" >/dev/null
	cairn standby status db >st.out || rc=$?
	[ $rc -eq 1 ] || fail "status of a standby behind by 2 x --every and more exited $rc, expected 1"
	grep -q LATE st.out || fail "status does not say LATE: $(cat st.out)"
	cairn standby update db -q >/dev/null
	rc=0
	# Without --every, any lag is late: exit 1 for monitoring.
	cairn standby create nb --volume vol.img --repo "$TD/drepo" --to "$TT/nb.img" -q >/dev/null
	scatter_write "$img" 53 3 >/dev/null
	CAIRN_TEST_NOW=$((now + 500)) cairn backup --repo "$TD/drepo" -q "$img" >/dev/null
	cairn standby status nb >st.out || rc=$?
	[ $rc -eq 1 ] || fail "status of a late standby exited $rc, expected 1"
	grep -q LATE st.out || fail "status does not say LATE: $(cat st.out)"
	cairn standby update nb -q >/dev/null
	cairn standby status nb >/dev/null || fail "status of a current standby failed"
	cairn standby delete nb -q
	[ -f "$TT/nb.img" ] || fail "delete removed the image"
	expect_fail -m "no standby named" cairn standby show nb
}

t_reflink()
{
	local img=$TT/vol.img
	mkfs_mount xfs "$TT/xfs"
	vol_repo "$TD/rrepo" "$img" 61
	cairn standby create rb --volume vol.img --repo "$TD/rrepo" --to "$TT/xfs/standby.img" -q >/dev/null
	scatter_write "$img" 62 4 >/dev/null
	cairn backup --repo "$TD/rrepo" -q "$img" >/dev/null
	cairn standby update rb --json >u.json
	[ "$(jget u.json .mode)" = reflink ] || fail "no reflink clone on XFS: mode $(jget u.json .mode)"
	[ "$(jget u.json .bytes_written)" -le $((4 * CS)) ] || fail "the reflink update wrote more than the change"
	same_file "$img" "$TT/xfs/standby.img"
	! compgen -G "$TT/xfs/*.cairn-standby-next" >/dev/null || fail "a clone was left behind"
	true
}

t_device()
{
	local img=$TT/vol.img dev rc=0
	[ "$(id -u)" = 0 ] || skip "needs root for loop devices and mounts"
	mk_image "$img" 16 81 4
	new_repo "$TD/vrepo" --chunk-size 16K
	cairn backup --repo "$TD/vrepo" -q "$img" >/dev/null
	truncate -s 16M dev.backing
	dev=$(setup_loop "$TT/dev.backing") || skip "no loop device available"
	cairn standby create vb --volume vol.img --repo "$TD/vrepo" --to "$dev" -q >/dev/null
	cmp "$img" "$dev" || fail "the device does not hold the volume"
	scatter_write "$img" 82 4 >/dev/null
	cairn backup --repo "$TD/vrepo" -q "$img" >/dev/null
	cairn standby update vb --json >u.json
	[ "$(jget u.json .mode)" = journal ] || fail "a device is not updated through the journal"
	[ "$(jget u.json .bytes_written)" -le $((4 * CS)) ] || fail "the device update wrote more than the change"
	cmp "$img" "$dev" || fail "the device does not hold the new restore point"
	# Mounted: refused, as restore refuses it.
	scatter_write "$img" 84 2 >/dev/null
	cairn backup --repo "$TD/vrepo" -q "$img" >/dev/null
	mkdir -p mnt
	mount -o ro "$dev" mnt 2>/dev/null || skip "cannot mount the standby's ext4"
	register_cleanup mount "$TT/mnt"
	expect_fail -m "in use \\(mounted\\?\\)" cairn standby update vb
	umount mnt
	# Written behind the standby's back (where its fingerprint samples).
	printf 'X' | dd of="$dev" bs=1 seek=100 conv=notrunc 2>/dev/null
	scatter_write "$img" 83 2 >/dev/null
	cairn backup --repo "$TD/vrepo" -q "$img" >/dev/null
	expect_fail -m "changed since the standby last wrote it" cairn standby update vb
	cairn standby update vb --force -q >/dev/null
	cmp "$img" "$dev" || fail "update --force did not rewrite the device"
}

t_bad()
{
	local img=$TT/vol.img
	vol_repo "$TD/brepo" "$img" 71
	expect_fail -m "no backup of volume nosuch" cairn standby create b1 --volume nosuch --repo "$TD/brepo" --to x.img
	expect_fail -m "not a cairn repository|does not exist|no such" cairn standby create b1 --volume vol.img \
		--repo "$TT/missing" --to x.img
	CAIRN_PASSPHRASE=wrong expect_fail -m "passphrase" cairn standby create b1 --volume vol.img \
		--repo "$TD/brepo" --to x.img
	[ ! -e x.img ] || fail "a failed create left x.img"
	[ "$(cairn standby list --json | jq '[.[] | select(.name == "b1")] | length')" = 0 ] ||
		fail "a failed create left a standby"
	cairn standby create b1 --volume vol.img --repo "$TD/brepo" --to x.img -q >/dev/null
	expect_fail -m "exists already" cairn standby create b1 --volume vol.img --repo "$TD/brepo" --to y.img
	# A target holding data is refused, as restore refuses it.
	echo data >z.img
	expect_fail -m "exists and is not empty" cairn standby create b2 --volume vol.img --repo "$TD/brepo" --to z.img
	[ "$(cat z.img)" = data ] || fail "a refused create wrote to z.img"
	expect_fail -c 2 cairn standby create b3 --repo "$TD/brepo" --to w.img
	expect_fail -c 2 cairn standby create b3 --volume vol.img --group g --repo "$TD/brepo" --to w.img
	expect_fail -c 2 cairn standby frob b1
	expect_fail -c 2 cairn standby update b1 --every 5m
	expect_fail -m "no standby named" cairn standby update nosuch
	expect_fail -m "no backup|not found|no such" cairn standby update b1 --at ffffffffffff
	CAIRN_PASSPHRASE=wrong expect_fail -m "passphrase" cairn standby update b1 --force
	same_file "$img" x.img
}

test_case "a standby kept current through 4 incrementals: identical to each restore, writes about the change" t_chain
test_case "kill -9 during an update: the old or the new image, the next command finishes it" t_kill
test_case "a group standby: every image and the config document switch together" t_group
test_case "a target written behind the standby's back is refused; --force rewrites it" t_modified
test_case "status shows the lag and exits 1 when late; the daemon updates a standby when due" t_status_daemon
test_case "on XFS the update goes into a reflink clone renamed over the image" t_reflink
test_case "a block device: journal updates, refused while mounted or written behind its back" t_device
test_case "bad input: unknown volume, missing repository, wrong passphrase, existing name" t_bad
test_case "a standby kept current from Ceph RGW (2 incrementals)" t_chain rgw
test_done
