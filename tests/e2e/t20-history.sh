#!/bin/bash
# t20: a long history: every one of 20 successive incrementals restores
# byte-identical, not only the last few.
. "$(dirname "$0")/lib.sh"

R=$TD/repo

# version N IMG: changes IMG for version N (N >= 2): scattered 4 KiB
# writes mostly, and now and then something else a volume goes through.
version()
{
	local n=$1 img=$2
	case $n in
	5) ;; # unchanged: a backup identical to its parent
	8) scatter_write "$img" "$n" 200 >/dev/null ;; # many chunks at once
	11) truncate -s 20M "$img" && scatter_write "$img" "$n" 4 65536 >/dev/null ;; # grows
	14) fallocate -p -o 1M -l 3M "$img" ;; # a range becomes a hole
	17) truncate -s 16M "$img" ;; # shrinks back
	*) scatter_write "$img" "$n" $((n % 5 + 1)) >/dev/null ;;
	esac
}

t_history()
{
	local n id args
	new_repo "$R"
	mk_image img 16 20 6
	for n in $(seq 1 20); do
		[ "$n" = 1 ] || version "$n" img
		args=()
		[ "$n" != 13 ] || args=(--full) # one that trusts no change tracking
		id=$(cairn backup --repo "$R" -q --snapshot none img "${args[@]}")
		echo "$id $(sha256sum <img | cut -d' ' -f1) $(stat -c %s img)" >>versions
	done
	[ "$(sort -u versions | wc -l)" -eq 20 ] || fail "20 backups did not make 20 ids"
	[ "$(backup_count "$R")" -eq 20 ] || fail "list shows $(backup_count "$R") backups, not 20"
	cairn check --repo "$R" --read-data
	n=0
	while read -r id sum size; do
		n=$((n + 1))
		rm -f out.img
		cairn restore --repo "$R" "$id" out.img -q
		[ "$(stat -c %s out.img)" = "$size" ] || fail "version $n restores to $(stat -c %s out.img) bytes, not $size"
		[ "$(sha256sum <out.img | cut -d' ' -f1)" = "$sum" ] || fail "version $n ($id) does not restore byte-identical"
	done <versions
	[ "$n" -eq 20 ] || fail "restored $n versions, not 20"
}
test_case "20 successive incrementals (writes, none, many, grown, a hole, shrunk, --full): each restores byte-identical" t_history

test_done
