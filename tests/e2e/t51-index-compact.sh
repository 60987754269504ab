#!/bin/bash
# t51: background merging of small index objects (repo/index.h
# cairn_index_compact_background): each backup of a little-changed volume
# writes one small index object; once 16 of them are newer than the local
# index cache, the backup that finds them merges them after its own work.
# The count of index objects then drops, every backup still restores
# byte-identical, check is clean, a second host backing up at the same
# time loses no entry, a held lease (prune or repair at work) makes the
# backup skip the merge, not fail, and a copy's destination is merged too.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
IMG=$TD/vol.img
OTHER=$TD/other.img
NB=20

nindex() { ls "$1/index" | wc -l; }

t_setup()
{
	rand_file "$IMG" $((2 << 20)) 5101
	rand_file "$OTHER" $((2 << 20)) 5102
	new_repo "$R" --chunk-size 16K --pack-size 1M
	cairn backup --repo "$R" "$IMG" --name vol --snapshot none -q >"$TD/id.0"
	cp "$IMG" "$TD/v.0"
}
test_case "setup: a repository with one backup of a 2 MiB volume" t_setup

# NB incrementals of a few changed chunks: one small index object each.
t_merge()
{
	local i counts=() most=0 n
	for i in $(seq 1 $NB); do
		scatter_write "$IMG" $((5110 + i)) 2 16384 >/dev/null
		cp "$IMG" "$TD/v.$i"
		cairn backup --repo "$R" "$IMG" --name vol --snapshot none -q >"$TD/id.$i" 2>"$TT/err.$i"
		n=$(nindex "$R")
		counts+=("$n")
		[ "$n" -gt "$most" ] && most=$n
	done
	echo "index objects after each backup: ${counts[*]}" >&2
	# 16 objects newer than the cache (the first backup's) are merged by
	# the backup that made the 16th.
	[ "$most" -le 16 ] || fail "index objects reached $most (more than 16 never merged)"
	n=$(nindex "$R")
	[ "$n" -lt $((NB + 1)) ] || fail "$n index objects after $((NB + 1)) backups: nothing merged"
	grep -q "merged 16 small index objects into 1" "$TT"/err.* &&
		fail "the merge is logged at -v, not by default"
	return 0
}
test_case "$NB incrementals: the index objects are merged, never more than 16" t_merge

t_restorable()
{
	local i
	for i in $(seq 0 $NB); do
		cairn restore --repo "$R" "$(cat "$TD/id.$i")" "$TT/out.img" --force -q
		same_file "$TD/v.$i" "$TT/out.img"
	done
	cairn check --repo "$R" --read-data >"$TT/check" 2>&1 || { cat "$TT/check" >&2; fail "check found problems"; }
	grep -q 'no problems' "$TT/check" || fail "check did not say 'no problems'"
	# The whole index, loaded without the cache, knows every chunk.
	CAIRN_NO_INDEX_CACHE=1 cairn restore --repo "$R" "$(cat "$TD/id.$NB")" "$TT/out.img" --force -q
	same_file "$TD/v.$NB" "$TT/out.img"
}
test_case "every backup restores byte-identical; check --read-data is clean" t_restorable

t_verbose()
{
	local i n0 n1
	n0=$(nindex "$R")
	for i in $(seq 1 17); do
		scatter_write "$IMG" $((5200 + i)) 1 16384 >/dev/null
		cairn backup --repo "$R" "$IMG" --name vol --snapshot none -v >/dev/null 2>>"$TT/err"
	done
	n1=$(nindex "$R")
	grep -E 'merged 1[0-9] small index objects into 1' "$TT/err" || fail "no merge was reported at -v"
	[ "$n1" -le 16 ] || fail "$n1 index objects"
	echo "index objects: $n0 -> $n1" >&2
}
test_case "cairn backup -v says what it merged" t_verbose

