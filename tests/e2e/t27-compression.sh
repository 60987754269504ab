#!/bin/bash
# t27: compression chosen per repository (init --compression) and per
# backup (backup / group backup --compression), recorded per blob, so a
# repository holding every mix restores byte-exact.
. "$(dirname "$0")/lib.sh"

IMG=$TD/vol.img

# repo_bytes DIR: the bytes of a repository's packs.
repo_bytes()
{
	find "$1/packs" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'
}

t_setup()
{
	mk_image "$IMG" 48 27 16
}
test_case "setup: a 48 MiB image with text and random files" t_setup

t_init_modes()
{
	local m want
	for m in auto zstd zstd:1 zstd:-3 zstd:19 lz4 none; do
		case $m in
		zstd) want=zstd:3 ;;
		*) want=$m ;;
		esac
		cairn init --repo "$TD/r-$m" --compression "$m" --json >init.json || fail "init --compression $m failed"
		[ "$(jget init.json .compression)" = "$want" ] ||
			fail "init --compression $m: --json says $(jget init.json .compression), expected $want"
		cairn backup --repo "$TD/r-$m" "$IMG" --name vol --snapshot none --json >b.json
		[ "$(jget b.json .compression)" = "$want" ] || fail "backup into a $m repository says $(jget b.json .compression)"
		cairn restore --repo "$TD/r-$m" latest out.img --force
		same_file "$IMG" out.img
		repo_bytes "$TD/r-$m" >"$TD/size-$m"
	done
	# The default is auto.
	cairn init --repo "$TD/r-default" --json >init.json
	[ "$(jget init.json .compression)" = auto ] || fail "the default compression is $(jget init.json .compression)"
	# What each stores is in the expected order: none stores the text raw,
	# lz4 compresses it less than zstd, zstd:19 most.
	local none lz4 z1 z19
	none=$(cat "$TD/size-none") lz4=$(cat "$TD/size-lz4") z1=$(cat "$TD/size-zstd:1") z19=$(cat "$TD/size-zstd:19")
	echo "  packs: none $none, lz4 $lz4, zstd:1 $z1, zstd:19 $z19" >&2
	[ "$lz4" -lt "$none" ] || fail "lz4 ($lz4 bytes) stored no less than none ($none)"
	[ "$z1" -lt "$lz4" ] || fail "zstd:1 ($z1 bytes) stored no less than lz4 ($lz4)"
	[ "$z19" -le "$z1" ] || fail "zstd:19 ($z19 bytes) stored more than zstd:1 ($z1)"
	# The text part is about a third of the data: none must be the larger
	# by a good margin, not a rounding.
	[ $((none - lz4)) -gt $((1 << 20)) ] || fail "lz4 saved under 1 MiB of $none"
}
test_case "init --compression: each mode backs up, restores, and shows in --json" t_init_modes

t_mixed()
{
	local R=$TD/r-mixed i
	new_repo "$R" --compression lz4
	cp --sparse=always "$IMG" v.img
	# Each backup writes new chunks with another algorithm into one repository.
	i=0
	for m in "" zstd:3 none zstd:-5 lz4 auto; do
		i=$((i + 1))
		scatter_write v.img $((100 + i)) 30 65536 >/dev/null
		# Text chunks too, so that compressing ones are new each time.
		python3 -c "import sys,random; r=random.Random($i); sys.stdout.write(' '.join(r.choice(['cairn','chunk','pack','zstd','lz4']) for _ in range(60000)))" |
			dd of=v.img bs=64K seek=$((200 + i * 8)) conv=notrunc 2>/dev/null
		cp --sparse=always v.img "v$i.img"
		if [ -n "$m" ]; then
			cairn backup --repo "$R" v.img --name vol --snapshot none --compression "$m" --json >b.json
		else
			cairn backup --repo "$R" v.img --name vol --snapshot none --json >b.json
		fi
		[ "$(jget b.json .compression)" = "${m:-lz4}" ] ||
			fail "backup --compression '${m:-}' says $(jget b.json .compression)"
		jget b.json .id >"id$i"
	done
	# Every backup restores byte-exact, whatever mix of blobs it reads.
	for i in 1 2 3 4 5 6; do
		cairn restore --repo "$R" "$(cat "id$i")" out.img --force
		same_file "v$i.img" out.img
	done
	cairn check --repo "$R" --read-data
}
test_case "backup --compression overrides per backup; a mixed repository restores byte-exact" t_mixed

t_group()
{
	local R=$TD/r-group
	new_repo "$R" --compression none
	cp --sparse=always "$IMG" g.img
	cairn group create cg --volume "$PWD/g.img" >/dev/null
	cairn group backup cg --repo "$R" --compression lz4 --json >gb.json
	local none_size lz4_size
	lz4_size=$(repo_bytes "$R")
	new_repo "$TD/r-group-none" --compression none
	cairn group backup cg --repo "$TD/r-group-none" >/dev/null
	none_size=$(repo_bytes "$TD/r-group-none")
	[ "$lz4_size" -lt "$none_size" ] || fail "group backup --compression lz4 stored $lz4_size bytes, none $none_size"
	cairn group restore "$(jget gb.json .id)" --repo "$R" --to out >/dev/null
	same_file "$IMG" out/g.img
	expect_fail -c 2 -m "unknown compression 'gzip'" cairn group backup cg --repo "$R" --compression gzip
	expect_fail -c 2 -m "go with 'group backup'" cairn group list --compression lz4
	cairn group delete cg >/dev/null
}
test_case "group backup --compression overrides the repository's" t_group

t_bad()
{
	expect_fail -c 2 -m "unknown compression 'bogus'" cairn init --repo "$TD/r-bad" --compression bogus
	[ ! -e "$TD/r-bad" ] || fail "a usage error created the repository"
	expect_fail -c 2 -m "invalid zstd level '0'" cairn init --repo "$TD/r-bad" --compression zstd:0
	expect_fail -c 2 -m "invalid zstd level '23'" cairn init --repo "$TD/r-bad" --compression zstd:23
	expect_fail -c 2 -m "give one of them" cairn init --repo "$TD/r-bad" --compression lz4 --compression-level 3
	expect_fail -c 2 -m "unknown compression 'lz4:1'" cairn backup --repo "$TD/r-lz4" "$IMG" --compression lz4:1
	# --compression-level N stays the same as zstd:N.
	cairn init --repo "$TD/r-level" --compression-level 5 --json >init.json
	[ "$(jget init.json .compression)" = zstd:5 ] || fail "--compression-level 5 gave $(jget init.json .compression)"
}
test_case "bad --compression values are usage errors with one line" t_bad

test_done
