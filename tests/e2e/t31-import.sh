#!/bin/bash
# t31: export-details and import (a DR host registers a repository from a
# token), import policies run by the daemon, and the RPO report.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
R2=$TD/repo2
B=$TD/stateB # the DR host's state directory

t_setup()
{
	new_repo "$R"
	new_repo "$R2"
	rand_file "$TD/vol.img" $((2 << 20)) 31
	rand_file "$TD/ga.img" $((1 << 20)) 32
	rand_file "$TD/gb.img" $((1 << 20)) 33
	echo '<app name="db"/>' >"$TD/app.xml"
	cairn group create grp --volume "$TD/ga.img" --volume "$TD/gb.img" --config "$TD/app.xml" \
		--pre-hook "true" -q
	cairn backup "$TD/vol.img" --repo "$R" -q >/dev/null
	cairn group backup grp --repo "$R" -q --json >gb.json
	jget gb.json .id >"$TD/gid"
	cairn policy create pvol --volume "$TD/vol.img" --repo "$R" --every 1h --rpo 1h -q
	cairn policy create pgrp --group grp --repo "$R" --every 1d -q
	cairn export-details --repo "$R" --with-policies >"$TD/token"
	cairn export-details --repo "$R" --with-policies --json >"$TD/doc.json"
	touch "$TD/ready"
}
test_case "setup: a repository with a volume, a group and policies; its token" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete"
}

