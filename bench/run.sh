#!/bin/bash
# bench/run.sh - cairn vs restic 0.14 vs borg 1.2 on two deterministic volume
# images, in one run.  Method and numbers: docs/benchmarks.md.
#
# Images (built once, cached under BENCH_DIR, which must be on the file
# system the benchmark is about: the source images sit there and cairn makes
# its default snapshot beside them):
#   synthetic  BENCH_DIR/img       bench/make_image.sh: 4 GiB, generated files
#   real       BENCH_DIR/img-real  bench/make_real_image.sh: 2 GiB, ~1.4 GiB of
#                                  installed system files, 1% rewritten
# For each run, image and tool (fresh repositories every time):
#   full backup of base.img, incremental backup of changed.img under the same
#   path (BENCH_DIR/work/src/volume.img), restore of the latest backup to a
#   fresh file, cmp against changed.img.  Every timed step is preceded by
#   `sync; echo 3 > /proc/sys/vm/drop_caches` and a pre-read of the step's
#   input (the source image for backups, the repository for restores), so all
#   tools read their input from the page cache, and ends with `sync` inside
#   the timing.  Wall time and CPU-seconds (user + sys, /usr/bin/time) of
#   every step are recorded.
# cairn runs as a user runs it: `cairn backup SRC --name vol --json`, with
# its default snapshot mode (what it chose is recorded from --json).
# Once per image and run: the CPU floor (bench/floor.py: HMAC-SHA-256, zstd
# and AES-256-GCM throughput on this machine, on the image's own data) and
# the restore floor (dd of changed.img's bytes, oflag=direct, and buffered
# followed by sync).
# Then (cairn only) the compression sweep (BENCH_COMPRESSIONS) and, if asked,
# the chunk-size sweep: full + incremental per setting, per image.
# Prints medians as markdown tables and writes them to bench/results/latest.md
# (raw per-run values: bench/results/latest.tsv).
#
# Environment:
#   BENCH_DIR          work dir, default /var/tmp/cairn-bench
#   BENCH_IMAGES       default "synthetic real"
#   BENCH_RUNS         runs per tool, median reported (default 3)
#   BENCH_TOOLS        default "cairn restic borg-fixed borg-default cairn-s3
#                      restic-s3"; the -s3 tools back up to and restore from
#                      Ceph RGW on 127.0.0.1 (scripts/servers/start-ceph-rgw.sh,
#                      a fresh server for every tool run), cairn through
#                      s3://, restic through its S3 backend
#   BENCH_S3_IMAGES    images the -s3 tools run on, default "synthetic"
#   BENCH_S3_MEM       RGW's memstore size in bytes (default 8 GiB: objects
#                      live in RAM)
#   BENCH_COMPRESSIONS cairn compression settings swept (full + incremental,
#                      repository size), default "lz4 zstd:-1 zstd:1
#                      zstd:9" (the default, auto, is zstd at
#                      CAIRN_COMP_AUTO_LEVEL of src/compress/compress.h); each
#                      is passed as `cairn init --compression X`; a binary
#                      without --compression gets --compression-level N for
#                      zstd:N and skips the rest with a message; "" = skip
#   BENCH_FLOOR_LEVEL  the compressor the CPU floor assumes for cairn's
#                      default: a zstd level or "lz4" (default: the level
#                      `auto` uses, read from src/compress/compress.h)
#   BENCH_SWEEP        1 = cairn chunk-size sweep, 0 (default) = skip
#   BENCH_SWEEP_SIZES  default "64K 128K 256K 1M"
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
BENCH_IMAGES=${BENCH_IMAGES:-synthetic real}
BENCH_TOOLS=${BENCH_TOOLS:-cairn restic borg-fixed borg-default cairn-s3 restic-s3}
BENCH_S3_IMAGES=${BENCH_S3_IMAGES-synthetic}
BENCH_S3_MEM=${BENCH_S3_MEM:-8589934592}
BENCH_COMPRESSIONS=${BENCH_COMPRESSIONS-lz4 zstd:-1 zstd:1 zstd:9}
# auto's zstd level, from the source the binary was built from
AUTO_LEVEL=$(sed -n 's/^#define CAIRN_COMP_AUTO_LEVEL \([0-9-]*\).*/\1/p' "$ROOT/src/compress/compress.h")
BENCH_FLOOR_LEVEL=${BENCH_FLOOR_LEVEL:-${AUTO_LEVEL:-3}}
BENCH_SWEEP=${BENCH_SWEEP:-0}
BENCH_SWEEP_SIZES=${BENCH_SWEEP_SIZES:-64K 128K 256K 1M}
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
for im in $BENCH_IMAGES $BENCH_S3_IMAGES; do
  case $im in synthetic|real) ;; *) die "unknown image '$im' (synthetic real)" ;; esac
