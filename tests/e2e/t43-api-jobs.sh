#!/bin/bash
# t43: the daemon's API for long work (docs/api.md, "Jobs of the CLI's
# commands"): a volume restore, a file restore, a copy, the forget of one
# backup, a standby's update and failover, each answered 202 with a job id
# and Location, run by the daemon as the CLI's command adopting the job
# (its row in `cairn status` and /api/v1/jobs, with its log and events).
# Bad input is refused before anything is queued: an unknown backup 404,
# a malformed body or missing fields 400, a held backup's forget 409, a
# read-only token 403.  Every response is checked against docs/openapi.yaml.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apilib.sh"

SPEC=$E2E_DIR/../../docs/openapi.yaml
SOCK=$CAIRN_STATE_DIR/cairn.sock
SRC=$TD/src
IMG=$TD/vol.img
R=$TD/repo
R2=$TD/repo2
SB=$TD/standby.img
trap 'kill "$(cat "$TD/daemon.pid" 2>/dev/null)" 2>/dev/null; e2e_cleanup' EXIT

# req: over the socket or TCP (apilib.sh).
req()
{
	req_sock_tcp "$@"
}

# queued KIND -- REQ ARGS: the request must answer 202 with a queued job
# of KIND and its Location; prints the job's id.
queued()
{
	local kind=$1 job
	shift 2
	expect 202 -- "$@"
	job=$(jq -r .job "$TT/r.body")
	[ "$(jq -r .kind "$TT/r.body")" = "$kind" ] || fail "job kind $(jq -r .kind "$TT/r.body"), expected $kind"
	grep -qi "^Location: /api/v1/jobs/$job"$'\r'"\?$" "$TT/r.head" || fail "no Location: $(cat "$TT/r.head")"
	echo "$job"
}

# ended JOB STATE: the job's event stream runs to its end, which is STATE;
# the job's row (API and `cairn status`) says so and has a log.
ended()
{
	local job=$1 want=$2
	expect 200 -- GET "/api/v1/jobs/$job/events"
	grep -q '^event: end' "$TT/r.body" || fail "job $job: no end event: $(head -c 500 "$TT/r.body")"
	expect 200 -- GET "/api/v1/jobs/$job"
	cp "$TT/r.body" job.json
	[ "$(jq -r .state job.json)" = "$want" ] || fail "job $job ended $(jq -r .state job.json) ($(jq -r .error job.json)), expected $want"
	cairn status --json --all >s.json
	jq -e --argjson id "$job" --arg st "$want" '(if type == "array" then . else .jobs end) | .[] | select(.id == $id and .state == $st)' \
		s.json >/dev/null || fail "cairn status does not show job $job $want"
	expect 200 -- GET "/api/v1/jobs/$job/log"
	jq -e '.lines | length > 0' "$TT/r.body" >/dev/null || fail "job $job has an empty log"
}

t_setup()
{
	command -v curl >/dev/null || fail "curl is missing (scripts/install-deps)"
	command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 is missing"
	python3 -c 'import jsonschema, yaml' 2>/dev/null || fail "python3-jsonschema or python3-yaml is missing"
	mkdir -p "$SRC/etc" "$SRC/data"
	echo "UUID=1 / ext4 defaults 0 1" >"$SRC/etc/fstab"
	rand_file "$SRC/data/blob.bin" 300000 4301
	E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -b 4096 -d "$SRC" "$IMG" 32M >/dev/null
	new_repo "$R" --chunk-size 64K
	CAIRN_FROM_PASSPHRASE=$CAIRN_PASSPHRASE cairn init --repo "$R2" --copy-keys-from "$R" -q >/dev/null ||
		fail "init --copy-keys-from"
	cairn backup --repo "$R" -q --name vol --snapshot none "$IMG" >"$TD/id1"
	rand_file "$TD/junk" 4096 4302
	dd if="$TD/junk" of="$IMG" bs=4096 seek=7000 conv=notrunc status=none
	cairn backup --repo "$R" -q --name vol --snapshot none "$IMG" >"$TD/id2"
	cairn standby create sb --volume vol --repo "$R" --to "$SB" -q >/dev/null || fail "standby create"
	free_port >"$TD/port"
	# The destination of copies: its passphrase from the daemon's environment.
	printf '%s' "$CAIRN_PASSPHRASE" >"$TD/to-pass"
	CAIRN_TO_PASSPHRASE_FILE=$TD/to-pass "$CAIRN" daemon --listen "127.0.0.1:$(cat "$TD/port")" >"$TD/d.out" 2>"$TD/d.err" &
	echo $! >"$TD/daemon.pid"
	local i
	for i in $(seq 1 100); do
		[ -S "$SOCK" ] && curl -s -o /dev/null --unix-socket "$SOCK" http://cairn/api/v1/status && break
		sleep 0.1
	done
	[ -S "$SOCK" ] || fail "no socket after 10 s: $(cat "$TD/d.err")"
	cairn token create admin >"$TD/admin.tok"
	cairn token create viewer --read-only >"$TD/viewer.tok"
	touch "$TD/ready"
}
test_case "setup: an ext4 image backed up twice, a second repository of its family, a standby; the daemon" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete"
}

