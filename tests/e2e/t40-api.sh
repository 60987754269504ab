#!/bin/bash
# t40: the daemon's HTTP API (docs/api.md) over its Unix socket and over TCP
# with tokens and TLS: the socket is 0600 and needs no token; TCP answers
# 401 without a token or with a bad or revoked one, 403 to a read-only
# token's mutation; 404, 405, 400 on malformed JSON, 413 on an oversized
# body; a policy created through the API runs in the daemon, its job is
# the CLI's too, and its event stream delivers the job's end; secrets sent
# never come back.  Every response is checked against docs/openapi.yaml.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apilib.sh"

SPEC=$E2E_DIR/../../docs/openapi.yaml
SOCK=$CAIRN_STATE_DIR/cairn.sock
IMG=$TD/vol.img
R=$TD/repo
ALL=$TD/all-responses   # every body the tests received (the secrets check)
# The daemon outlives the test that starts it: stopped at exit whatever happens.
trap 'kill "$(cat "$TD/daemon.pid" 2>/dev/null)" 2>/dev/null; e2e_cleanup' EXIT

# req [--tcp TOKEN | --tls TOKEN] METHOD PATH [CURL ARGS...]: one request;
# the status in $TT/r.code, the body in $TT/r.body (also appended to $ALL),
# checked against the OpenAPI document.  Prints the status.
req()
{
	local via=unix tok='' m p code ctype
	case $1 in
	--tcp | --tls) via=${1#--}; tok=$2; shift 2 ;;
	esac
	m=$1 p=$2
	shift 2
	local args=(-s -o "$TT/r.body" -w '%{http_code} %{content_type}\n' -X "$m" --max-time 30)
	[ -z "$tok" ] || args+=(-H "Authorization: Bearer $tok")
	case $via in
	unix) args+=(--unix-socket "$SOCK" "http://cairn$p") ;;
	tcp) args+=("http://127.0.0.1:$(cat "$TD/port")$p") ;;
	tls) args+=(--cacert "$TD/cert.pem" "https://127.0.0.1:$(cat "$TD/tls-port")$p") ;;
	esac
	read -r code ctype < <(curl "${args[@]}" "$@" || true)
	echo "$code" >"$TT/r.code"
	{ cat "$TT/r.body"; echo; } >>"$ALL"
	echo "  $m $p ($via) -> $code: $(head -c 200 "$TT/r.body")" >&2
	python3 "$E2E_DIR/openapi_check.py" "$SPEC" "$m" "$p" "$code" "${ctype:-application/json}" "$TT/r.body" ||
		fail "$m $p: the response does not match docs/openapi.yaml"
	echo "$code"
}

t_setup()
{
	command -v curl >/dev/null || fail "curl is missing (scripts/install-deps)"
	python3 -c 'import jsonschema, yaml' 2>/dev/null || fail "python3-jsonschema or python3-yaml is missing (scripts/install-deps)"
	rand_file "$IMG" $((4 << 20)) 4001
	new_repo "$R"
	free_port >"$TD/port"
	: >"$ALL"
	"$CAIRN" daemon --listen "127.0.0.1:$(cat "$TD/port")" >"$TD/d.out" 2>"$TD/d.err" &
	echo $! >"$TD/daemon.pid"
	local i
	for i in $(seq 1 100); do
		[ -S "$SOCK" ] && curl -s -o /dev/null --unix-socket "$SOCK" http://cairn/api/v1/status && break
		sleep 0.1
	done
	[ -S "$SOCK" ] || fail "no socket after 10 s: $(cat "$TD/d.err")"
	[ "$(stat -c %a "$SOCK")" = 600 ] || fail "the socket is mode $(stat -c %a "$SOCK"), expected 600"
	grep -q "api: serving on $SOCK and 127.0.0.1:" "$TD/d.err" || fail "no serving line: $(cat "$TD/d.err")"
	cairn token create admin >"$TD/admin.tok"
	cairn token create viewer --read-only >"$TD/viewer.tok"
	grep -Eq '^cairn_[0-9a-f]{64}$' "$TD/admin.tok" || fail "token format: $(cat "$TD/admin.tok")"
	# Only the hash is stored.
	! grep -qaF "$(cat "$TD/admin.tok")" "$CAIRN_STATE_DIR"/state.db* || fail "the token is stored in the clear"
}
test_case "setup: the daemon serves its socket (mode 0600) and 127.0.0.1; tokens are stored hashed" t_setup

