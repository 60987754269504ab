#!/bin/bash
# t26: no full copies by default.  Where the file system has no instant
# snapshot (this directory's, when it is not XFS or btrfs; a block device),
# `cairn backup` reads the live volume and says so, checks a file for
# change during the read (size, mtime, ctime) and marks the backup when it
# changed; `--snapshot copy` still copies.  A consistency group keeps its
# one instant: a copy while frozen, or with --freeze-during-read a live
# read while frozen.
. "$(dirname "$0")/lib.sh"

R=$TD/repo

t_setup()
{
	new_repo "$R"
	rand_file "$TD/v.img" $((24 << 20)) 261
	cp "$TD/v.img" "$TD/v.orig"
	# This test is about file systems without reflinks.
	if cp --reflink=always "$TD/v.img" "$TD/probe" 2>/dev/null; then
		rm -f "$TD/probe"
		skip "$TD is on a file system with reflinks"
	fi
	touch "$TD/ready"
}
test_case "setup: a repository and a 24 MiB file on a file system without reflinks" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete"
}

# snapshot_files: what the state directory's snapshot directory holds.
snapshot_files()
{
	ls -A "$CAIRN_STATE_DIR/snapshots" 2>/dev/null | sort | tr '\n' ' '
}

t_default_live()
{
	need_setup
	local before
	before=$(snapshot_files)
	cairn backup --repo "$R" "$TD/v.img" >id 2>err
	cat err >&2
	grep -qF "snapshot: none (no instant snapshot here)" err || fail "the summary does not say none: $(cat err)"
	! grep -q "changed while it was read" err || fail "an unchanged file was reported changed: $(cat err)"
	[ "$(snapshot_files)" = "$before" ] || fail "the default backup made a snapshot file: $(snapshot_files)"
	cairn list --repo "$R" --json >l.json
	[ "$(jget l.json '.[-1].consistency')" = unchanged ] || fail "list: consistency $(jq -c '.[-1].consistency' l.json)"
	# The job's log says so too.
	local job
	job=$(cairn status --json | jq -r 'map(select(.kind == "backup")) | max_by(.id) | .id')
	cairn log "$job" >log.txt
	grep -qF "snapshot: none (no instant snapshot here); consistency: unchanged" log.txt || fail "job log: $(cat log.txt)"
	cairn restore --repo "$R" "$(cat id)" r.img
	same_file "$TD/v.orig" r.img
	# --json says the same.
	cairn backup --repo "$R" "$TD/v.img" --json >b.json
	[ "$(jget b.json .snapshot)" = none ] || fail "snapshot: $(jget b.json .snapshot)"
	[ "$(jget b.json .snapshot_reason)" = "no instant snapshot here" ] || fail "reason: $(jq -c .snapshot_reason b.json)"
	[ "$(jget b.json .snapshot_bytes_copied)" = 0 ] || fail "copied $(jget b.json .snapshot_bytes_copied) bytes"
	[ "$(jget b.json .consistency)" = unchanged ] || fail "consistency: $(jq -c .consistency b.json)"
	jq -e '.change_during_read == false' b.json >/dev/null || fail "change_during_read: $(jq -c .change_during_read b.json)"
	# Asked for by name, the reason is the option.
	cairn backup --repo "$R" "$TD/v.img" --snapshot none --json >n.json
	[ "$(jget n.json .snapshot_reason)" = "--snapshot none" ] || fail "reason: $(jq -c .snapshot_reason n.json)"
}
test_case "a default backup of a file without reflinks reads it live: summary, --json and list say so; it restores" t_default_live

