#!/bin/bash
# t12: retention (forget with restic's rules, holds) and prune: alone,
# beside backups running in a loop, killed at several points, and its lease.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
T0=1767268800 # 2026-01-01 12:00 UTC

t_setup()
{
	new_repo "$R" --chunk-size 64K --pack-size 1M
	rand_file "$TD/vol.img" $((4 << 20)) 21
	local d
	# Six daily backups, 2026-01-02 .. 2026-01-07 (injected time).
	for d in 1 2 3 4 5 6; do
		scatter_write "$TD/vol.img" $((200 + d)) 6 65536 >/dev/null
		CAIRN_TEST_NOW=$((T0 + d * 86400)) cairn backup "$TD/vol.img" --repo "$R" --snapshot none -q >"$TD/id.$d"
		cp "$TD/vol.img" "$TD/vol.$d.img"
	done
	touch "$TD/ready"
}
test_case "setup: six daily backups" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete"
}

t_forget_bad_input()
{
	need_setup
	expect_fail -c 2 -m "nothing to keep" cairn forget --repo "$R"
	expect_fail -c 2 -m "invalid --keep-daily 'x'" cairn forget --repo "$R" --keep-daily x
	expect_fail -c 2 -m "invalid --keep-hourly" cairn forget --repo "$R" --keep-hourly -1
	expect_fail -c 2 -m "invalid duration '7x'" cairn forget --repo "$R" --keep-within 7x
	expect_fail -c 2 -m "invalid duration" cairn forget --repo "$R" --keep-within 0d
	expect_fail -c 2 -m "at most one of" cairn forget --repo "$R" --volume vol.img --policy p --keep-last 1
	expect_fail -c 2 -m "backups or --keep-\* rules, not both" cairn forget --repo "$R" latest --keep-last 1
	expect_fail -m "no backup of volume 'nosuch'" cairn forget --repo "$R" --volume nosuch --keep-last 1
	expect_fail -m "no group backup of group 'nosuch'" cairn forget --repo "$R" --group nosuch --keep-last 1
	expect_fail -m "no policy named 'nosuch'" cairn forget --policy nosuch --keep-last 1
	expect_fail -m "no backup matches 'ffff'" cairn hold ffff --repo "$R"
	expect_fail -c 2 -m "missing BACKUP" cairn hold --repo "$R"
	expect_fail -m "is not held" cairn release "$(cat "$TD/id.1")" --repo "$R"
	expect_fail -c 2 -m "invalid --max-unused" cairn prune --repo "$R" --max-unused 100%
	expect_fail -c 2 -m "invalid --max-unused" cairn prune --repo "$R" --max-unused lots
	expect_fail -c 2 -m "invalid --safety-window" cairn prune --repo "$R" --safety-window 5
	expect_fail -c 2 -m "unexpected argument" cairn prune --repo "$R" now
	[ "$(backup_count "$R")" = 6 ] || fail "bad input changed the repository"
}
test_case "forget, hold, release, prune: bad input gives one clear line" t_forget_bad_input

t_forget_daily_dry_run()
{
	need_setup
	tree_state "$R" >before
	cairn forget --repo "$R" --keep-daily 3 --dry-run --json >f.json
	assert_unchanged "$R" before
	jq -e '.dry_run and .kept == 3 and .forgotten == 3' f.json >/dev/null || fail "dry run: $(jq -c '{kept, forgotten}' f.json)"
	jq -e --arg a "$(cat "$TD/id.6")" --arg b "$(cat "$TD/id.5")" --arg c "$(cat "$TD/id.4")" \
		'[.backups[] | select(.action == "keep") | .id] == [$a, $b, $c] and
		 ([.backups[] | select(.action == "keep") | .reasons] | all(. == ["daily"]))' f.json >/dev/null ||
		fail "kept: $(jq -c '[.backups[] | {id, action, reasons}]' f.json)"
	cairn forget --repo "$R" --keep-daily 3 --keep-last 1 --dry-run >f.txt 2>f.err
	head -n1 f.txt | grep -q "SERIES.*ID.*CREATED.*ACTION.*WHY KEPT" || fail "header: $(head -n1 f.txt)"
	grep "$(cat "$TD/id.6")" f.txt | grep -q "keep .*last, daily" || fail "reasons: $(cat f.txt)"
	grep -q "would forget 3, kept 3 (dry run" f.err || fail "summary: $(cat f.err)"
	# within 2d of the newest (01-07 12:00): after 01-05 12:00, so 01-06, 01-07.
	cairn forget --repo "$R" --keep-within 2d --dry-run --json | jq -e '.kept == 2' >/dev/null || fail "within 2d"
}
test_case "forget --dry-run lists what is kept and why, deletes nothing" t_forget_daily_dry_run