t_socket_status()
{
	expect 200 -- GET /api/v1/status
	[ "$(jq -r .service "$TT/r.body")" = cairn ] || fail "status: $(cat "$TT/r.body")"
	[ "$(jq -r .daemon.pid "$TT/r.body")" = "$(cat "$TD/daemon.pid")" ] || fail "status names another pid"
	expect 200 -- GET /api/v1/policies
	expect 200 -- GET /api/v1/jobs
	expect 200 -- GET /api/v1/volumes
	expect 200 -- GET /api/v1/groups
	expect 200 -- GET /api/v1/standbys
	expect 200 -- GET /api/v1/credentials
}
test_case "Unix socket: no token needed; the read resources answer" t_socket_status

t_tcp_auth()
{
	local adm view
	adm=$(cat "$TD/admin.tok") view=$(cat "$TD/viewer.tok")
	expect 401 unauthorized -- --tcp "" GET /api/v1/status
	curl -s -D - -o /dev/null "http://127.0.0.1:$(cat "$TD/port")/api/v1/status" | grep -qi '^WWW-Authenticate: Bearer' ||
		fail "401 without WWW-Authenticate"
	expect 401 unauthorized -- --tcp "cairn_$(printf '%064d' 0)" GET /api/v1/status
	expect 401 unauthorized -- --tcp "${adm%?}x" GET /api/v1/policies
	expect 200 -- --tcp "$adm" GET /api/v1/status
	expect 200 -- --tcp "$view" GET /api/v1/policies
	expect 403 read_only_token -- --tcp "$view" POST /api/v1/policies -d '{"name":"x"}'
	expect 403 read_only_token -- --tcp "$view" POST /api/v1/jobs/1/cancel
	cairn token list --json >t.json
	[ "$(jq length t.json)" = 2 ] || fail "token list: $(cat t.json)"
	jq -e '.[] | select(.name == "viewer") | .read_only' t.json >/dev/null || fail "viewer is not read-only"
	! grep -q cairn_ t.json || fail "token list shows a token"
}
test_case "TCP: 401 without a token or with a bad one, 403 for a read-only token's mutation" t_tcp_auth

t_errors()
{
	local adm
	adm=$(cat "$TD/admin.tok")
	expect 404 not_found -- GET /api/v1/nothing-here
	expect 404 not_found -- GET /nothing
	expect 404 not_found -- GET /api/v1/policies/no-such
	expect 404 not_found -- GET /api/v1/jobs/999999
	expect 404 not_found -- GET /api/v1/jobs/abc
	expect 405 method_not_allowed -- DELETE /api/v1/status
	curl -s -D - -o /dev/null -X PUT --unix-socket "$SOCK" http://cairn/api/v1/policies | grep -qi '^Allow: GET, POST' ||
		fail "405 without Allow"
	expect 400 malformed_json -- POST /api/v1/policies -d '{"name": '
	expect 400 malformed_json -- --tcp "$adm" POST /api/v1/policies -d 'not json'
	expect 400 malformed_json -- POST /api/v1/policies -d '[1, 2]'
	expect 400 invalid_request -- POST /api/v1/policies -d '{"name": "p", "colour": "red"}'
	expect 400 invalid_request -- POST /api/v1/policies -d '{"name": "bad name!", "repo": "/x", "volume": "/x", "every": "1h"}'
	head -c $((300 << 10)) /dev/zero | tr '\0' ' ' >big.json
	expect 413 body_too_large -- --tcp "$adm" POST /api/v1/policies --data-binary @big.json
	# Without a length announced: read, counted and refused all the same.
	expect 413 body_too_large -- POST /api/v1/policies -H 'Transfer-Encoding: chunked' --data-binary @big.json
	# The daemon is still there.
	expect 200 -- GET /api/v1/status
}
test_case "errors: 404, 405 with Allow, 400 on malformed JSON and bad fields, 413 on an oversized body" t_errors

