#!/bin/bash
# t9: repositories in Azure Blob Storage (Azurite, started by
# scripts/run-tests): init creates the container, backups and incrementals
# restore byte-identically, check --read-data passes, large packs go up as
# blocks, SAS tokens (account and container) work like the key, and a
# wrong key, a wrong or expired SAS, or a missing container give one clear
# line naming the cause, never a secret.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/azlib.sh"
. "$(dirname "$0")/storelib.sh"

IMG=$TD/img.ext4

t_image()
{
	st_image "$IMG" 9
}
test_case "setup: a 32 MiB ext4 image" t_image

t_init()
{
	az_use
	st_init "$(az_uri repo)"
}
test_case "init creates the container and the repository; a second init refuses" t_init

t_roundtrip()
{
	az_use
	st_roundtrip "$(az_uri repo)" "$IMG" "$TD/id1"
}
test_case "backup, restore byte-identical, check --read-data" t_roundtrip

t_incremental()
{
	az_use
	st_incremental "$(az_uri repo)" "$TD/id1" 13
}
test_case "incremental stores only the change; both backups restore byte-identical" t_incremental

t_blocks()
{
	az_use
	st_large "$(az_uri blocks block_size=1M)"
	# 12 MiB in packs of 4 MiB, 1 MiB blocks: a request per block.
	[ "$(jq -s 'map(.requests) | add' "$TT/stats")" -ge 12 ] || fail "too few requests for block uploads: $(cat "$TT/stats")"
}
test_case "packs above the block threshold go up as blocks and restore byte-identical" t_blocks

t_account_sas()
{
	az_use
	local r
	AZ_SAS=$(az_sas account rwdlac 2)
	unset AZURE_STORAGE_KEY
	export AZURE_STORAGE_SAS_TOKEN=$AZ_SAS
	# A new container, made through the SAS.
	r=$(az_uri sasrepo "" "" "$(az_container sas)")
	cairn init --repo "$r" -q
	cairn backup --repo "$r" "$IMG" -q >id
	cairn restore --repo "$r" "$(cat id)" out.img
	same_file "$IMG" out.img
	cairn check --repo "$r" --read-data -v 2>check.err
	# The key's repository, read through the SAS as well.
	cairn list --repo "$(az_uri repo)" --json >list.json
	[ "$(jq length list.json)" -eq 2 ] || fail 'the SAS does not see both backups'
	no_secret .log .out .err check.err list.json
}
test_case "an account SAS token: init creates the container, backup, restore, check --read-data" t_account_sas

t_container_sas()
{
	az_use
	local r c
	c=$(az_container)
	# The permissions the README names: read, write, delete, list.
	AZ_SAS=$(az_sas "$c" rwdl 2)
	unset AZURE_STORAGE_KEY
	# With a leading '?', as portals copy it.
	export AZURE_STORAGE_SAS_TOKEN="?$AZ_SAS"
	r=$(az_uri csas)
	cairn init --repo "$r" -q
	cairn backup --repo "$r" "$TD/img.v1" -vv >id 2>debug.err
	cairn restore --repo "$r" latest out.img
	same_file "$TD/img.v1" out.img
	cairn check --repo "$r" --read-data
	cairn restore --repo "$(az_uri repo)" "$(cat "$TD/id1")" out1.img
	same_file "$TD/img.v1" out1.img
	# The debug log shows URLs, never with the token.
	grep -q 'http: PUT http://' debug.err || fail 'no request URLs in the debug log'
	no_secret .log .out .err debug.err
}
test_case "a container SAS token (with '?'): backup, restore, check; debug logs hide it" t_container_sas

t_wrong_key()
{
	az_use
	local r bad
	r=$(az_uri repo)
	bad=$(printf 'not-the-key-%052d' 7 | base64 -w0)
	AZURE_STORAGE_KEY=$bad expect_fail -m 'account key .*is wrong' cairn list --repo "$r"
	AZURE_STORAGE_KEY=$bad expect_fail -m 'account key .*is wrong' cairn backup --repo "$r" "$IMG"
	AZURE_STORAGE_KEY=$bad expect_fail -m 'account key .*is wrong' cairn restore --repo "$r" latest out.img
	[ ! -e out.img ] || fail 'a failed restore left a target'
	grep -qF -- "$bad" .err .out .log && fail 'the wrong key is shown'
	AZURE_STORAGE_KEY='not base64!' expect_fail -m 'AZURE_STORAGE_KEY.*not valid base64' cairn list --repo "$r"
	grep -q 'not base64!' .err && fail 'the malformed key is shown'
	no_secret .log .out .err
}
test_case "a wrong account key: one line naming it, never the key" t_wrong_key