done
[[ $BENCH_FLOOR_LEVEL =~ ^(-?[0-9]+|lz4)$ ]] || die "BENCH_FLOOR_LEVEL must be a zstd level or lz4"
command -v python3 >/dev/null || die "python3 missing"

W=$BENCH_DIR/work
LOGDIR=$BENCH_DIR/logs
mkdir -p "$BENCH_DIR" "$LOGDIR" "$RESULTS"

exec 9>"$BENCH_DIR/.lock"
flock -n 9 || die "another bench run holds $BENCH_DIR/.lock"

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOG=$LOGDIR/run-$STAMP.log
RAW=$LOGDIR/run-$STAMP.tsv
: >"$LOG"
printf 'run\timage\ttool\tmetric\tvalue\n' >"$RAW"

cleanup() { s3_stop; rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

########################################################################
# Images (cached)
########################################################################
img_dir() { case $1 in synthetic) echo "$BENCH_DIR/img" ;; real) echo "$BENCH_DIR/img-real" ;; esac; }
img_script() { case $1 in synthetic) echo make_image.sh ;; real) echo make_real_image.sh ;; esac; }
IMAGES=()
for im in $BENCH_IMAGES; do
  case " ${IMAGES[*]} " in *" $im "*) ;; *) IMAGES+=("$im") ;; esac
done
for im in "${IMAGES[@]}" $BENCH_S3_IMAGES; do
  d=$(img_dir "$im")
  if [ ! -f "$d/SHA256SUMS" ] || [ ! -f "$d/base.img" ] || [ ! -f "$d/changed.img" ]; then
    say "building the $im images in $d (a few minutes; log $LOGDIR/$(img_script "$im")-$STAMP.log)"
    "$ROOT/bench/$(img_script "$im")" "$d" >"$LOGDIR/$(img_script "$im")-$STAMP.log" 2>&1 \
      || die "$(img_script "$im") failed, see $LOGDIR/$(img_script "$im")-$STAMP.log"
  fi
  # Changed bytes = number of differing 4 KiB blocks between base and
  # changed, computed once and cached next to the images (the image
  # scripts remove it).
  if [ ! -s "$d/changed_blocks.txt" ]; then
    say "counting changed 4 KiB blocks of the $im image (once)"
    python3 - "$d/base.img" "$d/changed.img" >"$d/changed_blocks.tmp" <<'PYEOF'
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
    mv "$d/changed_blocks.tmp" "$d/changed_blocks.txt"
  fi
done

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

# Put image $1 (base.img | changed.img) of the current image set ($IMG) at
# the stable source path.  A hard
# link gives the tools the same path with the image's own inode and mtime
# (so restic/borg see a modified file and re-read it); copy as a fallback.
set_source() {
  rm -f "$SRC"
  ln "$IMG/$1" "$SRC" 2>/dev/null || cp --reflink=auto --sparse=always "$IMG/$1" "$SRC"
}

