#!/bin/bash
# t54: the daemon's API under load and with slow requests (issue 22: one
# event-loop thread per server, /api/v1/status answered on it with tokens
# held in memory).  A token revoked by the CLI is refused at the very next
# status request, one created is taken at once; a request that waits on a
# stalled store holds up no other request, over the socket or TCP; many
# status requests at once and a load tool's keep-alive connections all
# get 200 while event streams are open; the daemon stops promptly with
# event streams open and a request still waiting.  Speed is bench/api.sh's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apilib.sh"

SPEC=$E2E_DIR/../../docs/openapi.yaml
SOCK=$CAIRN_STATE_DIR/cairn.sock
trap 'kill "$(cat "$TD/daemon.pid" 2>/dev/null)" "$(cat "$TD/hold.pid" 2>/dev/null)" 2>/dev/null; e2e_cleanup' EXIT

# req: over the socket or TCP (apilib.sh).
req()
{
	req_sock_tcp "$@"
}

# A stalled store: one try, given up after 20 s without a byte.
export CAIRN_HTTP_MAX_ATTEMPTS=1 CAIRN_HTTP_STALL_SECONDS=20 AWS_ACCESS_KEY_ID=t54 AWS_SECRET_ACCESS_KEY=t54

t_setup()
{
	command -v curl >/dev/null || fail "curl is missing (scripts/install-deps)"
	python3 -c 'import jsonschema, yaml' 2>/dev/null || fail "python3-jsonschema or python3-yaml is missing"
	free_port >"$TD/port"
	start_daemon
	cairn token create admin >"$TD/admin.tok"
	cairn token create viewer --read-only >"$TD/viewer.tok"
	touch "$TD/ready"
}
test_case "setup: the daemon on the socket and TCP, a full and a read-only token" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete"
}

t_revoke_at_once()
{
	need_setup
	local tok late i
	cairn token create brief -q >brief.tok
	tok=$(cat brief.tok)
	# Enough requests that the token is held in memory and its use
	# recorded: from then on status reads no table for it.
	for i in 1 2 3 4 5 6; do
		expect 200 -- --tcp "$tok" GET /api/v1/status
	done
	cairn token revoke brief
	expect 401 unauthorized -- --tcp "$tok" GET /api/v1/status
	expect 401 unauthorized -- --tcp "$tok" GET /api/v1/jobs
	# Made after the daemon read the tokens: taken at its first request.
	late=$(cairn token create late -q)
	expect 200 -- --tcp "$late" GET /api/v1/status
	expect 200 -- --tcp "$late" GET /api/v1/status
	cairn token revoke late
	expect 401 unauthorized -- --tcp "$late" GET /api/v1/status
	# A token that never was, one with a letter changed, none.
	expect 401 unauthorized -- --tcp "cairn_$(printf '0%.0s' $(seq 64))" GET /api/v1/status
	expect 401 unauthorized -- --tcp "${tok%?}x" GET /api/v1/status
	expect 401 unauthorized -- --tcp none GET /api/v1/status
	# The read-only token reads status, is refused a change.
	expect 200 -- --tcp "$(cat "$TD/viewer.tok")" GET /api/v1/status
	expect 403 read_only_token -- --tcp "$(cat "$TD/viewer.tok")" POST /api/v1/policies -d '{}'
}
test_case "a token revoked by the CLI is 401 at the next status request; one created is taken at once; bad ones 401" t_revoke_at_once

# stalled_request: starts a request for a repository on a store that
# accepts and never answers; its curl's pid in SLOW, output in slow.out.
stalled_request()
{
	local i uri
	python3 -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
while True:
    held.append(s.accept()[0])
' "$TT/hold.port" &
	echo $! >"$TD/hold.pid"
	for i in $(seq 1 50); do [ -s "$TT/hold.port" ] && break; sleep 0.1; done
	uri=$(jq -rn --arg u "s3://bucket/x?endpoint=http://127.0.0.1:$(cat "$TT/hold.port")&region=us-east-1" '$u | @uri')
	curl -s -o slow.out -w '%{http_code}\n' --max-time 120 --unix-socket "$SOCK" \
		"http://cairn/api/v1/repositories/$uri/backups" >slow.code &
	SLOW=$!
	# It is under way when the store has its connection.
	for i in $(seq 1 100); do
		[ "$(ss -Htn state established "( sport = :$(cat "$TT/hold.port") )" | wc -l)" -gt 0 ] && return 0
		sleep 0.1
	done
	fail "the request never reached the stalled store"
}

