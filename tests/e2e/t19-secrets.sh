#!/bin/bash
# t19: secrets stay home: children's environment, repository permissions,
# core dumps, the passphrase's work factor, bounded key objects.
. "$(dirname "$0")/lib.sh"

ENV_C=$E2E_DIR/../../src/util/env.c

# The secret variables, as src/util/env.c lists them (one name a line).
secret_names()
{
	[ -f "$ENV_C" ] || fail "cannot find $ENV_C (the list of secret variables)"
	sed -n '/^const char \*const cairn_env_secrets\[\]/,/NULL/p' "$ENV_C" | grep -o '"[A-Z0-9_]*"' | tr -d '"'
}

# Exports every secret variable as "e2e-secret-NAME-<random>", the
# repository passphrase included (init with it).
set_secrets()
{
	local n tag
	tag=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
	for n in $(secret_names); do
		export "$n=e2e-secret-$n-$tag"
	done
	[ "$(secret_names | wc -l)" -ge 10 ] || fail "only $(secret_names | wc -l) secret names found in $ENV_C"
}

# no_secret_in FILE: no value of a secret variable appears in FILE.
no_secret_in()
{
	local n
	[ -s "$1" ] || fail "$1 is empty: the hook did not run"
	for n in $(secret_names); do
		! grep -aqF -- "${!n}" "$1" || fail "$1 holds the value of $n"
	done
}

t_hook_env()
{
	set_secrets
	export E2E_PLAIN=plain-setting-kept
	new_repo repo
	truncate -s 4M a.img
	cairn group create app --volume "$TT/a.img" --pre-hook "env >$TT/pre.env" --post-hook "env >$TT/post.env" -q
	cairn group backup app --repo "$TT/repo" -q >/dev/null
	no_secret_in pre.env
	no_secret_in post.env
	# What hooks should see is still there.
	grep -qx 'E2E_PLAIN=plain-setting-kept' pre.env || fail "the hook lost a plain variable"
	grep -qx 'CAIRN_GROUP=app' pre.env || fail "the hook has no CAIRN_GROUP"
	grep -qx 'CAIRN_HOOK=post' post.env || fail "the post-hook has no CAIRN_HOOK=post"
	# The same from a policy run by the daemon, whose job is a cairn
	# process that gets the passphrase from the daemon.
	rm -f pre.env post.env
	cairn policy create nightly --group app --repo "$TT/repo" --every 1h -q
	cairn daemon --once -q
	[ "$(cairn list --repo "$TT/repo" --json | jq length)" = 2 ] || fail "the daemon's group backup did not run"
	no_secret_in pre.env
	no_secret_in post.env
}
test_case "hooks (run by hand and by the daemon) see no secret variable" t_hook_env

# private DIR STEP: nothing below DIR (DIR included) is readable, writable
# or searchable by group or others.
private()
{
	local open
	open=$(find "$1" -perm /077 -printf '%m %p\n' | head -n 5 | tr '\n' '|')
	[ -z "$open" ] || fail "after $2, not private: $open"
	[ "$(find "$1" | wc -l)" -gt 1 ] || fail "after $2, $1 is empty"
}

t_repo_private()
{
	umask 022
	export CAIRN_STATE_DIR=$TT/state
	cairn init --repo "$TT/sub/repo" -q
	private sub init
	mk_image img 16 19 4
	cairn backup --repo sub/repo -q img >id1
	scatter_write img 20 50 >/dev/null
	cairn backup --repo sub/repo -q img >id2
	private sub/repo backups
	CAIRN_NEW_PASSPHRASE='another passphrase' cairn key add --repo sub/repo >/dev/null
	cairn hold --repo sub/repo "$(cat id1)" --reason keep -q
	private sub/repo "key add, hold"
	cairn release --repo sub/repo "$(cat id1)" -q
	cairn forget --repo sub/repo --keep-last 1 -q
	cairn prune --repo sub/repo --max-unused 0% -q
	private sub/repo "forget, prune"
	cairn repair index --repo sub/repo -q
	private sub/repo "repair index"
	cairn check --repo sub/repo --read-data -q
	[ "$(find sub/repo -type f -path '*/keys/*' | wc -l)" = 2 ] || fail "expected two key objects"
	# The state: the database, the change-tag cache, credentials' key.
	CAIRN_S3_SECRET_KEY=x cairn cred create --provider s3 --s3-access-key AKIAE2E --s3-region r -q >/dev/null
	private state "backups and cred create"
	ls state/state.db state/secret.key >/dev/null
	find state -name '*.tags' | grep -q . || fail "no change-tag cache in the state directory"
}
test_case "repositories and state are private under umask 022 (init, backup, hold, forget, prune, repair)" t_repo_private

test_done
