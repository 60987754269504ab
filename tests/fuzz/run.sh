#!/bin/sh
# Runs every libFuzzer target for SECONDS each, starting from the generated
# seeds plus the corpus kept from earlier runs.
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS
# Prints "ok N - fuzz_x" or "not ok N - fuzz_x" per target and a last line
# "N passed, N failed, 0 skipped" (every suite's last line has that form;
# a target is never skipped: one not built fails); exits non-zero when a
# target failed.  A failing target leaves its crashing input in
# BUILD_DIR/tests/fuzz/artifacts/<target>/ and its log in
# BUILD_DIR/tests/fuzz/logs/<target>.log; reproduce with
#   BUILD_DIR/tests/fuzz/<target> ARTIFACT
# and, once fixed, keep the input as tests/fuzz/regressions/<target>/<name>.
set -u
if [ $# -ne 2 ]; then
	echo "usage: $0 BUILD_DIR SECONDS" >&2
	exit 2
fi
build=$1
secs=$2
here=$(cd "$(dirname "$0")" && pwd)
dir=$build/tests/fuzz
targets="fuzz_key_object fuzz_config fuzz_toc fuzz_index fuzz_manifest fuzz_tree_node fuzz_open_sealed fuzz_group_backup fuzz_s3_xml fuzz_azure_xml fuzz_hold fuzz_presence fuzz_catalog_node"

if ! "$here/make-seeds.sh" "$build" "$dir/seeds"; then
	echo "not ok 0 - seeds"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

# Leaks are bugs here too; UBSan findings abort (the targets are built
# with -fno-sanitize-recover).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# fuzz_one T: runs target T; its "ok"/"not ok" line (and the reason)
# goes to $dir/logs/T.result.
fuzz_one() {
	t=$1
	exe=$dir/$t
	corpus=$dir/corpus/$t
	art=$dir/artifacts/$t
	log=$dir/logs/$t.log
	res=$dir/logs/$t.result
	mkdir -p "$corpus" "$art" "$dir/logs"
	if [ ! -x "$exe" ]; then
		echo "not ok - $t (not built)" >"$res"
		return
	fi
	# New inputs go to the first directory (the kept corpus); seeds are
	# read only.  -timeout: one input taking more than 10 s is a hang.
	# Inputs that once crashed a target stay under tests/fuzz/regressions/.
	regress=
	[ -d "$here/regressions/$t" ] && regress=$here/regressions/$t
	if "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$art/" "$corpus" "$dir/seeds/$t" $regress >"$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
		echo "ok - $t (${execs:-?} runs)" >"$res"
	else
		{
			echo "not ok - $t (see $log)"
			grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -n 5 | sed 's/^/#   /'
		} >"$res"
	fi
}

# Two targets at a time: one per core of the machines this runs on.
set -- $targets
while [ $# -gt 0 ]; do
	fuzz_one "$1" &
	if [ $# -gt 1 ]; then
		fuzz_one "$2"
		shift
	fi
	shift
	wait
done

n=0
passed=0
failed=0
for t in $targets; do
	n=$((n + 1))
	res=$dir/logs/$t.result
	[ -s "$res" ] || echo "not ok - $t (no result)" >"$res"
	sed "1s/^\(not ok\|ok\) - /\1 $n - /" "$res"
	if head -n 1 "$res" | grep -q '^ok '; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