t_bad_input()
{
	need_setup
	local view id1 enc n0 n1
	view=$(cat "$TD/viewer.tok") id1=$(cat "$TD/id1")
	enc=$(jq -rn --arg r "$R" '$r | @uri')
	expect 200 -- GET "/api/v1/jobs?recent=1000"
	n0=$(jq '.jobs | length' "$TT/r.body")
	expect 404 not_found -- POST /api/v1/restores -d "{\"repo\": \"$R\", \"backup\": \"$(printf 'f%.0s' $(seq 64))\", \"target\": \"$TD/x.img\"}"
	expect 404 not_found -- POST /api/v1/restores/file -d "{\"repo\": \"$R\", \"backup\": \"nosuch@latest\", \"paths\": [\"/etc\"], \"dest\": \"$TD/x\"}"
	expect 404 not_found -- DELETE "/api/v1/repositories/$enc/backups/$(printf 'e%.0s' $(seq 64))"
	expect 404 not_found -- POST /api/v1/copies -d "{\"repo\": \"$R\", \"backups\": [\"$(printf 'd%.0s' $(seq 64))\"], \"to\": \"$R2\"}"
	expect 404 not_found -- POST /api/v1/standbys/nosuch/update
	expect 404 not_found -- POST /api/v1/standbys/nosuch/failover
	expect 400 malformed_json -- POST /api/v1/restores -d '{"repo": '
	expect 400 malformed_json -- POST /api/v1/copies -d 'not json'
	expect 400 invalid_request -- POST /api/v1/restores -d "{\"repo\": \"$R\", \"backup\": \"$id1\"}"
	expect 400 invalid_request -- POST /api/v1/restores -d "{\"repo\": \"$R\", \"backup\": \"$id1\", \"target\": \"rel.img\"}"
	expect 400 invalid_request -- POST /api/v1/restores -d "{\"repo\": \"$R\", \"backup\": \"$id1\", \"target\": \"$TD/x.img\", \"colour\": 1}"
	expect 400 invalid_request -- POST /api/v1/restores -d "{\"backup\": \"$id1\", \"target\": \"$TD/x.img\"}"
	expect 400 invalid_request -- POST /api/v1/restores -d "{\"repo\": \"$R\", \"backup\": \"--force\", \"target\": \"$TD/x.img\"}"
	expect 400 invalid_request -- POST /api/v1/restores/file -d "{\"repo\": \"$R\", \"backup\": \"$id1\", \"dest\": \"$TD/x\"}"
	expect 400 invalid_request -- POST /api/v1/restores/file -d "{\"repo\": \"$R\", \"backup\": \"$id1\", \"paths\": [\"-x\"], \"dest\": \"$TD/x\"}"
	expect 400 invalid_request -- POST /api/v1/copies -d "{\"repo\": \"$R\", \"backups\": [\"$id1\"]}"
	expect 400 invalid_request -- POST /api/v1/copies -d "{\"repo\": \"$R\", \"to\": \"$R2\"}"
	expect 400 invalid_request -- POST /api/v1/copies -d "{\"repo\": \"$R\", \"all\": true, \"volume\": \"vol\", \"to\": \"$R2\"}"
	expect 400 invalid_request -- POST /api/v1/standbys/sb/update -d '{"force": "yes"}'
	expect 400 not_a_repository -- POST /api/v1/restores -d "{\"repo\": \"$TD\", \"backup\": \"$id1\", \"target\": \"$TD/x.img\"}"
	expect 403 read_only_token -- --tcp "$view" POST /api/v1/restores -d "{\"repo\": \"$R\", \"backup\": \"$id1\", \"target\": \"$TD/x.img\"}"
	expect 403 read_only_token -- --tcp "$view" POST /api/v1/restores/file -d '{}'
	expect 403 read_only_token -- --tcp "$view" POST /api/v1/copies -d '{}'
	expect 403 read_only_token -- --tcp "$view" DELETE "/api/v1/repositories/$enc/backups/$id1"
	expect 403 read_only_token -- --tcp "$view" POST /api/v1/standbys/sb/update
	expect 403 read_only_token -- --tcp "$view" POST /api/v1/standbys/sb/failover
	# Nothing was queued, nothing written.
	expect 200 -- GET "/api/v1/jobs?recent=1000"
	n1=$(jq '.jobs | length' "$TT/r.body")
	[ "$n1" = "$n0" ] || fail "bad requests made jobs ($n0 before, $n1 after)"
	[ ! -e "$TD/x.img" ] && [ ! -e "$TD/x" ] || fail "a refused request wrote something"
	[ "$(cairn list --repo "$R" --json | jq length)" = 2 ] || fail "a refused request changed the repository"
}
test_case "bad input: 404 unknown backup or standby, 400 malformed or missing fields, 403 read-only; nothing queued" t_bad_input

