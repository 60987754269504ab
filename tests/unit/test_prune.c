/* engine/prune and its protocol (format.h PRUNE): deleting and repacking,
 * condemned packs and their rules in the index, the lease, activity
 * markers and the safety window, a backup that finishes while prune runs,
 * orphans, and a prune killed at every store mutation. */
#define TH_WANT_REPO
#include "helpers.h"

#include "engine/engine.h"
#include "engine/prune.h"
#include "engine/retention.h"
#include "repo/index.h"
#include "repo/lease.h"
#include "repo/manifest.h"
#include "util/cleanup.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/time.h"

#include <time.h>

#define CS 4096
#define VOL_CHUNKS 48

struct fx {
	char dir[PATH_MAX];
	char work[PATH_MAX];
	struct cairn_repo *repo;
	int nvol;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	th_tmpdir(f->dir, sizeof(f->dir), "prune-repo");
	th_tmpdir(f->work, sizeof(f->work), "prune-work");
	struct cairn_store *s = NULL;
	ck_ok(cairn_store_local_open(f->dir, &s));
	/* Small packs: a few chunks each, so packs mix live and dead blobs. */
	struct cairn_init_params p = { .chunk_size = CS, .pack_size = 6 * CS, .scrypt_log2n = 10 };
	ck_ok(cairn_repo_init(s, TH_PASS, TH_PASS_LEN, &p, &f->repo));
	th_setenv("CAIRN_THREADS", "2");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	cairn_repo_free(f->repo);
	th_rm_rf(f->dir);
	th_rm_rf(f->work);
	free(f);
	th_unsetenv("CAIRN_TEST_NOW");
	return 0;
}

static void vol_path(struct fx *f, int v, int gen, char *buf, size_t size)
{
	snprintf(buf, size, "%s/vol%d.%d", f->work, v, gen);
}

/* Generation gen of volume v: chunk i holds seed (v, i, last gen that
 * changed it); every generation changes a third of the chunks. */
static void write_vol(struct fx *f, int v, int gen, char *path, size_t size)
{
	vol_path(f, v, gen, path, size);
	_cleanup_free_ uint8_t *buf = malloc(VOL_CHUNKS * CS);
	assert_non_null(buf);
	for (int i = 0; i < VOL_CHUNKS; i++) {
		int last = 0;
		for (int g = 1; g <= gen; g++)
			if ((i + g) % 3 == 0)
				last = g;
		th_fill(buf + (size_t)i * CS, CS, (uint64_t)v * 1000000 + (uint64_t)i * 1000 + (uint64_t)last);
	}
	th_write_file(path, buf, VOL_CHUNKS * CS);
}

static struct cairn_manifest *backup(struct fx *f, int v, int gen)
{
	char path[PATH_MAX + 32], name[32];
	write_vol(f, v, gen, path, sizeof(path));
	snprintf(name, sizeof(name), "v%d", v);
	struct cairn_backup_opts o = { .source = path, .volume = name };
	struct cairn_manifest *m = NULL;
	ck_ok(cairn_backup_run(f->repo, &o, &m));
	return m;
}

static void delete_manifest(struct fx *f, const struct cairn_manifest *m)
{
	char key[64];
	snprintf(key, sizeof(key), "backups/%s", m->idhex);
	ck_ok(cairn_store_del(f->repo->store, key));
}

static void check_clean(struct cairn_repo *repo)
{
	struct cairn_check_opts o = { .read_data = true };
	struct cairn_check_stats st;
	ck_ok(cairn_check_run(repo, &o, &st));
	assert_int_equal(st.problems, 0);
}

static void restore_equal(struct fx *f, struct cairn_repo *repo, const struct cairn_manifest *m, int v, int gen)
{
	char want[PATH_MAX + 32], got[PATH_MAX + 32];
	vol_path(f, v, gen, want, sizeof(want));
	snprintf(got, sizeof(got), "%s/restored", f->work);
	unlink(got);
	struct cairn_restore_opts o = { .target = got };
	struct cairn_restore_stats st;
	ck_ok(cairn_restore_run(repo, m, &o, &st));
	size_t a, b;
	uint8_t *x = th_read_file(want, &a), *y = th_read_file(got, &b);
	assert_int_equal(a, b);
	assert_memory_equal(x, y, a);
	free(x);
	free(y);
}