t_policy_runs()
{
	local adm job
	adm=$(cat "$TD/admin.tok")
	expect 201 -- --tcp "$adm" POST /api/v1/policies \
		-d "{\"name\": \"api1\", \"volume\": \"$IMG\", \"repo\": \"$R\", \"cron\": \"0 0 1 1 *\", \"keep\": {\"last\": 3}, \"snapshot\": \"none\"}"
	[ "$(jq -r .keep.last "$TT/r.body")" = 3 ] || fail "keep.last: $(cat "$TT/r.body")"
	cairn policy show api1 --json >p.json 2>/dev/null || cairn policy list --json >p.json
	grep -q api1 p.json || fail "the CLI does not see the policy"
	expect 409 already_exists -- POST /api/v1/policies \
		-d "{\"name\": \"api1\", \"volume\": \"$IMG\", \"repo\": \"$R\", \"every\": \"1d\"}"
	expect 202 -- --tcp "$adm" POST /api/v1/policies/api1/run
	job=$(jq -r .job "$TT/r.body")
	echo "$job" >"$TD/job"
	# The job's events until its end (the stream closes then).
	expect 200 -- --tcp "$adm" GET "/api/v1/jobs/$job/events"
	grep -q '^event: end' "$TT/r.body" || fail "no end event: $(head -c 500 "$TT/r.body")"
	grep -A1 '^event: end' "$TT/r.body" | sed -n 's/^data: //p' | jq -e '.state == "done"' >/dev/null ||
		fail "the job did not end done: $(grep -A1 '^event: end' "$TT/r.body")"
	grep -q '^event: log' "$TT/r.body" || fail "no log events"
	# The CLI sees the same job, done, and the backup it made.
	cairn status --json --all >s.json
	jq -e --argjson id "$job" '(if type == "array" then . else .jobs end) | .[] | select(.id == $id and .state == "done" and .policy == "api1")' s.json >/dev/null ||
		fail "cairn status does not show job $job done: $(head -c 400 s.json)"
	[ "$(cairn list --repo "$R" --json | jq length)" = 1 ] || fail "no backup in the repository"
	expect 200 -- GET "/api/v1/jobs/$job"
	[ "$(jq -r .result "$TT/r.body")" = "$(cairn list --repo "$R" --json | jq -r '.[0].id')" ] ||
		fail "the job's result is not the backup"
	expect 200 -- GET "/api/v1/jobs/$job/log"
	jq -e '.lines | length > 0' "$TT/r.body" >/dev/null || fail "empty log"
	# A finished job's stream is its end at once.
	expect 200 -- GET "/api/v1/jobs/$job/events"
	[ "$(grep -c '^event: end' "$TT/r.body")" = 1 ] || fail "finished job's stream"
	expect 409 finished -- POST "/api/v1/jobs/$job/cancel"
}
test_case "a policy created through the API runs in the daemon; its job is the CLI's; events deliver its end" t_policy_runs

t_backups_holds()
{
	local enc id adm view
	adm=$(cat "$TD/admin.tok")
	enc=$(jq -rn --arg r "$R" '$r | @uri')
	expect 200 -- --tcp "$adm" GET "/api/v1/repositories/$enc/backups"
	id=$(jq -r '.backups[0].id' "$TT/r.body")
	[ "$id" = "$(cairn list --repo "$R" --json | jq -r '.[0].id')" ] || fail "backups: $(cat "$TT/r.body")"
	expect 200 -- POST "/api/v1/repositories/$enc/backups/$id/hold" -d '{"reason": "audit 2026"}'
	cairn list --repo "$R" --json | jq -e '.[0].held and .[0].hold_reason == "audit 2026"' >/dev/null ||
		fail "the CLI does not see the hold"
	expect 200 -- GET "/api/v1/repositories/$enc/backups"
	jq -e '.backups[0].held' "$TT/r.body" >/dev/null || fail "the API does not show the hold"
	expect 200 -- POST "/api/v1/repositories/$enc/backups/$id/release"
	cairn list --repo "$R" --json | jq -e '.[0].held | not' >/dev/null || fail "still held"
	expect 404 -- POST "/api/v1/repositories/$enc/backups/ffffffffffffffff/hold"
	expect 400 not_a_repository -- GET "/api/v1/repositories/%2Fnowhere/backups"
	expect 200 -- GET /api/v1/dr/report
	jq -e '.items | length >= 1' "$TT/r.body" >/dev/null || fail "DR report: $(head -c 300 "$TT/r.body")"
}
test_case "backups of a repository, hold and release through the API (the CLI sees them); the DR report" t_backups_holds

t_policy_pause_delete()
{
	expect 200 -- POST /api/v1/policies/api1/pause
	[ "$(jq -r .paused "$TT/r.body")" = true ] || fail "not paused"
	cairn policy list --json | jq -e '.[] | select(.name == "api1") | .paused' >/dev/null || fail "the CLI sees it running"
	expect 409 paused -- POST /api/v1/policies/api1/run
	expect 200 -- POST /api/v1/policies/api1/resume
	[ "$(jq -r .paused "$TT/r.body")" = false ] || fail "not resumed"
	expect 200 -- GET /api/v1/volumes
	jq -e --arg v "$IMG" '.volumes[] | select(.path == $v) | .policies == ["api1"]' "$TT/r.body" >/dev/null ||
		fail "volumes: $(cat "$TT/r.body")"
	expect 200 -- DELETE /api/v1/policies/api1
	expect 404 not_found -- GET /api/v1/policies/api1
	expect 404 not_found -- DELETE /api/v1/policies/api1
}
test_case "pause, resume and delete through the API; the CLI sees each" t_policy_pause_delete