# timed WARM DIR CMD... : drop caches, pre-read WARM, run CMD in DIR under
# /usr/bin/time.  Sets T_S (wall seconds), T_CPU (user + sys CPU-seconds of
# the command and the sync after it) and T_RSS (peak RSS, KiB); the
# command's stdout is left in $W/step.out.  Returns the command's status.
T_S=0 T_RSS=0 T_CPU=0
timed() {
  local warm=$1 dir=$2 rc=0
  shift 2
  drop_caches
  prewarm "$warm"
  echo "+ (cd $dir && $*)" >>"$LOG"
  # The step ends with sync inside the timing: a tool that leaves its
  # writes in the page cache pays for them like one that fsyncs.
  if (cd "$dir" && exec /usr/bin/time -f '%e %M %U %S' -o "$W/time.out" sh -c '"$@" && sync' sh "$@") \
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
  local u sy
  read -r T_S T_RSS u sy < <(tail -n 1 "$W/time.out")
  T_CPU=$(awk -v u="$u" -v s="$sy" 'BEGIN { printf "%.2f", u + s }')
  echo "  ${T_S}s ${T_CPU} CPU-s ${T_RSS}KiB" >>"$LOG"
}

rec() { printf '%s\t%s\t%s\t%s\t%s\n' "$RUN" "$IMGNAME" "$1" "$2" "$3" >>"$RAW"; }
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
    cairn-c:*) # shellcheck disable=SC2046
               "$CAIRN" init --repo "$repo" $(compression_args "${tool#cairn-c:}") ;;
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
  # cairn: its default snapshot mode, as a user runs it.
  case $tool in
    restic|restic-s3) timed "$SRC" "$W" restic -r "$repo" backup "$SRC" ;;
    cairn-s3) timed "$SRC" "$W" env CAIRN_HTTP_STATS="$W/http-$label.stats" \
                "$CAIRN" backup --repo "$repo" "$SRC" --name vol --json ;;
    borg-fixed) timed "$SRC" "$W" borg create --chunker-params fixed,65536 \
                  --compression lz4 "$repo::$label" "$SRC" ;;
    borg-default) timed "$SRC" "$W" borg create --compression lz4 "$repo::$label" "$SRC" ;;
    cairn*) timed "$SRC" "$W" "$CAIRN" backup --repo "$repo" "$SRC" --name vol --json ;;
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
    # --sparse: borg 1.2 leaves zero chunks as holes, as cairn does
    # (restic 0.14 has no such option and writes the zeros).
    borg-*) timed "$repo" "$dest" borg extract --sparse "$repo::incr" || return ;;
    cairn*) timed "$repo" "$dest" "$CAIRN" restore --repo "$repo" latest "$dest/volume.img" || return ;;
  esac
  RESTORED=$(find "$dest" -type f -name volume.img -print -quit)
}

