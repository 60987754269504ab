#!/bin/bash
# t6-cred-endpoint: a stored credential is bound to its endpoint.  Its
# secrets go to the endpoint it was created with (else the provider's
# default), over TLS unless it says otherwise, whatever a repository URI's
# ?endpoint= names, whichever way the credential was chosen (--cred,
# CAIRN_CRED, the only one of its provider, a policy); the binding is sealed
# with the secrets; credentials of the previous cairn still open.  Keys in
# the environment keep following the URI.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/credlib.sh"

AZ_KEY='QVpLRVlzZWNyZXR2YWx1ZTAxMjM0NTY3ODlhYmNkZWY='
AZ_SIG='AZSASsecretSIG'
AZ_SAS="sv=2022-11-02&sp=rwdl&se=2030-01-01&sig=$AZ_SIG"
S3_SECRET='s3SECRETvalue/0123456789+abcdefXYZ'
G_SECRET='GOOGhmacSECRET/abcdefghijklmnop0123'
SECRETS=("$AZ_KEY" "$AZ_SIG" "$S3_SECRET" "$G_SECRET" oldS3secretFIXTURE OLDsasFIXTURE)

# The listener: every connection to 127.0.0.1:PORT is appended to
# $TD/listener.log as "== connection" and the bytes it sent (request line,
# headers, or a TLS ClientHello), then answered 403; it gives up by itself
# after 10 minutes.
python3 - "$TD/listener.port" "$TD/listener.log" 600 <<'EOF' &
import socket, sys, threading, time, os
port_file, log, life = sys.argv[1], sys.argv[2], int(sys.argv[3])
lock = threading.Lock()
def serve(c):
    c.settimeout(2)
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < 65536:
            b = c.recv(4096)
            if not b:
                break
            data += b
    except OSError:
        pass
    with lock, open(log, "ab") as f:
        f.write(b"== connection\n" + data + b"\n")
    try:
        c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
