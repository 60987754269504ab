#!/bin/bash
# t6: credentials (cairn cred create|list|delete, --cred) and the global
# options that feed object-store connections.  Every output of every
# command is searched for the secret values, and so are the state files.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/credlib.sh"

S3_SECRET='s3SECRETvalue/0123456789+abcdefXYZ'
AZ_KEY='QVpLRVlzZWNyZXR2YWx1ZTAxMjM0NTY3ODlhYmNkZWY='
AZ_SAS='sv=2022-11-02&sp=rwdl&se=2030-01-01&sig=AZSASsecretSIG'
G_SECRET='GOOGhmacSECRET/abcdefghijklmnop0123'
ENC_PASS='credential encryption passphrase (e2e)'
SECRETS=("$S3_SECRET" "$AZ_KEY" "$AZ_SAS" "$G_SECRET" "$ENC_PASS" "${ENC_PASS// /}")

# Once the S3 driver is in, commands that pass the credential checks really
# connect: every S3 endpoint of this file is a local server that answers
# 403 AccessDenied to everything (fast, never retried), and gives up by
# itself after 10 minutes.
python3 - "$TD/http.port" 600 <<'EOF' &
import http.server, os, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def reply(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        body = b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>e2e</Message></Error>'
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = reply
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.timeout = 1
end = time.time() + int(sys.argv[2])
while time.time() < end:
    s.handle_request()
EOF
HTTP_PID=$!
for _ in $(seq 1 200); do [ -s "$TD/http.port" ] && break; sleep 0.05; done
HTTP_PORT=$(cat "$TD/http.port" 2>/dev/null || echo 9)
EP=http://127.0.0.1:$HTTP_PORT
S3URI="s3://bucket/p?endpoint=$EP"

# Every test gets its own state directory.
fresh_state()
{
	export CAIRN_STATE_DIR=$TT/state
	unset CAIRN_CRED CAIRN_STATE_KEY_FILE CAIRN_S3_SECRET_KEY CAIRN_AZURE_ACCOUNT_KEY CAIRN_AZURE_SAS \
		CAIRN_GOOGLE_HMAC_SECRET CAIRN_ENCRYPTION_PASSPHRASE
}

# Every output so far (.out and .err of expect_*, and the files a test wrote).
outputs_clean()
{
	no_secrets "$TT"/.out "$TT"/.err "$TT"/*.out "$TT"/*.err "$TT"/*.json
}

state_clean()
{
	[ -d "$CAIRN_STATE_DIR" ] || return 0
	no_secrets "$CAIRN_STATE_DIR"/*
}

mk_s3() # [extra options]: creates an S3 credential for the local server, prints its UUID
{
	cairn cred create --provider s3 --s3-access-key AKIAE2EACCESS --s3-secret-key "$S3_SECRET" \
		--s3-region eu-west-3 --s3-endpoint "$EP" --s3-disable-ssl "$@"
}

sealed_len() # UUID COLUMN: length of a sealed column (python's sqlite3)
{
	python3 - "$CAIRN_STATE_DIR/state.db" "$1" "$2" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
row = db.execute("SELECT length(%s) FROM credentials WHERE uuid = ?" % sys.argv[3], (sys.argv[2],)).fetchone()
print(row[0] if row and row[0] is not None else "null")
EOF
}

UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'

t_create_list_delete()
{
	fresh_state
	local u
	expect_fail -c 2 -m 'plain http://: add --s3-disable-ssl' cairn cred create --provider s3 \
		--s3-access-key AK --s3-secret-key "$S3_SECRET" --s3-endpoint http://127.0.0.1:9
	u=$(mk_s3 --s3-endpoint http://127.0.0.1:9 --name prod 2>c.err)
	[[ $u =~ $UUID_RE ]] || fail "cred create printed '$u', not a UUID"
	[ ! -s c.err ] || fail "cred create wrote to stderr: $(cat c.err)"
	cairn cred list >l.out 2>l.err
	head -n1 l.out | grep -Eq '^UUID +NAME +PROVIDER +REGION/ACCOUNT +ENDPOINT +ACCESS KEY +SSL +ENCRYPTION$' ||
		fail "cred list header: $(head -n1 l.out)"
	[ "$(wc -l <l.out)" -eq 2 ] || fail "cred list shows $(($(wc -l <l.out) - 1)) rows, expected 1"
	grep -Eq "^$u +prod +s3 +eu-west-3 +http://127.0.0.1:9 +AKIAE2EACCESS +no +no$" l.out ||
		fail "cred list row: $(tail -n1 l.out)"
	cairn cred delete "$u" >d.out 2>d.err
	grep -q "deleted credential $u" d.err || fail "cred delete said '$(cat d.err)'"
	cairn cred list >l2.out
	[ "$(wc -l <l2.out)" -eq 1 ] || fail "the credential is still listed after delete"
	outputs_clean
	state_clean
}
test_case "cred create prints a UUID, list shows it without secrets, delete removes it" t_create_list_delete

t_json_shapes()
{
	fresh_state
	local keys='["access_key","account","azure_auth","created","encryption","endpoint","name","project_id","provider","region","ssl","uuid"]'
	mk_s3 --json --encryption-passphrase "$ENC_PASS" >s3.json
	cairn cred create --json --provider azure --azure-account-name e2eacct --azure-account-key "$AZ_KEY" >az.json
	cairn cred create --json --provider azure --azure-account-name e2esas --azure-sas "?$AZ_SAS" >sas.json
	cairn cred create --json --provider google --google-project-id e2e-proj --google-hmac-access-key GOOGE2E \
		--google-hmac-secret "$G_SECRET" >g.json
	local f
	for f in s3.json az.json sas.json g.json; do
		[ "$(jq -c 'keys' "$f")" = "$keys" ] || fail "$f has keys $(jq -c keys "$f")"
		jget "$f" '.uuid' | grep -Eq "$UUID_RE" || fail "$f: uuid"
		jget "$f" '.created' | grep -Eq "$RFC3339_RE" || fail "$f: created"
	done
	jq -e --arg ep "$EP" '.provider == "s3" and .access_key == "AKIAE2EACCESS" and .region == "eu-west-3"
		and .endpoint == $ep and .ssl == false
		and .encryption == true and .account == null and .azure_auth == null and .name == null' s3.json >/dev/null ||
		fail "s3 object: $(jq -c . s3.json)"
	jq -e '.provider == "azure" and .account == "e2eacct" and .azure_auth == "key" and .access_key == null
		and .encryption == false' az.json >/dev/null || fail "azure object: $(jq -c . az.json)"
	jq -e '.azure_auth == "sas"' sas.json >/dev/null || fail "azure SAS object: $(jq -c . sas.json)"
	jq -e '.provider == "google" and .project_id == "e2e-proj" and .access_key == "GOOGE2E"' g.json >/dev/null ||
		fail "google object: $(jq -c . g.json)"
	cairn cred list --json >list.json
	jq -e 'type == "array" and length == 4' list.json >/dev/null || fail "cred list --json: $(head -c 300 list.json)"
	# The same objects, oldest first.
	[ "$(jq -c '.' list.json)" = "$(jq -sc '.' s3.json az.json sas.json g.json)" ] ||
		fail "cred list --json differs from what create --json printed"
	cairn cred delete --json "$(jget g.json .uuid)" >del.json
	jq -e --arg u "$(jget g.json .uuid)" '.uuid == $u and .deleted == true' del.json >/dev/null ||
		fail "cred delete --json: $(cat del.json)"
	# An empty list is an empty array.
	export CAIRN_STATE_DIR=$TT/empty
	cairn cred list --json >empty.json
	[ "$(jq -c . empty.json)" = "[]" ] || fail "empty cred list --json is $(cat empty.json)"
	outputs_clean
	CAIRN_STATE_DIR=$TT/state state_clean
}
test_case "--json: create and list print the same non-secret objects for every provider" t_json_shapes

t_secret_sources()
{
	fresh_state
	local u1 u2 u3 u4 u5
	printf '%s\n' "$S3_SECRET" >s3.key
	printf '%s\r\n' "$ENC_PASS" >pass.txt
	u1=$(cairn cred create --provider s3 --s3-access-key AK1 --s3-secret-key-file s3.key \
		--encryption-passphrase-file pass.txt)
	u2=$(CAIRN_S3_SECRET_KEY=$S3_SECRET CAIRN_ENCRYPTION_PASSPHRASE=$ENC_PASS \
		cairn cred create --provider s3 --s3-access-key AK2)
	printf '%s' "$AZ_KEY" >az.key
	u3=$(cairn cred create --provider azure --azure-account-name acct --azure-account-key-file az.key)
	# A SAS from the environment; a key in the environment too is ignored
	# when the command line chose the SAS.
	u4=$(CAIRN_AZURE_SAS=$AZ_SAS cairn cred create --provider azure --azure-account-name acct)
	u5=$(CAIRN_AZURE_ACCOUNT_KEY=$AZ_KEY cairn cred create --provider azure --azure-account-name acct \
		--azure-sas "$AZ_SAS")
	local u6
	u6=$(CAIRN_GOOGLE_HMAC_SECRET=$G_SECRET cairn cred create --provider google --google-project-id p1 \
		--google-hmac-access-key GA)
	# What was read is exactly the secret (one newline dropped): sealed
	# length = secret length + 28 (nonce and tag).
	local over=28
	[ "$(sealed_len "$u1" s3_secret_key)" -eq $((${#S3_SECRET} + over)) ] || fail "file secret length"
	[ "$(sealed_len "$u1" passphrase)" -eq $((${#ENC_PASS} + over)) ] || fail "file passphrase length (CRLF)"
	[ "$(sealed_len "$u2" s3_secret_key)" -eq $((${#S3_SECRET} + over)) ] || fail "env secret length"
	[ "$(sealed_len "$u2" passphrase)" -eq $((${#ENC_PASS} + over)) ] || fail "env passphrase length"
	[ "$(sealed_len "$u3" azure_key)" -eq $((${#AZ_KEY} + over)) ] || fail "azure key file length"
	[ "$(sealed_len "$u4" azure_sas)" -eq $((${#AZ_SAS} + over)) ] || fail "azure SAS env length"
	[ "$(sealed_len "$u5" azure_key)" = null ] || fail "the environment's key was stored beside --azure-sas"
	[ "$(sealed_len "$u6" google_secret)" -eq $((${#G_SECRET} + over)) ] || fail "google env length"
	# Environment variables of another provider are not read.
	local u7
	u7=$(CAIRN_AZURE_SAS=$AZ_SAS mk_s3)
	[ "$(sealed_len "$u7" azure_sas)" = null ] || fail "an s3 credential stored CAIRN_AZURE_SAS"
	# Value and file together is a usage error.
	expect_fail -c 2 -m 'not both' cairn cred create --provider s3 --s3-access-key A --s3-secret-key x \
		--s3-secret-key-file s3.key
	expect_fail -c 1 -m 'nope' cairn cred create --provider s3 --s3-access-key A --s3-secret-key-file nope
	outputs_clean
	state_clean
}
test_case "secrets from options, -file options (newline dropped) and the environment" t_secret_sources

t_argv_wiped()
{
	fresh_state
	mk_s3 >/dev/null
	# Hold the database's write lock so that the next create waits (busy
	# timeout) after parsing its arguments; meanwhile read its command line.
	python3 - "$CAIRN_STATE_DIR/state.db" locked <<'EOF' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(3)
db.execute("COMMIT")
EOF
	local locker=$! i pid
	for i in $(seq 1 100); do [ -e locked ] && break; sleep 0.05; done
	"$CAIRN" cred create --provider s3 --s3-access-key AK --s3-secret-key "$S3_SECRET" \
		--s3-endpoint "$EP" --s3-disable-ssl --encryption-passphrase "$ENC_PASS" >u.out 2>u.err &
	pid=$!
	sleep 1
	kill -0 "$pid" 2>/dev/null || fail "cred create did not wait for the lock: $(cat u.err)"
	tr '\0' ' ' <"/proc/$pid/cmdline" >cmdline.out
	grep -q -- '--s3-secret-key' cmdline.out || fail "could not read the command line: $(cat cmdline.out)"
	wait "$pid" || fail "cred create failed after the lock was released: $(cat u.err)"
	wait "$locker" || fail "the process holding the state database's lock failed"
	grep -Eq "$UUID_RE" u.out || fail "no UUID printed"
	outputs_clean
	no_secrets cmdline.out
}
test_case "a secret given as an argument is wiped from the process's command line" t_argv_wiped

t_validation()
{
	fresh_state
	expect_fail -c 2 -m 'provider' cairn cred create --s3-access-key A --s3-secret-key "$S3_SECRET"
	expect_fail -c 2 -m "unknown --provider 'aws'" cairn cred create --provider aws
	expect_fail -c 2 -m '--s3-secret-key' cairn cred create --provider s3 --s3-access-key A
	expect_fail -c 2 -m '--s3-access-key' cairn cred create --provider s3 --s3-secret-key "$S3_SECRET"
	expect_fail -c 2 -m '--azure-account-name' cairn cred create --provider azure --azure-account-key "$AZ_KEY"
	expect_fail -c 2 -m '--azure-account-key or --azure-sas' cairn cred create --provider azure \
		--azure-account-name acct
	expect_fail -c 2 -m 'not both' cairn cred create --provider azure --azure-account-name acct \
		--azure-account-key "$AZ_KEY" --azure-sas "$AZ_SAS"
	expect_fail -c 2 -m '--google-hmac-secret' cairn cred create --provider google --google-project-id p \
		--google-hmac-access-key G
	expect_fail -c 2 -m 'does not apply to --provider s3' cairn cred create --provider s3 --s3-access-key A \
		--s3-secret-key "$S3_SECRET" --azure-sas "$AZ_SAS"
	expect_fail -c 2 -m 'does not apply to --provider azure' cairn cred create --provider azure \
		--azure-account-name acct --azure-account-key "$AZ_KEY" --s3-disable-ssl
	expect_fail -c 2 -m 'base64' cairn cred create --provider azure --azure-account-name acct \
		--azure-account-key "$S3_SECRET!"
	expect_fail -c 2 -m 'spaces' cairn cred create --provider s3 --s3-access-key A --s3-secret-key "$ENC_PASS"
	expect_fail -c 2 -m 'contradicts' mk_s3 --s3-endpoint https://h --s3-disable-ssl
	# A secret that lost its option name is not echoed.
	expect_fail -c 2 -m 'no arguments' cairn cred create --provider s3 --s3-access-key A "$S3_SECRET"
	expect_fail -c 2 -m 'subcommand' cairn cred
	expect_fail -c 2 -m "apply to 'cred create' only" cairn cred list --provider s3
	expect_fail -c 2 -m 'UUID' cairn cred delete
	# Nothing was stored, and no state was even created for a read.
	[ ! -e "$CAIRN_STATE_DIR" ] || [ "$(cairn cred list --json | jq length)" -eq 0 ] ||
		fail "a failed create stored a credential"
	outputs_clean
	state_clean
}
test_case "bad create: one usage line naming the option, never the value; nothing stored" t_validation

# listen PORTFILE HITFILE: a TCP listener on 127.0.0.1 (ephemeral port)
# that records whether anyone connected; gives up by itself after 60 s.
listen()
{
	python3 - "$1" "$2" <<'EOF' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(60)
try:
    c, _ = s.accept()
    open(sys.argv[2], "w").write("connected\n")
    c.close()
except socket.timeout:
    pass
EOF
	LISTENER=$!
	local i
	for i in $(seq 1 200); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	fail "the listener did not start"
}

t_wrong_provider_no_network()
{
	fresh_state
	listen port hit
	local port az s3
	port=$(cat port)
	az=$(cairn cred create --provider azure --azure-account-name acct --azure-account-key "$AZ_KEY")
	# Only an Azure credential: the default for s3:// would be a mismatch.
	expect_fail -c 1 -m "credential $az is for azure, but s3:// repositories need an s3 credential" \
		cairn list --repo "s3://bucket/p?endpoint=http://127.0.0.1:$port"
	expect_fail -c 1 -m "is for azure" cairn --cred "$az" init --repo "s3://bucket/p?endpoint=http://127.0.0.1:$port"
	s3=$(mk_s3 --s3-endpoint "http://127.0.0.1:$port")
	expect_fail -c 1 -m "credential $s3 is for s3, but azure:// repositories need an azure credential" \
		cairn --cred "$s3" list --repo "azure://acct/c?endpoint=http://127.0.0.1:$port"
	expect_fail -c 1 -m "is for s3, but gs://" cairn list --repo gs://bucket/p --cred "${s3:0:8}"
	# The URI (which may carry parameters) is not echoed in those errors.
	grep -q "127.0.0.1:$port" "$TT/.err" && fail "the error echoes the URI"
	# An Azure URI naming another account than the credential's.
	expect_fail -c 1 -m "account 'acct'.*account 'other'" cairn list --cred "$az" \
		--repo "azure://other/c?endpoint=http://127.0.0.1:$port"
	kill "$LISTENER" 2>/dev/null || true
	wait "$LISTENER" 2>/dev/null || true
	[ ! -e hit ] || fail "a refused credential still connected to the endpoint"
	outputs_clean
}
test_case "a credential of another provider is refused before any connection" t_wrong_provider_no_network

# uses_cred UUID CMD...: CMD (run with -v) used credential UUID; it may fail
# afterwards (s3:// needs a driver and a server), but not over credentials.
uses_cred()
{
	local u=$1 rc=0
	shift
	"$@" -v >use.out 2>use.err || rc=$?
	grep -q "using credential $u (s3)" use.err || fail "'$*' did not use $u: $(head -c 300 use.err | tr '\n' '|')"
	if grep -Eq 'ambiguous|are stored: choose|is for|no credential' use.err; then
		fail "'$*' failed over credentials: $(cat use.err)"
	fi
	no_secrets use.out use.err
}

t_default_one()
{
	fresh_state
	local u
	u=$(mk_s3)
	uses_cred "$u" cairn list --repo s3://bucket/prefix
	uses_cred "$u" cairn -vv init --repo s3://bucket/prefix
	# A local repository takes no default credential.
	new_repo repo
	cairn -v list --repo repo >l.out 2>l.err
	grep -q 'using credential' l.err && fail "a local repository used the default credential"
	outputs_clean
}
test_case "with one credential it is the default for its provider" t_default_one

t_two_need_cred()
{
	fresh_state
	local a b
	a=$(mk_s3 --name first)
	b=$(mk_s3)
	expect_fail -c 1 -m '2 s3 credentials are stored: choose one with --cred' cairn list --repo s3://bucket/p
	# --cred before or after the verb, CAIRN_CRED, a name, a prefix.
	uses_cred "$b" cairn --cred "$b" list --repo s3://bucket/p
	uses_cred "$b" cairn list --repo s3://bucket/p --cred "$b"
	uses_cred "$a" cairn list --repo s3://bucket/p --cred=first
	uses_cred "$b" cairn list --repo s3://bucket/p --cred "${b:0:6}"
	CAIRN_CRED=$a uses_cred "$a" cairn list --repo s3://bucket/p
	# --cred wins over CAIRN_CRED.
	CAIRN_CRED=$a uses_cred "$b" cairn list --repo s3://bucket/p --cred "$b"
	# A credential of another provider does not make s3:// ambiguous.
	cairn cred create --provider google --google-project-id p --google-hmac-access-key G \
		--google-hmac-secret "$G_SECRET" >/dev/null
	cairn cred delete "$b" 2>/dev/null
	uses_cred "$a" cairn list --repo s3://bucket/p
	expect_fail -c 1 -m 'none of the 2 stored credentials is for azure' cairn list --repo azure://acct/c
	outputs_clean
}
test_case "with two credentials of a provider --cred (or CAIRN_CRED) is required" t_two_need_cred

t_unknown_uuid()
{
	fresh_state
	expect_fail -c 1 -m "no credential 'f00dfeed'" cairn cred delete f00dfeed
	expect_fail -c 1 -m "no credential" cairn list --repo s3://bucket/p --cred 00000000-0000-4000-8000-000000000000
	local u
	u=$(mk_s3)
	expect_fail -c 1 -m "no credential '00000000-0000-4000-8000-000000000000'" \
		cairn cred delete 00000000-0000-4000-8000-000000000000
	expect_fail -c 1 -m 'at least 4' cairn cred delete "${u:0:3}"
	expect_fail -c 1 -m "no credential 'nosuch'" cairn list --repo s3://bucket/p --cred nosuch
	[ "$(cairn cred list --json | jq length)" -eq 1 ] || fail "a failed delete removed something"
	cairn cred delete "${u:0:4}" 2>/dev/null
	[ "$(cairn cred list --json | jq length)" -eq 0 ] || fail "delete by prefix did not delete"
	outputs_clean
}
test_case "an unknown or too short UUID is one clear error and deletes nothing" t_unknown_uuid

t_immutable()
{
	fresh_state
	local u
	u=$(mk_s3 --name fixed)
	cairn cred list --json >before.json
	for sub in update edit modify set; do
		expect_fail -c 2 -m 'cannot be modified' cairn cred "$sub" "$u" --s3-region us-east-2
	done
	expect_fail -c 1 -m "named 'fixed' already exists" mk_s3 --name fixed
	# Not even through SQL.
	python3 - "$CAIRN_STATE_DIR/state.db" "$u" >sql.out 2>&1 <<'EOF' && fail "an UPDATE went through: $(cat sql.out)"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE credentials SET s3_region = 'us-east-2' WHERE uuid = ?", (sys.argv[2],))
db.commit()
EOF
	grep -q immutable sql.out || fail "the UPDATE failed for another reason: $(cat sql.out)"
	cairn cred list --json >after.json
	cmp -s before.json after.json || fail "the credential changed"
	outputs_clean
}
test_case "credentials cannot be modified: no subcommand, a duplicate name fails, SQL UPDATE refused" t_immutable

t_passphrase_precedence()
{
	fresh_state
	local right='repository passphrase P1' u wrong
	CAIRN_PASSPHRASE=$right new_repo repo
	u=$(mk_s3 --encryption-passphrase "$right")
	wrong=$(mk_s3 --encryption-passphrase 'not the passphrase')
	# The credential's passphrase opens a repository when nothing else is given.
	env -u CAIRN_PASSPHRASE "$CAIRN" --cred "$u" list --repo repo >l.out 2>l.err ||
		fail "the credential's passphrase did not open the repository: $(cat l.err)"
	CAIRN_CRED=$u env -u CAIRN_PASSPHRASE "$CAIRN" -v list --repo repo >l2.out 2>l2.err ||
		fail "CAIRN_CRED's passphrase did not open the repository"
	grep -q "encryption passphrase of credential $u" l2.err || fail "-v does not say where the passphrase came from"
	# CAIRN_PASSPHRASE, CAIRN_PASSPHRASE_FILE and --passphrase-file win over it.
	CAIRN_PASSPHRASE=$right cairn --cred "$wrong" list --repo repo >/dev/null
	printf '%s\n' "$right" >p.txt
	env -u CAIRN_PASSPHRASE "$CAIRN" --cred "$wrong" --passphrase-file p.txt list --repo repo >/dev/null ||
		fail "--passphrase-file did not win over the credential's passphrase"
	env -u CAIRN_PASSPHRASE CAIRN_PASSPHRASE_FILE=p.txt "$CAIRN" --cred "$wrong" list --repo repo >/dev/null ||
		fail "CAIRN_PASSPHRASE_FILE did not win over the credential's passphrase"
	CAIRN_PASSPHRASE='wrong' expect_fail -c 1 cairn --cred "$u" list --repo repo
	# init with a credential's passphrase: no prompt, no confirmation.
	env -u CAIRN_PASSPHRASE "$CAIRN" init --repo repo2 --cred "$u" -q >/dev/null 2>i.err ||
		fail "init with the credential's passphrase failed: $(cat i.err)"
	CAIRN_PASSPHRASE=$right cairn list --repo repo2 >/dev/null
	# Without --cred, a local repository does not use any credential.
	env -u CAIRN_PASSPHRASE "$CAIRN" list --repo repo >n.out 2>n.err && fail "a local repository used a credential"
	grep -qi passphrase n.err || fail "unexpected error: $(cat n.err)"
	no_secrets l.out l.err l2.out l2.err i.err n.out n.err
	outputs_clean
}
test_case "the credential's encryption passphrase: after --passphrase-file and the environment" t_passphrase_precedence

t_state_files()
{
	fresh_state
	local u
	u=$(mk_s3 --encryption-passphrase "$ENC_PASS")
	[ "$(stat -c %a "$CAIRN_STATE_DIR")" = 700 ] || fail "state directory mode $(stat -c %a "$CAIRN_STATE_DIR")"
	[ "$(stat -c %a "$CAIRN_STATE_DIR/state.db")" = 600 ] || fail "state.db mode"
	[ "$(stat -c %a "$CAIRN_STATE_DIR/secret.key")" = 600 ] || fail "secret.key mode"
	[ "$(stat -c %s "$CAIRN_STATE_DIR/secret.key")" = 32 ] || fail "secret.key size"
	# WAL checkpointed on exit: everything is in state.db, and no secret is.
	[ ! -s "$CAIRN_STATE_DIR/state.db-wal" ] || fail "a WAL was left behind"
	grep -aq AKIAE2EACCESS "$CAIRN_STATE_DIR/state.db" || fail "the search would not find plaintext"
	state_clean
	# The key file elsewhere.
	local other=$TT/keys
	mkdir "$other"
	export CAIRN_STATE_DIR=$TT/state2 CAIRN_STATE_KEY_FILE=$other/cairn.key
	mk_s3 >/dev/null
	[ -f "$other/cairn.key" ] && [ ! -e "$CAIRN_STATE_DIR/secret.key" ] ||
		fail "CAIRN_STATE_KEY_FILE was not used"
	unset CAIRN_STATE_KEY_FILE
	export CAIRN_STATE_DIR=$TT/state
	# A replaced key: a clear error naming the credential and the key file.
	new_repo repo
	cp "$CAIRN_STATE_DIR/secret.key" key.orig
	head -c 32 /dev/urandom >"$CAIRN_STATE_DIR/secret.key"
	expect_fail -c 1 -m "credential $u was sealed with state key [0-9a-f]{16}, but .*secret.key holds key" \
		cairn --cred "$u" list --repo repo
	# A missing key: use fails clearly, list still works, create is refused.
	rm "$CAIRN_STATE_DIR/secret.key"
	expect_fail -c 1 -m 'secret.key is missing' cairn --cred "$u" list --repo repo
	cairn cred list >l.out || fail "cred list needs the key"
	expect_fail -c 1 -m 'missing, but 1 stored credential' mk_s3
	[ ! -e "$CAIRN_STATE_DIR/secret.key" ] || fail "a new key was made while a credential needs the old one"
	cp key.orig "$CAIRN_STATE_DIR/secret.key"
	env -u CAIRN_PASSPHRASE "$CAIRN" --cred "$u" list --repo repo >/dev/null 2>&1 &&
		fail "the wrong passphrase opened the repository" # the credential's is not the repo's
	cairn --cred "$u" list --repo repo >/dev/null
	outputs_clean
	state_clean
}
test_case "state files 0700/0600, CAIRN_STATE_KEY_FILE, a wrong or missing key is a clear error" t_state_files

t_tampered()
{
	fresh_state
	local u
	u=$(mk_s3)
	new_repo repo
	python3 - "$CAIRN_STATE_DIR/state.db" "$u" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DROP TRIGGER credentials_immutable")
(b,) = db.execute("SELECT s3_secret_key FROM credentials WHERE uuid = ?", (sys.argv[2],)).fetchone()
b = bytearray(b)
b[20] ^= 1
db.execute("UPDATE credentials SET s3_secret_key = ? WHERE uuid = ?", (bytes(b), sys.argv[2]))
db.commit()
EOF
	expect_fail -c 1 -m "credential $u: the sealed s3-secret-key fails authentication" cairn --cred "$u" list --repo repo
	expect_fail -c 1 -m 'fails authentication' cairn list --repo s3://bucket/p
	outputs_clean
}
test_case "a tampered sealed secret is refused with one line" t_tampered

t_too_new_db()
{
	fresh_state
	mk_s3 >/dev/null
	python3 -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute("PRAGMA user_version = 99"); db.commit()' \
		"$CAIRN_STATE_DIR/state.db"
	cp "$CAIRN_STATE_DIR/state.db" before.db
	expect_fail -c 1 -m 'schema version 99.*newer cairn' cairn cred list
	expect_fail -c 1 -m 'newer cairn' mk_s3
	expect_fail -c 1 -m 'newer cairn' cairn list --repo s3://bucket/p
	cmp -s before.db "$CAIRN_STATE_DIR/state.db" || fail "the newer database was changed"
	# Not a database at all.
	head -c 4096 /dev/urandom >"$CAIRN_STATE_DIR/state.db"
	rm -f "$CAIRN_STATE_DIR"/state.db-*
	expect_fail -c 1 -m 'state.db' cairn cred list
}
test_case "a state database from a newer cairn (or not a database) is refused" t_too_new_db

t_no_state_on_read()
{
	fresh_state
	cairn cred list >/dev/null
	cairn cred list --json >/dev/null
	expect_fail cairn cred delete abcd1234
	cairn -v list --repo "$S3URI" >/dev/null 2>e.err || true
	grep -q 'using credential' e.err && fail "a credential was used with none stored"
	new_repo repo
	cairn --cred abcd list --repo repo >/dev/null 2>&1 && fail "an unknown --cred was accepted"
	[ ! -e "$CAIRN_STATE_DIR" ] || fail "reading created $CAIRN_STATE_DIR"
	mk_s3 >/dev/null
	[ -d "$CAIRN_STATE_DIR" ] || fail "create did not make the state directory"
}
test_case "list, delete and resolving create no state; create does" t_no_state_on_read

t_verbose_no_secrets()
{
	fresh_state
	local u
	u=$(cairn -vv cred create --provider s3 --s3-access-key AK --s3-secret-key "$S3_SECRET" \
		--s3-endpoint "$EP" --s3-disable-ssl --encryption-passphrase "$ENC_PASS" 2>c1.err)
	cairn -vv cred create --provider azure --azure-account-name acct --azure-sas "$AZ_SAS" >c2.out 2>c2.err
	cairn -vv cred create --provider google --google-project-id p --google-hmac-access-key G \
		--google-hmac-secret "$G_SECRET" --json >c3.out 2>c3.err
	cairn -vv cred list >l.out 2>l.err
	cairn -vv cred list --json >l2.out 2>l2.err
	cairn -vv list --repo "$S3URI" >u.out 2>u.err || true
	CAIRN_PASSPHRASE=x new_repo repo
	cairn -vv --cred "$u" list --repo repo >u2.out 2>u2.err || true
	cairn -vv cred delete "$u" >d.out 2>d.err
	cairn -vv cred delete "$u" >d2.out 2>d2.err || true
	grep -q debug c1.err || fail "-vv printed no debug lines"
	outputs_clean
	state_clean
}
test_case "-v and -vv print no secret, whatever the command" t_verbose_no_secrets

t_help()
{
	local t
	for t in "cred --help" "cred create --help" "cred list --help" "cred delete --help" "help cred" \
		"help cred create" "cred -h"; do
		# shellcheck disable=SC2086
		expect_ok cairn $t
		grep -q '^usage: cairn cred' "$TT/.out" || fail "'cairn $t' prints no usage"
		[ ! -s "$TT/.err" ] || fail "'cairn $t' wrote to stderr"
	done
	cairn cred create --help >create.out
	local v
	for v in CAIRN_S3_SECRET_KEY CAIRN_AZURE_ACCOUNT_KEY CAIRN_AZURE_SAS CAIRN_GOOGLE_HMAC_SECRET \
		CAIRN_ENCRYPTION_PASSPHRASE --s3-secret-key-file --azure-account-key-file --azure-sas-file \
		--google-hmac-secret-file --encryption-passphrase-file --s3-disable-ssl --name; do
		grep -q -- "$v" create.out || fail "'cred create --help' does not mention $v"
	done
	cairn cred list --help >list.out
	grep -q 'ENCRYPTION' list.out || fail "'cred list --help' does not describe the columns"
	cairn --help >global.out
	for v in --cred --connections --limit-upload CAIRN_CRED CAIRN_STATE_KEY_FILE; do
		grep -q -- "$v" global.out || fail "'cairn --help' does not mention $v"
	done
}
test_case "help for cred and its subcommands; globals documented" t_help

t_transfer_options()
{
	fresh_state
	new_repo repo
	# Accepted anywhere, ignored by a local store.
	cairn --connections 4 --limit-upload 10M list --repo repo >/dev/null
	cairn list --repo repo --connections 16 --limit-upload 500K >/dev/null
	cairn list --repo repo --limit-upload 0 --connections=1 >/dev/null
	expect_fail -c 2 -m 'connections' cairn list --repo repo --connections 0
	expect_fail -c 2 -m 'connections' cairn list --repo repo --connections many
	expect_fail -c 2 -m 'connections' cairn --connections -3 list --repo repo
	expect_fail -c 2 -m 'connections' cairn list --repo repo --connections 5000
	expect_fail -c 2 -m 'limit-upload' cairn list --repo repo --limit-upload 10X
	expect_fail -c 2 -m 'limit-upload' cairn --limit-upload fast list --repo repo
	# A fraction of a byte (would read as 0, unlimited), non-finite or
	# past 64 bits, hex and exponents: refused, not converted.
	for v in 0.5 inf nan 1e30 99999999999999999999 0x10 ' 1' -1; do
		expect_fail -c 2 -m 'limit-upload' cairn list --repo repo --limit-upload "$v"
	done
	cairn list --repo repo --limit-upload 1.5K >/dev/null
	# A bad retry setting is not silently ignored.
	local v
	for v in abc 0 -1 1000; do
		CAIRN_HTTP_MAX_ATTEMPTS=$v CAIRN_HTTP_BACKOFF_MS=1 AWS_ACCESS_KEY_ID=a AWS_SECRET_ACCESS_KEY=b \
			"$CAIRN" list --repo 's3://bkt/x?endpoint=http://127.0.0.1:9&region=us-east-1' 2>err && fail "list succeeded"
		grep -q "warning: ignoring CAIRN_HTTP_MAX_ATTEMPTS: want a whole number from 1 to 100; using 8" err ||
			fail "no warning for CAIRN_HTTP_MAX_ATTEMPTS=$v: $(cat err)"
		grep -q 'after 8 attempts' err || fail "the default of 8 attempts was not used: $(cat err)"
	done
	cairn list --repo repo --limit-upload .5M >/dev/null
	expect_fail -c 2 -m 'value' cairn list --repo repo --connections
	# Before the verb, the value is not mistaken for the verb.
	cairn --cred x --connections 2 --limit-upload 1M cred list >/dev/null
}
test_case "--connections N and --limit-upload RATE: validated, accepted before or after the verb" t_transfer_options

kill "$HTTP_PID" 2>/dev/null
wait "$HTTP_PID" 2>/dev/null
t_delete_in_use()
{
	fresh_state
	local u
	new_repo repo
	truncate -s 1M v.img
	u=$(mk_s3 --name k1)
	cairn policy create pol1 --volume "$TT/v.img" --repo "$TT/repo" --cred "$u" --every 1h --keep-last 2 2>/dev/null
	cairn policy create pol2 --volume "$TT/v.img" --repo "$TT/repo" --cred "$u" --every 1h --keep-last 2 2>/dev/null
	# Credentials cannot be edited: deleting one a policy names would break
	# the policy for good.
	expect_fail -m "credential $u is used by policy 'pol1' and others: delete them first" cairn cred delete k1
	cairn cred list --json | jq -e --arg u "$u" 'map(.uuid) | index($u) != null' >/dev/null ||
		fail "the credential was deleted"
	cairn policy delete pol1 2>/dev/null
	expect_fail -m "used by policy 'pol2': delete it first" cairn cred delete "$u"
	cairn policy delete pol2 2>/dev/null
	expect_ok cairn cred delete "$u"
}
test_case "cred delete refuses a credential that a policy uses, naming the policy" t_delete_in_use

test_done
