# shellcheck shell=bash
# Helpers for the Azure Blob end-to-end tests (sourced after lib.sh).  The
# server (Azurite) comes from the environment scripts/run-tests sets:
# CAIRN_TEST_AZURE_ENDPOINT (http://127.0.0.1:PORT/devstoreaccount1),
# CAIRN_TEST_AZURE_ACCOUNT and CAIRN_TEST_AZURE_KEY.  Without them every
# test is skipped.

AZ_ENDPOINT=${CAIRN_TEST_AZURE_ENDPOINT:-}
AZ_ACCOUNT=${CAIRN_TEST_AZURE_ACCOUNT:-}
AZ_KEY=${CAIRN_TEST_AZURE_KEY:-}
AZ_RUN=$$
unset AZURE_STORAGE_KEY AZURE_STORAGE_SAS_TOKEN AZURE_STORAGE_ACCOUNT AZURE_STORAGE_CONNECTION_STRING \
	CAIRN_HTTP_STATS CAIRN_HTTP_MAX_ATTEMPTS CAIRN_HTTP_RETRY_SECONDS CAIRN_HTTP_STALL_SECONDS \
	CAIRN_HTTP_BACKOFF_MS

# az_use: the account key in AZURE_STORAGE_KEY; skips the test when no
# server is configured.
az_use()
{
	[ -n "$AZ_ENDPOINT" ] || skip "no Azure server configured (CAIRN_TEST_AZURE_ENDPOINT; scripts/run-tests starts Azurite)"
	[ -n "$AZ_ACCOUNT" ] && [ -n "$AZ_KEY" ] || fail "CAIRN_TEST_AZURE_ACCOUNT or CAIRN_TEST_AZURE_KEY is empty"
	export AZURE_STORAGE_KEY=$AZ_KEY
}

# az_container [SUFFIX]: this file's container name (lower case, as Azure
# wants).
az_container()
{
	echo "cairn-e2e-$AZ_RUN-$E2E_NAME${1:+-$1}" | tr '[:upper:]_' '[:lower:]-'
}

# az_uri PREFIX [PARAMS] [ENDPOINT] [CONTAINER]: the repository URI of
# PREFIX in this file's container.
az_uri()
{
	local ep=${3:-$AZ_ENDPOINT} c=${4:-$(az_container)}
	echo "azure://$AZ_ACCOUNT/$c/$1?endpoint=$ep${2:+&$2}"
}

# az_sas account|CONTAINER PERMISSIONS HOURS [KEY]: a SAS token signed with
# KEY (default: the account key), valid from an hour ago for HOURS hours
# (negative: already expired).  "account" makes an account SAS for the
# blob service (all resource types), anything else a service SAS for that
# container.  Made with the python3 standard library from Azure's
# documented string-to-sign (version 2019-12-12), independently of cairn.
az_sas()
{
	python3 - "$AZ_ACCOUNT" "${4:-$AZ_KEY}" "$1" "$2" "$3" <<'EOF'
import base64, datetime, hashlib, hmac, sys, urllib.parse
account, key, what, perm, hours = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
now = datetime.datetime.now(datetime.timezone.utc)
fmt = "%Y-%m-%dT%H:%M:%SZ"
st = (now - datetime.timedelta(hours=1)).strftime(fmt)
se = (now + datetime.timedelta(hours=hours)).strftime(fmt)
sv = "2019-12-12"
if what == "account":
    sts = "\n".join([account, perm, "b", "sco", st, se, "", "https,http", sv]) + "\n"
    fields = [("sv", sv), ("ss", "b"), ("srt", "sco")]
else:
    sts = "\n".join([perm, st, se, "/blob/%s/%s" % (account, what), "", "", "https,http", sv, "c",
                     "", "", "", "", "", ""])
    fields = [("sv", sv), ("sr", "c")]
sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest()).decode()
fields += [("sp", perm), ("st", st), ("se", se), ("spr", "https,http"), ("sig", sig)]
print(urllib.parse.urlencode(fields))
EOF
}

# az_sig SAS: the signature of a token, decoded and encoded (what must
# never be shown), one per line.
az_sig()
{
	local s=${1##*sig=}
	s=${s%%&*}
	echo "$s"
	python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(sys.argv[1]))' "$s"
}

# no_secret FILE...: none of the files holds the account key or (when
# AZ_SAS is set) the SAS token's signature.
no_secret()
{
	local f s
	for f in "$@"; do
		[ -f "$f" ] || continue
		if grep -qF -- "$AZ_KEY" "$f"; then
			fail "$f shows the account key: $(grep -F -- "$AZ_KEY" "$f" | head -n1 | cut -c1-200)"
		fi
		[ -n "${AZ_SAS:-}" ] || continue
		while read -r s; do
			if grep -qF -- "$s" "$f"; then
				fail "$f shows the SAS token's signature: $(grep -F -- "$s" "$f" | head -n1 | cut -c1-200)"
			fi
		done < <(az_sig "$AZ_SAS")
		if grep -q 'sig=' "$f"; then
			fail "$f shows a SAS signature: $(grep 'sig=' "$f" | head -n1 | cut -c1-200)"
		fi
	done
}
