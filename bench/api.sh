#!/bin/bash
# bench/api.sh - the daemon's HTTP API under monitoring load (issue [api]
# target: /api/v1/status at 1,000 requests/s over TCP on 127.0.0.1 while a
# backup runs, slowing that backup by under 5%).
#
# A daemon serves 127.0.0.1 with a token.  In alternating rounds a policy
# (a fresh repository each round, so every backup reads, hashes,
# compresses and writes the whole image) is run through the API:
#   Q  quiet: nothing else talks to the daemon
#   L  loaded: wrk drives /api/v1/status at ~1,000 requests/s (each of C
#      connections waits D ms between requests: C/D per ms, less the
#      requests' own latency; wrk has no rate option, its Lua delay() paces)
#      from one second before the run until after it
# and the job's own elapsed time (its row) is taken.  Printed: the medians
# of Q and L, L/Q, and wrk's achieved rate and latency in the loaded rounds;
# then wrk's unthrottled rate for 5 s (the ceiling, idle daemon).
#
# Environment:
#   CAIRN            the binary (default build/cairn)
#   API_SIZE_MIB     image size (random data), default 1024
#   API_ROUNDS       rounds of each kind, default 3
#   API_CONNS        wrk connections, default 25
#   API_DELAY_MS     each connection's wait between requests, default 20
#                    (1,250/s less latency: ~1,000/s at 5 ms)
#   BENCH_DIR        default /var/tmp/cairn-bench-api
# Needs wrk, curl, jq (scripts/install-deps).  The machine may be shared:
# the numbers are as noisy as its neighbours make them.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAIRN=${CAIRN:-$ROOT/build/cairn}
SIZE=${API_SIZE_MIB:-1024}
ROUNDS=${API_ROUNDS:-3}
CONNS=${API_CONNS:-25}
DELAY=${API_DELAY_MS:-20}
DIR=${BENCH_DIR:-/var/tmp/cairn-bench-api}
for t in wrk curl jq; do
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
-- Each of $CONNS connections waits $DELAY ms between requests.
wrk.headers["Authorization"] = "Bearer $TOKEN"
function delay() return $DELAY end
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

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "# bench/api.sh: $SIZE MiB random image, $ROUNDS rounds each, wrk -c$CONNS with ${DELAY} ms pauses, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
warm=$(run_backup 0)
echo "warm-up backup: ${warm}s"
q=() l=()
for r in $(seq 1 "$ROUNDS"); do
	t=$(run_backup "q$r")
	q+=("$t")
	echo "round $r quiet:  ${t}s"
	dur=$(awk -v t="$t" 'BEGIN {printf "%d", t * 1.5 + 4}')
	wrk -t2 -c"$CONNS" -d"${dur}s" --latency -s "$DIR/status.lua" "http://127.0.0.1:$PORT/api/v1/status" >"$DIR/wrk$r.txt" &
	wpid=$!
	sleep 1
	t=$(run_backup "l$r")
	l+=("$t")
	wait $wpid
	rate=$(awk '/^Requests\/sec/ {print $2}' "$DIR/wrk$r.txt")
	lat=$(awk '/^ +Latency / && !x {print $2 " avg, " $4 " max"; x=1}' "$DIR/wrk$r.txt")
	p99=$(awk '/^ +99%/ {print $2}' "$DIR/wrk$r.txt")
	errs=$(grep -E 'Non-2xx|Socket errors' "$DIR/wrk$r.txt" | tr '\n' ' ' || true)
	echo "round $r loaded: ${t}s  (wrk over ${dur}s: $rate req/s, latency $lat, p99 $p99 ${errs:-no errors})"
done
mq=$(printf '%s\n' "${q[@]}" | median)
ml=$(printf '%s\n' "${l[@]}" | median)
echo "median quiet ${mq}s, loaded ${ml}s, loaded/quiet $(awk -v a="$ml" -v b="$mq" 'BEGIN {printf "%.3f", a / b}')"
wrk -t2 -c"$CONNS" -d5s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/status" >"$DIR/wrk-max.txt"
echo "unthrottled, idle daemon: $(awk '/^Requests\/sec/ {print $2}' "$DIR/wrk-max.txt") req/s, latency $(awk '/^ +Latency / {print $2 " avg"}' "$DIR/wrk-max.txt")"
