#!/bin/bash
# t8: S3 through a fault-injecting proxy (tests/e2e/faultproxy.py) in front
# of Ceph RGW: 500s, 503 SlowDowns, 429s, connection resets (before a
# reply, mid-upload and mid-reply) and stalls are retried and the backup
# restores byte-identically; an outage that outlasts the retries fails the
# backup with one clear line, and the re-run completes it, reusing the
# packs already uploaded.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"
. "$(dirname "$0")/storelib.sh"

# Short timeouts and backoffs keep the faults cheap; the bounds still hold.
export CAIRN_HTTP_BACKOFF_MS=20 CAIRN_HTTP_STALL_SECONDS=2

t_setup()
{
	s3_use rgw
	rand_file "$TD/img" $((40 << 20)) 77
	# Every shell of this file reaches the proxy through the URL file.
	proxy_check
}
# In front of rgw, started by this shell (storelib.sh says why).
if [ -n "$S3_SERVERS" ]; then
	S3_ENDPOINT=$(s3_var rgw ENDPOINT)
	proxy_start "${S3_ENDPOINT#http://}" || true
fi
test_case "setup: the fault proxy and a 40 MiB image" t_setup

puri()
{
	s3_uri rgw "$1" "${2:-}" "$(cat "$TD/proxy.url")"
}

t_transient()
{
	s3_use rgw
	local r
	r=$(puri flaky part_size=1M)
	cairn init --repo "$r" -q --pack-size 4M
	plan every=7:503 every=11:reset every=13:slowdown every=17:500 every=19:reset-upload every=23:429
	CAIRN_HTTP_STATS=$TT/stats cairn backup --repo "$r" "$TD/img" -q >id
	cat "$PLOG" | awk '{print $NF}' | sort | uniq -c >&2
	[ "$(faults_seen 503)" -gt 0 ] && [ "$(faults_seen reset)" -gt 0 ] && [ "$(faults_seen slowdown)" -gt 0 ] ||
		fail "the proxy injected too few faults"
	[ "$(jq -s 'map(.retries) | add' "$TT/stats")" -gt 0 ] || fail "the http stats show no retries"
	st_restore_faults "$r" "$TD/img" id
}
test_case "500/503/SlowDown/429 and resets are retried: backup and restore byte-identical" t_transient

t_stall()
{
	s3_use rgw
	st_stall "$(puri stall)" "$TD/img"
}
test_case "stalled requests are abandoned after the stall timeout and retried" t_stall

t_outage()
{
	s3_use rgw
	st_outage "$(puri outage)" "$TD/img"
}
test_case "an outage past the retry bound: one clear line; the re-run reuses what was uploaded" t_outage

# A server that accepts the request and then sends nothing: cairn says so
# in its words, naming the server and the knob, and no secret.
t_stall_message()
{
	s3_use rgw
	local server
	server=127.0.0.1:$(cat "$TD/proxy.port")
	: >"$PLOG"
	plan stall
	CAIRN_HTTP_MAX_ATTEMPTS=2 expect_fail -m "^cairn: (GET|HEAD) http://$server/.*: the server $server stopped answering \(nothing for 2 s, the limit CAIRN_HTTP_STALL_SECONDS sets\); cairn waited [0-9.]+ s in all, over 2 attempts\$" \
		cairn list --repo "$(puri stallmsg)"
	plan
	[ "$(faults_seen stall)" -eq 2 ] || fail "$(faults_seen stall) requests stalled, expected 2"
	grep -qi 'too slow' .err && fail "libcurl's words leak through: $(cat .err)"
	grep -Eqi 'authorization|signature|credential|x-amz' .err && fail "the message shows signing material: $(cat .err)"
	no_secret .err .out .log
}
test_case "a server that stops answering: one line naming it, the time waited and CAIRN_HTTP_STALL_SECONDS" t_stall_message

