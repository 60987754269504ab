#!/usr/bin/env bash
# A throw-away single-node Ceph with the RADOS Gateway (S3) on 127.0.0.1,
# for cairn's S3 tests and benchmark: 1 mon + 1 memstore OSD (objects live
# in RAM) + radosgw, cephx off, no mgr.
#
#   scripts/servers/start-ceph-rgw.sh start   starts, waits, prints KEY=VALUE env
#   scripts/servers/start-ceph-rgw.sh stop    kills the daemons by their recorded
#                                             PIDs and wipes the state directory
#
# Env knobs:
#   CEPH_RGW_DIR       state dir (default ${TMPDIR:-/tmp}/cairn-ceph-rgw.PORT);
#                      created by start, wiped by stop
#   CEPH_RGW_PORT      S3 port (default 17480)
#   CEPH_MON_PORT      monitor port (default 13300)
#   CEPH_RGW_MEM       memstore size in bytes (default 2 GiB)
#   CEPH_RGW_MIN_PART  minimum multipart part size (default 5 MiB, like AWS)
#
# Packages (radosgw ceph-mon ceph-osd ceph-common) come from
# `scripts/install-deps servers`.  Only 127.0.0.1 is bound; the OSD takes
# free ports from Ceph's 6800-7300 range.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PORT=${CEPH_RGW_PORT:-17480}
MON_PORT=${CEPH_MON_PORT:-13300}
DIR=${CEPH_RGW_DIR:-${TMPDIR:-/tmp}/cairn-ceph-rgw.$PORT}
MEM=${CEPH_RGW_MEM:-2147483648}
MIN_PART=${CEPH_RGW_MIN_PART:-5242880}
ACCESS=cairntestkey
SECRET=cairn-test-secret-rgw-0123456789
APPEND_ACCESS=cairnappendkey
APPEND_SECRET=cairn-test-secret-rgw-append-0123
MARK=.cairn-ceph-rgw
# shellcheck source=scripts/servers/lib.sh
. "$ROOT/scripts/servers/lib.sh"

have_pkgs() { command -v radosgw >/dev/null && command -v ceph-osd >/dev/null && command -v ceph-mon >/dev/null; }

stop() {
	[ -d "$DIR" ] || return 0
	srv_ours ceph-rgw || return 1
	# Order matters: with the mon gone first, osd and rgw hang in shutdown.
	local n
	for n in rgw osd mon; do
		srv_kill "$DIR/pids/$n.pid"
	done
	rm -rf "$DIR"
}

wait_for() { # wait_for SECONDS CMD...
	local n=$(($1 * 10))
	shift
	for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

fail() {
	echo "ceph-rgw: $*; last log lines:" >&2
	tail -n 15 "$DIR"/log/*.log >&2 2>/dev/null || true
	stop
	exit 1
}

start() {
	if ! have_pkgs; then
		"$ROOT/scripts/install-deps" servers >&2
		have_pkgs || { echo "ceph-rgw: radosgw/ceph-osd/ceph-mon not installed" >&2; exit 1; }
	fi
	if [ -e "$DIR" ]; then
		stop
	fi
	mkdir -p "$DIR"
	touch "$DIR/$MARK"
	mkdir -p "$DIR"/{mon,osd0,run,log,pids,rgw}
	cd "$DIR"
	local fsid osd_uuid
	fsid=$(cat /proc/sys/kernel/random/uuid)
	cat >ceph.conf <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
# cephx off; msgr2 "secure" mode needs cephx, so every mode must allow crc
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms mon service mode = crc
ms cluster mode = crc
ms service mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
run dir = $DIR/run
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok
keyring = $DIR/keyring
[mon.a]
mon data = $DIR/mon
[osd.0]
osd data = $DIR/osd0
osd objectstore = memstore
memstore device bytes = $MEM
[client.rgw.t]
rgw frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw data = $DIR/rgw
rgw multipart min part size = $MIN_PART
CONF
	export CEPH_CONF=$DIR/ceph.conf
	ceph-authtool --create-keyring keyring --gen-key -n mon. --cap mon 'allow *' >/dev/null
	monmaptool --create --addv a "[v2:127.0.0.1:$MON_PORT]" --fsid "$fsid" monmap >/dev/null
	ceph-mon --mkfs -i a --monmap monmap --keyring keyring 2>>log/setup.log

	nohup ceph-mon -f -i a >log/mon.out 2>&1 </dev/null &
	echo $! >pids/mon.pid
	wait_for 30 ceph --connect-timeout 2 mon stat || fail "mon did not start"

	osd_uuid=$(cat /proc/sys/kernel/random/uuid)
	[ "$(ceph osd new "$osd_uuid")" = 0 ] || fail "osd new"
	ceph-osd -i 0 --mkfs --osd-uuid "$osd_uuid" >>log/setup.log 2>&1 || fail "osd mkfs"
	nohup ceph-osd -f -i 0 >log/osd.out 2>&1 </dev/null &
	echo $! >pids/osd.pid
	wait_for 60 bash -c 'ceph osd stat | grep -q "1 up"' || fail "osd did not come up"

	nohup radosgw -f -n client.rgw.t >log/rgw.out 2>&1 </dev/null &
	echo $! >pids/rgw.pid
	wait_for 120 curl -sf -o /dev/null "http://127.0.0.1:$PORT/" || fail "radosgw did not come up"
	radosgw-admin user create --uid=test --display-name=test \
		--access-key=$ACCESS --secret-key=$SECRET >/dev/null || fail "user create"
	# A second user, for tests of credentials a bucket policy limits
	# (append-only: t29-object-lock.sh).
	radosgw-admin user create --uid=cairnappend --display-name=cairnappend \
		--access-key=$APPEND_ACCESS --secret-key=$APPEND_SECRET >/dev/null || fail "user create (second)"

	echo "S3_ENDPOINT=http://127.0.0.1:$PORT"
	echo "S3_REGION=us-east-1"
	echo "S3_ACCESS_KEY=$ACCESS"
	echo "S3_SECRET_KEY=$SECRET"
	echo "S3_MIN_PART=$MIN_PART"
	echo "S3_SERVER=rgw"
	echo "S3_USER=test"
	echo "S3_APPEND_USER=cairnappend"
	echo "S3_APPEND_ACCESS_KEY=$APPEND_ACCESS"
	echo "S3_APPEND_SECRET_KEY=$APPEND_SECRET"
}

srv_main "$@"
