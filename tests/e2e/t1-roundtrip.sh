#!/bin/bash
# t1: backups and restores round-trip byte for byte; incrementals, dedup,
# sparse restore, naming backups, diff, chunk sizes, option placement.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
IMG=$TD/img.ext4
CS=65536

t_init()
{
	new_repo "$R"
	[ -f "$R/config" ] || fail "no config object after init"
	[ "$(find "$R/keys" -type f | wc -l)" -eq 1 ] || fail "expected one key object after init"
	[ "$(backup_count "$R")" -eq 0 ] || fail "a new repository lists backups"
}
test_case "init creates an empty repository" t_init

t_check_empty()
{
	cairn check --repo "$R"
	cairn check --repo "$R" --read-data
	cairn list --repo "$R" >out
	[ "$(wc -l <out)" -le 1 ] || fail "list of an empty repository prints backups"
}
test_case "check and list work on an empty repository" t_check_empty

t_first()
{
	mk_image "$IMG" 32 1 8
	cp "$IMG" "$TD/img.v1"
	cairn backup --repo "$R" "$IMG" --json >"$TD/b1.json"
	jget "$TD/b1.json" .id >"$TD/id1"
	cairn restore --repo "$R" "$(cat "$TD/id1")" out.img
	same_file "$IMG" out.img
	e2fsck -fn out.img >/dev/null 2>&1 || fail "restored image is not a clean ext4 file system"
}
test_case "first backup restores byte-identically" t_first

