#!/bin/bash
# t30: copies between object stores (Ceph RGW and Azurite, started by
# scripts/run-tests): a local repository to RGW in its key family, RGW to
# RGW in another bucket (same family), RGW to Azurite (unrelated keys) and
# back; every copied backup restores byte-identical at the destination, the
# bytes that crossed the host are counted, a copy with nothing new sends
# nothing, and a wrong passphrase or a missing bucket give one clear line.
# Skipped without servers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"
. "$(dirname "$0")/azlib.sh"

A=$TD/a
IMG=$TD/vol.img
export CAIRN_TO_PASSPHRASE=$CAIRN_PASSPHRASE
export CAIRN_FROM_PASSPHRASE=$CAIRN_PASSPHRASE

# same_everywhere SRC DST: every backup of DST restores byte-identical to
# the same backup of SRC.
same_everywhere()
{
	local id n=0
	for id in $(cairn list --repo "$2" --json | jq -r '.[].id'); do
		cairn restore --repo "$2" "$id" "$TT/d.img" --force -q
		cairn restore --repo "$1" "$id" "$TT/s.img" --force -q
		same_file "$TT/s.img" "$TT/d.img"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || fail "$2 holds no backup"
	echo "  $n backup(s) restore byte-identical" >&2
}

t_setup()
{
	rand_file "$IMG" $((8 << 20)) 3001
	truncate -s 16M "$IMG"
	new_repo "$A" --chunk-size 16K --pack-size 1M
	cairn backup --repo "$A" "$IMG" --name vol --snapshot none -q >/dev/null
	scatter_write "$IMG" 3002 4 16384 >/dev/null
	cairn backup --repo "$A" "$IMG" --name vol --snapshot none -q >/dev/null
	touch "$TD/ready"
}
test_case "setup: a local repository with two backups of a 16 MiB image" t_setup

t_local_to_rgw()
{
	s3_use rgw
	[ -f "$TD/ready" ] || skip "setup did not complete"
	local R1
	R1=$(s3_uri rgw one)
	cairn init --repo "$R1" --copy-keys-from "$A" -q
	cairn copy --repo "$A" --all --to "$R1" --json >c.json
	[ "$(jget c.json .backups_copied)" = 2 ] || fail "copied $(jget c.json .backups_copied) backups"
	local host sent
	host=$(jq -r .bytes_through_host c.json) sent=$(jget c.json .bytes_sent)
	echo "  local -> RGW: $sent bytes sent, $host through the host" >&2
	[ "$host" != null ] && [ "$host" -ge "$sent" ] || fail "bytes through the host: $host for $sent sent"
	same_everywhere "$A" "$R1"
	cairn copy --repo "$A" --all --to "$R1" --json >c0.json
	[ "$(jget c0.json .blobs_sent)" = 0 ] || fail "a copy with nothing new sent $(jget c0.json .blobs_sent) blobs"
}
test_case "local -> RGW in a key family; nothing new sends nothing" t_local_to_rgw

t_rgw_to_rgw()
{
	s3_use rgw
	[ -f "$TD/ready" ] || skip "setup did not complete"
	local R1 R2
	R1=$(s3_uri rgw one) R2=$(s3_uri rgw two)
	cairn init --repo "$R2" --copy-keys-from "$R1" -q
	cairn copy --repo "$R1" --all --to "$R2" --json >c.json
	echo "  RGW -> RGW: $(jq -c '{bytes_sent, packs_whole, packs_server_side, bytes_through_host, seconds}' c.json)" >&2
	[ "$(jget c.json .same_key_family)" = true ] || fail "not one family"
	same_everywhere "$R1" "$R2"
	cairn check --repo "$R2" --read-data
}
test_case "RGW -> RGW in another bucket, same key family" t_rgw_to_rgw

t_rgw_azure_and_back()
{
	s3_use rgw
	az_use
	[ -f "$TD/ready" ] || skip "setup did not complete"
	local R1 Z R3
	R1=$(s3_uri rgw one) Z=$(az_uri zrepo) R3=$(s3_uri rgw three)
	new_repo "$Z" --chunk-size 16K
	cairn copy --repo "$R1" --all --to "$Z" --json >c.json
	[ "$(jq -r .same_key_family c.json)" = false ] || fail "RGW and Azure repositories seen as one family"
	same_everywhere "$R1" "$Z"
	cairn init --repo "$R3" --copy-keys-from "$Z" -q
	cairn copy --repo "$Z" --all --to "$R3" --json >b.json
	[ "$(jget b.json .backups_copied)" = 2 ] || fail "copied back $(jget b.json .backups_copied) backups"
	same_everywhere "$A" "$R3"
}
test_case "RGW -> Azurite (unrelated keys) and back" t_rgw_azure_and_back

t_bad()
{
	s3_use rgw
	[ -f "$TD/ready" ] || skip "setup did not complete"
	expect_fail -m "wrong passphrase" env CAIRN_TO_PASSPHRASE=nope "$CAIRN" copy --repo "$A" --all --to "$(s3_uri rgw one)"
	expect_fail -m "not a cairn repository|no such bucket|does not exist" cairn copy --repo "$A" --all \
		--to "s3://cairn-e2e-$S3_RUN-missing/x?endpoint=$S3_ENDPOINT&region=$S3_REGION"
	# (azlib's no_secret is the Azure key's: the S3 secret by hand.)
	! grep -qF -- "$S3_SECRET" "$TT/.err" || fail "the error shows the secret key"
}
test_case "a wrong destination passphrase, a missing bucket: one clear line, no secret" t_bad

test_done
