#!/bin/bash
# t7: repositories in S3 (Ceph RGW and OpenStack Swift's s3api, started by
# scripts/run-tests): init creates the bucket, backups and incrementals
# restore byte-identically, check --read-data passes, multipart packs, and
# bad credentials or a missing bucket give one clear line, never a secret.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"
. "$(dirname "$0")/storelib.sh"

IMG=$TD/img.ext4

t_image()
{
	st_image "$IMG" 7
}
test_case "setup: a 32 MiB ext4 image" t_image

# Each test below runs on both servers: its argument names the server.

t_init()
{
	s3_use "$1"
	st_init "$(s3_uri "$1" repo)"
}

t_roundtrip()
{
	s3_use "$1"
	st_roundtrip "$(s3_uri "$1" repo)" "$IMG" "$TD/$1.id1"
}

t_incremental()
{
	s3_use "$1"
	st_incremental "$(s3_uri "$1" repo)" "$TD/$1.id1" 11
}

t_multipart()
{
	s3_use "$1"
	st_large "$(s3_uri "$1" mp part_size=1M)"
}

t_wrong_secret()
{
	s3_use "$1"
	local r
	r=$(s3_uri "$1" repo)
	AWS_SECRET_ACCESS_KEY=not-the-secret-9Qx expect_fail -m 'secret key is wrong' cairn list --repo "$r"
	AWS_SECRET_ACCESS_KEY=not-the-secret-9Qx expect_fail -m 'secret key is wrong' cairn backup --repo "$r" "$IMG"
	grep -q 'not-the-secret-9Qx' .err .out && fail 'the wrong secret is shown'
	no_secret .log .out .err
}

t_unknown_key()
{
	s3_use "$1"
	local r want
	r=$(s3_uri "$1" repo)
	# Swift's tempauth cannot tell an unknown key from a wrong secret.
	want="does not know access key 'nosuchkey'"
	[ "$1" = swift ] && want="access key 'nosuchkey'"
	AWS_ACCESS_KEY_ID=nosuchkey expect_fail -m "$want" cairn list --repo "$r"
	AWS_ACCESS_KEY_ID=nosuchkey expect_fail -m 'nosuchkey' cairn init --repo "$(s3_uri "$1" other)"
	no_secret .log .out .err
}

t_missing_bucket()
{
	s3_use "$1"
	local r="s3://cairn-e2e-nobucket-$S3_RUN/x?endpoint=$S3_ENDPOINT&region=$S3_REGION"
	expect_fail -m 'bucket cairn-e2e-nobucket-[0-9]+ does not exist' cairn list --repo "$r"
	expect_fail -m 'does not exist' cairn backup --repo "$r" "$IMG"
	expect_fail -m 'does not exist' cairn restore --repo "$r" latest out.img
	[ ! -e out.img ] || fail 'a failed restore left a target'
	no_secret .log .out .err
}

test_case "rgw: init creates the bucket and the repository; a second init refuses" t_init rgw
test_case "rgw: backup, restore byte-identical, check --read-data" t_roundtrip rgw
test_case "rgw: incremental stores only the change; both backups restore byte-identical" t_incremental rgw
test_case "rgw: packs above the part size go up in parts and restore byte-identical" t_multipart rgw
test_case "rgw: a wrong secret key: one line naming it, never the secret" t_wrong_secret rgw
test_case "rgw: an unknown access key: one line naming it" t_unknown_key rgw
test_case "rgw: a missing bucket: one line naming it" t_missing_bucket rgw
test_case "swift: init creates the bucket and the repository; a second init refuses" t_init swift
test_case "swift: backup, restore byte-identical, check --read-data" t_roundtrip swift
test_case "swift: incremental stores only the change; both backups restore byte-identical" t_incremental swift
test_case "swift: packs above the part size go up in parts and restore byte-identical" t_multipart swift
test_case "swift: a wrong secret key: one line naming it, never the secret" t_wrong_secret swift
test_case "swift: an unknown access key: one line naming it" t_unknown_key swift
test_case "swift: a missing bucket: one line naming it" t_missing_bucket swift

t_no_credentials()
{
	s3_use rgw
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	expect_fail -m 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY' cairn list --repo "$(s3_uri rgw repo)"
	AWS_ACCESS_KEY_ID=x expect_fail -m 'AWS_SECRET_ACCESS_KEY is not' cairn list --repo "$(s3_uri rgw repo)"
}
test_case "no credentials at all: one line naming the variables" t_no_credentials

t_stored_credential()
{
	s3_use rgw
	local u ssl=()
	export CAIRN_STATE_DIR=$TT/state
	[[ $S3_ENDPOINT == http://* ]] && ssl=(--s3-disable-ssl)
	u=$(CAIRN_S3_SECRET_KEY=$S3_SECRET cairn cred create --provider s3 --s3-access-key "$AWS_ACCESS_KEY_ID" \
		--s3-region "$S3_REGION" --s3-endpoint "$S3_ENDPOINT" "${ssl[@]}")
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	st_stored_credential "$u" "s3://cairn-e2e-$S3_RUN-$E2E_NAME-cred/repo" "$S3_ENDPOINT" "$IMG" http://127.0.0.1:9
}
test_case "rgw: a stored credential made for the server (--s3-endpoint): backup, restore; another endpoint refused" t_stored_credential

t_bad_uris()
{
	s3_use rgw
	expect_fail -c 1 -m "unknown parameter 'secret'" cairn list --repo "s3://b/p?secret=TOPSECRET"
	grep -q TOPSECRET .err && fail 'a value of an unknown parameter is shown'
	expect_fail -m 'no bucket' cairn list --repo "s3:///p"
	expect_fail -m 'style must be' cairn list --repo "s3://b/p?style=sideways&endpoint=$S3_ENDPOINT"
	expect_fail -m 'part_size' cairn list --repo "s3://b/p?part_size=10&endpoint=$S3_ENDPOINT"
	# A server that is not there: the connection error, after bounded retries.
	CAIRN_HTTP_MAX_ATTEMPTS=2 CAIRN_HTTP_BACKOFF_MS=10 expect_fail -m 'connect' \
		cairn list --repo "s3://b/p?endpoint=http://127.0.0.1:9"
	# https is verified, and plain http must be asked for.
	CAIRN_HTTP_MAX_ATTEMPTS=1 expect_fail cairn list --repo "s3://b/p?endpoint=https://127.0.0.1:9"
	# A plain-http server behind https://: said so, and not retried.
	[[ $S3_ENDPOINT == http://* ]] || return 0
	expect_fail -m 'does not speak TLS' cairn list --repo "s3://b/p?endpoint=${S3_ENDPOINT/#http:/https:}"
	! grep -q 'gave up after' .err || fail 'a server that does not speak TLS was asked again'
}
test_case "bad S3 URIs and unreachable endpoints: one clear line" t_bad_uris

test_done
