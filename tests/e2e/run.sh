#!/bin/bash
# Runs cairn's end-to-end suite against a binary:
#     tests/e2e/run.sh build/cairn
# Runs every tests/e2e/t*.sh (or the files given after the binary) with
# CAIRN=<binary>, prints "ok N - name" / "not ok N - name # reason" per test,
# then exactly one line "N passed, N failed"; exits 1 if any test failed.
# Skipped tests print "ok N - name # SKIP why" and count as passed.
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
for f in "${files[@]}"; do
	got=0 rc='' fstart=$(date +%s)
	# Each file prints "ok - name", "not ok - name # why" and "# ..." lines.
	while IFS= read -r line; do
		case $line in
		"ok - "*)
			n=$((n + 1)) got=$((got + 1)) passed=$((passed + 1))
			case $line in *" # SKIP "*) skipped=$((skipped + 1)) ;; esac
			echo "ok $n - ${line#ok - }"
			;;
		"not ok - "*)
			n=$((n + 1)) got=$((got + 1)) failed=$((failed + 1))
			echo "not ok $n - ${line#not ok - }"
			;;
		"#E2E-EXIT "*) rc=${line#\#E2E-EXIT } ;;
		*) echo "$line" ;;
		esac
	done < <(bash "$f" 2>&1 </dev/null; echo "#E2E-EXIT $?")
	# A file that dies before its tests ran (or in the middle) is a failure.
	if [ $got -eq 0 ] || { [ "$rc" != 0 ] && [ "$rc" != 1 ]; }; then
		n=$((n + 1)) failed=$((failed + 1))
		echo "not ok $n - $(basename "$f"): exited $rc after $got test(s)"
	fi
	echo "# $(basename "$f"): $got test(s) in $(($(date +%s) - fstart)) s"
done
end=$(date +%s)
[ $skipped -eq 0 ] || echo "# $skipped test(s) skipped"
echo "# $((end - start)) s with $bin"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
