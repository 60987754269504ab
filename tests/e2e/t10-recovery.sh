#!/bin/bash
# t10: recovering from damage without making it worse.  repair index keeps
# the blobs of a pack whose table of contents is damaged that still verify
# (carried condemned, so prune heals the repository); "latest" is refused
# while a damaged manifest could be the newest backup, instead of silently
# meaning an older one; a lost config, an interrupted init and a pack
# missing from the store each get a clear way out.
. "$(dirname "$0")/lib.sh"

P=$TD/pristine
IMG=$TD/img.ext4

t_setup()
{
	two_backups "$P" "$IMG" 21
}
test_case "setup: a repository with two backups" t_setup

# private_repo: a copy of the pristine repository at ./repo, seen by a host
# of its own (copies share the repository's id: the backups one test adds
# would be reported as gone from the next copy).
private_repo()
{
	cp -a "$P" repo
	export CAIRN_STATE_DIR=$TT/state
}

# The TOC sits just before the 12-byte trailer (toc_len, magic): flip a
# byte in it, leaving every blob intact.
t_repair_toc()
{
	local pack rc=0 v
	private_repo
	pack=$(find repo/packs -type f -printf '%s %p\n' | sort -rn | head -n1 | cut -d' ' -f2-)
	flip_byte "$pack" $(($(stat -c %s "$pack") - 20))
	cairn repair --repo repo index --json >rep.json 2>rep.err || rc=$?
	cat rep.err
	[ $rc -eq 3 ] || fail "repair index with a damaged pack exited $rc, expected 3"
	grep -q "$(basename "$pack")" rep.err || fail "repair does not name the damaged pack"
	[ "$(jget rep.json .damaged_packs)" = 1 ] || fail "damaged_packs is not 1"
	[ "$(jget rep.json .carried_blobs)" -gt 0 ] || fail "no blobs of the damaged pack were kept"
	# The blobs are intact, so every backup still restores byte-identical.
	for v in 1 2; do
		cairn restore --repo repo "$(cat "$TD/id$v")" r$v.img
		same_file "$TD/v$v.img" r$v.img
	done
	# Running it again changes nothing about that.
	rc=0
	cairn repair --repo repo index 2>rep2.err || rc=$?
	[ $rc -eq 3 ] || fail "second repair exited $rc, expected 3"
	grep -Eq 'kept the [1-9][0-9]* blob\(s\) in them that still verify' rep2.err ||
		fail "second repair lost the kept entries: $(cat rep2.err)"
	cairn restore --repo repo "$(cat "$TD/id2")" r3.img
	same_file "$TD/v2.img" r3.img
	# The damaged pack is carried condemned: prune copies the blobs the
	# backups need into new packs and deletes it; the repository is whole.
	cairn prune --repo repo -q
	[ ! -e "$pack" ] || fail "prune kept the damaged pack"
	cairn check --repo repo --read-data -q
	for v in 1 2; do
		cairn restore --repo repo "$(cat "$TD/id$v")" p$v.img
		same_file "$TD/v$v.img" p$v.img
	done
}
test_case "repair index with a damaged pack TOC keeps its blobs, exits 3; backups restore; prune heals the repository" t_repair_toc

t_repair_truncated()
{
	local pack rc=0 size
	private_repo
	pack=$(find repo/packs -type f -printf '%s %p\n' | sort -rn | head -n1 | cut -d' ' -f2-)
	size=$(stat -c %s "$pack")
	truncate -s $((size / 2)) "$pack"
	cairn repair --repo repo index --json >rep.json 2>rep.err || rc=$?
	[ $rc -eq 3 ] || fail "repair of a truncated pack exited $rc, expected 3"
	# The front half's blobs verify and are kept; the rest are not relied on:
	# a new backup stores them again and restores byte-identical.
	[ "$(jget rep.json .carried_blobs)" -gt 0 ] || fail "no blob of the pack's intact front was kept"
	# A copy of the volume in another place: the same series by --name.
	cp "$TD/v2.img" img.ext4
	cairn backup --repo repo --full -q img.ext4 --name img.ext4 >id
	cairn restore --repo repo "$(cat id)" r.img
	same_file "$TD/v2.img" r.img
	cairn check --repo repo --read-data >check.out 2>&1 && fail "check passes with a truncated pack"
	grep -q "$(cat id)" check.out && fail "check says the new backup is damaged: $(cat check.out)"
	return 0
}
test_case "repair index with a truncated pack keeps only the blobs that verify; a new backup restores" t_repair_truncated

