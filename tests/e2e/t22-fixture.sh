#!/bin/bash
# t19: repositories written by earlier versions (tests/fixtures/repo-*/,
# see tests/fixtures/README.md) still list, check and restore
# byte-identical to the checksums recorded when they were written.
. "$(dirname "$0")/lib.sh"

FIXTURES=$(cd "$E2E_DIR/../fixtures" && pwd)

# each_fixture FUNCTION: runs FUNCTION DIR REPO for every fixture, REPO a
# private copy of its repository (a test may write locks and leases).
each_fixture()
{
	local d n=0
	for d in "$FIXTURES"/repo-*/; do
		d=${d%/}
		[ -f "$d/expect" ] && [ -f "$d/passphrase" ] && [ -d "$d/repo" ] ||
			fail "$d: a fixture needs repo/, passphrase and expect"
		rm -rf "$TT/repo"
		cp -r "$d/repo" "$TT/repo"
		echo "# fixture $(basename "$d")"
		CAIRN_PASSPHRASE_FILE=$d/passphrase "$1" "$d" "$TT/repo"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || fail "no fixture under $FIXTURES"
}

list_one()
{
	local d=$1 repo=$2 want got id
	cairn list --repo "$repo" --json >list.json
	want=$(awk '$1 == "backup" {print $2}' "$d/expect" | sort)
	got=$(jq -r '.[].id' list.json | sort)
	[ "$got" = "$want" ] || fail "$(basename "$d"): list shows $(echo $got), expected $(echo $want)"
	for id in $want; do
		if grep -qx "held $id" "$d/expect"; then
			jq -e --arg id "$id" '.[] | select(.id == $id) | .held == true' list.json >/dev/null ||
				fail "$(basename "$d"): backup $id is not shown held"
		else
			jq -e --arg id "$id" '.[] | select(.id == $id) | .held == false' list.json >/dev/null ||
				fail "$(basename "$d"): backup $id is shown held"
		fi
	done
	want=$(awk '$1 == "group" {print $2}' "$d/expect" | sort -u)
	cairn group list --backups --repo "$repo" --json >groups.json
	got=$(jq -r '.[].id' groups.json | sort)
	[ "$got" = "$want" ] || fail "$(basename "$d"): group list shows $(echo $got), expected $(echo $want)"
}
t_list()
{
	each_fixture list_one
}
test_case "every fixture lists exactly its backups, holds and group backups" t_list

check_one()
{
	cairn check --repo "$2" --read-data
}
t_check()
{
	each_fixture check_one
}
test_case "check --read-data passes on every fixture" t_check

restore_one()
{
	local d=$1 repo=$2 kind id vol sum
	while read -r kind id vol sum; do
		[ "$kind" = backup ] || continue
		rm -f out.img
		cairn restore --repo "$repo" "$id" out.img
		[ "$(sha256sum <out.img | cut -d' ' -f1)" = "$sum" ] ||
			fail "$(basename "$d"): backup $id ($vol) restores to other bytes than were backed up"
	done <"$d/expect"
}
t_restore()
{
	each_fixture restore_one
}
test_case "every backup of every fixture restores byte-identical" t_restore

group_one()
{
	local d=$1 repo=$2 kind id file sum n
	for id in $(awk '$1 == "group" {print $2}' "$d/expect" | sort -u); do
		rm -rf out
		cairn group restore --repo "$repo" "$id" --to out
		n=0
		while read -r kind gid file sum; do
			[ "$kind" = group ] && [ "$gid" = "$id" ] || continue
			[ "$(sha256sum <"out/$file" | cut -d' ' -f1)" = "$sum" ] ||
				fail "$(basename "$d"): group backup $id restores $file to other bytes than were backed up"
			n=$((n + 1))
		done <"$d/expect"
		[ "$(find out -type f | wc -l)" -eq "$n" ] ||
			fail "$(basename "$d"): group backup $id restored $(find out -type f | wc -l) files, expected $n"
	done
}
t_group()
{
	each_fixture group_one
}
test_case "every group backup of every fixture restores byte-identical" t_group

test_done