# A second host (its own state directory) backs up another volume while
# this one backs up and merges: no entry of either is lost.
t_two_hosts()
{
	local i
	(
		export CAIRN_STATE_DIR=$TD/state-b
		for i in $(seq 1 18); do
			scatter_write "$OTHER" $((5300 + i)) 2 16384 >/dev/null
			"$CAIRN" backup --repo "$R" "$OTHER" --name other --snapshot none -q >>"$TD/ids.b" || exit 1
			cp "$OTHER" "$TD/o.$i"
		done
	) &
	local pid=$!
	for i in $(seq 1 18); do
		scatter_write "$IMG" $((5400 + i)) 2 16384 >/dev/null
		cairn backup --repo "$R" "$IMG" --name vol --snapshot none -q >"$TD/id.last"
	done
	cp "$IMG" "$TD/v.last"
	wait "$pid" || fail "the second host's backups failed"
	i=0
	while read -r id; do
		i=$((i + 1))
		cairn restore --repo "$R" "$id" "$TT/out.img" --force -q
		same_file "$TD/o.$i" "$TT/out.img"
	done <"$TD/ids.b"
	[ "$i" = 18 ] || fail "the second host made $i backups, not 18"
	cairn restore --repo "$R" "$(cat "$TD/id.last")" "$TT/out.img" --force -q
	same_file "$TD/v.last" "$TT/out.img"
	cairn check --repo "$R" >"$TT/check" 2>&1 || { cat "$TT/check" >&2; fail "check found problems"; }
	[ "$(nindex "$R")" -le 32 ] || fail "$(nindex "$R") index objects after two hosts' backups"
	echo "index objects: $(nindex "$R")" >&2
}
test_case "a second host backing up at the same time loses nothing" t_two_hosts

# A lease held (a prune at work, slowed at its safe points): the backup
# succeeds and leaves the small objects for later.
t_lease_held()
{
	local r=$TT/r n0 n1 i pid rc=0
	cp -a "$R" "$r"
	# A host of its own: its cache, built by the first backup below,
	# names the one object repair leaves; each backup after it adds one.
	export CAIRN_STATE_DIR=$TT/state
	cairn repair index --compact --repo "$r" -q >/dev/null
	[ "$(nindex "$r")" = 1 ] || fail "repair index --compact left $(nindex "$r") objects"
	for i in $(seq 1 15); do
		scatter_write "$IMG" $((5500 + i)) 1 16384 >/dev/null
		cairn backup --repo "$r" "$IMG" --name vol --snapshot none -q >/dev/null
	done
	n0=$(nindex "$r")
	[ "$n0" = 16 ] || fail "$n0 index objects before the prune, not 16"
	CAIRN_TEST_JOB_DELAY=300 "$CAIRN" prune --repo "$r" --max-unused 0% -q >/dev/null 2>p.err &
	pid=$!
	for i in $(seq 1 100); do [ -n "$(ls "$r/lease" 2>/dev/null)" ] && break; sleep 0.05; done
	[ -n "$(ls "$r/lease" 2>/dev/null)" ] || { kill -9 $pid; fail "no lease appeared"; }
	scatter_write "$IMG" 5599 1 16384 >/dev/null
	cairn backup --repo "$r" "$IMG" --name vol --snapshot none -vv >/dev/null 2>"$TT/err" ||
		{ kill -9 $pid; fail "the backup failed while prune held the lease"; }
	n1=$(nindex "$r")
	local held=1
	[ -n "$(ls "$r/lease" 2>/dev/null)" ] || held=0
	wait $pid || rc=$?
	[ $rc = 0 ] || fail "the prune failed: $(cat p.err)"
	cairn check --repo "$r" -q
	[ $held = 1 ] || skip "the prune ended before the backup did (a slow machine): nothing shown"
	grep -q 'index objects not compacted: .*prune' "$TT/err" || fail "no word of the busy lease at -vv"
	grep -q 'merged [0-9]* small index objects' "$TT/err" && fail "merged while prune held the lease"
	[ "$n1" = $((n0 + 1)) ] || fail "index objects $n0 -> $n1 while prune held the lease"
}
test_case "a prune holds the lease: the backup skips the merge and succeeds" t_lease_held

t_copy()
{
	local D=$TD/dst i
	export CAIRN_TO_PASSPHRASE=$CAIRN_PASSPHRASE CAIRN_FROM_PASSPHRASE=$CAIRN_PASSPHRASE
	cairn init --repo "$D" --copy-keys-from "$R" -q >/dev/null
	# One copy per backup of volume vol: one small index object each.
	for i in $(seq 0 $NB); do
		cairn copy --repo "$R" "$(cat "$TD/id.$i")" --to "$D" -q >/dev/null
	done
	local n
	n=$(nindex "$D")
	[ "$n" -le 16 ] || fail "$n index objects at the destination after $((NB + 1)) copies"
	for i in 0 $NB; do
		cairn restore --repo "$D" "$(cat "$TD/id.$i")" "$TT/out.img" --force -q
		same_file "$TD/v.$i" "$TT/out.img"
	done
	cairn check --repo "$D" >/dev/null
}
test_case "copies: the destination's small index objects are merged too" t_copy

test_done