# One full + incremental (+ restore/verify unless $3 = norestore) of a tool
# on the current image set.
bench_tool() {
  local tool=$1 chunk=${2:-} mode=${3:-full} repo=$W/repo-${1//:/-} dest=$W/restore
  local full_b both_b full_s rss=0 s3=0 req
  rm -rf "$repo" "$dest" "${W:?}/home"   # fresh repository, caches and state
  mkdir -p "$W/home"
  say "run $RUN/$BENCH_RUNS, $IMGNAME image: $tool"
  if [[ $tool == *-s3 ]]; then
    s3=1
    s3_start || { say "  Ceph RGW did not start, see $LOG"; return 1; }
    repo=$(s3_repo "$tool")
  fi
  tool_init "$tool" "$repo" "$chunk" || { say "  init failed, see $LOG"; return 1; }

  set_source base.img
  tool_backup "$tool" "$repo" full || return 1
  full_s=$T_S; rec "$tool" full_s "$T_S"; rec "$tool" full_cpu "$T_CPU"
  rss=$((T_RSS > rss ? T_RSS : rss))
  if [ $s3 = 1 ]; then
    full_b=$(s3_bucket_bytes "$(s3_bucket "$tool")")
  else
    full_b=$(repo_bytes "$repo")
  fi
  rec "$tool" repo_full_b "$full_b"
  if [[ $tool == cairn* ]]; then
    rec "$tool" full_stored_b "$(cairn_json bytes_stored)"
    rec "$tool" full_snapshot "$(cairn_json snapshot)"
    rec "$tool" full_snapshot_s "$(cairn_json snapshot_seconds)"
    rec "$tool" full_consistency "$(cairn_json consistency)"
  fi
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
  rec "$tool" incr_s "$T_S"; rec "$tool" incr_cpu "$T_CPU"
  rss=$((T_RSS > rss ? T_RSS : rss))
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
    rec "$tool" incr_snapshot "$(cairn_json snapshot)"
    rec "$tool" incr_consistency "$(cairn_json consistency)"
  fi
  say "  full ${full_s}s (repo ${full_b} B), incremental ${T_S}s (+$((both_b - full_b)) B)"

  if [ "$mode" = full ]; then
    tool_restore "$tool" "$repo" "$dest" || return 1
    rec "$tool" restore_s "$T_S"; rec "$tool" restore_cpu "$T_CPU"
    rss=$((T_RSS > rss ? T_RSS : rss))
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

# The floors of the current image set, once per run: bench/floor.py's CPU
# floor (recorded under the pseudo-tool "floor") and the time dd takes to
# write changed.img's bytes in 1 MiB writes (all-zero MiBs skipped, as the
# tools leave holes; 64 KiB O_DIRECT writes, one at a time, would make a
# floor far below what the disk can do), with O_DIRECT and buffered, each
# followed by sync in the timing.
bench_floor() {
  local k v
  say "run $RUN/$BENCH_RUNS, $IMGNAME image: CPU and restore floors"
  python3 "$ROOT/bench/floor.py" "$IMG/base.img" "$W" "$FLOOR_LEVELS" >"$W/floor.out" 2>>"$LOG" \
    || { say "  floor.py failed, see $LOG"; return 1; }
  cat "$W/floor.out" >>"$LOG"
  while IFS='=' read -r k v; do rec floor "$k" "$v"; done <"$W/floor.out"
  rec floor level "$BENCH_FLOOR_LEVEL"
  rm -f "$W/dd.img"
  timed "$IMG/changed.img" "$W" dd if="$IMG/changed.img" of="$W/dd.img" bs=1M conv=sparse oflag=direct status=none \
    || return 1
  rec floor dd_direct_s "$T_S"
  rm -f "$W/dd.img"
  timed "$IMG/changed.img" "$W" dd if="$IMG/changed.img" of="$W/dd.img" bs=1M conv=sparse status=none || return 1
  rec floor dd_buffered_s "$T_S"
  rm -f "$W/dd.img"
}

# Arguments of `cairn init` for compression setting $1, or nothing (status
# 1) when this binary cannot do it.
HAS_COMPRESSION=0 HAS_LEVEL=0
compression_args() {
  if [ "$HAS_COMPRESSION" = 1 ]; then
    echo "--compression $1"
  elif [ "$HAS_LEVEL" = 1 ] && [[ $1 =~ ^zstd:(-?[0-9]+)$ ]]; then
    echo "--compression-level ${BASH_REMATCH[1]}"
  else
    return 1
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
[ "${#TOOLS[@]}" -gt 0 ] || die "no tool to run"
HAVE_CAIRN=0
[[ " ${TOOLS[*]} " != *" cairn "* ]] || HAVE_CAIRN=1
SWEEP=()
if [ "$BENCH_SWEEP" != 0 ] && [ $HAVE_CAIRN = 1 ]; then
  read -ra SWEEP <<<"$BENCH_SWEEP_SIZES"
fi
COMPS=()
if [ $HAVE_CAIRN = 1 ] && [ -n "$BENCH_COMPRESSIONS" ]; then
  ihelp=$("$CAIRN" init --help 2>&1 || true)
  if grep -qE -- '--compression([^-]|$)' <<<"$ihelp"; then HAS_COMPRESSION=1; fi
  if grep -q -- '--compression-level' <<<"$ihelp"; then HAS_LEVEL=1; fi
  for c in $BENCH_COMPRESSIONS; do
    if compression_args "$c" >/dev/null; then
      COMPS+=("$c")
    else
      say "SKIPPING compression '$c': $CAIRN has no 'init --compression' (only --compression-level N for zstd:N)"
    fi
  done
fi
# The floor's compressor: cairn's default, and the swept ones for reference.
FLOOR_LEVELS=1
[ "$BENCH_FLOOR_LEVEL" = lz4 ] || FLOOR_LEVELS=$BENCH_FLOOR_LEVEL
for c in "${COMPS[@]}"; do
  if [[ $c =~ ^zstd:(-?[0-9]+)$ ]] && [[ " $FLOOR_LEVELS " != *" ${BASH_REMATCH[1]} "* ]]; then
    FLOOR_LEVELS="$FLOOR_LEVELS ${BASH_REMATCH[1]}"
  fi
done

{
  echo "date: $STAMP"
  echo "command: $(for v in BENCH_IMAGES BENCH_RUNS BENCH_TOOLS BENCH_S3_IMAGES BENCH_COMPRESSIONS BENCH_FLOOR_LEVEL BENCH_SWEEP BENCH_CACHE; do printf '%s="%s" ' "$v" "${!v}"; done)bench/run.sh"
  echo "host: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "kernel: $(uname -r); BENCH_DIR on $(df -T "$BENCH_DIR" | awk 'NR==2 {print $2}')"
  for t in "${TOOLS[@]}"; do
    case $t in
      restic|restic-s3) echo "restic: $(restic version | head -n 1)" ;;
      cairn-s3) echo "s3: Ceph RGW $(radosgw --version 2>/dev/null | awk '{print $3}') on 127.0.0.1, memstore OSD" ;;
      borg-*) echo "borg: $(borg --version)" ;;
      cairn) echo "cairn: $("$CAIRN" --version 2>/dev/null | head -n 1 || true) ($CAIRN)" | sed "s/^cairn:  (/cairn: version unknown (/" ;;
    esac
  done | sort -u
  echo "openssl: $(openssl version); zstd: $(zstd -V | head -n 1)"
  echo "runs: $BENCH_RUNS (medians), cache: $BENCH_CACHE"
  for im in "${IMAGES[@]}"; do
    d=$(img_dir "$im")
    echo "image $im: $(paste -sd' ' "$d/SHA256SUMS")"
    read -r cb cbytes <"$d/changed_blocks.txt"
    echo "changed $im: $cb blocks of 4 KiB = $cbytes bytes"
  done
} >"$LOGDIR/run-$STAMP.meta"
say "images: ${IMAGES[*]}; tools: ${TOOLS[*]}; compressions: ${COMPS[*]:-none}; chunk sweep: ${SWEEP[*]:-off}; runs: $BENCH_RUNS; cache: $BENCH_CACHE; log: $LOG"

