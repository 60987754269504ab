# shellcheck shell=bash
# Helpers for cairn's end-to-end tests (sourced by tests/e2e/t*.sh).
#
# A test file sources this, defines one shell function per behaviour and
# runs each with `test_case NAME FUNCTION [ARG...]`, one top-level line each
# (never inside a function, loop or `if`: run.sh counts those lines to know
# how many results the file owes; the same test on two servers or file
# systems is two lines passing their names as ARG).  Each function runs in a
# subshell with `set -eE`, in its own scratch directory $TT; state that
# later tests of the same file need lives in the file's directory $TD
# (repositories, images, backup ids written to files).  A test passes when
# its function returns 0.  A failing command fails the test with the line
# and command as the reason; `fail MSG` fails it with MSG.
#
# Output, one line per test, read by run.sh which numbers them:
#     ok - NAME
#     ok - NAME # SKIP why
#     not ok - NAME # reason
# Lines starting with '#' are diagnostics.
#
# Environment: CAIRN (the binary, required), CAIRN_E2E_KEEP=1 keeps the
# temporary directories, CAIRN_E2E_TIMEOUT (seconds per cairn command,
# default 300), CAIRN_E2E_VERBOSE=1 prints every failing test's log,
# CAIRN_TEST_SCALE=small runs the repeated rounds of race tests fewer
# times (see E2E_SMALL below).

set -u