static size_t count_keys(struct cairn_repo *repo, const char *prefix)
{
	struct th_keys k;
	th_list(repo->store, prefix, &k);
	size_t n = k.n;
	th_keys_free(&k);
	return n;
}

static struct cairn_prune_stats prune(struct cairn_repo *repo, double pct, int64_t window)
{
	struct cairn_prune_opts o = { .max_unused_pct = pct, .window = window };
	struct cairn_prune_stats st;
	ck_ok(cairn_prune_run(repo, &o, &st));
	return st;
}

static void test_prune_basic(void **state)
{
	struct fx *f = *state;
	struct cairn_manifest *m[5];
	for (int g = 0; g < 5; g++)
		m[g] = backup(f, 1, g);
	size_t packs_before = count_keys(f->repo, "packs/");
	for (int g = 0; g < 3; g++)
		delete_manifest(f, m[g]);
	/* Dry run: says what it would do, changes nothing. */
	struct cairn_prune_opts dry = { .dry_run = true, .max_unused_pct = 0, .window = -1 };
	struct cairn_prune_stats st;
	ck_ok(cairn_prune_run(f->repo, &dry, &st));
	assert_true(st.packs_deleted > 0);
	assert_int_equal(count_keys(f->repo, "packs/"), packs_before);
	/* The real one, to 0% unused. */
	st = prune(f->repo, 0, -1);
	assert_int_equal(st.backups, 2);
	assert_true(st.packs_deleted > 0);
	assert_true(st.packs_repacked > 0);
	assert_int_equal(st.unused_after, 0);
	assert_int_equal(st.packs_waiting, 0);
	assert_int_equal(count_keys(f->repo, "lease/"), 0);
	check_clean(f->repo);
	restore_equal(f, f->repo, m[3], 1, 3);
	restore_equal(f, f->repo, m[4], 1, 4);
	/* Again: nothing to do. */
	st = prune(f->repo, 0, -1);
	assert_int_equal(st.packs_deleted + st.packs_repacked + st.packs_unused, 0);
	/* Backups after a prune still deduplicate against what is kept. */
	struct cairn_manifest *n = backup(f, 1, 4);
	assert_int_equal(n->stats.bytes_new, 0);
	check_clean(f->repo);
	/* Everything forgotten: everything goes. */
	delete_manifest(f, m[3]);
	delete_manifest(f, m[4]);
	delete_manifest(f, n);
	st = prune(f->repo, 5, -1);
	assert_int_equal(count_keys(f->repo, "packs/"), 0);
	check_clean(f->repo);
	for (int g = 0; g < 5; g++)
		cairn_manifest_free(m[g]);
	cairn_manifest_free(n);
}

static void test_max_unused(void **state)
{
	struct fx *f = *state;
	struct cairn_manifest *a = backup(f, 1, 0), *b = backup(f, 1, 1);
	delete_manifest(f, a);
	/* unlimited: only packs with nothing referenced go, none repacked. */
	struct cairn_prune_opts o = { .unlimited = true, .window = -1 };
	struct cairn_prune_stats st;
	ck_ok(cairn_prune_run(f->repo, &o, &st));
	assert_int_equal(st.packs_repacked, 0);
	uint64_t left = st.unused_after;
	assert_true(left > 0);
	/* A byte limit above what is unused: no repack either. */
	o = (struct cairn_prune_opts){ .max_unused_bytes = left + 1, .window = -1 };
	ck_ok(cairn_prune_run(f->repo, &o, &st));
	assert_int_equal(st.packs_repacked, 0);
	/* 0 bytes of slack is "0%": everything unused goes. */
	st = prune(f->repo, 0, -1);
	assert_true(st.packs_repacked > 0);
	assert_int_equal(st.unused_after, 0);
	check_clean(f->repo);
	restore_equal(f, f->repo, b, 1, 1);
	cairn_manifest_free(a);
	cairn_manifest_free(b);
}

