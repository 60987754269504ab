#!/bin/bash
# t19: secrets stay home: children's environment, repository permissions,
# core dumps, the passphrase's work factor, bounded key objects.
. "$(dirname "$0")/lib.sh"

ENV_C=$E2E_DIR/../../src/util/env.c

# The secret variables, as src/util/env.c lists them (one name a line).
secret_names()
{
	[ -f "$ENV_C" ] || fail "cannot find $ENV_C (the list of secret variables)"
	sed -n '/^const char \*const cairn_env_secrets\[\]/,/NULL/p' "$ENV_C" | grep -o '"[A-Z0-9_]*"' | tr -d '"'
}

# Exports every secret variable as "e2e-secret-NAME-<random>", the
# repository passphrase included (init with it).
set_secrets()
{
	local n tag
	tag=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
	for n in $(secret_names); do
		export "$n=e2e-secret-$n-$tag"
	done
	[ "$(secret_names | wc -l)" -ge 10 ] || fail "only $(secret_names | wc -l) secret names found in $ENV_C"
}

# no_secret_in FILE: no value of a secret variable appears in FILE.
no_secret_in()
{
	local n
	[ -s "$1" ] || fail "$1 is empty: the hook did not run"
	for n in $(secret_names); do
		! grep -aqF -- "${!n}" "$1" || fail "$1 holds the value of $n"
	done
}

t_hook_env()
{
	set_secrets
	export E2E_PLAIN=plain-setting-kept
	new_repo repo
	truncate -s 4M a.img
	cairn group create app --volume "$TT/a.img" --pre-hook "env >$TT/pre.env" --post-hook "env >$TT/post.env" -q
	cairn group backup app --repo "$TT/repo" -q >/dev/null
	no_secret_in pre.env
	no_secret_in post.env
	# What hooks should see is still there.
	grep -qx 'E2E_PLAIN=plain-setting-kept' pre.env || fail "the hook lost a plain variable"
	grep -qx 'CAIRN_GROUP=app' pre.env || fail "the hook has no CAIRN_GROUP"
	grep -qx 'CAIRN_HOOK=post' post.env || fail "the post-hook has no CAIRN_HOOK=post"
	# The same from a policy run by the daemon, whose job is a cairn
	# process that gets the passphrase from the daemon.
	rm -f pre.env post.env
	cairn policy create nightly --group app --repo "$TT/repo" --every 1h -q
	cairn daemon --once -q
	[ "$(cairn list --repo "$TT/repo" --json | jq length)" = 2 ] || fail "the daemon's group backup did not run"
	no_secret_in pre.env
	no_secret_in post.env
}
test_case "hooks (run by hand and by the daemon) see no secret variable" t_hook_env

# private DIR STEP: nothing below DIR (DIR included) is readable, writable
# or searchable by group or others.
private()
{
	local open
	open=$(find "$1" -perm /077 -printf '%m %p\n' | head -n 5 | tr '\n' '|')
	[ -z "$open" ] || fail "after $2, not private: $open"
	[ "$(find "$1" | wc -l)" -gt 1 ] || fail "after $2, $1 is empty"
}

t_repo_private()
{
	umask 022
	export CAIRN_STATE_DIR=$TT/state
	cairn init --repo "$TT/sub/repo" -q
	private sub init
	mk_image img 16 19 4
	cairn backup --repo sub/repo -q img >id1
	scatter_write img 20 50 >/dev/null
	cairn backup --repo sub/repo -q img >id2
	private sub/repo backups
	CAIRN_NEW_PASSPHRASE='another passphrase' cairn key add --repo sub/repo >/dev/null
	cairn hold --repo sub/repo "$(cat id1)" --reason keep -q
	private sub/repo "key add, hold"
	cairn release --repo sub/repo "$(cat id1)" -q
	cairn forget --repo sub/repo --keep-last 1 -q
	cairn prune --repo sub/repo --max-unused 0% -q
	private sub/repo "forget, prune"
	cairn repair index --repo sub/repo -q
	private sub/repo "repair index"
	cairn check --repo sub/repo --read-data -q
	[ "$(find sub/repo -type f -path '*/keys/*' | wc -l)" = 2 ] || fail "expected two key objects"
	# The state: the database, the change-tag cache, credentials' key.
	CAIRN_S3_SECRET_KEY=x cairn cred create --provider s3 --s3-access-key AKIAE2E --s3-region r -q >/dev/null
	private state "backups and cred create"
	ls state/state.db state/secret.key >/dev/null
	find state -name '*.tags' | grep -q . || fail "no change-tag cache in the state directory"
}
test_case "repositories and state are private under umask 022 (init, backup, hold, forget, prune, repair)" t_repo_private