: "${CAIRN:?set CAIRN to the cairn binary (tests/e2e/run.sh does)}"
case $CAIRN in /*) ;; *) CAIRN=$PWD/$CAIRN ;; esac
[ -x "$CAIRN" ] || { echo "not ok - $CAIRN is not an executable"; exit 1; }
export CAIRN

E2E_NAME=$(basename "$0" .sh)
E2E_DIR=$(cd "$(dirname "$0")" && pwd)
E2E_TIMEOUT=${CAIRN_E2E_TIMEOUT:-300}

# Known environment: nothing from the caller's shell leaks into a test.
unset CAIRN_REPO CAIRN_PASSPHRASE_FILE CAIRN_NEW_PASSPHRASE CAIRN_NEW_PASSPHRASE_FILE \
	CAIRN_TEST_FAULT CAIRN_TEST_COUNT CAIRN_THREADS CAIRN_STATE_DIR CAIRN_NO_PROGRESS
export CAIRN_PASSPHRASE='correct horse battery staple (e2e)'
# A passphrase work factor below what init allows (1 MiB of scrypt memory,
# CAIRN_TEST_KDF_LOG2N, tests only; readers accept it): every command that
# opens a repository pays it, thousands of times a suite, 0.1 s each at
# init's least (16M) and 0.3 s under ASan.  Tests of --kdf-memory and
# CAIRN_KDF_MEMORY give them.
unset CAIRN_KDF_MEMORY
export CAIRN_TEST_KDF_LOG2N=10
export LC_ALL=C
# CAIRN_TEST_SCALE=small (scripts/run-tests sets it for the sanitized
# build, whose commands run several times slower): a loop that repeats
# the same case to catch a race, or a time-boxed storm, runs fewer rounds.
# The plain build runs the full count and finds the races; the sanitizers
# look for memory errors and undefined behaviour, which the first rounds
# reach by the same code paths as the last.  Never for sizes or counts
# that a test's assertions depend on.
E2E_SMALL=0
[ "${CAIRN_TEST_SCALE:-}" != small ] || E2E_SMALL=1
# Sanitizer builds: leaks and undefined behaviour fail the command (and so
# the test); harmless for a plain build.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

TD=$(mktemp -d "${TMPDIR:-/tmp}/cairn-e2e-$E2E_NAME.XXXXXX") || exit 1
export CAIRN_STATE_DIR=$TD/state
E2E_PASSED=0
E2E_FAILED=0
E2E_SKIPPED=0
E2E_N=0

# Loop devices and mounts the tests made; undone at exit whatever happens.
E2E_CLEANUP=$TD/.cleanup
: >"$E2E_CLEANUP"

e2e_cleanup()
{
	# Newest first: a mount on a loop device goes before the device.
	if [ -s "$E2E_CLEANUP" ]; then
		tac "$E2E_CLEANUP" | while read -r kind arg file; do
			case $kind in
			mount) mountpoint -q "$arg" && { umount "$arg" 2>/dev/null || umount -l "$arg"; } ;;
			# Only if the device still serves our file: it may be someone else's by now.
			loop) [ "$(losetup -n -O BACK-FILE "$arg" 2>/dev/null)" = "$file" ] && losetup -d "$arg" ;;
			esac
		done
	fi
	if [ "${CAIRN_E2E_KEEP:-0}" = 1 ]; then
		echo "# $E2E_NAME: kept $TD"
	else
		rm -rf "$TD"
	fi
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM

# --- running tests ---------------------------------------------------------

# test_case NAME FUNCTION [ARG...]: runs FUNCTION ARG... in a subshell in a
# fresh $TT.
test_case()
{
	local name=$1 fn=$2 rc reason
	shift 2
	E2E_N=$((E2E_N + 1))
	if [ "${#FUNCNAME[@]}" -gt 2 ]; then
		E2E_FAILED=$((E2E_FAILED + 1))
		echo "not ok - $E2E_NAME: $name # test_case called inside function ${FUNCNAME[1]}, not at top level"
		return 0
	fi
	TT=$TD/test$E2E_N
	mkdir -p "$TT"
	local t0=${EPOCHREALTIME/[.,]/} c0
	c0=$(e2e_cpu_ticks)
	(
		set -eE
		trap 'e2e_on_err $? $LINENO "$BASH_COMMAND"' ERR
		cd "$TT"
		"$fn" "$@"
	) >>"$TT/.log" 2>&1 </dev/null
	rc=$?
	e2e_time_line "$name" "$t0" "$c0"
	if [ -f "$TT/.skip" ]; then
		E2E_SKIPPED=$((E2E_SKIPPED + 1))
		echo "ok - $E2E_NAME: $name # SKIP $(head -n1 "$TT/.skip")"
	elif [ $rc -eq 0 ]; then
		E2E_PASSED=$((E2E_PASSED + 1))
		echo "ok - $E2E_NAME: $name"
	else
		E2E_FAILED=$((E2E_FAILED + 1))
		reason=$(head -n1 "$TT/.reason" 2>/dev/null)
		[ -n "$reason" ] || reason="exit status $rc"
		echo "not ok - $E2E_NAME: $name # $reason"
		if [ "${CAIRN_E2E_VERBOSE:-0}" = 1 ]; then
			sed 's/^/#   /' "$TT/.log" | tail -n 40
		else
			tail -n 8 "$TT/.log" | sed 's/^/#   /'
		fi
	fi
	return 0
}

# Where the suite's time goes (make test has a budget): a test's wall
# and CPU seconds (its processes' and their waited-for children's, as
# the kernel counts them for this shell), for the tests slower than
# CAIRN_E2E_SLOW seconds (default 5; 0 lists every test).  Wall far
# above CPU is time spent waiting: sleeps, timeouts, servers.
E2E_SLOW=${CAIRN_E2E_SLOW:-5}
E2E_TICKS=$(getconf CLK_TCK 2>/dev/null || echo 100)

# e2e_cpu_ticks: user + system clock ticks of this shell's waited-for
# children (fields 16 and 17 of /proc/PID/stat; the name, field 2, is
# "bash", without spaces).
e2e_cpu_ticks()
{
	local f
	read -r -a f </proc/$$/stat 2>/dev/null || { echo 0; return; }
	echo $((f[15] + f[16]))
}

# e2e_time_line NAME T0_US CPU0_TICKS: the "# file: name: wall, CPU" line.
e2e_time_line()
{
	local us=$((${EPOCHREALTIME/[.,]/} - $2)) ticks
	[ "$us" -ge $((E2E_SLOW * 1000000)) ] || return 0
	ticks=$(($(e2e_cpu_ticks) - $3))
	printf '# %s: %s: %d.%01d s, CPU %d.%02d s\n' "$E2E_NAME" "$1" $((us / 1000000)) $((us % 1000000 / 100000)) \
		$((ticks / E2E_TICKS)) $((ticks % E2E_TICKS * 100 / E2E_TICKS))
}

# Called by the ERR trap: remembers the first failing command as the reason.
e2e_on_err()
{
	[ ! -s "$TT/.reason" ] || return 0
	if [ "${FUNCNAME[1]:-}" = cairn ]; then
		# The first line the command printed after its "+ cairn" trace.
		echo "'cairn $E2E_LAST_CAIRN' exited $1: $(awk '/^\+ cairn /{n=NR; l=""} n && NR>n && l=="" && NF {l=$0} END{print l}' "$TT/.log")" >"$TT/.reason"
	else
		echo "line $2: '$3' exited $1" >"$TT/.reason"
	fi
}

# fail MSG: fails the current test with MSG.
fail()
{
	local msg="$*"
	[ -s "$TT/.reason" ] || printf '%s\n' "${msg//$'\n'/\\n}" >"$TT/.reason"
	echo "FAIL: $*" >&2
	exit 1
}

# skip MSG: ends the current test as skipped (not a failure).
skip()
{
	printf '%s\n' "$*" >"$TT/.skip"
	exit 0
}

# Ends the file: a summary diagnostic; exit status 1 if anything failed.
test_done()
{
	echo "# $E2E_NAME: $E2E_PASSED passed, $E2E_FAILED failed, $E2E_SKIPPED skipped"
	[ "$E2E_FAILED" -eq 0 ]
}

# scaled FULL SMALL: FULL, or SMALL under CAIRN_TEST_SCALE=small (above).
scaled()
{
	if [ "$E2E_SMALL" = 1 ]; then echo "$2"; else echo "$1"; fi
}

# --- running cairn -----------------------------------------------------------

# cairn ARGS...: the binary under test, with a timeout; logs the command.
cairn()
{
	echo "+ cairn $*" >>"$TT/.log"
	E2E_LAST_CAIRN="$*"
	timeout -k 10 "$E2E_TIMEOUT" "$CAIRN" "$@"
}

# expect_fail [-c CODE] [-m REGEX] CMD...: CMD must exit non-zero (CODE if
# given) and print exactly one line on stderr (matching the extended REGEX,
# case-insensitive, if given): the "one clear line" rule.  The output stays
# in $TT/.out and $TT/.err for further checks.  Use `cairn` as CMD.
expect_fail()
{
	local code='' re='' rc=0 n
	while :; do
		case $1 in
		-c) code=$2; shift 2 ;;
		-m) re=$2; shift 2 ;;
		*) break ;;
		esac
	done
	"$@" >"$TT/.out" 2>"$TT/.err" || rc=$?
	echo "  exit $rc; stderr: $(cat "$TT/.err")" >&2
	[ $rc -ne 0 ] || fail "'$*' succeeded, expected a failure"
	[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "'$*' timed out"
	if [ -n "$code" ] && [ $rc -ne "$code" ]; then
		fail "'$*' exited $rc, expected $code: $(head -c 200 "$TT/.err")"
	fi
	[ $rc -lt 128 ] || fail "'$*' died of signal $((rc - 128)): $(head -n1 "$TT/.err")"
	n=$(wc -l <"$TT/.err")
	# A missing final newline still counts as a line.
	[ -s "$TT/.err" ] && [ "$(tail -c1 "$TT/.err" | od -An -c | tr -d ' ')" != '\n' ] && n=$((n + 1))
	[ "$n" -eq 1 ] || fail "'$*' printed $n lines on stderr, expected one: $(head -c 300 "$TT/.err" | tr '\n' '|')"
	if [ -n "$re" ] && ! grep -Eiq -- "$re" "$TT/.err"; then
		fail "'$*': stderr '$(head -n1 "$TT/.err")' does not match /$re/"
	fi
	return 0
}

# expect_ok CMD...: CMD must succeed; stdout in $TT/.out, stderr in $TT/.err.
expect_ok()
{
	local rc=0
	"$@" >"$TT/.out" 2>"$TT/.err" || rc=$?
	[ $rc -eq 0 ] || fail "'$*' exited $rc: $(head -c 300 "$TT/.err" | tr '\n' '|')"
}

# measured ARGS...: cairn ARGS (like the cairn function) with its peak RSS
# measured (/usr/bin/time) and its stores counted (CAIRN_TEST_COUNT); then
# bounded checks them.  Use `expect_ok measured ...` or `expect_fail ...`.
measured()
{
	rm -f "$TT/rss" "$TT/count.json"
	echo "+ cairn $* (measured)" >>"$TT/.log"
	E2E_LAST_CAIRN="$*"
	CAIRN_TEST_COUNT=$TT/count.json timeout -k 10 "$E2E_TIMEOUT" /usr/bin/time -f %M -o "$TT/rss" "$CAIRN" "$@"
}

# bounded MAX_BYTES: the last measured command read at most MAX_BYTES from
# its stores and its peak RSS stayed under 100 MiB.
bounded()
{
	local kib got
	kib=$(tail -n1 "$TT/rss")
	got=$(jq -s 'map(.bytes_got) | add // 0' "$TT/count.json")
	echo "  '$E2E_LAST_CAIRN': peak RSS $kib KiB, $got bytes read" >&2
	[ "$kib" -lt $((100 << 10)) ] || fail "'$E2E_LAST_CAIRN' took $kib KiB of memory"
	[ "$got" -le "$1" ] || fail "'$E2E_LAST_CAIRN' read $got bytes, more than $1"
}

# check_too_large REPO KEY...: check of REPO (measured) exits 3 naming each
# KEY as a 1 GiB object over its cap, having read at most 1 MiB in all.
check_too_large()
{
	local repo=$1 rc=0 o
	shift
	measured check --repo "$repo" >check.out 2>&1 || rc=$?
	cat check.out
	[ $rc -eq 3 ] || fail "check exited $rc, expected 3"
	bounded $((1 << 20))
	for o in "$@"; do
		grep -q "$o: .*1073741824 bytes, over the cap of" check.out || fail "check does not name $o as too large"
	done
}

# jget FILE FILTER: jq -r FILTER on a JSON file, failing the test on a parse error.
jget()
{
	jq -er "$2" "$1" || fail "jq '$2' failed on $(head -c 200 "$1" | tr '\n' ' ')"
}

# same_file EXPECTED GOT: byte-identical or the test fails.
same_file()
{
	[ -f "$2" ] || fail "$2 does not exist"
	local d
	d=$(cmp "$1" "$2" 2>&1) || fail "$2 differs from $1: $d"
}

# tree_state DIR: one line per file below DIR (path, size, sha256) and per
# directory, so two states of a repository or target can be compared.
tree_state()
{
	# Files over 64 MiB (planted sparse giants) by size, blocks and mtime:
	# hashing 1 GiB of holes costs seconds, and cairn never writes them.
	(cd "$1" && find . -mindepth 1 -type d | sort | sed 's/^/dir /' &&
		find . -type f -size +64M -printf 'big %p %s %b %T@\n' | sort &&
		find . -type f ! -size +64M -print0 | sort -z | xargs -0r sha256sum)
}

# assert_unchanged DIR STATEFILE: DIR is as tree_state recorded it.
assert_unchanged()
{
	local d
	d=$(tree_state "$1" | diff "$2" - | head -n 5 | tr '\n' '|') || true
	[ -z "$d" ] || fail "$1 changed: $d"
}

# backup_count REPO: number of backups `list --json` shows.
backup_count()
{
	cairn list --repo "$1" --json | jq length
}

# new_repo DIR [init options]: a fresh repository at DIR.
new_repo()
{
	local d=$1
	shift
	cairn init --repo "$d" -q "$@" >/dev/null || fail "init $d failed"
}

# --- images ------------------------------------------------------------------

# rand_hex BYTES: random lower-case hex of BYTES bytes (an object name).
rand_hex()
{
	head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'
}

# rand_file FILE BYTES SEED: deterministic incompressible bytes.
rand_file()
{
	python3 - "$1" "$2" "$3" <<'EOF'
import random, sys
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
with open(path, "wb") as f:
    while n > 0:
        k = min(n, 1 << 20)
        f.write(r.randbytes(k))
        n -= k
EOF
}

# mk_image FILE SIZE_MIB SEED [DATA_MIB]: a deterministic ext4 image of
# SIZE_MIB MiB holding about DATA_MIB MiB (default SIZE/4) of files:
# incompressible random files, compressible text, and a sparse file with
# explicit holes.  The image's free space is a hole.
mk_image()
{
	local img=$1 size=$2 seed=$3 data=${4:-$(($2 / 4))} src id
	src=$(mktemp -d "$TD/src.XXXXXX")
	python3 - "$src" "$data" "$seed" <<'EOF' || fail "generating files for $img failed"
import os, random, sys
src, data, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
for d in ("data", "text", "sparse"):
    os.mkdir(os.path.join(src, d))
nrand = max(1, data * 2 // 3)
ntext = max(1, data - data * 2 // 3)
# Incompressible: 1 MiB files and one of an odd size.
for i in range(nrand):
    with open(os.path.join(src, "data", "r%d.bin" % i), "wb") as f:
        f.write(r.randbytes(1 << 20))
with open(os.path.join(src, "data", "odd.bin"), "wb") as f:
    f.write(r.randbytes(12345))
# Compressible: text files of 256 KiB.
words = ("volume chunk pack tree index manifest backup restore cairn block "
         "extent snapshot repository passphrase deduplicated compressed").split()
for i in range(ntext * 4):
    lines, n = [], 0
    while n < (256 << 10):
        line = " ".join(r.choice(words) for _ in range(12)) + "\n"
        lines.append(line)
        n += len(line)
    with open(os.path.join(src, "text", "t%d.txt" % i), "w") as f:
        f.write("".join(lines)[: 256 << 10])
# Explicit holes: data, a 4 MiB hole, data, a 2 MiB trailing hole.
part = r.randbytes(64 << 10)
with open(os.path.join(src, "sparse", "holes.img"), "wb") as f:
    f.write(part)
    f.seek(4 << 20, 1)
    f.write(part)
    f.truncate(f.tell() + (2 << 20))
EOF
	find "$src" -exec touch -h -d @1700000000 {} +
	rm -f "$img"
	id=00000000-0000-4000-8000-$(printf '%012d' "$seed")
	E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -b 4096 -d "$src" -E "root_owner=0:0,hash_seed=$id" \
		-U "$id" -L e2e "$img" "${size}M" >/dev/null || fail "mkfs.ext4 failed for $img"
	# mkfs copies the files' ctimes, which no one can set: pin them (and
	# the other times) with debugfs so the image is the same on every run.
	(cd "$src" && find . -mindepth 1) | sed 's|^\.||' | while read -r p; do
		for f in ctime atime mtime crtime; do echo "sif $p $f 1700000000"; done
	done >"$src.cmds"
	E2FSPROGS_FAKE_TIME=1700000000 debugfs -w -f "$src.cmds" "$img" >/dev/null 2>&1 ||
		fail "debugfs failed for $img"
	rm -f "$src.cmds"
	rm -rf "$src"
}

# scatter_write FILE SEED COUNT [BLOCK]: overwrites COUNT random blocks of
# BLOCK bytes (default 4096, at BLOCK-aligned offsets) with random data, all
# from SEED.  Prints "OFFSET LENGTH" per write, for computing expectations.
scatter_write()
{
	python3 - "$1" "$2" "$3" "${4:-4096}" <<'EOF'
import os, random, sys
path, seed, count, block = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r = random.Random(seed)
with open(path, "r+b") as f:
    size = f.seek(0, 2)  # works for block devices too
    for _ in range(count):
        off = r.randrange(0, size // block) * block
        f.seek(off)
        f.write(r.randbytes(block))
        print(off, block)
EOF
}

# two_backups REPO IMG SEED: a new repository at REPO holding two backups
# of the ext4 image IMG (mk_image IMG 16 SEED 6, then 20 scattered writes
# with seed SEED + 1): both versions copied to $TD/v1.img and $TD/v2.img,
# their ids in $TD/id1 and $TD/id2; check --read-data must pass.
two_backups()
{
	local repo=$1 img=$2 seed=$3
	mk_image "$img" 16 "$seed" 6
	cp "$img" "$TD/v1.img"
	new_repo "$repo"
	cairn backup --repo "$repo" -q "$img" >"$TD/id1"
	scatter_write "$img" $((seed + 1)) 20 >/dev/null
	cp "$img" "$TD/v2.img"
	cairn backup --repo "$repo" -q "$img" >"$TD/id2"
	cairn check --repo "$repo" --read-data
}

# chunks_of CHUNK_SIZE < "OFFSET LENGTH" lines: the sorted, distinct chunk
# indices those byte ranges touch.
chunks_of()
{
	python3 -c '
import sys
cs = int(sys.argv[1])
s = set()
for line in sys.stdin:
    f = line.split()
    if len(f) != 2:
        continue
    off, n = int(f[0]), int(f[1])
    if n > 0:
        s.update(range(off // cs, (off + n - 1) // cs + 1))
for c in sorted(s):
    print(c)
' "$1"
}

# npacks REPO: number of (complete) pack objects in REPO.
npacks()
{
	find "$1/packs" -type f ! -name '.tmp.*' 2>/dev/null | wc -l
}

# wait_for_pack REPO PID N: polls until REPO holds at least N pack objects
# (count the existing ones first) or PID has exited (then returns 1).
wait_for_pack()
{
	local repo=$1 pid=$2 want=$3 i
	for i in $(seq 1 4000); do
		[ "$(npacks "$repo")" -ge "$want" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.005
	done
	return 1
}

# kill9_running PID WHAT: kills our background process PID with SIGKILL and
# reaps it; the test fails unless it died of that signal, i.e. WHAT was
# still running when killed (else the kill tested nothing).
kill9_running()
{
	local rc=0
	# A process that has exited but is not reaped yet takes the signal
	# too: only the status wait reports tells.
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || rc=$?
	[ "$rc" -eq 137 ] || fail "$2 had ended (exit status $rc) before kill -9: the kill tested nothing"
}

# flip_byte FILE OFFSET: inverts one byte in place.
flip_byte()
{
	python3 - "$1" "$2" <<'EOF'
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0xff]))
EOF
}

# allocated_bytes FILE: bytes the file occupies on disk.
allocated_bytes()
{
	echo $(($(stat -c %b "$1") * $(stat -c %B "$1")))
}

# register_cleanup mount DIR | loop DEVICE FILE: undone when the file ends.
register_cleanup()
{
	echo "$*" >>"$E2E_CLEANUP"
}

# setup_loop FILE: prints the loop device attached to FILE, or fails.
setup_loop()
{
	local dev
	dev=$(losetup -f --show "$1" 2>/dev/null) || return 1
	register_cleanup loop "$dev" "$(readlink -f "$1")"
	echo "$dev"
}

# detach_loop DEV: losetup -d, then wait (up to 10 s) until the kernel has
# let go of the backing file: a detach while something (udev's probe) still
# holds the device open is only done at its last close, and until then
# /sys/block/loopN/loop/backing_file still names the file.
detach_loop()
{
	local i
	losetup -d "$1" || return 1
	for i in $(seq 1 100); do
		[ -e "/sys/block/${1#/dev/}/loop/backing_file" ] || return 0
		sleep 0.1
	done
	echo "detach_loop: $1 still attached after 10 s" >&2
	return 1
}

# mkfs_mount KIND DIR [SIZE]: a KIND file system (xfs with reflink=1, or
# btrfs) of SIZE (default 1G) on a loop device mounted at DIR, unmounted
# when the file ends; or the test skips, naming what is missing.
mkfs_mount()
{
	local kind=$1 dir=$2 img=$TD/$1.fsimg dev
	[ "$(id -u)" = 0 ] || skip "needs root for loop devices and mounts"
	command -v "mkfs.$kind" >/dev/null || skip "mkfs.$kind is not installed"
	truncate -s "${3:-1G}" "$img"
	case $kind in
	xfs) mkfs.xfs -q -f -m reflink=1 "$img" >/dev/null 2>&1 || skip "mkfs.xfs with reflink=1 failed" ;;
	btrfs) mkfs.btrfs -q -f "$img" >/dev/null 2>&1 || skip "mkfs.btrfs failed" ;;
	esac
	dev=$(setup_loop "$img") || skip "no loop device available"
	mkdir -p "$dir"
	mount "$dev" "$dir" 2>/dev/null || skip "the kernel cannot mount $kind here"
	register_cleanup mount "$dir"
}

# change IMG OFFSET_MIB SIZE_MIB SEED: overwrite a contiguous range with random bytes.
change()
{
	python3 - "$1" "$2" "$3" "$4" <<'PY'
import random, sys
path, off, n, seed = sys.argv[1], int(sys.argv[2]) << 20, int(sys.argv[3]) << 20, int(sys.argv[4])
with open(path, "r+b") as f:
    f.seek(off)
    f.write(random.Random(seed).randbytes(n))
PY
}

# same_tree SRC JSON PREFIX MIN (t37, t44): the catalog listing JSON (catalog --recursive
# --json of PREFIX) holds exactly SRC's files (at least MIN) as find -printf prints them:
# type, size, mode, owner, mtime, link target, link count (lost+found,
# which mkfs adds, aside).
same_tree()
{
	find "$1" -mindepth 1 -printf '%P\0%y\0%s\0%m\0%U\0%G\0%T@\0%n\0%l\0' >"$TT/find.out"
	python3 - "$TT/find.out" "$2" "$3" "$4" <<'EOF' || fail "the catalog differs from the source tree"
import json, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8", "surrogateescape").split("\0")[:-1]
cat = json.load(open(sys.argv[2]))
prefix = sys.argv[3].rstrip("/")
types = {"f": "file", "d": "dir", "l": "symlink", "p": "fifo", "s": "socket", "c": "char", "b": "block"}
want = {}
for i in range(0, len(raw), 9):
    p, y, s, m, u, g, t, n, l = raw[i:i + 9]
    want[prefix + "/" + p] = dict(type=types[y], size=int(s), mode=int(m, 8), uid=int(u), gid=int(g),
                                  mtime=int(float(t)), nlink=int(n), target=l)
got = {e["path"]: e for e in cat if not e["path"].startswith(prefix + "/lost+found")}
bad = []
for p in sorted(set(want) - set(got)):
    bad.append("missing " + repr(p))
for p in sorted(set(got) - set(want)):
    bad.append("extra " + repr(p))
for p in sorted(set(want) & set(got)):
    w, e = want[p], got[p]
    checks = [("type", e["type"], w["type"]), ("mode", e["mode"] & 0o7777, w["mode"]),
              ("uid", e["uid"], w["uid"]), ("gid", e["gid"], w["gid"]),
              ("mtime", e["mtime_ns"] // 10**9, w["mtime"])]
    if w["type"] in ("file", "symlink"):
        checks.append(("size", e["size"], w["size"]))
    if w["type"] != "dir":
        checks.append(("nlink", e["nlink"], w["nlink"]))
    if w["type"] == "symlink":
        checks.append(("target", e["target"], w["target"]))
    for what, a, b in checks:
        if a != b:
            bad.append("%r: %s is %r, the source has %r" % (p, what, a, b))
for b in bad[:20]:
    print(b, file=sys.stderr)
print("%d entries compared, %d differences" % (len(want), len(bad)), file=sys.stderr)
sys.exit(1 if bad or len(want) < int(sys.argv[4]) else 0)
EOF
}

# need_fuse: skips the test case without FUSE (/dev/fuse, fusermount3).
need_fuse()
{
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	command -v fusermount3 >/dev/null || skip "fusermount3 is not installed (package fuse3)"
}

# mount_backup REPO ID DIR [ARGS...]: cairn mount of backup ID at DIR (made,
# unmounted when the file ends) with ARGS; prints its first image's path.
mount_backup()
{
	local repo=$1 id=$2 dir=$3
	shift 3
	mkdir -p "$dir"
	register_cleanup mount "$dir"
	cairn mount --repo "$repo" "$id" "$dir" "$@" --json >"$dir.json"
	mountpoint -q "$dir" || fail "cairn mount returned before $dir was mounted"
	jget "$dir.json" '.images[0].path'
}

# RFC 3339 date-time, as `created` must be.
RFC3339_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$'

command -v jq >/dev/null || { echo "not ok - $E2E_NAME: jq is required"; exit 1; }
command -v python3 >/dev/null || { echo "not ok - $E2E_NAME: python3 is required"; exit 1; }
