#!/bin/bash
# t46: cairn copy carries file catalogs (format.h CATALOG).  An ext4 image
# (mkfs.ext4 -d of a small tree) backed up with its catalog is copied to a
# member of its key family (nodes move sealed) and to an unrelated
# repository (nodes re-sealed, ids rewritten bottom-up); at both the
# catalog lists what the source's does, restore-file gives the same bytes
# and check is clean (also on RGW, when scripts/run-tests starts it).  A
# second backup that touched one file sends a few catalog nodes, not the
# whole catalog; --dry-run counts them; a damaged source node stops the
# copy.  Also policy create --no-catalog.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"

A=$TD/a
B=$TD/b   # same key family as A
U=$TD/u   # unrelated to A
IMG=$TD/vol.img
export CAIRN_TO_PASSPHRASE=$CAIRN_PASSPHRASE CAIRN_FROM_PASSPHRASE=$CAIRN_PASSPHRASE

# same_catalog SRC DST ID: the recursive listing of backup ID is the same
# at DST as at SRC.
same_catalog()
{
	cairn catalog --repo "$1" "$3" / --recursive --json >"$TT/s.json"
	cairn catalog --repo "$2" "$3" / --recursive --json >"$TT/d.json"
	[ "$(jq length "$TT/s.json")" -gt 300 ] || fail "the source's catalog lists $(jq length "$TT/s.json") entries"
	cmp -s "$TT/s.json" "$TT/d.json" || fail "the catalog at $2 differs: $(diff "$TT/s.json" "$TT/d.json" | head -5)"
}

# same_files SRC DST ID: restore-file of the whole tree gives the same bytes.
same_files()
{
	rm -rf "$TT/rs" "$TT/rd"
	cairn restore-file --repo "$1" "$3" / "$TT/rs" -q
	cairn restore-file --repo "$2" "$3" / "$TT/rd" -q
	diff -r --no-dereference "$TT/rs" "$TT/rd" >/dev/null || fail "restore-file at $2 gives other files"
	same_file "$TD/src/d1/d2/mid.bin" "$TT/rd/d1/d2/mid.bin"
}

t_setup()
{
	local SRC=$TD/src
	mkdir -p "$SRC/d1/d2" "$SRC/many" "$SRC/other"
	rand_file "$SRC/d1/small.txt" 1000 4601
	rand_file "$SRC/d1/d2/mid.bin" 300000 4602
	rand_file "$SRC/other/x.bin" 70000 4603
	for i in $(seq 1 300); do echo "small file $i" >"$SRC/many/f$i"; done
	ln -s d1/small.txt "$SRC/link"
	find "$SRC" -exec touch -h -d @1600000000 {} +
	E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -b 4096 -d "$SRC" -E root_owner=0:0 "$IMG" 32M >/dev/null
	new_repo "$A" --chunk-size 64K
	new_repo "$U" --chunk-size 64K
	cairn init --repo "$B" --copy-keys-from "$A" -q >/dev/null
	cairn backup --repo "$A" -q --name vol "$IMG" >"$TD/id1"
	[ "$(cairn list --repo "$A" --json | jq -r '.[0].catalog')" = true ] || fail "the source backup has no catalog"
}
test_case "setup: an ext4 image backed up with a catalog; a family member and an unrelated repository" t_setup

# copy_to DST OUT: copies everything to DST, --json in OUT.
copy_to()
{
	cairn copy --repo "$A" --all --to "$1" --json >"$2" || fail "copy to $1 failed"
}

t_dry_run()
{
	cairn copy --repo "$A" --all --to "$B" --dry-run --json >dry-b.json
	cairn copy --repo "$A" --all --to "$U" --dry-run --json >dry-u.json
	local nb nu
	nb=$(jget dry-b.json .catalog_nodes_sent) nu=$(jget dry-u.json .catalog_nodes_sent)
	[ "$nb" -ge 5 ] || fail "a dry run to the family member counts $nb catalog nodes"
	[ "$nu" = "$nb" ] || fail "dry runs count $nb (family) and $nu (unrelated) catalog nodes"
	[ "$(jget dry-b.json .catalog_bytes_sent)" -gt 0 ] || fail "a dry run counts no catalog bytes"
	[ "$(cairn list --repo "$B" --json | jq length)" = 0 ] || fail "a dry run wrote a backup"
	echo "$nb" >"$TD/dry-nodes"
}
test_case "--dry-run --json counts catalog nodes and bytes, writes nothing" t_dry_run

