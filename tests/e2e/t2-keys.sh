#!/bin/bash
# t2: passphrases (key objects): add, list, remove.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
NEW='a second passphrase, for the DR site'

t_setup()
{
	new_repo "$R"
	rand_file "$TD/v.img" $((2 << 20)) 1
	cairn backup --repo "$R" -q "$TD/v.img" >"$TD/id"
	cairn key list --repo "$R" --json >k.json
	[ "$(jq length k.json)" -eq 1 ] || fail "a new repository has $(jq length k.json) keys"
	jq -r '.[0].id' k.json >"$TD/kid-old"
}
test_case "a new repository has one key" t_setup

t_add()
{
	local kid
	CAIRN_NEW_PASSPHRASE=$NEW cairn key add --repo "$R" >out
	kid=$(cat out)
	[[ $kid =~ ^[0-9a-f]{16}$ ]] || fail "key add printed '$kid', not a key id"
	echo "$kid" >"$TD/kid-new"
	[ "$(find "$R/keys" -type f | wc -l)" -eq 2 ] || fail "expected two key objects"
	CAIRN_PASSPHRASE=$NEW cairn list --repo "$R" --json >l.json
	[ "$(jq -r '.[0].id' l.json)" = "$(cat "$TD/id")" ] || fail "the new passphrase does not list the backup"
	CAIRN_PASSPHRASE=$NEW cairn restore --repo "$R" latest r.img
	same_file "$TD/v.img" r.img
	# The old one still works too.
	cairn list --repo "$R" >/dev/null
}
test_case "key add with CAIRN_NEW_PASSPHRASE; the new passphrase opens the repository" t_add

t_add_file()
{
	local kid
	printf '%s\n' 'third passphrase from a file' >newpass
	cairn key add --repo "$R" --new-passphrase-file newpass >out
	kid=$(cat out)
	[[ $kid =~ ^[0-9a-f]{16}$ ]] || fail "key add printed '$kid', not a key id"
	echo "$kid" >"$TD/kid-third"
	CAIRN_PASSPHRASE='third passphrase from a file' cairn list --repo "$R" >/dev/null
}
test_case "key add --new-passphrase-file" t_add_file

t_list()
{
	local cur
	cairn key list --repo "$R" --json >k.json
	[ "$(jq length k.json)" -eq 3 ] || fail "key list shows $(jq length k.json) keys, expected 3"
	jq -e 'all(.[]; has("id") and has("created") and has("current"))' k.json >/dev/null ||
		fail "key list --json entries lack id/created/current"
	jq -e 'all(.[]; .created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"))' k.json >/dev/null ||
		fail "created is not RFC 3339"
	[ "$(jq '[.[] | select(.current)] | length' k.json)" -eq 1 ] || fail "not exactly one current key"
	cur=$(jq -r '.[] | select(.current) | .id' k.json)
	[ "$cur" = "$(cat "$TD/kid-old")" ] || fail "current key is $cur, not the one the passphrase opens"
	CAIRN_PASSPHRASE=$NEW cairn key list --repo "$R" --json >k2.json
	cur=$(jq -r '.[] | select(.current) | .id' k2.json)
	[ "$cur" = "$(cat "$TD/kid-new")" ] || fail "with the new passphrase the current key is $cur"
	for k in kid-old kid-new kid-third; do
		jq -e --arg k "$(cat "$TD/$k")" 'any(.[]; .id == $k)' k.json >/dev/null || fail "$k is not listed"
	done
}
test_case "key list --json shows every key and marks the current one" t_list

t_remove_current()
{
	tree_state "$R" >before
	expect_fail cairn key remove --repo "$R" "$(cat "$TD/kid-old")"
	assert_unchanged "$R" before
	cairn list --repo "$R" >/dev/null
}
test_case "key remove of the key in use is refused" t_remove_current

t_remove_other()
{
	cairn key remove --repo "$R" "$(cat "$TD/kid-third")"
	CAIRN_PASSPHRASE=$NEW cairn key remove --repo "$R" "$(cat "$TD/kid-old")"
	[ "$(find "$R/keys" -type f | wc -l)" -eq 1 ] || fail "expected one key object left"
	# The removed passphrases no longer open the repository.
	expect_fail cairn list --repo "$R"
	CAIRN_PASSPHRASE='third passphrase from a file' expect_fail cairn list --repo "$R"
	CAIRN_PASSPHRASE=$NEW cairn restore --repo "$R" latest r.img
	same_file "$TD/v.img" r.img
}
test_case "key remove of another key works and its passphrase stops working" t_remove_other

t_remove_last()
{
	tree_state "$R" >before
	CAIRN_PASSPHRASE=$NEW expect_fail -m 'last' cairn key remove --repo "$R" "$(cat "$TD/kid-new")"
	assert_unchanged "$R" before
	CAIRN_PASSPHRASE=$NEW cairn list --repo "$R" >/dev/null
}
test_case "the last key cannot be removed" t_remove_last

t_remove_unknown()
{
	tree_state "$R" >before
	CAIRN_PASSPHRASE=$NEW expect_fail cairn key remove --repo "$R" 0123456789abcdef
	CAIRN_PASSPHRASE=$NEW expect_fail cairn key remove --repo "$R" ../config
	assert_unchanged "$R" before
}
test_case "key remove of an unknown or malformed key id fails cleanly" t_remove_unknown

t_add_no_new_passphrase()
{
	tree_state "$R" >before
	# No terminal (setsid), no CAIRN_NEW_PASSPHRASE*: the message names them.
	CAIRN_PASSPHRASE=$NEW expect_fail -m 'no new passphrase: set CAIRN_NEW_PASSPHRASE or CAIRN_NEW_PASSPHRASE_FILE, or use --new-passphrase-file' \
		env -u CAIRN_NEW_PASSPHRASE -u CAIRN_NEW_PASSPHRASE_FILE setsid -w "$CAIRN" key add --repo "$R"
	assert_unchanged "$R" before
}
test_case "key add without a new passphrase names where it can come from" t_add_no_new_passphrase

test_done
