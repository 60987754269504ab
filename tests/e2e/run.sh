#!/bin/bash
# Runs cairn's end-to-end suite against a binary:
#     tests/e2e/run.sh build/cairn
# Runs every tests/e2e/t*.sh (or the files given after the binary) with
# CAIRN=<binary>, prints "ok N - name" / "not ok N - name # reason" per test,
# then exactly one line "N passed, N failed, N skipped"; exits 1 if any test
# failed.  Skipped tests print "ok N - name # SKIP why" and count as skipped,
# not passed.
#
# A file must report one result per `test_case` line it holds: those lines
# are counted here, before the file runs (each one a top-level line
# starting with "test_case ", never inside a function, loop or `if`), so no
# file keeps a count by hand.  A file that reports fewer or more results,
# exits non-zero without reporting a failure, or has a test_case elsewhere
# than at the start of a line, is one more failure naming the file.
set -u

if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	echo "usage: $0 CAIRN_BINARY [tests/e2e/tN-*.sh ...]" >&2
	exit 2
fi
bin=$1
shift
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
if [ ! -x "$bin" ]; then
	echo "$0: $bin is not an executable" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -gt 0 ]; then
	files=("$@")
else
	files=("$here"/t[0-9]*.sh)
fi

# Test a private copy: others may relink the binary while the suite runs.
snap=$(mktemp -d "${TMPDIR:-/tmp}/cairn-e2e-bin.XXXXXX") || exit 2
trap 'rm -rf "$snap"' EXIT
cp "$bin" "$snap/cairn" || exit 2
export CAIRN=$snap/cairn
n=0 passed=0 failed=0 skipped=0
start=$(date +%s)

# not_ok FILE REASON: one failure for the file as a whole.
not_ok()
{
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n - $(basename "$1"): $2"
}

for f in "${files[@]}"; do
	got=0 bad=0 rc='' fstart=$(date +%s)
	[ -f "$f" ] || { not_ok "$f" "no such file"; continue; }
	want=$(grep -c '^test_case ' "$f")
	# A test_case call anywhere else would run a number of times the
	# count above cannot know.
	stray=$(grep -nE '^[^#]*[^[:alnum:]_#]test_case[[:space:]]' "$f" | grep -v '^[0-9]*:test_case ' | head -n 1)
	if [ -n "$stray" ]; then
		not_ok "$f" "test_case not at the start of a top-level line (line ${stray%%:*}); the runner counts those lines"
		echo "# $(basename "$f"): not run"
		continue
	fi
	# Each file prints "ok - name", "not ok - name # why" and "# ..." lines.
	while IFS= read -r line; do
		case $line in
		"ok - "*)
			n=$((n + 1)) got=$((got + 1))
			case $line in
			*" # SKIP "*) skipped=$((skipped + 1)) ;;
			*) passed=$((passed + 1)) ;;
			esac
			echo "ok $n - ${line#ok - }"
			;;
		"not ok - "*)
			n=$((n + 1)) got=$((got + 1)) bad=$((bad + 1)) failed=$((failed + 1))
			echo "not ok $n - ${line#not ok - }"
			;;
		"#E2E-EXIT "*) rc=${line#\#E2E-EXIT } ;;
		*) echo "$line" ;;
		esac
	done < <(bash "$f" 2>&1 </dev/null; echo "#E2E-EXIT $?")
	# A file that dies before its tests ran, in the middle, or skips some
	# without saying so is a failure.
	if [ "$got" -ne "$want" ]; then
		not_ok "$f" "reported $got result(s) for $want test_case line(s) (exit status $rc)"
	elif [ "$rc" != 0 ] && { [ "$rc" != 1 ] || [ "$bad" -eq 0 ]; }; then
		not_ok "$f" "exited $rc after $got test(s), $bad failed"
	fi
	echo "# $(basename "$f"): $got test(s) in $(($(date +%s) - fstart)) s"
done
end=$(date +%s)
echo "# $((end - start)) s with $bin"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