# copied_ok DST JSON FAMILY: copies everything to DST (--json in JSON) as a
# key family or not (true/false); the catalog came along whole.
copied_ok()
{
	copy_to "$1" "$2"
	[ "$(jq -r .same_key_family "$2")" = "$3" ] || fail "same_key_family is not $3"
	[ "$(jget "$2" .catalog_nodes_sent)" = "$(cat "$TD/dry-nodes")" ] ||
		fail "sent $(jget "$2" .catalog_nodes_sent) catalog nodes, the dry run said $(cat "$TD/dry-nodes")"
	local id
	id=$(cat "$TD/id1")
	[ "$(cairn list --repo "$1" --json | jq -r '.[0].catalog')" = true ] || fail "the copy has no catalog"
	same_catalog "$A" "$1" "$id"
	same_files "$A" "$1" "$id"
	cairn check --repo "$1" -q || fail "check at $1 failed"
}

t_family()
{
	copied_ok "$B" b1.json true
}
test_case "same key family: catalog, restore-file and check at the destination" t_family

t_unrelated()
{
	copied_ok "$U" u1.json false
	cairn check --repo "$U" -q --read-data || fail "check --read-data at the unrelated repository failed"
}
test_case "unrelated repositories: the catalog re-sealed; catalog, restore-file and check at the destination" t_unrelated

t_incremental()
{
	# One file's time changes: its directory's node, the root's and the
	# volume node change; the other directories' do not.
	debugfs -w -R "set_inode_field /d1/small.txt mtime 202001010000" "$IMG" >/dev/null 2>&1
	cairn backup --repo "$A" -q --name vol "$IMG" >"$TD/id2"
	local id2 total f n
	id2=$(cat "$TD/id2")
	total=$(cat "$TD/dry-nodes")
	[ "$(cairn catalog --repo "$A" "$id2" /d1/small.txt --json)" != \
		"$(cairn catalog --repo "$A" "$(cat "$TD/id1")" /d1/small.txt --json)" ] ||
		fail "the second backup's catalog does not have the new time"
	for f in b u; do
		copy_to "$([ $f = b ] && echo "$B" || echo "$U")" "${f}2.json"
		n=$(jget "${f}2.json" .catalog_nodes_sent)
		[ "$(jget "${f}2.json" .backups_copied)" = 1 ] || fail "$f: $(jget "${f}2.json" .backups_copied) backups copied"
		[ "$n" -ge 1 ] && [ "$n" -le 4 ] || fail "$f: an incremental copy sent $n of $total catalog nodes"
		echo "  $f: the incremental copy sent $n of $total catalog nodes" >&2
	done
	same_catalog "$A" "$B" "$id2"
	same_catalog "$A" "$U" "$id2"
	same_files "$A" "$U" "$id2"
	cairn check --repo "$B" -q || fail "check at the family member failed"
	cairn check --repo "$U" -q || fail "check at the unrelated repository failed"
	# Nothing is left to send.
	copy_to "$U" u3.json
	[ "$(jget u3.json .catalog_nodes_sent)" = 0 ] || fail "a repeated copy sent catalog nodes"
}
test_case "a second backup: an incremental copy sends only the changed catalog nodes" t_incremental

t_prune()
{
	# The destination's prune keeps the second backup's catalog whole.
	cairn forget --repo "$U" "$(cat "$TD/id1")" -q
	cairn prune --repo "$U" -q >/dev/null
	[ "$(cairn list --repo "$U" --json | jq length)" = 1 ] || fail "forget left $(cairn list --repo "$U" --json | jq length) backups"
	same_catalog "$A" "$U" "$(cat "$TD/id2")"
	cairn check --repo "$U" -q || fail "check after prune failed"
}
test_case "prune at the destination keeps the copied catalog" t_prune

