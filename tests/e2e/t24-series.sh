#!/bin/bash
# t19: series and what this host has seen: one series per source (a default
# volume name never joins the backups of another disk), and backups seen
# before that vanish from the store (rollback, hiding) are reported.
. "$(dirname "$0")/lib.sh"

R=$TD/repo

t_setup()
{
	new_repo "$R"
	mkdir -p "$TD/a" "$TD/b"
	mk_image "$TD/a/disk.img" 16 191 4
	rand_file "$TD/b/disk.img" $((2 << 20)) 192
	touch "$TD/ready"
}
test_case "setup: a repository, two different disk.img in two directories" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete"
}

t_series_refused()
{
	need_setup
	cairn backup --repo "$R" -q "$TD/a/disk.img" >"$TD/a.id"
	cp -r "$R" repo.before
	# Another disk under the same default name: refused before anything is
	# read (no snapshot copy taken), naming the other source and --name.
	expect_fail -m "volume name 'disk.img' is taken by the backups of another source, $TD/a/disk.img on host .*--name" \
		cairn backup --repo "$R" "$TD/b/disk.img"
	"$CAIRN" backup --repo "$R" "$TD/b/disk.img" --snapshot copy -vv 2>copy.err && fail "the second disk was backed up"
	grep -q "another source" copy.err || fail "backup said: $(tail -n2 copy.err)"
	! grep -q "snapshot (copy)" copy.err || fail "the refused backup copied the volume first"
	expect_fail -m "another source" cairn backup --repo "$R" "$TD/b/disk.img" --snapshot none
	diff -r repo.before "$R" >/dev/null || fail "a refused backup changed the repository"
	[ "$(backup_count "$R")" = 1 ] || fail "$(backup_count "$R") backups after refusals"
	cairn restore --repo "$R" disk.img@latest out.img -q
	same_file "$TD/a/disk.img" out.img
}
test_case "a second disk with the same base name is refused, naming the first and --name" t_series_refused

t_series_name_given()
{
	need_setup
	# A name of its own: a series of its own.
	cairn backup --repo "$R" -q "$TD/b/disk.img" --name disk-b >b.id
	cairn restore --repo "$R" disk-b@latest outb.img -q
	same_file "$TD/b/disk.img" outb.img
	cairn restore --repo "$R" disk.img@latest outa.img -q
	same_file "$TD/a/disk.img" outa.img
	# Then the default name again: disk-b is b's series now.
	scatter_write "$TD/b/disk.img" 193 4 >/dev/null
	cairn backup --repo "$R" -q "$TD/b/disk.img" --name disk-b >/dev/null
	# The first disk's name given explicitly: the user said so.
	cairn backup --repo "$R" -q "$TD/b/disk.img" --name disk.img >b2.id
	cairn list --repo "$R" --volume disk.img --json >l.json
	jq -e --arg a "$(cat "$TD/a.id")" --arg b "$(cat b2.id)" '[.[].id] == [$a, $b]' l.json >/dev/null ||
		fail "disk.img series: $(jq -c '[.[].id]' l.json)"
	cairn restore --repo "$R" disk.img@latest outb2.img -q
	same_file "$TD/b/disk.img" outb2.img
	# Now the newest disk.img is b's: a by its default name is refused in turn.
	expect_fail -m "another source, $TD/b/disk.img" cairn backup --repo "$R" "$TD/a/disk.img"
	cairn backup --repo "$R" -q "$TD/a/disk.img" --name disk.img >/dev/null
	cairn backup --repo "$R" -q "$TD/a/disk.img" >/dev/null
}
test_case "--name: a series of its own, or explicitly the other source's series" t_series_name_given

t_series_same_file()
{
	need_setup
	# The same image through a symlinked directory, and through a link to
	# the file: still the same source, the same series.
	ln -s "$TD/a" linkdir
	ln -s "$TD/a/disk.img" link.img
	local n
	n=$(backup_count "$R")
	cairn backup --repo "$R" -q linkdir/disk.img >l1.id
	cairn backup --repo "$R" -q --snapshot none "$TD/a/../a/disk.img" >/dev/null
	cairn backup --repo "$R" -q link.img >/dev/null
	[ "$(backup_count "$R")" = $((n + 3)) ] || fail "expected 3 more backups"
	cairn list --repo "$R" --json | jq -e --arg d "$TD/a/disk.img" --arg id "$(cat l1.id)" \
		'.[] | select(.id == $id) | .volume == "disk.img" and .source == $d' >/dev/null ||
		fail "source recorded: $(cairn list --repo "$R" --json | jq -c --arg id "$(cat l1.id)" '.[] | select(.id == $id)')"
	cairn check --repo "$R" -q
}
test_case "the same image via a symlinked directory or a link is the same series" t_series_same_file

