#!/bin/bash
# t19: local privilege.  root backs up and reverts an image in a directory
# that another user (nobody) owns, while that user keeps swapping every
# name cairn might use there: the image (for a link to a root-only file
# and back), a planted .cairn-snapshots link into a root-only directory,
# and any temporary it sees.  Every backup that succeeds restores to the
# image; every revert leaves the image as the snapshot or fails with one
# line; the root-only file's bytes never appear where they do not belong.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
U=65534
MARK=CAIRN-ROOT-ONLY-SECRET

need_root_and_nobody()
{
	[ "$(id -u)" = 0 ] || skip "needs root: the attack is on root's backups of another user's image"
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	getent passwd nobody >/dev/null || skip "no user nobody"
	setpriv --reuid=$U --regid=$U --clear-groups true 2>/dev/null || skip "setpriv cannot run as nobody here"
	# The system's python (root's own, e.g. under pyenv, may be closed to nobody).
	as_nobody /usr/bin/python3 -c pass 2>/dev/null || skip "nobody cannot run /usr/bin/python3"
}

# as_nobody CMD...: runs CMD as uid/gid 65534.
as_nobody()
{
	setpriv --reuid=$U --regid=$U --clear-groups "$@"
}

t_setup()
{
	need_root_and_nobody
	# nobody may pass through $TD to its own directories, nothing more.
	chmod 711 "$TD"
	new_repo "$R"
	mkdir -m 700 "$TD/vault"
	python3 - "$TD/vault/secret" "$MARK" <<'EOF'
import sys
path, mark = sys.argv[1], sys.argv[2]
with open(path, "w") as f:
    for i in range(2048):
        f.write("%s %06d\n" % (mark, i))
EOF
	chmod 600 "$TD/vault/secret"
	sha256sum <"$TD/vault/secret" >"$TD/secret.sha"
	touch "$TD/ready"
}
test_case "setup: a repository and a root-only secret file" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete (needs root, setpriv and user nobody)"
}

# attack_dir DIR: DIR becomes nobody's, with nobody's 1 MiB image DIR/img
# (a copy in $TD/img.orig) and a planted DIR/.cairn-snapshots link to the
# root-only directory holding the secret.
attack_dir()
{
	local d=$1
	mkdir -p "$d"
	chown $U:$U "$d"
	chmod 755 "$d"
	rand_file "$TD/img.orig" $((1 << 20)) 77
	cp "$TD/img.orig" "$d/img"
	chown $U:$U "$d/img"
	as_nobody ln -s "$TD/vault" "$d/.cairn-snapshots"
	as_nobody ln "$d/img" "$d/.keep"
}

# start_swapper DIR: nobody's loop in the background (pid in $SWAPPER):
# over and over, the image becomes a link to the secret and then its own
# file again, .cairn-snapshots is planted again if it went, and every
# other name that appears (a temporary of cairn's) is replaced by a link to
# the secret.  While $TD/pause exists it stops with the image in place and
# DIR/.paused present.
start_swapper()
{
	as_nobody /usr/bin/python3 - "$1" "$TD/vault/secret" "$TD/vault" "$TD/pause" "$TD/stop" <<'EOF' &
import os, random, sys, time
d, secret, vault, pause, stop = sys.argv[1:6]
img, keep, snaps, paused = (os.path.join(d, n) for n in ("img", ".keep", ".cairn-snapshots", ".paused"))
ours = {"img", ".keep", ".cairn-snapshots", ".paused"}
n = 0
def put(make, name):
    global n
    n += 1
    t = os.path.join(d, ".swap%d" % n)
    try:
        make(t)
        os.rename(t, name)
    except OSError:
        try:
            os.unlink(t)
        except OSError:
            pass
while not os.path.exists(stop):
    # The image is a link for a moment, now and then for longer, then its
    # file again: some runs meet the one, most the other.
    put(lambda t: os.symlink(secret, t), img)
    if random.random() < 0.2:
        time.sleep(0.003)
    put(lambda t: os.link(keep, t), img)
    if not os.path.lexists(snaps):
        put(lambda t: os.symlink(vault, t), snaps)
    for e in os.listdir(d):
        if e not in ours and not e.startswith(".swap"):
            put(lambda t: os.symlink(secret, t), os.path.join(d, e))
    time.sleep(0.0005)
    if os.path.exists(pause):
        open(paused, "w").close()
        while os.path.exists(pause) and not os.path.exists(stop):
            time.sleep(0.002)
        os.unlink(paused)
EOF
	SWAPPER=$!
}

