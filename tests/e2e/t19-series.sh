#!/bin/bash
# t19: series and what this host has seen: one series per source (a default
# volume name never joins the backups of another disk), and backups seen
# before that vanish from the store (rollback, hiding) are reported.
. "$(dirname "$0")/lib.sh"

R=$TD/repo

t_setup()
{
	new_repo "$R"
	mkdir -p "$TD/a" "$TD/b"
	mk_image "$TD/a/disk.img" 16 191 4
	rand_file "$TD/b/disk.img" $((2 << 20)) 192
	touch "$TD/ready"
}
test_case "setup: a repository, two different disk.img in two directories" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete"
}

t_series_refused()
{
	need_setup
	cairn backup --repo "$R" -q "$TD/a/disk.img" >"$TD/a.id"
	cp -r "$R" repo.before
	# Another disk under the same default name: refused before anything is
	# read (no snapshot copy taken), naming the other source and --name.
	expect_fail -m "volume name 'disk.img' is taken by the backups of another source, $TD/a/disk.img on host .*--name" \
		cairn backup --repo "$R" "$TD/b/disk.img"
	"$CAIRN" backup --repo "$R" "$TD/b/disk.img" --snapshot copy -vv 2>copy.err && fail "the second disk was backed up"
	grep -q "another source" copy.err || fail "backup said: $(tail -n2 copy.err)"
	! grep -q "snapshot (copy)" copy.err || fail "the refused backup copied the volume first"
	expect_fail -m "another source" cairn backup --repo "$R" "$TD/b/disk.img" --snapshot none
	diff -r repo.before "$R" >/dev/null || fail "a refused backup changed the repository"
	[ "$(backup_count "$R")" = 1 ] || fail "$(backup_count "$R") backups after refusals"
	cairn restore --repo "$R" disk.img@latest out.img -q
	same_file "$TD/a/disk.img" out.img
}
test_case "a second disk with the same base name is refused, naming the first and --name" t_series_refused

t_series_name_given()
{
	need_setup
	# A name of its own: a series of its own.
	cairn backup --repo "$R" -q "$TD/b/disk.img" --name disk-b >b.id
	cairn restore --repo "$R" disk-b@latest outb.img -q
	same_file "$TD/b/disk.img" outb.img
	cairn restore --repo "$R" disk.img@latest outa.img -q
	same_file "$TD/a/disk.img" outa.img
	# Then the default name again: disk-b is b's series now.
	scatter_write "$TD/b/disk.img" 193 4 >/dev/null
	cairn backup --repo "$R" -q "$TD/b/disk.img" --name disk-b >/dev/null
	# The first disk's name given explicitly: the user said so.
	cairn backup --repo "$R" -q "$TD/b/disk.img" --name disk.img >b2.id
	cairn list --repo "$R" --volume disk.img --json >l.json
	jq -e --arg a "$(cat "$TD/a.id")" --arg b "$(cat b2.id)" '[.[].id] == [$a, $b]' l.json >/dev/null ||
		fail "disk.img series: $(jq -c '[.[].id]' l.json)"
	cairn restore --repo "$R" disk.img@latest outb2.img -q
	same_file "$TD/b/disk.img" outb2.img
	# Now the newest disk.img is b's: a by its default name is refused in turn.
	expect_fail -m "another source, $TD/b/disk.img" cairn backup --repo "$R" "$TD/a/disk.img"
	cairn backup --repo "$R" -q "$TD/a/disk.img" --name disk.img >/dev/null
	cairn backup --repo "$R" -q "$TD/a/disk.img" >/dev/null
}
test_case "--name: a series of its own, or explicitly the other source's series" t_series_name_given

t_series_same_file()
{
	need_setup
	# The same image through a symlinked directory, and through a link to
	# the file: still the same source, the same series.
	ln -s "$TD/a" linkdir
	ln -s "$TD/a/disk.img" link.img
	local n
	n=$(backup_count "$R")
	cairn backup --repo "$R" -q linkdir/disk.img >l1.id
	cairn backup --repo "$R" -q --snapshot none "$TD/a/../a/disk.img" >/dev/null
	cairn backup --repo "$R" -q link.img >/dev/null
	[ "$(backup_count "$R")" = $((n + 3)) ] || fail "expected 3 more backups"
	cairn list --repo "$R" --json | jq -e --arg d "$TD/a/disk.img" --arg id "$(cat l1.id)" \
		'.[] | select(.id == $id) | .volume == "disk.img" and .source == $d' >/dev/null ||
		fail "source recorded: $(cairn list --repo "$R" --json | jq -c --arg id "$(cat l1.id)" '.[] | select(.id == $id)')"
	cairn check --repo "$R" -q
}
test_case "the same image via a symlinked directory or a link is the same series" t_series_same_file

test_done
