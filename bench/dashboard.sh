#!/bin/bash
# bench/dashboard.sh - the dashboard's first load on 127.0.0.1 (issue [api]
# target: under 200 KiB and under 300 ms).
#
# A daemon serves dashboard/ on 127.0.0.1.  Printed:
#   curl   the four files fetched cold (a new connection each), N times:
#          total bytes and the median of the summed time_total
#   chrome N first loads in headless Chromium, each in a fresh context
#          (empty cache) of one running browser: the medians of the load
#          event, of the document's responseEnd and of the last file's
#          (Navigation and Resource Timing), and the bytes
# Environment: CAIRN (default build/cairn), N (default 20).  Needs curl,
# node, /usr/bin/chromium and tests/e2e/dashboard/node_modules
# (scripts/install-deps browser).  The machine may be shared: the numbers
# are as noisy as its neighbours make them.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAIRN=${CAIRN:-$ROOT/build/cairn}
N=${N:-20}
W=$(mktemp -d "${TMPDIR:-/tmp}/cairn-bench-dash.XXXXXX")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CAIRN_STATE_DIR=$W/state "$CAIRN" daemon --listen "127.0.0.1:$PORT" --static-dir "$ROOT/dashboard" 2>"$W/d.err" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 1 100); do
	curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
	sleep 0.1
done
U=http://127.0.0.1:$PORT
for _ in $(seq 1 "$N"); do
	t=0 b=0
	for f in / /app.css /app.js /favicon.svg; do
		read -r tt bb < <(curl -s -o /dev/null -w '%{time_total} %{size_download}\n' "$U$f")
		t=$(python3 -c "print($t + $tt)")
		b=$((b + bb))
	done
	echo "$t $b"
done | sort -n | awk -v n="$N" '{ t[NR] = $1; b = $2 } END { printf "curl:   %d bytes in 4 files; median %.1f ms (min %.1f, max %.1f) for all four, cold connections, %d runs\n", b, 1000 * t[int((n + 1) / 2)], 1000 * t[1], 1000 * t[n], n }'
node "$ROOT/tests/e2e/dashboard/dash.mjs" measure "$U/" - - "$N" 2>/dev/null |
	jq -r --argjson n "$N" '.loads as $l | def med(f): ($l | map(f) | sort | .[(($n - 1) / 2 | floor)] | floor);
		"chrome: \($l[0].bytes) bytes; median load event \(med(.load_ms)) ms, document responseEnd \(med(.response_end_ms)) ms, last file \(med(.last_file_ms)) ms (min load \($l | map(.load_ms) | min | floor), max \($l | map(.load_ms) | max | floor)), \($n) fresh contexts"'