stop_swapper()
{
	touch "$TD/stop"
	wait "$SWAPPER" 2>/dev/null || true
	rm -f "$TD/stop" "$TD/pause"
}

# pause_swapper DIR: waits until the loop stands still with the image back.
pause_swapper()
{
	local i
	touch "$TD/pause"
	for i in $(seq 1 2000); do
		[ -e "$1/.paused" ] && return 0
		kill -0 "$SWAPPER" 2>/dev/null || fail "the swap loop died"
		sleep 0.005
	done
	fail "the swap loop did not pause"
}

resume_swapper()
{
	rm -f "$TD/pause"
}

# no_secret_in FILE...: the secret's marker is in none of them (links are
# not followed: only what cairn wrote counts).
no_secret_in()
{
	local hit
	hit=$(grep -rlF "$MARK" "$@" 2>/dev/null | head -n 3 | tr '\n' ' ') || true
	[ -z "$hit" ] || fail "the root-only secret is in: $hit"
}

secret_unchanged()
{
	[ "$(sha256sum <"$TD/vault/secret")" = "$(cat "$TD/secret.sha")" ] || fail "the secret file changed"
}

# one_line FILE: a failure's stderr is exactly one line.
one_line()
{
	[ "$(wc -l <"$1")" -eq 1 ] || fail "a failure printed $(wc -l <"$1") lines: $(head -c 300 "$1" | tr '\n' '|')"
}

# attack DIR NAME: 20 backups then 100 reverts of DIR/img under the swap
# loop, with the checks in the header (8 and 40 under CAIRN_TEST_SCALE=small:
# the sanitized build's rounds take the same paths, several times slower).
NBACKUPS=$(scaled 20 8)
NREVERTS=$(scaled 100 40)
attack()
{
	local d=$1 name=$2 i rc ok=0 refused=0 id
	attack_dir "$d"
	start_swapper "$d"
	trap 'stop_swapper' EXIT
	# Each round races the swapper; a run of refusals is a fair outcome but
	# asserts nothing about the backups, so rounds go on (up to 3x) until
	# one succeeds.
	i=0
	while [ $i -lt "$NBACKUPS" ] || { [ $ok -eq 0 ] && [ $i -lt $((3 * NBACKUPS)) ]; }; do
		i=$((i + 1))
		rc=0
		"$CAIRN" backup --repo "$R" "$d/img" --name "$name" -q >id 2>err || rc=$?
		[ $rc -lt 128 ] || fail "backup $i died of signal $((rc - 128))"
		if [ $rc -eq 0 ]; then
			ok=$((ok + 1))
			id=$(cat id)
			cairn restore --repo "$R" "$id" "r$i.img"
			same_file "$TD/img.orig" "r$i.img"
		else
			one_line err
			grep -q "symbolic link owned by uid $U" err || fail "backup $i failed otherwise: $(cat err)"
			refused=$((refused + 1))
			cat err >>failures
		fi
	done
	echo "backups: $ok succeeded, $refused refused a link" >&2
	[ $ok -gt 0 ] || fail "no backup succeeded: the test asserted nothing about them"
	no_secret_in r*.img "$CAIRN_STATE_DIR/snapshots"

	pause_swapper "$d"
	cairn snapshot create "$d/img" --name "$name" >sid
	resume_swapper
	ok=0 refused=0
	for i in $(seq 1 "$NREVERTS"); do
		rc=0
		"$CAIRN" snapshot revert "$(cat sid)" --force 2>err || rc=$?
		[ $rc -lt 128 ] || fail "revert $i died of signal $((rc - 128))"
		if [ $rc -eq 0 ]; then
			ok=$((ok + 1))
		else
			one_line err
			refused=$((refused + 1))
			cat err >>failures
		fi
		pause_swapper "$d"
		[ ! -L "$d/img" ] && [ -f "$d/img" ] || fail "after revert $i the image is not a regular file"
		cmp -s "$TD/img.orig" "$d/img" || fail "after revert $i the image differs from the snapshot"
		resume_swapper
	done
	echo "reverts: $ok succeeded, $refused failed with one line" >&2
	# The failures, by kind (numbers and names left out), for the log.
	[ ! -f failures ] || sed 's/[0-9a-zA-Z/._-]*cairn-e2e[^ :]*//g; s/[0-9]\+//g' failures | sort | uniq -c >&2
	[ $ok -gt 0 ] || fail "no revert succeeded: the test asserted nothing about them"
	stop_swapper
	trap - EXIT
	no_secret_in "$d" "$CAIRN_STATE_DIR/snapshots" r*.img
	[ ! -d "$d/../.cairn-snapshots" ] || no_secret_in "$d/../.cairn-snapshots"
	secret_unchanged
	[ "$(stat -c '%a %u' "$TD/vault/secret")" = "600 0" ] || fail "the secret file's mode or owner changed"
	[ "$(ls -A "$TD/vault")" = secret ] || fail "something was made in the root-only directory: $(ls -A "$TD/vault")"
	[ -L "$d/.cairn-snapshots" ] || fail "the planted .cairn-snapshots was replaced"
}