t_bad_sas()
{
	az_use
	local r c
	r=$(az_uri repo)
	c=$(az_container)
	unset AZURE_STORAGE_KEY
	AZ_SAS=$(az_sas "$c" racwdl -1)
	AZURE_STORAGE_SAS_TOKEN=$AZ_SAS expect_fail -m 'SAS token .*expired at' cairn list --repo "$r"
	no_secret .log .out .err
	AZURE_STORAGE_SAS_TOKEN=$AZ_SAS expect_fail -m 'SAS token .*expired at' cairn backup --repo "$r" "$IMG"
	no_secret .log .out .err
	AZ_SAS=$(az_sas "$c" racwdl 2 "$(printf 'some-other-key' | base64 -w0)")
	AZURE_STORAGE_SAS_TOKEN=$AZ_SAS expect_fail -m 'SAS token .*invalid' cairn list --repo "$r"
	no_secret .log .out .err
	AZURE_STORAGE_SAS_TOKEN=$AZ_SAS expect_fail -m 'SAS token .*invalid' cairn restore --repo "$r" latest out.img
	[ ! -e out.img ] || fail 'a failed restore left a target'
	no_secret .log .out .err
	# A token for another container.
	AZ_SAS=$(az_sas "$(az_container other)" racwdl 2)
	AZURE_STORAGE_SAS_TOKEN=$AZ_SAS expect_fail -m 'SAS token .*invalid' cairn list --repo "$r"
	no_secret .log .out .err
	# Read-only: a backup is refused naming the permission.
	AZ_SAS=$(az_sas "$c" rl 2)
	AZURE_STORAGE_SAS_TOKEN=$AZ_SAS cairn list --repo "$r" >/dev/null
	AZURE_STORAGE_SAS_TOKEN=$AZ_SAS expect_fail -m 'SAS token .*does not permit put' cairn backup --repo "$r" "$IMG" --name img.ext4
	no_secret .log .out .err
	AZURE_STORAGE_SAS_TOKEN='sv=2019-12-12&sp=r' expect_fail -m 'no signature' cairn list --repo "$r"
}
test_case "an expired, wrong, foreign or read-only SAS: one line naming the cause, never the token" t_bad_sas

t_missing_container()
{
	az_use
	local r="azure://$AZ_ACCOUNT/cairn-e2e-nocontainer-$AZ_RUN/x?endpoint=$AZ_ENDPOINT"
	expect_fail -m "container cairn-e2e-nocontainer-$AZ_RUN does not exist in account $AZ_ACCOUNT" cairn list --repo "$r"
	expect_fail -m 'does not exist in account' cairn check --repo "$r"
	expect_fail -m 'does not exist in account' cairn backup --repo "$r" "$IMG"
	expect_fail -m 'does not exist in account' cairn restore --repo "$r" latest out.img
	[ ! -e out.img ] || fail 'a failed restore left a target'
	no_secret .log .out .err
}
test_case "a missing container on read commands: one line naming it and the account" t_missing_container

t_no_credentials()
{
	az_use
	unset AZURE_STORAGE_KEY
	expect_fail -m 'AZURE_STORAGE_KEY .*AZURE_STORAGE_SAS_TOKEN' cairn list --repo "$(az_uri repo)"
	AZURE_STORAGE_KEY=$AZ_KEY AZURE_STORAGE_ACCOUNT=someoneelse expect_fail -m "AZURE_STORAGE_ACCOUNT is 'someoneelse'" \
		cairn list --repo "$(az_uri repo)"
	no_secret .log .out .err
}
test_case "no credentials, or another account in AZURE_STORAGE_ACCOUNT: one line naming the variables" t_no_credentials

t_stored_credential()
{
	az_use
	local u ssl=()
	export CAIRN_STATE_DIR=$TT/state
	[[ $AZ_ENDPOINT == http://* ]] && ssl=(--azure-disable-ssl)
	u=$(CAIRN_AZURE_ACCOUNT_KEY=$AZ_KEY cairn cred create --provider azure --azure-account-name "$AZ_ACCOUNT" \
		--azure-endpoint "$AZ_ENDPOINT" "${ssl[@]}")
	unset AZURE_STORAGE_KEY
	st_stored_credential "$u" "azure://$AZ_ACCOUNT/$(az_container cred)/repo" "$AZ_ENDPOINT" "$IMG" \
		"http://127.0.0.1:9/$AZ_ACCOUNT"
}
test_case "a stored credential made for Azurite (--azure-endpoint): backup, restore; another endpoint refused" t_stored_credential

t_bad_uris()
{
	az_use
	expect_fail -c 1 -m "unknown parameter 'sig'" cairn list --repo "azure://acct1/cont/p?sig=TOPSECRET"
	grep -q TOPSECRET .err && fail 'a value of an unknown parameter is shown'
	expect_fail -m 'no container' cairn list --repo "azure://acct1"
	expect_fail -m 'account name' cairn list --repo "azure://Bad_Account/cont"
	expect_fail -m 'container name' cairn list --repo "azure://acct1/Bad_Container"
	expect_fail -m 'block_size' cairn list --repo "azure://acct1/cont?block_size=1"
	# A server that is not there: the connection error, after bounded retries.
	CAIRN_HTTP_MAX_ATTEMPTS=2 CAIRN_HTTP_BACKOFF_MS=10 expect_fail -m 'connect' \
		cairn list --repo "azure://acct1/cont/p?endpoint=http://127.0.0.1:9/acct1"
	# https is verified (no certificate here), and plain http must be asked for.
	CAIRN_HTTP_MAX_ATTEMPTS=1 expect_fail cairn list --repo "azure://acct1/cont/p?endpoint=https://127.0.0.1:9/acct1"
}
test_case "bad azure:// URIs and unreachable endpoints: one clear line" t_bad_uris

t_not_tls()
{
	az_use
	[[ $AZ_ENDPOINT == http://* ]] || skip "Azurite serves https here"
	expect_fail -m 'does not speak TLS' cairn list --repo "$(az_uri p "" "${AZ_ENDPOINT/#http:/https:}")"
	! grep -q 'gave up after' .err || fail 'a server that does not speak TLS was asked again'
	no_secret .log .out .err
}
test_case "an https:// endpoint on Azurite's plain http: one line saying so, no retries" t_not_tls

test_done