static void test_markers_defer(void **state)
{
	struct fx *f = *state;
	struct cairn_manifest *a = backup(f, 1, 0), *b = backup(f, 2, 0);
	delete_manifest(f, a);
	size_t packs = count_keys(f->repo, "packs/");
	/* A backup is running (its marker): what prune takes out of use waits. */
	struct cairn_activity *act = NULL;
	ck_ok(cairn_activity_begin(f->repo, "backup", &act));
	assert_non_null(act);
	struct cairn_prune_stats st = prune(f->repo, 0, 3600);
	assert_true(st.deferred);
	assert_int_equal(st.running, 1);
	assert_int_equal(st.packs_deleted, 0);
	assert_true(st.packs_waiting > 0);
	assert_true(count_keys(f->repo, "packs/") >= packs);
	check_clean(f->repo);
	restore_equal(f, f->repo, b, 2, 0);
	/* A backup now does not reuse blobs of condemned packs: it stores
	 * volume 1 again (and indexes its own copies, which win). */
	struct cairn_manifest *a2 = backup(f, 1, 0);
	assert_int_equal(a2->stats.bytes_new, VOL_CHUNKS * CS);
	check_clean(f->repo);
	restore_equal(f, f->repo, a2, 1, 0);
	/* An hour later the window has passed, but the marker's process is
	 * seen running on this host: still deferred, even with window 0. */
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)cairn_wall_now() + 3601);
	th_setenv("CAIRN_TEST_NOW", now);
	st = prune(f->repo, 0, 3600);
	assert_int_equal(st.running, 1);
	assert_true(st.deferred);
	assert_int_equal(st.packs_deleted, 0);
	st = prune(f->repo, 0, 0);
	assert_int_equal(st.running, 1);
	assert_int_equal(st.packs_deleted, 0);
	/* Once it has ended, the packs go. */
	cairn_activity_end(act);
	st = prune(f->repo, 0, 3600);
	assert_int_equal(st.running, 0);
	assert_true(st.packs_deleted > 0);
	th_unsetenv("CAIRN_TEST_NOW");
	check_clean(f->repo);
	restore_equal(f, f->repo, a2, 1, 0);
	restore_equal(f, f->repo, b, 2, 0);
	cairn_manifest_free(a);
	cairn_manifest_free(a2);
	cairn_manifest_free(b);
}

/* A backup that deduplicated against blobs nothing else references, and
 * writes its manifest after prune condemned them: the next prune rescues
 * them instead of deleting them. */
static void test_late_backup_rescued(void **state)
{
	struct fx *f = *state;
	struct cairn_manifest *a = backup(f, 1, 0);
	delete_manifest(f, a);
	struct cairn_activity *act = NULL;
	ck_ok(cairn_activity_begin(f->repo, "backup", &act));
	struct cairn_prune_stats st = prune(f->repo, 0, 3600);
	assert_true(st.packs_waiting > 0);
	/* The late manifest lands (same tree: it reused every blob). */
	ck_ok(cairn_manifest_write(f->repo, a, NULL));
	cairn_activity_end(act);
	check_clean(f->repo);
	st = prune(f->repo, 0, 3600);
	assert_true(st.packs_rescued > 0);
	check_clean(f->repo);
	restore_equal(f, f->repo, a, 1, 0);
	/* And nothing it needs is condemned any more. */
	st = prune(f->repo, 0, 3600);
	assert_int_equal(st.packs_rescued, 0);
	restore_equal(f, f->repo, a, 1, 0);
	cairn_manifest_free(a);
}

/* A store that runs a hook the first time prune lists the markers (step 5):
 * a backup finishing while prune runs. */
struct hook_store {
	struct cairn_store base;
	struct cairn_store *inner;
	void (*hook)(void *ud);
	void *ud;
	bool fired;
};