t_incremental_tags()
{
	need_setup
	scatter_write "$TD/v.img" 262 8 >/dev/null
	cp "$TD/v.img" "$TD/v2.orig"
	cairn backup --repo "$R" "$TD/v.img" --json >b.json
	# A live incremental reads the volume and hashes only the chunks whose
	# change tag differs: no copy, and far less hashed than read.
	[ "$(jget b.json .snapshot)" = none ] || fail "snapshot: $(jget b.json .snapshot)"
	local rd hashed
	rd=$(jget b.json .bytes_read)
	hashed=$(jget b.json .bytes_hashed)
	echo "  incremental: read $rd, hashed $hashed" >&2
	[ "$rd" -eq $((24 << 20)) ] || fail "read $rd bytes, expected the whole volume"
	[ "$hashed" -le $((8 << 20)) ] || fail "hashed $hashed of $rd bytes: the change tags were not used"
	cairn restore --repo "$R" "$(jget b.json .id)" r.img
	same_file "$TD/v2.orig" r.img
}
test_case "a live incremental hashes only what changed (change tags), not a copy; it restores" t_incremental_tags

# writer FILE PID: rewrites a block of FILE every 50 ms while PID runs.
writer()
{
	local f=$1 pid=$2 i=0
	while kill -0 "$pid" 2>/dev/null; do
		printf 'write %d\n' $i | dd of="$f" bs=4096 seek=$((i % 100)) conv=notrunc status=none
		i=$((i + 1))
		sleep 0.05
	done
}

t_changed_during_read()
{
	need_setup
	local pid rc=0
	# The hook holds the read after the first stat; the writer changes the
	# file meanwhile.
	CAIRN_TEST_READ_HOLD_MS=1000 "$CAIRN" backup --repo "$R" "$TD/v.img" >id 2>err &
	pid=$!
	writer "$TD/v.img" $pid
	wait $pid || rc=$?
	cat err >&2
	[ $rc -eq 0 ] || fail "the backup of a changing file exited $rc: $(cat err)"
	grep -q "changed while it was read: backup $(head -c 12 id) is kept but marked changed-during-read" err ||
		fail "the summary does not say the file changed: $(cat err)"
	grep -q -- "--freeze" err && grep -q -- "--snapshot copy" err || fail "the summary does not advise: $(cat err)"
	cairn list --repo "$R" --json >l.json
	jq -e --arg id "$(cat id)" '.[] | select(.id == $id) | .consistency == "changed-during-read"' l.json >/dev/null ||
		fail "list --json does not mark it: $(jq -c '.[-1]' l.json)"
	cairn list --repo "$R" >l.txt
	grep "$(head -c 16 id)" l.txt | grep -q 'ok \*' || fail "list does not mark it: $(cat l.txt)"
	grep -q "changed while it was read" l.txt || fail "list does not explain the mark: $(cat l.txt)"
	# --json too; the backup is kept and readable.
	rc=0
	CAIRN_TEST_READ_HOLD_MS=1000 "$CAIRN" backup --repo "$R" "$TD/v.img" --json >b.json 2>err &
	pid=$!
	writer "$TD/v.img" $pid
	wait $pid || rc=$?
	[ $rc -eq 0 ] || fail "the --json backup of a changing file exited $rc: $(cat err)"
	[ "$(jget b.json .consistency)" = changed-during-read ] || fail "consistency: $(jq -c .consistency b.json)"
	jq -e '.change_during_read == true' b.json >/dev/null || fail "change_during_read: $(jq -c .change_during_read b.json)"
	cairn check --repo "$R" >/dev/null
}
test_case "a file changed during the live read: the backup is kept, marked in the manifest, and the summary advises" t_changed_during_read