t_same_fs()
{
	need_setup
	# The state directory is on this file system: copies go under it.
	attack "$TD/evil" img
	cairn snapshot list --json | jq -e '[.[] | select(.path | startswith("'"$TD/evil"'"))] | length == 0' >/dev/null ||
		fail "a snapshot was made in nobody's directory"
}
test_case "nobody's directory, swapped during $NBACKUPS backups and $NREVERTS reverts: restores identical, no root-only byte leaks" t_same_fs

t_xfs()
{
	need_setup
	mkfs_mount xfs "$TD/xfs" 512M
	# Reflinks on another file system than the state directory: at its
	# root, in a directory of root's, never in nobody's.
	attack "$TD/xfs/evil" xfsimg
	[ "$(stat -c '%a %u' "$TD/xfs/.cairn-snapshots")" = "700 0" ] ||
		fail "the snapshot directory is $(stat -c '%a %u' "$TD/xfs/.cairn-snapshots")"
	cairn snapshot list --json | jq -e '[.[] | select(.method == "reflink")] | length >= 1' >/dev/null ||
		fail "no reflink snapshot on XFS"
}
test_case "the same on XFS: reflinks at the file system's root, never in nobody's directory" t_xfs

t_planted_snapdir()
{
	need_setup
	# A snapshot directory that is not cairn's alone is refused, never
	# used or repaired: group-writable, another user's, a link.
	local st=$TT/state
	mkdir -m 700 "$st"
	rand_file v.img 65536 5
	mkdir -m 770 "$st/snapshots"
	CAIRN_STATE_DIR=$st expect_fail -m "refusing snapshot directory $st/snapshots: its mode 0770" \
		cairn backup --repo "$R" v.img --snapshot copy
	[ -z "$(ls -A "$st/snapshots")" ] || fail "something was made in the refused directory"
	[ "$(stat -c %a "$st/snapshots")" = 770 ] || fail "the refused directory's mode was changed"
	chmod 700 "$st/snapshots"
	chown $U:$U "$st/snapshots"
	CAIRN_STATE_DIR=$st expect_fail -m "owned by uid $U" cairn snapshot create v.img --method copy
	rmdir "$st/snapshots"
	ln -s "$TD/vault" "$st/snapshots"
	CAIRN_STATE_DIR=$st expect_fail -m "symbolic link" cairn backup --repo "$R" v.img --snapshot copy
	[ "$(ls -A "$TD/vault")" = secret ] || fail "something was made through the link"
}
test_case "a snapshot directory group-writable, of another user or a link is refused with one line, untouched" t_planted_snapdir