t_repair_clean()
{
	private_repo
	expect_ok cairn repair --repo repo index
	grep -q 'damaged' .err && fail "a clean repair mentions damage: $(cat .err)"
	cairn check --repo repo --read-data
}
test_case "repair index on an undamaged repository exits 0 and check passes" t_repair_clean

t_index_cache_compact()
{
	local n
	private_repo
	cp "$TD/v2.img" img.ext4
	cairn backup --repo repo -q img.ext4 --name img.ext4 >/dev/null
	scatter_write img.ext4 91 5 >/dev/null
	cairn backup --repo repo -q img.ext4 --name img.ext4 >id3
	cp img.ext4 v3.img
	# The backups left a local index cache (repo/idxcache.h).  One planted
	# or damaged is refused with one line and rebuilt, never used.
	cache=$(echo "$CAIRN_STATE_DIR"/cache/*/index)
	[ -f "$cache" ] || fail "no index cache in the state directory"
	flip_byte "$cache" 100
	scatter_write img.ext4 92 5 >/dev/null
	expect_ok cairn backup --repo repo img.ext4 --name img.ext4
	grep -q "^cairn: warning: index cache .* fails its check.*rebuilding it$" .err ||
		fail "no line about the damaged cache: $(cat .err)"
	[ "$(grep -c 'index cache' .err)" = 1 ] || fail "more than one line for a damaged cache: $(cat .err)"
	head -c 5000 /dev/urandom >"$cache"
	expect_ok cairn restore --repo repo "$(cat id3)" r3.img
	same_file v3.img r3.img
	# Small index objects (one per backup) merged into one.
	n=$(find repo/index -type f | wc -l)
	[ "$n" -ge 4 ] || fail "expected 4 index objects or more, found $n"
	cairn repair --repo repo index --compact --json >c.json
	[ "$(jget c.json .merged_index_objects)" = "$n" ] || fail "merged $(jget c.json .merged_index_objects), not $n"
	[ "$(jget c.json .written_index_objects)" = 1 ] || fail "compact wrote $(jget c.json .written_index_objects)"
	[ "$(find repo/index -type f | wc -l)" = 1 ] || fail "index objects left after compact"
	cairn check --repo repo --read-data
	# The cache is older than the compaction: rebuilt, and restores agree.
	cairn restore --repo repo "$(cat id3)" r4.img
	same_file v3.img r4.img
	cairn restore --repo repo "$(cat "$TD/id1")" r1.img
	same_file "$TD/v1.img" r1.img
	# Nothing to merge: nothing written.
	cairn repair --repo repo index --compact --json >c2.json
	[ "$(jget c2.json .merged_index_objects)" = 0 ] || fail "a second compact merged something"
}
test_case "the local index cache: a damaged one is refused with one line and rebuilt; repair index --compact merges small index objects; restores agree" t_index_cache_compact

t_latest_damaged()
{
	local id1 id2
	private_repo
	id1=$(cat "$TD/id1") id2=$(cat "$TD/id2")
	flip_byte "repo/backups/$id2" 30
	tree_state repo >before
	expect_fail -m "backups/$id2 is damaged.*which backup is the latest of volume 'img.ext4' is unknown" \
		cairn restore --repo repo img.ext4@latest out.img
	[ ! -e out.img ] || fail "a refused restore created its target"
	expect_fail -m "backups/$id2 is damaged.*the latest is unknown" cairn restore --repo repo latest out.img
	expect_fail -m 'is unknown' cairn diff --repo repo "$id1" latest
	# By id, the intact backup restores.
	cairn restore --repo repo "$id1" r1.img
	same_file "$TD/v1.img" r1.img
	assert_unchanged repo before
	# A backup still works (its parent is the newest readable one).
	cp "$TD/v2.img" img.ext4
	cairn backup --repo repo -q img.ext4 --name img.ext4 >id3
	cairn restore --repo repo "$(cat id3)" r3.img
	same_file "$TD/v2.img" r3.img
}
test_case "a damaged newest manifest: latest and VOLUME@latest are refused naming it, ids still work" t_latest_damaged

t_forget_damaged()
{
	local id1 id2
	private_repo
	id1=$(cat "$TD/id1") id2=$(cat "$TD/id2")
	cairn hold --repo repo "$id2" -q
	flip_byte "repo/backups/$id2" 30
	expect_fail -m "cairn forget ID" cairn restore --repo repo latest out.img
	# Held, it stays until released (by its full id: it no longer opens).
	expect_fail -m "is held: 'cairn release $id2' first" cairn forget --repo repo "$id2"
	cairn release --repo repo "$id2" -q
	# The damaged manifest goes by its id (a prefix too); nothing else.
	cairn forget --repo repo "${id2:0:12}" --dry-run --json >d.json
	jq -e --arg id "$id2" '.dry_run and .forgotten == 1 and .backups[0].id == $id and .backups[0].created == null
		and (.backups[0].note | test("damaged"))' d.json >/dev/null || fail "dry run: $(cat d.json)"
	[ -f "repo/backups/$id2" ] || fail "a dry run deleted the manifest"
	cairn forget --repo repo "${id2:0:12}" 2>f.err
	grep -q "forgot 1" f.err || fail "forget said: $(cat f.err)"
	[ ! -e "repo/backups/$id2" ] || fail "the damaged manifest is still there"
	[ -f "repo/backups/$id1" ] || fail "the intact manifest went too"
	# latest works again and check passes once prune drops what only the
	# damaged backup used.
	cairn restore --repo repo latest r1.img
	same_file "$TD/v1.img" r1.img
	cairn prune --repo repo --max-unused 0% -q
	cairn check --repo repo --read-data
}
test_case "forget ID removes a damaged manifest: latest works again, prune and check --read-data pass" t_forget_damaged

t_lost_config()
{
	private_repo
	cp repo/config config.saved
	rm repo/config
	tree_state repo >before
	expect_fail -m 'has lost its config.*restore the config from a copy' cairn list --repo repo
	grep -q "cairn init" .err && fail "the message invites an init over the data: $(cat .err)"
	expect_fail -m 'no config but holds repository data' cairn init --repo repo
	assert_unchanged repo before
	# With the config back, everything is as it was.
	cp config.saved repo/config
	cairn restore --repo repo "$(cat "$TD/id2")" r.img
	same_file "$TD/v2.img" r.img
	cairn check --repo repo
}
test_case "a repository that lost its config: a clear line, and init refuses to write over its data" t_lost_config

t_interrupted_init()
{
	# Key first, config last: what an init killed in between leaves.
	cairn init --repo repo -q >/dev/null
	rm repo/config
	expect_fail -m 'not a cairn repository' cairn list --repo repo
	expect_ok cairn init --repo repo -q
	cairn backup --repo repo -q "$TD/v1.img" >id
	cairn restore --repo repo "$(cat id)" r.img
	same_file "$TD/v1.img" r.img
}
test_case "an init interrupted before its config was written can be run again" t_interrupted_init

t_missing_pack_backup()
{
	local pack rc=0
	private_repo
	pack=$(find repo/packs -type f -printf '%s %p\n' | sort -rn | head -n1 | cut -d' ' -f2-)
	rm "$pack"
	tree_state repo >before
	# The index still names the pack: a backup that deduplicated against it
	# would be damaged from the start.  Refused, naming the way out.
	cp "$TD/v2.img" img.ext4
	expect_fail -m "1 pack\(s\) the index names are missing .*$(basename "$pack").*cairn repair index" \
		cairn backup --repo repo --full img.ext4 --name img.ext4
	assert_unchanged repo before
	cairn repair --repo repo index
	cairn backup --repo repo --full -q img.ext4 --name img.ext4 >id
	cairn restore --repo repo "$(cat id)" r.img
	same_file "$TD/v2.img" r.img
	# The old backups stay damaged, and check says so.
	cairn check --repo repo >check.out 2>&1 || rc=$?
	[ $rc -eq 3 ] || fail "check exited $rc with a pack missing"
}
test_case "a pack missing from the store: backup refuses, naming repair index; after it, a backup restores" t_missing_pack_backup

# Five backups of one volume, their ids oldest first in $TD/five/ids.
five_backups()
{
	local d=$TD/five i
	[ -f "$d/ids" ] && return 0
	mkdir -p "$d"
	new_repo "$d/repo"
	for i in 1 2 3 4 5; do
		rand_file "$d/vol" 262144 $((40 + i))
		cp "$d/vol" "$d/v$i"
		cairn backup --repo "$d/repo" -q "$d/vol" >>"$d/ids.new"
	done
	mv "$d/ids.new" "$d/ids"
}

# An object name in upper case is another name to the store but the same
# id to a case-blind reader: it counted a sixth backup, made `forget ID`
# ambiguous and made --keep-last 1 delete the newest backup.
t_upper_case_manifest()
{
	local newest second upper rc=0
	five_backups
	cp -a "$TD/five/repo" repo
	newest=$(tail -n1 "$TD/five/ids") second=$(sed -n 2p "$TD/five/ids")
	upper=$(echo "$newest" | tr a-f A-F)
	: >"repo/backups/$upper"
	[ "$(backup_count repo)" = 5 ] || fail "list shows $(backup_count repo) backups, not 5"
	cairn check --repo repo >check.out 2>&1 || rc=$?
	cat check.out
	[ $rc -eq 3 ] || fail "check exited $rc with a non-canonical name, expected 3"
	grep -q "backups/$upper: not a canonical object name" check.out || fail "check does not name backups/$upper"
	grep -q "1 problem(s) found, 0 backup(s) affected" check.out || fail "check counts: $(head -n1 check.out)"
	[ -e "repo/backups/$upper" ] || fail "check removed the odd name"
	# forget by an id given in upper case, then the rules: the newest stays.
	cairn forget --repo repo "$(echo "$second" | tr a-f A-F)" 2>f.err
	grep -q "forgot 1" f.err || fail "forget ID said: $(cat f.err)"
	[ ! -e "repo/backups/$second" ] || fail "forget ID left backups/$second"
	cairn forget --repo repo --keep-last 1 -q
	[ -f "repo/backups/$newest" ] || fail "forget --keep-last 1 deleted the newest backup"
	[ "$(cairn list --repo repo --json | jq -r '.[].id')" = "$newest" ] || fail "list after forget: $(cairn list --repo repo)"
	cairn restore --repo repo latest r.img
	same_file "$TD/five/v5" r.img
	[ -e "repo/backups/$upper" ] || fail "forget removed the odd name"
}
test_case "an upper-case copy of a manifest name: list shows 5, check exits 3 naming it, forget ID and --keep-last 1 keep the newest" t_upper_case_manifest

t_odd_index_pack_names()
{
	local idx pack key name upidx uppack rc=0 odd
	five_backups
	cp -a "$TD/five/repo" repo
	idx=$(find repo/index -type f | head -n1)
	pack=$(find repo/packs -type f | head -n1)
	upidx=repo/index/$(basename "$idx" | tr a-f A-F)
	name=$(basename "$pack" | tr a-f A-F)
	uppack=repo/packs/${name:0:2}/$name
	mkdir -p "$(dirname "$uppack")"
	cp "$idx" "$upidx"
	cp "$pack" "$uppack"
	# More spellings: a wrong length, a pack in another pack's directory,
	# a subdirectory, a key in upper case.
	cp "$idx" "repo/index/$(basename "$idx")0"
	mkdir -p repo/packs/zz
	cp "$pack" "repo/packs/zz/$(basename "$pack")"
	mkdir -p repo/holds/sub
	: >repo/holds/sub/x
	key=$(find repo/keys -type f | head -n1)
	cp "$key" "repo/keys/$(basename "$key" | tr a-f A-F)"
	tree_state repo >before
	cairn check --repo repo --read-data >check.out 2>&1 || rc=$?
	cat check.out
	[ $rc -eq 3 ] || fail "check exited $rc, expected 3"
	for odd in "$upidx" "$uppack" "repo/index/$(basename "$idx")0" "repo/packs/zz/$(basename "$pack")" \
		repo/holds/sub/x "repo/keys/$(basename "$key" | tr a-f A-F)"; do
		grep -q "${odd#repo/}.*not a canonical object name" check.out || fail "check does not name ${odd#repo/}"
	done
	grep -q "6 problem(s) found, 0 backup(s) affected" check.out || fail "check counts: $(head -n1 check.out)"
	assert_unchanged repo before
	# Nothing reads, counts or deletes them: prune and repair leave them.
	[ "$(backup_count repo)" = 5 ] || fail "list shows $(backup_count repo) backups"
	cairn forget --repo repo --keep-last 2 -q
	cairn prune --repo repo --max-unused 0% -q
	cairn repair --repo repo index -q
	for odd in "$upidx" "$uppack" "repo/index/$(basename "$idx")0" "repo/packs/zz/$(basename "$pack")"; do
		[ -e "$odd" ] || fail "prune or repair deleted $odd"
	done
	cairn restore --repo repo latest r.img
	same_file "$TD/five/v5" r.img
}
test_case "odd names under index/, packs/, holds/, keys/: check names each (exit 3), nothing reads or deletes them" t_odd_index_pack_names

test_done
