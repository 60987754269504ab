# shellcheck shell=bash
# What the HTTP API tests (t40, t43, t47, t54) share, sourced after lib.sh.  Each
# file defines its own `req` (how it reaches the daemon: socket, TCP, TLS)
# that prints the status code and leaves the body in $TT/r.body (t43 and
# t47 with req_sock_tcp below; $SPEC is the OpenAPI document).

# expect CODE [ERROR_CODE] -- REQ ARGS: req must answer CODE (and the error
# document's stable code).
expect()
{
	local want=$1 ecode='' got
	shift
	[ "$1" = -- ] || { ecode=$1; shift; }
	shift
	got=$(req "$@")
	[ "$got" = "$want" ] || fail "$*: status $got, expected $want: $(head -c 300 "$TT/r.body")"
	if [ -n "$ecode" ]; then
		[ "$(jq -r .error.code "$TT/r.body")" = "$ecode" ] ||
			fail "$*: error code $(jq -r .error.code "$TT/r.body"), expected $ecode"
	fi
}

free_port()
{
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# req_sock_tcp [--tcp TOKEN|none] METHOD PATH [CURL ARGS...]: one request
# over $SOCK, or over TCP to 127.0.0.1:$(cat $TD/port) with the token (none:
# without one);
# the status in $TT/r.code, the body in $TT/r.body, the headers in
# $TT/r.head; checked against the OpenAPI document.  Prints the status.
req_sock_tcp()
{
	local tok='' m p code ctype
	[ "$1" != --tcp ] || { tok=$2; shift 2; }
	m=$1 p=$2
	shift 2
	local args=(-s -D "$TT/r.head" -o "$TT/r.body" -w '%{http_code} %{content_type}\n' -X "$m" --max-time 120)
	if [ "$tok" = none ]; then
		args+=("http://127.0.0.1:$(cat "$TD/port")$p")
	elif [ -n "$tok" ]; then
		args+=(-H "Authorization: Bearer $tok" "http://127.0.0.1:$(cat "$TD/port")$p")
	else
		args+=(--unix-socket "$SOCK" "http://cairn$p")
	fi
	read -r code ctype < <(curl "${args[@]}" "$@" || true)
	echo "$code" >"$TT/r.code"
	echo "  $m $p -> $code: $(head -c 300 "$TT/r.body")" >&2
	python3 "$E2E_DIR/openapi_check.py" "$SPEC" "$m" "$p" "$code" "${ctype:-application/json}" "$TT/r.body" ||
		fail "$m $p: the response does not match docs/openapi.yaml"
	echo "$code"
}

# start_daemon [ARGS...]: starts the daemon (again) on the socket $SOCK and
# on TCP at the port in $TD/port (its pid to $TD/daemon.pid, its output
# appended to $TD/d.out and d.err) and waits until it answers (t47, t54).
start_daemon()
{
	"$CAIRN" daemon --listen "127.0.0.1:$(cat "$TD/port")" "$@" >>"$TD/d.out" 2>>"$TD/d.err" &
	echo $! >"$TD/daemon.pid"
	local i
	for i in $(seq 1 100); do
		[ -S "$SOCK" ] && curl -s -o /dev/null --unix-socket "$SOCK" http://cairn/api/v1/status && return 0
		sleep 0.1
	done
	fail "no socket after 10 s: $(cat "$TD/d.err")"
}

# stop_daemon: ends the daemon start_daemon started and waits for it.
stop_daemon()
{
	local pid
	pid=$(cat "$TD/daemon.pid")
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
