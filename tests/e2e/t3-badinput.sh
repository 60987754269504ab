#!/bin/bash
# t3: bad input and damage.  Every case: a non-zero exit, one line on
# stderr, and nothing lost or half-written (the repository or the target is
# as it was, or check says exactly what is damaged).
. "$(dirname "$0")/lib.sh"

P=$TD/pristine        # two backups of img: v1 and v2; never modified after setup
IMG=$TD/img.ext4

# fresh_repo: a private copy of the pristine repository at $TT/repo, seen
# by a host of its own (a state directory of its own): copies share the
# repository's id, and backups one test adds to its copy would otherwise
# be reported as gone from the others.
fresh_repo()
{
	cp -a "$P" "$TT/repo"
	export CAIRN_STATE_DIR=$TT/state
}

# restore_fails REPO BACKUP: restore must fail cleanly and leave nothing at
# the target (neither the file nor a temporary TARGET.cairn-*).
restore_fails()
{
	local t=$TT/target.img
	rm -f "$t"
	expect_fail cairn restore --repo "$1" "$2" "$t"
	[ ! -e "$t" ] || fail "failed restore of $2 left $t behind"
	! ls "$t".cairn-* >/dev/null 2>&1 || fail "failed restore of $2 left a temporary file: $(ls "$t".cairn-*)"
}

# largest_pack REPO: path of the biggest pack file.
largest_pack()
{
	find "$1/packs" -type f ! -name '.tmp.*' -printf '%s %p\n' | sort -rn | head -n1 | cut -d' ' -f2-
}

# no_tmp_files DIR: no store temporaries left behind.
no_tmp_files()
{
	local t
	t=$(find "$1" -name '.tmp.*' | head -n3)
	[ -z "$t" ] || fail "temporary objects left in $1: $t"
}

t_setup()
{
	two_backups "$P" "$IMG" 11
}
test_case "setup: a repository with two backups" t_setup

t_wrong_pass()
{
	fresh_repo
	tree_state repo >before
	export CAIRN_PASSPHRASE='not the passphrase'
	expect_fail -m 'passphrase' cairn list --repo repo
	expect_fail -m 'passphrase' cairn backup --repo repo "$IMG"
	expect_fail -m 'passphrase' cairn restore --repo repo latest out.img
	[ ! -e out.img ] || fail "restore with a wrong passphrase created the target"
	expect_fail -m 'passphrase' cairn check --repo repo
	expect_fail -m 'passphrase' cairn key list --repo repo
	CAIRN_NEW_PASSPHRASE=x expect_fail -m 'passphrase' cairn key add --repo repo
	assert_unchanged repo before
}
test_case "a wrong passphrase is refused by every command and changes nothing" t_wrong_pass

t_missing_repo()
{
	expect_fail cairn list --repo "$TT/nope"
	expect_fail cairn backup --repo "$TT/nope" "$IMG"
	expect_fail cairn restore --repo "$TT/nope" latest out.img
	expect_fail cairn check --repo "$TT/nope"
	[ ! -e "$TT/nope" ] || fail "a command created the missing repository directory"
	[ ! -e out.img ] || fail "restore from a missing repository created the target"
	# And no repository at all.
	expect_fail -m 'repo' cairn list
}
test_case "a missing repository path is refused" t_missing_repo

t_not_repo()
{
	mkdir empty junk
	rand_file junk/a 1000 1
	rand_file junk/config.bak 3000 2
	mkdir junk/packs
	tree_state empty >e.before
	tree_state junk >j.before
	expect_fail -m 'not a cairn repository' cairn list --repo empty
	expect_fail -m 'not a cairn repository' cairn backup --repo empty "$IMG"
	expect_fail -m 'not a cairn repository' cairn list --repo junk
	expect_fail -m 'not a cairn repository' cairn restore --repo junk latest out.img
	# A file named config that is not a cairn config.
	rand_file junk/config 500 3
	tree_state junk >j.before
	expect_fail -m 'not a cairn repository|magic|config' cairn list --repo junk
	expect_fail cairn list --repo "$IMG"
	assert_unchanged empty e.before
	assert_unchanged junk j.before
	[ ! -e out.img ] || fail "restore from a non-repository created the target"
}
test_case "a path that is not a repository is refused (empty dir, random files)" t_not_repo

t_version()
{
	fresh_repo
	printf '\002\000\000\000' | dd of=repo/config bs=1 seek=8 conv=notrunc status=none
	tree_state repo >before
	expect_fail -m 'version' cairn list --repo repo
	grep -q 2 "$TT/.err" || fail "the message does not name the version found (2): $(cat "$TT/.err")"
	# The version is refused before any key is tried.
	CAIRN_PASSPHRASE=wrong expect_fail -m 'version' cairn list --repo repo
	expect_fail -m 'version' cairn restore --repo repo latest out.img
	[ ! -e out.img ] || fail "restore created the target"
	assert_unchanged repo before
}
test_case "a config with an unknown format version is refused, naming the version" t_version

