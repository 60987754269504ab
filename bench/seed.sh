# bench/seed.sh - the seed scenario's pieces, sourced by bench/dr.sh and
# bench/failover.sh: a sparse volume of random data on an XFS loop file
# system (reflink=1), its seeded scattered changes, and Ceph RGW on
# 127.0.0.1.  The caller sets ROOT (the checkout), LOG (where server
# output goes) and defines die().

# seed_free_port: a TCP port free on 127.0.0.1 now.
seed_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# seed_envval ENV NAME: NAME's value in a start-*.sh script's NAME=VALUE lines.
seed_envval() { echo "$1" | sed -n "s/^$2=//p"; }

# seed_xfs_mount FSIMG GIB DIR: an XFS (reflink=1) of GIB GiB in the
# sparse file FSIMG, on a loop device with direct I/O (so that reading the
# volume reads the disk, not the page cache twice), mounted on DIR.  Sets
# SEED_LOOP (seed_xfs_umount undoes it).
SEED_LOOP=
seed_xfs_mount() {
	[ "$(id -u)" = 0 ] || die "the XFS volume needs root (loop device, mount)"
	command -v mkfs.xfs >/dev/null || die "mkfs.xfs missing (apt-get install xfsprogs)"
	truncate -s "$2G" "$1"
	mkfs.xfs -q -f -m reflink=1 "$1"
	SEED_LOOP=$(losetup -f --show --direct-io=on "$1")
	mkdir -p "$3"
	mount "$SEED_LOOP" "$3"
}
# seed_xfs_umount DIR FSIMG: unmounts, detaches and removes what
# seed_xfs_mount made (nothing if it made nothing).
seed_xfs_umount() {
	[ -n "$SEED_LOOP" ] || return 0
	umount "$1" 2>/dev/null
	losetup -d "$SEED_LOOP" 2>/dev/null
	SEED_LOOP=
	rm -f "$2"
}

# seed_volume FILE SIZE_GIB DATA_GIB: FILE sparse of SIZE_GIB GiB holding
# DATA_GIB GiB of random data (AES-CTR of zeros: fast, incompressible,
# the same every time) from 1 GiB on.
seed_volume() {
	truncate -s "$2G" "$1"
	# (openssl dies of SIGPIPE when head has enough: not a failure)
	{ openssl enc -aes-128-ctr -K 000102030405060708090a0b0c0d0e0f -iv 0 -nosalt </dev/zero 2>/dev/null || true; } |
		head -c "$(($3 << 30))" | dd of="$1" bs=4M seek=256 conv=notrunc status=none
	sync
}

# seed_change FILE MIB DATA_GIB SEED: MIB writes of 1 MiB of new random
# data at distinct offsets (1 MiB-aligned, chosen by SEED) scattered over
# the data region of seed_volume.
seed_change() {
	python3 - "$1" "$2" "$3" "$4" <<'EOF'
import os, random, sys
path, n, data_gib, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r = random.Random(seed)
MiB = 1 << 20
with open(path, "r+b") as f:
    for off in r.sample(range(data_gib * 1024), n):
        f.seek((1 << 30) + off * MiB)
        f.write(os.urandom(MiB))
EOF
	sync
}

# seed_rgw_start DIR MEM: Ceph RGW (memstore of MEM bytes) on free ports,
# its files in DIR; sets SEED_EP (the endpoint) and exports its keys as
# AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.  seed_rgw_stop DIR stops it.
SEED_RGW_UP=0
seed_rgw_start() {
	local port env
	port=$(seed_free_port)
	SEED_RGW_UP=1
	env=$(CEPH_RGW_DIR=$1 CEPH_RGW_PORT=$port CEPH_MON_PORT=$((port + 1)) CEPH_RGW_MEM=$2 \
		"$ROOT/scripts/servers/start-ceph-rgw.sh" start 2>>"$LOG") || die "Ceph RGW did not start, see $LOG"
	SEED_EP=$(seed_envval "$env" S3_ENDPOINT)
	export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	AWS_ACCESS_KEY_ID=$(seed_envval "$env" S3_ACCESS_KEY)
	AWS_SECRET_ACCESS_KEY=$(seed_envval "$env" S3_SECRET_KEY)
}
seed_rgw_stop() {
	[ "$SEED_RGW_UP" = 1 ] || return 0
	CEPH_RGW_DIR=$1 "$ROOT/scripts/servers/start-ceph-rgw.sh" stop >>"$LOG" 2>&1 || true
	SEED_RGW_UP=0
}
