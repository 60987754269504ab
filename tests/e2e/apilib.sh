# shellcheck shell=bash
# What the HTTP API tests (t40, t43) share, sourced after lib.sh.  Each
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