t_init_twice()
{
	fresh_repo
	tree_state repo >before
	expect_fail cairn init --repo repo
	CAIRN_PASSPHRASE=other expect_fail cairn init --repo repo --chunk-size 128K
	assert_unchanged repo before
	cairn list --repo repo >/dev/null
}
test_case "init over an existing repository is refused" t_init_twice

t_unknown_id()
{
	fresh_repo
	tree_state repo >before
	restore_fails repo 0123456789abcdef0123456789abcdef
	restore_fails repo nosuchvolume@latest
	restore_fails repo "not-an-id"
	expect_fail cairn diff --repo repo "$(cat "$TD/id1")" 0123456789abcdef0123456789abcdef
	assert_unchanged repo before
}
test_case "an unknown backup id is refused" t_unknown_id

t_ambiguous()
{
	local c i dup=''
	fresh_repo
	rand_file small.img 65536 5
	for i in $(seq 1 17); do
		cairn backup --repo repo -q small.img >/dev/null
		dup=$(cairn list --repo repo --json | jq -r '.[].id[0:1]' | sort | uniq -d | head -n1)
		[ -z "$dup" ] || break
	done
	[ -n "$dup" ] || fail "17 backups and no shared first hex digit"
	restore_fails repo "$dup"
	grep -Eqi 'ambiguous|matches [0-9]+ backups' "$TT/.err" ||
		fail "message does not say the prefix is ambiguous: $(cat "$TT/.err")"
	# A longer prefix that is unique still works.
	c=$(cairn list --repo repo --json | jq -r '.[].id' | grep "^$dup" | head -n1)
	cairn restore --repo repo "${c:0:12}" ok.img
}
test_case "an ambiguous id prefix is refused" t_ambiguous

t_bad_source()
{
	fresh_repo
	tree_state repo >before
	expect_fail cairn backup --repo repo "$TT/does-not-exist.img"
	mkdir adir
	expect_fail cairn backup --repo repo adir
	expect_fail cairn backup --repo repo /dev/null/x
	# A FIFO: refused at once, not waiting for a writer (cairn() has a
	# timeout, which expect_fail reports as a failure).
	mkfifo fifo
	expect_fail -m 'neither a regular file nor a block device' cairn backup --repo repo fifo
	expect_fail -m 'neither a regular file nor a block device' cairn backup --repo repo fifo --snapshot none
	expect_fail -m 'neither a regular file nor a block device' cairn backup --repo repo /dev/zero --snapshot none
	[ "$(backup_count repo)" -eq 2 ] || fail "a failed backup was listed"
	assert_unchanged repo before
}
test_case "an unreadable source (missing, a directory, a FIFO, a character device) is refused" t_bad_source

t_bad_names()
{
	fresh_repo
	tree_state repo >before
	expect_fail -m 'name' cairn backup --repo repo "$IMG" --name 'a/b'
	expect_fail -m 'name' cairn backup --repo repo "$IMG" --name 'vol@x'
	expect_fail -m 'name' cairn backup --repo repo "$IMG" --name ''
	# Group restore makes files of volume names: no '.' or '..'.
	expect_fail -m "invalid volume name '\.\.': it is '\.' or '\.\.'" cairn backup --repo repo "$IMG" --name '..'
	expect_fail -m "invalid volume name '\.'" cairn backup --repo repo "$IMG" --name '.' --snapshot none
	expect_fail -m 'tag' cairn backup --repo repo "$IMG" --tag "$(printf 'a\tb')"
	# Said why, before anything is read; a long one is not echoed whole.
	expect_fail -m "invalid volume name .*: it is not valid UTF-8" cairn backup --repo repo "$IMG" \
		--name "$(printf 'caf\xe9')" --snapshot none
	expect_fail -m "invalid tag 'x{64}\.\.\.': it is longer than 200 bytes" cairn backup --repo repo "$IMG" \
		--tag "$(printf 'x%.0s' {1..5000})"
	[ "$(wc -c <"$TT/.err")" -lt 300 ] || fail "the message echoes the whole tag"
	assert_unchanged repo before
}
test_case "an invalid volume name or tag is refused before anything is written" t_bad_names

t_bad_names_newline()
{
	fresh_repo
	tree_state repo >before
	# The message must stay one line even when it quotes the bad input.
	expect_fail -m 'tag' cairn backup --repo repo "$IMG" --tag "$(printf 'a\nb')"
	expect_fail -m 'name' cairn backup --repo repo "$IMG" --name "$(printf 'x\ny')"
	assert_unchanged repo before
}
test_case "a volume name or tag with a newline is refused with one line on stderr" t_bad_names_newline

