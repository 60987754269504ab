#!/bin/bash
# bench/api.sh - the daemon's HTTP API under monitoring load (issue [api]
# target: /api/v1/status at 1,000 requests/s over TCP on 127.0.0.1 while a
# backup runs, slowing that backup by under 5%).
#
# A daemon serves 127.0.0.1 with a token.  In alternating rounds (Q L Q
# L ...) the same backup, a policy's run through the API (a fresh
# repository each round, so every backup reads, hashes, compresses and
# writes the whole image; --snapshot none), is timed:
#   Q  quiet: nothing else talks to the daemon
#   L  loaded: wrk drives /api/v1/status at API_RATE requests/s in all
#      from one second before the run until after it.  Debian's wrk has no
#      rate option (wrk2's -R): status.lua paces it on a fixed schedule
#      (LuaJIT's ffi reads CLOCK_MONOTONIC; each delay() takes the thread's
#      next slot, 1000 * THREADS / RATE ms after the last; a late request
#      goes at once, a backlog over a second is dropped), so the rate does
#      not depend on the requests' latency as a fixed pause would.
# and the job's own elapsed time (its row) is taken.  Printed per round:
# both times, L/Q, wrk's achieved rate and latency, and the CPU time the
# daemon (/proc/PID/stat, its own threads: the jobs are its children) and
# wrk spent per request over wrk's run; then the medians of Q
# and L, the median of the rounds' L/Q (the number for the issue's target:
# under 1.05), and whether every loaded round got at least 95% of the
# rate; last wrk's unthrottled rate for 3 s (the ceiling, idle daemon).
# The defaults take about 1-3 minutes; a quiet machine and a bigger image
# (API_SIZE_MIB=2048, bench/make_image.sh's size) give the reportable number.
#
# Environment:
#   CAIRN            the binary (default build/cairn)
#   API_SIZE_MIB     image size (random data), default 256
#   API_ROUNDS       rounds of each kind, default 3
#   API_RATE         status requests per second under load, default 1000
#   API_CONNS        wrk connections, default 20
#   API_THREADS      wrk threads, default 2 (wrk -t1 -c4 paces the same rate
#                    with less of the load tool's own CPU: docs/benchmarks.md)
#   BENCH_DIR        default /var/tmp/cairn-bench-api
# Needs wrk, curl, jq, /usr/bin/time (scripts/install-deps).  The machine may be shared:
# the numbers are as noisy as its neighbours make them.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAIRN=${CAIRN:-$ROOT/build/cairn}
SIZE=${API_SIZE_MIB:-256}
ROUNDS=${API_ROUNDS:-3}
RATE=${API_RATE:-1000}
CONNS=${API_CONNS:-20}
THREADS=${API_THREADS:-2}
DIR=${BENCH_DIR:-/var/tmp/cairn-bench-api}
for t in wrk curl jq /usr/bin/time; do
	command -v $t >/dev/null || { echo "bench/api.sh: $t is missing (scripts/install-deps)" >&2; exit 1; }
done

rm -rf "$DIR"
mkdir -p "$DIR"
# A copy: the daemon execs itself for each job, and a rebuild of the tree
# meanwhile must not pull the binary from under it.
cp "$CAIRN" "$DIR/cairn"
CAIRN=$DIR/cairn
export CAIRN_STATE_DIR=$DIR/state CAIRN_PASSPHRASE='bench api passphrase' CAIRN_TEST_KDF_LOG2N=10
IMG=$DIR/vol.img
head -c $((SIZE << 20)) /dev/urandom >"$IMG"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TOKEN=$("$CAIRN" token create bench -q)
"$CAIRN" daemon --listen "127.0.0.1:$PORT" 2>"$DIR/daemon.log" &
DPID=$!
trap 'kill $DPID 2>/dev/null; wait $DPID 2>/dev/null || true' EXIT
SOCK=$CAIRN_STATE_DIR/cairn.sock
for _ in $(seq 1 100); do
	curl -sf -o /dev/null --unix-socket "$SOCK" http://cairn/api/v1/status && break
	sleep 0.1
done

cat >"$DIR/status.lua" <<EOF
-- $RATE requests/s in all over $THREADS threads (each Lua state is one
-- thread's): every delay() takes the thread's next slot on a fixed
-- schedule, whichever of its connections asks.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_ts;
int clock_gettime(int clk, bench_ts *ts);
]]
local ts = ffi.new("bench_ts")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local gap = 1000 * $THREADS / $RATE
local slot = nil
wrk.headers["Authorization"] = "Bearer $TOKEN"
function delay()
  local t = now_ms()
  if not slot or slot < t - 1000 then slot = t end
  local d = slot - t
  slot = slot + gap
  return d > 0 and math.floor(d + 0.5) or 0
end
EOF

api() { curl -sf --unix-socket "$SOCK" "$@"; }