# master_key REPO PASSPHRASE: the hex of the repository's master key,
# unwrapped from its key objects (format.h KEY OBJECT) with the libcrypto
# cairn uses (ctypes), so the test needs nothing else installed.
master_key()
{
	python3 - "$1" "$2" <<'EOF'
import ctypes, ctypes.util, glob, hashlib, os, sys
repo, pw = sys.argv[1], sys.argv[2].encode()
lc = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
vp, cp, ip = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
lc.EVP_CIPHER_CTX_new.restype = vp
lc.EVP_aes_256_gcm.restype = vp
lc.EVP_DecryptInit_ex.argtypes = [vp, vp, vp, cp, cp]
lc.EVP_DecryptUpdate.argtypes = [vp, vp, ctypes.POINTER(ip), cp, ip]
lc.EVP_CIPHER_CTX_ctrl.argtypes = [vp, ip, ip, cp]
lc.EVP_DecryptFinal_ex.argtypes = [vp, vp, ctypes.POINTER(ip)]
lc.EVP_CIPHER_CTX_free.argtypes = [vp]
for k in sorted(glob.glob(os.path.join(repo, "keys", "*"))):
    d = open(k, "rb").read()
    if len(d) != 116 or d[:8] != b"CAIRNKEY":
        continue
    n, r, p = 1 << d[12], d[13], d[14]
    kek = hashlib.scrypt(pw, salt=d[16:48], n=n, r=r, p=p, dklen=32,
                         maxmem=min(2**31 - 1, 2 * 128 * n * r + (1 << 20)))
    w, aad, outl = d[56:116], b"K" + d[:56], ip(0)
    ctx = lc.EVP_CIPHER_CTX_new()
    out = ctypes.create_string_buffer(64)
    lc.EVP_DecryptInit_ex(ctx, lc.EVP_aes_256_gcm(), None, kek, w[:12])
    lc.EVP_DecryptUpdate(ctx, None, ctypes.byref(outl), aad, len(aad))
    lc.EVP_DecryptUpdate(ctx, out, ctypes.byref(outl), w[12:44], 32)
    lc.EVP_CIPHER_CTX_ctrl(ctx, 0x11, 16, w[44:60])  # EVP_CTRL_GCM_SET_TAG
    ok = lc.EVP_DecryptFinal_ex(ctx, ctypes.cast(ctypes.byref(out, 32), vp), ctypes.byref(outl))
    lc.EVP_CIPHER_CTX_free(ctx)
    if ok == 1:
        print(out.raw[:32].hex())
        sys.exit(0)
sys.exit(1)
EOF
}

# held_backup REPO: starts a backup of $TT/big.img that sleeps at every
# progress report (CAIRN_TEST_JOB_DELAY) and returns once it has opened
# the repository (its activity marker exists); its pid is in $TT/pid.
held_backup()
{
	local i
	[ -f big.img ] || rand_file big.img $((16 << 20)) 5
	CAIRN_TEST_JOB_DELAY=3000 CAIRN_THREADS=1 "$CAIRN" backup "$TT/big.img" --repo "$1" --snapshot none \
		>held.out 2>held.err &
	echo $! >pid
	for i in $(seq 1 600); do
		[ -n "$(ls "$1/running" 2>/dev/null)" ] && return 0
		kill -0 "$(cat pid)" 2>/dev/null || fail "the backup ended early: $(head -n 3 held.err)"
		sleep 0.05
	done
	fail "the backup did not start"
}

stop_held()
{
	kill -TERM "$(cat pid)" 2>/dev/null || true
	wait "$(cat pid)" 2>/dev/null || true
}

