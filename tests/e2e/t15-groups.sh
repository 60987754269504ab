#!/bin/bash
# t10: consistency groups.  The volumes are ext4 images on an XFS file
# system (reflink snapshots), loop-mounted so a writer can run inside them;
# group backups freeze those ext4 mounts around the snapshots.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
X=$TD/xfs

t_setup()
{
	[ "$(id -u)" = 0 ] || skip "needs root for loop devices, mounts and FIFREEZE"
	command -v mkfs.xfs >/dev/null || skip "mkfs.xfs is not installed"
	new_repo "$R"
	truncate -s 1G "$TD/xfs.fsimg"
	mkfs.xfs -q -f -m reflink=1 "$TD/xfs.fsimg" >/dev/null 2>&1 || skip "mkfs.xfs failed"
	local dev
	dev=$(setup_loop "$TD/xfs.fsimg") || skip "no loop device"
	mkdir -p "$X"
	mount "$dev" "$X" 2>/dev/null || skip "cannot mount XFS here"
	register_cleanup mount "$X"
	for d in a b; do
		truncate -s 96M "$X/$d.img"
		mkfs.ext4 -q -L "disk-$d" "$X/$d.img"
		dev=$(setup_loop "$X/$d.img") || skip "no loop device"
		mkdir -p "$TD/mnt-$d"
		mount "$dev" "$TD/mnt-$d"
		register_cleanup mount "$TD/mnt-$d"
		head -c 8M /dev/urandom >"$TD/mnt-$d/seed.bin"
	done
	printf '<domain><name>app</name><disk>a.img</disk><disk>b.img</disk></domain>\n' >"$TD/app.xml"
	cairn group create app --volume "$X/a.img" --volume "$X/b.img" --freeze "$TD/mnt-a" --freeze "$TD/mnt-b" \
		--config "$TD/app.xml" --pre-hook "echo pre-ran >$TD/pre.log" --post-hook "echo post-ran >$TD/post.log"
	touch "$TD/ready"
}
test_case "setup: two ext4 volumes on XFS, mounted, and a group over them" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete"
}