t_cancel_queued()
{
	expect 201 -- POST /api/v1/policies \
		-d "{\"name\": \"api2\", \"volume\": \"$IMG\", \"repo\": \"$R\", \"cron\": \"0 0 1 1 *\", \"snapshot\": \"none\"}"
	# Paused right after the run is queued: a queued job is canceled at once.
	local job
	expect 202 -- POST /api/v1/policies/api2/run
	job=$(jq -r .job "$TT/r.body")
	req POST "/api/v1/jobs/$job/cancel" >/dev/null
	case $(cat "$TT/r.code") in
	202) ;;
	409) ;; # it had already finished: a fast machine
	*) fail "cancel: $(cat "$TT/r.code")" ;;
	esac
	expect 200 -- GET "/api/v1/jobs/$job/events"
	grep -q '^event: end' "$TT/r.body" || fail "no end event after a cancel"
	expect 200 -- DELETE /api/v1/policies/api2
}
test_case "cancel through the API; the job's stream ends" t_cancel_queued

t_events_all()
{
	local job pid
	# Every job's changes, while a run starts and ends.
	curl -sN --max-time 8 --unix-socket "$SOCK" http://cairn/api/v1/events >ev.txt &
	pid=$!
	sleep 1
	expect 201 -- POST /api/v1/policies \
		-d "{\"name\": \"api3\", \"volume\": \"$IMG\", \"repo\": \"$R\", \"cron\": \"0 0 1 1 *\", \"snapshot\": \"none\"}"
	expect 202 -- POST /api/v1/policies/api3/run
	job=$(jq -r .job "$TT/r.body")
	wait $pid || true
	python3 "$E2E_DIR/openapi_check.py" "$SPEC" GET /api/v1/events 200 text/event-stream ev.txt ||
		fail "the events do not match docs/openapi.yaml"
	sed -n 's/^data: //p' ev.txt | jq -se --argjson id "$job" 'any(.[]; .id == $id and .state == "done")' >/dev/null ||
		fail "no event of job $job done: $(tail -c 400 ev.txt)"
	# Jobs that were there before the stream began come first.
	sed -n 's/^data: //p' ev.txt | jq -se --argjson id "$(cat "$TD/job")" 'any(.[]; .id == $id and .state == "done")' >/dev/null ||
		fail "no event of the earlier job $(cat "$TD/job")"
	expect 200 -- DELETE /api/v1/policies/api3
}
test_case "the stream of every job's events shows a run from queued to done" t_events_all

t_credentials()
{
	local secret='s3cr3t-API-value-4711' pass='api passphrase 0815' uuid
	expect 201 -- POST /api/v1/credentials \
		-d "{\"provider\": \"s3\", \"name\": \"apicred\", \"access_key\": \"AKIAAPI\", \"secret_key\": \"$secret\", \"region\": \"eu-1\", \"passphrase\": \"$pass\"}"
	uuid=$(jq -r .uuid "$TT/r.body")
	[ "$(jq -r .encryption "$TT/r.body")" = true ] || fail "encryption flag"
	expect 200 -- GET /api/v1/credentials
	jq -e '.credentials[] | select(.name == "apicred")' "$TT/r.body" >/dev/null || fail "not listed"
	cairn cred list --json | jq -e --arg u "$uuid" '.[] | select(.uuid == $u)' >/dev/null || fail "the CLI does not see it"
	expect 400 invalid_request -- POST /api/v1/credentials -d '{"provider": "s3", "secret_key": 5}'
	expect 400 -- POST /api/v1/credentials -d '{"provider": "floppy"}'
	expect 200 -- DELETE /api/v1/credentials/apicred
	expect 404 -- DELETE /api/v1/credentials/apicred
	! grep -qF "$secret" "$ALL" || fail "a secret came back in a response"
	! grep -qF "$pass" "$ALL" || fail "a passphrase came back in a response"
	! grep -qF "$secret" "$TD/d.err" || fail "a secret is in the daemon's log"
}
test_case "credentials: create, list, delete; secrets never in any response or log" t_credentials

