#!/bin/bash
# t34: a repository read through its secondary endpoint (?secondary=URL) on
# Ceph RGW (started by scripts/run-tests): a backup made through the real
# endpoint, then a URI whose primary endpoint is a closed port and whose
# secondary is the real one: restore is byte-identical and list works, each
# with one warning line naming both endpoints; backup and prune are refused
# with one line naming 'cairn copy --to', and write nothing, and that copy
# to a new repository works from the secondary; a primary
# that stalls in the middle of a restore (a proxy in front of RGW that stops
# answering, or is stopped with SIGSTOP) hands the rest to the secondary; a
# working primary never touches the secondary (its store is counted); on
# Azurite, a restore through the account's real -secondary endpoint.
# Skipped without servers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"
. "$(dirname "$0")/storelib.sh"
. "$(dirname "$0")/azlib.sh"

IMG=$TD/vol.img
# The closed port gives up after two attempts, without waiting between.
export CAIRN_HTTP_MAX_ATTEMPTS=2 CAIRN_HTTP_BACKOFF_MS=1
export CAIRN_TO_PASSPHRASE=$CAIRN_PASSPHRASE CAIRN_FROM_PASSPHRASE=$CAIRN_PASSPHRASE

# A TCP port on 127.0.0.1 nothing listens on.
dead_port()
{
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# sec_uri PREFIX PRIMARY_ENDPOINT: the repository through PRIMARY, with the
# real endpoint as its secondary.
sec_uri()
{
	echo "s3://cairn-e2e-$S3_RUN-$E2E_NAME-rgw/$1?endpoint=$2&region=$S3_REGION&secondary=$S3_ENDPOINT"
}

t_setup()
{
	s3_use rgw
	rand_file "$IMG" $((6 << 20)) 3401
	truncate -s 12M "$IMG"
	local R
	R=$(s3_uri rgw repo)
	cairn init --repo "$R" --chunk-size 16K --pack-size 1M -q
	cairn backup --repo "$R" "$IMG" --name vol --snapshot none -q >/dev/null
	[ "$(backup_count "$R")" = 1 ] || fail "no backup"
	cairn list --repo "$R" --json | jq -r '.[0].id' >"$TD/id"
	touch "$TD/ready"
}
# The proxy in front of RGW, started by this shell (storelib.sh says why).
if [ -n "$S3_SERVERS" ]; then
	S3_ENDPOINT=$(s3_var rgw ENDPOINT)
	proxy_start "${S3_ENDPOINT#http://}" || true
fi
test_case "setup: a backup of a 12 MiB image to RGW" t_setup

# The warning, once, naming both endpoints.
one_warning()
{
	local n
	n=$(grep -c "primary endpoint http://127.0.0.1:$1 unreachable (.*): reading from the secondary $S3_ENDPOINT\$" "$2" || true)
	[ "$n" = 1 ] || fail "$n warnings in: $(head -c 400 "$2" | tr '\n' '|')"
}

t_restore_list()
{
	s3_use rgw
	[ -f "$TD/ready" ] || skip "setup did not complete"
	local port U
	port=$(dead_port)
	U=$(sec_uri repo "http://127.0.0.1:$port")
	# Not -q: that would silence the warning (errors only).
	cairn restore --repo "$U" "$(cat "$TD/id")" "$TT/r.img" --force >/dev/null 2>"$TT/err"
	same_file "$IMG" "$TT/r.img"
	one_warning "$port" "$TT/err"
	[ "$(grep -c 'warning' "$TT/err")" = 1 ] || fail "restore warned more: $(tr '\n' '|' <"$TT/err")"
	cairn list --repo "$U" --json >"$TT/l.json" 2>"$TT/err"
	[ "$(jq length "$TT/l.json")" = 1 ] || fail "list through the secondary: $(cat "$TT/l.json")"
	one_warning "$port" "$TT/err"
}
test_case "restore and list read through the secondary when the primary refuses connections" t_restore_list

t_writes_refused()
{
	s3_use rgw
	[ -f "$TD/ready" ] || skip "setup did not complete"
	local port U R rc=0 cmd
	port=$(dead_port)
	U=$(sec_uri repo "http://127.0.0.1:$port")
	R=$(s3_uri rgw repo)
	cairn list --repo "$R" --json | jq -S . >"$TT/before.json"
	for cmd in backup prune; do
		rc=0
		if [ $cmd = backup ]; then
			cairn backup --repo "$U" "$IMG" --name vol --snapshot none >/dev/null 2>"$TT/err" || rc=$?
		else
			cairn prune --repo "$U" >/dev/null 2>"$TT/err" || rc=$?
		fi
		echo "  $cmd: exit $rc: $(tr '\n' '|' <"$TT/err")" >&2
		if [ $rc -eq 0 ] || [ $rc -ge 124 ]; then fail "$cmd through a fallen primary exited $rc"; fi
		grep -q "the primary endpoint http://127.0.0.1:$port is unreachable; the secondary $S3_ENDPOINT is read-only: copy what you need to a new repository with 'cairn copy --to URI'" "$TT/err" ||
			fail "$cmd: no refusal line: $(tr '\n' '|' <"$TT/err")"
		one_warning "$port" "$TT/err"
		[ "$(grep -c . "$TT/err")" = 2 ] || fail "$cmd printed more than the warning and the refusal"
	done
	cairn list --repo "$R" --json | jq -S . >"$TT/after.json"
	cmp -s "$TT/before.json" "$TT/after.json" || fail "the repository changed"
}
test_case "backup and prune through a fallen primary are refused with one line, nothing written" t_writes_refused

t_copy_out()
{
	s3_use rgw
	[ -f "$TD/ready" ] || skip "setup did not complete"
	local port U N
	port=$(dead_port)
	U=$(sec_uri repo "http://127.0.0.1:$port")
	N=$(s3_uri rgw moved)
	# What the refusal says to do: a new repository, filled from the
	# secondary.
	cairn init --repo "$N" --copy-keys-from "$U" -q 2>"$TT/err"
	cairn copy --repo "$U" --all --to "$N" --json >"$TT/c.json" 2>"$TT/err"
	one_warning "$port" "$TT/err"
	[ "$(jget "$TT/c.json" .backups_copied)" = 1 ] || fail "copied $(jget "$TT/c.json" .backups_copied) backups"
	cairn restore --repo "$N" "$(cat "$TD/id")" "$TT/r.img" --force -q
	same_file "$IMG" "$TT/r.img"
}
test_case "copy --to a new repository from the secondary, as the refusal says" t_copy_out

# restore_stalled RULES: a restore through the proxy as primary, which
# plays RULES, with the real endpoint as secondary: byte-identical, one
# warning that says the primary stalled.
restore_stalled()
{
	local U purl
	purl=$(cat "$TD/proxy.url")
	U="$(s3_uri rgw repo "" "$purl")&secondary=$S3_ENDPOINT"
	plan "$1"
	local t0=$SECONDS
	CAIRN_HTTP_STALL_SECONDS=1 cairn restore --repo "$U" "$(cat "$TD/id")" "$TT/r.img" --force >/dev/null 2>"$TT/err"
	plan ""
	echo "  restore in $((SECONDS - t0)) s: $(grep warning "$TT/err")" >&2
	same_file "$IMG" "$TT/r.img"
	one_warning "${purl##*:}" "$TT/err"
	grep -q "stopped answering" "$TT/err" || fail "not a stall: $(cat "$TT/err")"
}

t_stalled()
{
	s3_use rgw
	[ -f "$TD/ready" ] || skip "setup did not complete"
	proxy_check
	# Config, keys, the backup, the index and the activity marker
	# answered, then no pack: the switch happens in the middle of the
	# restore's reads.
	restore_stalled "match=/packs/:stall"
	[ "$(faults_seen stall)" -ge 1 ] || fail "the proxy never stalled"
}
test_case "a primary that stops answering in the middle of a restore: the rest from the secondary" t_stalled

t_sigstop()
{
	s3_use rgw
	[ -f "$TD/ready" ] || skip "setup did not complete"
	proxy_check
	kill -STOP "$PROXY_PID"
	local rc=0
	( restore_stalled "" ) || rc=$?
	kill -CONT "$PROXY_PID"
	[ $rc -eq 0 ] || exit $rc
}
test_case "a primary stopped with SIGSTOP: restore from the secondary" t_sigstop

t_working_primary()
{
	s3_use rgw
	[ -f "$TD/ready" ] || skip "setup did not complete"
	local port U
	# The secondary is a closed port: touching it at all would fail.
	port=$(dead_port)
	U="$(s3_uri rgw repo)&secondary=http://127.0.0.1:$port"
	CAIRN_TEST_COUNT=$TT/count.json cairn restore --repo "$U" "$(cat "$TD/id")" "$TT/r.img" --force >/dev/null 2>"$TT/err"
	same_file "$IMG" "$TT/r.img"
	! grep -q 'warning' "$TT/err" || fail "stderr: $(cat "$TT/err")"
	# One line per store opened: the secondaries' (their endpoint is the
	# closed port) did nothing, the primaries' the reads.
	echo "  stores: $(jq -c '{uri: (.uri | sub("^[^?]*[?]"; "")), get, stat, list}' "$TT/count.json" | tr '\n' ' ')" >&2
	local sec_n sec_ops prim_gets
	sec_n=$(jq -s "[.[] | select(.uri | contains(\"127.0.0.1:$port\"))] | length" "$TT/count.json")
	sec_ops=$(jq -s "[.[] | select(.uri | contains(\"127.0.0.1:$port\")) | .get + .stat + .list + .put + .del] | add // 0" "$TT/count.json")
	prim_gets=$(jq -s "[.[] | select(.uri | contains(\"127.0.0.1:$port\") | not) | .get] | add // 0" "$TT/count.json")
	[ "$sec_n" -ge 1 ] || fail "no secondary store was opened: $(cat "$TT/count.json")"
	[ "$sec_ops" = 0 ] || fail "the secondary got $sec_ops calls"
	[ "$prim_gets" -gt 0 ] || fail "the primary got no reads"
}
test_case "a working primary never touches the secondary" t_working_primary

t_azure()
{
	az_use
	local R U port
	# Its own image: the RGW setup that makes IMG may have been skipped.
	[ -f "$IMG" ] || { rand_file "$IMG" $((6 << 20)) 3401 && truncate -s 12M "$IMG"; }
	R=$(az_uri repo)
	cairn init --repo "$R" --chunk-size 16K --pack-size 1M -q
	cairn backup --repo "$R" "$IMG" --name vol --snapshot none -q >/dev/null
	# Azurite serves an account's secondary (read-only) at the account's
	# name with -secondary, as Azure does at ACCOUNT-secondary.blob...
	port=$(dead_port)
	U=$(az_uri repo "secondary=$AZ_ENDPOINT-secondary" "http://127.0.0.1:$port/$AZ_ACCOUNT")
	cairn restore --repo "$U" vol@latest "$TT/r.img" --force >/dev/null 2>"$TT/err"
	same_file "$IMG" "$TT/r.img"
	grep -q "primary endpoint http://127.0.0.1:$port/$AZ_ACCOUNT unreachable (.*): reading from the secondary $AZ_ENDPOINT-secondary\$" "$TT/err" ||
		fail "no warning: $(cat "$TT/err")"
	expect_fail cairn backup --repo "$U" "$IMG" --name vol --snapshot none -q
	grep -q "is read-only: copy what you need to a new repository with 'cairn copy --to URI'" "$TT/.err" ||
		fail "no refusal: $(cat "$TT/.err")"
}
test_case "Azure: restore through the account's -secondary endpoint; backup refused" t_azure

test_done