t_hold_release()
{
	need_setup
	local held
	held=$(cat "$TD/id.2")
	cairn hold "${held:0:10}" --repo "$R" --reason "audit 2026" 2>h.err
	grep -q "held backup $held" h.err || fail "hold said: $(cat h.err)"
	cairn list --repo "$R" >l.txt
	head -n1 l.txt | grep -q STATUS || fail "list has no STATUS column"
	grep "^vol.img  ${held:0:16}" l.txt | grep -q " held " || fail "not shown as held: $(cat l.txt)"
	cairn list --repo "$R" --json | jq -e --arg h "$held" '[.[] | select(.held)] | length == 1 and .[0].id == $h
		and .[0].hold_reason == "audit 2026"' >/dev/null || fail "list --json held"
	# The hold lives in the repository: forget from another host's state
	# directory respects it.
	CAIRN_STATE_DIR=$TT/other cairn forget --repo "$R" --keep-daily 3 --json >f.json
	jq -e --arg h "$held" '.forgotten == 2 and ([.backups[] | select(.id == $h) | .reasons] == [["held"]])' f.json \
		>/dev/null || fail "forget: $(jq -c '[.backups[] | {id, action, reasons}]' f.json)"
	[ "$(backup_count "$R")" = 4 ] || fail "expected 4 backups, got $(backup_count "$R")"
	cairn release "$held" --repo "$R" -q
	cairn forget --repo "$R" --keep-daily 3 -q
	[ "$(backup_count "$R")" = 3 ] || fail "released backup not forgotten"
	cairn list --repo "$R" --json | jq -e 'all(.held | not)' >/dev/null || fail "still held"
}
test_case "hold: list shows it held, forget (from any host) keeps it; release lets it go" t_hold_release