t_existing_target()
{
	local sum
	rand_file target.img 5000 7
	sum=$(sha256sum <target.img)
	expect_fail -m 'force' cairn restore --repo "$P" "$(cat "$TD/id1")" target.img
	[ "$(sha256sum <target.img)" = "$sum" ] || fail "the refused restore changed the target"
	! ls target.img.cairn-* >/dev/null 2>&1 || fail "refused restore left a temporary file"
	cairn restore --repo "$P" --force "$(cat "$TD/id1")" target.img
	same_file "$TD/v1.img" target.img
	# An existing empty file is not data: no --force needed.
	: >empty.img
	cairn restore --repo "$P" "$(cat "$TD/id2")" empty.img
	same_file "$TD/v2.img" empty.img
	# A directory is not a target.
	mkdir adir
	expect_fail cairn restore --repo "$P" --force latest adir
}
test_case "restore onto a non-empty file needs --force (and then works)" t_existing_target

t_small_device()
{
	local dev sum
	rand_file small.bin $((4 << 20)) 9
	sum=$(sha256sum <small.bin)
	dev=$(setup_loop small.bin) || skip "losetup failed (no loop devices here)"
	expect_fail -m 'bytes|small|size' cairn restore --repo "$P" --force "$(cat "$TD/id1")" "$dev"
	losetup -d "$dev"
	[ "$(sha256sum <small.bin)" = "$sum" ] || fail "the refused restore wrote to the device"
}
test_case "restore onto a device smaller than the volume is refused" t_small_device

t_device()
{
	local dev size
	size=$(stat -c %s "$TD/v1.img")
	rand_file dev.bin "$size" 10
	dev=$(setup_loop dev.bin) || skip "losetup failed (no loop devices here)"
	expect_fail -m 'force|empty' cairn restore --repo "$P" "$(cat "$TD/id1")" "$dev"
	cairn restore --repo "$P" --force "$(cat "$TD/id1")" "$dev"
	cmp -n "$size" "$dev" "$TD/v1.img" || fail "device content differs after restore (holes not zeroed?)"
	losetup -d "$dev"
}
test_case "restore onto an unmounted loop device works, zeroing the holes (--force for old data)" t_device

t_mounted_device()
{
	local dev
	truncate -s 32M fs.img
	mkfs.ext4 -q -F fs.img >/dev/null 2>&1 || skip "mkfs.ext4 failed"
	dev=$(setup_loop fs.img) || skip "losetup failed (no loop devices here)"
	mkdir mnt
	mount "$dev" mnt 2>/dev/null || skip "cannot mount an ext4 loop device here"
	register_cleanup mount "$TT/mnt"
	echo precious >mnt/marker
	sync
	expect_fail -m 'mounted|in use|busy' cairn restore --repo "$P" --force "$(cat "$TD/id1")" "$dev"
	[ "$(cat mnt/marker)" = precious ] || fail "marker file changed"
	umount mnt
	losetup -d "$dev"
	e2fsck -fn fs.img >/dev/null 2>&1 || fail "the mounted file system was damaged by the refused restore"
}
test_case "restore onto a mounted device is refused" t_mounted_device

t_device_data_past_first_mib()
{
	local dev size sum
	size=$(stat -c %s "$TD/v1.img")
	truncate -s 64M big.dev
	dev=$(setup_loop big.dev) || skip "losetup failed (no loop devices here)"
	# All zeros: empty, no --force needed.
	cairn restore --repo "$P" "$(cat "$TD/id1")" "$dev"
	cmp -n "$size" "$dev" "$TD/v1.img" || fail "device content differs after restore"
	# Zeros again, but for 1 MiB of data at 40 MiB: far past the first MiB.
	dd if=/dev/zero of="$dev" bs=1M count=64 oflag=direct status=none
	rand_file data.bin $((1 << 20)) 31
	dd if=data.bin of="$dev" bs=1M seek=40 conv=notrunc oflag=direct status=none
	sum=$(sha256sum <"$dev")
	expect_fail -m 'not empty: byte [0-9]+ is not zero; use --force.*256 evenly spaced 64 KiB samples' \
		cairn restore --repo "$P" "$(cat "$TD/id1")" "$dev"
	[ "$(sha256sum <"$dev")" = "$sum" ] || fail "the refused restore changed the device"
	cairn restore --repo "$P" --force "$(cat "$TD/id1")" "$dev"
	cmp -n "$size" "$dev" "$TD/v1.img" || fail "device content differs after restore --force"
	losetup -d "$dev"
}
test_case "restore onto a device with data only past its first MiB needs --force" t_device_data_past_first_mib