t_copy_on_request()
{
	need_setup
	local before
	before=$(snapshot_files)
	cairn backup --repo "$R" "$TD/v.img" --snapshot copy >/dev/null 2>err
	grep -q "snapshot: a copy of" err || fail "the summary does not name the copy: $(cat err)"
	cairn backup --repo "$R" "$TD/v.img" --snapshot copy --json >b.json
	[ "$(jget b.json .snapshot)" = copy ] || fail "snapshot: $(jget b.json .snapshot)"
	[ "$(jget b.json .snapshot_bytes_copied)" -eq $((24 << 20)) ] || fail "copied $(jget b.json .snapshot_bytes_copied) bytes"
	[ "$(jget b.json .consistency)" = snapshot ] || fail "consistency: $(jq -c .consistency b.json)"
	jq -e '.snapshot_reason == null and .change_during_read == null' b.json >/dev/null ||
		fail "reason and change: $(jq -c '[.snapshot_reason, .change_during_read]' b.json)"
	[ "$(snapshot_files)" = "$before" ] || fail "the copy was left behind: $(snapshot_files)"
	expect_fail -c 2 -m "snapshot" cairn backup --repo "$R" "$TD/v.img" --snapshot instant
}
test_case "--snapshot copy still copies (and is removed after); the internal 'instant' is not an option" t_copy_on_request

t_group_setup()
{
	need_setup
	[ "$(id -u)" = 0 ] || skip "needs root for loop devices, mounts and FIFREEZE"
	local dev
	truncate -s 64M "$TD/g.img"
	mkfs.ext4 -q -L live-g "$TD/g.img"
	dev=$(setup_loop "$TD/g.img") || skip "no loop device"
	mkdir -p "$TD/mnt-g"
	mount "$dev" "$TD/mnt-g" || skip "cannot mount ext4 here"
	register_cleanup mount "$TD/mnt-g"
	head -c 6M /dev/urandom >"$TD/mnt-g/data.bin"
	sync
	cairn group create live --volume "$TD/g.img" --freeze "$TD/mnt-g" --max-freeze 30
	cairn group create nofreeze --volume "$TD/v.img"
	touch "$TD/group-ready"
}
test_case "setup: an ext4 image on a file system without reflinks, loop-mounted, and groups over it" t_group_setup

t_group_freeze_during_read()
{
	[ -f "$TD/group-ready" ] || skip "group setup did not complete"
	local before
	before=$(snapshot_files)
	cairn group backup live --repo "$R" --freeze-during-read --json >g.json
	jq -e '.cost.read_frozen == 1 and .cost.copied == 0 and .cost.bytes_copied == 0 and .cost.frozen_seconds > 0' \
		g.json >/dev/null || fail "cost: $(jq -c .cost g.json)"
	[ "$(jget g.json '.backups[0].consistency')" = frozen ] || fail "member consistency: $(jq -c '.backups[0].consistency' g.json)"
	jq -e '.backups[0].change_during_read == false' g.json >/dev/null || fail "member change_during_read"
	[ "$(snapshot_files)" = "$before" ] || fail "a read while frozen made a snapshot file: $(snapshot_files)"
	cairn group backup live --repo "$R" --freeze-during-read >/dev/null 2>err
	grep -q "1 volume(s) with no instant snapshot read while frozen" err || fail "the summary: $(cat err)"
	grep -q "frozen [0-9.]* s" err || fail "the summary does not say how long it was frozen: $(cat err)"
	# Restored, the file system inside is clean.
	cairn group restore "$(jget g.json .id)" --repo "$R" --to out
	e2fsck -fn out/g.img >/dev/null 2>&1 || fail "the restored volume is not a clean ext4"
	# Without the flag: a copy while frozen, as before, and the cost said.
	cairn group backup live --repo "$R" --json >c.json
	jq -e '.cost.copied == 1 and .cost.bytes_copied > 0 and .cost.read_frozen == 0' c.json >/dev/null ||
		fail "cost of the copy: $(jq -c .cost c.json)"
	[ "$(jget c.json '.backups[0].consistency')" = snapshot ] || fail "copied member consistency"
	cairn group backup live --repo "$R" >/dev/null 2>err
	grep -q "1 volume(s) with no instant snapshot copied ([0-9.]* [KMG]iB) while frozen" err || fail "the summary: $(cat err)"
}
test_case "group backup --freeze-during-read reads live while frozen (no copy); without it, a copy; the summary says the cost" t_group_freeze_during_read