t_rgw()
{
	# Local to RGW in the key family, and to an unrelated repository on
	# RGW: the catalog of the newest backup lists and restores the same.
	s3_use rgw
	local F N id2
	F=$(s3_uri rgw fam) N=$(s3_uri rgw other)
	id2=$(cat "$TD/id2")
	cairn init --repo "$F" --copy-keys-from "$A" -q >/dev/null
	new_repo "$N" --chunk-size 64K
	copy_to "$F" f.json
	copy_to "$N" n.json
	[ "$(jget f.json .catalog_nodes_sent)" -ge 9 ] || fail "sent $(jget f.json .catalog_nodes_sent) catalog nodes to RGW"
	[ "$(jget n.json .catalog_nodes_sent)" -ge 9 ] || fail "sent $(jget n.json .catalog_nodes_sent) catalog nodes to RGW"
	same_catalog "$A" "$F" "$id2"
	same_catalog "$A" "$N" "$id2"
	same_files "$A" "$N" "$id2"
	cairn check --repo "$N" -q || fail "check at RGW failed"
}
test_case "to RGW (family and unrelated): catalog and restore-file at the destination" t_rgw

t_damaged()
{
	# A source whose catalog volume node is damaged: one line naming the
	# source, nothing visible at either destination.
	local X=$TT/x Y=$TT/y Z=$TT/z pack size toc
	new_repo "$X" --chunk-size 64K
	new_repo "$Z" --chunk-size 64K
	cairn init --repo "$Y" --copy-keys-from "$X" -q >/dev/null
	cairn backup --repo "$X" -q --name vol "$IMG" >/dev/null
	[ "$(npacks "$X")" = 1 ] || fail "expected one pack"
	pack=$(find "$X/packs" -type f ! -name '.tmp.*')
	size=$(stat -c %s "$pack")
	toc=$(python3 -c 'import struct,sys; f=open(sys.argv[1],"rb"); f.seek(-12,2); print(struct.unpack("<I", f.read(4))[0])' "$pack")
	# The last blob before the TOC is the catalog's volume node.
	flip_byte "$pack" $((size - 12 - toc - 1))
	expect_fail -m "source" cairn copy --repo "$X" --all --to "$Y"
	expect_fail -m "source" cairn copy --repo "$X" --all --to "$Z"
	[ "$(cairn list --repo "$Y" --json | jq length)" = 0 ] || fail "a backup appeared at the family member"
	[ "$(cairn list --repo "$Z" --json | jq length)" = 0 ] || fail "a backup appeared at the unrelated repository"
}
test_case "a damaged catalog node at the source: one line, nothing at the destination" t_damaged

t_policy_no_catalog()
{
	# policy create --no-catalog: stored, shown, and its runs' backups
	# have no catalog; a policy without it keeps catalogs.
	local P=$TT/p
	new_repo "$P" --chunk-size 64K
	cairn policy create nocat --volume "$IMG" --repo "$P" --every 1h --no-catalog -q
	cairn policy create withcat --volume "$IMG" --name vol2 --repo "$P" --every 1h -q
	[ "$(cairn policy show nocat --json | jq -r .catalog)" = false ] || fail "policy show --json: catalog not false"
	[ "$(cairn policy show withcat --json | jq -r .catalog)" = true ] || fail "policy show --json: catalog not true"
	cairn policy show nocat | grep -q -- "--no-catalog" || fail "policy show does not say --no-catalog"
	! cairn policy show withcat | grep -q -- "--no-catalog" || fail "policy show says --no-catalog of a policy without it"
	cairn policy run nocat -q >/dev/null
	cairn policy run withcat -q >/dev/null
	cairn list --repo "$P" --json >l.json
	[ "$(jq -r '[.[] | select(.volume == "vol.img")][0].catalog' l.json)" = false ] ||
		fail "the --no-catalog policy's backup has a catalog"
	jq -r '[.[] | select(.volume == "vol.img")][0].catalog_reason' l.json | grep -q -- "--no-catalog" ||
		fail "reason: $(jq -r '[.[] | select(.volume == "vol.img")][0].catalog_reason' l.json)"
	[ "$(jq -r '[.[] | select(.volume == "vol2")][0].catalog' l.json)" = true ] ||
		fail "the other policy's backup has no catalog"
	# Only with create: one line, exit 2.
	expect_fail -c 2 -m "no-catalog" cairn policy show nocat --no-catalog
}
test_case "policy create --no-catalog: stored, shown, and its backups keep no catalog" t_policy_no_catalog

test_done