t_device_signature()
{
	local dev sum
	command -v cryptsetup >/dev/null || skip "no cryptsetup"
	# A LUKS2 volume whose first MiB was wiped: blkid still finds its
	# secondary header, at 4 MiB with 4 MiB of metadata.  Everything else
	# is zeroed, and on a 4 GiB device the samples (16 MiB apart) miss
	# 4 MiB: only blkid can tell that this device is somebody's.
	truncate -s 4G luks.dev
	printf pw >key
	cryptsetup luksFormat -q --type luks2 --luks2-metadata-size 4m --luks2-keyslots-size 4m --pbkdf pbkdf2 \
		--pbkdf-force-iterations 1000 --key-file key luks.dev >/dev/null 2>&1 || skip "cryptsetup luksFormat failed"
	dd if=luks.dev of=hdr bs=4k skip=1024 count=1 status=none
	truncate -s 0 luks.dev
	truncate -s 4G luks.dev
	dd if=hdr of=luks.dev bs=4k seek=1024 conv=notrunc status=none
	[ "$(blkid -p -o value -s TYPE luks.dev)" = crypto_LUKS ] || skip "blkid does not find a lone LUKS2 secondary header"
	dev=$(setup_loop luks.dev) || skip "losetup failed (no loop devices here)"
	sum=$(head -c 32M "$dev" | sha256sum)
	expect_fail -m 'not empty: blkid finds a signature \(crypto_LUKS\); use --force' \
		cairn restore --repo "$P" "$(cat "$TD/id1")" "$dev"
	[ "$(head -c 32M "$dev" | sha256sum)" = "$sum" ] || fail "the refused restore changed the device"
	losetup -d "$dev"
}
test_case "restore onto a device with a signature the zero samples miss (LUKS2 secondary header) needs --force" t_device_signature

t_force_keeps_owner_mode()
{
	rand_file vm.img 5000 7
	chown 65534:65534 vm.img
	chmod 0640 vm.img
	cairn restore --repo "$P" --force "$(cat "$TD/id1")" vm.img
	same_file "$TD/v1.img" vm.img
	[ "$(stat -c '%a %u:%g' vm.img)" = '640 65534:65534' ] ||
		fail "restore --force changed mode and owner to $(stat -c '%a %u:%g' vm.img)"
	# A new file (documented): another hard link keeps the old data.
	rand_file old.img 5000 8
	cp old.img orig.img
	ln old.img other-link.img
	cairn restore --repo "$P" --force "$(cat "$TD/id1")" old.img
	same_file "$TD/v1.img" old.img
	same_file orig.img other-link.img
}
test_case "restore --force onto a file keeps its mode and owner" t_force_keeps_owner_mode

t_symlink_target()
{
	mkdir real
	rand_file real/disk.img 5000 9
	chmod 0604 real/disk.img
	ln -s real/disk.img link.img
	cairn restore --repo "$P" --force "$(cat "$TD/id1")" link.img
	[ -L link.img ] || fail "restore replaced the symbolic link with a file"
	[ "$(readlink link.img)" = real/disk.img ] || fail "the link now points to $(readlink link.img)"
	same_file "$TD/v1.img" real/disk.img
	[ "$(stat -c %a real/disk.img)" = 604 ] || fail "the link's target has mode $(stat -c %a real/disk.img)"
	! ls link.img.cairn-* real/disk.img.cairn-* >/dev/null 2>&1 || fail "restore left a temporary file"
	# Without --force, the link's (non-empty) target is refused.
	expect_fail -m 'force' cairn restore --repo "$P" "$(cat "$TD/id2")" link.img
	same_file "$TD/v1.img" real/disk.img
	# A link to nothing is refused, not replaced by a file.
	ln -s nowhere.img dangling.img
	expect_fail -m 'symbolic link' cairn restore --repo "$P" "$(cat "$TD/id1")" dangling.img
	[ -L dangling.img ] && [ ! -e nowhere.img ] || fail "the refused restore changed the dangling link"
}
test_case "restore to a symbolic link writes the file it names and keeps the link" t_symlink_target

t_killed_restore_leftover()
{
	local pid tmp='' i dead
	new_repo repo
	# Big enough that the restore still runs when its temporary file
	# appears and is killed; the sanitized build (CAIRN_TEST_SCALE=small)
	# restores several times slower, so a third of it lasts as long.
	rand_file big.img $(($(scaled 200 64) << 20)) 41
	cairn backup --repo repo -q big.img >/dev/null
	# Not through cairn(): its timeout would be the process whose id we get.
	CAIRN_THREADS=1 "$CAIRN" restore --repo repo latest out.img >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 1 3000); do
		tmp=$(ls out.img.cairn-restore-"$pid"-* 2>/dev/null) && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	[ -n "$tmp" ] || { kill -9 "$pid"; fail "no temporary file out.img.cairn-restore-$pid-* appeared while the restore ran"; }
	kill9_running "$pid" "the restore"
	[ -f "$tmp" ] || fail "the killed restore left no temporary file (expected $tmp)"
	[ ! -e out.img ] || fail "the killed restore created out.img"
	# Kept: a live process's file, a locked one, other names, a directory.
	dead=$pid
	: >"out.img.cairn-restore-$$-Live01"
	: >"out.img.cairn-restore-$dead-Lockd1"
	: >"out.img.cairn-restore-$dead-short"
	: >"other.img.cairn-restore-$dead-Other1"
	mkdir "out.img.cairn-restore-$dead-Adir01"
	: >"out.img.cairn-$dead-Old001"
	# Locked as a restore in another PID namespace would hold it.
	exec 9<"out.img.cairn-restore-$dead-Lockd1"
	flock -x 9
	cairn restore --repo repo latest out.img
	exec 9<&-
	[ ! -e "$tmp" ] || fail "the next restore left the killed one's temporary file $tmp"
	same_file big.img out.img
	for f in "out.img.cairn-restore-$$-Live01" "out.img.cairn-restore-$dead-Lockd1" \
		"out.img.cairn-restore-$dead-short" "other.img.cairn-restore-$dead-Other1" \
		"out.img.cairn-restore-$dead-Adir01" "out.img.cairn-$dead-Old001"; do
		[ -e "$f" ] || fail "the restore removed $f"
	done
}
test_case "a restore killed with SIGKILL: the next restore to the target removes its temporary file" t_killed_restore_leftover