t_forget_named()
{
	local r=$TT/n a b c
	new_repo "$r" --chunk-size 64K --pack-size 1M
	rand_file "$TT/v.img" $((2 << 20)) 41
	a=$(cairn backup "$TT/v.img" --repo "$r" --snapshot none -q)
	scatter_write "$TT/v.img" 42 4 65536 >/dev/null
	b=$(cairn backup "$TT/v.img" --repo "$r" --snapshot none -q)
	cp "$TT/v.img" "$TT/v.b"
	scatter_write "$TT/v.img" 43 4 65536 >/dev/null
	c=$(cairn backup "$TT/v.img" --repo "$r" --snapshot none -q)
	cairn hold "$b" --repo "$r" --reason audit -q
	# Nothing is deleted unless every name resolves and may go.
	tree_state "$r" >before
	expect_fail -c 2 -m "not both" cairn forget --repo "$r" "$a" --volume v.img
	expect_fail -m "no backup matches 'ffffffffff'" cairn forget --repo "$r" "$a" ffffffffff
	expect_fail -m "no backup matches 'x-y'" cairn forget --repo "$r" x-y
	expect_fail -m "too short to forget by" cairn forget --repo "$r" "${a:0:3}"
	expect_fail -m "'${b:0:8}' is held \(audit\): 'cairn release $b' first" cairn forget --repo "$r" "$a" "${b:0:8}"
	cairn forget --repo "$r" "${a:0:8}" --dry-run --json >d.json
	assert_unchanged "$r" before
	jq -e --arg a "$a" '.dry_run and .forgotten == 1 and .kept == 0 and .backups[0].id == $a and
		.backups[0].action == "forget" and .backups[0].volume == "v.img"' d.json >/dev/null ||
		fail "dry run: $(cat d.json)"
	# A name given twice is one backup.
	cairn forget --repo "$r" "$a" "${a:0:10}" --json >f.json
	jq -e '.forgotten == 1 and (.backups | length) == 1' f.json >/dev/null || fail "forget: $(cat f.json)"
	[ "$(cairn list --repo "$r" --json | jq -r '[.[].id] | sort | join(" ")')" = "$(printf '%s\n' "$b" "$c" | sort | paste -sd' ')" ] ||
		fail "left: $(cairn list --repo "$r" --json | jq -c '[.[].id]')"
	# VOLUME@latest names the newest.
	cairn release "$b" --repo "$r" -q
	cairn forget --repo "$r" v.img@latest -q
	[ "$(cairn list --repo "$r" --json | jq -r '.[].id')" = "$b" ] || fail "v.img@latest did not forget $c"
	cairn prune --repo "$r" --max-unused 0% -q
	cairn check --repo "$r" --read-data -q
	cairn restore --repo "$r" "$b" out.b -q
	same_file "$TT/v.b" out.b
	cairn status --json | jq -e '[.[] | select(.kind == "forget" and .state == "done")] | length >= 2' >/dev/null ||
		fail "forget BACKUP is not a job"
}
test_case "forget BACKUP...: exactly the named backups, all or nothing; held ones refused; prune and check pass" t_forget_named

t_prune()
{
	need_setup
	tree_state "$R" >before
	cairn prune --repo "$R" --dry-run --json >d.json
	assert_unchanged "$R" before
	jq -e '.dry_run and .packs_deleted > 0' d.json >/dev/null || fail "dry run: $(cat d.json)"
	local size0 size1 d
	size0=$(du -sb "$R" | cut -f1)
	cairn prune --repo "$R" --max-unused 0% --json >p.json
	jq -e '.packs_deleted > 0 and .unused_after == 0 and .packs_waiting == 0 and .running == 0' p.json >/dev/null ||
		fail "prune: $(cat p.json)"
	size1=$(du -sb "$R" | cut -f1)
	[ "$size1" -lt "$size0" ] || fail "the repository did not shrink ($size0 -> $size1)"
	[ -z "$(ls "$R/lease" 2>/dev/null)" ] || fail "a lease was left"
	cairn check --repo "$R" --read-data -q
	for d in 4 5 6; do
		cairn restore --repo "$R" "$(cat "$TD/id.$d")" out.$d -q
		same_file "$TD/vol.$d.img" out.$d
	done
	cairn status --json | jq -e '[.[] | select(.kind == "prune" and .state == "done")] | length >= 1' >/dev/null ||
		fail "prune is not a job"
	cairn prune --repo "$R" --max-unused 0% --json | jq -e '.packs_deleted == 0 and .packs_repacked == 0' >/dev/null ||
		fail "a second prune found work"
}
test_case "prune: --dry-run changes nothing; prune frees space; check --read-data passes; kept backups restore" t_prune

t_lease_busy()
{
	need_setup
	local r=$TT/r pid rc=0 i
	new_repo "$r" --pack-size 1M
	rand_file "$TT/a.img" $((8 << 20)) 31
	cairn backup "$TT/a.img" --repo "$r" --snapshot none -q >/dev/null
	scatter_write "$TT/a.img" 32 20 65536 >/dev/null
	cairn backup "$TT/a.img" --repo "$r" --snapshot none -q >/dev/null
	cairn forget --repo "$r" --keep-last 1 -q
	CAIRN_TEST_JOB_DELAY=300 "$CAIRN" prune --repo "$r" --max-unused 0% -q >/dev/null 2>p.err &
	pid=$!
	for i in $(seq 1 100); do [ -n "$(ls "$r/lease" 2>/dev/null)" ] && break; sleep 0.05; done
	[ -n "$(ls "$r/lease" 2>/dev/null)" ] || { kill -9 $pid; fail "no lease appeared"; }
	expect_fail -m "locked by prune on .* \(pid $pid\)" cairn prune --repo "$r"
	wait $pid || rc=$?
	[ $rc = 0 ] || fail "the first prune failed: $(cat p.err)"
	cairn check --repo "$r" --read-data -q
}
test_case "prune's lease: a second prune is refused with one line naming the holder" t_lease_busy