# writer DIR SECONDS: appends numbered 4 KiB records to DIR/log until
# DIR.stop exists (at most SECONDS), each ending with its own sha256 over the
# record, fsync'd every 16; records the time of every write in DIR/times.
# Runs in the background; DIR.started appears after its first 16 writes.
# The caller waits for that before the backup and stops the writer when the
# backup is over: on a loaded machine a writer started "1 s before" began
# after the freeze, and one with a fixed run time ended before it.
writer()
{
	python3 - "$1" "$2" <<'EOF' &
import hashlib, os, sys, time
d, secs = sys.argv[1], float(sys.argv[2])
end = time.time() + secs
fd = os.open(os.path.join(d, "log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
times = open(os.path.join(d, "times"), "w")
n = 0
stop = d.rstrip("/") + ".stop"  # beside the mount point, not in the volume
while time.time() < end and n < 8000 and not os.path.exists(stop):  # at most 32 MiB
    body = (b"%012d " % n) * 320
    body = body[:4096 - 32]
    os.write(fd, body + hashlib.sha256(body).digest())
    n += 1
    if n % 16 == 0:
        os.fsync(fd)
    times.write("%.4f\n" % time.time())
    if n == 16:
        open(stop[:-len(".stop")] + ".started", "w").close()
    time.sleep(0.004)
os.close(fd)
times.close()
EOF
	WRITER=$!
}

t_list()
{
	need_setup
	cairn group list --json >g.json
	jq -e '.[0].name == "app" and (.[0].volumes | length) == 2 and (.[0].freeze | length) == 2 and .[0].max_freeze_s == 5' g.json >/dev/null ||
		fail "group list: $(cat g.json)"
	expect_fail -m "exists already" cairn group create app --volume "$X/a.img"
	expect_fail -m "invalid group name" cairn group create "a b" --volume "$X/a.img"
	expect_fail -c 2 cairn group create other
	expect_fail -m "not a directory" cairn group create other --volume "$X/a.img" --freeze "$X/a.img"
	expect_fail -m "no group named" cairn group backup nosuch --repo "$R"
}
test_case "group create and list; bad definitions are refused" t_list

t_backup_while_writing()
{
	need_setup
	rm -f "$TD/mnt-a.stop" "$TD/mnt-a.started"
	writer "$TD/mnt-a" 60
	for i in $(seq 1 300); do [ -e "$TD/mnt-a.started" ] && break; sleep 0.1; done
	[ -e "$TD/mnt-a.started" ] || fail "the writer did not start"
	CAIRN_TEST_FREEZE_HOLD_MS=1500 cairn group backup app --repo "$R" --json >gb.json
	touch "$TD/mnt-a.stop"
	wait "$WRITER"
	grep -q pre-ran "$TD/pre.log" && grep -q post-ran "$TD/post.log" || fail "the hooks did not run"
	jget gb.json .id >"$TD/gid"
	[ "$(jq '.backups | length' gb.json)" = 2 ] || fail "not two member backups"
	jq -e '.frozen_seconds >= 1.5' gb.json >/dev/null || fail "frozen_seconds $(jget gb.json .frozen_seconds) < the 1.5 s hold"
	# The writer was blocked while frozen: a gap of more than a second.
	python3 - "$TD/mnt-a/times" <<'EOF' || fail "the writer never blocked during the freeze"
import sys
t = [float(x) for x in open(sys.argv[1])]
gaps = max(b - a for a, b in zip(t, t[1:]))
print("writes %d, largest gap %.3f s" % (len(t), gaps), file=sys.stderr)
sys.exit(0 if gaps > 1.0 else 1)
EOF
	# Restored, each volume is a clean file system (no journal to replay:
	# it was frozen, so flushed) whose log holds only whole records.
	cairn group restore "$(cat "$TD/gid")" --to out --repo "$R"
	cmp -s out/app.xml "$TD/app.xml" || fail "config document differs"
	for d in a b; do
		e2fsck -fn "out/$d.img" >fsck.out 2>&1 || fail "restored $d.img is not clean: $(head -n3 fsck.out | tr '\n' ' ')"
	done
	debugfs -R "dump /log log.restored" out/a.img >/dev/null 2>&1
	python3 - log.restored <<'EOF' || fail "the restored log has a torn record"
import hashlib, sys
data = open(sys.argv[1], "rb").read()
if len(data) == 0 or len(data) % 4096:
    sys.exit(1)
for i in range(0, len(data), 4096):
    rec = data[i:i + 4096]
    if hashlib.sha256(rec[:-32]).digest() != rec[-32:] or not rec.startswith(b"%012d " % (i // 4096)):
        sys.exit(1)
EOF
}
test_case "group backup while a writer runs: it blocks during the freeze; restored volumes are clean and untorn" t_backup_while_writing

t_incremental_and_members()
{
	need_setup
	[ -f "$TD/gid" ] || skip "no first group backup"
	head -c 1M /dev/urandom >"$TD/mnt-b/more.bin"
	cairn group backup app --repo "$R" --json >gb.json
	jq -e '[.backups[].change_tracking] == ["fiemap", "fiemap"]' gb.json >/dev/null ||
		fail "member backups did not use extent maps: $(jq -c '[.backups[].change_tracking]' gb.json)"
	cairn group list --backups --repo "$R" --json >l.json
	[ "$(jq length l.json)" = 2 ] || fail "expected two group backups"
	# Members are ordinary backups too.
	cairn list --repo "$R" --json | jq -e '[.[] | select(.volume == "a.img")] | length == 2' >/dev/null ||
		fail "member backups are not listed"
	cairn group restore app@latest --to out2 --repo "$R"
	for d in a b; do e2fsck -fn "out2/$d.img" >/dev/null 2>&1 || fail "out2/$d.img not clean"; done
	expect_fail -m "exists" cairn group restore app@latest --to out2 --repo "$R"
	cairn group restore app@latest --to out2 --repo "$R" --force
}
test_case "an incremental group backup tracks changes by extent maps; members list and restore" t_incremental_and_members

t_restore_planted_links()
{
	need_setup
	[ -f "$TD/gid" ] || skip "no first group backup"
	printf 'root only: %s\n' "$RANDOM$RANDOM" >secret
	chmod 600 secret
	cp -p secret secret.orig
	# Links planted in the target directory by another user (uid 65534):
	# at the config's name, at the temporary name cairn once used, at a
	# member's name.
	mkdir out
	ln -s "$TT/secret" out/app.xml
	ln -s "$TT/secret" out/app.xml.cairn-tmp
	chown -h 65534:65534 out/app.xml out/app.xml.cairn-tmp
	cairn group restore app@latest --to out --repo "$R" --force
	cmp -s secret secret.orig || fail "group restore wrote through a planted link into a root-only file"
	[ ! -L out/app.xml ] || fail "the config's name is still the planted link"
	cmp -s out/app.xml "$TD/app.xml" || fail "config document differs"
	[ -L out/app.xml.cairn-tmp ] || fail "the planted link at the old temporary name was touched"
	! ls out/*.cairn-tmp-* >/dev/null 2>&1 || fail "group restore left a temporary file: $(ls out)"
	for d in a b; do e2fsck -fn "out/$d.img" >/dev/null 2>&1 || fail "out/$d.img not clean"; done
	# Without --force a planted link is something that exists.
	mkdir out2
	ln -s "$TT/secret" out2/app.xml
	expect_fail -m "out2/app.xml exists" cairn group restore app@latest --to out2 --repo "$R"
	[ -L out2/app.xml ] || fail "the refused restore replaced the link"
	# A member's name that is another user's link is refused, not followed.
	mkdir out3
	ln -s "$TT/secret" out3/a.img
	chown -h 65534:65534 out3/a.img
	expect_fail -m "a.img is a symbolic link owned by uid 65534; give the path it points to" \
		cairn group restore app@latest --to out3 --repo "$R" --force
	cmp -s secret secret.orig || fail "group restore wrote through a member's planted link"
}
test_case "group restore never follows a link planted at the config's, a temporary's or another user's member name" t_restore_planted_links

t_config_link()
{
	need_setup
	printf 'root only\n' >secret
	chmod 600 secret
	printf '<domain/>\n' >cfg.xml
	cairn group create cfglink --volume "$X/a.img" --config "$TT/cfg.xml"
	# The config's name becomes another user's link to a root-only file:
	# the group backup refuses it before anything is frozen or stored.
	ln -sf "$TT/secret" cfg.xml
	chown -h 65534:65534 cfg.xml
	expect_fail -m "config $TT/cfg.xml is a symbolic link owned by uid 65534" cairn group backup cfglink --repo "$R"
	[ "$(cairn group list --backups cfglink --repo "$R" --json | jq length)" = 0 ] || fail "a group backup was stored"
	cairn group delete cfglink
}
test_case "a group's config document that became another user's link is refused" t_config_link

t_forget_group_by_id()
{
	need_setup
	[ -f "$TD/gid" ] || skip "no first group backup"
	local gid member members left m
	gid=$(cat "$TD/gid")
	members=$(cairn group list --backups --repo "$R" --json | jq -r --arg g "$gid" '.[] | select(.id == $g) | .members[].backup')
	member=${members%%$'\n'*}
	[ "$(echo "$members" | wc -l)" = 2 ] || fail "group backup $gid has not two members: $members"
	# A member goes only with its group backup.
	expect_fail -m "belongs to group backup $gid of app: forget the group backup" cairn forget --repo "$R" "$member"
	[ -f "$R/backups/$member" ] || fail "a refused forget deleted the member"
	cairn forget --repo "$R" "${gid:0:10}" --json >f.json
	jq -e --arg g "$gid" '.forgotten == 1 and .backups[0].id == $g and .backups[0].type == "group"
		and .backups[0].members == 2' f.json >/dev/null || fail "forget: $(cat f.json)"
	[ ! -e "$R/groups/$gid" ] || fail "the group object is left"
	for m in $members; do [ ! -e "$R/backups/$m" ] || fail "member $m is left"; done
	left=$(cairn group list --backups --repo "$R" --json | jq length)
	[ "$left" = 1 ] || fail "expected one group backup left, got $left"
	cairn group restore app@latest --to out3 --repo "$R"
	for d in a b; do e2fsck -fn "out3/$d.img" >/dev/null 2>&1 || fail "out3/$d.img not clean"; done
}
test_case "forget a group backup by id: its members go with it; a member alone is refused" t_forget_group_by_id

t_damaged_group_object()
{
	need_setup
	local gid members rc=0 m
	gid=$(cairn group list --backups --repo "$R" --json | jq -r '.[0].id')
	[ -n "$gid" ] && [ "$gid" != null ] || skip "no group backup left"
	members=$(cairn group list --backups --repo "$R" --json | jq -r '.[0].members[].backup')
	flip_byte "$R/groups/$gid" 40
	# group list and check name the object and how to remove it.
	expect_fail -m "groups/$gid is damaged: 'cairn forget $gid' removes it" cairn group list --backups --repo "$R"
	cairn check --repo "$R" >ck.out 2>ck.err || rc=$?
	[ $rc = 3 ] || fail "check exited $rc on a damaged group object, expected 3"
	grep -q "^damaged: groups/$gid: .*cairn forget $gid" ck.out || fail "check did not name it: $(cat ck.out)"
	cairn forget --repo "$R" "${gid:0:8}" -q
	[ ! -e "$R/groups/$gid" ] || fail "the damaged group object is still there"
	# Its members stay, as plain backups.
	for m in $members; do [ -f "$R/backups/$m" ] || fail "member $m went with a damaged group object"; done
	[ "$(cairn group list --backups --repo "$R" --json | jq length)" = 0 ] || fail "group backups are left"
	cairn check --repo "$R" -q
}
test_case "a damaged group object: group list and check name it and 'cairn forget ID'; forget removes it, members stay" t_damaged_group_object

t_sigkill_thaws()
{
	need_setup
	local before
	before=$(cairn group list --backups --repo "$R" --json | jq length)
	CAIRN_TEST_FREEZE_HOLD_MS=60000 "$CAIRN" group backup app --repo "$R" >/dev/null 2>&1 &
	local pid=$! i
	for i in $(seq 1 100); do
		timeout 0.2 touch "$TD/mnt-a/probe" 2>/dev/null || break
		sleep 0.05
	done
	[ "$i" -lt 100 ] || { kill -9 $pid; fail "the file system never froze"; }
	kill9_running "$pid" "the frozen group backup"
	timeout 5 touch "$TD/mnt-a/after-kill" || fail "mnt-a still frozen 5 s after SIGKILL"
	timeout 5 touch "$TD/mnt-b/after-kill" || fail "mnt-b still frozen 5 s after SIGKILL"
	[ "$(cairn group list --backups --repo "$R" --json | jq length)" = "$before" ] || fail "a killed group backup was listed"
}
test_case "SIGKILL while frozen: the watchdog thaws at once; no group backup appears" t_sigkill_thaws

t_max_freeze()
{
	need_setup
	cairn group create slow --volume "$X/a.img" --freeze "$TD/mnt-a" --max-freeze 0.5
	CAIRN_TEST_FREEZE_HOLD_MS=2000 expect_fail -m "max-freeze" cairn group backup slow --repo "$R"
	timeout 5 touch "$TD/mnt-a/after-limit" || fail "still frozen after the limit"
	[ "$(cairn group list --backups slow --repo "$R" --json | jq length)" = 0 ] || fail "an inconsistent group backup was stored"
	cairn group delete slow
}
test_case "a freeze longer than --max-freeze is thawed by the watchdog and fails the group backup" t_max_freeze

t_pre_hook_fails()
{
	need_setup
	cairn group create hooked --volume "$X/a.img" --freeze "$TD/mnt-a" --pre-hook "exit 3" \
		--post-hook "touch $TT/post-ran"
	expect_fail -m "pre-hook of group hooked failed \(exit status 3\).*nothing was frozen" cairn group backup hooked --repo "$R"
	[ ! -e "$TT/post-ran" ] || fail "the post-hook ran although nothing was frozen"
	timeout 2 touch "$TD/mnt-a/after-hook" || fail "frozen after a failed pre-hook"
	cairn group delete hooked
	expect_fail -m "no group named" cairn group delete hooked
}
test_case "a failing pre-hook aborts with nothing frozen" t_pre_hook_fails

test_done