# affected_consistent OUTFILE REPO: every backup named "affected" in check's
# output fails to restore, every other one restores byte-identically.
affected_consistent()
{
	local out=$1 repo=$2 id v
	for v in 1 2; do
		id=$(cat "$TD/id$v")
		if grep -q "affected: backup $id" "$out"; then
			restore_fails "$repo" "$id"
		else
			rm -f ok.img
			cairn restore --repo "$repo" "$id" ok.img || fail "backup $id was not named as affected but does not restore"
			same_file "$TD/v$v.img" ok.img
		fi
	done
}

# check_damaged REPO [--read-data]: check must exit 3 with one line on
# stderr and leave REPO as it was; its report is in $TT/check.out.
check_damaged()
{
	local repo=$1 rc=0
	shift
	tree_state "$repo" >"$TT/check.before"
	cairn check --repo "$repo" "$@" >"$TT/check.out" 2>"$TT/check.err" || rc=$?
	cat "$TT/check.out" "$TT/check.err" >&2
	[ $rc -eq 3 ] || fail "check $* exited $rc on a damaged repository, expected 3"
	[ "$(wc -l <"$TT/check.err")" -eq 1 ] || fail "check printed $(wc -l <"$TT/check.err") lines on stderr"
	assert_unchanged "$repo" "$TT/check.before"
}

t_pack_flip()
{
	local pack name rc=0
	fresh_repo
	pack=$(largest_pack repo)
	name=$(basename "$pack")
	# In the middle: a pack may begin with the catalog's nodes (written on
	# a thread of their own beside the chunks), whose damage leaves the
	# volume restorable, so check names no backup as affected; the middle
	# of the largest pack is a chunk's.
	flip_byte "$pack" $(($(stat -c %s "$pack") / 2))
	check_damaged repo --read-data
	grep -q "$name" check.out || fail "check does not name the damaged pack $name"
	grep -Eq "affected: backup [0-9a-f]{32}" check.out || fail "check names no affected backup"
	affected_consistent check.out repo
	# Check without --read-data may miss a flipped data byte, but must not crash.
	cairn check --repo repo >/dev/null 2>&1 || rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 3 ] || fail "check (structure) exited $rc"
}
test_case "a flipped byte in a pack: check --read-data exits 3 naming pack and backups; restore fails cleanly" t_pack_flip

t_pack_truncated()
{
	local pack name rc=0 id
	fresh_repo
	pack=$(largest_pack repo)
	name=$(basename "$pack")
	truncate -s -100 "$pack"
	check_damaged repo
	grep -q "$name" check.out || fail "check does not name the truncated pack $name"
	# The blobs may all still be there (only the TOC was cut): restore
	# must then be byte-identical, else fail cleanly.
	id=$(cat "$TD/id1")
	cairn restore --repo repo "$id" t.img 2>err || rc=$?
	if [ $rc -eq 0 ]; then
		same_file "$TD/v1.img" t.img
	else
		[ "$(wc -l <err)" -eq 1 ] || fail "restore printed $(wc -l <err) lines on stderr"
		[ ! -e t.img ] || fail "failed restore left the target"
	fi
	# Cut into the blobs: now the restore must fail.
	truncate -s $(($(stat -c %s "$pack") / 2)) "$pack"
	check_damaged repo
	grep -q "$name" check.out || fail "check does not name the half pack $name"
	restore_fails repo "$id"
}
test_case "a truncated pack: check exits 3 naming it; restore fails cleanly" t_pack_truncated

t_pack_deleted()
{
	local pack name
	fresh_repo
	pack=$(largest_pack repo)
	name=$(basename "$pack")
	rm -f "$pack"
	check_damaged repo
	grep -q "$name" check.out || fail "check does not name the missing pack $name"
	grep -qi 'missing' check.out || fail "check does not say the pack is missing"
	affected_consistent check.out repo
}
test_case "a deleted pack: check reports it missing and names the affected backups" t_pack_deleted

t_index_flip()
{
	local idx v
	fresh_repo
	idx=$(find repo/index -type f | head -n1)
	flip_byte "$idx" 40
	check_damaged repo
	grep -q "$(basename "$idx")" check.out || fail "check does not name the index object"
	cairn repair --repo repo index
	cairn check --repo repo --read-data || fail "check fails after repair index"
	for v in 1 2; do
		cairn restore --repo repo "$(cat "$TD/id$v")" r$v.img
		same_file "$TD/v$v.img" r$v.img
	done
	[ ! -e "$idx" ] || fail "repair index kept the damaged index object"
}
test_case "a flipped byte in an index object: check reports it; repair index fixes it" t_index_flip