t_policy_names()
{
	need_setup
	local r4=$TT/repo
	new_repo "$r4"
	cairn backup --repo "$r4" -q --snapshot none "$TD/a/disk.img" >/dev/null
	# A policy's volume by its default name: the same rule, naming the
	# policy's option; by --name, its own series.
	cairn policy create pb --volume "$TD/b/disk.img" --repo "$r4" --every 1h --snapshot none -q
	expect_fail -m "taken by the backups of another source, $TD/a/disk.img .*'cairn policy create --name'" \
		cairn policy run pb
	cairn status --all --json | jq -e '[.[] | select(.policy == "pb")][0] | .state == "failed" and
		(.error | contains("another source"))' >/dev/null || fail "the policy's job: $(cairn status --all --json | jq -c '.[0]')"
	expect_fail -c 2 -m "invalid volume name" cairn policy create pn --volume "$TD/b/disk.img" --repo "$r4" \
		--every 1h --name a@b
	cairn policy create pn --volume "$TD/b/disk.img" --repo "$r4" --every 1h --snapshot none --name disk-b -q
	cairn policy run pn >id
	cairn list --repo "$r4" --volume disk-b --json | jq -e --arg id "$(cat id)" '[.[].id] == [$id]' >/dev/null ||
		fail "policy --name: $(cairn list --repo "$r4" --json | jq -c '[.[] | {id, volume}]')"
	cairn policy show pn --json | jq -e '.volume_name == "disk-b" and .backups == 1' >/dev/null ||
		fail "show: $(cairn policy show pn --json)"
	cairn policy delete pb -q
	cairn policy delete pn -q
}
test_case "a policy's volume: its default name under the series rule (the refusal names policy create --name), or --name" t_policy_names

t_group_names()
{
	need_setup
	local r3=$TT/repo
	new_repo "$r3"
	mkdir g1 g2
	rand_file g1/disk.img $((1 << 20)) 195
	rand_file g2/disk.img $((1 << 20)) 196
	cairn group create s1 --volume g1/disk.img -q
	cairn group create s2 --volume g2/disk.img -q
	cairn group backup s1 --repo "$r3" -q >/dev/null
	# A member's default name is under the series rule, checked before
	# anything is frozen or copied.
	expect_fail -m "group s2: volume $TT/g2/disk.img: volume name 'disk.img' is taken .*--volume-name" \
		cairn group backup s2 --repo "$r3"
	[ "$(backup_count "$r3")" = 1 ] || fail "a refused group backup left backups"
	expect_fail -c 2 -m "one --volume-name per --volume" \
		cairn group create s3 --volume g2/disk.img --volume g1/disk.img --volume-name a
	expect_fail -c 2 -m "invalid volume name" cairn group create s3 --volume g2/disk.img --volume-name a/b
	cairn group create s3 --volume g2/disk.img --volume-name disk2 -q
	cairn group list --json | jq -e '(.[] | select(.name == "s3") | .volume_names == ["disk2"]) and
		(.[] | select(.name == "s1") | .volume_names == [null])' >/dev/null || fail "group list: $(cairn group list --json)"
	cairn group backup s3 --repo "$r3" -q >/dev/null
	cairn restore --repo "$r3" disk2@latest o2.img -q
	same_file g2/disk.img o2.img
	cairn restore --repo "$r3" disk.img@latest o1.img -q
	same_file g1/disk.img o1.img
}
test_case "group members: a default name taken by another source is refused; --volume-name names one" t_group_names

