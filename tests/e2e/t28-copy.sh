#!/bin/bash
# t28: copies between repositories (cairn copy) and key families (init
# --copy-keys-from).  Only what the destination lacks is sent, in both
# modes (same key family: sealed blobs as they are; unrelated: re-sealed);
# every copied backup restores byte-identical at the destination; groups
# go whole, holds go along unless --no-holds; a killed copy is invisible
# and its rerun resumes; two members of one family never share local state.
. "$(dirname "$0")/lib.sh"

A=$TD/a
B=$TD/b   # same key family as A
U=$TD/u   # unrelated to A
IMG=$TD/vol.img
export CAIRN_TO_PASSPHRASE='destination passphrase (e2e)'
export CAIRN_FROM_PASSPHRASE=$CAIRN_PASSPHRASE

# ids REPO: the ids of REPO's backups, oldest first.
ids()
{
	cairn list --repo "$1" --json | jq -r '.[].id'
}

# restores_same SRC DST: every backup of DST restores byte-identical to the
# same backup at SRC.
restores_same()
{
	local id n=0
	for id in $(CAIRN_PASSPHRASE=$(dst_pass "$2") ids "$2"); do
		CAIRN_PASSPHRASE=$(dst_pass "$2") cairn restore --repo "$2" "$id" "$TT/d.img" --force -q
		cairn restore --repo "$1" "$id" "$TT/s.img" --force -q
		same_file "$TT/s.img" "$TT/d.img"
		n=$((n + 1))
	done
	echo "  $n backup(s) restore byte-identical at $2" >&2
	[ "$n" -gt 0 ] || fail "$2 holds no backup"
}

# dst_pass REPO: the passphrase of a destination.
dst_pass()
{
	case $1 in
	"$A") echo "$CAIRN_PASSPHRASE" ;;
	*) echo "$CAIRN_TO_PASSPHRASE" ;;
	esac
}

t_setup()
{
	# 12 MiB of random data in a 24 MiB sparse image, 16 KiB chunks.
	rand_file "$IMG" $((12 << 20)) 2801
	truncate -s 24M "$IMG"
	new_repo "$A" --chunk-size 16K --pack-size 1M
	cairn backup --repo "$A" "$IMG" --name vol --snapshot none -q >"$TD/id1"
	scatter_write "$IMG" 2802 8 16384 >/dev/null
	cairn backup --repo "$A" "$IMG" --name vol --snapshot none -q >"$TD/id2"
	cairn hold "$(cat "$TD/id1")" --repo "$A" --reason "audit 2026" 2>/dev/null
}
test_case "setup: a repository with two backups of a 24 MiB image, the first held" t_setup

t_family_init()
{
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn init --repo "$B" --copy-keys-from "$A" --json >b.json
	cairn init --repo "$TD/a-again" --json >/dev/null
	cairn list --repo "$A" -q >/dev/null
	local aid afp
	# The source's id and fingerprint, read by a family member made from it.
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn init --repo "$TD/b2" --copy-keys-from "$A" --json >b2.json
	aid=$(jget b.json .id) afp=$(jget b.json .fingerprint)
	[ "$(jget b2.json .id)" = "$aid" ] || fail "two members of one family have different ids"
	[ "$(jget b2.json .fingerprint)" = "$afp" ] || fail "two members of one family have different fingerprints"
	[ "$(jget b.json .instance)" != "$aid" ] || fail "a family member's instance is its id"
	[ "$(jget b.json .instance)" != "$(jget b2.json .instance)" ] || fail "two members share an instance"
	[ "$(jget b.json .chunk_size)" = 16384 ] || fail "the family member has chunk size $(jget b.json .chunk_size)"
	[ "$(jget b.json .pack_size)" = 1048576 ] || fail "the family member has pack size $(jget b.json .pack_size)"
	# Its own passphrase opens it; the source's does not.
	expect_fail -m "wrong passphrase" cairn list --repo "$B"
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn list --repo "$B" >/dev/null
	# A wrong source passphrase leaves nothing at the destination.
	expect_fail -m "source .*wrong passphrase" env CAIRN_FROM_PASSPHRASE=nope "$CAIRN" init --repo "$TD/b3" \
		--copy-keys-from "$A"
	[ ! -e "$TD/b3" ] || fail "a failed init --copy-keys-from left $TD/b3"
	expect_fail -c 2 -m "copy-keys-from" cairn init --repo "$TD/b3" --copy-keys-from "$A" --chunk-size 64K
	expect_fail -m "not a cairn repository" cairn init --repo "$TD/b3" --copy-keys-from "$TD/nowhere"
	rm -rf "$TD/b2" "$TD/a-again"
}
test_case "init --copy-keys-from: same id, fingerprint, chunk and pack size; own passphrase and instance" t_family_init