t_restore()
{
	need_setup
	local adm job
	adm=$(cat "$TD/admin.tok")
	job=$(queued restore -- --tcp "$adm" POST /api/v1/restores -d "{\"repo\": \"$R\", \"backup\": \"vol@latest\", \"target\": \"$TD/out.img\"}")
	ended "$job" done
	[ "$(jq -r .kind job.json)" = restore ] || fail "job kind $(jq -r .kind job.json)"
	cmp "$IMG" "$TD/out.img" || fail "the restored image differs from the volume"
	# Again onto the same target: the command refuses (no --force), the job says why.
	job=$(queued restore -- POST /api/v1/restores -d "{\"repo\": \"$R\", \"backup\": \"$(cat "$TD/id1")\", \"target\": \"$TD/out.img\"}")
	ended "$job" failed
	[ -n "$(jq -r '.error // empty' job.json)" ] || fail "a failed job without its error"
	cmp "$IMG" "$TD/out.img" || fail "a refused restore changed the target"
}
test_case "restore through the API: 202, Location, the job done in status; byte-identical; a refused one fails with its reason" t_restore

t_group_restore()
{
	need_setup
	local gid job
	new_repo "$TD/repo3"
	cairn group create gr --volume "$IMG" -q >/dev/null 2>&1 || fail "group create"
	cairn group backup gr --repo "$TD/repo3" --json >gb.json || fail "group backup"
	gid=$(jget gb.json .id)
	expect 400 invalid_request -- POST /api/v1/restores -d "{\"repo\": \"$TD/repo3\", \"backup\": \"$gid\", \"target\": \"$TD/gout\", \"delta\": true}"
	job=$(queued restore -- POST /api/v1/restores -d "{\"repo\": \"$TD/repo3\", \"backup\": \"$gid\", \"target\": \"$TD/gout\"}")
	ended "$job" done
	cmp "$IMG" "$TD/gout/vol.img" || fail "the group's restored volume differs"
}
test_case "a group backup restored through the API into a directory" t_group_restore

t_restore_file()
{
	need_setup
	local job
	job=$(queued restore -- POST /api/v1/restores/file \
		-d "{\"repo\": \"$R\", \"backup\": \"$(cat "$TD/id2")\", \"paths\": [\"/etc/fstab\", \"/data\"], \"dest\": \"$TD/files\"}")
	ended "$job" done
	cmp "$SRC/etc/fstab" "$TD/files/fstab" || fail "fstab differs"
	cmp "$SRC/data/blob.bin" "$TD/files/data/blob.bin" || fail "data/blob.bin differs"
}
test_case "restore-file through the API writes the files on the host" t_restore_file

t_copy()
{
	need_setup
	local job
	job=$(queued copy -- POST /api/v1/copies -d "{\"repo\": \"$R\", \"backups\": [\"$(cat "$TD/id1")\"], \"to\": \"$R2\"}")
	ended "$job" done
	[ "$(cairn list --repo "$R2" --json | jq -r '.[].id')" = "$(cat "$TD/id1")" ] ||
		fail "the second repository lists: $(cairn list --repo "$R2" --json | jq -c '[.[].id]')"
}
test_case "copy through the API: the backup lists in the second repository" t_copy