static int h_get(struct cairn_store *s, const char *key, uint64_t off, uint64_t len, struct cairn_buf *out)
{
	return cairn_store_get(((struct hook_store *)s)->inner, key, off, len, out);
}
static int h_put(struct cairn_store *s, const char *key, const void *data, size_t len, unsigned flags)
{
	return cairn_store_put(((struct hook_store *)s)->inner, key, data, len, flags);
}
static int h_stat(struct cairn_store *s, const char *key, uint64_t *ret)
{
	return cairn_store_stat(((struct hook_store *)s)->inner, key, ret);
}
static int h_del(struct cairn_store *s, const char *key)
{
	return cairn_store_del(((struct hook_store *)s)->inner, key);
}
static int h_list(struct cairn_store *s, const char *prefix, cairn_store_list_fn fn, void *ud)
{
	struct hook_store *h = (struct hook_store *)s;
	if (!h->fired && strcmp(prefix, "running/") == 0) {
		h->fired = true;
		h->hook(h->ud);
	}
	return cairn_store_list(h->inner, prefix, fn, ud);
}
static void h_free(struct cairn_store *s)
{
	struct hook_store *h = (struct hook_store *)s;
	cairn_store_free(h->inner);
	free(h->base.uri);
	free(h);
}
static const struct cairn_store_ops hook_ops = { .name = "hook", .get = h_get, .put = h_put, .stat = h_stat,
						  .del = h_del, .list = h_list, .free = h_free };

struct late {
	struct cairn_repo *repo;
	struct cairn_manifest *m;
};

static void write_late(void *ud)
{
	struct late *l = ud;
	ck_ok(cairn_manifest_write(l->repo, l->m, NULL));
}

static void test_backup_finishing_during_prune(void **state)
{
	struct fx *f = *state;
	struct cairn_manifest *a = backup(f, 1, 0), *b = backup(f, 2, 0);
	delete_manifest(f, a);
	/* Prune on a repository handle whose store fires the hook. */
	struct hook_store *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	h->base.ops = &hook_ops;
	h->base.uri = strdup(f->dir);
	ck_ok(cairn_store_local_open(f->dir, &h->inner));
	struct cairn_repo *repo = NULL;
	ck_ok(cairn_repo_open(&h->base, TH_PASS, TH_PASS_LEN, &repo));
	struct late l = { repo, a };
	h->hook = write_late;
	h->ud = &l;
	struct cairn_prune_stats st = prune(repo, 0, 3600);
	assert_true(h->fired);
	assert_int_equal(st.running, 0);
	/* Without the late backup everything of volume 1 would have gone now;
	 * its packs stayed. */
	assert_true(st.packs_waiting > 0);
	check_clean(repo);
	restore_equal(f, repo, a, 1, 0);
	restore_equal(f, repo, b, 2, 0);
	st = prune(repo, 0, 3600);
	check_clean(repo);
	restore_equal(f, repo, a, 1, 0);
	cairn_repo_free(repo);
	cairn_manifest_free(a);
	cairn_manifest_free(b);
}

