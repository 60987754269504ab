#!/bin/bash
# t29: immutable copies on Ceph RGW (S3 Object Lock; started by
# scripts/run-tests, skipped without it): init --object-lock makes a
# bucket with Object Lock and refuses one without; every object of a
# locked kind carries its retention (multipart packs too), the others
# none; forget of a locked backup is refused with its date, retention
# rules keep it; prune keeps a locked pack and says until when; the S3
# API refuses to delete a locked version; a short test retention runs out
# and then forget and prune free it; append-only credentials (a denied
# delete: the fault wrapper, and a real RGW user under a bucket policy
# when the server offers one) back up but may not forget or prune.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"

IMG=$TD/img
LOCK_BUCKET=cairn-e2e-$S3_RUN-t29-lock

t_image()
{
	head -c $((3 << 20)) /dev/urandom >"$IMG"
	head -c $((2 << 20)) /dev/urandom >"$TD/img2"
}
test_case "setup: two random images (3 and 2 MiB)" t_image

# lock_uri PREFIX: a repository in this file's Object Lock bucket; parts
# of 1 MiB so that packs go up in multipart uploads.
lock_uri()
{
	echo "s3://$LOCK_BUCKET/$1?endpoint=$S3_ENDPOINT&region=$S3_REGION&part_size=1M"
}

# s3req METHOD BUCKET/KEY[?QUERY] [curl args]: one signed request to RGW
# as the main user; the reply body on stdout.
s3req()
{
	local m=$1 p=$2
	shift 2
	curl -sS -X "$m" --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$S3_SECRET" \
		-H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
		"$@" "$S3_ENDPOINT/$p"
}

# head_hdr KEY HEADER: the header's value in a HEAD of the object KEY of
# the lock bucket ("" when absent).
head_hdr()
{
	s3req HEAD "$LOCK_BUCKET/$1" -I | tr -d '\r' | awk -v h="$(echo "$2" | tr '[:upper:]' '[:lower:]')" \
		'{k=tolower($1); sub(/:$/, "", k)} k==h {print $2}'
}

# keys PREFIX: the keys of the lock bucket under PREFIX.
keys()
{
	s3req GET "$LOCK_BUCKET?list-type=2&prefix=${1//\//%2F}" | grep -o '<Key>[^<]*' | sed 's/<Key>//'
}

t_init()
{
	s3_use rgw
	cairn init --repo "$(lock_uri main)" --object-lock 2 >init.out 2>&1
	grep -q 'locked (compliance) for 2 days' init.out || fail "init did not say the lock: $(cat init.out)"
	s3req GET "$LOCK_BUCKET?object-lock=" | grep -q '<ObjectLockEnabled>Enabled</ObjectLockEnabled>' ||
		fail 'init made the bucket without Object Lock'
	# A bucket that exists without Object Lock cannot get it: refused.
	cairn init --repo "$(s3_uri rgw plain)" -q
	expect_fail -m 'exists without Object Lock' cairn init --repo "$(s3_uri rgw other)" --object-lock 1
	# Stores without per-object retention: refused before anything is made.
	expect_fail -m 'object lock needs an S3 repository' cairn init --repo "$TT/local" --object-lock 1
	[ ! -e "$TT/local" ] || fail 'a refused init made the directory'
	AZURE_STORAGE_ACCOUNT=devstoreaccount1 AZURE_STORAGE_KEY=Zm9v expect_fail -m 'azure stores cannot retain' \
		cairn init --repo "azure://devstoreaccount1/c29?endpoint=http://127.0.0.1:9" --object-lock 1
	expect_fail -c 2 -m 'invalid --object-lock' cairn init --repo "$(lock_uri bad)" --object-lock 0
	expect_fail -c 2 -m 'compliance or governance' cairn init --repo "$(lock_uri bad)" --object-lock 1 \
		--object-lock-mode forever
	expect_fail -c 2 -m 'needs --object-lock' cairn init --repo "$(lock_uri bad)" --object-lock-mode governance
}
test_case "rgw: init --object-lock makes the bucket with Object Lock; unlocked buckets, local and Azure refused" t_init

