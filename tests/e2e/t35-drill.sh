#!/bin/bash
# t35: recovery drills (cairn drill): a clean ext4 image passes (e2fsck),
# a damaged one fails with e2fsck's verdict in one line, --verify-command
# decides instead, random bytes pass "by ids only"; every drill is
# recorded, shown by `dr report` and `drill list`, and leaves no scratch
# copy (also when interrupted); a scratch directory too small is refused;
# a group drills each member; the daemon runs a drill schedule; bad input.
. "$(dirname "$0")/lib.sh"

R=$TD/repo

t_setup()
{
	command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null && command -v debugfs >/dev/null ||
		skip "e2fsprogs is not installed (scripts/install-deps)"
	new_repo "$R"
	# A clean ext4 image with a little content (1 KiB blocks: the group
	# descriptors are block 2).
	truncate -s 16M "$TD/good.img"
	mkfs.ext4 -q -F -b 1024 -L drilled "$TD/good.img"
	seq 1 20000 >"$TD/f"
	debugfs -w -R "write $TD/f numbers.txt" "$TD/good.img" >/dev/null 2>&1
	e2fsck -fn "$TD/good.img" >/dev/null 2>&1 || fail "the clean image is not clean"
	# The same with its primary group descriptors overwritten: the
	# superblock (what libblkid reads) survives, e2fsck finds the damage.
	cp "$TD/good.img" "$TD/bad.img"
	dd if=/dev/urandom of="$TD/bad.img" bs=1024 seek=2 count=1 conv=notrunc 2>/dev/null
	local rc=0
	e2fsck -fn "$TD/bad.img" >/dev/null 2>&1 || rc=$?
	[ $rc -ne 0 ] || fail "the damaged image passes e2fsck"
	rand_file "$TD/rnd.img" $((1 << 20)) 35
	local v
	for v in good bad rnd; do
		cairn backup "$TD/$v.img" --repo "$R" -q >"$TD/$v.id" || fail "backup $v"
	done
	touch "$TD/ready"
}
test_case "setup: a clean and a damaged ext4 image and random bytes, backed up" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete"
}

# no_scratch: nothing is left in the default scratch directory.
no_scratch()
{
	[ -z "$(ls -A "$CAIRN_STATE_DIR/drills" 2>/dev/null)" ] ||
		fail "scratch left behind: $(ls -A "$CAIRN_STATE_DIR/drills")"
}

t_pass()
{
	need_setup
	cairn drill --volume good.img --repo "$R" --json >d.json || fail "drill of the clean image failed: $(cat d.json)"
	[ "$(jq -r .ok d.json)" = true ] || fail "not ok: $(cat d.json)"
	[ "$(jq -r .backup d.json)" = "$(cat "$TD/good.id")" ] || fail "drilled $(jq -r .backup d.json)"
	[ "$(jq -r '.members[0].fs_type' d.json)" = ext4 ] || fail "fs_type $(jq -r '.members[0].fs_type' d.json)"
	[ "$(jq -r '.members[0].check' d.json)" = e2fsck ] || fail "check $(jq -r '.members[0].check' d.json)"
	jq -e '.restore_s > 0 and .check_s > 0 and .bytes > 0 and .rto_s >= .restore_s' d.json >/dev/null ||
		fail "no measured RTO: $(cat d.json)"
	no_scratch
	# Recorded: the drills table, a job of kind drill, dr report.
	cairn drill list --json >l.json
	[ "$(jq -r '.drills[0].name + " " + (.drills[0].ok | tostring)' l.json)" = "good.img true" ] ||
		fail "drill list: $(cat l.json)"
	cairn status --all --json >s.json
	[ "$(jq '[.[] | select(.kind == "drill" and .state == "done")] | length' s.json)" -ge 1 ] ||
		fail "no done drill job: $(jq -c '[.[] | .kind]' s.json)"
	cairn dr report --json >r.json || true
	jq -e '.items[] | select(.name == "good.img") | .drill.ok == true and .drill_flag == null' r.json >/dev/null ||
		fail "dr report: $(jq -c '.items[] | select(.name == "good.img")' r.json)"
	jq -e '.items[] | select(.name == "rnd.img") | .drill_flag == "never drilled"' r.json >/dev/null ||
		fail "rnd.img not flagged never drilled: $(jq -c '.items[] | select(.name == "rnd.img")' r.json)"
	cairn dr report >r.txt || true
	grep -q "last drill: .* ok, RTO" r.txt || fail "dr report text: $(cat r.txt)"
	grep -q "never drilled" r.txt || fail "dr report text lacks never drilled: $(cat r.txt)"
	# The plain output says passed and the RTO.
	expect_ok cairn drill --volume good.img --repo "$R" --at "$(cut -c1-12 "$TD/good.id")"
	grep -q "^drill volume good.img passed: good.img (ext4): e2fsck found no errors" "$TT/.out" ||
		fail "output: $(cat "$TT/.out")"
	grep -q "RTO" "$TT/.out" || fail "no RTO line: $(cat "$TT/.out")"
}
test_case "a clean ext4 image passes e2fsck, is recorded with its RTO, no scratch left" t_pass

