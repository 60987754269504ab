#!/usr/bin/env bash
# A throw-away single-node OpenStack Swift with the s3api middleware on
# 127.0.0.1, for cairn's S3 tests.
#
#   scripts/servers/start-swift-s3.sh start   starts, waits, prints KEY=VALUE env
#   scripts/servers/start-swift-s3.sh stop    kills the servers by their recorded
#                                             PIDs and wipes the state directory
#
# Env knobs:
#   SWIFT_S3_DIR       state dir (default ${TMPDIR:-/tmp}/cairn-swift-s3.PORT);
#                      created by start, wiped by stop
#   SWIFT_S3_PORT      S3 (proxy) port (default 18080); the object, container
#                      and account servers use PORT+1..PORT+3
#   SWIFT_S3_MIN_PART  minimum multipart part size (default 5 MiB, like AWS)
#
# S3 credentials (tempauth): access key "test:tester" (with a colon), secret
# "testing"; path-style URLs.  Swift reads /etc/swift/swift.conf (hash
# prefix/suffix, storage policy), which is not relocatable: one is written
# there if missing.  Packages come from `scripts/install-deps servers`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PORT=${SWIFT_S3_PORT:-18080}
OBJ_PORT=$((PORT + 1))
CONT_PORT=$((PORT + 2))
ACC_PORT=$((PORT + 3))
DIR=${SWIFT_S3_DIR:-${TMPDIR:-/tmp}/cairn-swift-s3.$PORT}
RUN_USER=$(id -un)
MIN_PART=${SWIFT_S3_MIN_PART:-5242880}
MARK=.cairn-swift-s3
# shellcheck source=scripts/servers/lib.sh
. "$ROOT/scripts/servers/lib.sh"

have_pkgs() {
	[ -x /usr/bin/swift-proxy-server ] && [ -x /usr/bin/swift-object-server ] &&
		/usr/bin/python3 -c 'import swift.common.middleware.s3api, lxml' 2>/dev/null
}

stop() {
	[ -d "$DIR" ] || return 0
	srv_ours swift-s3 || return 1
	# A graceful exit takes 1-2 s per server: all of them at once.
	srv_kill "$DIR"/run/*.pid
	rm -rf "$DIR"
}

start() {
	if ! have_pkgs; then
		"$ROOT/scripts/install-deps" servers >&2
		have_pkgs || { echo "swift-s3: swift packages not installed" >&2; exit 1; }
	fi
	if [ ! -e /etc/swift/swift.conf ]; then
		mkdir -p /etc/swift
		printf '[swift-hash]\nswift_hash_path_suffix = changeme\nswift_hash_path_prefix = changeme\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n' \
			>/etc/swift/swift.conf
	fi
	if [ -e "$DIR" ]; then
		stop
	fi
	mkdir -p "$DIR"
	touch "$DIR/$MARK"
	mkdir -p "$DIR"/{etc,node/d1,run,log,cache}
	cd "$DIR/etc"

	# Single-replica rings, one device each, in one python run (nine
	# swift-ring-builder calls take ~6 s).
	/usr/bin/python3 - "$OBJ_PORT" "$CONT_PORT" "$ACC_PORT" <<'PYEOF'
import sys
from swift.common.ring import RingBuilder
for name, port in zip(('object', 'container', 'account'), sys.argv[1:]):
    b = RingBuilder(8, 1, 1)
    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1',
               'port': int(port), 'device': 'd1', 'weight': 100.0})
    b.rebalance()
    b.get_ring().save(name + '.ring.gz')
PYEOF

	local common="[DEFAULT]
bind_ip = 127.0.0.1
workers = ${SWIFT_S3_WORKERS:-0}
user = $RUN_USER
swift_dir = $DIR/etc
devices = $DIR/node
mount_check = false
log_level = WARNING
# syslog lines go to a UDP black hole on loopback; -v copies them to stderr
log_udp_host = 127.0.0.1
log_udp_port = 9
recon_cache_path = $DIR/cache
"
	local s port
	for s in object container account; do
		case $s in object) port=$OBJ_PORT ;; container) port=$CONT_PORT ;; account) port=$ACC_PORT ;; esac
		cat >$s-server.conf <<CONF
$common
bind_port = $port
[pipeline:main]
pipeline = $s-server
[app:$s-server]
use = egg:swift#$s
CONF
	done
	cat >proxy-server.conf <<CONF
$common
bind_port = $PORT
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
s3_acl = false
dns_compliant_bucket_names = true
allow_multipart_uploads = true
min_segment_size = $MIN_PART
[filter:tempauth]
use = egg:swift#tempauth
user_admin_admin = admin .admin .reseller_admin
user_test_tester = testing .admin
[filter:cache]
use = egg:swift#memcache
# no memcached runs: tempauth merely requires the middleware to be present
memcache_servers = 127.0.0.1:1
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF

	for s in object container account proxy; do
		nohup /usr/bin/swift-$s-server "$DIR/etc/$s-server.conf" -v \
			>"$DIR/log/$s.log" 2>&1 </dev/null &
		echo $! >"$DIR/run/$s.pid"
	done

	for _ in $(seq 300); do
		if curl -sf "http://127.0.0.1:$PORT/healthcheck" >/dev/null 2>&1 &&
			curl -s -o /dev/null "http://127.0.0.1:$OBJ_PORT/" &&
			curl -s -o /dev/null "http://127.0.0.1:$CONT_PORT/" &&
			curl -s -o /dev/null "http://127.0.0.1:$ACC_PORT/"; then
			echo "S3_ENDPOINT=http://127.0.0.1:$PORT"
			echo "S3_REGION=us-east-1"
			echo "S3_ACCESS_KEY=test:tester"
			echo "S3_SECRET_KEY=testing"
			echo "S3_MIN_PART=$MIN_PART"
			echo "S3_SERVER=swift"
			return 0
		fi
		sleep 0.1
	done
	echo "swift-s3: did not come up; last log lines:" >&2
	tail -n 20 "$DIR"/log/*.log >&2
	stop
	return 1
}

srv_main "$@"