# run_backup N: a new repository and policy, run through the API; prints
# the job's elapsed seconds (from its row).
run_backup()
{
	local n=$1 job
	# The previous round's writes and removal settle first: each round
	# starts with clean page cache writeback, loaded or not.
	sync
	sleep 1
	"$CAIRN" init --repo "$DIR/repo$n" -q >/dev/null
	api -X POST http://cairn/api/v1/policies -d "{\"name\": \"b$n\", \"volume\": \"$IMG\", \"repo\": \"$DIR/repo$n\", \"cron\": \"0 0 1 1 *\", \"snapshot\": \"none\"}" >/dev/null
	job=$(api -X POST "http://cairn/api/v1/policies/b$n/run" | jq -r .job)
	api -N "http://cairn/api/v1/jobs/$job/events" | grep -A1 '^event: end' | sed -n 's/^data: //p' >"$DIR/end$n.json"
	[ "$(jq -r .state "$DIR/end$n.json")" = done ] || { echo "bench/api.sh: job $job: $(cat "$DIR/end$n.json")" >&2; exit 1; }
	jq -r .elapsed_s "$DIR/end$n.json"
	rm -rf "$DIR/repo$n"
}

# The daemon's own CPU time (its threads; not its children, the jobs), in
# clock ticks.
daemon_ticks() { awk '{print $14 + $15}' "/proc/$DPID/stat"; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "# bench/api.sh: $SIZE MiB random image, $ROUNDS rounds each, wrk -t$THREADS -c$CONNS paced at $RATE req/s, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
warm=$(run_backup 0)
echo "warm-up backup: ${warm}s"
q=() l=() ratios=() short=0
for r in $(seq 1 "$ROUNDS"); do
	tq=$(run_backup "q$r")
	q+=("$tq")
	# wrk runs a second before the backup and past its quiet time by half
	# again (its summary comes when it ends: it cannot be stopped early).
	dur=$(awk -v t="$tq" 'BEGIN {printf "%d", t * 1.5 + 3}')
	c0=$(daemon_ticks)
	/usr/bin/time -f '%U %S' -o "$DIR/wrktime$r" wrk -t$THREADS -c"$CONNS" -d"${dur}s" --latency -s "$DIR/status.lua" \
		"http://127.0.0.1:$PORT/api/v1/status" >"$DIR/wrk$r.txt" &
	wpid=$!
	sleep 1
	tl=$(run_backup "l$r")
	l+=("$tl")
	wait $wpid
	c1=$(daemon_ticks)
	nreq=$(awk '/requests in/ {print $1}' "$DIR/wrk$r.txt")
	cpu=$(awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v n="$nreq" '{printf "daemon %.0f us, wrk %.0f us", c * 1e6 / hz / n, ($1 + $2) * 1e6 / n}' "$DIR/wrktime$r")
	ratio=$(awk -v a="$tl" -v b="$tq" 'BEGIN {printf "%.3f", a / b}')
	ratios+=("$ratio")
	rate=$(awk '/^Requests\/sec/ {print $2}' "$DIR/wrk$r.txt")
	lat=$(awk '/^ +Latency / && !x {print $2 " avg, " $4 " max"; x=1}' "$DIR/wrk$r.txt")
	p99=$(awk '/^ +99%/ {print $2}' "$DIR/wrk$r.txt")
	errs=$(grep -E 'Non-2xx|Socket errors' "$DIR/wrk$r.txt" | tr '\n' ' ' || true)
	awk -v r="$rate" -v want="$RATE" 'BEGIN {exit !(r < 0.95 * want)}' && short=$((short + 1))
	awk -v t="$tl" -v d="$dur" 'BEGIN {exit !(t + 1 > d)}' && echo "  (round $r: the backup outlasted the load; its tail ran quiet)"
	echo "round $r: quiet ${tq}s, loaded ${tl}s, loaded/quiet $ratio  (wrk over ${dur}s: $rate req/s, latency $lat, p99 $p99 ${errs:-no errors}; CPU a request: $cpu)"
done
mq=$(printf '%s\n' "${q[@]}" | median)
ml=$(printf '%s\n' "${l[@]}" | median)
mr=$(printf '%s\n' "${ratios[@]}" | median)
echo "median quiet ${mq}s, loaded ${ml}s; median loaded/quiet of the rounds $mr (target: under 1.050)"
if [ "$short" -gt 0 ]; then
	echo "WARNING: $short loaded round(s) got under 95% of $RATE req/s: the load was lighter than asked"
else
	echo "every loaded round got at least 95% of $RATE req/s"
fi
wrk -t$THREADS -c"$CONNS" -d3s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/status" >"$DIR/wrk-max.txt"
echo "unthrottled, idle daemon: $(awk '/^Requests\/sec/ {print $2}' "$DIR/wrk-max.txt") req/s, latency $(awk '/^ +Latency / {print $2 " avg"}' "$DIR/wrk-max.txt")"