t_stalled_store()
{
	need_setup
	command -v ss >/dev/null || skip "ss (iproute2) is missing"
	local adm
	adm=$(cat "$TD/admin.tok")
	stalled_request
	# Answered while it waits: a quick route and one that reads the
	# database, over both servers.
	expect 200 -- GET /api/v1/status
	expect 200 -- --tcp "$adm" GET /api/v1/status
	expect 200 -- --tcp "$adm" GET /api/v1/jobs
	expect 200 -- GET /api/v1/policies
	kill -0 "$SLOW" 2>/dev/null || fail "the stalled request ended early: $(cat slow.code) $(cat slow.out)"
	# The store goes away: the request ends with the store's error.
	kill "$(cat "$TD/hold.pid")"
	wait "$SLOW" || true
	[ "$(cat slow.code)" = 502 ] || fail "the stalled request: $(cat slow.code) $(cat slow.out), expected 502"
	[ "$(jq -r .error.code slow.out)" = store_unreachable ] || fail "the stalled request's error: $(cat slow.out)"
}
test_case "a request waiting on a stalled store holds up no other request, on the socket or TCP; it ends with 502" t_stalled_store

t_many_at_once()
{
	need_setup
	local adm i n
	adm=$(cat "$TD/admin.tok")
	# Event streams open all along, each waiting for news.
	for i in 1 2 3; do
		curl -sN --max-time 60 --unix-socket "$SOCK" http://cairn/api/v1/events >"ev$i.txt" &
		echo $! >>streams.pid
	done
	# 200 status requests, 20 at a time, half over TCP.
	seq 1 200 | xargs -P 20 -I{} sh -c 'if [ $(({} % 2)) = 0 ]; then
			curl -s -o /dev/null -w "%{http_code}\n" --max-time 60 -H "Authorization: Bearer $1" "http://127.0.0.1:$2/api/v1/status"
		else
			curl -s -o /dev/null -w "%{http_code}\n" --max-time 60 --unix-socket "$3" http://cairn/api/v1/status
		fi' - "$adm" "$(cat "$TD/port")" "$SOCK" >codes.txt
	n=$(grep -c '^200$' codes.txt || true)
	[ "$n" = 200 ] || fail "$n of 200 status requests got 200: $(sort codes.txt | uniq -c | tr '\n' ' ')"
	# A load tool's keep-alive connections, unthrottled for 2 s.
	if command -v wrk >/dev/null; then
		wrk -t1 -c8 -d2s -H "Authorization: Bearer $adm" "http://127.0.0.1:$(cat "$TD/port")/api/v1/status" >wrk.txt
		cat wrk.txt
		! grep -Eq 'Non-2xx|Socket errors' wrk.txt || fail "wrk: $(grep -E 'Non-2xx|Socket errors' wrk.txt)"
		n=$(awk '/requests in/ {print $1}' wrk.txt)
		[ "${n:-0}" -gt 100 ] || fail "wrk made ${n:-no} requests in 2 s"
	else
		echo "wrk is missing: the keep-alive part is left out"
	fi
	# The streams are still open, and the API still answers.
	for i in $(cat streams.pid); do kill -0 "$i" || fail "an event stream closed early"; done
	expect 200 -- GET /api/v1/jobs
	kill $(cat streams.pid) 2>/dev/null || true
}
test_case "200 status requests 20 at a time and a load tool's keep-alive connections all get 200 while event streams are open" t_many_at_once

t_stop_busy()
{
	need_setup
	command -v ss >/dev/null || skip "ss (iproute2) is missing"
	local pid i
	pid=$(cat "$TD/daemon.pid")
	for i in 1 2; do
		curl -sN --max-time 60 --unix-socket "$SOCK" http://cairn/api/v1/events >"ev$i.txt" &
		echo $! >>streams.pid
	done
	stalled_request
	kill "$pid"
	# The daemon waits for the stalled request (its store gives up
	# when it goes) and ends the streams.
	sleep 1
	kill "$(cat "$TD/hold.pid")"
	for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "the daemon did not stop within 15 s: $(tail -n3 "$TD/d.err")"
	grep -q "daemon stopped" "$TD/d.err" || fail "no 'daemon stopped': $(tail -n3 "$TD/d.err")"
	for i in $(cat streams.pid); do
		wait "$i" || true
	done
	wait "$SLOW" || true
	[ -S "$SOCK" ] && fail "the socket file is left"
	return 0
}
test_case "the daemon stops promptly with event streams open and a request waiting on a stalled store" t_stop_busy

test_done
