# shellcheck shell=bash
# What the object-store end-to-end tests share (sourced after lib.sh and
# the provider's s3lib.sh or azlib.sh): the bodies of the tests every store
# must pass, each taking the repository URI, and the fault-injecting proxy
# (tests/e2e/faultproxy.py) of the *-faults.sh files.
#
# The provider's lib supplies no_secret FILE..., which these call: none of
# the files may hold the provider's secrets.

# --- tests every object store passes -------------------------------------

# st_image IMG SEED: the 32 MiB ext4 image of the file, and a copy of it as
# $TD/img.v1 (the incremental tests change a copy of that).
st_image()
{
	mk_image "$1" 32 "$2" 8
	cp "$1" "$TD/img.v1"
}

# st_init REPO: init creates the container and the repository; a second
# init refuses.
st_init()
{
	cairn init --repo "$1" -q
	expect_fail -m 'already exists' cairn init --repo "$1"
	cairn list --repo "$1" --json >list.json
	[ "$(jq length list.json)" -eq 0 ] || fail 'a new repository lists backups'
	no_secret .log .out .err list.json
}

# st_roundtrip REPO IMG IDFILE: a backup restores byte-identically and
# passes check --read-data; its id goes to IDFILE.
st_roundtrip()
{
	local id
	cairn backup --repo "$1" "$2" --json >b1.json
	id=$(jget b1.json .id)
	echo "$id" >"$3"
	cairn restore --repo "$1" "$id" out.img
	same_file "$2" out.img
	cairn check --repo "$1" --read-data
	no_secret .log
}

# st_incremental REPO IDFILE SEED: an incremental of $TD/img.v1 with 20
# blocks changed (from SEED) over the backup in IDFILE stores only about
# the change; both backups restore byte-identically.
st_incremental()
{
	local r=$1 id1 id new
	id1=$(cat "$2")
	cp "$TD/img.v1" v2.img
	scatter_write v2.img "$3" 20 >writes
	cairn backup --repo "$r" v2.img --name img.ext4 --json >b2.json
	id=$(jget b2.json .id)
	new=$(jget b2.json .bytes_new)
	# 20 changed blocks touch at most 20 chunks of 64 KiB.
	[ "$new" -gt 0 ] && [ "$new" -le $((20 * 65536)) ] || fail "incremental stored $new new bytes for 20 changed blocks"
	[ "$(jget b2.json .parent)" = "$id1" ] || fail 'the incremental has the wrong parent'
	cairn restore --repo "$r" "$id" out2.img
	same_file v2.img out2.img
	cairn restore --repo "$r" "$id1" out1.img
	same_file "$TD/img.v1" out1.img
	cairn diff --repo "$r" "$id1" "$id" >diff.txt
	[ -s diff.txt ] || fail 'diff of the two backups is empty'
	cairn check --repo "$r" --read-data
	[ "$(backup_count "$r")" -eq 2 ] || fail 'expected two backups'
}

# st_stored_credential UUID REPO ENDPOINT IMG OTHER: with the stored
# credential UUID (made for ENDPOINT) as the only one in $CAIRN_STATE_DIR
# and no keys in the environment, REPO (a URI without ?endpoint=) reaches
# the credential's endpoint: init, backup, restore byte-identical, list with
# ENDPOINT named in the URI; OTHER, another endpoint, is refused in one line
# naming the credential and both endpoints.
st_stored_credential()
{
	local u=$1 r=$2 ep=$3
	cairn init --repo "$r" -q
	cairn backup --repo "$r" "$4" -q >id
	cairn restore --repo "$r" "$(cat id)" out.img
	same_file "$4" out.img
	cairn list --repo "$r?endpoint=$ep" --json >l.json
	[ "$(jq length l.json)" -eq 1 ] || fail "list through the URI's endpoint: $(cat l.json)"
	expect_fail -c 1 -m "credential $u is bound to ${ep%/}, but the repository URI names endpoint ${5%/}: " \
		cairn list --repo "$r?endpoint=$5"
	no_secret .log .out .err l.json
}

# st_large REPO: 12 MiB in packs of 4 MiB (above the part or block size
# the caller put in REPO) go up in pieces and restore byte-identically.
# The backup's HTTP counters stay in $TT/stats.
st_large()
{
	rand_file big.img $((12 << 20)) 5
	cairn init --repo "$1" -q --pack-size 4M
	CAIRN_HTTP_STATS=$TT/stats cairn backup --repo "$1" big.img -q >/dev/null
	cairn restore --repo "$1" latest out.img
	same_file big.img out.img
	cairn check --repo "$1" --read-data
}