t_forget()
{
	need_setup
	local enc id1 job
	enc=$(jq -rn --arg r "$R" '$r | @uri') id1=$(cat "$TD/id1")
	expect 200 -- POST "/api/v1/repositories/$enc/backups/$id1/hold" -d '{"reason": "audit"}'
	expect 409 held -- DELETE "/api/v1/repositories/$enc/backups/$id1"
	[ "$(cairn list --repo "$R" --json | jq length)" = 2 ] || fail "a held backup's forget changed the repository"
	expect 200 -- POST "/api/v1/repositories/$enc/backups/$id1/release"
	job=$(queued forget -- DELETE "/api/v1/repositories/$enc/backups/$id1")
	ended "$job" done
	[ "$(cairn list --repo "$R" --json | jq -r '.[].id')" = "$(cat "$TD/id2")" ] || fail "forget did not remove $id1 alone"
}
test_case "forget through the API removes a backup; a held one is refused with 409" t_forget

t_standby()
{
	need_setup
	local job
	job=$(queued standby -- POST /api/v1/standbys/sb/update -d '{}')
	ended "$job" done
	cmp "$IMG" "$SB" || fail "the standby is not the newest backup"
	job=$(queued standby -- POST /api/v1/standbys/sb/failover)
	ended "$job" done
	cairn dr report --json >rep.json || true
	jq -e '.failovers[0].standby == "sb" and .failovers[0].state == "failed-over"' rep.json >/dev/null ||
		fail "the standby is not failed over: $(jq -c .failovers rep.json)"
	# A failed-over standby takes no update: the job fails and says why.
	job=$(queued standby -- POST /api/v1/standbys/sb/update)
	ended "$job" failed
	jq -r .error job.json | grep -q "failed over" || fail "the update's error: $(jq -r .error job.json)"
}
test_case "standby update and failover through the API" t_standby

t_create_delete()
{
	need_setup
	local view job
	view=$(cat "$TD/viewer.tok")
	expect 403 read_only_token -- --tcp "$view" POST /api/v1/standbys -d '{}'
	expect 403 read_only_token -- --tcp "$view" DELETE /api/v1/standbys/sb
	expect 403 read_only_token -- --tcp "$view" DELETE /api/v1/groups/g1
	expect 409 already_exists -- POST /api/v1/standbys -d "{\"name\": \"sb\", \"volume\": \"vol\", \"repo\": \"$R\", \"to\": \"$TD/sb2.img\"}"
	expect 400 invalid_request -- POST /api/v1/standbys -d "{\"name\": \"sb2\", \"repo\": \"$R\", \"to\": \"$TD/sb2.img\"}"
	expect 400 invalid_request -- POST /api/v1/standbys -d "{\"name\": \"sb2\", \"volume\": \"vol\", \"repo\": \"$R\", \"to\": \"$TD/sb2.img\", \"every\": \"often\"}"
	[ ! -e "$TD/sb2.img" ] || fail "a refused standby wrote its target"
	job=$(queued standby -- POST /api/v1/standbys -d "{\"name\": \"sb2\", \"volume\": \"vol\", \"repo\": \"$R\", \"to\": \"$TD/sb2.img\"}")
	ended "$job" done
	cmp "$IMG" "$TD/sb2.img" || fail "the new standby is not the newest backup"
	cairn standby show sb2 --json >/dev/null || fail "the CLI does not see standby sb2"
	expect 200 -- DELETE /api/v1/standbys/sb2
	expect 404 not_found -- GET /api/v1/standbys/sb2
	[ -f "$TD/sb2.img" ] || fail "deleting the standby removed its image"
	cairn group create g1 --volume "$IMG" -q >/dev/null 2>&1 || fail "group create"
	expect 200 -- DELETE /api/v1/groups/g1
	expect 404 not_found -- GET /api/v1/groups/g1
	expect 404 not_found -- DELETE /api/v1/groups/g1
}
test_case "standby create (a job) and delete, group delete through the API; 409, 400, 403 first" t_create_delete

t_shutdown()
{
	need_setup
	kill "$(cat "$TD/daemon.pid")"
	local i
	for i in $(seq 1 100); do kill -0 "$(cat "$TD/daemon.pid")" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$(cat "$TD/daemon.pid")" 2>/dev/null || fail "the daemon did not stop"
	! grep -qi "sanitizer\|leak" "$TD/d.err" || fail "the daemon's log: $(grep -i -m3 'sanitizer\|leak' "$TD/d.err")"
	[ -z "$(ls "$CAIRN_STATE_DIR/api-jobs" 2>/dev/null)" ] || fail "queued jobs' files left: $(ls "$CAIRN_STATE_DIR/api-jobs")"
}
test_case "SIGTERM: the daemon stops; no queued job's file is left" t_shutdown

test_done