# s3_put KEY FILE: FILE as object KEY of this file's bucket, straight to RGW.
s3_put()
{
	curl -sSf --aws-sigv4 aws:amz:us-east-1:s3 --user "$AWS_ACCESS_KEY_ID:$S3_SECRET" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -T "$2" \
		"$S3_ENDPOINT/cairn-e2e-$S3_RUN-$E2E_NAME-rgw/$1" >/dev/null
}

# Objects of 1 GiB (the proxy makes small ones look so, in listings and
# reads): each is measured before it is read, and nothing grows to its size.
t_huge_objects()
{
	s3_use rgw
	local r id m i g h l k o
	r=$(puri huge)
	plan
	cairn init --repo "$r" -q
	rand_file small.img $((1 << 20)) 31
	cairn backup --repo "$r" -q small.img >id
	id=$(cat id)
	m=backups/$(rand_hex 16) i=index/$(rand_hex 32) g=groups/$(rand_hex 16) h=holds/$id l=lease/$(rand_hex 16) \
		k=running/$(rand_hex 16)
	echo x >x
	for o in $m $i $g $h $l $k; do s3_put "huge/$o" x; done
	# The config: one ranged get of its cap + 1 bytes.
	plan huge=huge/config
	expect_fail -m 'config is larger than the cap of 65536 bytes' measured list --repo "$r"
	bounded 65537
	# The rest are known from their listing and never read.
	plan huge=huge/$m huge=huge/$i huge=huge/$g huge=huge/$h huge=huge/$l huge=huge/$k
	: >"$PLOG"
	check_too_large "$r" $m $i $g $h $l $k
	measured list --repo "$r" >list.out 2>list.err && fail "list exited 0 with a damaged manifest"
	bounded $((1 << 20))
	grep -q "$m is 1073741824 bytes, over the cap" list.err || fail "list: $(cat list.err)"
	measured restore --repo "$r" "$id" r.img 2>r.err
	bounded $((4 << 20))
	same_file small.img r.img
	[ "$(grep -c -- '-> huge$' "$PLOG")" -eq 0 ] || fail "a huge object was read: $(grep -- '-> huge$' "$PLOG" | head -n1)"
	# A server that ignores the range and sends 1 GiB: refused at the cap.
	plan match=huge/config:ignore-range
	CAIRN_HTTP_STATS=$TT/stats expect_fail -m 'the server sent more than the 65537 bytes asked for' measured list --repo "$r"
	bounded 0
	[ "$(jq -s 'map(.bytes_received) | add' "$TT/stats")" -lt $((1 << 20)) ] ||
		fail "cairn received $(jq -s 'map(.bytes_received) | add' "$TT/stats") bytes of the 1 GiB reply"
	plan
	no_secret .log .err check.out list.err
}
test_case "1 GiB objects of every kind on S3: named as too large, never read whole, under 100 MiB" t_huge_objects

# uploads_in_progress PREFIX: multipart uploads RGW still holds below PREFIX
# (its '/' encoded: SigV4 signs the query encoded, curl sends it as given).
uploads_in_progress()
{
	curl -sS --aws-sigv4 aws:amz:us-east-1:s3 --user "$AWS_ACCESS_KEY_ID:$S3_SECRET" \
		-H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
		"$S3_ENDPOINT/cairn-e2e-$S3_RUN-$E2E_NAME-rgw?prefix=${1//\//%2F}&uploads=" | grep -o '<UploadId>' | wc -l
}

t_multipart_abort()
{
	s3_use rgw
	local r
	r=$(puri mpabort part_size=1M)
	cairn init --repo "$r" -q --pack-size 4M
	: >"$PLOG"
	# Every third part of every pack fails for good: each multipart
	# upload is aborted, and the backup fails with the part's error.
	plan match=partNumber=3:500
	CAIRN_HTTP_MAX_ATTEMPTS=2 expect_fail -m 'upload of part 3 of object packs/.*server error 500' \
		cairn backup --repo "$r" "$TD/img"
	grep -q 'DELETE .*uploadId=' "$PLOG" || fail "no multipart upload was aborted"
	[ "$(uploads_in_progress mpabort/)" -eq 0 ] || fail "multipart uploads were left behind"
	plan
	cairn backup --repo "$r" "$TD/img" -q >id
	cairn restore --repo "$r" "$(cat id)" out.img
	same_file "$TD/img" out.img
	[ "$(uploads_in_progress mpabort/)" -eq 0 ] || fail "multipart uploads were left behind"
}
test_case "a failing multipart part aborts the upload; nothing is left behind" t_multipart_abort