t_backup_freeze()
{
	[ -f "$TD/group-ready" ] || skip "group setup did not complete"
	local before
	before=$(snapshot_files)
	# Frozen for the whole live read: one instant, no copy.
	cairn backup --repo "$R" "$TD/g.img" --name g-single --freeze "$TD/mnt-g" --max-freeze 30 --json >b.json
	[ "$(jget b.json .snapshot)" = none ] || fail "snapshot: $(jget b.json .snapshot)"
	[ "$(jget b.json .consistency)" = frozen ] || fail "consistency: $(jq -c .consistency b.json)"
	jq -e '.frozen_seconds > 0 and .change_during_read == false' b.json >/dev/null ||
		fail "frozen_seconds, change_during_read: $(jq -c '[.frozen_seconds, .change_during_read]' b.json)"
	[ "$(snapshot_files)" = "$before" ] || fail "a frozen live read made a snapshot file: $(snapshot_files)"
	cairn restore --repo "$R" "$(jget b.json .id)" r.img
	e2fsck -fn r.img >/dev/null 2>&1 || fail "the restored volume is not a clean ext4"
	cairn backup --repo "$R" "$TD/g.img" --name g-single --freeze "$TD/mnt-g" >/dev/null 2>err
	grep -q "read while frozen" err && grep -q "file systems frozen for [0-9.]* s" err || fail "the summary: $(cat err)"
	# Writers block meanwhile: a write started during the hold ends after it.
	CAIRN_TEST_READ_HOLD_MS=1500 "$CAIRN" -vv backup --repo "$R" "$TD/g.img" --name g-single --freeze "$TD/mnt-g" \
		--max-freeze 30 >/dev/null 2>err &
	local pid=$! t0 t1 i
	# Once it says the file system is frozen (debug log).
	for i in $(seq 1 500); do
		grep -q "froze 1 file system" err && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.01
	done
	grep -q "froze 1 file system" err || fail "the backup never froze: $(cat err)"
	t0=$(date +%s%N)
	echo blocked >"$TD/mnt-g/during" && sync "$TD/mnt-g/during"
	t1=$(date +%s%N)
	wait $pid || fail "the frozen backup failed: $(cat err)"
	echo "  a write during the freeze took $(((t1 - t0) / 1000000)) ms" >&2
	[ $(((t1 - t0) / 1000000)) -ge 500 ] || fail "a write during the frozen read did not block"
	# A watchdog that thaws before the read ends: the backup is kept and
	# not recorded as frozen.
	CAIRN_TEST_READ_HOLD_MS=1500 cairn backup --repo "$R" "$TD/g.img" --name g-single --freeze "$TD/mnt-g" \
		--max-freeze 0.3 --json >b.json 2>err
	grep -q "the watchdog thawed the file systems before" err || fail "no warning: $(cat err)"
	[ "$(jget b.json .consistency)" != frozen ] || fail "a read the watchdog cut short is recorded as frozen"
	expect_fail -c 2 -m "--max-freeze goes with --freeze" cairn backup --repo "$R" "$TD/g.img" --max-freeze 3
	expect_fail -c 2 -m "--max-freeze takes seconds" cairn backup --repo "$R" "$TD/g.img" --freeze "$TD/mnt-g" --max-freeze 0
	expect_fail -m "is not a directory" cairn backup --repo "$R" "$TD/g.img" --freeze "$TD/g.img"
}
test_case "backup --freeze: a live read while frozen (writers block), recorded as frozen unless the watchdog cut it short" t_backup_freeze

t_group_bad()
{
	[ -f "$TD/group-ready" ] || skip "group setup did not complete"
	expect_fail -m "freezes no file system: --freeze-during-read needs a group made with --freeze" \
		cairn group backup nofreeze --repo "$R" --freeze-during-read
	expect_fail -c 2 -m "freeze-during-read and --compression go with 'group backup'" cairn group list --freeze-during-read
}
test_case "--freeze-during-read on a group that freezes nothing, or with another subcommand, is refused" t_group_bad

test_done
