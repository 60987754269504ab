#!/bin/bash
# bench/run.sh - cairn vs restic 0.14 vs borg 1.2 on one deterministic volume
# image, in one run.  Method and numbers: docs/benchmarks.md.
#
# For each tool and each of BENCH_RUNS runs (fresh repositories every run):
#   full backup of base.img, incremental backup of changed.img under the same
#   path (BENCH_DIR/work/src/volume.img), restore of the latest backup to a
#   fresh file, cmp against changed.img.  Every timed step is preceded by
#   `sync; echo 3 > /proc/sys/vm/drop_caches` and a pre-read of the step's
#   input (the source image for backups, the repository for restores), so all
#   tools read their input from the page cache.
# Then (cairn only) a chunk-size sweep: full + incremental per chunk size.
# Prints medians as markdown tables and writes them to bench/results/latest.md
# (raw per-run values: bench/results/latest.tsv).
#
# Environment:
#   BENCH_DIR          work dir, default /var/tmp/cairn-bench (images cached in
#                      BENCH_DIR/img, rebuilt only when missing)
#   BENCH_RUNS         runs per tool, median reported (default 3)
#   BENCH_TOOLS        default "cairn restic borg-fixed borg-default cairn-s3
#                      restic-s3"; the -s3 tools back up to and restore from
#                      Ceph RGW on 127.0.0.1 (scripts/servers/start-ceph-rgw.sh,
#                      a fresh server for every tool run), cairn through
#                      s3://, restic through its S3 backend
#   BENCH_S3_MEM       RGW's memstore size in bytes (default 8 GiB: objects
#                      live in RAM)
#   BENCH_SWEEP        1 (default) = cairn chunk-size sweep, 0 = skip
#   BENCH_SWEEP_SIZES  default "64K 128K 256K 1M"
#   BENCH_ZSTD_LEVELS  cairn zstd levels swept with the default chunk size,
#                      default "-3 -1 1 3" ("" = skip; needs BENCH_SWEEP=1)
#   BENCH_CACHE        warm (default): drop caches, then pre-read the step's
#                      input; cold: drop caches only (input read from disk)
#   CAIRN              cairn binary, default build/cairn
#   BENCH_RESULTS      results dir, default bench/results
#
# Nothing outside BENCH_DIR and BENCH_RESULTS is written: HOME, XDG_*,
# TMPDIR and CAIRN_STATE_DIR point into BENCH_DIR/work and are wiped before
# each tool run (restic cache, borg cache and security dirs, restic temp packs).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/cairn-bench}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_TOOLS=${BENCH_TOOLS:-cairn restic borg-fixed borg-default cairn-s3 restic-s3}
BENCH_S3_MEM=${BENCH_S3_MEM:-8589934592}
BENCH_SWEEP=${BENCH_SWEEP:-1}
BENCH_SWEEP_SIZES=${BENCH_SWEEP_SIZES:-64K 128K 256K 1M}
BENCH_ZSTD_LEVELS=${BENCH_ZSTD_LEVELS:--3 -1 1 3}
BENCH_CACHE=${BENCH_CACHE:-warm}
CAIRN=${CAIRN:-$ROOT/build/cairn}
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results}

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