t_copy_family()
{
	cairn copy --repo "$A" --all --to "$B" --json >c.json
	[ "$(jq -r .same_key_family c.json)" = true ] || fail "A and B are not seen as one family"
	[ "$(jget c.json .backups_copied)" = 2 ] || fail "copied $(jget c.json .backups_copied) backups, expected 2"
	[ "$(jget c.json .holds_copied)" = 1 ] || fail "copied $(jget c.json .holds_copied) holds, expected 1"
	[ "$(ids "$A" | tr '\n' ' ')" = "$(CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE ids "$B" | tr '\n' ' ')" ] ||
		fail "B does not hold A's backups under their ids"
	restores_same "$A" "$B"
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn check --repo "$B" --read-data
	# The copy keeps time, volume, tags, stats and the hold.
	diff <(cairn list --repo "$A" --json | jq -S 'map(del(.held, .hold_reason))') \
		<(CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn list --repo "$B" --json | jq -S 'map(del(.held, .hold_reason))') ||
		fail "the copied manifests differ from the source's"
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn list --repo "$B" --json |
		jq -e '[.[] | select(.held)] | length == 1 and .[0].hold_reason == "audit 2026"' >/dev/null ||
		fail "the hold was not copied"
	# The job row and its result.
	cairn status --json | jq -e '[.[] | select(.kind == "copy" and .state == "done")] | length >= 1' >/dev/null ||
		fail "no done job of kind copy"
}
test_case "copy --all within a key family: ids, holds, manifests kept; restores byte-identical; job row" t_copy_family

t_copy_unrelated()
{
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE new_repo "$U" --chunk-size 16K --compression lz4
	cairn copy --repo "$A" "$(cat "$TD/id1")" --to "$U" --no-holds --json >c1.json
	[ "$(jq -r .same_key_family c1.json)" = false ] || fail "unrelated repositories seen as one family"
	[ "$(jget c1.json .backups_copied)" = 1 ] || fail "copied $(jget c1.json .backups_copied), expected 1"
	cairn copy --repo "$A" --volume vol --to "$U" --no-holds --json >c2.json
	[ "$(jget c2.json .backups_copied)" = 1 ] && [ "$(jget c2.json .backups_skipped)" = 1 ] ||
		fail "second copy: $(jq -c '{backups_copied, backups_skipped}' c2.json)"
	local sent
	sent=$(jget c2.json .bytes_sent)
	echo "  incremental unrelated copy of 8 changed chunks sent $sent bytes" >&2
	[ "$sent" -lt $((1 << 20)) ] || fail "the incremental copy sent $sent bytes for 128 KiB changed"
	restores_same "$A" "$U"
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn list --repo "$U" --json | jq -e '[.[] | select(.held)] | length == 0' \
		>/dev/null || fail "--no-holds copied a hold"
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn check --repo "$U" --read-data
}
test_case "copy between unrelated repositories: re-sealed, incremental, --no-holds; restores byte-identical" t_copy_unrelated

t_one_percent()
{
	local size=$((12 << 20)) changed=$((8 * 16384)) dest sent
	scatter_write "$IMG" 2803 8 16384 >/dev/null # 128 KiB, about 1% of the data
	cairn backup --repo "$A" "$IMG" --name vol --snapshot none -q >"$TD/id3"
	for dest in "$B" "$U"; do
		cairn copy --repo "$A" --all --to "$dest" --json >c.json
		sent=$(jget c.json .bytes_sent)
		echo "  1% change: $sent bytes sent to $dest ($(jget c.json .blobs_sent) blobs, $(jget c.json .seconds) s)" >&2
		[ "$(jget c.json .backups_copied)" = 1 ] || fail "copied $(jget c.json .backups_copied) backups to $dest"
		[ "$sent" -ge "$changed" ] || fail "sent $sent bytes to $dest, less than the $changed changed"
		[ "$sent" -lt $((size / 25)) ] || fail "sent $sent bytes to $dest for a 1% change of $size"
		# Nothing new: nothing sent.
		cairn copy --repo "$A" --all --to "$dest" --json >c0.json
		[ "$(jget c0.json .blobs_sent)" = 0 ] && [ "$(jget c0.json .bytes_sent)" = 0 ] &&
			[ "$(jget c0.json .backups_skipped)" = 3 ] || fail "a copy with nothing new: $(jq -c . c0.json | head -c 300)"
	done
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn restore --repo "$B" "$(cat "$TD/id3")" b.img -q
	same_file "$IMG" b.img
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn restore --repo "$U" "$(cat "$TD/id3")" u.img -q
	same_file "$IMG" u.img
}
test_case "a 1% change copies about 1% (both modes); a copy with nothing new sends 0 blobs" t_one_percent