t_killed_prune()
{
	need_setup
	local tpl=$TT/tpl d i pid v
	new_repo "$tpl" --pack-size 1M
	rand_file "$TT/k.img" $((16 << 20)) 41
	for v in 1 2 3 4 5; do
		scatter_write "$TT/k.img" $((40 + v)) 24 65536 >/dev/null
		cairn backup "$TT/k.img" --repo "$tpl" --snapshot none -q >"$TT/kid.$v"
		cp "$TT/k.img" "$TT/k.$v.img"
	done
	cairn forget --repo "$tpl" --keep-last 2 -q
	# Killed at several points (the delay spreads its safe points out);
	# three of them under CAIRN_TEST_SCALE=small, where the sanitizers
	# look at the same takeover and recovery paths after each kill.
	for d in $(scaled "0.05 0.2 0.4 0.7 1.0 1.5" "0.05 0.4 1.0"); do
		rm -rf "$TT/w"
		cp -a "$tpl" "$TT/w"
		CAIRN_TEST_JOB_DELAY=60 "$CAIRN" prune --repo "$TT/w" --max-unused 0% -q >/dev/null 2>&1 &
		pid=$!
		sleep "$d"
		kill9_running $pid "prune (kill at ${d}s)"
		cairn check --repo "$TT/w" -q || fail "check failed after prune was killed at ${d}s"
		# The next prune on this host takes over the dead one's lease.
		cairn prune --repo "$TT/w" --max-unused 0% -q || fail "prune after a kill at ${d}s failed"
		cairn check --repo "$TT/w" --read-data -q || fail "check --read-data failed (killed at ${d}s)"
		for v in 4 5; do
			cairn restore --repo "$TT/w" "$(cat "$TT/kid.$v")" "$TT/out" -q --force
			same_file "$TT/k.$v.img" "$TT/out"
		done
	done
}
test_case "prune killed (kill -9) at several points: check passes, the next prune finishes the job" t_killed_prune

t_window_zero_running()
{
	need_setup
	local r=$TT/r pid rc=0
	new_repo "$r" --pack-size 1M
	rand_file "$TT/w.img" $((16 << 20)) 61
	# A slow backup (the delay at each progress report, once a batch of 4
	# MiB: it still runs while prune starts, also on a loaded machine)
	# that has written packs its index object does not name yet.
	CAIRN_TEST_JOB_DELAY=1000 "$CAIRN" backup "$TT/w.img" --repo "$r" --snapshot none -q >id 2>b.err &
	pid=$!
	wait_for_pack "$r" $pid 2 || { kill -9 $pid; fail "the backup wrote no packs: $(cat b.err)"; }
	cairn prune --repo "$r" --safety-window 0 --json >p.json
	jq -e '.deferred and .running >= 1' p.json >/dev/null || fail "prune did not wait for the backup: $(cat p.json)"
	wait $pid || rc=$?
	[ $rc = 0 ] || fail "the backup failed: $(cat b.err)"
	cairn check --repo "$r" --read-data -q
	cairn restore --repo "$r" "$(cat id)" out.img -q
	same_file "$TT/w.img" out.img
}
test_case "prune --safety-window 0 still waits for a backup seen running on this host" t_window_zero_running

