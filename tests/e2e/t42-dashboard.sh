#!/bin/bash
# t42: the dashboard (dashboard/) served by `cairn daemon`, and its catalog
# routes: the files are public, typed, cached with validators and never
# reachable outside its directory however the path is spelled; the API still wants
# its token; a backup's catalog is listed and looked up through the API
# (bad input refused in one JSON error); and in headless Chromium
# (Debian's chromium driven by playwright-core, scripts/install-deps
# browser) a person signs in with a token, creates a policy, runs it,
# watches the job finish live, reads its log, browses the backup's files
# and restores one (compared with cmp), on a wide and a narrow screen,
# with screenshots under build/test-logs/.
. "$(dirname "$0")/lib.sh"

SOCK=$CAIRN_STATE_DIR/cairn.sock
IMG=$TD/vol.img
R=$TD/repo
PW=$E2E_DIR/dashboard
WEB=$(cd "$E2E_DIR/../../dashboard" && pwd)
# Screenshots: build/test-logs/t42-<build>/ (plain and ASan apart).
SHOTS=${TEST_LOG_DIR:-build/test-logs}
case $SHOTS in /*) ;; *) SHOTS=$(cd "$E2E_DIR/../.." && pwd)/$SHOTS ;; esac
# (run.sh tests a copy of the binary: the build is told by its libasan)
SHOTS=$SHOTS/t42-$(ldd "$CAIRN" 2>/dev/null | grep -q libasan && echo asan || echo plain)
trap 'kill "$(cat "$TD/daemon.pid" 2>/dev/null)" 2>/dev/null; e2e_cleanup' EXIT

free_port()
{
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

base()
{
	echo "http://127.0.0.1:$(cat "$TD/port")"
}

# get PATH [CURL ARGS]: GET over TCP; prints "STATUS CONTENT-TYPE", the
# body in $TT/b, the headers in $TT/h.
get()
{
	local p=$1
	shift
	rm -f "$TT/b"
	touch "$TT/b"
	curl -s --path-as-is -D "$TT/h" -o "$TT/b" -w '%{http_code} %{content_type}\n' --max-time 30 "$@" "$(base)$p"
}

# api METHOD PATH [CURL ARGS]: an API call with the token; prints the
# status, or "spec:STATUS" when the answer does not match docs/openapi.yaml.
api()
{
	local m=$1 p=$2 code ctype
	shift 2
	read -r code ctype < <(curl -s -o "$TT/b" -w '%{http_code} %{content_type}\n' --max-time 60 -X "$m" \
		-H "Authorization: Bearer $(cat "$TD/tok")" "$@" "$(base)$p")
	if python3 -c 'import jsonschema, yaml' 2>/dev/null &&
		! python3 "$E2E_DIR/openapi_check.py" "$E2E_DIR/../../docs/openapi.yaml" "$m" "$p" "$code" \
			"${ctype:-application/json}" "$TT/b" 2>>"$TT/spec.err"; then
		code=spec:$code
	fi
	echo "$code"
}

# daemon_up BINARY STATE_DIR [ARGS...]: a daemon of its own on a free
# port ($DPORT, pid $DPID), stderr in $TT/dx.err, once it answers;
# daemon_down stops it.
daemon_up()
{
	local bin=$1 st=$2
	shift 2
	DPORT=$(free_port)
	CAIRN_STATE_DIR=$st "$bin" daemon --listen "127.0.0.1:$DPORT" "$@" 2>"$TT/dx.err" &
	DPID=$!
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "http://127.0.0.1:$DPORT/" && return 0
		sleep 0.1
	done
	fail "the daemon does not answer: $(cat "$TT/dx.err")"
}

daemon_down()
{
	kill "$DPID"
	wait "$DPID" || true
}

t_setup()
{
	command -v mkfs.ext4 >/dev/null || fail "mkfs.ext4 is missing (scripts/install-deps)"
	# An ext4 volume with a small tree (mkfs.ext4 -d: no mount, no root
	# needed), so that its backups carry a file catalog.
	mkdir -p "$TD/tree/docs/deep" "$TD/tree/empty"
	rand_file "$TD/tree/docs/readme.txt" 70000 4201
	rand_file "$TD/tree/docs/deep/data.bin" 300000 4202
	printf 'hello\n' >"$TD/tree/top.txt"
	ln -s docs/readme.txt "$TD/tree/link"
	mkfs.ext4 -q -F -b 4096 -d "$TD/tree" "$IMG" 16M
	new_repo "$R"
	free_port >"$TD/port"
	# Each progress report of a job waits a little, so that the page can
	# see the job running (app.h test_job_delay_ms).
	CAIRN_TEST_JOB_DELAY=150 "$CAIRN" daemon --listen "127.0.0.1:$(cat "$TD/port")" --static-dir "$WEB" \
		>"$TD/d.out" 2>"$TD/d.err" &
	echo $! >"$TD/daemon.pid"
	local i
	for i in $(seq 1 100); do
		[ -S "$SOCK" ] && curl -s -o /dev/null "$(base)/" && break
		sleep 0.1
	done
	[ -S "$SOCK" ] || fail "no socket after 10 s: $(cat "$TD/d.err")"
	cairn token create dash >"$TD/tok"
	cairn token create viewer --read-only >"$TD/viewer.tok"
}
test_case "setup: an ext4 volume, a repository, the daemon on 127.0.0.1 and a token" t_setup

t_static()
{
	local f want
	for f in /:text/html /index.html:text/html /app.js:text/javascript /app.css:text/css /favicon.svg:image/svg+xml; do
		want="200 ${f#*:}"
		case "$(get "${f%%:*}")" in "$want"*) ;; *) fail "GET ${f%%:*}: $(head -c 200 "$TT/b"), expected $want" ;; esac
		cmp -s "$TT/b" "$WEB/$( [ "${f%%:*}" = / ] && echo index.html || echo "${f%%:*}" | cut -c2-)" ||
			fail "GET ${f%%:*} is not the file in dashboard/"
		grep -qi '^Cache-Control: no-cache' "$TT/h" || fail "GET ${f%%:*}: no Cache-Control: no-cache: $(cat "$TT/h")"
		grep -qi '^ETag: "' "$TT/h" || fail "GET ${f%%:*}: no ETag"
		grep -qi '^X-Content-Type-Options: nosniff' "$TT/h" || fail "GET ${f%%:*}: no nosniff"
		grep -qi "^Content-Security-Policy: .*frame-ancestors 'none'" "$TT/h" || fail "GET ${f%%:*}: no CSP"
	done
	# The page asked again with its validator: 304, no body.
	local etag
	get /app.js >/dev/null
	etag=$(grep -i '^ETag:' "$TT/h" | cut -d' ' -f2 | tr -d '\r')
	[ "$(get /app.js -H "If-None-Match: $etag")" = "304 " ] || fail "If-None-Match: not 304"
	[ ! -s "$TT/b" ] || fail "a 304 with a body"
	[ "$(get /app.js -H 'If-None-Match: "other"' | cut -d' ' -f1)" = 200 ] || fail "another ETag: not 200"
	# HEAD: the headers alone.
	[ "$(curl -s -o /dev/null -w '%{http_code}' -I "$(base)/app.css")" = 200 ] || fail "HEAD /app.css"
	# The page is public; the API behind it is not.
	[ "$(get /api/v1/policies | cut -d' ' -f1)" = 401 ] || fail "the API answers without a token"
	# Not the dashboard's: API 404s in JSON, nothing from outside its directory.
	for f in /nope.js /../etc/passwd /%2e%2e/etc/passwd /.. /%2e%2e /..%2fetc%2fpasswd /%2fetc%2fpasswd \
		/app.js/x /.hidden.js /x/../app.js /%2e/app.js "/app.js%00.html" /index.html%3f /web/index.html /../web/index.html \
		/../../../../../../etc/passwd /./app.js '/app.js?x=/../../etc/passwd' /README.md /meson.build; do
		case "$(get "$f")" in
		"404 application/json"*) ;;
		"200 text/javascript"*) [ "$f" = '/app.js?x=/../../etc/passwd' ] || fail "GET $f: 200" ;;
		*) fail "GET $f: $(head -c 200 "$TT/b")" ;;
		esac
		! grep -q 'root:' "$TT/b" || fail "GET $f served /etc/passwd"
	done
	# A symbolic link planted in the web directory leads nowhere.
	local web=$TD/web2
	cp -r "$WEB" "$web"
	ln -s /etc/passwd "$web/passwd.txt"
	mkdir "$web/sub.js" "$TD/outside" "$web/js"
	echo 'secret' >"$TD/outside/s.js"
	ln -s "$TD/outside" "$web/lnk"
	cp "$WEB/app.js" "$web/js/app.js"
	daemon_up "$CAIRN" "$TT/state2" --static-dir "$web"
	local code code2 code3 code4
	code=$(curl -s -o "$TT/b" -w '%{http_code}' "http://127.0.0.1:$DPORT/passwd.txt")
	code2=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DPORT/sub.js")
	code3=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DPORT/lnk/s.js")
	code4=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DPORT/js/app.js")
	daemon_down
	[ "$code" = 404 ] || fail "a symlink in the web directory was followed: $code $(head -c 100 "$TT/b")"
	[ "$code2" = 404 ] || fail "a directory in the web directory was served: $code2"
	[ "$code3" = 404 ] || fail "a linked directory was followed: $code3"
	[ "$code4" = 200 ] || fail "a file in a subdirectory: $code4"
}
test_case "static files: public, typed, ETag + no-cache (304), nothing outside the directory (traversal, links)" t_static

# PREFIX/bin/cairn finds PREFIX/share/cairn/dashboard (meson install_data)
# with no option; without it the API runs alone.
t_installed_layout()
{
	mkdir -p pfx/bin pfx/share/cairn
	cp "$CAIRN" pfx/bin/cairn
	cp -r "$WEB" pfx/share/cairn/dashboard
	local code
	daemon_up pfx/bin/cairn "$TT/st"
	code=$(curl -s -o page.html -w '%{http_code}' "http://127.0.0.1:$DPORT/")
	daemon_down
	[ "$code" = 200 ] || fail "installed layout: GET / $code: $(cat "$TT/dx.err")"
	cmp -s page.html "$WEB/index.html" || fail "installed layout: not index.html"
	rm -rf pfx/share
	daemon_up pfx/bin/cairn "$TT/st"
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DPORT/")
	daemon_down
	[ "$code" = 404 ] || fail "no dashboard files: GET / $code"
}
test_case "installed layout: PREFIX/bin/cairn serves PREFIX/share/cairn/dashboard; none there: the API alone" t_installed_layout

# The policy the browser makes runs to a backup; its id is written here.
BACKUP_FILE=$TD/backup.id

t_browser()
{
	[ -x /usr/bin/chromium ] || skip "no /usr/bin/chromium (scripts/install-deps browser)"
	[ -d "$PW/node_modules/playwright-core" ] || skip "no playwright-core in $PW (scripts/install-deps browser)"
	mkdir -p "$SHOTS"
	node "$PW/dash.mjs" main "$(base)/" "$(cat "$TD/tok")" "$SHOTS" "$IMG" "$R" >out.json 2>err.txt ||
		fail "$(grep -v '^#' err.txt | tail -n1)"
	cp out.json "$TD/browser.json"
	jget out.json '.bad_token_message' | grep -q 'unknown or revoked token' ||
		fail "a wrong token's message: $(jget out.json .bad_token_message)"
	jget out.json '.bad_policy_message' | grep -q 'Could not create policy web1: .*every' ||
		fail "a bad policy's message: $(jget out.json .bad_policy_message)"
	[ "$(jq -r .token_in_session_storage out.json)" = true ] || fail "the token is not in sessionStorage"
	[ "$(jq -r .token_in_local_storage out.json)" = false ] || fail "something was left in localStorage"
	[ "$(jget out.json .job.state)" = done ] || fail "the job: $(jq -c .job out.json); $(jq -c .states_seen out.json)"
	# Live: the row was seen before it was done (queued or active, with a
	# progress bar), and the job's event stream was read.
	jq -e '.states_seen | map(select(test("^(queued|active)\\+bar$"))) | length > 0' out.json >/dev/null ||
		fail "the job was never seen running: $(jq -c .states_seen out.json)"
	[ "$(jget out.json .event_streams)" -ge 1 ] || fail "no job's event stream was opened (the log)"
	[ "$(jget out.json .all_event_streams)" -ge 1 ] || fail "the page does not follow /api/v1/events"
	jget out.json .log_text | grep -q . || fail "the log panel is empty"
	[ "$(jq '.console_errors | length' out.json)" = 0 ] || fail "console errors: $(jq -c .console_errors out.json)"
	[ "$(jget out.json .narrow_overflow_px)" -le 0 ] || fail "the narrow page scrolls sideways: $(jget out.json .narrow_overflow_px) px"
	[ "$(jq '.narrow_buttons_hidden | length' out.json)" = 0 ] ||
		fail "on a narrow screen these buttons are off it: $(jq -c .narrow_buttons_hidden out.json)"
	[ "$(jget out.json .narrow_overflow_jobs_px)" -le 0 ] ||
		fail "the narrow jobs view scrolls sideways: $(jget out.json .narrow_overflow_jobs_px) px"
	local s
	[ "$(jq -r .timeline_dots out.json)" = 1 ] || fail "the timeline shows $(jq -r .timeline_dots out.json) restore points"
	[ "$(jq -r .held_after_click out.json)" = true ] || fail "Hold did not hold the backup"
	[ "$(jq -r .released_after_click out.json)" = true ] || fail "Release did not release the backup"
	for s in wide-policies wide-job-running wide-jobs wide-points narrow-policies narrow-jobs; do
		[ -s "$SHOTS/dashboard-$s.png" ] || fail "no screenshot dashboard-$s.png"
	done
	# The job the page watched is the CLI's job too, with the backup.
	local id
	id=$(jget out.json .job.id)
	api GET "/api/v1/jobs/$id" >/dev/null
	jget "$TT/b" .result >"$BACKUP_FILE"
	cairn list --repo "$R" --json >l.json
	grep -q "$(cat "$BACKUP_FILE")" l.json || fail "backup $(cat "$BACKUP_FILE") is not in the repository"
	# The first load: size (the target is under 200 KiB) and time (shown).
	local bytes ms
	bytes=$(jget out.json .load.bytes) ms=$(jget out.json .load.load_ms)
	echo "# first load: $bytes bytes in $(jget out.json .load.files) files, load event at $ms ms (Navigation Timing;" \
		"again in a fresh context: $(jget out.json .load_again.load_ms) ms)"
	[ "$bytes" -lt $((200 << 10)) ] || fail "first load is $bytes bytes (target < 200 KiB)"
}
test_case "browser: sign in (a wrong token refused), create a policy, run it, watch it live, its log; narrow screen" t_browser

# The catalog of the browser's backup, or a skip naming why there is none.
need_catalog()
{
	[ -s "$BACKUP_FILE" ] || skip "no backup from the browser test"
	local code
	code=$(api GET "$(rp)/$(cat "$BACKUP_FILE")/catalog")
	if [ "$code" = 404 ] && ! jq -r .error.message "$TT/b" | grep -q '^no such resource'; then
		skip "the backup has no catalog: $(jq -r .error.message "$TT/b") (catalogs at backup time: h20/catalog)"
	fi
	[ "$code" = 200 ] || fail "catalog: $code $(head -c 300 "$TT/b")"
}

# The backups of the test's repository (its URI as one path segment).
rp()
{
	echo "/api/v1/repositories/$(jq -rn --arg u "$R" '$u | @uri')/backups"
}

t_catalog_api()
{
	local b
	b=$(cat "$BACKUP_FILE" 2>/dev/null || echo latest)
	# Bad input first: each one JSON error with the reason.
	[ "$(api GET "$(rp)/$b/catalog?path=etc")" = 400 ] || fail "relative path: $(cat "$TT/b")"
	jq -r .error.message "$TT/b" | grep -q 'path must be absolute' || fail "relative path: $(cat "$TT/b")"
	[ "$(api GET "$(rp)/$b/catalog?path=%zz")" = 400 ] || fail "bad escape: $(cat "$TT/b")"
	[ "$(api GET "$(rp)/$b/catalog?path=/a%00b")" = 400 ] || fail "a NUL: $(cat "$TT/b")"
	[ "$(api GET "$(rp)/ffffffffffffffff/catalog")" = 404 ] || fail "unknown backup: $(cat "$TT/b")"
	[ "$(api GET "/api/v1/repositories/%2Fnowhere/backups/$b/catalog")" = 400 ] || fail "not a repository: $(cat "$TT/b")"
	[ "$(jq -r .error.code "$TT/b")" = not_a_repository ] || fail "not a repository: $(cat "$TT/b")"
	[ "$(api POST "$(rp)/$b/catalog")" = 405 ] || fail "POST catalog: $(cat "$TT/b")"
	# A read-only token may browse (it is a read).
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$TD/viewer.tok")" "$(base)$(rp)/$b/catalog")
	[ "$code" != 403 ] || fail "a read-only token may not browse"
	need_catalog
	jq -e '.entries | map(.name) | index("docs") != null and index("top.txt") != null and index("link") != null' \
		"$TT/b" >/dev/null || fail "/ lists $(jq -c '.entries | map(.name)' "$TT/b")"
	[ "$(jq -r '.entries[] | select(.name == "link") | .target' "$TT/b")" = docs/readme.txt ] || fail "the link's target"
	[ "$(api GET "$(rp)/$b/catalog?path=/docs/deep")" = 200 ] || fail "/docs/deep: $(cat "$TT/b")"
	[ "$(jq -r '.entries[0].name + " " + (.entries[0].size|tostring)' "$TT/b")" = "data.bin 300000" ] ||
		fail "/docs/deep: $(cat "$TT/b")"
	[ "$(api GET "$(rp)/$b/catalog/entry?path=%2Fdocs%2Freadme.txt")" = 200 ] || fail "entry: $(cat "$TT/b")"
	[ "$(jq -r '.entry.size' "$TT/b")" = 70000 ] || fail "entry: $(cat "$TT/b")"
	jq -e '.entry.extents | length > 0' "$TT/b" >/dev/null || fail "entry without extents: $(cat "$TT/b")"
	[ "$(api GET "$(rp)/$b/catalog?path=/top.txt")" = 400 ] || fail "listing a file: $(cat "$TT/b")"
	[ "$(api GET "$(rp)/$b/catalog?path=/nothing")" = 404 ] || fail "a missing path: $(cat "$TT/b")"
	# A prefix of the id, and VOLUME@latest.
	[ "$(api GET "$(rp)/${b:0:10}/catalog?path=/docs")" = 200 ] || fail "a prefix: $(cat "$TT/b")"
	[ "$(api GET "$(rp)/latest/catalog?path=/docs")" = 200 ] || fail "latest: $(cat "$TT/b")"
}
test_case "catalog API: list a directory, look up an entry; bad input is one JSON error" t_catalog_api

t_browser_files()
{
	[ -x /usr/bin/chromium ] && [ -d "$PW/node_modules/playwright-core" ] || skip "no chromium or playwright-core"
	need_catalog
	node "$PW/dash.mjs" files "$(base)/" "$(cat "$TD/tok")" "$SHOTS" web1 "$(cat "$BACKUP_FILE")" \
		/docs/deep/data.bin "$TT/restored" >out.json 2>err.txt || fail "$(grep -v '^#' err.txt | tail -n1)"
	jget out.json .restore_message | grep -q "^Restored /docs/deep/data.bin into $TT/restored" ||
		fail "the page said: $(jget out.json .restore_message)"
	same_file "$TD/tree/docs/deep/data.bin" "$TT/restored/data.bin"
	[ -s "$SHOTS/dashboard-wide-files.png" ] || fail "no screenshot of the file browser"
}
test_case "browser: browse the backup's files and restore one to a path (cmp)" t_browser_files

# restore_file BODY STATE: POST /api/v1/restores/file answers 202 and its
# job (followed on its event stream) ends STATE.
restore_file()
{
	local body=$1 want=$2 job
	[ "$(api POST /api/v1/restores/file -d "$body")" = 202 ] || fail "restore: $(cat "$TT/b")"
	job=$(jq -r .job "$TT/b")
	curl -s -o "$TT/ev" --max-time 120 -H "Authorization: Bearer $(cat "$TD/tok")" "$(base)/api/v1/jobs/$job/events"
	grep -q '^event: end' "$TT/ev" || fail "job $job: no end event"
	[ "$(api GET "/api/v1/jobs/$job")" = 200 ] || fail "job $job: $(cat "$TT/b")"
	[ "$(jq -r .state "$TT/b")" = "$want" ] || fail "job $job ended $(jq -r '.state + ": " + (.error // "")' "$TT/b"), expected $want"
}

t_restore_file_api()
{
	need_catalog
	local b body
	b=$(cat "$BACKUP_FILE")
	body() { echo "{\"repo\": \"$R\", \"backup\": \"$b\", $1}"; }
	[ "$(api POST /api/v1/restores/file -d "$(body '"paths": ["/top.txt"], "dest": "rel/dir"')")" = 400 ] ||
		fail "relative dest: $(cat "$TT/b")"
	[ "$(api POST /api/v1/restores/file -d "$(body "\"dest\": \"$TT/x\"")")" = 400 ] || fail "no path: $(cat "$TT/b")"
	[ "$(api POST /api/v1/restores/file -d "$(body "\"paths\": [\"/top.txt\"], \"dest\": \"$TT/x\", \"colour\": 1")")" = 400 ] ||
		fail "unknown field: $(cat "$TT/b")"
	local code
	code=$(curl -s -o "$TT/b" -w '%{http_code}' -X POST -H "Authorization: Bearer $(cat "$TD/viewer.tok")" \
		-d "$(body "\"paths\": [\"/top.txt\"], \"dest\": \"$TT/x\"")" "$(base)/api/v1/restores/file")
	[ "$code" = 403 ] || fail "a read-only token restored: $code"
	[ ! -e "$TT/x" ] || fail "a refused restore wrote $TT/x"
	# The synchronous route the dashboard used is gone: one way to restore files.
	[ "$(api POST "$(rp)/$b/restore-file" -d "{\"path\": \"/top.txt\", \"target\": \"$TT/x\"}")" = 404 ] ||
		fail "the old restore-file route still answers: $(cat "$TT/b")"
	restore_file "$(body "\"paths\": [\"/top.txt\", \"/docs\"], \"dest\": \"$TT/x\"")" done
	same_file "$TD/tree/top.txt" "$TT/x/top.txt"
	same_file "$TD/tree/docs/readme.txt" "$TT/x/docs/readme.txt"
	same_file "$TD/tree/docs/deep/data.bin" "$TT/x/docs/deep/data.bin"
	# A path the backup lacks, and again without force: the jobs fail, as the CLI does.
	restore_file "$(body "\"paths\": [\"/nothing\"], \"dest\": \"$TT/y\"")" failed
	restore_file "$(body "\"paths\": [\"/top.txt\"], \"dest\": \"$TT/x\"")" failed
	restore_file "$(body "\"paths\": [\"/top.txt\"], \"dest\": \"$TT/x\", \"force\": true")" done
	same_file "$TD/tree/top.txt" "$TT/x/top.txt"
}
test_case "file restores through the API are jobs (cmp); bad input 400, a read-only token 403; no force, a missing path: failed jobs" t_restore_file_api

test_done