t_damaged()
{
	need_setup
	expect_fail -c 1 -m '^drill volume bad.img FAILED: bad.img \(ext4\): e2fsck failed \(exit status [0-9]+\): .+' \
		cairn drill --volume bad.img --repo "$R"
	no_scratch
	cairn drill list --json >l.json
	[ "$(jq -r '.drills[0].name + " " + (.drills[0].ok | tostring)' l.json)" = "bad.img false" ] ||
		fail "not recorded as failed: $(jq -c '.drills[0]' l.json)"
	local rc=0
	cairn dr report --json >r.json || rc=$?
	[ $rc -eq 1 ] || fail "dr report exited $rc with a failed drill"
	jq -e '.items[] | select(.name == "bad.img") | .breached and .drill_flag == "last drill failed" and
		(.breach | test("last drill failed.*e2fsck"))' r.json >/dev/null ||
		fail "dr report: $(jq -c '.items[] | select(.name == "bad.img")' r.json)"
	cairn dr report >r.txt || true
	grep -q "^BREACHED volume bad.img: last drill failed" r.txt || fail "no BREACHED line: $(head -3 r.txt)"
}
test_case "a damaged ext4 image: exit 1, one line with e2fsck's verdict, recorded failed, dr report flags it" t_damaged

t_xfs()
{
	need_setup
	command -v mkfs.xfs >/dev/null && command -v xfs_repair >/dev/null || skip "xfsprogs is not installed"
	# XFS's smallest file system, sparse: a few hundred KiB of data.
	truncate -s 300M "$TD/x.img"
	mkfs.xfs -q -f "$TD/x.img" >/dev/null 2>&1 || skip "mkfs.xfs on a file failed"
	cp --sparse=always "$TD/x.img" "$TD/xbad.img"
	# The second sector (the AG free space header) overwritten.
	dd if=/dev/urandom of="$TD/xbad.img" bs=512 seek=1 count=1 conv=notrunc 2>/dev/null
	cairn backup "$TD/x.img" --repo "$R" -q >/dev/null
	cairn backup "$TD/xbad.img" --repo "$R" -q >/dev/null
	expect_ok cairn drill --volume x.img --repo "$R"
	grep -q "x.img (xfs): xfs_repair found no errors" "$TT/.out" || fail "output: $(cat "$TT/.out")"
	expect_fail -c 1 -m '^drill volume xbad.img FAILED: xbad.img \(xfs\): xfs_repair failed \(exit status [0-9]+\): .+' \
		cairn drill --volume xbad.img --repo "$R"
	grep -Eiq 'crc|bad|agf' "$TT/.err" || fail "the verdict names no finding: $(cat "$TT/.err")"
	no_scratch
	rm -f "$TD/x.img" "$TD/xbad.img"
}
test_case "XFS: a clean image passes xfs_repair -n, a damaged one fails naming what it found" t_xfs

t_verify()
{
	need_setup
	# The command sees the image (and not the passphrase); its verdict decides.
	expect_ok cairn drill --volume bad.img --repo "$R" \
		--verify-command 'test -s "$CAIRN_DRILL_IMAGE" && test -z "${CAIRN_PASSPHRASE:-}" && echo "$CAIRN_DRILL_VOLUME" >'"$TT/seen"
	[ "$(cat "$TT/seen")" = bad.img ] || fail "the command did not run: $(cat "$TT/seen" 2>/dev/null)"
	grep -q "verify command passed" "$TT/.out" || fail "output: $(cat "$TT/.out")"
	expect_fail -c 1 -m 'drill volume good.img FAILED: good.img: the verify command failed \(exit status 7\)' \
		cairn drill --volume good.img --repo "$R" --verify-command 'exit 7'
	no_scratch
	cairn drill list --json >l.json
	[ "$(jq -r '.drills[0].ok' l.json)" = false ] || fail "not recorded failed"
}
test_case "--verify-command: its exit status decides, it gets CAIRN_DRILL_IMAGE, no secrets" t_verify

t_nofs()
{
	need_setup
	expect_ok cairn drill --volume rnd.img --repo "$R"
	grep -q "rnd.img: no filesystem found: restore verified by ids only" "$TT/.out" || fail "output: $(cat "$TT/.out")"
	no_scratch
}
test_case "random bytes: restored, no filesystem found, passes verified by ids" t_nofs

t_scratch_small()
{
	need_setup
	mkdir -p small
	mount -t tmpfs -o size=1m tmpfs small 2>/dev/null || skip "cannot mount a tmpfs (not root?)"
	register_cleanup mount "$PWD/small"
	expect_fail -c 1 -m 'scratch directory .*small has .* free; the drill needs about' \
		cairn drill --volume rnd.img --repo "$R" --scratch small
	[ -z "$(ls -A small)" ] || fail "left in the small scratch: $(ls -A small)"
	# A directory with room is used, and emptied.
	mkdir -p roomy
	expect_ok cairn drill --volume good.img --repo "$R" --scratch roomy
	[ -z "$(ls -A roomy)" ] || fail "left in the scratch: $(ls -A roomy)"
}
test_case "a scratch directory without room for the image is refused" t_scratch_small