t_refused()
{
	s3_use rgw
	CAIRN_HTTP_MAX_ATTEMPTS=3 expect_fail -m 'Failed to connect.*after 3 attempts' \
		cairn list --repo "s3://b/p?endpoint=http://127.0.0.1:9"
}
test_case "a refused connection is retried a bounded number of times" t_refused

proxy_stop
t_interrupt_limited()
{
	s3_use rgw
	local r pid rc=0 i
	r=$(s3_uri rgw slowlimit)
	cairn init --repo "$r" -q --pack-size 4M
	# At 64 KiB/s a 4 MiB pack takes a minute: the interrupt must not wait
	# for it.
	"$CAIRN" backup --repo "$r" "$TD/img" --limit-upload 64K -q >id 2>b.err &
	pid=$!
	sleep 2
	kill -TERM $pid
	for i in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	if kill -0 $pid 2>/dev/null; then
		kill -9 $pid
		fail "the throttled backup was still running 10 s after SIGTERM"
	fi
	wait $pid || rc=$?
	[ $rc -ne 0 ] || fail "the interrupted backup exited 0"
	[ "$(wc -l <b.err)" -eq 1 ] && grep -q 'interrupted' b.err || fail "stderr is not one 'interrupted' line: $(cat b.err)"
	[ "$(backup_count "$r")" -eq 0 ] || fail "the interrupted backup was listed"
	cairn backup --repo "$r" "$TD/img" -q >id
	cairn restore --repo "$r" "$(cat id)" out.img
	same_file "$TD/img" out.img
}
test_case "SIGTERM under a slow --limit-upload ends the backup at once with one line; a re-run completes" t_interrupt_limited

t_prune_stale_uploads()
{
	s3_use rgw
	local r pid i
	r=$(s3_uri rgw stale part_size=1M)
	cairn init --repo "$r" -q --pack-size 8M
	# A backup killed in the middle of a multipart upload (slowed down
	# so that it is caught there).
	"$CAIRN" backup --repo "$r" "$TD/img" --limit-upload 2M -q >/dev/null 2>b.err &
	pid=$!
	for i in $(seq 1 100); do [ "$(uploads_in_progress stale/packs/)" -gt 0 ] && break; sleep 0.1; done
	kill9_running $pid "the backup uploading"
	[ "$(uploads_in_progress stale/packs/)" -gt 0 ] || fail "no multipart upload was caught in progress"
	# A young upload may be a running backup's: kept.
	cairn prune --repo "$r" --json >p1.json
	jq -e '.leftovers_removed == 0' p1.json >/dev/null || fail "a young upload was aborted: $(cat p1.json)"
	[ "$(uploads_in_progress stale/packs/)" -gt 0 ] || fail "a young upload was aborted"
	# Two days later it is a leftover.
	CAIRN_TEST_NOW=$(($(date +%s) + 2 * 86400)) cairn prune --repo "$r" --json >p2.json
	jq -e '.leftovers_removed >= 1' p2.json >/dev/null || fail "prune removed nothing: $(cat p2.json)"
	[ "$(uploads_in_progress stale/packs/)" -eq 0 ] || fail "$(uploads_in_progress stale/packs/) multipart upload(s) left"
	cairn backup --repo "$r" "$TD/img" -q >id
	cairn restore --repo "$r" "$(cat id)" out.img
	same_file "$TD/img" out.img
}
test_case "prune aborts multipart uploads a killed backup left, once older than the safety window" t_prune_stale_uploads

test_done
