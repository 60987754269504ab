#!/bin/bash
# t21: three hosts (each its own hostname, in a UTS namespace of its own,
# and its own state directory and image) back up into one repository on
# Ceph RGW at once, in loops, while each also forgets (retention rules)
# and prunes, and processes are killed with kill -9 at random moments.
# Afterwards check --read-data passes and every backup still listed
# restores byte-identical to the version it was made from.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"

HOSTS="a b c"
# The loops run this long (25 s under CAIRN_TEST_SCALE=small: the
# sanitized build looks for memory errors, which the first rounds reach as
# well as the last; storm_goes_on still waits for the kills it asserts).
LOOP_SECONDS=${CAIRN_E2E_HOSTS_SECONDS:-$(scaled 45 25)}
# Prune's safety window: a backup must finish within it of loading the
# index (the documented assumption for backups on other hosts); a small
# image takes a few seconds even on a loaded machine.
WINDOW=30s
# Every cairn of the loops runs this long at most (then it exits 124, a
# failure).
HOST_TIMEOUT=240

need_setup()
{
	s3_use rgw
	[ -f "$TD/ready" ] || skip "setup did not complete"
	R=$(cat "$TD/repo.uri")
}

# as_host HOST CMD...: CMD as host HOST: hostname cairn-e2e-HOST in a UTS
# namespace of its own, the host's state directory.
as_host()
{
	local h=$1
	shift
	CAIRN_STATE_DIR=$TD/$h/state unshare -u sh -c 'hostname "$0" && exec "$@"' "cairn-e2e-$h" "$@"
}

t_setup()
{
	s3_use rgw
	[ "$(id -u)" = 0 ] || skip "needs root for UTS namespaces (unshare -u)"
	[ "$(as_host x hostname)" = cairn-e2e-x ] || skip "unshare -u cannot set a hostname here"
	local h seed=0 r
	r=$(s3_uri rgw hosts)
	cairn init --repo "$r" -q --pack-size 1M
	for h in $HOSTS; do
		seed=$((seed + 1))
		mkdir -p "$TD/$h"
		rand_file "$TD/$h/disk-$h.img" $((8 << 20)) $((2100 + seed))
	done
	echo "$r" >"$TD/repo.uri"
	touch "$TD/ready"
}
test_case "setup: a repository on RGW, three hosts with an 8 MiB volume each" t_setup

# hrun HOST KIND CMD...: runs cairn CMD as HOST in the background (under
# timeout), the pid of that job published in $TD/pids/KIND.HOST for the
# killer; appends "KIND STATUS" and the first line of stderr to the host's
# results.  Returns cairn's exit status (137 when killed); its stdout is
# in $TD/HOST/out.
hrun()
{
	local h=$1 kind=$2 pid rc=0
	shift 2
	as_host "$h" timeout -k 10 "$HOST_TIMEOUT" "$CAIRN" "$@" >"$TD/$h/out" 2>"$TD/$h/err" &
	pid=$!
	echo "$pid" >"$TD/pids/$kind.$h"
	wait "$pid" || rc=$?
	rm -f "$TD/pids/$kind.$h"
	echo "$kind $rc $(head -n1 "$TD/$h/err")" >>"$TD/$h/results"
	return $rc
}

