#!/bin/bash
# bench/secondary.sh - restore through a repository's secondary endpoint
# (?secondary=URL, docs/design.md §7) against restore through its primary,
# on one S3 server: a random image is backed up, then restored in
# alternating rounds three ways:
#   P  the plain URI (the primary, no secondary)
#   S  primary endpoint a closed port, secondary the server: every read
#      goes through the secondary after the first refused connection
#   W  primary the server, secondary a closed port: the wrapper's cost
#      when the primary works
# Each restore is compared with the image; the medians and S/P, W/P are
# printed.  Target (issue [failover]): S within 1.2x of P.
#
# Environment (scripts/servers/start-ceph-rgw.sh start prints the first
# four):
#   S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION (default us-east-1)
#   CAIRN              the binary (default build/cairn)
#   SEC_SIZE_MIB       image size, default 256
#   SEC_ROUNDS         rounds, default 5
#   BENCH_DIR          default /var/tmp/cairn-bench-secondary
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CAIRN=${CAIRN:-$ROOT/build/cairn}
SIZE=${SEC_SIZE_MIB:-256}
ROUNDS=${SEC_ROUNDS:-5}
DIR=${BENCH_DIR:-/var/tmp/cairn-bench-secondary}
: "${S3_ENDPOINT:?set S3_ENDPOINT (scripts/servers/start-ceph-rgw.sh start prints it)}"
export AWS_ACCESS_KEY_ID=${S3_ACCESS_KEY:?} AWS_SECRET_ACCESS_KEY=${S3_SECRET_KEY:?}
REGION=${S3_REGION:-us-east-1}
export CAIRN_PASSPHRASE=bench CAIRN_KDF_MEMORY=16M CAIRN_STATE_DIR=$DIR/state
# The closed port: two attempts, no wait between them.
export CAIRN_HTTP_MAX_ATTEMPTS=2 CAIRN_HTTP_BACKOFF_MS=1

mkdir -p "$DIR"
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BUCKET=cairn-bench-secondary-$$
P="s3://$BUCKET/r?endpoint=$S3_ENDPOINT&region=$REGION"
declare -A URI=(
	[P]=$P
	[S]="s3://$BUCKET/r?endpoint=http://127.0.0.1:$DEAD&region=$REGION&secondary=$S3_ENDPOINT"
	[W]="s3://$BUCKET/r?endpoint=$S3_ENDPOINT&region=$REGION&secondary=http://127.0.0.1:$DEAD"
)

head -c "$((SIZE << 20))" /dev/urandom >"$DIR/img"
"$CAIRN" init --repo "$P" -q
"$CAIRN" backup --repo "$P" "$DIR/img" --name img --snapshot none -q >/dev/null
ID=$("$CAIRN" list --repo "$P" --json | jq -r '.[0].id')

: >"$DIR/times"
for _ in $(seq "$ROUNDS"); do
	for which in P S W; do
		rm -f "$DIR/out"
		t0=$(date +%s.%N)
		"$CAIRN" restore --repo "${URI[$which]}" "$ID" "$DIR/out" --force -q 2>/dev/null
		t1=$(date +%s.%N)
		cmp -s "$DIR/img" "$DIR/out" || { echo "$which: restore differs" >&2; exit 1; }
		echo "$which $(echo "$t1 - $t0" | bc)" >>"$DIR/times"
	done
done

median() { grep "^$1 " "$DIR/times" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mp=$(median P) ms=$(median S) mw=$(median W)
echo "restore of ${SIZE} MiB, median of $ROUNDS: primary ${mp} s, secondary ${ms} s, primary with a secondary ${mw} s"
echo "secondary/primary $(echo "scale=3; $ms / $mp" | bc)x, wrapper $(echo "scale=3; $mw / $mp" | bc)x (target: secondary within 1.2x)"
rm -rf "$DIR"