t_links_refused()
{
	need_setup
	# Another user's link as a backup source, a restore target or a
	# volume to revert is refused; root's own links are followed.
	mkdir -m 755 links
	rand_file links/real.img 65536 6
	ln -s real.img links/root.img
	ln -s "$TD/vault/secret" links/theirs.img
	chown -h $U:$U links/theirs.img
	expect_fail -m "links/theirs.img is a symbolic link owned by uid $U; give the path it points to" \
		cairn backup --repo "$R" links/theirs.img
	expect_fail -m "symbolic link owned by uid $U" cairn backup --repo "$R" links/theirs.img --snapshot none
	cairn backup --repo "$R" links/root.img --name rootlink -q >id
	cairn restore --repo "$R" "$(cat id)" r.img
	same_file links/real.img r.img
	expect_fail -m "symbolic link owned by uid $U" cairn restore --repo "$R" "$(cat id)" links/theirs.img --force
	secret_unchanged
	# A link on the way, not only at the end.
	ln -s links dirlink
	chown -h $U:$U dirlink
	expect_fail -m "dirlink is a symbolic link owned by uid $U" cairn backup --repo "$R" dirlink/real.img
}
test_case "another user's symbolic link as source, restore target or on the way is refused; root's own is followed" t_links_refused

t_old_place()
{
	need_setup
	# A snapshot an older cairn recorded beside its image
	# (DIR/.cairn-snapshots): revert and delete still work while that
	# directory is cairn's alone, and are refused once it is not.
	local id=00c0ffee00c0ffee
	mkdir -m 755 old
	rand_file old/v.img 65536 7
	cp old/v.img want.img
	mkdir -m 700 old/.cairn-snapshots
	cp old/v.img "old/.cairn-snapshots/v.img.$id"
	chmod 400 "old/.cairn-snapshots/v.img.$id"
	cairn snapshot list >/dev/null # the database exists
	python3 - "$CAIRN_STATE_DIR/state.db" "$TT/old/v.img" "$TT/old/.cairn-snapshots/v.img.$id" "$id" <<'EOF'
import os, sqlite3, sys
db, vol, path, sid = sys.argv[1:5]
st = os.stat(path)
c = sqlite3.connect(db)
c.execute("INSERT INTO snapshots (id, name, volume, path, method, kind, created, dev, ino, size, mtime_ns,"
          " ctime_ns) VALUES (?, 'old', ?, ?, 'copy', 'user', 1700000000000000, ?, ?, ?, ?, ?)",
          (sid, vol, path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
c.commit()
EOF
	cairn snapshot list old/v.img --json | jq -e '.[0].intact == true' >/dev/null || fail "the old snapshot is not intact"
	scatter_write old/v.img 8 4 >/dev/null
	cairn snapshot revert old/v.img@old
	same_file want.img old/v.img
	chmod 775 old/.cairn-snapshots
	expect_fail -m "refusing snapshot directory $TT/old/.cairn-snapshots: its mode 0775" \
		cairn snapshot revert old/v.img@old
	expect_fail -m "refusing snapshot directory" cairn snapshot delete old/v.img@old
	[ -f "old/.cairn-snapshots/v.img.$id" ] || fail "a refused delete removed the snapshot"
	chmod 700 old/.cairn-snapshots
	mv old/.cairn-snapshots old/moved
	ln -s moved old/.cairn-snapshots
	expect_fail -m "symbolic link" cairn snapshot revert old/v.img@old
	rm old/.cairn-snapshots
	mv old/moved old/.cairn-snapshots
	cairn snapshot delete old/v.img@old
	[ ! -e "old/.cairn-snapshots/v.img.$id" ] || fail "delete left the old snapshot"
}
test_case "a snapshot recorded beside its image by an older cairn: usable while that directory is cairn's, refused after" t_old_place

test_done