t_interrupt()
{
	need_setup
	# Each progress report sleeps 300 ms: SIGINT lands during the restore.
	CAIRN_TEST_JOB_DELAY=300 "$CAIRN" drill --volume rnd.img --repo "$R" --scratch "$TT" >i.out 2>i.err &
	local pid=$! i
	for i in $(seq 1 100); do
		ls -d "$TT"/cairn-drill-* >/dev/null 2>&1 && break
		sleep 0.05
	done
	sleep 0.2
	kill -INT $pid
	local rc=0
	wait $pid || rc=$?
	[ $rc -ne 0 ] || fail "the interrupted drill exited 0"
	! ls -d "$TT"/cairn-drill-* >/dev/null 2>&1 || fail "scratch left after SIGINT: $(ls -d "$TT"/cairn-drill-*)"
	cairn status --all --json >s.json
	[ "$(jq -r '[.[] | select(.kind == "drill")][0].state' s.json)" = canceled ] ||
		fail "job: $(jq -c '[.[] | select(.kind == "drill")][0]' s.json)"
}
test_case "SIGINT during the restore: canceled, the scratch copy removed" t_interrupt

t_group()
{
	need_setup
	expect_ok cairn group create pair --volume "$TD/good.img" --volume "$TD/rnd.img"
	cairn group backup pair --repo "$R" -q >/dev/null || fail "group backup"
	cairn drill --group pair --repo "$R" --json >g.json || fail "group drill failed: $(cat g.json)"
	[ "$(jq '.members | length' g.json)" = 2 ] || fail "members: $(jq -c .members g.json)"
	[ "$(jq -r '[.members[].check] | sort | join(",")' g.json)" = "e2fsck,ids" ] ||
		fail "checks: $(jq -c '[.members[].check]' g.json)"
	no_scratch
	cairn dr report --json >r.json || true
	jq -e '.items[] | select(.kind == "group" and .name == "pair") | .drill.ok' r.json >/dev/null ||
		fail "dr report group: $(jq -c '.items[] | select(.kind == "group")' r.json)"
}
test_case "a group: each member restored and checked" t_group

t_schedule()
{
	need_setup
	expect_ok cairn drill --volume good.img --repo "$R" --every 1s
	grep -q "drill schedule of volume good.img: every 1s" "$TT/.err" || fail "said: $(cat "$TT/.err")"
	cairn drill list --json >l.json
	[ "$(jq -r '.schedules[0].name + " " + (.schedules[0].every_s | tostring)' l.json)" = "good.img 1" ] ||
		fail "schedule: $(jq -c .schedules l.json)"
	local before after
	before=$(jq '[.drills[] | select(.name == "good.img")] | length' l.json)
	sleep 1.2
	cairn daemon --once >/dev/null 2>d.err || fail "daemon: $(cat d.err)"
	after=$(cairn drill list --json | jq '[.drills[] | select(.name == "good.img")] | length')
	[ "$after" -eq $((before + 1)) ] || fail "the daemon ran $((after - before)) drills: $(cat d.err)"
	no_scratch
	expect_ok cairn drill --volume good.img --every off
	[ "$(cairn drill list --json | jq '.schedules | length')" = 0 ] || fail "schedule not removed"
}
test_case "--every: the daemon runs the due drill; --every off removes it" t_schedule

t_bad_input()
{
	need_setup
	expect_fail -c 2 -m 'one of --volume V or --group G' cairn drill --repo "$R"
	expect_fail -c 2 -m 'one of --volume V or --group G' cairn drill --volume a --group b --repo "$R"
	expect_fail -c 2 -m 'every' cairn drill --volume good.img --every soon --repo "$R"
	expect_fail -c 2 -m 'no --at' cairn drill --volume good.img --every 1d --at latest --repo "$R"
	expect_fail -c 2 -m 'unknown subcommand' cairn drill frobnicate
	expect_fail -c 2 -m 'volume:NAME' cairn drill run good.img
	expect_fail -c 1 -m "no restore point of volume 'nosuch'" cairn drill --volume nosuch --repo "$R"
	expect_fail -c 1 -m "is of volume 'bad.img', not 'good.img'" \
		cairn drill --volume good.img --at "$(cut -c1-12 "$TD/bad.id")" --repo "$R"
	expect_fail -c 1 -m "no restore point of group 'nosuch'" cairn drill --group nosuch --repo "$R"
	expect_fail -c 1 -m 'not a directory' cairn drill --volume good.img --repo "$R" --scratch "$TD/good.img"
	expect_fail -c 1 -m 'no drill schedule' cairn drill --volume nosuch --every off
	expect_fail -c 1 -m 'no drill schedule' cairn drill run volume:nosuch
	no_scratch
}
test_case "bad input: one line each, nothing recorded or left behind" t_bad_input

test_done
