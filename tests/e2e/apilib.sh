# shellcheck shell=bash
# What the HTTP API tests (t40, t43) share, sourced after lib.sh.  Each
# file defines its own `req` (how it reaches the daemon: socket, TCP, TLS)
# that prints the status code and leaves the body in $TT/r.body.

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