t_retention()
{
	s3_use rgw
	local r id k until pack now
	r=$(lock_uri main)
	cairn backup --repo "$r" "$IMG" --name vol --json >b1.json
	id=$(jget b1.json .id)
	echo "$id" >"$TD/id1"
	now=$(date +%s)
	for k in config "backups/$id" "$(keys main/packs/ | head -n1 | sed 's|^main/||')"; do
		[ "$(head_hdr "main/$k" x-amz-object-lock-mode)" = COMPLIANCE ] || fail "$k is not locked"
		until=$(date -d "$(head_hdr "main/$k" x-amz-object-lock-retain-until-date)" +%s)
		[ $((until - now)) -gt $((2 * 86400 - 120)) ] && [ $((until - now)) -le $((2 * 86400 + 5)) ] ||
			fail "$k is retained until $until, not 2 days from $now"
	done
	# The pack (3 MiB, parts of 1 MiB) went up in a multipart upload.
	pack=$(keys main/packs/ | head -n1)
	[ "$(s3req HEAD "$LOCK_BUCKET/$pack" -I | tr -d '\r' | awk 'tolower($1)=="etag:" {print $2}' | grep -c -- '-')" -eq 1 ] ||
		fail "$pack is not a multipart object"
	# Index objects and holds are their owners' to replace: not locked.
	k=$(keys main/index/ | head -n1)
	[ -z "$(head_hdr "$k" x-amz-object-lock-mode)" ] || fail "$k (an index object) is locked"
	cairn hold --repo "$r" "$id" --reason test -q
	[ -z "$(head_hdr "main/holds/$id" x-amz-object-lock-mode)" ] || fail 'a hold is locked'
	cairn release --repo "$r" "$id" -q
	[ -z "$(keys "main/holds/")" ] || fail 'release left the hold'
	# The backup's activity marker went, and left no version behind.
	s3req GET "$LOCK_BUCKET?prefix=main%2Frunning&versions=" | grep -q '<Key>' && fail 'a marker version is left'
	cairn restore --repo "$r" "$id" out.img
	same_file "$IMG" out.img
}
test_case "rgw: objects of a locked repository carry COMPLIANCE retention (multipart too); index and holds do not" t_retention

t_forget_refused()
{
	s3_use rgw
	local r id
	r=$(lock_uri main)
	id=$(cat "$TD/id1")
	expect_fail -m "backup $id is under object lock until 20[0-9-]+T[0-9:]+Z: it can be forgotten then" \
		cairn forget --repo "$r" "$id"
	# Retention rules keep it, saying why.
	cairn backup --repo "$r" "$TD/img2" --name vol -q
	cairn forget --repo "$r" --volume vol --keep-last 1 --json >f.json
	[ "$(jq -r --arg id "$id" '.backups[] | select(.id==$id) | .action' f.json)" = keep ] ||
		fail 'the rules forgot a locked backup'
	jq -r --arg id "$id" '.backups[] | select(.id==$id) | .note' f.json | grep -q 'under object lock until' ||
		fail 'no note says why the locked backup is kept'
	[ "$(backup_count "$r")" -eq 2 ] || fail 'a backup is gone'
	# A key is locked too: removing it is refused.
	k=$(CAIRN_NEW_PASSPHRASE=second cairn key add --repo "$r")
	[ -n "$k" ] || fail 'key add printed no id'
	expect_fail -m 'under object lock until' cairn key remove --repo "$r" "$k"
}
test_case "rgw: forget of a locked backup refused with its date; the rules keep it; a locked key stays" t_forget_refused

t_s3_delete()
{
	s3_use rgw
	local id v
	id=$(cat "$TD/id1")
	v=$(head_hdr "main/backups/$id" x-amz-version-id)
	[ -n "$v" ] || fail 'no version id'
	s3req DELETE "$LOCK_BUCKET/main/backups/$id?versionId=$v" >del.xml || true
	grep -q AccessDenied del.xml || fail "the S3 API deleted a locked version: $(cat del.xml)"
	cairn restore --repo "$(lock_uri main)" "$id" out.img
	same_file "$IMG" out.img
}
test_case "rgw: the S3 API refuses to delete a locked version; the backup still restores" t_s3_delete