t_token()
{
	need_setup
	[ "$(wc -l <"$TD/token")" = 1 ] || fail "the token is not one line"
	grep -q '^cairn1:[A-Za-z0-9_-]*\.[0-9a-f]\{16\}$' "$TD/token" || fail "token format: $(head -c 80 "$TD/token")"
	jq -e --arg r "$R" '.uri == $r and (.id | length) == 32 and (.fingerprint | length) == 32' "$TD/doc.json" >/dev/null ||
		fail "uri, id or fingerprint missing"
	jq -e '[.volumes[].name] | index("vol.img") and index("ga.img") and index("gb.img")' "$TD/doc.json" >/dev/null ||
		fail "volumes missing"
	jq -e '.groups[0].name == "grp" and .group_defs[0].pre_hook == "true"' "$TD/doc.json" >/dev/null || fail "group missing"
	jq -e '[.policies[].name] == ["pgrp", "pvol"] and (.policies[] | select(.name == "pvol") | .rpo_s) == 3600' \
		"$TD/doc.json" >/dev/null || fail "policies missing"
	# The token decodes to the document: no secret in either.
	local body
	body=$(sed 's/^cairn1://; s/\.[0-9a-f]*$//' "$TD/token" | tr '_-' '/+')
	while [ $((${#body} % 4)) -ne 0 ]; do body="$body="; done
	echo "$body" | base64 -d >decoded.json
	jq -e . decoded.json >/dev/null || fail "the token does not decode to JSON"
	! grep -qF "$CAIRN_PASSPHRASE" decoded.json "$TD/doc.json" || fail "the passphrase is in the token"
	! grep -qiE 'secret|passphrase|"key"' decoded.json || fail "something secret-looking in the token"
	# --volume and --group narrow it.
	cairn export-details --repo "$R" --volume vol.img --json >v.json
	jq -e '[.volumes[].name] == ["vol.img"] and .groups == []' v.json >/dev/null || fail "--volume did not narrow"
	cairn export-details --repo "$R" --group grp --json >g.json
	jq -e '([.volumes[].name] | sort) == ["ga.img", "gb.img"] and .groups[0].name == "grp"' g.json >/dev/null ||
		fail "--group did not narrow"
	expect_fail -m "holds no backup of volume 'nosuch'" cairn export-details --repo "$R" --volume nosuch
	expect_fail -c 2 -m "not both" cairn export-details --repo "$R" --volume a --group b
}
test_case "export-details: one checksummed line, the document, no secret" t_token


t_import()
{
	need_setup
	CAIRN_STATE_DIR=$B expect_ok cairn import "$(cat "$TD/token")"
	grep -q "registered as 'repo-" "$TT/.err" || fail "no registration line: $(cat "$TT/.err")"
	grep -q "policy pvol: created paused" "$TT/.err" || fail "policy not created paused"
	grep -q "group grp: defined" "$TT/.err" || fail "group not defined"
	name=$(cat "$TT/.out")
	echo "$name" >"$TD/alias"
	# Idempotent: the same token again changes nothing and says so.
	CAIRN_STATE_DIR=$B expect_ok cairn import "$(cat "$TD/token")"
	grep -q "nothing changed" "$TT/.err" || fail "re-import did not say nothing changed: $(cat "$TT/.err")"
	[ "$(CAIRN_STATE_DIR=$B cairn repos list --json | jq length)" = 1 ] || fail "not one registered repository"
	CAIRN_STATE_DIR=$B cairn import --list --json >l.json
	jq -e --arg r "$R" --arg n "$name" '.[0].uri == $r and .[0].name == $n and .[0].backups == 4' l.json >/dev/null ||
		fail "import --list: $(cat l.json)"
	CAIRN_STATE_DIR=$B cairn policy list --json >p.json
	jq -e 'length == 2 and all(.[]; .paused) and (.[] | select(.name == "pvol") | .rpo_s) == 3600' p.json >/dev/null ||
		fail "policies not paused: $(cat p.json)"
	# The policy ids carry over (retention finds its backups after failover).
	[ "$(jq -r '.[] | select(.name == "pvol") | .id' p.json)" = \
		"$(jq -r '.policies[] | select(.name == "pvol") | .id' "$TD/doc.json")" ] || fail "policy id changed"
	CAIRN_STATE_DIR=$B cairn group list --json >gl.json
	jq -e '.[0].name == "grp"' gl.json >/dev/null || fail "group not imported"
	# Without --repo (the only registered one), and by its alias.
	unset CAIRN_REPO
	[ "$(CAIRN_STATE_DIR=$B cairn list --json | jq length)" = 3 ] || fail "list without --repo"
	[ "$(CAIRN_STATE_DIR=$B cairn list --repo "$name" --json | jq length)" = 3 ] || fail "list --repo ALIAS"
	CAIRN_STATE_DIR=$B cairn restore vol.img@latest out.img
	cmp "$TD/vol.img" out.img || fail "restore on the DR host differs"
	CAIRN_STATE_DIR=$B cairn group restore "$(cat "$TD/gid")" --to gout --repo "$name"
	cmp "$TD/ga.img" gout/ga.img && cmp "$TD/gb.img" gout/gb.img || fail "group restore differs"
	cmp "$TD/app.xml" gout/app.xml || fail "config document differs"
}
test_case "import on a fresh state directory: registered, paused policies, list, restore, group restore" t_import

t_refusals()
{
	need_setup
	local tok
	tok=$(cat "$TD/token")
	# Truncated, damaged, not a token, a newer version.
	expect_fail -m "truncated or damaged" cairn --state-dir "$TD/stateC" import "${tok:0:${#tok}-30}"
	expect_fail -m "truncated or damaged" cairn --state-dir "$TD/stateC" import "${tok:0:100}"
	local mid=$((${#tok} / 2)) c
	c=${tok:$mid:1}; [ "$c" = A ] && c=B || c=A
	expect_fail -m "truncated or damaged" cairn --state-dir "$TD/stateC" import "${tok:0:$mid}$c${tok:$((mid + 1))}"
	expect_fail -m "not an export token" cairn --state-dir "$TD/stateC" import "hello"
	expect_fail -m "version 'cairn9' is not known" cairn --state-dir "$TD/stateC" import "cairn9:${tok#cairn1:}"
	expect_fail -c 2 -m "give the TOKEN" cairn --state-dir "$TD/stateC" import
	# Another repository at the token's URI: refused, nothing registered.
	mkdir -p other
	jq --arg u "$R2" '.uri = $u' "$TD/doc.json" >other.json
	python3 - other.json >other.tok <<'PY'
import base64, hashlib, json, sys
body = base64.urlsafe_b64encode(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":")).encode()).decode().rstrip("=")
print("cairn1:" + body + "." + hashlib.sha256(body.encode()).hexdigest()[:16])
PY
	expect_fail -m "repository at .*repo2 is not the one exported: id [0-9a-f]{32} fingerprint [0-9a-f]{32}" \
		cairn --state-dir "$TD/stateC" import "$(cat other.tok)"
	[ "$(cairn --state-dir "$TD/stateC" repos list --json | jq length)" = 0 ] || fail "registered anyway"
	[ "$(cairn --state-dir "$TD/stateC" policy list --json | jq length)" = 0 ] || fail "policies created anyway"
	# A wrong passphrase is the usual refusal.
	CAIRN_PASSPHRASE=wrong expect_fail -m "passphrase" cairn --state-dir "$TD/stateC" import "$tok"
}
test_case "import refuses a truncated token and another repository, with one line" t_refusals

t_sync()
{
	need_setup
	[ -f "$TD/alias" ] || skip "import did not run"
	local name
	name=$(cat "$TD/alias")
	CAIRN_STATE_DIR=$B cairn import "$(cat "$TD/token")" --every 1s 2>err
	grep -q "re-read every 1s" err || fail "schedule not set: $(cat err)"
	cairn backup "$TD/vol.img" --repo "$R" -q >new.id
	sleep 1.2
	CAIRN_STATE_DIR=$B cairn daemon --once -q
	CAIRN_STATE_DIR=$B cairn status --all --json >s.json
	id=$(jq -r '[.[] | select(.kind == "import")][0].id' s.json)
	[ -n "$id" ] && [ "$id" != null ] || fail "no import job: $(cat s.json)"
	jq -e --argjson id "$id" '.[] | select(.id == $id) | .state == "done" and .result == "1 new"' s.json >/dev/null ||
		fail "import job: $(jq -c --argjson id "$id" '.[] | select(.id == $id)' s.json)"
	CAIRN_STATE_DIR=$B cairn log "$id" >log.txt
	grep -q "arrived: backup $(cat new.id) of volume vol.img" log.txt || fail "no arrived line: $(cat log.txt)"
	# Run by hand: nothing new.
	[ "$(CAIRN_STATE_DIR=$B cairn repos sync "$name")" = "0 new restore point(s) in $name" ] || fail "sync found something"
}
test_case "import --every: the daemon re-reads the repository and logs what arrived" t_sync

t_report()
{
	need_setup
	# pvol's RPO target is 1h and nothing is off-site: breached, first line.
	rc=0
	cairn dr report >rep.txt || rc=$?
	[ $rc = 1 ] || fail "dr report exited $rc with a breach"
	head -n1 rep.txt | grep -q "^BREACHED volume vol.img (policy pvol): no off-site copy" || fail "first line: $(head -n1 rep.txt)"
	rc=0
	cairn dr report --json >rep.json || rc=$?
	[ $rc = 1 ] || fail "--json exited $rc"
	jq -e '.breached == 1 and .items[0].name == "vol.img" and .items[0].breached and .items[0].rpo_s == null
		and .items[0].rpo_target_s == 3600 and .items[0].repositories[0].primary' rep.json >/dev/null ||
		fail "report: $(jq -c '.items[0]' rep.json)"
	# An off-site copy: a second repository, registered, holding vol.img.
	cairn backup "$TD/vol.img" --repo "$R2" -q >/dev/null
	cairn import "$(cairn export-details --repo "$R2")" --as offsite -q >/dev/null
	# A restore from it measures its rate: the RTO estimate.
	cairn restore vol.img@latest r.img --repo offsite -q
	cairn dr report --json >rep2.json || fail "dr report breached with an off-site copy: $(jq -c '.items[0]' rep2.json)"
	jq -e '.breached == 0 and (.items[] | select(.name == "vol.img" and .policy == "pvol")
		| .rpo_s < 600 and .offsite_repo != null and .rto_s > 0 and (.repositories | length) == 2)' rep2.json >/dev/null ||
		fail "report: $(jq -c '.items[] | select(.name == "vol.img")' rep2.json)"
	# The last copy into it: a copy job's row (cairn copy where it exists,
	# else a row as it writes one), its duration and bytes.
	if cairn help copy >/dev/null 2>&1; then
		# --to by its registered name.
		CAIRN_TO_PASSPHRASE=$CAIRN_PASSPHRASE cairn copy --volume vol.img --repo "$R" --to offsite --json >cp.json ||
			fail "copy --to offsite (a registered name) failed"
		[ "$(jq -r .backups_copied cp.json)" -ge 1 ] || fail "copy --to offsite copied nothing: $(cat cp.json)"
	else
		python3 - "$TD/state/state.db" "$R" "$R2" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time())
db.execute("INSERT INTO jobs (kind, source, repo, state, bytes_done, bytes_total, elapsed_ms, queued, started,"
           " completed) VALUES ('copy', ?, ?, 'done', 12345, 12345, 1500, ?, ?, ?)", (sys.argv[2], sys.argv[3], now, now, now))
db.commit()
PY
	fi
	cairn dr report --json >rep4.json || fail "breached after a copy"
	jq -e --arg r2 "$R2" '.items[] | select(.name == "vol.img" and .policy == "pvol") | .last_copy
		| .to == $r2 and .state == "done" and .seconds > 0 and .bytes >= 0' rep4.json >/dev/null ||
		fail "last copy: $(jq -c '.items[] | select(.name == "vol.img") | .last_copy' rep4.json)"
	cairn dr report >rep4.txt
	grep -q "last copy: job [0-9]* done" rep4.txt || fail "no last copy line: $(cat rep4.txt)"
	# On the DR host the imported policy is paused: shown, not checked.
	CAIRN_STATE_DIR=$B cairn dr report --json >rep5.json || fail "the DR host's report breached: $(head -c 300 rep5.json)"
	jq -e '.items[] | select(.policy == "pvol") | .rpo_target_s == 3600 and (.target_checked | not)' rep5.json \
		>/dev/null || fail "imported policy: $(jq -c '.items[] | select(.policy == "pvol")' rep5.json)"
	# An unreachable repository is said, not fatal.
	cairn --state-dir "$TD/stateD" import "$(cairn export-details --repo "$R2")" --as gone -q >/dev/null
	mv "$R2" "$R2.away"
	cairn --state-dir "$TD/stateD" dr report --json >rep3.json || true
	mv "$R2.away" "$R2"
	jq -e '.repositories[0].reachable == false and (.repositories[0].error | startswith("unreachable: "))' rep3.json \
		>/dev/null || fail "unreachable: $(jq -c .repositories rep3.json)"
}
test_case "dr report: breach first and exit 1, an off-site copy meets the target, RTO, unreachable" t_report

test_done