static void test_lease(void **state)
{
	struct fx *f = *state;
	struct cairn_manifest *a = backup(f, 1, 0);
	struct cairn_lease *l = NULL;
	ck_ok(cairn_lease_acquire(f->repo, "prune", 60, &l));
	struct cairn_lease *l2 = NULL;
	ck_err(cairn_lease_acquire(f->repo, "prune", 60, &l2), CAIRN_EBUSY);
	struct cairn_prune_opts o = { .window = -1, .max_unused_pct = 5 };
	struct cairn_prune_stats st;
	ck_err(cairn_prune_run(f->repo, &o, &st), CAIRN_EBUSY);
	assert_non_null(strstr(cairn_error_message(), "locked by prune"));
	/* Renewed after a third of its time: a new object replaces the old. */
	struct th_keys k1, k2;
	th_list(f->repo->store, "lease/", &k1);
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)cairn_wall_now() + 25);
	th_setenv("CAIRN_TEST_NOW", now);
	ck_ok(cairn_lease_keepalive(l));
	th_list(f->repo->store, "lease/", &k2);
	assert_int_equal(k1.n, 1);
	assert_int_equal(k2.n, 1);
	assert_string_not_equal(k1.v[0], k2.v[0]);
	th_keys_free(&k1);
	th_keys_free(&k2);
	/* Stalled past its expiry: the holder must stop. */
	snprintf(now, sizeof(now), "%lld", (long long)cairn_wall_now() + 120);
	th_setenv("CAIRN_TEST_NOW", now);
	ck_err(cairn_lease_keepalive(l), CAIRN_ETIMEOUT);
	/* ... and others may take it: an expired lease does not block. */
	ck_ok(cairn_prune_run(f->repo, &o, &st));
	th_unsetenv("CAIRN_TEST_NOW");
	cairn_lease_release(l);
	/* A lease left by a dead process of this host is stale at once. */
	struct cairn_presence p = { .created = cairn_wall_now(), .expires = cairn_wall_now() + 600 };
	snprintf(p.kind, sizeof(p.kind), "prune");
	cairn_proc_id_self(&p.who);
	p.who.start = 1; /* another process that had our pid */
	_cleanup_free_ char *json = NULL;
	ck_ok(cairn_presence_encode(&p, &json));
	uint8_t name[CAIRN_PRESENCE_ID_LEN];
	th_fill(name, sizeof(name), 77);
	struct cairn_aead *aead = NULL;
	ck_ok(cairn_repo_aead(f->repo, &aead));
	struct cairn_buf sealed = CAIRN_BUF_INIT;
	ck_ok(cairn_repo_seal(aead, 'L', name, sizeof(name), json, strlen(json), &sealed));
	char hex[33], key[64];
	cairn_hex_encode(name, sizeof(name), hex);
	snprintf(key, sizeof(key), "lease/%s", hex);
	ck_ok(cairn_store_put(f->repo->store, key, sealed.data, sealed.len, 0));
	ck_ok(cairn_prune_run(f->repo, &o, &st));
	assert_int_equal(count_keys(f->repo, "lease/"), 0);
	/* Another host's lease that has not expired blocks. */
	snprintf(p.who.host, sizeof(p.who.host), "some-other-host");
	free(json);
	json = NULL;
	ck_ok(cairn_presence_encode(&p, &json));
	ck_ok(cairn_repo_seal(aead, 'L', name, sizeof(name), json, strlen(json), &sealed));
	ck_ok(cairn_store_put(f->repo->store, key, sealed.data, sealed.len, 0));
	ck_err(cairn_prune_run(f->repo, &o, &st), CAIRN_EBUSY);
	assert_non_null(strstr(cairn_error_message(), "some-other-host"));
	/* A damaged one blocks too, and says how to clear it. */
	sealed.data[sealed.len / 2] ^= 1;
	ck_ok(cairn_store_put(f->repo->store, key, sealed.data, sealed.len, 0));
	ck_err(cairn_prune_run(f->repo, &o, &st), CAIRN_EBUSY);
	assert_non_null(strstr(cairn_error_message(), "delete it"));
	ck_ok(cairn_store_del(f->repo->store, key));
	cairn_buf_free(&sealed);
	cairn_aead_free(aead);
	check_clean(f->repo);
	cairn_manifest_free(a);
}

static void test_presence_codec(void **state)
{
	(void)state;
	struct cairn_presence p = { .created = 5, .expires = 9 };
	snprintf(p.kind, sizeof(p.kind), "backup");
	cairn_proc_id_self(&p.who);
	char *json = NULL;
	ck_ok(cairn_presence_encode(&p, &json));
	struct cairn_presence q;
	ck_ok(cairn_presence_parse((const uint8_t *)json, strlen(json), &q));
	assert_string_equal(q.kind, "backup");
	assert_string_equal(q.who.host, p.who.host);
	assert_int_equal(q.who.pid, p.who.pid);
	assert_true(q.created == 5 && q.expires == 9);
	assert_int_equal(cairn_proc_id_alive(&q.who), CAIRN_PROC_ALIVE);
	free(json);
	static const char *const bad[] = {
		"",
		"{}",
		"{\"version\":1,\"kind\":\"\",\"hostname\":\"h\",\"pid\":1,\"created\":1,\"expires\":0}",
		"{\"version\":2,\"kind\":\"x\",\"hostname\":\"h\",\"pid\":1,\"created\":1,\"expires\":0}",
		"{\"version\":1,\"kind\":\"x\",\"hostname\":\"h\",\"pid\":-1,\"created\":1,\"expires\":0}",
		"{\"version\":1,\"kind\":\"much-too-long-kind\",\"hostname\":\"h\",\"pid\":1,\"created\":1,\"expires\":0}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = cairn_presence_parse((const uint8_t *)bad[i], strlen(bad[i]), &q);
		assert_true(r == CAIRN_ECORRUPT || r == CAIRN_EVERSION);
	}
}

