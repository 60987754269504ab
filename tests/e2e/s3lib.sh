# shellcheck shell=bash
# Helpers for the S3 end-to-end tests (sourced after lib.sh).  The servers
# come from the environment scripts/run-tests sets (see
# tests/unit/test_store_s3.c for the variables): CAIRN_TEST_S3_SERVERS
# names them, CAIRN_TEST_<NAME>_{ENDPOINT,ACCESS_KEY,SECRET_KEY,REGION}
# describe each.  Without servers every test is skipped.

S3_SERVERS=${CAIRN_TEST_S3_SERVERS:-}
S3_RUN=$$
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION \
	GOOGLE_HMAC_ACCESS_KEY GOOGLE_HMAC_SECRET CAIRN_HTTP_STATS CAIRN_HTTP_MAX_ATTEMPTS \
	CAIRN_HTTP_RETRY_SECONDS CAIRN_HTTP_STALL_SECONDS CAIRN_HTTP_BACKOFF_MS

# s3_var NAME WHAT: CAIRN_TEST_<NAME>_<WHAT>
s3_var()
{
	local v
	v=CAIRN_TEST_$(echo "$1_$2" | tr '[:lower:]' '[:upper:]')
	echo "${!v:-}"
}

# s3_use NAME: S3_ENDPOINT, S3_REGION, S3_SECRET and the AWS_* keys of a
# server; skips the test when the server is not configured.
s3_use()
{
	[ -n "$S3_SERVERS" ] || skip "no S3 server configured (CAIRN_TEST_S3_SERVERS; scripts/run-tests starts them)"
	case " $S3_SERVERS " in *" $1 "*) ;; *) skip "S3 server $1 not configured" ;; esac
	S3_ENDPOINT=$(s3_var "$1" ENDPOINT)
	S3_REGION=$(s3_var "$1" REGION)
	S3_REGION=${S3_REGION:-us-east-1}
	S3_SECRET=$(s3_var "$1" SECRET_KEY)
	export AWS_ACCESS_KEY_ID
	AWS_ACCESS_KEY_ID=$(s3_var "$1" ACCESS_KEY)
	export AWS_SECRET_ACCESS_KEY=$S3_SECRET
	[ -n "$S3_ENDPOINT" ] && [ -n "$AWS_ACCESS_KEY_ID" ] && [ -n "$S3_SECRET" ] ||
		fail "CAIRN_TEST_${1^^}_ENDPOINT, _ACCESS_KEY or _SECRET_KEY is empty"
}

# s3_uri NAME PREFIX [PARAMS] [ENDPOINT]: the repository URI of PREFIX in
# this file's bucket on server NAME.
s3_uri()
{
	local ep=${4:-$S3_ENDPOINT}
	echo "s3://cairn-e2e-$S3_RUN-$E2E_NAME-$1/$2?endpoint=$ep&region=$S3_REGION${3:+&$3}"
}

# no_secret FILE...: none of the files holds the server's secret key.
no_secret()
{
	local f
	for f in "$@"; do
		[ -f "$f" ] || continue
		if grep -qF -- "$S3_SECRET" "$f"; then
			fail "$f shows the secret key: $(grep -F -- "$S3_SECRET" "$f" | head -n1)"
		fi
	done
}