t_prune_keeps()
{
	s3_use rgw
	local r
	r=$(lock_uri main)
	# A backup that dies after its pack: the pack is an orphan, locked.
	head -c $((2 << 20)) /dev/urandom >new.img
	CAIRN_TEST_FAULT=ops=put,at=3 expect_fail -m 'injected fault' cairn backup --repo "$r" new.img
	cairn prune --repo "$r" --json >p.json
	[ "$(jget p.json .packs_locked)" -ge 1 ] || fail "prune kept no pack by lock: $(cat p.json)"
	[ "$(jget p.json .packs_deleted)" -eq 0 ] || fail 'prune deleted a pack'
	cairn prune --repo "$r" >p.out 2>&1
	grep -Eq '[0-9]+ pack\(s\) \([^)]*\) kept until 20[0-9-]+T[0-9:]+Z: object lock' p.out ||
		fail "prune did not say the lock: $(cat p.out)"
	cairn check --repo "$r"
}
test_case "rgw: prune keeps a locked pack and says until when" t_prune_keeps

t_expiry()
{
	s3_use rgw
	local r id n0 n1 until
	r=$(lock_uri short)
	cairn init --repo "$r" --object-lock 1 -q
	# A retention of 2 s (the test knob): it runs out during the test.
	CAIRN_TEST_OBJECT_LOCK_SECONDS=2 cairn backup --repo "$r" "$IMG" --json >b.json
	id=$(jget b.json .id)
	until=$(date -d "$(head_hdr "short/backups/$id" x-amz-object-lock-retain-until-date)" +%s)
	[ "$until" -gt 0 ] || fail 'the manifest has no retention'
	while [ "$(date +%s)" -le "$until" ]; do sleep 0.2; done
	cairn forget --repo "$r" "$id" -q
	n0=$(keys short/packs/ | wc -l)
	cairn prune --repo "$r" --safety-window 0 --json >p.json
	[ "$(jget p.json .packs_deleted)" -eq "$n0" ] || fail "prune deleted $(jget p.json .packs_deleted) of $n0 packs"
	n1=$(s3req GET "$LOCK_BUCKET?prefix=short%2Fpacks&versions=" | grep -c '<Version>' || true)
	[ "$n1" -eq 0 ] || fail "$n1 pack version(s) left behind after prune"
}
test_case "rgw: a retention that ran out: forget and prune free the backup, no versions left" t_expiry

t_copy_locked()
{
	s3_use rgw
	local src d k
	src=$(s3_uri rgw src)
	d=$(lock_uri copy)
	export CAIRN_FROM_PASSPHRASE=$CAIRN_PASSPHRASE CAIRN_TO_PASSPHRASE=$CAIRN_PASSPHRASE
	# The immutable off-site copy of an unlocked repository: a key family
	# of it, locked; packs of 1 MiB go whole, by server-side copy (same
	# endpoint and key).
	cairn init --repo "$src" --pack-size 1M -q
	cairn backup --repo "$src" "$IMG" --name vol --json >b.json
	cairn init --repo "$d" --copy-keys-from "$src" --object-lock 3 -q
	cairn copy --repo "$src" --all --to "$d" --json >c.json
	[ "$(jget c.json .packs_server_side)" -ge 1 ] || fail "no pack went by server-side copy: $(cat c.json)"
	for k in $(keys copy/packs/) $(keys copy/backups/); do
		[ "$(head_hdr "$k" x-amz-object-lock-mode)" = COMPLIANCE ] || fail "$k (copied) is not locked"
	done
	k=$(keys copy/index/ | head -n1)
	[ -z "$(head_hdr "$k" x-amz-object-lock-mode)" ] || fail "$k (an index object) is locked"
	expect_fail -m 'under object lock until' cairn forget --repo "$d" "$(jget b.json .id)"
	cairn restore --repo "$d" "$(jget b.json .id)" out.img
	same_file "$IMG" out.img
}
test_case "rgw: a copy into a locked repository (whole packs by server-side copy) is locked too" t_copy_locked