static void test_index_condemned(void **state)
{
	(void)state;
	struct cairn_index *idx = NULL;
	ck_ok(cairn_index_new(&idx));
	uint8_t p1[32], p2[32];
	th_fill(p1, 32, 1);
	th_fill(p2, 32, 2);
	uint32_t s1, s2;
	ck_ok(cairn_index_add_pack_condemned(idx, p1, 500, &s1));
	ck_ok(cairn_index_add_pack(idx, p2, false, &s2));
	assert_true(cairn_index_pack_condemned(idx, s1) == 500);
	/* An earlier condemnation wins; a live listing makes it live. */
	ck_ok(cairn_index_add_pack_condemned(idx, p1, 400, &s1));
	assert_true(cairn_index_pack_condemned(idx, s1) == 400);
	ck_ok(cairn_index_add_pack_condemned(idx, p1, 450, &s1));
	assert_true(cairn_index_pack_condemned(idx, s1) == 400);
	struct cairn_blob_ref r = { .pack = s1, .stored_len = 100, .raw_len = 50 };
	th_fill(r.id, 32, 9);
	assert_int_equal(cairn_index_insert(idx, &r), 1);
	struct cairn_blob_ref got;
	ck_ok(cairn_index_lookup(idx, r.id, &got));
	cairn_index_hide_condemned(idx, true);
	ck_err(cairn_index_lookup(idx, r.id, &got), CAIRN_ENOTFOUND);
	/* A copy in a live pack replaces the condemned one. */
	struct cairn_blob_ref r2 = r;
	r2.pack = s2;
	r2.offset = 77;
	assert_int_equal(cairn_index_insert(idx, &r2), 1);
	ck_ok(cairn_index_lookup(idx, r.id, &got));
	assert_int_equal(got.pack, s2);
	/* ... and not the other way round. */
	assert_int_equal(cairn_index_insert(idx, &r), 0);
	ck_ok(cairn_index_lookup(idx, r.id, &got));
	assert_int_equal(got.pack, s2);
	/* Version 2 objects carry the time; decoding merges. */
	uint32_t slots[2] = { s1, s2 }, ents[1] = { 0 };
	struct cairn_buf body = CAIRN_BUF_INIT;
	ck_ok(cairn_index_encode(idx, slots, 2, ents, 1, &body));
	assert_int_equal(cairn_le32(body.data + 4), 2);
	struct cairn_index *b = NULL;
	ck_ok(cairn_index_new(&b));
	ck_ok(cairn_index_decode(b, body.data, body.len));
	uint32_t t1, t2;
	ck_ok(cairn_index_find_pack(b, p1, &t1));
	ck_ok(cairn_index_find_pack(b, p2, &t2));
	assert_true(cairn_index_pack_condemned(b, t1) == 400);
	assert_true(cairn_index_pack_condemned(b, t2) == 0);
	ck_ok(cairn_index_lookup(b, r.id, &got));
	assert_int_equal(got.pack, t2);
	/* Only live packs: version 1. */
	ck_ok(cairn_index_encode(idx, &s2, 1, ents, 1, &body));
	assert_int_equal(cairn_le32(body.data + 4), 1);
	/* An entry outside the listed packs is refused. */
	ck_err(cairn_index_encode(idx, &s1, 1, ents, 1, &body), CAIRN_EINVAL);
	cairn_buf_free(&body);
	cairn_index_free(b);
	cairn_index_free(idx);
}