t_dry_run()
{
	local st
	cairn backup --repo "$A" "$IMG" --name other --snapshot none -q >/dev/null
	st=$(tree_state "$B")
	cairn copy --repo "$A" --volume other --to "$B" --dry-run --json >d.json
	[ "$(jget d.json .dry_run)" = true ] && [ "$(jget d.json .backups_copied)" = 1 ] || fail "dry run: $(head -c 300 d.json)"
	# The same data as vol@latest: only its tree root is new, if anything.
	[ "$(tree_state "$B")" = "$st" ] || fail "--dry-run wrote to the destination"
	cairn copy --repo "$A" --volume other --to "$B" --json >c.json
	[ "$(jget c.json .blobs_sent)" = "$(jget d.json .blobs_sent)" ] ||
		fail "dry run said $(jget d.json .blobs_sent) blobs, the copy sent $(jget c.json .blobs_sent)"
}
test_case "--dry-run writes nothing and predicts the blobs sent" t_dry_run

t_group()
{
	head -c 1M /dev/urandom >"$TD/ga.img"
	head -c 1M /dev/urandom >"$TD/gb.img"
	cairn group create g28 --volume "$TD/ga.img" --volume "$TD/gb.img" >/dev/null 2>&1
	cairn group backup g28 --repo "$A" --json >g.json
	local gid
	gid=$(jget g.json .id)
	cairn copy --repo "$A" --group g28 --to "$U" --json >c.json
	[ "$(jget c.json .groups_copied)" = 1 ] && [ "$(jget c.json .backups_copied)" = 2 ] ||
		fail "group copy: $(jq -c '{groups_copied, backups_copied}' c.json)"
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn group list --backups g28 --repo "$U" --json >gl.json
	jq -e --arg g "$gid" '[.. | objects | select(.id? == $g)] | length >= 1' gl.json >/dev/null ||
		fail "the group backup is not listed at the destination: $(head -c 300 gl.json)"
	# Naming one member copies the whole group backup.
	cairn copy --repo "$A" "$(jq -r '.members[0].backup' g.json)" --to "$B" --json >c.json
	[ "$(jget c.json .groups_copied)" = 1 ] && [ "$(jget c.json .backups_copied)" = 2 ] ||
		fail "a member alone: $(jq -c '{groups_copied, backups_copied}' c.json)"
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn group restore "$gid" --repo "$B" --to "$TT/gr" -q
	same_file "$TD/ga.img" "$TT/gr/ga.img"
	same_file "$TD/gb.img" "$TT/gr/gb.img"
	cairn group delete g28 >/dev/null 2>&1 || true
}
test_case "a group backup is copied whole, also when one member is named" t_group

t_kill_resume()
{
	local R2=$TD/k pid i n sent1 sent2 total
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn init --repo "$R2" --copy-keys-from "$A" -q
	rand_file big.img $((24 << 20)) 2804
	cairn backup --repo "$A" big.img --name big --snapshot none -q >"$TD/idbig"
	# Each progress report sleeps 0.3 s: the copy is caught while it runs.
	CAIRN_TEST_JOB_DELAY=300 "$CAIRN" copy --repo "$A" --volume big --to "$R2" >k.out 2>k.err &
	pid=$!
	for i in $(seq 1 400); do
		n=$(find "$R2/packs" -type f 2>/dev/null | wc -l)
		[ "$n" -ge 3 ] && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.02
	done
	# Still running (not a zombie waiting to be reaped)?
	case $(awk '{print $3}' /proc/$pid/stat 2>/dev/null) in
	R | S | D) ;;
	*) fail "the copy ended before it could be killed ($n packs)" ;;
	esac
	kill -9 $pid 2>/dev/null || fail "the copy ended before it could be killed ($n packs)"
	wait $pid 2>/dev/null || true
	[ "$(CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE backup_count "$R2")" = 0 ] || fail "a killed copy left a backup"
	sent1=$(find "$R2/packs" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
	cairn copy --repo "$A" --volume big --to "$R2" --json >c.json
	sent2=$(jget c.json .bytes_sent)
	total=$((24 << 20))
	echo "  killed after $sent1 bytes of packs; the rerun sent $sent2 of about $total" >&2
	[ "$sent1" -gt 0 ] || fail "nothing was written before the kill"
	[ "$sent2" -lt $((total - sent1 / 2)) ] || fail "the rerun sent $sent2 bytes: it re-sent what was there"
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn restore --repo "$R2" "$(cat "$TD/idbig")" out.img -q
	same_file big.img out.img
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn check --repo "$R2" --read-data
}
test_case "kill -9 mid-copy: nothing listed; the rerun resumes without re-sending" t_kill_resume