t_append_only_fault()
{
	s3_use rgw
	local r id
	r=$(s3_uri rgw ao)
	cairn init --repo "$r" -q
	cairn backup --repo "$r" "$TD/img2" --name ao -q >id0
	export CAIRN_TEST_FAULT=ops=del,at=1,persistent=1,code=EPERM
	cairn backup --repo "$r" "$TD/img2" --name ao -q >id
	expect_fail -m 'may not delete objects \(append-only\): prune needs' cairn prune --repo "$r"
	expect_fail -m 'may not delete objects \(append-only\): forget needs' cairn forget --repo "$r" "$(cat id0)"
	expect_fail -m 'may not delete objects \(append-only\): forget needs' cairn forget --repo "$r" --volume ao \
		--keep-last 1
	unset CAIRN_TEST_FAULT
	[ "$(backup_count "$r")" -eq 2 ] || fail 'a refused forget deleted a backup'
	# The marker the backup could not delete: prune with a full
	# credential removes it (its process is gone).
	[ "$(s3req GET "cairn-e2e-$S3_RUN-$E2E_NAME-rgw?list-type=2&prefix=ao%2Frunning" | grep -c '<Key>')" -eq 1 ] ||
		fail 'the append-only backup left no marker'
	cairn prune --repo "$r" -q
	[ "$(s3req GET "cairn-e2e-$S3_RUN-$E2E_NAME-rgw?list-type=2&prefix=ao%2Frunning" | grep -c '<Key>')" -eq 0 ] ||
		fail 'prune left the stale marker'
}
test_case "rgw: append-only (a denied delete, fault wrapper): backup works, forget and prune refuse; the stale marker goes later" t_append_only_fault

t_append_only_rgw()
{
	s3_use rgw
	local ak sk r b
	ak=$(s3_var rgw APPEND_ACCESS_KEY)
	sk=$(s3_var rgw APPEND_SECRET_KEY)
	[ -n "$ak" ] || skip 'the server has no second user (CAIRN_TEST_RGW_APPEND_ACCESS_KEY)'
	b=cairn-e2e-$S3_RUN-$E2E_NAME-rgw
	r=$(s3_uri rgw ao)
	# The second user may read and write the bucket, not delete.  The
	# owner is named too: RGW objects belong to their writer, and the
	# policy is what lets the owner's full credential at them.
	cat >pol.json <<EOF
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/$(s3_var rgw APPEND_USER)"]},
"Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],
"Resource":["arn:aws:s3:::$b","arn:aws:s3:::$b/*"]},
{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/$(s3_var rgw USER)"]},"Action":["s3:*"],
"Resource":["arn:aws:s3:::$b","arn:aws:s3:::$b/*"]}]}
EOF
	curl -sSf -X PUT --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$S3_SECRET" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -T pol.json "$S3_ENDPOINT/$b?policy="
	export AWS_ACCESS_KEY_ID=$ak AWS_SECRET_ACCESS_KEY=$sk
	cairn backup --repo "$r" "$IMG" --name ao2 --json >b.json
	expect_fail -m 'may not delete objects \(append-only\): prune needs' cairn prune --repo "$r"
	expect_fail -m 'may not delete objects \(append-only\): forget needs' cairn forget --repo "$r" \
		"$(jget b.json .id)"
	cairn restore --repo "$r" "$(jget b.json .id)" out.img
	same_file "$IMG" out.img
	# The owner's full credential prunes, and the marker the append-only
	# backup could not delete goes.
	AWS_ACCESS_KEY_ID=$(s3_var rgw ACCESS_KEY)
	export AWS_SECRET_ACCESS_KEY=$S3_SECRET
	[ "$(s3req GET "$b?list-type=2&prefix=ao%2Frunning" | grep -c '<Key>')" -eq 1 ] ||
		fail 'the append-only backup left no marker'
	cairn prune --repo "$r" -q
	cairn check --repo "$r"
	[ "$(s3req GET "$b?list-type=2&prefix=ao%2Frunning" | grep -c '<Key>')" -eq 0 ] || fail 'prune left the marker'
}
test_case "rgw: append-only user under a bucket policy: backup and restore work, forget and prune refuse; the owner prunes the marker" t_append_only_rgw

test_done