static void test_orphans(void **state)
{
	struct fx *f = *state;
	struct cairn_manifest *keep = backup(f, 2, 0);
	/* A backup interrupted before its index: packs nobody indexes. */
	char path[PATH_MAX + 32];
	write_vol(f, 1, 0, path, sizeof(path));
	struct cairn_store *fs = NULL;
	struct cairn_fault_params fp = { .ops = CAIRN_FAULT_PUT, .fail_at = 0, .code = CAIRN_EIO };
	struct cairn_store *inner = NULL;
	ck_ok(cairn_store_local_open(f->dir, &inner));
	/* Count the puts of a whole backup, then fail the index put. */
	size_t before = count_keys(f->repo, "packs/");
	size_t idx_before = count_keys(f->repo, "index/");
	fp.fail_at = (unsigned)(VOL_CHUNKS / 6 + 2); /* after most packs */
	fp.persistent = true;
	ck_ok(cairn_store_fault_wrap(inner, &fp, &fs));
	struct cairn_repo *r2 = NULL;
	ck_ok(cairn_repo_open(fs, TH_PASS, TH_PASS_LEN, &r2));
	struct cairn_backup_opts o = { .source = path, .volume = "v1" };
	struct cairn_manifest *m = NULL;
	assert_true(cairn_backup_run(r2, &o, &m) < 0);
	cairn_repo_free(r2);
	assert_true(count_keys(f->repo, "packs/") > before);
	assert_int_equal(count_keys(f->repo, "index/"), idx_before);
	check_clean(f->repo); /* orphans are harmless */
	struct cairn_prune_stats st = prune(f->repo, 5, -1);
	assert_true(st.orphan_packs > 0);
	assert_int_equal(count_keys(f->repo, "packs/"), before);
	check_clean(f->repo);
	restore_equal(f, f->repo, keep, 2, 0);
	cairn_manifest_free(keep);
}

/* Copies dir a to b (both exist; b empty). */
static void copy_tree(const char *a, const char *b)
{
	char cmd[2 * PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "cp -a '%s/.' '%s/'", a, b);
	assert_int_equal(system(cmd), 0);
}

static void test_killed_prune(void **state)
{
	struct fx *f = *state;
	struct cairn_manifest *m[4];
	for (int g = 0; g < 4; g++)
		m[g] = backup(f, 1, g);
	struct cairn_manifest *other = backup(f, 2, 0);
	delete_manifest(f, m[0]);
	delete_manifest(f, m[2]);
	/* How many mutations does a full prune make? */
	char tpl[PATH_MAX];
	th_tmpdir(tpl, sizeof(tpl), "prune-tpl");
	copy_tree(f->dir, tpl);
	struct cairn_store *inner = NULL, *cs = NULL;
	ck_ok(cairn_store_local_open(tpl, &inner));
	ck_ok(cairn_store_count_wrap(inner, &cs));
	struct cairn_repo *r = NULL;
	ck_ok(cairn_repo_open(cs, TH_PASS, TH_PASS_LEN, &r));
	struct cairn_prune_stats st = prune(r, 0, -1);
	assert_true(st.packs_deleted > 0 && st.packs_repacked > 0);
	struct cairn_store_counts c;
	cairn_store_count_get(r->store, &c);
	cairn_repo_free(r);
	th_rm_rf(tpl);
	unsigned total = (unsigned)(c.put + c.del);
	assert_true(total > 5);
	/* Kill it before each of them in turn (its warnings about the lease
	 * it cannot remove are expected). */
	cairn_log_level = -1;
	for (unsigned n = 1; n <= total; n++) {
		char dir[PATH_MAX];
		th_tmpdir(dir, sizeof(dir), "prune-kill");
		copy_tree(f->dir, dir);
		ck_ok(cairn_store_local_open(dir, &inner));
		struct cairn_fault_params fp = { .ops = CAIRN_FAULT_PUT | CAIRN_FAULT_DEL, .fail_at = n,
						 .persistent = true, .code = CAIRN_EIO };
		struct cairn_store *fs = NULL;
		ck_ok(cairn_store_fault_wrap(inner, &fp, &fs));
		ck_ok(cairn_repo_open(fs, TH_PASS, TH_PASS_LEN, &r));
		struct cairn_prune_opts o = { .max_unused_pct = 0, .window = -1 };
		int rc = cairn_prune_run(r, &o, &st);
		cairn_repo_free(r);
		/* The first mutation is the lease: every later one failing means
		 * it is left behind, as after a crash.  The next prune comes later
		 * than its expiry. */
		struct cairn_repo *clean = NULL;
		ck_ok(th_repo_open(dir, TH_PASS, &clean));
		check_clean(clean);
		restore_equal(f, clean, m[1], 1, 1);
		restore_equal(f, clean, m[3], 1, 3);
		restore_equal(f, clean, other, 2, 0);
		char now[32];
		snprintf(now, sizeof(now), "%lld", (long long)cairn_wall_now() + 3 * CAIRN_LEASE_TTL_DEFAULT);
		th_setenv("CAIRN_TEST_NOW", now);
		st = prune(clean, 0, -1);
		th_unsetenv("CAIRN_TEST_NOW");
		check_clean(clean);
		restore_equal(f, clean, m[1], 1, 1);
		restore_equal(f, clean, m[3], 1, 3);
		restore_equal(f, clean, other, 2, 0);
		assert_int_equal(st.unused_after, 0);
		cairn_repo_free(clean);
		th_rm_rf(dir);
		(void)rc;
	}
	for (int g = 0; g < 4; g++)
		cairn_manifest_free(m[g]);
	cairn_manifest_free(other);
}