t_prune_leftovers()
{
	need_setup
	local r=$TT/r
	new_repo "$r" --pack-size 1M
	rand_file "$TT/l.img" $((2 << 20)) 71
	cairn backup "$TT/l.img" --repo "$r" --snapshot none -q >/dev/null
	# What a put killed midway leaves: a temporary beside its object.
	mkdir -p "$r/packs/ab"
	head -c 1000 /dev/urandom >"$r/packs/ab/.tmp.old123"
	touch -d '2 days ago' "$r/packs/ab/.tmp.old123"
	head -c 1000 /dev/urandom >"$r/packs/ab/.tmp.new456"
	cairn prune --repo "$r" --json >p.json
	jq -e '.leftovers_removed == 1' p.json >/dev/null || fail "prune: $(cat p.json)"
	[ ! -e "$r/packs/ab/.tmp.old123" ] || fail "the old temporary is still there"
	[ -e "$r/packs/ab/.tmp.new456" ] || fail "a fresh temporary (maybe a running put's) was removed"
	cairn prune --repo "$r" --dry-run --json | jq -e '.leftovers_removed == 0' >/dev/null || fail "dry run removed"
	cairn check --repo "$r" --read-data -q
}
test_case "prune removes temporaries of killed puts older than the safety window, not fresh ones" t_prune_leftovers

t_concurrent()
{
	need_setup
	local r=$TT/r end pids=() rc v id
	new_repo "$r" --pack-size 1M
	mkdir -p versions
	rand_file "$TT/c1.img" $((4 << 20)) 51
	rand_file "$TT/c2.img" $((4 << 20)) 52
	# 12 s under CAIRN_TEST_SCALE=small (tests/e2e/lib.sh): enough for
	# the two prunes asserted below in the sanitized build.
	end=$(($(date +%s) + ${CAIRN_E2E_CONCURRENT_SECONDS:-$(scaled 20 12)}))
	# Backups of two volumes in a loop, each version kept to compare.
	(
		n=0
		while [ "$(date +%s)" -lt $end ]; do
			for v in 1 2; do
				n=$((n + 1))
				scatter_write "$TT/c$v.img" $((1000 + n)) 4 65536 >/dev/null
				id=$("$CAIRN" backup "$TT/c$v.img" --repo "$r" --snapshot none -q 2>>backup.err) ||
					{ echo "backup $n failed" >>failures; continue; }
				cp "$TT/c$v.img" "versions/$id"
			done
		done
	) &
	pids+=($!)
	# forget + prune in a loop meanwhile; a short window so that packs
	# condemned while backups run are deleted during the loop too.
	(
		while [ "$(date +%s)" -lt $end ]; do
			"$CAIRN" forget --repo "$r" --keep-last 3 -q 2>>prune.err || echo "forget failed" >>failures
			"$CAIRN" prune --repo "$r" --max-unused 0% --safety-window 10s -q 2>>prune.err ||
				echo "prune failed" >>failures
		done
	) &
	pids+=($!)
	rc=0
	for v in "${pids[@]}"; do wait "$v" || rc=1; done
	[ $rc = 0 ] || fail "a loop failed"
	[ ! -s failures ] || fail "$(sort failures | uniq -c | tr '\n' ' '): $(tail -n2 backup.err prune.err | tr '\n' ' ')"
	cairn status --all --json | jq -e '[.[] | select(.kind == "prune" and .state == "done")] | length >= 2' >/dev/null ||
		fail "fewer than two prunes ran during the loop"
	cairn check --repo "$r" --read-data -q
	cairn prune --repo "$r" --max-unused 0% -q
	cairn check --repo "$r" --read-data -q
	cairn list --repo "$r" --json | jq -r '.[].id' >ids
	[ "$(wc -l <ids)" -ge 2 ] || fail "no backups left"
	while read -r id; do
		[ -f "versions/$id" ] || fail "backup $id has no saved version"
		cairn restore --repo "$r" "$id" out.img -q --force
		same_file "versions/$id" out.img
	done <ids
}
test_case "backups and prune in loops at once; then check --read-data passes and every backup restores identical" t_concurrent

test_done