# host_loop HOST END: until END (unix time): change the volume, back it
# up tagged with its version (the checksum of each version in
# $TD/sums: "VOLUME TAG SHA256"), then forget by the rules (even rounds)
# or prune (odd rounds).
host_loop()
{
	local h=$1 end=$2 img=$TD/$1/disk-$1.img n=0
	# Statuses are recorded and judged once the loops are done.
	set +eE
	trap - ERR
	while storm_goes_on "$end"; do
		n=$((n + 1))
		scatter_write "$img" $((n * 10 + ${#h})) 6 65536 >/dev/null
		echo "disk-$h.img v$n $(sha256sum <"$img" | cut -d' ' -f1)" >>"$TD/sums"
		if hrun "$h" backup backup --repo "$R" "$img" --snapshot none --tag "v$n" -q; then
			echo "$(cat "$TD/$h/out") v$n" >>"$TD/$h/ids"
		fi
		if [ $((n % 2)) = 0 ]; then
			hrun "$h" forget forget --repo "$R" --keep-last 2 --keep-hourly 2 -q
		else
			CAIRN_TEST_JOB_DELAY=50 hrun "$h" prune prune --repo "$R" --max-unused 0% --safety-window "$WINDOW" -q
		fi
	done
	return 0
}

# cairn_under PID: the pids of the cairn processes below PID.
cairn_under()
{
	local p
	for p in $(pgrep -P "$1"); do
		if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "^$CAIRN "; then
			echo "$p"
		else
			cairn_under "$p"
		fi
	done
}

# storm_goes_on END: true until END (unix time), and after it, for up to
# STORM_EXTRA seconds more, until a backup and a prune have been killed
# and a prune has completed: on a loaded machine a round takes long and 45 s
# may hold too few of them for the kills the test asserts.
STORM_EXTRA=120
storm_goes_on()
{
	local now
	now=$(date +%s)
	[ "$now" -lt "$1" ] && return 0
	[ "$now" -lt $(($1 + STORM_EXTRA)) ] || return 1
	grep -q '^backup ' "$TD/kills" && grep -q '^prune ' "$TD/kills" &&
		grep -q '^prune 0 ' "$TD"/[abc]/results 2>/dev/null && return 1
	return 0
}

# killer END: until END (storm_goes_on), waits for a process of the next kind in turn
# (backup, prune, backup, forget) on a host picked at random, and kills
# it at a random moment of its first 3 s (if it still runs then).  Until
# a kind has been killed once, it is killed within 0.3 s of starting and
# tried again until that works: the test asserts kills of each kind, and
# a slow build or a quick refusal must not leave one out by chance.
killer()
{
	local end=$1 kinds=(backup prune backup forget) i=0 kind f pid h within
	set +eE
	trap - ERR
	while storm_goes_on "$end"; do
		sleep "$(awk -v r=$RANDOM 'BEGIN {print 1 + r % 2000 / 1000}')"
		kind=${kinds[i % ${#kinds[@]}]}
		within=3000
		if grep -q "^$kind " "$TD/kills"; then
			i=$((i + 1))
		else
			within=300
		fi
		h=$(shuf -n 1 -e $HOSTS)
		f=$TD/pids/$kind.$h
		while [ ! -e "$f" ] && storm_goes_on "$end"; do
			sleep 0.05
		done
		sleep "$(awk -v r=$RANDOM -v w=$within 'BEGIN {print r % w / 1000}')"
		# The cairn of that job, if it still runs.
		pid=$(cairn_under "$(cat "$f" 2>/dev/null)" | head -n 1)
		[ -n "$pid" ] || continue
		kill -9 "$pid" 2>/dev/null && echo "$kind $h $pid" >>"$TD/kills"
	done
	return 0
}

t_storm()
{
	need_setup
	local end h pids=() kpid deadline failures
	mkdir -p "$TD/pids"
	touch "$TD/kills"
	end=$(($(date +%s) + LOOP_SECONDS))
	for h in $HOSTS; do
		host_loop "$h" "$end" &
		pids+=($!)
	done
	killer "$end" &
	kpid=$!
	# Each loop ends after its current round; a cairn hung longer than
	# HOST_TIMEOUT is killed (and then reported below).
	deadline=$((end + 3 * HOST_TIMEOUT))
	for h in "${pids[@]}"; do
		while kill -0 "$h" 2>/dev/null; do
			[ "$(date +%s)" -lt $deadline ] || { kill "${pids[@]}" $kpid 2>/dev/null; fail "a host loop did not end"; }
			sleep 0.2
		done
		wait "$h" || fail "a host loop failed"
	done
	# The loops are done, and with them every cairn the killer could
	# strike: it goes now, not after its next pause of up to 5 s.
	kill "$kpid" 2>/dev/null || true
	wait "$kpid" 2>/dev/null || true
	for h in $HOSTS; do
		echo "host $h: $(cut -d' ' -f1-2 "$TD/$h/results" | sort | uniq -c | tr -s ' ' | tr '\n' ',')" >&2
	done
	echo "kills: $(cut -d' ' -f1 "$TD/kills" | sort | uniq -c | tr -s ' ' | tr '\n' ',')" >&2
	# What may fail: a kill (137), and a prune that finds another host's
	# lease (a live one, or a killed prune's until it expires or its own
	# host prunes again; a backup's background merge of small index
	# objects holds it too).  Nothing else.
	failures=$(cat "$TD"/[abc]/results | grep -v '^[a-z]* 0 ' | grep -v '^[a-z]* 137 ' |
		grep -Ev "^prune 1 cairn: .*locked by (prune|index merge) on cairn-e2e-[abc] " | sort | uniq -c | head -n 5)
	[ -z "$failures" ] || fail "unexpected failures: $(echo "$failures" | tr '\n' '|')"
	for h in $HOSTS; do
		grep -q '^backup 0 ' "$TD/$h/results" || fail "host $h made no backup"
	done
	grep -q '^backup 137 ' "$TD"/[abc]/results || fail "no backup was killed while it ran"
	grep -q '^prune 137 ' "$TD"/[abc]/results || fail "no prune was killed while it ran"
	grep -q '^prune 0 ' "$TD"/[abc]/results || fail "no prune completed during the loops"
	touch "$TD/stormed"
}
test_case "three hosts back up in loops, forget and prune while kill -9 strikes: only kills and lease refusals fail" t_storm

need_storm()
{
	need_setup
	[ -f "$TD/stormed" ] || [ -s "$TD/a/results" ] || skip "the loops did not run"
}

t_after()
{
	need_storm
	local round h rc
	# A killed prune's lease blocks the other hosts until its own host
	# prunes again (it can tell its process is dead): after one round of
	# prunes from every host, the next round runs on all of them.
	for round in 1 2; do
		for h in $HOSTS; do
			rc=0
			as_host "$h" "$CAIRN" prune --repo "$R" --max-unused 0% --safety-window "$WINDOW" -q 2>err || rc=$?
			[ $rc = 0 ] && continue
			[ $round = 1 ] && grep -Eq "locked by (prune|index merge) on cairn-e2e-" err && continue
			fail "prune (round $round) on host $h exited $rc: $(head -n1 err)"
		done
	done
	for h in $HOSTS; do
		as_host "$h" "$CAIRN" check --repo "$R" --read-data >check.out 2>&1 ||
			fail "check --read-data on host $h: $(tail -n 3 check.out | tr '\n' '|')"
	done
}
test_case "then a prune from each host completes and check --read-data passes on every host" t_after

t_restore_all()
{
	need_storm
	local n=0 id vol tag want h last
	cairn list --repo "$R" --json | jq -r '.[] | "\(.id) \(.volume) \(.tags[0])"' >listed
	echo "$(wc -l <listed) backups listed" >&2
	while read -r id vol tag; do
		want=$(awk -v v="$vol" -v t="$tag" '$1 == v && $2 == t {print $3}' "$TD/sums")
		[ -n "$want" ] || fail "backup $id ($vol $tag) is of no version the hosts made"
		[ "$(echo "$want" | wc -l)" = 1 ] || fail "two versions are $vol $tag"
		rm -f out.img
		cairn restore --repo "$R" "$id" out.img -q
		[ "$(sha256sum <out.img | cut -d' ' -f1)" = "$want" ] ||
			fail "backup $id ($vol $tag) does not restore to the version it was made from"
		n=$((n + 1))
	done <listed
	# --keep-last 2 keeps each host's last finished backup (even if one
	# killed after it had written its manifest is newer).
	for h in $HOSTS; do
		last=$(tail -n 1 "$TD/$h/ids" | cut -d' ' -f1)
		grep -q "^$last " listed || fail "host $h's last backup $last is no longer listed"
	done
	[ "$n" -ge 6 ] || fail "only $n backups left to restore"
}
test_case "every backup still listed restores byte-identical to the version it was made from" t_restore_all

test_done