# core_lacks CORE NEEDLE_HEX...: the core file holds none of the byte
# strings given in hex, but does hold the path of the image (so it is a
# core of the backup's memory, searched the right way).
core_lacks()
{
	python3 - "$@" "$TT/big.img" <<'EOF' || fail "the core holds a secret or is not the backup's"
import sys
core, needles, control = sys.argv[1], sys.argv[2:-1], sys.argv[-1].encode()
data = open(core, "rb").read()
if control not in data:
    sys.exit("%s: %d bytes, without the image path: not a core of the backup" % (core, len(data)))
bad = [n for n in needles if bytes.fromhex(n) in data]
if bad:
    sys.exit("secret found in %s: %s" % (core, ", ".join(b[:12] + "..." for b in bad)))
EOF
}

need_gcore()
{
	command -v gcore >/dev/null || skip "gdb is not installed (gcore)"
	# A sanitizer build maps terabytes of shadow memory: no gcore of that.
	! ldd "$CAIRN" 2>/dev/null | grep -q libasan || skip "a sanitizer build (no gcore of its shadow memory)"
}

hex_of()
{
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}

t_core_file_passphrase()
{
	need_gcore
	local pass master pid
	pass="core passphrase from a file $(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	printf '%s\n' "$pass" >pf
	unset CAIRN_PASSPHRASE
	export CAIRN_PASSPHRASE_FILE=$TT/pf
	new_repo repo
	master=$(master_key repo "$pass") || fail "cannot unwrap the master key"
	[ ${#master} = 64 ] || fail "master key '$master'"
	held_backup repo
	pid=$(cat pid)
	gcore -o core "$pid" >gcore.log 2>&1 || { stop_held; skip "gcore cannot attach here: $(tail -n1 gcore.log)"; }
	stop_held
	core_lacks "core.$pid" "$(hex_of "$pass")" "$master"
	rm -f "core.$pid"
}
test_case "a core (gcore) of a running backup holds neither the passphrase (from a file) nor the master key" t_core_file_passphrase

t_core_env_passphrase()
{
	need_gcore
	local pass pid
	pass="core passphrase from the environment $(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	export CAIRN_PASSPHRASE=$pass
	new_repo repo
	held_backup repo
	pid=$(cat pid)
	# Gone from /proc/PID/environ (as root: the process is not dumpable).
	! tr '\0' '\n' <"/proc/$pid/environ" | grep -aqF "$pass" || { stop_held; fail "/proc/$pid/environ shows the passphrase"; }
	gcore -o core "$pid" >gcore.log 2>&1 || { stop_held; skip "gcore cannot attach here: $(tail -n1 gcore.log)"; }
	stop_held
	core_lacks "core.$pid" "$(hex_of "$pass")" "$(master_key repo "$pass")"
	rm -f "core.$pid"
}
test_case "CAIRN_PASSPHRASE is wiped from the environment: not in /proc/PID/environ nor in a core" t_core_env_passphrase

t_no_core_dump()
{
	local sd
	sd=$(cat /proc/sys/fs/suid_dumpable 2>/dev/null || echo 0)
	[ "$sd" = 0 ] || skip "fs.suid_dumpable=$sd: the kernel dumps even processes that ask not to be"
	new_repo repo
	mkdir cores
	rand_file big.img $((16 << 20)) 5
	# A dumpable process (sleep) killed by SIGSEGV must dump here, or this
	# machine tells nothing; then the same for a running cairn.
	python3 - "$CAIRN" "$TT" <<'EOF' >segv.out 2>&1 || fail "$(tail -n 2 segv.out)"
import os, resource, signal, subprocess, sys, time
cairn, tt = sys.argv[1], sys.argv[2]
cores = os.path.join(tt, "cores")
def unlimited():
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass
def segv(argv, env, ready):
    p = subprocess.Popen(argv, cwd=cores, env=env, preexec_fn=unlimited,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        if ready():
            break
        if p.poll() is not None:
            sys.exit("%s ended before it was ready" % argv[0])
        time.sleep(0.05)
    os.kill(p.pid, signal.SIGSEGV)
    _, st = os.waitpid(p.pid, 0)
    return st
st = segv(["sleep", "60"], os.environ, lambda: True)
if not (os.WIFSIGNALED(st) and os.WCOREDUMP(st)):
    print("SKIP: a process killed by SIGSEGV dumps no core here (core_pattern %s)"
          % open("/proc/sys/kernel/core_pattern").read().strip())
    sys.exit(0)
for f in os.listdir(cores):
    os.unlink(os.path.join(cores, f))
env = dict(os.environ, CAIRN_TEST_JOB_DELAY="3000", CAIRN_THREADS="1")
repo = os.path.join(tt, "repo")
st = segv([cairn, "backup", os.path.join(tt, "big.img"), "--repo", repo, "--snapshot", "none"], env,
          lambda: os.path.isdir(os.path.join(repo, "running")) and len(os.listdir(os.path.join(repo, "running"))) > 0)
left = os.listdir(cores)
if os.WIFSIGNALED(st) and os.WCOREDUMP(st):
    sys.exit("cairn killed by SIGSEGV dumped a core (%s)" % left)
if left:
    sys.exit("cairn killed by SIGSEGV left %s" % left)
print("no core: status %#x" % st)
EOF
	if grep -q '^SKIP: ' segv.out; then
		skip "$(sed -n 's/^SKIP: //p' segv.out)"
	fi
	grep -q '^no core' segv.out || fail "$(cat segv.out)"
}
test_case "kill -SEGV of a running cairn dumps no core (a dumpable process does)" t_no_core_dump

t_kdf_memory()
{
	cairn init --repo repo --kdf-memory 64M -q
	cairn key list --repo repo --json >k.json
	[ "$(jq '.[0].kdf_memory' k.json)" = $((64 << 20)) ] || fail "key list: $(cat k.json)"
	[ "$(jq '.[0].scrypt_log2n' k.json)" = 16 ] || fail "key list: $(cat k.json)"
	# The object itself: log2 N at byte 12, r and p after it.
	[ "$(od -An -tu1 -j12 -N3 repo/keys/* | tr -s ' ')" = " 16 8 1" ] || fail "key header: $(od -An -tu1 -j12 -N3 repo/keys/*)"
	rand_file v.img $((1 << 20)) 3
	cairn backup --repo repo -q v.img >id
	CAIRN_NEW_PASSPHRASE='a cheaper second passphrase' cairn key add --repo repo --kdf-memory 16M >kid
	CAIRN_PASSPHRASE='a cheaper second passphrase' cairn restore --repo repo latest r.img -q
	same_file v.img r.img
	cairn key list --repo repo >k.txt
	grep -q "^ID  *CREATED  *KDF-MEMORY  *CURRENT" k.txt || fail "key list header: $(head -n1 k.txt)"
	grep -q "^$(cat kid)  .*16.0 MiB" k.txt || fail "key list does not show 16 MiB for the new key: $(cat k.txt)"
}
test_case "init and key add --kdf-memory: recorded in the key object, shown by key list, opens" t_kdf_memory

t_kdf_memory_bad()
{
	local v
	for v in 8M 2G 48M 1G5 banana "" 0; do
		expect_fail -c 2 -m "invalid --kdf-memory" cairn init --repo "repo-$v" --kdf-memory "$v"
		[ ! -e "repo-$v" ] || fail "init --kdf-memory '$v' created the repository"
	done
	new_repo repo
	tree_state repo >before
	expect_fail -c 2 -m "invalid --kdf-memory '2G'" cairn key add --repo repo --kdf-memory 2G
	expect_fail -c 2 -m "applies to 'key add' only" cairn key list --repo repo --kdf-memory 64M
	assert_unchanged repo before
	# CAIRN_KDF_MEMORY is the default: checked the same way, and the
	# option wins over it.
	CAIRN_KDF_MEMORY=3M expect_fail -c 2 -m "invalid CAIRN_KDF_MEMORY '3M'" cairn init --repo repo-env
	[ ! -e repo-env ] || fail "init with a bad CAIRN_KDF_MEMORY created the repository"
	CAIRN_KDF_MEMORY=3M cairn init --repo repo-opt --kdf-memory 64M -q
	CAIRN_KDF_MEMORY=128M cairn init --repo repo-env -q
	[ "$(cairn key list --repo repo-env --json | jq '.[0].kdf_memory')" = $((128 << 20)) ] ||
		fail "CAIRN_KDF_MEMORY=128M was not the default"
	[ "$(cairn key list --repo repo-opt --json | jq '.[0].kdf_memory')" = $((64 << 20)) ] ||
		fail "--kdf-memory did not win over CAIRN_KDF_MEMORY"
}
test_case "--kdf-memory (and CAIRN_KDF_MEMORY) out of 16M..1G or not a power of two is a usage error, nothing written" t_kdf_memory_bad

# max_rss_kib FILE: the "Maximum resident set size" /usr/bin/time -v wrote.
max_rss_kib()
{
	sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"
}

need_time()
{
	[ -x /usr/bin/time ] || skip "/usr/bin/time is not installed (package time)"
}

t_key_huge_object()
{
	need_time
	local rss got
	new_repo repo
	truncate -s 1G repo/keys/0123456789abcdef
	CAIRN_TEST_COUNT=$TT/count.json /usr/bin/time -v -o time.txt "$CAIRN" list --repo repo --json >l.json 2>l.err ||
		fail "list failed: $(head -n 3 l.err)"
	grep -q 'keys/0123456789abcdef is 1073741824 bytes, not a key object' l.err ||
		fail "no warning naming the object: $(cat l.err)"
	got=$(jq .bytes_got count.json)
	[ "$got" -lt $((1 << 20)) ] || fail "list read $got bytes"
	rss=$(max_rss_kib time.txt)
	[ -n "$rss" ] && [ "$rss" -lt $((100 << 10)) ] || fail "list used $rss KiB"
	cairn key list --repo repo --json >k.json 2>k.err
	[ "$(jq length k.json)" = 1 ] || fail "key list shows $(jq length k.json) keys"
	# What the warning says removes it.
	cairn key remove --repo repo 0123456789abcdef -q
	[ ! -e repo/keys/0123456789abcdef ] || fail "key remove left it"
	cairn list --repo repo >/dev/null 2>l2.err
	[ ! -s l2.err ] || fail "list still warns: $(cat l2.err)"
}
test_case "a 1 GiB object planted as a key object is skipped unread, with a warning naming it" t_key_huge_object

# plant_keys REPO COUNT LOG2N PREFIX: COUNT copies of REPO's key object with
# scrypt N = 2^LOG2N (so they never unwrap), named PREFIX + a number.
plant_keys()
{
	python3 - "$@" <<'EOF'
import glob, os, sys
repo, count, log2n, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
d = bytearray(open(sorted(glob.glob(os.path.join(repo, "keys", "*")))[0], "rb").read())
d[12] = log2n
for i in range(count):
    with open(os.path.join(repo, "keys", "%s%0*x" % (prefix, 16 - len(prefix), i)), "wb") as f:
        f.write(d)
EOF
}

t_key_budget()
{
	need_time
	local n rss
	new_repo repo
	# 50 keys of 4 GiB each (the most a key object may ask), listed
	# before the real key, and 3 of 64 MiB: cheapest first, the real one
	# (32 MiB) opens at once; a wrong passphrase tries the 64 MiB ones too,
	# never one of 4 GiB.
	plant_keys repo 50 22 0000
	plant_keys repo 3 16 00a0
	[ "$(ls repo/keys | wc -l)" = 54 ] || fail "planting failed"
	/usr/bin/time -v -o time.txt "$CAIRN" list --repo repo -vv >l.out 2>l.err || fail "list failed: $(tail -n 2 l.err)"
	n=$(grep -c 'trying key' l.err)
	[ "$n" = 1 ] || fail "the right passphrase tried $n keys"
	# A 4 GiB key tried would have needed 4 GiB (a sanitizer build keeps
	# what it frees for a while: the bound is loose).
	rss=$(max_rss_kib time.txt)
	[ "$rss" -lt $((1 << 20)) ] || fail "list used $rss KiB"
	expect_fail -c 1 -m "wrong passphrase for repository .*, or its key is one of 50 key object\(s\) not tried" \
		env CAIRN_PASSPHRASE=wrong "$CAIRN" list --repo repo
	grep -q "cairn key remove ID" "$TT/.err" || fail "the error does not say how to remove keys"
	CAIRN_PASSPHRASE=wrong /usr/bin/time -v -o time2.txt "$CAIRN" list --repo repo -vv >/dev/null 2>l2.err && fail "a wrong passphrase opened"
	n=$(grep -c 'trying key' l2.err)
	[ "$n" = 4 ] || fail "the wrong passphrase tried $n keys, not 4: $(grep 'trying key' l2.err | head -n 5)"
	! grep 'trying key' l2.err | grep -q 'N 2^22' || fail "a 4 GiB key was tried"
	rss=$(max_rss_kib time2.txt)
	[ "$rss" -lt $((1 << 20)) ] || fail "list used $rss KiB"
}
test_case "open tries key objects cheapest first within its scrypt budget, and says how many it did not try" t_key_budget

test_done