t_index_deleted()
{
	fresh_repo
	rm -f repo/index/*
	check_damaged repo
	cairn repair --repo repo index
	cairn check --repo repo --read-data
	cairn restore --repo repo "$(cat "$TD/id2")" r.img
	same_file "$TD/v2.img" r.img
}
test_case "all index objects deleted: check exits 3; repair index rebuilds from packs" t_index_deleted

# A repository whose first backup's manifest has a flipped byte.
MR=$TD/manifest-damaged

t_manifest_list()
{
	local id1 id2 rc=0
	cp -a "$P" "$MR"
	id1=$(cat "$TD/id1") id2=$(cat "$TD/id2")
	flip_byte "$MR/backups/$id1" 30
	tree_state "$MR" >"$TD/mr.state"
	cairn list --repo "$MR" --json >list.json 2>list.err || rc=$?
	cat list.err >&2
	[ $rc -ne 0 ] || fail "list exits 0 with a damaged manifest"
	[ "$(jq -r '.[].id' list.json)" = "$id2" ] || fail "list does not show the intact backup"
	[ "$(wc -l <list.err)" -eq 1 ] || fail "list printed $(wc -l <list.err) lines on stderr, expected one"
	grep -Eqi 'damaged|corrupt' list.err || fail "list's message does not name the damage: $(cat list.err)"
	grep -q "$id1" list.err || fail "list's message does not name the damaged manifest $id1"
}
test_case "a flipped byte in a manifest: list lists the others, exits non-zero, one line naming it" t_manifest_list

t_manifest_restore()
{
	restore_fails "$MR" "$(cat "$TD/id1")"
	cairn restore --repo "$MR" "$(cat "$TD/id2")" r.img
	same_file "$TD/v2.img" r.img
	assert_unchanged "$MR" "$TD/mr.state"
}
test_case "a flipped byte in a manifest: restore of it fails with one line; the other restores" t_manifest_restore

t_manifest_check()
{
	local rc=0
	cairn check --repo "$MR" >check.out 2>check.err || rc=$?
	cat check.out check.err >&2
	[ $rc -eq 3 ] || fail "check exited $rc with a damaged manifest, expected 3"
	grep -q "$(cat "$TD/id1")" check.out || fail "check's report (stdout) does not name the damaged manifest"
	[ "$(wc -l <check.err)" -eq 1 ] || fail "check printed $(wc -l <check.err) lines on stderr"
	assert_unchanged "$MR" "$TD/mr.state"
}
test_case "a flipped byte in a manifest: check exits 3 and its report names the manifest" t_manifest_check

t_config_flip()
{
	fresh_repo
	flip_byte repo/config 40
	tree_state repo >before
	expect_fail -m 'config|damaged|corrupt' cairn list --repo repo
	restore_fails repo latest
	expect_fail cairn backup --repo repo "$IMG"
	assert_unchanged repo before
}
test_case "a flipped byte in the config is a clear error" t_config_flip

t_key_flip()
{
	fresh_repo
	flip_byte "$(find repo/keys -type f | head -n1)" 100
	tree_state repo >before
	expect_fail cairn list --repo repo
	restore_fails repo latest
	assert_unchanged repo before
}
test_case "a flipped byte in the only key object is a clear error" t_key_flip

t_full_disk()
{
	local before
	mkdir mnt
	mount -t tmpfs -o size=20m tmpfs mnt 2>/dev/null || skip "cannot mount a tmpfs here"
	register_cleanup mount "$TT/mnt"
	new_repo mnt/repo
	rand_file small.img $((2 << 20)) 21
	cairn backup --repo mnt/repo -q small.img >/dev/null
	rand_file big.img $((64 << 20)) 22
	expect_fail -m 'space' cairn backup --repo mnt/repo big.img
	[ "$(backup_count mnt/repo)" -eq 1 ] || fail "the failed backup was listed"
	no_tmp_files mnt/repo
	cairn check --repo mnt/repo || fail "check fails after a backup ran out of space"
	cairn restore --repo mnt/repo latest r.img
	same_file small.img r.img
	umount mnt
}
test_case "a full disk fails the backup with one line; no manifest; check passes" t_full_disk

t_full_disk_restore()
{
	local dev id
	new_repo repo
	rand_file big.img $((40 << 20)) 24
	id=$(cairn backup --repo repo -q big.img)
	truncate -s 24M fs.img
	mkfs.ext4 -q -F fs.img
	dev=$(setup_loop fs.img) || skip "no loop device"
	mkdir mnt
	mount "$dev" mnt 2>/dev/null || skip "cannot mount ext4 here"
	register_cleanup mount "$TT/mnt"
	# Into a new file: nothing is left under any name.
	tree_state mnt >before
	expect_fail -m 'space' cairn restore --repo repo "$id" mnt/new.img
	[ ! -e mnt/new.img ] || fail "the failed restore left the target"
	assert_unchanged mnt before
	# Over an existing file (--force): it stays as it was.
	rand_file mnt/old.img $((1 << 20)) 25
	tree_state mnt >before
	expect_fail -m 'space' cairn restore --repo repo "$id" --force mnt/old.img
	assert_unchanged mnt before
	# All the space came back: a volume that fits restores.
	rand_file small.img $((8 << 20)) 26
	id=$(cairn backup --repo repo -q small.img)
	cairn restore --repo repo "$id" mnt/small.img -q
	same_file small.img mnt/small.img
	umount mnt
}
test_case "a full disk during restore: one line, the target as it was (or absent), no temporary left" t_full_disk_restore

t_fault_put()
{
	local n at puts ats rc=0 torn
	new_repo base --pack-size 1M
	rand_file v.img $((6 << 20)) 23
	# How many puts does a backup make?  (In a scratch copy.)
	cp -a base count
	CAIRN_TEST_COUNT=$TT/count.json cairn backup --repo count -q v.img >/dev/null
	puts=$(jq -s 'map(.put) | add' count.json)
	echo "a backup makes $puts puts" >&2
	[ "$puts" -ge 4 ] || fail "a 6 MiB backup with 1 MiB packs made only $puts puts"
	ats=$(printf '%s\n' 1 2 $((puts / 2)) $((puts - 1)) "$puts" | sort -nu)
	for at in $ats; do
		rm -rf repo
		cp -a base repo
		CAIRN_TEST_FAULT="ops=put,at=$at,code=EIO" expect_fail -m 'injected|EIO|I/O' cairn backup --repo repo v.img
		[ "$(backup_count repo)" -eq 0 ] || fail "backup failing at put $at was listed"
		no_tmp_files repo
		cairn check --repo repo || fail "check fails after a backup failed at put $at"
		cairn backup --repo repo -q v.img >/dev/null || fail "re-run after a fault at put $at fails"
		cairn restore --repo repo latest r$at.img
		same_file v.img r$at.img
		cairn check --repo repo --read-data || fail "check --read-data fails after the re-run (fault at $at)"
	done
	# A torn put (half the object visible under its key, as on a store
	# without atomic puts): the re-run must still succeed and restore;
	# check may report the torn unindexed pack but no backup may be affected.
	rm -rf repo
	cp -a base repo
	CAIRN_TEST_FAULT='ops=put,at=2,truncate=1' expect_fail cairn backup --repo repo v.img
	cp "$TT/.err" "$TT/torn.err"
	[ "$(backup_count repo)" -eq 0 ] || fail "backup with a torn put was listed"
	cairn backup --repo repo -q v.img >/dev/null || fail "re-run after a torn put fails"
	cairn restore --repo repo latest torn.img
	same_file v.img torn.img
	cairn check --repo repo --read-data >check.out 2>&1 || rc=$?
	case $rc in
	0) ;;
	3)
		# Only the torn pack, the one whose upload failed, may be named.
		torn=$(grep -Eo 'packs/[0-9a-f]{2}/[0-9a-f]{64}' "$TT/torn.err" | head -n1)
		[ -n "$torn" ] || fail "the torn put's error names no pack: $(cat "$TT/torn.err")"
		grep -q "^damaged: $torn: " check.out && [ "$(grep -c '^damaged: ' check.out)" -eq 1 ] ||
			fail "check reports other damage than the torn pack $torn: $(grep '^damaged: ' check.out | tr '\n' '|')"
		grep -q ' 0 backup(s) affected' check.out || fail "a torn unindexed pack affects a backup: $(tail -n1 check.out)"
		;;
	*) fail "check --read-data after a torn put exited $rc: $(tail -n1 check.out)" ;;
	esac
	! grep -q '^affected:' check.out || fail "a torn unindexed pack affects a backup: $(grep '^affected:' check.out)"
	# Persistent failure from put 2 on.
	rm -rf repo
	cp -a base repo
	CAIRN_TEST_FAULT='ops=put,at=2,persistent=1' expect_fail cairn backup --repo repo v.img
	[ "$(backup_count repo)" -eq 0 ] || fail "backup with persistent put failures was listed"
}
test_case "CAIRN_TEST_FAULT: a backup failing at the Nth put fails cleanly; a re-run succeeds" t_fault_put

t_fault_get()
{
	local id gets at
	fresh_repo
	id=$(cat "$TD/id1")
	# How many gets does this restore make?  From any of them on, a
	# persistent fault must fail it, cleanly.  (The first restore builds the
	# local index cache: the later ones read no index object.)
	cairn restore --repo repo "$id" warm.img -q
	CAIRN_TEST_COUNT=$TT/count.json cairn restore --repo repo "$id" count.img -q
	same_file "$TD/v1.img" count.img
	gets=$(jq -s 'map(.get) | add' count.json)
	echo "a restore makes $gets gets" >&2
	[ "$gets" -ge 4 ] || fail "a restore made only $gets gets"
	for at in $(printf '%s\n' 1 3 $((gets / 2)) "$gets" | sort -nu); do
		CAIRN_TEST_FAULT="ops=get,at=$at,persistent=1" restore_fails repo "$id"
	done
	# A corrupting get is caught by authentication.
	CAIRN_TEST_FAULT='ops=get,at=0,corrupt=packs/' restore_fails repo "$id"
}
test_case "CAIRN_TEST_FAULT on get: restore fails cleanly, leaving no target" t_fault_get

# nocurl CMD...: CMD in a private mount namespace where every libcurl that
# cairn could load (libcurl.so.4, libcurl-gnutls.so.4) reads as an empty file.
nocurl()
{
	unshare -m --propagation private sh -c '
		for l in $(ldconfig -p | awk "/libcurl(-gnutls)?\\.so\\.4 /{print \$NF}"); do
			mount --bind /dev/null "$(readlink -f "$l")" || exit 99
		done
		shift; exec "$@"' sh -- "$@"
}

t_no_libcurl()
{
	[ "$(id -u)" = 0 ] && command -v unshare >/dev/null || skip "needs root and unshare for a private mount namespace"
	ldconfig -p | grep -q 'libcurl' || skip "no libcurl on this machine"
	# A local repository needs no libcurl: init, backup, restore.
	expect_ok nocurl "$CAIRN" init --repo repo
	expect_ok nocurl "$CAIRN" backup --repo repo -q "$IMG"
	expect_ok nocurl "$CAIRN" restore --repo repo latest out.img
	same_file "$IMG" out.img
	# An object store does: one line naming it, nothing created.
	AWS_ACCESS_KEY_ID=a AWS_SECRET_ACCESS_KEY=b expect_fail -m '^cairn: libcurl is not installed \(.*\); object-store repositories need it$' \
		nocurl "$CAIRN" init --repo 's3://bucket/x?endpoint=http://127.0.0.1:9&region=us-east-1'
	AZURE_STORAGE_KEY=$(printf 'k%.0s' {1..32} | base64 -w0) expect_fail -m 'libcurl is not installed' \
		nocurl "$CAIRN" init --repo 'azure://account/container/x?endpoint=http://127.0.0.1:9'
}
test_case "without libcurl: local repositories work; s3:// and azure:// fail with one line naming it" t_no_libcurl

# plant PATH: a sparse 1 GiB file at PATH, as a stray or hostile object.
plant()
{
	mkdir -p "$(dirname "$1")"
	truncate -s 1G "$1"
}

# A 1 GiB config is measured before it is read: one get of at most its cap
# (64 KiB) + 1 bytes, one line naming it.
t_huge_config()
{
	fresh_repo
	plant repo/config
	expect_fail -m 'config is larger than the cap of 65536 bytes' measured list --repo repo
	bounded 65537
	expect_fail -m 'config is larger than the cap' measured check --repo repo
	bounded 65537
	restore_fails repo latest
}
test_case "a 1 GiB config: list and check fail with one line naming it, reading at most 64 KiB + 1, under 100 MiB" t_huge_config

# Each other kind known from its listing: not a byte of it is read.
t_huge_objects()
{
	local m i g h l k o id2
	fresh_repo
	id2=$(cat "$TD/id2")
	m=backups/$(rand_hex 16) i=index/$(rand_hex 32) g=groups/$(rand_hex 16) h=holds/$id2 l=lease/$(rand_hex 16) \
		k=running/$(rand_hex 16)
	for o in $m $i $g $h $l $k; do plant "repo/$o"; done
	tree_state repo >before
	check_too_large repo $m $i $g $h $l $k
	# list: the manifest is damaged (exit 1, one line naming it), the hold
	# still holds (a warning); the intact backups are listed.
	measured list --repo repo >list.out 2>list.err && fail "list exited 0 with a damaged manifest"
	bounded $((1 << 20))
	grep -q "$m is 1073741824 bytes, over the cap of 1048576 bytes for manifests" list.err || fail "list: $(cat list.err)"
	grep -q "warning: $h is 1073741824 bytes.*it still holds backup $id2" list.err || fail "list: $(cat list.err)"
	grep -q "${id2:0:16}  .*held" list.out || fail "list lost the held backup: $(cat list.out)"
	# restore skips the index object with a warning, and is byte-identical.
	measured restore --repo repo "$id2" r.img 2>r.err
	bounded $((32 << 20))
	grep -q "index object $i is damaged.*over the cap" r.err || fail "restore: $(cat r.err)"
	same_file "$TD/v2.img" r.img
	expect_fail -m "$g" measured group list --repo repo --backups
	bounded $((1 << 20))
	expect_fail -m "damaged lease object: $l is 1073741824 bytes" measured prune --repo repo
	bounded $((1 << 20))
	assert_unchanged repo before
}
test_case "1 GiB manifest, index, group, hold, lease and marker objects: named as too large, never read, under 100 MiB" t_huge_objects

test_done
