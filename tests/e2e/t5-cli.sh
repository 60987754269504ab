#!/bin/bash
# t5: the command line itself: help, usage errors, version.
. "$(dirname "$0")/lib.sh"

VERBS="init backup list restore check diff key repair cred snapshot group"

t_help_verbs()
{
	local v
	for v in $VERBS; do
		expect_ok cairn "$v" --help
		grep -q '^usage:' "$TT/.out" || fail "'cairn $v --help' prints no usage: line on stdout"
		grep -q "cairn $v" "$TT/.out" || fail "'cairn $v --help' does not show 'cairn $v'"
		[ ! -s "$TT/.err" ] || fail "'cairn $v --help' wrote to stderr"
		expect_ok cairn "$v" -h
		grep -q '^usage:' "$TT/.out" || fail "'cairn $v -h' prints no usage"
		expect_ok cairn help "$v"
		grep -q "^usage: cairn $v" "$TT/.out" || fail "'cairn help $v' prints no usage"
	done
}
test_case "--help, -h and 'help VERB' for every command exit 0 and print usage:" t_help_verbs

t_help_needs_nothing()
{
	# Help must not need a repository or a passphrase.
	env -u CAIRN_PASSPHRASE "$CAIRN" backup --help >out 2>err || fail "backup --help needs a passphrase"
	env -u CAIRN_PASSPHRASE "$CAIRN" --repo "$TT/nope" restore --help >out 2>err ||
		fail "restore --help opens the repository"
	grep -q '^usage:' out || fail "no usage"
}
test_case "help needs neither a repository nor a passphrase" t_help_needs_nothing

t_help_global()
{
	local v
	expect_ok cairn --help
	grep -q '^usage:' "$TT/.out" || fail "'cairn --help' prints no usage: line"
	for v in $VERBS; do
		grep -q "^  $v" "$TT/.out" || fail "'cairn --help' does not list $v"
	done
	expect_ok cairn help
	grep -q '^usage:' "$TT/.out" || fail "'cairn help' prints no usage"
	expect_ok cairn -h
	grep -q '^usage:' "$TT/.out" || fail "'cairn -h' prints no usage"
	expect_fail -c 2 -m "unknown command 'bogus'" cairn help bogus
	[ ! -s "$TT/.out" ] || fail "'cairn help bogus' printed help: $(head -n1 "$TT/.out")"
	expect_ok cairn help cred create
	grep -q '^usage: cairn cred create' "$TT/.out" || fail "'cairn help cred create' prints no usage"
}
test_case "cairn --help, -h and help list every command" t_help_global

t_no_args()
{
	local rc=0
	"$CAIRN" >out 2>err || rc=$?
	[ $rc -eq 2 ] || fail "cairn with no arguments exited $rc, expected 2"
	cat out err | grep -q 'usage:' || fail "cairn with no arguments prints no usage"
	rc=0
	"$CAIRN" --repo /tmp >out 2>err || rc=$?
	[ $rc -eq 2 ] || fail "cairn with only global options exited $rc, expected 2"
}
test_case "cairn with no command exits 2 and shows usage" t_no_args

t_unknown_command()
{
	expect_fail -c 2 -m 'frobnicate' cairn frobnicate
	[ ! -s "$TT/.out" ] || fail "unknown command printed on stdout"
	expect_fail -c 2 cairn --repo "$TT" frobnicate --json
	expect_fail -c 2 cairn BACKUP
}
test_case "an unknown command exits 2 with one line" t_unknown_command

t_unknown_option()
{
	local v
	for v in $VERBS; do
		expect_fail -c 2 -m 'bogus' cairn "$v" --bogus
	done
	expect_fail -c 2 cairn list -Z
	expect_fail -c 2 -m 'value' cairn init --chunk-size
	expect_fail -c 2 cairn list --json=yes
}
test_case "an unknown option exits 2 with one line, for every command" t_unknown_option

t_bad_values()
{
	new_repo repo
	tree_state repo >before
	# Bad values: exit 1 or 2 (both are documented), one line.
	expect_fail -m 'chunk' cairn init --repo r2 --chunk-size 3K
	expect_fail -m 'chunk' cairn init --repo r3 --chunk-size banana
	expect_fail -m 'chunk' cairn init --repo r4 --chunk-size 32M
	expect_fail -m 'pack' cairn init --repo r5 --pack-size 1K
	[ ! -e r2/config ] && [ ! -e r3/config ] && [ ! -e r4/config ] && [ ! -e r5/config ] ||
		fail "init with a bad size created a repository"
	expect_fail -c 2 cairn backup --repo repo
	expect_fail -c 2 cairn backup --repo repo a b
	expect_fail -c 2 cairn restore --repo repo latest
	expect_fail -c 2 cairn diff --repo repo latest
	expect_fail -c 2 cairn list --repo repo extra
	expect_fail -c 2 cairn check --repo repo extra
	expect_fail -c 2 cairn key --repo repo
	expect_fail -c 2 cairn key frob --repo repo
	expect_fail -c 2 cairn key remove --repo repo
	expect_fail -c 2 cairn repair --repo repo
	expect_fail -c 2 cairn repair --repo repo packs
	assert_unchanged repo before
}
test_case "missing or bad arguments exit 2 with one line and change nothing" t_bad_values

t_version()
{
	expect_ok cairn --version
	grep -Eq '^cairn [0-9]+\.[0-9]+' "$TT/.out" || fail "--version prints '$(cat "$TT/.out")'"
	[ "$(wc -l <"$TT/.out")" -eq 1 ] || fail "--version prints more than one line"
	cp "$TT/.out" v1
	expect_ok cairn version
	cmp -s v1 "$TT/.out" || fail "'cairn version' and '--version' differ"
}
test_case "--version prints 'cairn X.Y' and exits 0" t_version

t_json_stdout_only()
{
	new_repo repo
	rand_file v.img 100000 3
	cairn backup --repo repo --json v.img >b.json 2>b.err
	jq -e . b.json >/dev/null || fail "backup --json stdout is not JSON"
	[ ! -s b.err ] || fail "backup --json wrote to stderr: $(cat b.err)"
	cairn list --repo repo --json >l.json 2>l.err
	jq -e 'type == "array"' l.json >/dev/null || fail "list --json is not an array"
	[ ! -s l.err ] || fail "list --json wrote to stderr"
	cairn check --repo repo --json >c.json 2>c.err
	jq -e '.ok == true' c.json >/dev/null || fail "check --json is not {ok: true, ...}"
	cairn restore --repo repo --json latest r.img >r.json
	jq -e . r.json >/dev/null || fail "restore --json stdout is not JSON"
	cairn key list --repo repo --json >k.json
	jq -e 'type == "array" and length == 1' k.json >/dev/null || fail "key list --json is not an array of one"
	# -q: nothing on stderr on success.
	cairn backup --repo repo -q v.img >/dev/null 2>q.err
	[ ! -s q.err ] || fail "backup -q wrote to stderr: $(cat q.err)"
}
test_case "--json prints JSON on stdout (nothing on stderr); -q is quiet" t_json_stdout_only

test_done
