#!/bin/bash
# t9-azure-faults: Azure Blob (Azurite) through the fault-injecting proxy
# (tests/e2e/faultproxy.py): 500s, 503s, 429s, connection resets (before a
# reply, mid-upload and mid-reply) and stalls are retried and the backup
# restores byte-identically, block uploads included; an outage that
# outlasts the retries fails the backup with one clear line, and the re-run
# completes it, reusing the packs already uploaded.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/azlib.sh"
. "$(dirname "$0")/storelib.sh"

# Short timeouts and backoffs keep the faults cheap; the bounds still hold.
export CAIRN_HTTP_BACKOFF_MS=20 CAIRN_HTTP_STALL_SECONDS=2

t_setup()
{
	az_use
	rand_file "$TD/img" $((40 << 20)) 79
	proxy_check
}
# In front of Azurite, started by this shell (storelib.sh says why); the
# proxy's URL keeps the account's path.
if [ -n "$AZ_ENDPOINT" ]; then
	hostport=${AZ_ENDPOINT#http://}
	proxy_start "${hostport%%/*}" "/$AZ_ACCOUNT" || true
fi
test_case "setup: the fault proxy and a 40 MiB image" t_setup

puri()
{
	az_uri "$1" "${2:-}" "$(cat "$TD/proxy.url")"
}

t_transient()
{
	az_use
	local r
	r=$(puri flaky block_size=1M)
	cairn init --repo "$r" -q --pack-size 4M
	plan every=7:503 every=11:reset every=13:slowdown every=17:500 every=19:reset-upload every=23:429
	CAIRN_HTTP_STATS=$TT/stats cairn backup --repo "$r" "$TD/img" -q >id
	awk '{print $NF}' "$PLOG" | sort | uniq -c >&2
	[ "$(faults_seen 503)" -gt 0 ] && [ "$(faults_seen reset)" -gt 0 ] && [ "$(faults_seen slowdown)" -gt 0 ] &&
		[ "$(faults_seen reset-upload)" -gt 0 ] || fail "the proxy injected too few faults"
	grep -q 'comp=block&' "$PLOG" || fail "no block uploads went through the proxy"
	[ "$(jq -s 'map(.retries) | add' "$TT/stats")" -gt 0 ] || fail "the http stats show no retries"
	st_restore_faults "$r" "$TD/img" id
}
test_case "500/503/429 and resets are retried: backup (in blocks) and restore byte-identical" t_transient

t_stall()
{
	az_use
	st_stall "$(puri stall)" "$TD/img"
}
test_case "stalled requests are abandoned after the stall timeout and retried" t_stall

t_outage()
{
	az_use
	st_outage "$(puri outage)" "$TD/img"
}
test_case "an outage past the retry bound: one clear line; the re-run reuses what was uploaded" t_outage

t_sas_faults()
{
	az_use
	local r
	AZ_SAS=$(az_sas account rwdlac 2)
	unset AZURE_STORAGE_KEY
	export AZURE_STORAGE_SAS_TOKEN=$AZ_SAS
	r=$(puri sasflaky)
	cairn init --repo "$r" -q --pack-size 4M
	: >"$PLOG"
	plan every=5:503 every=7:reset
	cairn backup --repo "$r" "$TD/img" -q >id
	plan
	cairn restore --repo "$r" "$(cat id)" out.img
	same_file "$TD/img" out.img
	# An outage with a SAS: the message names the URL without the token.
	plan after=0:503
	CAIRN_HTTP_MAX_ATTEMPTS=2 expect_fail -m 'server error 503' cairn list --repo "$r"
	plan
	no_secret .log .out .err
}
test_case "with a SAS token through the proxy: retried, byte-identical, the token never shown" t_sas_faults

t_refused()
{
	az_use
	CAIRN_HTTP_MAX_ATTEMPTS=3 expect_fail -m 'Failed to connect.*after 3 attempts' \
		cairn list --repo "azure://$AZ_ACCOUNT/cont/p?endpoint=http://127.0.0.1:9/$AZ_ACCOUNT"
	no_secret .log .out .err
}
test_case "a refused connection is retried a bounded number of times" t_refused

proxy_stop
test_done