t_family_state()
{
	# Two members of one family on one host, one state directory: each
	# has its own index cache (named by its instance), and a backup to B
	# never relies on blobs only A holds.
	local F1=$TD/f1 F2=$TD/f2 i1 i2
	new_repo "$F1" --chunk-size 16K
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn init --repo "$F2" --copy-keys-from "$F1" --json >f2.json
	rand_file fam.img $((4 << 20)) 2805
	cairn backup --repo "$F1" fam.img --name fam --snapshot none -q >/dev/null
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn backup --repo "$F2" fam.img --name fam --snapshot none -q >id.f2
	i1=$(jget f2.json .id) i2=$(jget f2.json .instance)
	ls "$CAIRN_STATE_DIR/cache" | grep -q "$i2" || fail "no cache named by B's instance: $(ls "$CAIRN_STATE_DIR/cache")"
	ls "$CAIRN_STATE_DIR/cache" | grep -q "$i1" || fail "no cache named by A's id: $(ls "$CAIRN_STATE_DIR/cache")"
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn check --repo "$F2" --read-data
	rm -rf "$F1"
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn restore --repo "$F2" "$(cat id.f2)" out.img -q
	same_file fam.img out.img
	# And the first member's data went into B by its own backup.
	[ "$(find "$F2/packs" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')" -ge $((4 << 20)) ] ||
		fail "B's backup stored less than the data: it deduplicated against A"
}
test_case "two members of a key family on one host never share local state" t_family_state

t_bad()
{
	expect_fail -c 2 -m "--to" cairn copy --repo "$A" --all
	expect_fail -c 2 -m "nothing to copy" cairn copy --repo "$A" --to "$B"
	expect_fail -c 2 -m "one of" cairn copy --repo "$A" --all --volume vol --to "$B"
	expect_fail -m "wrong passphrase" env CAIRN_TO_PASSPHRASE=nope "$CAIRN" copy --repo "$A" --all --to "$B"
	expect_fail -m "not a cairn repository" cairn copy --repo "$A" --all --to "$TD/missing"
	mkdir -p "$TD/junk" && echo hi >"$TD/junk/file"
	expect_fail -m "not a cairn repository" cairn copy --repo "$A" --all --to "$TD/junk"
	expect_fail -m "no backup or group backup 'ffff'" cairn copy --repo "$A" ffff --to "$B"
	expect_fail -m "no backup of volume" cairn copy --repo "$A" --volume nosuch --to "$B"
	expect_fail -m "same repository" env CAIRN_TO_PASSPHRASE="$CAIRN_PASSPHRASE" "$CAIRN" copy --repo "$A" --all --to "$A"
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE new_repo "$TD/u64" --chunk-size 64K
	expect_fail -m "chunk" cairn copy --repo "$A" --all --to "$TD/u64"
	[ "$(CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE backup_count "$TD/u64")" = 0 ] || fail "a refused copy wrote a backup"
}
test_case "bad input: one clear line, nothing written" t_bad

t_damaged_source()
{
	local S=$TD/s D=$TD/dd p
	cp -a "$A" "$S"
	cairn backup --repo "$S" "$IMG" --name dmg --snapshot none -q >/dev/null
	CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE cairn init --repo "$D" --copy-keys-from "$S" -q
	# Flip a byte in the middle of every pack: a blob in each is damaged.
	for p in $(find "$S/packs" -type f); do
		printf '\xff' | dd of="$p" bs=1 seek=$(($(stat -c %s "$p") / 3)) conv=notrunc status=none
	done
	expect_fail -m "damaged|authenticat|corrupt" cairn copy --repo "$S" --volume dmg --to "$D"
	[ "$(CAIRN_PASSPHRASE=$CAIRN_TO_PASSPHRASE backup_count "$D")" = 0 ] || fail "a manifest was written for a damaged source"
	[ ! -d "$D/backups" ] || [ -z "$(ls "$D/backups")" ] || fail "backups/ at the destination is not empty"
	rm -rf "$S" "$D"
}
test_case "a damaged source blob fails the copy before any manifest is written" t_damaged_source

t_readonly()
{
	local RO=$TD/ro
	mkdir -p "$RO"
	mount --bind "$B" "$RO" 2>/dev/null || skip "cannot bind-mount (not root?)"
	register_cleanup mount "$RO"
	mount -o remount,ro,bind "$RO" 2>/dev/null || skip "cannot remount read-only"
	cairn backup --repo "$A" "$IMG" --name ro --snapshot none -q >/dev/null
	expect_fail -m "read-only|permission|cannot" cairn copy --repo "$A" --volume ro --to "$RO"
}
test_case "a read-only destination: one clear line" t_readonly

test_done