case $BENCH_DIR in
  /*) ;;
  *) die "BENCH_DIR must be an absolute path (got '$BENCH_DIR')" ;;
esac
[ "$(cd / && realpath -m "$BENCH_DIR")" != / ] || die "refusing BENCH_DIR=/"
[[ $BENCH_RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
case $BENCH_CACHE in warm|cold) ;; *) die "BENCH_CACHE must be warm or cold" ;; esac
[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install -y time)"
command -v python3 >/dev/null || die "python3 missing"

IMG=$BENCH_DIR/img
W=$BENCH_DIR/work
LOGDIR=$BENCH_DIR/logs
mkdir -p "$BENCH_DIR" "$LOGDIR" "$RESULTS"

exec 9>"$BENCH_DIR/.lock"
flock -n 9 || die "another bench run holds $BENCH_DIR/.lock"

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOG=$LOGDIR/run-$STAMP.log
RAW=$LOGDIR/run-$STAMP.tsv
: >"$LOG"
printf 'run\ttool\tmetric\tvalue\n' >"$RAW"

cleanup() { s3_stop; rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

########################################################################
# Images (cached)
########################################################################
if [ ! -f "$IMG/SHA256SUMS" ] || [ ! -f "$IMG/base.img" ] || [ ! -f "$IMG/changed.img" ]; then
  say "building images in $IMG (a few minutes; log $LOGDIR/make_image-$STAMP.log)"
  "$ROOT/bench/make_image.sh" "$IMG" >"$LOGDIR/make_image-$STAMP.log" 2>&1 \
    || die "make_image.sh failed, see $LOGDIR/make_image-$STAMP.log"
else
  say "using cached images in $IMG"
fi

# Changed bytes = number of differing 4 KiB blocks between base and changed,
# computed once and cached next to the images (make_image.sh removes it).
if [ ! -s "$IMG/changed_blocks.txt" ]; then
  say "counting changed 4 KiB blocks (once)"
  python3 - "$IMG/base.img" "$IMG/changed.img" >"$IMG/changed_blocks.tmp" <<'PYEOF'
import sys
BS, CH = 4096, 16 << 20
n = 0
with open(sys.argv[1], 'rb') as a, open(sys.argv[2], 'rb') as b:
    while True:
        x, y = a.read(CH), b.read(CH)
        if not x and not y:
            break
        if x == y:
            continue
        for i in range(0, max(len(x), len(y)), BS):
            if x[i:i + BS] != y[i:i + BS]:
                n += 1
print(n, n * BS)
PYEOF
  mv "$IMG/changed_blocks.tmp" "$IMG/changed_blocks.txt"
fi
read -r CHANGED_BLOCKS CHANGED_BYTES <"$IMG/changed_blocks.txt"

########################################################################
# Environment of the tools: everything under $W
########################################################################
rm -rf "$W"
mkdir -p "$W/src" "$W/home" "$W/tmp"
export HOME=$W/home XDG_CACHE_HOME=$W/home/.cache XDG_CONFIG_HOME=$W/home/.config
export XDG_DATA_HOME=$W/home/.local/share TMPDIR=$W/tmp
export RESTIC_PASSWORD=cairn-bench-passphrase
export BORG_PASSPHRASE=cairn-bench-passphrase
export CAIRN_PASSPHRASE=cairn-bench-passphrase CAIRN_STATE_DIR=$W/home/cairn-state
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_CHECK_I_KNOW_WHAT_I_AM_DOING=NO BORG_DELETE_I_KNOW_WHAT_I_AM_DOING=NO
SRC=$W/src/volume.img

# Drop the page cache (needs root; warn once otherwise).
DROP_WARNED=0
drop_caches() {
  sync
  if [ -w /proc/sys/vm/drop_caches ]; then
    echo 3 >/proc/sys/vm/drop_caches
  elif [ "$DROP_WARNED" = 0 ]; then
    say "WARNING: cannot write /proc/sys/vm/drop_caches (not root?); caches not dropped"
    DROP_WARNED=1
  fi
}

# Pre-read a file or every file of a directory into the page cache
# (BENCH_CACHE=warm only).
prewarm() {
  if [ "$BENCH_CACHE" = cold ]; then
    return 0
  elif [ -d "$1" ]; then
    find "$1" -type f -exec cat {} + >/dev/null
  else
    cat "$1" >/dev/null
  fi
}

# Put image $1 (base.img | changed.img) at the stable source path.  A hard
# link gives the tools the same path with the image's own inode and mtime
# (so restic/borg see a modified file and re-read it); copy as a fallback.
set_source() {
  rm -f "$SRC"
  ln "$IMG/$1" "$SRC" 2>/dev/null || cp --reflink=auto --sparse=always "$IMG/$1" "$SRC"
}

# timed WARM DIR CMD... : drop caches, pre-read WARM, run CMD in DIR under
# /usr/bin/time.  Sets T_S (wall seconds) and T_RSS (peak RSS, KiB); the
# command's stdout is left in $W/step.out.  Returns the command's status.
T_S=0 T_RSS=0
timed() {
  local warm=$1 dir=$2 rc=0
  shift 2
  drop_caches
  prewarm "$warm"
  echo "+ (cd $dir && $*)" >>"$LOG"
  # The step ends with sync inside the timing: a tool that leaves its
  # writes in the page cache pays for them like one that fsyncs.
  if (cd "$dir" && exec /usr/bin/time -f '%e %M' -o "$W/time.out" sh -c '"$@" && sync' sh "$@") \
       >"$W/step.out" 2>"$W/step.err"; then
    rc=0
  else
    rc=$?
  fi
  cat "$W/step.out" "$W/step.err" >>"$LOG"
  if [ "$rc" != 0 ]; then
    echo "  exit status $rc" >>"$LOG"
    say "  FAILED (exit $rc): $*"
    tail -n 5 "$W/step.err" | sed 's/^/    /' >&2
    return "$rc"
  fi
  read -r T_S T_RSS < <(tail -n 1 "$W/time.out")
  echo "  ${T_S}s ${T_RSS}KiB" >>"$LOG"
}

rec() { printf '%s\t%s\t%s\t%s\n' "$RUN" "$1" "$2" "$3" >>"$RAW"; }
repo_bytes() { du -sb "$1" | cut -f1; }

# Field of the (last) JSON object in the cairn backup output $W/step.out;
# one-line or pretty-printed.
cairn_json() {
  python3 - "$1" "$W/step.out" <<'PYEOF'
import json, sys
text, dec, obj, i = open(sys.argv[2]).read(), json.JSONDecoder(), {}, 0
while True:
    i = text.find('{', i)
    if i < 0:
        break
    try:
        o, end = dec.raw_decode(text, i)
    except ValueError:
        i += 1
        continue
    if isinstance(o, dict):
        obj = o
    i = end
print(obj.get(sys.argv[1], ''))
PYEOF
}

########################################################################
# S3: a throw-away Ceph RGW on 127.0.0.1 per tool run (same fresh server
# for cairn and restic; objects in RAM, so the repository is not on disk)
########################################################################
S3_DIR=$BENCH_DIR/rgw
S3_UP=0
S3_ENDPOINT=
s3_stop() {
  if [ "$S3_UP" = 1 ]; then
    CEPH_RGW_DIR=$S3_DIR "$ROOT/scripts/servers/start-ceph-rgw.sh" stop >>"$LOG" 2>&1 || true
    S3_UP=0
  fi
}
s3_start() {
  local port env
  s3_stop
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  S3_UP=1
  env=$(CEPH_RGW_DIR=$S3_DIR CEPH_RGW_PORT=$port CEPH_MON_PORT=$((port == 65535 ? port - 1 : port + 1)) \
        CEPH_RGW_MEM=$BENCH_S3_MEM "$ROOT/scripts/servers/start-ceph-rgw.sh" start 2>>"$LOG") || return 1
  S3_ENDPOINT=$(echo "$env" | sed -n 's/^S3_ENDPOINT=//p')
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  AWS_ACCESS_KEY_ID=$(echo "$env" | sed -n 's/^S3_ACCESS_KEY=//p')
  AWS_SECRET_ACCESS_KEY=$(echo "$env" | sed -n 's/^S3_SECRET_KEY=//p')
  [ -n "$S3_ENDPOINT" ]
}
# Bytes the bucket holds (RGW's own accounting, so both tools are measured
# the same way).
s3_bucket_bytes() {
  CEPH_CONF=$S3_DIR/ceph.conf radosgw-admin bucket stats --bucket="$1" 2>>"$LOG" | python3 -c '
import json, sys
u = json.load(sys.stdin).get("usage", {})
print(sum(v.get("size", 0) for v in u.values()))'
}
s3_repo() { # tool -> repository URI
  case $1 in
    cairn-s3) echo "s3://bench-cairn/repo?endpoint=$S3_ENDPOINT&region=us-east-1" ;;
    restic-s3) echo "s3:$S3_ENDPOINT/bench-restic" ;;
  esac
}
s3_bucket() { case $1 in cairn-s3) echo bench-cairn ;; restic-s3) echo bench-restic ;; esac; }

########################################################################
# Tool adapters: init REPO [CHUNK]; backup REPO LABEL; restore REPO DEST
########################################################################
tool_init() {
  local tool=$1 repo=$2 chunk=${3:-}
  case $tool in
    restic|restic-s3) restic -r "$repo" init ;;
    borg-*) borg init -e repokey "$repo" ;;
    cairn-z*) "$CAIRN" init --repo "$repo" --compression-level "${tool#cairn-z}" ;;
    cairn*) if [ -n "$chunk" ]; then
              "$CAIRN" init --repo "$repo" --chunk-size "$chunk"
            else
              "$CAIRN" init --repo "$repo"
            fi ;;
    *) die "unknown tool $tool" ;;
  esac >>"$LOG" 2>&1
}

tool_backup() {
  local tool=$1 repo=$2 label=$3
  # cairn: --snapshot none, as restic and borg read the live file too (the
  # image is on ext4 here, where a snapshot would be a full copy).
  case $tool in
    restic|restic-s3) timed "$SRC" "$W" restic -r "$repo" backup "$SRC" ;;
    cairn-s3) timed "$SRC" "$W" env CAIRN_HTTP_STATS="$W/http-$label.stats" \
                "$CAIRN" backup --repo "$repo" "$SRC" --name vol --json --snapshot none ;;
    borg-fixed) timed "$SRC" "$W" borg create --chunker-params fixed,65536 \
                  --compression lz4 "$repo::$label" "$SRC" ;;
    borg-default) timed "$SRC" "$W" borg create --compression lz4 "$repo::$label" "$SRC" ;;
    cairn*) timed "$SRC" "$W" "$CAIRN" backup --repo "$repo" "$SRC" --name vol --json --snapshot none ;;
  esac
}

# Restores the latest backup below DEST; sets RESTORED to the file's path.
RESTORED=
tool_restore() {
  local tool=$1 repo=$2 dest=$3
  RESTORED=
  mkdir -p "$dest"
  case $tool in
    restic) timed "$repo" "$dest" restic -r "$repo" restore latest --target "$dest" || return ;;
    # The S3 repository lives in the server's memory: nothing to pre-read.
    restic-s3) timed /dev/null "$dest" restic -r "$repo" restore latest --target "$dest" || return ;;
    cairn-s3) timed /dev/null "$dest" "$CAIRN" restore --repo "$repo" latest "$dest/volume.img" || return ;;
    borg-*) timed "$repo" "$dest" borg extract "$repo::incr" || return ;;
    cairn*) timed "$repo" "$dest" "$CAIRN" restore --repo "$repo" latest "$dest/volume.img" || return ;;
  esac
  RESTORED=$(find "$dest" -type f -name volume.img -print -quit)
}

# One full + incremental (+ restore/verify unless $3 = norestore) of a tool.
bench_tool() {
  local tool=$1 chunk=${2:-} mode=${3:-full} repo=$W/repo-$1 dest=$W/restore
  local full_b both_b full_s rss=0 s3=0 req
  rm -rf "$repo" "$dest" "${W:?}/home"   # fresh repository, caches and state
  mkdir -p "$W/home"
  say "run $RUN/$BENCH_RUNS: $tool"
  if [[ $tool == *-s3 ]]; then
    s3=1
    s3_start || { say "  Ceph RGW did not start, see $LOG"; return 1; }
    repo=$(s3_repo "$tool")
  fi
  tool_init "$tool" "$repo" "$chunk" || { say "  init failed, see $LOG"; return 1; }

  set_source base.img
  tool_backup "$tool" "$repo" full || return 1
  full_s=$T_S; rec "$tool" full_s "$T_S"; rss=$((T_RSS > rss ? T_RSS : rss))
  if [ $s3 = 1 ]; then
    full_b=$(s3_bucket_bytes "$(s3_bucket "$tool")")
  else
    full_b=$(repo_bytes "$repo")
  fi
  rec "$tool" repo_full_b "$full_b"
  if [[ $tool == cairn* ]]; then rec "$tool" full_stored_b "$(cairn_json bytes_stored)"; fi
  if [ "$tool" = cairn-s3 ] && [ -s "$W/http-full.stats" ]; then
    # Requests per stored MiB of the full backup (DESIGN: few, large objects).
    req=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["requests"])' \
          "$W/http-full.stats")
    rec "$tool" full_requests "$req"
    rec "$tool" requests_per_mib "$(python3 -c 'import sys; print("%.3f" % (int(sys.argv[1]) / (int(sys.argv[2]) / 1048576)))' \
                                   "$req" "$full_b")"
  fi

  set_source changed.img
  tool_backup "$tool" "$repo" incr || return 1
  rec "$tool" incr_s "$T_S"; rss=$((T_RSS > rss ? T_RSS : rss))
  if [ $s3 = 1 ]; then
    both_b=$(s3_bucket_bytes "$(s3_bucket "$tool")")
  else
    both_b=$(repo_bytes "$repo")
  fi
  rec "$tool" repo_both_b "$both_b"
  rec "$tool" added_b "$((both_b - full_b))"
  if [[ $tool == cairn* ]]; then
    rec "$tool" incr_stored_b "$(cairn_json bytes_stored)"
    rec "$tool" incr_new_b "$(cairn_json bytes_new)"
    rec "$tool" incr_change_tracking "$(cairn_json change_tracking)"
  fi
  say "  full ${full_s}s (repo ${full_b} B), incremental ${T_S}s (+$((both_b - full_b)) B)"

  if [ "$mode" = full ]; then
    tool_restore "$tool" "$repo" "$dest" || return 1
    rec "$tool" restore_s "$T_S"; rss=$((T_RSS > rss ? T_RSS : rss))
    if [ -n "$RESTORED" ] && cmp -s "$RESTORED" "$IMG/changed.img"; then
      rec "$tool" verify ok
      say "  restore ${T_S}s, verify ok"
    else
      rec "$tool" verify FAIL
      say "  restore ${T_S}s, verify FAILED (restored file: ${RESTORED:-none})"
    fi
  fi
  rec "$tool" rss_kib "$rss"
  if [ $s3 = 1 ]; then
    s3_stop
    rm -rf "$dest"
  else
    rm -rf "$repo" "$dest"
  fi
}

########################################################################
# Main
########################################################################
TOOLS=()
for t in $BENCH_TOOLS; do
  case $t in
    restic) command -v restic >/dev/null || die "restic not installed" ;;
    cairn-s3|restic-s3)
           command -v radosgw >/dev/null || die "$t needs Ceph RGW (scripts/install-deps servers)"
           if [ "$t" = cairn-s3 ] && [ ! -x "$CAIRN" ]; then
             say "SKIPPING cairn-s3: binary $CAIRN not found (run 'make' first)"
             continue
           fi
           command -v restic >/dev/null || die "restic not installed" ;;
    borg-fixed|borg-default) command -v borg >/dev/null || die "borg not installed" ;;
    cairn) if [ ! -x "$CAIRN" ]; then
             say "SKIPPING cairn: binary $CAIRN not found (run 'make' first)"
             continue
           fi ;;
    *) die "unknown tool '$t' in BENCH_TOOLS (cairn restic borg-fixed borg-default cairn-s3 restic-s3)" ;;
  esac
  TOOLS+=("$t")
done
SWEEP=()
if [ "$BENCH_SWEEP" != 0 ] && [[ " ${TOOLS[*]} " == *" cairn "* ]]; then
  read -ra SWEEP <<<"$BENCH_SWEEP_SIZES"
fi
[ "${#TOOLS[@]}" -gt 0 ] || die "no tool to run"

{
  echo "date: $STAMP"
  echo "host: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "kernel: $(uname -r)"
  for t in "${TOOLS[@]}"; do
    case $t in
      restic|restic-s3) echo "restic: $(restic version | head -n 1)" ;;
      cairn-s3) echo "s3: Ceph RGW $(radosgw --version 2>/dev/null | awk '{print $3}') on 127.0.0.1, memstore OSD" ;;
      borg-*) echo "borg: $(borg --version)" ;;
      cairn) echo "cairn: $("$CAIRN" --version 2>/dev/null | head -n 1 || true) ($CAIRN)" | sed "s/^cairn:  (/cairn: version unknown (/" ;;
    esac
  done | sort -u
  echo "runs: $BENCH_RUNS (medians), cache: $BENCH_CACHE"
  echo "image: $(paste -sd' ' "$IMG/SHA256SUMS")"
  echo "changed: $CHANGED_BLOCKS blocks of 4 KiB = $CHANGED_BYTES bytes"
} >"$LOGDIR/run-$STAMP.meta"
say "tools: ${TOOLS[*]}; sweep: ${SWEEP[*]:-off}; runs: $BENCH_RUNS; cache: $BENCH_CACHE; log: $LOG"

for ((RUN = 1; RUN <= BENCH_RUNS; RUN++)); do
  for t in "${TOOLS[@]}"; do
    bench_tool "$t" || { rec "$t" failed 1; say "  $t failed in run $RUN (see $LOG)"; }
    rm -rf "$W/repo-$t" "$W/restore"
  done
  for cs in "${SWEEP[@]}"; do
    bench_tool "cairn-$cs" "$cs" norestore || { rec "cairn-$cs" failed 1; say "  cairn-$cs failed in run $RUN (see $LOG)"; }
    rm -rf "$W/repo-cairn-$cs"
  done
  if [ "${#SWEEP[@]}" -gt 0 ]; then
    for zl in $BENCH_ZSTD_LEVELS; do
      bench_tool "cairn-z$zl" "" norestore || { rec "cairn-z$zl" failed 1; say "  cairn-z$zl failed in run $RUN (see $LOG)"; }
      rm -rf "$W/repo-cairn-z$zl"
    done
  fi
done

python3 "$ROOT/bench/summarize.py" "$RAW" "$LOGDIR/run-$STAMP.meta" >"$RESULTS/latest.md.tmp"
mv "$RESULTS/latest.md.tmp" "$RESULTS/latest.md"
cp "$RAW" "$RESULTS/latest.tsv"
cat "$RESULTS/latest.md"
say "wrote $RESULTS/latest.md and latest.tsv; full log $LOG"