t_json()
{
	local f=$TD/b1.json size
	size=$(stat -c %s "$IMG")
	jq -e '.id | test("^[0-9a-f]{32}$")' "$f" >/dev/null || fail "id is not 32 hex digits"
	[ "$(jget "$f" .volume)" = img.ext4 ] || fail "volume is not the source's base name"
	# Holes may be skipped (SEEK_DATA), so bytes_read is at most the size
	# and at least what was new.
	[ "$(jget "$f" .bytes_read)" -le "$size" ] || fail "bytes_read > image size $size"
	[ "$(jget "$f" .bytes_read)" -ge "$(jget "$f" .bytes_new)" ] || fail "bytes_read < bytes_new"
	[ "$(jget "$f" .size)" -eq "$size" ] || fail "size != image size $size"
	[ "$(jget "$f" .bytes_new)" -gt 0 ] || fail "bytes_new is 0 on a first backup"
	[ "$(jget "$f" .bytes_stored)" -gt 0 ] || fail "bytes_stored is 0 on a first backup"
	# A first backup wrote every pack, index and manifest object there is,
	# and list shows the number backup printed.
	local objs
	objs=$(find "$R/packs" "$R/index" "$R/backups" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
	[ "$(jget "$f" .bytes_stored)" -eq "$objs" ] ||
		fail "bytes_stored $(jget "$f" .bytes_stored) is not the $objs bytes of packs, index and manifest"
	cairn list --repo "$R" --json >list.json
	[ "$(jq --arg id "$(jget "$f" .id)" '.[] | select(.id == $id) | .bytes_stored' list.json)" -eq \
		"$(jget "$f" .bytes_stored)" ] || fail "list --json shows another bytes_stored than backup --json"
	# Mostly random data: stored bytes cannot be far below the new bytes,
	# and the holes (free space) are never counted as new.
	[ "$(jget "$f" .bytes_new)" -lt "$size" ] || fail "bytes_new counts zero chunks"
	jq -e '.seconds | type == "number" and . >= 0' "$f" >/dev/null || fail "seconds is not a number >= 0"
	[ "$(jget "$f" .change_tracking)" = full-read ] || fail "change_tracking is not full-read"
	jq -e '.parent == null' "$f" >/dev/null || fail "a first backup has a parent"
}
test_case "backup --json reports id, volume, bytes_read/new/stored, seconds, change_tracking" t_json

t_unchanged()
{
	local id
	cairn backup --repo "$R" "$IMG" >out 2>err
	[ "$(wc -l <out)" -eq 1 ] || fail "backup printed more than the id on stdout"
	id=$(cat out)
	[[ $id =~ ^[0-9a-f]{32}$ ]] || fail "backup printed '$id', not an id"
	echo "$id" >"$TD/id2"
	cairn list --repo "$R" --json >list.json
	[ "$(jq -r --arg id "$id" '.[] | select(.id == $id) | .bytes_new' list.json)" = 0 ] ||
		fail "second backup of unchanged data has bytes_new != 0"
	[ "$(jq -r --arg id "$id" '.[] | select(.id == $id) | .parent' list.json)" = "$(cat "$TD/id1")" ] ||
		fail "second backup's parent is not the first backup"
}
test_case "backup of unchanged data stores nothing new (bytes_new == 0)" t_unchanged

t_incremental()
{
	local first incr nch
	scatter_write "$IMG" 7 24 >"$TD/w1"
	cp "$IMG" "$TD/img.v2"
	cairn backup --repo "$R" "$IMG" --json >"$TD/b3.json"
	jget "$TD/b3.json" .id >"$TD/id3"
	first=$(jget "$TD/b1.json" .bytes_new)
	incr=$(jget "$TD/b3.json" .bytes_new)
	nch=$(chunks_of $CS <"$TD/w1" | wc -l)
	echo "first $first, incremental $incr, chunks written $nch" >&2
	[ "$incr" -gt 0 ] || fail "incremental after writes has bytes_new 0"
	[ "$incr" -le $((nch * CS)) ] || fail "bytes_new $incr > the $nch chunks written ($((nch * CS)))"
	[ $((incr * 5)) -lt "$first" ] || fail "incremental bytes_new $incr is not far below the first's $first"
	[ "$(jget "$TD/b3.json" .bytes_stored)" -lt $(($(jget "$TD/b1.json" .bytes_stored) / 5)) ] ||
		fail "incremental bytes_stored is not far below the first's"
	cairn restore --repo "$R" "$(cat "$TD/id3")" out.img
	same_file "$IMG" out.img
}
test_case "incremental after scattered writes stores far less and restores byte-identically" t_incremental

t_older()
{
	scatter_write "$IMG" 8 16 >/dev/null
	cp "$IMG" "$TD/img.v3"
	cairn backup --repo "$R" "$IMG" -q >"$TD/id4"
	cairn restore --repo "$R" "$(cat "$TD/id1")" v1.img
	same_file "$TD/img.v1" v1.img
	cairn restore --repo "$R" "$(cat "$TD/id3")" v2.img
	same_file "$TD/img.v2" v2.img
}
test_case "older backups restore byte-identically after newer ones" t_older

t_names()
{
	local id3
	id3=$(cat "$TD/id3")
	cairn restore --repo "$R" latest latest.img
	same_file "$TD/img.v3" latest.img
	cairn restore --repo "$R" img.ext4@latest vol-latest.img
	same_file "$TD/img.v3" vol-latest.img
	cairn restore --repo "$R" "${id3:0:8}" prefix.img
	same_file "$TD/img.v2" prefix.img
	cairn restore --repo "$R" "$id3" full-id.img
	same_file "$TD/img.v2" full-id.img
}
test_case "restore by 'latest', 'VOLUME@latest', a unique prefix and a full id" t_names

t_cache()
{
	local st=$CAIRN_STATE_DIR all
	[ -n "$(find "$st" -name '*.tags' 2>/dev/null)" ] || fail "no change-tag cache under the state dir $st"
	# Without a cache every non-zero chunk read is hashed.
	cairn backup --repo "$R" --state-dir "$TT/empty-state" --json "$IMG" >nocache.json
	all=$(jget nocache.json .bytes_hashed)
	[ "$all" -gt 0 ] || fail "a backup without a cache hashed nothing"
	# The incremental reused the ids of unchanged chunks instead of hashing them.
	[ "$(jget "$TD/b3.json" .bytes_hashed)" -lt $((all / 4)) ] ||
		fail "incremental hashed $(jq .bytes_hashed "$TD/b3.json") bytes, a backup without cache $all"
	# --full trusts no cache: it hashes as much as a backup without one.
	cairn backup --repo "$R" --full --json "$IMG" >full.json
	[ "$(jget full.json .bytes_hashed)" -eq "$all" ] ||
		fail "--full hashed $(jq .bytes_hashed full.json) bytes, a backup without cache $all"
	[ "$(jget full.json .bytes_new)" -eq 0 ] || fail "--full of unchanged data has bytes_new != 0"
	cairn restore --repo "$R" "$(jget full.json .id)" r.img
	same_file "$TD/img.v3" r.img
}
test_case "the change-tag cache skips hashing unchanged chunks; --full hashes everything" t_cache

t_read_path()
{
	# Backups read() the source; CAIRN_MAP_SOURCE=1 reads it through a
	# mapping of its page cache instead.  Both must see the same bytes:
	# a --full backup through the mapping finds every chunk already stored.  Each
	# reads a copy: on ext4 the live file's holes (SEEK_DATA) change once
	# pages of its unwritten extents are in the page cache, so two live
	# reads need not read the same ranges.
	cairn backup --repo "$R" --full --snapshot copy --json "$IMG" >full.json
	CAIRN_MAP_SOURCE=1 cairn backup --repo "$R" --full --snapshot copy --json "$IMG" >read.json
	[ "$(jget read.json .bytes_new)" -eq 0 ] || fail "the mapped path found new chunks in unchanged data"
	[ "$(jget read.json .bytes_read)" -eq "$(jget full.json .bytes_read)" ] ||
		fail "the mapped path read $(jq .bytes_read read.json) bytes, the read() one $(jq .bytes_read full.json)"
	cairn restore --repo "$R" "$(jget read.json .id)" r.img
	same_file "$TD/img.v3" r.img
}
test_case "reading the source through a mapping (CAIRN_MAP_SOURCE=1) makes the same backup as read()" t_read_path

t_cache_damaged()
{
	local f
	cp "$TD/img.v3" v.img
	cairn backup --repo "$R" --name cache-vol -q v.img >/dev/null
	for f in $(find "$CAIRN_STATE_DIR" -name '*.tags'); do
		flip_byte "$f" $(($(stat -c %s "$f") - 30))
	done
	scatter_write v.img 77 10 >/dev/null
	cairn backup --repo "$R" --name cache-vol -q v.img >id
	cairn restore --repo "$R" "$(cat id)" r.img
	same_file v.img r.img
	for f in $(find "$CAIRN_STATE_DIR" -name '*.tags'); do
		truncate -s 100 "$f"
	done
	scatter_write v.img 78 10 >/dev/null
	cairn backup --repo "$R" --name cache-vol -q v.img >id
	cairn restore --repo "$R" "$(cat id)" r2.img
	same_file v.img r2.img
}
test_case "a damaged or truncated change-tag cache is ignored: backups stay correct" t_cache_damaged

t_cache_new_repo()
{
	# Same state dir, same volume name and source, but a new repository at
	# the same path: nothing of the old one's cache may be reused.
	cp "$TD/img.v1" v.img
	new_repo repo
	cairn backup --repo repo -q v.img >/dev/null
	scatter_write v.img 79 8 >/dev/null
	rm -rf repo
	new_repo repo
	cairn backup --repo repo -q v.img >/dev/null
	cairn restore --repo repo latest r.img
	same_file v.img r.img
	cairn check --repo repo --read-data
	# And a copy of a repository (same repository id) that lacks the
	# cache's backup: only what the copy holds may be reused.
	cp -a repo copy
	scatter_write v.img 80 8 >/dev/null
	cairn backup --repo repo -q v.img >/dev/null
	scatter_write v.img 81 8 >/dev/null
	cairn backup --repo copy -q v.img >/dev/null
	cairn restore --repo copy latest c.img
	same_file v.img c.img
	cairn check --repo copy --read-data
}
test_case "the change-tag cache is never used across repositories" t_cache_new_repo

t_punch()
{
	local size
	cp "$TD/img.v1" p.img
	cairn backup --repo "$R" --name punch -q p.img >/dev/null
	# Turn data into holes (a chunk, and a part of one), and a hole into data.
	fallocate -p -o $((2 << 20)) -l $((1 << 20)) p.img || skip "fallocate --punch-hole is not supported here"
	fallocate -p -o $((5 << 20 + 4096)) -l 8192 p.img
	size=$(stat -c %s p.img)
	rand_file blk 65536 82
	dd if=blk of=p.img bs=65536 seek=$((size / 65536 - 3)) conv=notrunc status=none
	cairn backup --repo "$R" --name punch -q p.img >id
	cairn restore --repo "$R" "$(cat id)" r.img
	same_file p.img r.img
}
test_case "data turned into holes (and holes into data) is backed up correctly" t_punch

t_diff()
{
	local a b got want n
	a=$(cat "$TD/id2") b=$(cat "$TD/id3")
	cairn diff --repo "$R" "$a" "$b" >diff.txt
	want=$(chunks_of $CS <"$TD/w1" | tr '\n' ' ')
	got=$(chunks_of $CS <diff.txt | tr '\n' ' ')
	[ -n "$want" ] || fail "no writes recorded"
	[ "$got" = "$want" ] || fail "diff covers chunks [$got], the writes touched [$want]"
	# Ranges are chunk-aligned and clipped to the volume.
	awk -v cs=$CS '$1 % cs != 0 || ($2 % cs != 0) { bad = 1 } END { exit bad }' diff.txt ||
		fail "diff ranges are not 64 KiB chunk aligned: $(head -n3 diff.txt | tr '\n' ' ')"
	# Unchanged data: no ranges.
	cairn diff --repo "$R" "$(cat "$TD/id1")" "$a" >same.txt
	[ ! -s same.txt ] || fail "diff of two backups of unchanged data printed ranges"
}
test_case "diff A B prints exactly the changed 64 KiB chunks" t_diff

t_diff_json()
{
	local a b want
	a=$(cat "$TD/id2") b=$(cat "$TD/id3")
	cairn diff --repo "$R" --json "$a" "$b" >d.json
	[ "$(jget d.json .a)" = "$a" ] && [ "$(jget d.json .b)" = "$b" ] || fail "a/b are not the ids"
	[ "$(jget d.json .size_a)" -eq "$(stat -c %s "$IMG")" ] || fail "size_a is wrong"
	[ "$(jget d.json .size_b)" -eq "$(stat -c %s "$IMG")" ] || fail "size_b is wrong"
	jq -r '.ranges[] | "\(.offset) \(.length)"' d.json >ranges.txt
	want=$(chunks_of $CS <"$TD/w1" | tr '\n' ' ')
	[ "$(chunks_of $CS <ranges.txt | tr '\n' ' ')" = "$want" ] || fail "JSON ranges differ from the writes"
	[ "$(jget d.json .changed_bytes)" -eq "$(jq '[.ranges[].length] | add' d.json)" ] ||
		fail "changed_bytes is not the sum of the ranges"
	[ "$(jget d.json .changed_bytes)" -eq $(($(echo "$want" | wc -w) * CS)) ] ||
		fail "changed_bytes is not the changed chunks' size"
}
test_case "diff --json prints a, b, sizes, changed_bytes and the ranges" t_diff_json

t_sparse()
{
	local size alloc
	mk_image "$TD/sparse.ext4" 128 3 4
	# And a raw volume that is one big hole with 1 MiB of data at each end.
	rand_file "$TD/holes.raw" $((1 << 20)) 31
	truncate -s 96M "$TD/holes.raw"
	rand_file tail.bin $((1 << 20)) 32
	dd if=tail.bin of="$TD/holes.raw" bs=1M seek=95 conv=notrunc status=none
	for v in sparse.ext4 holes.raw; do
		cairn backup --repo "$R" -q "$TD/$v" >id
		cairn restore --repo "$R" "$(cat id)" "r-$v"
		same_file "$TD/$v" "r-$v"
		size=$(stat -c %s "r-$v")
		alloc=$(allocated_bytes "r-$v")
		echo "$v: size $size, allocated $alloc" >&2
		[ $((alloc * 4)) -lt "$size" ] || fail "restored $v occupies $alloc of $size bytes: holes were written"
	done
	[ "$(allocated_bytes r-holes.raw)" -le $((3 << 20)) ] || fail "restored holes.raw allocates more than its data"
}
test_case "restore leaves holes sparse (allocated blocks far below the size)" t_sparse

t_dedup()
{
	local a b
	mk_image "$TD/dd-a.ext4" 16 5 4
	cp "$TD/dd-a.ext4" "$TD/dd-b.ext4"
	cairn backup --repo "$R" --json "$TD/dd-a.ext4" >a.json
	cairn backup --repo "$R" --json "$TD/dd-b.ext4" >b.json
	a=$(jget a.json .bytes_new) b=$(jget b.json .bytes_new)
	[ "$(jget b.json .volume)" = dd-b.ext4 ] || fail "second volume is not named dd-b.ext4"
	[ "$a" -gt 0 ] || fail "first volume stored nothing"
	[ "$b" -eq 0 ] || fail "identical second volume has bytes_new $b"
	[ $(($(jget b.json .bytes_stored) * 20)) -lt "$(jget a.json .bytes_stored)" ] ||
		fail "identical second volume stored $(jget b.json .bytes_stored) bytes"
	cairn restore --repo "$R" dd-b.ext4@latest b.img
	same_file "$TD/dd-b.ext4" b.img
}
test_case "two volumes with the same content are deduplicated" t_dedup

t_name_tag()
{
	local id e
	id=$(cairn backup --repo "$R" -q "$TD/img.v1" --name vol-a --tag daily --tag keep-me)
	cairn list --repo "$R" --json >l.json
	e=$(jq -c --arg id "$id" '.[] | select(.id == $id)' l.json)
	[ -n "$e" ] || fail "backup $id is not in list --json"
	echo "$e" >e.json
	[ "$(jget e.json .volume)" = vol-a ] || fail "--name vol-a not listed as the volume"
	[ "$(jq -c .tags e.json)" = '["daily","keep-me"]' ] || fail "tags are $(jq -c .tags e.json)"
	[ "$(jget e.json .size)" -eq "$(stat -c %s "$TD/img.v1")" ] || fail "size is wrong"
	jget e.json .created | grep -Eq "$RFC3339_RE" || fail "created '$(jq -r .created e.json)' is not RFC 3339"
	jq -e '.[0] | has("id") and has("volume") and has("created") and has("size") and has("tags")' l.json \
		>/dev/null || fail "list --json entries lack id/volume/created/size/tags"
	cairn list --repo "$R" --json --volume vol-a >v.json
	[ "$(jq length v.json)" -eq 1 ] || fail "list --volume vol-a shows $(jq length v.json) backups"
	cairn list --repo "$R" >l.txt
	grep -q "^vol-a .*${id:0:16}.*daily,keep-me" l.txt || fail "text list lacks the vol-a line: $(grep vol-a l.txt)"
	cairn restore --repo "$R" vol-a@latest a.img
	same_file "$TD/img.v1" a.img
}
test_case "--name and --tag appear in list --json (id, volume, created RFC 3339, size, tags)" t_name_tag

t_odd_size()
{
	local size=$((3 * CS * 16 + 12345))
	rand_file odd.img $size 41
	cairn backup --repo "$R" --json odd.img >b.json
	[ "$(jget b.json .size)" -eq $size ] || fail "size $(jq .size b.json), expected $size"
	[ "$(jget b.json .bytes_read)" -eq $size ] || fail "bytes_read of a file without holes is not its size"
	cairn restore --repo "$R" odd.img@latest r.img
	same_file odd.img r.img
	[ "$(stat -c %s r.img)" -eq $size ] || fail "restored size differs"
}
test_case "an image whose size is not a multiple of the chunk size round-trips" t_odd_size

t_empty()
{
	: >empty.img
	cairn backup --repo "$R" --json empty.img >b.json
	[ "$(jget b.json .size)" -eq 0 ] || fail "size of an empty image is not 0"
	cairn restore --repo "$R" empty.img@latest r.img
	[ -f r.img ] || fail "restore of an empty image made no file"
	[ "$(stat -c %s r.img)" -eq 0 ] || fail "restored empty image is not empty"
}
test_case "an empty (0-byte) image round-trips" t_empty

t_chunk128()
{
	local r=$TD/repo128 got want
	new_repo "$r" --chunk-size 128K
	cp "$TD/img.v1" v.img
	cairn backup --repo "$r" -q v.img >id1
	scatter_write v.img 9 12 >w
	cp v.img v2.img
	cairn backup --repo "$r" -q v.img >id2
	cairn restore --repo "$r" "$(cat id1)" r1.img
	same_file "$TD/img.v1" r1.img
	cairn restore --repo "$r" "$(cat id2)" r2.img
	same_file v2.img r2.img
	cairn diff --repo "$r" "$(cat id1)" "$(cat id2)" >d
	want=$(chunks_of 131072 <w | tr '\n' ' ')
	got=$(chunks_of 131072 <d | tr '\n' ' ')
	[ "$got" = "$want" ] || fail "diff covers 128K chunks [$got], writes touched [$want]"
	cairn check --repo "$r" --read-data
}
test_case "a --chunk-size 128K repository round-trips and diffs in 128 KiB chunks" t_chunk128

t_tmpfs()
{
	mkdir mnt
	mount -t tmpfs -o size=96m tmpfs mnt 2>/dev/null || skip "cannot mount a tmpfs here"
	register_cleanup mount "$TT/mnt"
	# tmpfs has no O_DIRECT: packs and restores must still work there.
	new_repo mnt/repo
	cairn backup --repo mnt/repo -q "$TD/img.v1" >/dev/null
	cairn restore --repo mnt/repo latest mnt/r.img
	same_file "$TD/img.v1" mnt/r.img
	cairn check --repo mnt/repo --read-data
	umount mnt
}
test_case "a repository and a restore target on tmpfs (no O_DIRECT) work" t_tmpfs

t_globals()
{
	local ref
	cairn list --repo "$R" --json >after.json
	cairn --repo "$R" --json list >before.json
	cmp -s after.json before.json || fail "list --repo X --json and --repo X --json list differ"
	ref=$(jq -r '.[].id' after.json | sort)
	[ -n "$ref" ] || fail "no backups listed"
	cairn -r "$R" list --json >short.json
	cairn list "--repo=$R" --json >eq.json
	CAIRN_REPO=$R cairn list --json >env.json
	cairn list --repo "file://$R" --json >uri.json
	printf '%s\n' "$CAIRN_PASSPHRASE" >pass
	env -u CAIRN_PASSPHRASE "$CAIRN" --passphrase-file pass list --repo "$R" --json >pf.json
	CAIRN_PASSPHRASE_FILE=$PWD/pass env -u CAIRN_PASSPHRASE "$CAIRN" list --repo "$R" --json >pfe.json
	for f in short eq env uri pf pfe; do
		[ "$(jq -r '.[].id' $f.json | sort)" = "$ref" ] || fail "list via '$f' lists other backups"
	done
	cairn --json --repo "$R" diff "$(cat "$TD/id2")" "$(cat "$TD/id3")" >d1.json
	cairn diff "$(cat "$TD/id2")" --json "$(cat "$TD/id3")" --repo "$R" >d2.json
	cmp -s d1.json d2.json || fail "diff output depends on where the global options are"
}
test_case "global options are accepted before and after the verb" t_globals

t_check()
{
	cairn check --repo "$R" --read-data
}
test_case "check --read-data passes on the repository after all of the above" t_check

test_done