for ((RUN = 1; RUN <= BENCH_RUNS; RUN++)); do
  for IMGNAME in "${IMAGES[@]}"; do
    IMG=$(img_dir "$IMGNAME")
    if [ $HAVE_CAIRN = 1 ]; then
      bench_floor || { rec floor failed 1; say "  floor failed in run $RUN (see $LOG)"; }
    fi
    for t in "${TOOLS[@]}"; do
      if [[ $t == *-s3 ]] && [[ " $BENCH_S3_IMAGES " != *" $IMGNAME "* ]]; then
        continue
      fi
      bench_tool "$t" || { rec "$t" failed 1; say "  $t failed in run $RUN (see $LOG)"; }
      rm -rf "$W/repo-$t" "$W/restore"
    done
    for c in "${COMPS[@]}"; do
      bench_tool "cairn-c:$c" "" norestore || { rec "cairn-c:$c" failed 1; say "  cairn-c:$c failed in run $RUN (see $LOG)"; }
      rm -rf "$W/repo-cairn-c-${c//:/-}"
    done
    for cs in "${SWEEP[@]}"; do
      bench_tool "cairn-$cs" "$cs" norestore || { rec "cairn-$cs" failed 1; say "  cairn-$cs failed in run $RUN (see $LOG)"; }
      rm -rf "$W/repo-cairn-$cs"
    done
  done
done

python3 "$ROOT/bench/summarize.py" "$RAW" "$LOGDIR/run-$STAMP.meta" >"$RESULTS/latest.md.tmp"
mv "$RESULTS/latest.md.tmp" "$RESULTS/latest.md"
cp "$RAW" "$RESULTS/latest.tsv"
cat "$RESULTS/latest.md"
say "wrote $RESULTS/latest.md and latest.tsv; full log $LOG"