t_vanished()
{
	need_setup
	local r2=$TT/repo i
	new_repo "$r2"
	rand_file v.img $((1 << 20)) 194
	for i in 1 2 3; do
		scatter_write v.img $((200 + i)) 4 >/dev/null
		cairn backup --repo "$r2" -q --snapshot none v.img >id$i
	done
	cairn list --repo "$r2" >/dev/null 2>list0.err
	[ ! -s list0.err ] || fail "list warned with nothing gone: $(cat list0.err)"
	# Someone with write access to the store deletes the newest manifest.
	rm "$r2/backups/$(cat id3)"
	local gone="1 backup this host saw before is gone from the repository \(the newest: $(cat id3) of v.img"
	cairn list --repo "$r2" >l.txt 2>list.err
	grep -Eq "warning: $gone.*another host.*deleted from the store" list.err || fail "list said: $(cat list.err)"
	[ "$(wc -l <list.err)" = 1 ] || fail "list warned in $(wc -l <list.err) lines"
	[ "$(wc -l <l.txt)" = 3 ] || fail "list: $(cat l.txt)"
	cairn restore --repo "$r2" v.img@latest out.img 2>restore.err
	grep -Eq "$gone" restore.err || fail "restore said: $(cat restore.err)"
	cairn restore --repo "$r2" v.img@latest out2.img --json >r.json 2>/dev/null
	jq -e --arg g "$(cat id3)" --arg b "$(cat id2)" '.id == $b and .vanished.count == 1 and .vanished.newest.id == $g
		and .vanished.newest.volume == "v.img"' r.json >/dev/null || fail "restore --json: $(jq -c '{id, vanished}' r.json)"
	# check: a warning, and with --strict a failure like damage.
	cairn check --repo "$r2" 2>check.err || fail "check without --strict failed: $(cat check.err)"
	grep -Eq "$gone" check.err || fail "check said: $(cat check.err)"
	grep -q "no damage in what is there" check.err || fail "check said: $(cat check.err)"
	expect_fail -c 3 -m "check --strict: $gone" cairn check --repo "$r2" --strict
	local rc=0
	cairn check --repo "$r2" --strict --json >c.json 2>/dev/null || rc=$?
	[ $rc = 3 ] || fail "check --strict --json exited $rc"
	jq -e --arg g "$(cat id3)" '.ok == false and .vanished.count == 1 and .vanished.newest.id == $g' c.json >/dev/null ||
		fail "check --json: $(jq -c '{ok, vanished}' c.json)"
	# Another host (its own state directory) never saw it: nothing to say.
	CAIRN_STATE_DIR=$TT/other cairn list --repo "$r2" >/dev/null 2>other.err
	[ ! -s other.err ] || fail "another host warned: $(cat other.err)"
	CAIRN_STATE_DIR=$TT/other cairn check --repo "$r2" --strict -q
	# What this host forgets is not "vanished".
	cairn forget --repo "$r2" "$(cat id2)" -q
	cairn list --repo "$r2" >/dev/null 2>after.err
	grep -Eq "$gone" after.err || fail "after a forget: $(cat after.err)"
	# 'forget ID' of the vanished backup acknowledges it.
	cairn forget --repo "$r2" "$(cat id3)" 2>ack.err
	grep -q "$(cat id3) is gone from the repository already" ack.err || fail "forget said: $(cat ack.err)"
	cairn list --repo "$r2" >/dev/null 2>l2.err
	[ ! -s l2.err ] || fail "still warned: $(cat l2.err)"
	cairn check --repo "$r2" --strict -q
	# A backup is recorded by the command that made it, and retention
	# by this host is no vanishing either.
	for i in 4 5 6; do
		scatter_write v.img $((200 + i)) 4 >/dev/null
		cairn backup --repo "$r2" -q --snapshot none v.img >id$i
	done
	cairn forget --repo "$r2" --volume v.img --keep-last 2 -q
	rm "$r2/backups/$(cat id6)"
	expect_fail -c 3 -m "1 backup this host saw before is gone .*the newest: $(cat id6)" cairn check --repo "$r2" --strict
	# Without a usable state database the commands still work.
	touch notadir
	CAIRN_STATE_DIR=$TT/notadir/state cairn list --repo "$r2" -vv >/dev/null 2>nodb.err ||
		fail "list without a state database failed: $(tail -n1 nodb.err)"
	grep -q "no record of the backups seen" nodb.err || fail "no debug line: $(cat nodb.err)"
}
test_case "a backup seen before that vanishes from the store is reported by list, restore and check (--strict: exit 3); not after a forget here, nor on another host" t_vanished

test_done
