#!/bin/bash
# t49: check and diff through the local index cache (bounded memory: the
# by-pack grouping is an external sort, lookups read cache pages) say
# exactly what the whole index in RAM says (CAIRN_NO_INDEX_CACHE=1), on a
# sound repository and under damage: a missing pack, a truncated pack, a
# damaged index object, and a cache built before a prune replaced the
# index objects it names.
. "$(dirname "$0")/lib.sh"

P=$TD/pristine
IMG=$TD/img.ext4

t_setup()
{
	two_backups "$P" "$IMG" 49
}
test_case "setup: a repository with two backups" t_setup

# both_checks DIR: runs check on DIR through the cache (a state directory
# of this test, its cache built or refreshed by the check) and with the
# whole index in RAM; both must exit alike and report the same problems
# and the same affected backups (stderr, sorted: the same lines).
both_checks()
{
	local dir=$1 rc1=0 rc2=0
	CAIRN_STATE_DIR=$TT/state cairn check --repo "$dir" >cached.out 2>cached.err || rc1=$?
	CAIRN_STATE_DIR=$TT/state-ram CAIRN_NO_INDEX_CACHE=1 cairn check --repo "$dir" >ram.out 2>ram.err || rc2=$?
	cat cached.out cached.err
	[ $rc1 -eq $rc2 ] || fail "check exited $rc1 through the cache, $rc2 in RAM"
	# (a state directory that saw a backup now forgotten warns of it)
	cat cached.out cached.err | grep -v 'this host saw before is gone' | sort >a.sorted
	cat ram.out ram.err | grep -v 'this host saw before is gone' | sort >b.sorted
	cat cached.out >>cached.err
	diff -u b.sorted a.sorted || fail "check through the cache reports differently from check in RAM"
	[ -n "$(find "$TT/state/cache" -name index -type f 2>/dev/null)" ] || fail "check through the cache left no cache"
	return 0
}

t_sound()
{
	cp -a "$P" repo
	both_checks repo
	grep -q "no problems" cached.err || fail "a sound repository is not reported sound"
	# Again, now from the cache the first check built.
	both_checks repo
	# diff through the cache gives the same ranges as in RAM.
	CAIRN_STATE_DIR=$TT/state cairn diff --repo repo --json "$(cat "$TD/id1")" "$(cat "$TD/id2")" >d1.json
	CAIRN_STATE_DIR=$TT/state-ram CAIRN_NO_INDEX_CACHE=1 cairn diff --repo repo --json "$(cat "$TD/id1")" \
		"$(cat "$TD/id2")" >d2.json
	cmp d1.json d2.json || fail "diff through the cache differs from diff in RAM"
	[ "$(jget d1.json .changed_bytes)" -gt 0 ] || fail "diff found no change between the two backups"
}
test_case "sound repository: cached check and diff agree with the in-RAM ones" t_sound

t_missing_pack()
{
	local pack
	cp -a "$P" repo
	CAIRN_STATE_DIR=$TT/state cairn check --repo repo -q # the cache knows the pack
	pack=$(find repo/packs -type f -printf '%s %p\n' | sort -rn | head -n1 | cut -d' ' -f2-)
	rm "$pack"
	both_checks repo
	grep -q "missing from the repository" cached.err || fail "the missing pack is not reported"
	grep -qi "affected\|missing" cached.err || fail "no backup is reported affected"
}
test_case "missing pack: the same problems and affected backups" t_missing_pack

t_truncated_pack()
{
	local pack
	cp -a "$P" repo
	CAIRN_STATE_DIR=$TT/state cairn check --repo repo -q
	pack=$(find repo/packs -type f -printf '%s %p\n' | sort -rn | head -n1 | cut -d' ' -f2-)
	truncate -s $(($(stat -c %s "$pack") / 2)) "$pack"
	both_checks repo
	grep -q "$(basename "$pack")" cached.err || fail "the truncated pack is not named"
}
test_case "truncated pack: the same problems and affected backups" t_truncated_pack

t_damaged_index()
{
	local obj
	cp -a "$P" repo
	CAIRN_STATE_DIR=$TT/state cairn check --repo repo -q # a cache holding the object's entries
	obj=$(find repo/index -type f | sort | head -n1)
	flip_byte "$obj" 40
	both_checks repo
	grep -q "$(basename "$obj")" cached.err || fail "the damaged index object is not named"
	# The cache built while it was whole is not trusted for its entries:
	# the backups whose blobs only it indexed are affected in both.
	grep -qi "affected\|missing" cached.err || fail "no backup is reported affected"
}
test_case "damaged index object: reported, and its entries not taken from an older cache" t_damaged_index

t_stale_cache()
{
	cp -a "$P" repo
	CAIRN_STATE_DIR=$TT/state cairn check --repo repo -q # cache of the index before the prune
	CAIRN_STATE_DIR=$TT/state cairn forget --repo repo "$(cat "$TD/id1")" -q
	cairn prune --repo repo --safety-window 0 -q
	both_checks repo
	grep -Eq "no problems|no damage" cached.err || fail "a cache older than the prune made check report damage"
	CAIRN_STATE_DIR=$TT/state cairn restore --repo repo "$(cat "$TD/id2")" r2.img
	same_file "$TD/v2.img" r2.img
}
test_case "cache older than a prune: rebuilt, check agrees with RAM" t_stale_cache

test_done