# --- the fault proxy -------------------------------------------------------

PROXY_PID=
PLAN=$TD/plan
PLOG=$TD/proxy.log

proxy_stop()
{
	if [ -n "$PROXY_PID" ]; then
		kill "$PROXY_PID" 2>/dev/null
		wait "$PROXY_PID" 2>/dev/null
		PROXY_PID=
	fi
}

# proxy_start HOST:PORT [PATH]: the proxy in front of the server at
# HOST:PORT; its endpoint (with PATH, e.g. an emulator's "/account") in
# $TD/proxy.url.  The proxy must outlive the tests' subshells: call this
# from the file's own shell, never from a test; it is stopped at exit.
# Returns 1 without failing (no test runs yet): t_setup reports it.
proxy_start()
{
	trap 'proxy_stop; e2e_cleanup' EXIT
	: >"$PLAN"
	python3 "$E2E_DIR/faultproxy.py" --upstream "$1" --port-file "$TD/proxy.port" \
		--plan-file "$PLAN" --log "$PLOG" </dev/null >"$TD/proxy.out" 2>&1 &
	PROXY_PID=$!
	for _ in $(seq 100); do
		[ -s "$TD/proxy.port" ] && break
		sleep 0.05
	done
	[ -s "$TD/proxy.port" ] || return 1
	echo "http://127.0.0.1:$(cat "$TD/proxy.port")${2:-}" >"$TD/proxy.url"
}

# proxy_check: fails the test when the proxy did not start.
proxy_check()
{
	[ -s "$TD/proxy.url" ] || fail "no proxy: $(cat "$TD/proxy.out" 2>/dev/null)"
}

# plan RULES: switches the proxy's faults (see faultproxy.py).
plan()
{
	printf '%s\n' "$@" >"$PLAN.tmp"
	mv "$PLAN.tmp" "$PLAN"
}

# faults_seen KIND: how many requests got KIND so far.
faults_seen()
{
	grep -c -- "-> $1\$" "$PLOG" || true
}

# --- tests through the proxy -----------------------------------------------

# st_restore_faults REPO IMG IDFILE: the backup in IDFILE restores
# byte-identically through replies cut mid-way and 503s, and passes
# check --read-data once the faults stop.
st_restore_faults()
{
	plan every=5:reset-mid every=9:503
	cairn restore --repo "$1" "$(cat "$3")" out.img
	[ "$(faults_seen reset-mid)" -gt 0 ] || fail "no reply was cut mid-way"
	same_file "$2" out.img
	plan
	cairn check --repo "$1" --read-data
	no_secret .log
}

# st_stall REPO IMG: stalled requests are abandoned after the stall timeout
# and retried (CAIRN_HTTP_STALL_SECONDS keeps it short).  Two stalls (of
# pack uploads, on S3): each costs the timeout and more (after an upload,
# libcurl's speed window still holds the body's bytes for a few seconds),
# and a third or fourth takes the same path as the first two.
st_stall()
{
	cairn init --repo "$1" -q --pack-size 4M
	: >"$PLOG"
	plan at=6:stall at=12:stall
	cairn backup --repo "$1" "$2" -q >id
	[ "$(faults_seen stall)" -eq 2 ] || fail "$(faults_seen stall) requests stalled, expected 2"
	plan
	cairn restore --repo "$1" "$(cat id)" out.img
	same_file "$2" out.img
}

# st_outage REPO IMG: the server goes away after a few packs are up; the
# backup fails with one clear line after the retries, and the re-run
# reuses the packs already uploaded.
st_outage()
{
	cairn init --repo "$1" -q --pack-size 4M
	: >"$PLOG"
	# The backup makes about 10 requests before its first pack.
	plan after=16:503
	CAIRN_HTTP_MAX_ATTEMPTS=3 expect_fail -m 'server error 503.*after 3 attempts' cairn backup --repo "$1" "$2"
	plan
	[ "$(backup_count "$1")" -eq 0 ] || fail "a failed backup is listed"
	cairn backup --repo "$1" "$2" -v >id 2>err
	grep -E 'reusing [0-9]+ pack' err || fail "the re-run did not reuse the uploaded packs: $(cat err)"
	cairn restore --repo "$1" "$(cat id)" out.img
	same_file "$2" out.img
	cairn check --repo "$1"
	no_secret .log .out .err err
}