open(log, "wb").close()
open(port_file + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
s.settimeout(1)
end = time.time() + life
while time.time() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
LISTENER_PID=$!
for _ in $(seq 1 200); do [ -s "$TD/listener.port" ] && break; sleep 0.05; done
PORT=$(cat "$TD/listener.port" 2>/dev/null || echo 9)
LOG=$TD/listener.log
HTTP=http://127.0.0.1:$PORT
HTTPS=https://127.0.0.1:$PORT
# Refused commands must not even retry: one attempt is plenty.
export CAIRN_HTTP_MAX_ATTEMPTS=1

fresh_state()
{
	export CAIRN_STATE_DIR=$TT/state
	unset CAIRN_CRED AZURE_STORAGE_KEY AZURE_STORAGE_SAS_TOKEN AZURE_STORAGE_ACCOUNT AWS_ACCESS_KEY_ID \
		AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN GOOGLE_HMAC_ACCESS_KEY GOOGLE_HMAC_SECRET
}

# The listener's log as it is now, and what was added since.
mark() { wc -c <"$LOG" >"$TT/.mark"; }
since() { tail -c +$(($(cat "$TT/.mark") + 1)) "$LOG"; }

# nothing_sent: no connection at all since mark (so no sig=, no
# Authorization header, no secret reached the listener).
nothing_sent()
{
	local got
	got=$(since | head -c 300 | tr -c '[:print:]' '.')
	[ -z "$got" ] || fail "the listener was contacted: $got"
}

# refused CRED_RE BOUND URI_EP CMD...: CMD fails with the one line naming
# the credential, the endpoint it is bound to and the URI's, and how to go
# on; nothing reaches the listener.
refused()
{
	local who=$1 bound=$2 ep=$3
	shift 3
	mark
	expect_fail -c 1 -m "^cairn: credential $who is bound to $bound, but the repository URI names endpoint $ep: its secrets are not sent there; (create a credential for that endpoint .*--cred|google credentials reach only)" "$@"
	nothing_sent
	no_secrets "$TT/.err" "$TT/.out"
}

mk_creds()
{
	AZS=$(cairn cred create --provider azure --name az-sas --azure-account-name acct --azure-sas "$AZ_SAS")
	AZK=$(cairn cred create --provider azure --name az-key --azure-account-name acct --azure-account-key "$AZ_KEY")
	S3=$(cairn cred create --provider s3 --name s3c --s3-access-key AKIAE2EBOUND --s3-secret-key "$S3_SECRET" \
		--s3-region eu-west-3)
}

t_refused()
{
	fresh_state
	truncate -s 1M v.img
	mk_creds
	local ep cmd azdef=https://acct.blob.core.windows.net
	for ep in "$HTTP" "$HTTPS" "$HTTP/acct" "$HTTPS/acct"; do
		for cmd in list init backup; do
			local extra=()
			[ $cmd = backup ] && extra=(v.img)
			refused "$AZS \('az-sas'\)" $azdef "$ep" cairn --cred az-sas $cmd --repo "azure://acct/cont/p?endpoint=$ep" "${extra[@]}"
			refused "$AZK \('az-key'\)" $azdef "$ep" cairn --cred "$AZK" $cmd --repo "azure://acct/cont/p?endpoint=$ep" "${extra[@]}"
			# The only s3 credential: chosen without --cred.
			refused "$S3 \('s3c'\)" https://s3.eu-west-3.amazonaws.com "$ep" \
				cairn $cmd --repo "s3://bucket/p?endpoint=$ep" "${extra[@]}"
		done
	done
	# The hint names the right options: http needs the credential's flag.
	refused "$AZS.*" $azdef "$HTTP" cairn --cred az-sas list --repo "azure://acct/cont/p?endpoint=$HTTP"
	grep -qF -- "--azure-endpoint $HTTP --azure-disable-ssl" "$TT/.err" || fail "hint: $(cat "$TT/.err")"
	refused "$S3.*" https://s3.eu-west-3.amazonaws.com "$HTTPS" cairn list --repo "s3://bucket/p?endpoint=$HTTPS"
	grep -qF -- "--s3-endpoint $HTTPS')" "$TT/.err" || fail "hint: $(cat "$TT/.err")"
	# Plain http to the provider's own host is refused too.
	refused "$AZS.*" $azdef http://acct.blob.core.windows.net \
		cairn --cred az-sas list --repo "azure://acct/cont/p?endpoint=http://acct.blob.core.windows.net"
	no_secrets "$LOG"
}
test_case "a stored credential's secrets never go to another endpoint: list, init, backup over http and https" t_refused

t_implicit()
{
	fresh_state
	local az s3 g
	az=$(cairn cred create --provider azure --azure-account-name acct --azure-sas "$AZ_SAS")
	# The only Azure credential, chosen without being named.
	refused "$az" https://acct.blob.core.windows.net "$HTTP/acct" \
		cairn list --repo "azure://acct/cont/p?endpoint=$HTTP/acct"
	# CAIRN_CRED names it.
	CAIRN_CRED=${az:0:8} refused "$az" https://acct.blob.core.windows.net "$HTTPS" \
		cairn list --repo "azure://acct/cont/p?endpoint=$HTTPS"
	# Environment keys do not change which secrets a stored credential sends.
	AZURE_STORAGE_SAS_TOKEN="sv=1&sig=ENVsig" refused "$az" https://acct.blob.core.windows.net "$HTTP" \
		cairn list --repo "azure://acct/cont/p?endpoint=$HTTP"
	g=$(cairn cred create --provider google --google-project-id p --google-hmac-access-key GOOGE2E \
		--google-hmac-secret "$G_SECRET")
	refused "$g" https://storage.googleapis.com "$HTTP" cairn list --repo "gs://bucket/p?endpoint=$HTTP"
	s3=$(cairn cred create --provider s3 --s3-access-key AKIAE2E --s3-secret-key "$S3_SECRET")
	# Without a region of its own: AWS for the URI's region (or us-east-1).
	refused "$s3" https://s3.us-east-1.amazonaws.com "$HTTP" cairn list --repo "s3://bucket/p?endpoint=$HTTP"
	refused "$s3" https://s3.ap-south-1.amazonaws.com "$HTTP" \
		cairn list --repo "s3://bucket/p?region=ap-south-1&endpoint=$HTTP"
	no_secrets "$LOG"
}
test_case "implicitly chosen credentials (the only one, CAIRN_CRED) are bound the same way, Google and S3 too" t_implicit

t_policy()
{
	fresh_state
	truncate -s 1M v.img
	local az
	az=$(cairn cred create --provider azure --name pol-cred --azure-account-name acct --azure-sas "$AZ_SAS")
	refused "$az \('pol-cred'\)" https://acct.blob.core.windows.net "$HTTP/acct" \
		cairn policy create p0 --volume v.img --repo "azure://acct/cont/p?endpoint=$HTTP/acct" --cred pol-cred \
		--every 1h --keep-last 1
	# Policies that point at the listener anyway (a database edited, or
	# written by another cairn): one names the credential, one leaves the
	# choice to the run.
	python3 - "$CAIRN_STATE_DIR/state.db" "$az" "$TT/v.img" "azure://acct/cont/p?endpoint=$HTTP/acct" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for name, cred in (("named", sys.argv[2]), ("implicit", None)):
    db.execute("INSERT INTO policies (id, name, created, kind, source, repo, cred, every_s, keep_last)"
               " VALUES (lower(hex(randomblob(16))), ?, 1, 'volume', ?, ?, ?, 60, 1)",
               (name, sys.argv[3], sys.argv[4], cred))
db.commit()
EOF
	local p
	for p in named implicit; do
		refused "$az \('pol-cred'\)" https://acct.blob.core.windows.net "$HTTP/acct" cairn policy run $p
	done
	# The daemon runs both and records the refusal in the jobs.
	mark
	cairn daemon --once -q >d.out 2>d.err || true
	nothing_sent
	python3 - "$CAIRN_STATE_DIR/state.db" <<'EOF' >jobs.txt
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for row in db.execute("SELECT policy, state, error FROM jobs ORDER BY id"):
    print("|".join(str(x) for x in row))
EOF
	grep -q "^named|failed|credential $az ('pol-cred') is bound to" jobs.txt || fail "jobs: $(cat jobs.txt)"
	grep -q "^implicit|failed|credential $az ('pol-cred') is bound to" jobs.txt || fail "jobs: $(cat jobs.txt)"
	no_secrets d.out d.err jobs.txt "$LOG"
}
test_case "policies (create, run, the daemon) go through the same check" t_policy

t_own_endpoint()
{
	fresh_state
	local az s3
	# A credential made for the listener, plain http allowed by itself.
	az=$(cairn cred create --provider azure --name local-az --azure-account-name acct --azure-sas "$AZ_SAS" \
		--azure-endpoint "$HTTP/acct" --azure-disable-ssl)
	cairn cred list --json >l.json
	[ "$(jq -r '.[0].endpoint + " " + (.[0].ssl | tostring)' l.json)" = "$HTTP/acct false" ] ||
		fail "cred list --json: $(cat l.json)"
	mark
	cairn --cred local-az list --repo "azure://acct/cont/p" >o.out 2>o.err && fail "the fake listener was a repository"
	since | grep -q "^HEAD /acct/cont/p/config?.*sig=" || fail "no request arrived: $(since | head -c 300)"
	# Naming the same endpoint in the URI is fine too.
	mark
	cairn --cred local-az list --repo "azure://acct/cont/p?endpoint=$HTTP/acct/" >o.out 2>o.err && fail "succeeded"
	since | grep -q "^HEAD /acct/cont/p/config" || fail "no request arrived: $(since | head -c 300)"
	# But not another path (another account's) or port on the same host.
	refused "$az \('local-az'\)" "$HTTP/acct" "$HTTP/other" \
		cairn --cred local-az list --repo "azure://acct/cont/p?endpoint=$HTTP/other"
	refused "$az \('local-az'\)" "$HTTP/acct" "http://127.0.0.1:$((PORT + 1))/acct" \
		cairn --cred local-az list --repo "azure://acct/cont/p?endpoint=http://127.0.0.1:$((PORT + 1))/acct"
	# An S3 credential for the listener signs its requests there.
	s3=$(cairn cred create --provider s3 --name local-s3 --s3-access-key AKIAE2ELOCAL --s3-secret-key "$S3_SECRET" \
		--s3-endpoint "$HTTP" --s3-disable-ssl)
	mark
	cairn --cred local-s3 list --repo "s3://bucket/p?endpoint=$HTTP" >o.out 2>o.err && fail "succeeded"
	since | grep -qi "^Authorization: AWS4-HMAC-SHA256 Credential=AKIAE2ELOCAL/" ||
		fail "no signed request arrived: $(since | head -c 300)"
	# An https-only credential for the same host and port is not used over http.
	local tls
	tls=$(cairn cred create --provider s3 --name tls-s3 --s3-access-key AKIAE2ETLS --s3-secret-key "$S3_SECRET" \
		--s3-endpoint "$HTTPS")
	refused "$tls \('tls-s3'\)" "$HTTPS" "$HTTP" cairn --cred tls-s3 list --repo "s3://bucket/p?endpoint=$HTTP"
	grep -qF -- "--s3-disable-ssl" "$TT/.err" || fail "the hint does not name --s3-disable-ssl"
	# cred create says how: http needs the flag.
	expect_fail -c 2 -m 'plain http://: add --azure-disable-ssl' cairn cred create --provider azure \
		--azure-account-name acct --azure-sas "$AZ_SAS" --azure-endpoint "$HTTP/acct"
	expect_fail -c 2 -m 'needs an http:// --azure-endpoint' cairn cred create --provider azure \
		--azure-account-name acct --azure-sas "$AZ_SAS" --azure-disable-ssl
	no_secrets o.err o.out "$TT/.err"
}
test_case "a credential created for an endpoint is used there (its http flag), and only there" t_own_endpoint

t_env_keys()
{
	fresh_state
	# No credential stored: the environment's keys follow the URI, as the
	# user asked on this command line.
	mark
	AZURE_STORAGE_SAS_TOKEN=$AZ_SAS cairn list --repo "azure://acct/cont/p?endpoint=$HTTP/acct" >e.out 2>e.err &&
		fail "succeeded"
	since | grep -q "^HEAD /acct/cont/p/config?.*sig=$AZ_SIG" || fail "no request arrived: $(since | head -c 300)"
	mark
	AWS_ACCESS_KEY_ID=AKIAENV AWS_SECRET_ACCESS_KEY=$S3_SECRET cairn list --repo "s3://bucket/p?endpoint=$HTTP" \
		>e.out 2>e.err && fail "succeeded"
	since | grep -qi "^Authorization: AWS4-HMAC-SHA256 Credential=AKIAENV/" || fail "no request: $(since | head -c 300)"
	# Plain http only when the URI says http://: without a scheme it is TLS,
	# so the listener sees a TLS handshake and nothing in clear.
	local v
	for v in "AZURE_STORAGE_SAS_TOKEN=$AZ_SAS azure://acct/cont/p?endpoint=127.0.0.1:$PORT/acct" \
		"AWS_ACCESS_KEY_ID=AKIAENV s3://bucket/p?endpoint=127.0.0.1:$PORT" \
		"GOOGLE_HMAC_ACCESS_KEY=GOOGENV gs://bucket/p?endpoint=127.0.0.1:$PORT"; do
		mark
		env "${v%% *}" AWS_SECRET_ACCESS_KEY=$S3_SECRET GOOGLE_HMAC_SECRET=$G_SECRET "$CAIRN" list \
			--repo "${v#* }" >e.out 2>e.err && fail "succeeded"
		grep -qiE 'ssl|tls|handshake|wrong version|record' e.err || fail "not a TLS failure: $(cat e.err)"
		since | head -c 200 >got
		[ -s got ] || fail "nothing reached the listener for ${v#* }"
		if ! grep -aqE '^== connection' got || [ "$(sed -n 2p got | head -c 1 | od -An -tx1 | tr -d ' ')" != 16 ]; then
			fail "not a TLS ClientHello: $(tr -c '[:print:]' . <got)"
		fi
		since | grep -aqi -e "sig=$AZ_SIG" -e "^Authorization" && fail "a secret went in clear"
	done
	return 0
}
test_case "environment keys keep following the URI; plain http only when it says http://" t_env_keys

t_sealed_binding()
{
	fresh_state
	local az s3
	az=$(cairn cred create --provider azure --azure-account-name acct --azure-sas "$AZ_SAS")
	s3=$(cairn cred create --provider s3 --s3-access-key AKIAE2E --s3-secret-key "$S3_SECRET" \
		--s3-endpoint https://minio.example:9000)
	# Someone with write access to the database points them at the listener.
	python3 - "$CAIRN_STATE_DIR/state.db" "$az" "$s3" "$HTTP" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DROP TRIGGER credentials_immutable")
db.execute("UPDATE credentials SET azure_endpoint = ?, azure_disable_ssl = 1 WHERE uuid = ?",
           (sys.argv[4] + "/acct", sys.argv[2]))
db.execute("UPDATE credentials SET s3_endpoint = ?, s3_disable_ssl = 1 WHERE uuid = ?", (sys.argv[4], sys.argv[3]))
db.commit()
EOF
	mark
	expect_fail -c 1 -m "credential $az: the sealed azure-sas fails authentication .*altered or damaged.*endpoint, SSL flag" \
		cairn --cred "$az" list --repo azure://acct/cont/p
	expect_fail -c 1 -m "credential $s3: the sealed s3-secret-key fails authentication" \
		cairn --cred "$s3" list --repo s3://bucket/p
	# Implicitly chosen, and with the URI naming the edited endpoint.
	expect_fail -c 1 -m "credential $az: the sealed azure-sas fails authentication" \
		cairn list --repo "azure://acct/cont/p?endpoint=$HTTP/acct"
	nothing_sent
	# cred list still shows them (it decrypts nothing).
	cairn cred list >l.out
	no_secrets l.out "$TT/.err"
}
test_case "endpoint and SSL flag edited in the state database: the credential no longer opens" t_sealed_binding

t_previous_version()
{
	fresh_state
	local fx=$E2E_DIR/../fixtures/state-v5
	mkdir -m 700 "$CAIRN_STATE_DIR"
	python3 - "$fx/state.sql" "$CAIRN_STATE_DIR/state.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[2])
db.executescript(open(sys.argv[1]).read())
db.close()
EOF
	xxd -r -p "$fx/secret.key.hex" >"$CAIRN_STATE_DIR/secret.key"
	chmod 600 "$CAIRN_STATE_DIR"/*
	expect_ok cairn cred list --json
	[ "$(jq -r 'map(.name) | join(" ")' "$TT/.out")" = "old-s3 old-sas old-key" ] || fail "list: $(cat "$TT/.out")"
	seals() { python3 -c 'import sqlite3, sys; print(" ".join(str(r[0]) for r in sqlite3.connect(sys.argv[1]).execute("SELECT seal FROM credentials ORDER BY rowid")))' "$CAIRN_STATE_DIR/state.db"; }
	[ "$(seals)" = "1 1 1" ] || fail "seals after the migration: $(seals)"
	# The old S3 credential opens and goes to its own endpoint (nothing
	# listens on port 1: a connection failure, not an authentication one).
	cairn -v --cred old-s3 list --repo s3://bucket/p >o.out 2>o.err && fail "succeeded"
	grep -q "using credential 7c30daa0-64f6-47da-a45a-2526c26727d9 (s3)" o.err || fail "not used: $(cat o.err)"
	grep -q "127.0.0.1 port 1" o.err || fail "not its endpoint: $(cat o.err)"
	[ "$(seals)" = "2 1 1" ] || fail "not sealed again on first use: $(seals)"
	# The old Azure one is bound to its default endpoint, sealed again too.
	refused "f5c6aaa1-baaa-4b42-9eb3-9234c6d3c5ac \('old-sas'\)" https://acct.blob.core.windows.net "$HTTP/acct" \
		cairn --cred old-sas list --repo "azure://acct/cont/p?endpoint=$HTTP/acct"
	[ "$(seals)" = "2 2 1" ] || fail "seals: $(seals)"
	# From now on an edited endpoint does not open.
	python3 - "$CAIRN_STATE_DIR/state.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DROP TRIGGER credentials_immutable")
db.execute("UPDATE credentials SET s3_endpoint = 'http://127.0.0.1:2' WHERE name = 'old-s3'")
db.commit()
EOF
	expect_fail -c 1 -m "credential 7c30daa0-64f6-47da-a45a-2526c26727d9: the sealed s3-secret-key fails authentication" \
		cairn --cred old-s3 list --repo s3://bucket/p
	expect_ok cairn cred list --json
	[ "$(jq -r 'map(.name) | join(" ")' "$TT/.out")" = "old-s3 old-sas old-key" ] || fail "order: $(cat "$TT/.out")"
	no_secrets o.out o.err "$TT/.err" "$TT/.out" "$CAIRN_STATE_DIR/state.db"
}
test_case "credentials of the previous cairn open, bound to their endpoint and sealed again on first use" t_previous_version

t_help()
{
	cairn cred create --help >c.out
	local v
	for v in --azure-endpoint --azure-disable-ssl 'bound to its endpoint' 'create a credential for it'; do
		grep -q -- "$v" c.out || fail "'cred create --help' does not mention '$v'"
	done
	cairn help cred >h.out
	grep -q 'bound to its endpoint' h.out || fail "'help cred' does not state the binding"
}
test_case "cred create --help and help cred state the binding rule" t_help

kill "$LISTENER_PID" 2>/dev/null
wait "$LISTENER_PID" 2>/dev/null
test_done