static void test_refuses_damage(void **state)
{
	struct fx *f = *state;
	struct cairn_manifest *a = backup(f, 1, 0), *b = backup(f, 1, 1);
	/* A pack a kept backup needs is missing (every pack holds blobs of a
	 * or b): prune changes nothing. */
	struct th_keys k;
	th_list(f->repo->store, "packs/", &k);
	assert_true(k.n > 0);
	size_t n = k.n;
	char saved[PATH_MAX + 100], orig[PATH_MAX + 100];
	snprintf(orig, sizeof(orig), "%s/%s", f->dir, k.v[0]);
	snprintf(saved, sizeof(saved), "%s/saved-pack", f->work);
	assert_int_equal(rename(orig, saved), 0);
	struct cairn_prune_opts o = { .max_unused_pct = 0, .window = -1 };
	struct cairn_prune_stats st;
	int r = cairn_prune_run(f->repo, &o, &st);
	assert_int_equal(r, CAIRN_ECORRUPT);
	assert_non_null(strstr(cairn_error_message(), "nothing was deleted"));
	assert_int_equal(count_keys(f->repo, "packs/"), n - 1);
	assert_int_equal(rename(saved, orig), 0);
	th_keys_free(&k);
	/* A damaged manifest: prune cannot know what it needs. */
	char mpath[PATH_MAX + 100];
	snprintf(mpath, sizeof(mpath), "%s/backups/%s", f->dir, b->idhex);
	size_t len;
	uint8_t *data = th_read_file(mpath, &len);
	data[len / 2] ^= 1;
	th_write_file(mpath, data, len);
	ck_err(cairn_prune_run(f->repo, &o, &st), CAIRN_ECORRUPT);
	data[len / 2] ^= 1;
	th_write_file(mpath, data, len);
	free(data);
	delete_manifest(f, a);
	st = prune(f->repo, 0, -1);
	check_clean(f->repo);
	restore_equal(f, f->repo, b, 1, 1);
	cairn_manifest_free(a);
	cairn_manifest_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prune_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_unused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_markers_defer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_backup_rescued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_finishing_during_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease, setup, teardown),
		cmocka_unit_test(test_presence_codec),
		cmocka_unit_test(test_index_condemned),
		cmocka_unit_test_setup_teardown(test_orphans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_prune, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