t_revoke()
{
	local view
	view=$(cat "$TD/viewer.tok")
	expect 200 -- --tcp "$view" GET /api/v1/status
	cairn token revoke viewer
	expect 401 unauthorized -- --tcp "$view" GET /api/v1/status
	expect_fail -m "no token called viewer" cairn token revoke viewer
	expect_fail -c 2 -m "read-only" cairn token list --read-only
	expect_fail -m "exists" cairn token create admin
}
test_case "token revoke: the next request with it is 401; bad token commands are one line" t_revoke

t_tls()
{
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TD/key.pem" -out "$TD/cert.pem" -days 2 \
		-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
	free_port >"$TD/tls-port"
	local port pid adm rc=0
	port=$(cat "$TD/tls-port")
	mkdir -p s2
	export CAIRN_STATE_DIR=$TT/s2
	cairn token create tls >tls.tok
	adm=$(cat tls.tok)
	"$CAIRN" daemon --listen "127.0.0.1:$port" --tls-cert "$TD/cert.pem" --tls-key "$TD/key.pem" 2>d.err &
	pid=$!
	for _ in $(seq 1 100); do
		curl -s -o /dev/null --cacert "$TD/cert.pem" "https://127.0.0.1:$port/" && break
		sleep 0.1
	done
	expect 200 -- --tls "$adm" GET /api/v1/status
	expect 401 -- --tls "" GET /api/v1/status
	# Plain HTTP gets no answer from a TLS port.
	! curl -s --max-time 5 -H "Authorization: Bearer $adm" "http://127.0.0.1:$port/api/v1/status" | grep -q cairn ||
		fail "plain HTTP answered on the TLS port"
	kill -TERM $pid
	wait $pid || rc=$?
	[ $rc = 0 ] || fail "daemon exited $rc"
	expect_fail -c 2 -m "go together" cairn daemon --listen 127.0.0.1:1 --tls-cert "$TD/cert.pem"
	expect_fail -c 2 -m "listen" cairn daemon --tls-cert "$TD/cert.pem" --tls-key "$TD/key.pem"
	expect_fail -m "PEM" cairn daemon --listen "127.0.0.1:$port" --tls-cert /etc/hostname --tls-key "$TD/key.pem"
	expect_fail -m "listen" cairn daemon --listen nowhere
}
test_case "TLS: a token over HTTPS with a self-signed certificate; bad TLS and listen options are one line" t_tls

t_static()
{
	local port pid rc=0
	mkdir -p www/js s3 && echo '<!doctype html><title>cairn</title>' >www/index.html
	echo 'console.log(1)' >www/js/app.js
	echo 'secret' >www/.hidden.html
	echo 'outside' >outside.html
	ln -s ../outside.html www/link.html
	port=$(free_port)
	CAIRN_STATE_DIR=$TT/s3 "$CAIRN" daemon --listen "127.0.0.1:$port" --static-dir www 2>d.err &
	pid=$!
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "http://127.0.0.1:$port/" && break
		sleep 0.1
	done
	# No token for the page itself (it asks for one); the API still needs it.
	curl -s "http://127.0.0.1:$port/" | grep -q '<title>cairn' || fail "no index.html"
	curl -s -D - -o /dev/null "http://127.0.0.1:$port/js/app.js" | grep -qi '^Content-Type: text/javascript' ||
		fail "app.js content type"
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/v1/status")" = 401 ] || fail "the API without a token"
	local p
	for p in /.hidden.html /js/../../outside.html /link.html /%2e%2e/outside.html /nothing.html /js/app.exe; do
		[ "$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$p")" = 404 ] ||
			fail "$p was served"
	done
	kill -TERM $pid
	wait $pid || rc=$?
	[ $rc = 0 ] || fail "daemon exited $rc"
	expect_fail -c 2 -m "not a directory" cairn daemon --static-dir /nonexistent
}
test_case "static files (the dashboard's): served without a token from --static-dir, nothing outside it" t_static

t_shutdown()
{
	local pid rc=0
	pid=$(cat "$TD/daemon.pid")
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || rc=$?
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	! kill -0 "$pid" 2>/dev/null || fail "the daemon is still running"
	[ ! -e "$SOCK" ] || fail "the socket is left behind"
	grep -q "daemon stopped" "$TD/d.err" || fail "no stop line: $(tail -n3 "$TD/d.err")"
	! grep -qi "sanitizer\|leak" "$TD/d.err" || fail "the daemon's log: $(grep -i -m3 'sanitizer\|leak' "$TD/d.err")"
}
test_case "SIGTERM: the daemon stops its API and removes the socket" t_shutdown

test_done
