/* repo/manifest: the JSON codec, sealed objects, listing and resolving;
 * repo/group: the group object's names. */
#define TH_WANT_REPO
#include "helpers.h"

#include "repo/group.h"
#include "repo/manifest.h"
#include "repo/names.h"
#include "util/cleanup.h"
#include "util/hex.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>

static struct cairn_manifest *make(uint64_t seed, const char *volume, int64_t created_us)
{
	struct cairn_manifest *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	th_fill(m->id, sizeof(m->id), seed);
	cairn_hex_encode(m->id, sizeof(m->id), m->idhex);
	m->volume = strdup(volume);
	m->hostname = strdup("host-1");
	m->source = strdup("/dev/vg0/data");
	m->created_us = created_us;
	m->size = 70000ull * 4096 - 123;
	m->chunk_size = 4096;
	m->fanout = CAIRN_TREE_FANOUT;
	m->levels = 3;
	th_fill(m->root, sizeof(m->root), seed + 1000);
	m->change_tracking = strdup("full-read");
	m->stats = (struct cairn_backup_stats){ .bytes_read = 1u << 30, .bytes_new = 12345, .bytes_stored = 6789,
					.chunks_new = 42, .bytes_hashed = 777, .seconds = 1.25 };
	assert_non_null(m->volume);
	return m;
}

static void add_tag(struct cairn_manifest *m, const char *t)
{
	m->tags = realloc(m->tags, (m->ntags + 1) * sizeof(*m->tags));
	assert_non_null(m->tags);
	m->tags[m->ntags] = strdup(t);
	assert_non_null(m->tags[m->ntags]);
	m->ntags++;
}

static void assert_manifest_equal(const struct cairn_manifest *a, const struct cairn_manifest *b)
{
	assert_memory_equal(a->id, b->id, CAIRN_BACKUP_ID_LEN);
	assert_string_equal(a->idhex, b->idhex);
	assert_string_equal(a->volume, b->volume);
	assert_true(a->created_us == b->created_us);
	assert_string_equal(a->hostname, b->hostname);
	assert_string_equal(a->source, b->source);
	assert_true(a->size == b->size);
	assert_int_equal(a->chunk_size, b->chunk_size);
	assert_int_equal(a->fanout, b->fanout);
	assert_int_equal(a->levels, b->levels);
	assert_memory_equal(a->root, b->root, CAIRN_ID_LEN);
	assert_int_equal(a->has_parent, b->has_parent);
	if (a->has_parent)
		assert_memory_equal(a->parent, b->parent, CAIRN_BACKUP_ID_LEN);
	assert_int_equal(a->ntags, b->ntags);
	for (size_t i = 0; i < a->ntags; i++)
		assert_string_equal(a->tags[i], b->tags[i]);
	assert_string_equal(a->change_tracking, b->change_tracking);
	assert_true(a->stats.bytes_read == b->stats.bytes_read);
	assert_true(a->stats.bytes_new == b->stats.bytes_new);
	assert_true(a->stats.bytes_stored == b->stats.bytes_stored);
	assert_true(a->stats.chunks_new == b->stats.chunks_new);
	assert_true(a->stats.bytes_hashed == b->stats.bytes_hashed);
	assert_true(fabs(a->stats.seconds - b->stats.seconds) < 1e-9);
	assert_int_equal(!a->consistency, !b->consistency);
	if (a->consistency)
		assert_string_equal(a->consistency, b->consistency);
	assert_int_equal(!a->policy, !b->policy);
	if (a->policy)
		assert_string_equal(a->policy, b->policy);
	assert_string_equal(a->policy_id, b->policy_id);
}

static struct cairn_manifest *round_trip(const struct cairn_manifest *m)
{
	char *json = NULL;
	ck_ok(cairn_manifest_encode(m, &json));
	struct cairn_manifest *back = NULL;
	ck_ok(cairn_manifest_parse((const uint8_t *)json, strlen(json), &back));
	free(json);
	return back;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct cairn_manifest *m = make(1, "db-data", 1795616404123456);
	add_tag(m, "nightly");
	add_tag(m, "with space");
	add_tag(m, "\xc3\xbcnicode");
	add_tag(m, "");
	m->has_parent = true;
	th_fill(m->parent, sizeof(m->parent), 77);
	struct cairn_manifest *back = round_trip(m);
	assert_manifest_equal(m, back);
	cairn_manifest_free(back);

	/* No parent, no tags, another change-tracking label. */
	m->has_parent = false;
	for (size_t i = 0; i < m->ntags; i++)
		free(m->tags[i]);
	m->ntags = 0;
	free(m->change_tracking);
	m->change_tracking = strdup("fiemap");
	back = round_trip(m);
	assert_manifest_equal(m, back);
	assert_false(back->has_parent);
	assert_int_equal(back->ntags, 0);
	cairn_manifest_free(back);

	/* Large sizes survive JSON. */
	m->size = (1ull << 50) + 1;
	m->stats.bytes_read = (1ull << 53) + 1;
	back = round_trip(m);
	assert_manifest_equal(m, back);
	cairn_manifest_free(back);

	/* The JSON names parent explicitly, as null; a backup made by hand
	 * names no policy. */
	char *json = NULL;
	ck_ok(cairn_manifest_encode(m, &json));
	assert_non_null(strstr(json, "\"parent\":null"));
	assert_non_null(strstr(json, "\"version\":1"));
	assert_null(strstr(json, "policy"));
	free(json);

	/* consistency: absent when not known (and so in older manifests),
	 * kept as written otherwise. */
	ck_ok(cairn_manifest_encode(m, &json));
	assert_null(strstr(json, "consistency"));
	free(json);
	m->consistency = strdup("changed-during-read");
	back = round_trip(m);
	assert_manifest_equal(m, back);
	assert_string_equal(back->consistency, "changed-during-read");
	cairn_manifest_free(back);

	/* Made by a policy: its name and id. */
	m->policy = strdup("nightly");
	snprintf(m->policy_id, sizeof(m->policy_id), "0123456789abcdef0123456789abcdef");
	back = round_trip(m);
	assert_manifest_equal(m, back);
	cairn_manifest_free(back);
	cairn_manifest_free(m);
	cairn_manifest_free(NULL);
}

/* The encoded JSON of a valid manifest, as a jansson object to edit. */
static json_t *valid_json(void)
{
	struct cairn_manifest *m = make(2, "vol", 1795616404000000);
	add_tag(m, "t1");
	m->has_parent = true;
	th_fill(m->parent, sizeof(m->parent), 3);
	char *s = NULL;
	ck_ok(cairn_manifest_encode(m, &s));
	json_error_t err;
	json_t *j = json_loads(s, 0, &err);
	assert_non_null(j);
	free(s);
	cairn_manifest_free(m);
	return j;
}

static int parse_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	assert_non_null(s);
	struct cairn_manifest *m = NULL;
	int r = cairn_manifest_parse((const uint8_t *)s, strlen(s), &m);
	if (r == 0)
		assert_non_null(m);
	cairn_manifest_free(m);
	free(s);
	json_decref(j);
	return r;
}

static void expect_field(const char *field, json_t *value, int want)
{
	json_t *j = valid_json();
	if (value)
		json_object_set_new(j, field, value);
	else
		json_object_del(j, field);
	int r = parse_json(j);
	if (r != want)
		fail_msg("field %s: %d (%s), expected %d (%s)", field, r, cairn_error_name(r), want,
			 cairn_error_name(want));
}

static void test_parse_missing(void **state)
{
	(void)state;
	ck_ok(parse_json(valid_json()));
	static const char *const required[] = { "version", "id",	 "volume", "created", "size", "chunk_size",
						"tree_fanout", "levels", "root", "parent", "tags" };
	for (size_t i = 0; i < ARRAY_SIZE(required); i++)
		expect_field(required[i], NULL, CAIRN_ECORRUPT);
	/* Optional ones. */
	static const char *const optional[] = { "hostname", "source", "change_tracking", "stats", "consistency" };
	for (size_t i = 0; i < ARRAY_SIZE(optional); i++)
		expect_field(optional[i], NULL, 0);
	/* Manifests written before a stat existed still parse. */
	json_t *j = valid_json();
	json_t *stats = json_object_get(j, "stats");
	assert_non_null(stats);
	assert_int_equal(json_object_del(stats, "bytes_hashed"), 0);
	assert_int_equal(json_object_del(stats, "seconds"), 0);
	ck_ok(parse_json(j));
	/* consistency, when there, is a string. */
	expect_field("consistency", json_string("unchanged"), 0);
	expect_field("consistency", json_integer(1), CAIRN_ECORRUPT);
}

static void test_parse_bad_values(void **state)
{
	(void)state;
	/* Version. */
	expect_field("version", json_integer(2), CAIRN_EVERSION);
	expect_field("version", json_integer(0), CAIRN_EVERSION);
	expect_field("version", json_string("1"), CAIRN_ECORRUPT);
	/* Ids and the root. */
	expect_field("id", json_string("0123456789abcdef0123456789abcdeg"), CAIRN_ECORRUPT);
	expect_field("id", json_string("0123456789abcdef0123456789abcde"), CAIRN_ECORRUPT);
	expect_field("id", json_string("0123456789abcdef0123456789abcdef0"), CAIRN_ECORRUPT);
	expect_field("id", json_string(""), CAIRN_ECORRUPT);
	expect_field("id", json_integer(5), CAIRN_ECORRUPT);
	expect_field("root", json_string("zz"), CAIRN_ECORRUPT);
	expect_field("root", json_string("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeX"),
		     CAIRN_ECORRUPT);
	expect_field("parent", json_string("0123456789abcdef0123456789abcdeX"), CAIRN_ECORRUPT);
	expect_field("parent", json_string("0123"), CAIRN_ECORRUPT);
	expect_field("parent", json_integer(1), CAIRN_ECORRUPT);
	expect_field("parent", json_false(), CAIRN_ECORRUPT);
	expect_field("parent", json_null(), 0);
	/* Names. */
	expect_field("volume", json_string(""), CAIRN_ECORRUPT);
	expect_field("volume", json_null(), CAIRN_ECORRUPT);
	/* Times. */
	expect_field("created", json_string("yesterday"), CAIRN_ECORRUPT);
	expect_field("created", json_string(""), CAIRN_ECORRUPT);
	expect_field("created", json_string("2026-11-25T14:20:04.5Z"), 0);
	/* Geometry. */
	expect_field("size", json_integer(-1), CAIRN_ECORRUPT);
	expect_field("chunk_size", json_integer(1024), CAIRN_ECORRUPT);
	expect_field("chunk_size", json_integer(32 << 20), CAIRN_ECORRUPT);
	expect_field("tree_fanout", json_integer(128), CAIRN_ECORRUPT);
	expect_field("levels", json_integer(0), CAIRN_ECORRUPT);
	expect_field("levels", json_integer(17), CAIRN_ECORRUPT);
	/* Tags. */
	expect_field("tags", json_string("t"), CAIRN_ECORRUPT);
	expect_field("tags", json_pack("[s, i]", "a", 1), CAIRN_ECORRUPT);
	expect_field("tags", json_pack("[s, n]", "a"), CAIRN_ECORRUPT);
	expect_field("tags", json_array(), 0);
	/* Stats of the wrong type. */
	expect_field("stats", json_string("x"), CAIRN_ECORRUPT);
	/* A policy: name and id together, the id in canonical hex. */
	expect_field("policy", json_string("p"), CAIRN_ECORRUPT);
	expect_field("policy_id", json_string("0123456789abcdef0123456789abcdef"), CAIRN_ECORRUPT);
	static const char *const bad_ids[] = { "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef",
					       "0123456789abcdef0123456789abcdeg", "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_ids); i++) {
		json_t *j = valid_json();
		json_object_set_new(j, "policy", json_string("p"));
		json_object_set_new(j, "policy_id", json_string(bad_ids[i]));
		ck_err(parse_json(j), CAIRN_ECORRUPT);
	}
	json_t *j = valid_json();
	json_object_set_new(j, "policy", json_string(""));
	json_object_set_new(j, "policy_id", json_string("0123456789abcdef0123456789abcdef"));
	ck_err(parse_json(j), CAIRN_ECORRUPT);
	j = valid_json();
	json_object_set_new(j, "policy", json_integer(1));
	json_object_set_new(j, "policy_id", json_string("0123456789abcdef0123456789abcdef"));
	ck_err(parse_json(j), CAIRN_ECORRUPT);
	j = valid_json();
	json_object_set_new(j, "policy", json_string("p"));
	json_object_set_new(j, "policy_id", json_string("0123456789abcdef0123456789abcdef"));
	ck_ok(parse_json(j));
}

static void test_parse_not_json(void **state)
{
	(void)state;
	static const char *const bad[] = { "", "{", "[]", "null", "{\"version\":1", "\xff\xfe", "{} x" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cairn_manifest *m = NULL;
		ck_err(cairn_manifest_parse((const uint8_t *)bad[i], strlen(bad[i]), &m), CAIRN_ECORRUPT);
		assert_null(m);
	}
	/* A NUL inside the buffer is not part of any valid JSON. */
	json_t *j = valid_json();
	char *s = json_dumps(j, JSON_COMPACT);
	size_t n = strlen(s);
	s[n / 2] = 0;
	struct cairn_manifest *m = NULL;
	ck_err(cairn_manifest_parse((const uint8_t *)s, n, &m), CAIRN_ECORRUPT);
	free(s);
	json_decref(j);
}

/* ---- through a repository ---- */

/* Only dir and repo of the fixture are used here. */
static int setup(void **state)
{
	*state = th_codec_fx_new("manifest");
	return 0;
}

static int teardown(void **state)
{
	th_codec_fx_free(*state);
	return 0;
}

static void manifest_path(struct th_codec_fx *f, const struct cairn_manifest *m, char *buf, size_t size)
{
	char key[64];
	snprintf(key, sizeof(key), "backups/%s", m->idhex);
	th_obj_path(buf, size, f->dir, key);
}

static void test_write_read(void **state)
{
	struct th_codec_fx *f = *state;
	struct cairn_manifest *m = make(10, "vol-a", 1795616404000001);
	add_tag(m, "x");
	uint64_t bytes = 0;
	m->stats.bytes_stored = 5000;
	ck_ok(cairn_manifest_write(f->repo, m, &bytes));
	assert_true(bytes > CAIRN_AEAD_OVERHEAD);
	/* The manifest counts itself in what the backup stored. */
	assert_int_equal(m->stats.bytes_stored, 5000 + bytes);
	struct cairn_manifest *back = NULL;
	ck_ok(cairn_manifest_read(f->repo, m->id, &back));
	assert_manifest_equal(m, back);
	assert_int_equal(back->stats.bytes_stored, m->stats.bytes_stored);
	cairn_manifest_free(back);

	/* Write-once. */
	ck_err(cairn_manifest_write(f->repo, m, NULL), CAIRN_EEXIST);
	/* Unknown id. */
	uint8_t other[CAIRN_BACKUP_ID_LEN];
	th_fill(other, sizeof(other), 999);
	back = NULL;
	ck_err(cairn_manifest_read(f->repo, other, &back), CAIRN_ENOTFOUND);

	/* The object is encrypted: the volume name does not show. */
	char path[PATH_MAX];
	manifest_path(f, m, path, sizeof(path));
	size_t len;
	uint8_t *raw = th_read_file(path, &len);
	assert_null(memmem(raw, len, "vol-a", 5));

	/* Stored under another backup's name: refused (the id is bound). */
	char key[64], hex[33];
	cairn_hex_encode(other, sizeof(other), hex);
	snprintf(key, sizeof(key), "backups/%s", hex);
	ck_ok(cairn_store_put(f->repo->store, key, raw, len, 0));
	ck_err(cairn_manifest_read(f->repo, other, &back), CAIRN_ECORRUPT);
	/* Tampered: any flipped byte. */
	for (size_t i = 0; i < len; i += len / 7) {
		raw[i] ^= 4;
		th_write_file(path, raw, len);
		ck_err(cairn_manifest_read(f->repo, m->id, &back), CAIRN_ECORRUPT);
		raw[i] ^= 4;
	}
	th_write_file(path, raw, 10);
	ck_err(cairn_manifest_read(f->repo, m->id, &back), CAIRN_ECORRUPT);
	free(raw);
	cairn_manifest_free(m);
}

/* Where adding its own size gives bytes_stored one more digit, the number
 * stored still matches the object: every base from just below 10^6 up. */
static void test_stored_counts_itself(void **state)
{
	struct th_codec_fx *f = *state;
	for (uint64_t base = 999000, n = 0; base <= 1000000; base += 23, n++) {
		struct cairn_manifest *m = make(500 + n, "vol-digits", 1795616404000001);
		m->stats.bytes_stored = base;
		uint64_t bytes = 0;
		ck_ok(cairn_manifest_write(f->repo, m, &bytes));
		assert_int_equal(m->stats.bytes_stored, base + bytes);
		char path[PATH_MAX];
		manifest_path(f, m, path, sizeof(path));
		struct stat sb;
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal((uint64_t)sb.st_size, bytes);
		struct cairn_manifest *back = NULL;
		ck_ok(cairn_manifest_read(f->repo, m->id, &back));
		assert_int_equal(back->stats.bytes_stored, base + bytes);
		cairn_manifest_free(back);
		cairn_manifest_free(m);
	}
}

/* A manifest whose JSON names another backup than its object name, sealed
 * correctly: a writer bug that reading still catches. */
static void test_read_names_another(void **state)
{
	struct th_codec_fx *f = *state;
	struct cairn_manifest *m = make(20, "vol", 1795616404000000);
	char *json = NULL;
	ck_ok(cairn_manifest_encode(m, &json));
	uint8_t other[CAIRN_BACKUP_ID_LEN];
	th_fill(other, sizeof(other), 21);
	struct cairn_aead *a = NULL;
	ck_ok(cairn_repo_aead(f->repo, &a));
	struct cairn_buf sealed = CAIRN_BUF_INIT;
	ck_ok(cairn_repo_seal(a, 'M', other, sizeof(other), json, strlen(json), &sealed));
	char key[64], hex[33];
	cairn_hex_encode(other, sizeof(other), hex);
	snprintf(key, sizeof(key), "backups/%s", hex);
	ck_ok(cairn_store_put(f->repo->store, key, sealed.data, sealed.len, 0));
	struct cairn_manifest *back = NULL;
	ck_err(cairn_manifest_read(f->repo, other, &back), CAIRN_ECORRUPT);
	assert_null(back);
	/* Sealed as another object type: refused. */
	ck_ok(cairn_repo_seal(a, 'I', m->id, sizeof(m->id), json, strlen(json), &sealed));
	char path[PATH_MAX];
	manifest_path(f, m, path, sizeof(path));
	th_write_file(path, sealed.data, sealed.len);
	ck_err(cairn_manifest_read(f->repo, m->id, &back), CAIRN_ECORRUPT);
	cairn_buf_free(&sealed);
	cairn_aead_free(a);
	free(json);
	cairn_manifest_free(m);
}

static void test_list_load(void **state)
{
	struct th_codec_fx *f = *state;
	struct cairn_manifest_list l;
	ck_ok(cairn_manifest_list_load(f->repo, &l));
	assert_int_equal(l.n, 0);
	assert_int_equal(l.damaged, 0);
	assert_null(cairn_manifest_latest(&l, NULL));
	cairn_manifest_list_free(&l);

	/* Written out of order; two within one second, apart by 1 us. */
	static const int64_t created[] = { 1795616404000000, 1700000000000000, 1795616404000001,
					   1795616403999999, 1800000000000000, 1750000000500000 };
	static const char *const vols[] = { "a", "b", "a", "b", "c", "a" };
	for (size_t i = 0; i < ARRAY_SIZE(created); i++) {
		struct cairn_manifest *m = make(100 + i, vols[i], created[i]);
		ck_ok(cairn_manifest_write(f->repo, m, NULL));
		cairn_manifest_free(m);
	}
	/* A damaged one and a foreign file. */
	struct cairn_manifest *bad = make(200, "a", 1);
	ck_ok(cairn_manifest_write(f->repo, bad, NULL));
	char path[PATH_MAX];
	manifest_path(f, bad, path, sizeof(path));
	th_flip_file_byte(path, 20);
	th_obj_path(path, sizeof(path), f->dir, "backups/notes.txt");
	th_write_file(path, "hello", 5);

	ck_ok(cairn_manifest_list_load(f->repo, &l));
	assert_int_equal(l.n, ARRAY_SIZE(created));
	assert_int_equal(l.damaged, 1);
	for (size_t i = 1; i < l.n; i++)
		assert_true(l.v[i - 1]->created_us < l.v[i]->created_us);
	assert_true(l.v[0]->created_us == 1700000000000000);
	assert_true(l.v[2]->created_us == 1795616403999999);
	assert_true(l.v[3]->created_us == 1795616404000000);
	assert_true(l.v[4]->created_us == 1795616404000001);
	assert_true(cairn_manifest_latest(&l, NULL)->created_us == 1800000000000000);
	assert_true(cairn_manifest_latest(&l, "a")->created_us == 1795616404000001);
	assert_true(cairn_manifest_latest(&l, "b")->created_us == 1795616404000000 - 1);
	assert_null(cairn_manifest_latest(&l, "zzz"));
	cairn_manifest_list_free(&l);
	cairn_manifest_list_free(&l);
	cairn_manifest_free(bad);
}

/* Equal times: ordered by id, so every reader sees the same order. */
static void test_list_same_time(void **state)
{
	struct th_codec_fx *f = *state;
	for (uint64_t i = 0; i < 5; i++) {
		struct cairn_manifest *m = make(300 + i, "v", 1795616404000000);
		ck_ok(cairn_manifest_write(f->repo, m, NULL));
		cairn_manifest_free(m);
	}
	struct cairn_manifest_list l;
	ck_ok(cairn_manifest_list_load(f->repo, &l));
	assert_int_equal(l.n, 5);
	for (size_t i = 1; i < l.n; i++)
		assert_true(memcmp(l.v[i - 1]->id, l.v[i]->id, CAIRN_BACKUP_ID_LEN) < 0);
	cairn_manifest_list_free(&l);
}

/* A manifest readers would refuse as too large is not written; one read
 * back with a size above the cap is damage. */
static void test_size_cap(void **state)
{
	struct th_codec_fx *f = *state;
	struct cairn_manifest *m = make(500, "v", 1795616404000000);
	char tag[201];
	memset(tag, 't', 200);
	tag[200] = 0;
	for (int i = 0; i < 1000; i++) {
		snprintf(tag, 7, "%06d", i);
		tag[6] = 't';
		add_tag(m, tag);
	}
	/* A thousand tags of 200 bytes: well under the cap. */
	uint64_t bytes = 0;
	ck_ok(cairn_manifest_write(f->repo, m, &bytes));
	assert_true(bytes > 200000 && bytes < CAIRN_MANIFEST_OBJECT_MAX / 4);
	struct cairn_manifest *back = NULL;
	ck_ok(cairn_manifest_read(f->repo, m->id, &back));
	assert_int_equal(back->ntags, 1000);
	cairn_manifest_free(back);
	cairn_manifest_free(m);

	m = make(501, "v", 1795616404000000);
	for (int i = 0; i < 6000; i++) {
		snprintf(tag, 7, "%06d", i);
		tag[6] = 't';
		add_tag(m, tag);
	}
	ck_err(cairn_manifest_write(f->repo, m, NULL), CAIRN_EINVAL);
	assert_non_null(strstr(cairn_error_message(), "over the cap of 1048576 bytes for manifests"));
	char path[PATH_MAX];
	manifest_path(f, m, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);

	/* Planted: 2 MiB under a manifest's name is damage, named. */
	th_write_file(path, "x", 1);
	assert_int_equal(truncate(path, 2 << 20), 0);
	ck_err(cairn_manifest_read(f->repo, m->id, &back), CAIRN_ECORRUPT);
	assert_non_null(strstr(cairn_error_message(), "larger than the cap of 1048576 bytes for manifests"));
	struct cairn_manifest_list l;
	ck_ok(cairn_manifest_list_load(f->repo, &l));
	assert_int_equal(l.n, 1);
	assert_int_equal(l.damaged, 1);
	assert_non_null(strstr(l.bad[0].why, "is 2097152 bytes, over the cap"));
	cairn_manifest_list_free(&l);
	cairn_manifest_free(m);
}

/* A second spelling of a manifest's name (upper case, as a user's copy or
 * a case-folding tool might leave it) is no second backup. */
static void test_list_canonical_names(void **state)
{
	struct th_codec_fx *f = *state;
	struct cairn_manifest *m = make(400, "v", 1795616404000000);
	ck_ok(cairn_manifest_write(f->repo, m, NULL));
	char src[PATH_MAX], dst[PATH_MAX], key[80], upper[2 * CAIRN_BACKUP_ID_LEN + 1];
	snprintf(key, sizeof(key), "backups/%s", m->idhex);
	th_obj_path(src, sizeof(src), f->dir, key);
	size_t len = 0;
	uint8_t *obj = th_read_file(src, &len);
	for (size_t i = 0; i <= 2 * CAIRN_BACKUP_ID_LEN; i++)
		upper[i] = (char)toupper((unsigned char)m->idhex[i]);
	assert_string_not_equal(upper, m->idhex);
	snprintf(key, sizeof(key), "backups/%s", upper);
	th_obj_path(dst, sizeof(dst), f->dir, key);
	th_write_file(dst, obj, len);
	snprintf(key, sizeof(key), "backups/%s.bak", m->idhex);
	th_obj_path(dst, sizeof(dst), f->dir, key);
	th_write_file(dst, obj, len);
	struct cairn_manifest_list l;
	ck_ok(cairn_manifest_list_load(f->repo, &l));
	assert_int_equal(l.n, 1);
	assert_int_equal(l.damaged, 0);
	assert_string_equal(l.v[0]->idhex, m->idhex);
	cairn_manifest_list_free(&l);
	free(obj);
	cairn_manifest_free(m);
}

/* ---- resolve (on a list built in memory) ---- */

static struct cairn_manifest *with_id(const char *hex, const char *vol, int64_t created)
{
	struct cairn_manifest *m = make(1, vol, created);
	ck_ok(cairn_hex_decode(hex, m->id, CAIRN_BACKUP_ID_LEN));
	snprintf(m->idhex, sizeof(m->idhex), "%s", hex);
	return m;
}

static void test_resolve(void **state)
{
	(void)state;
	struct cairn_manifest_list l = { 0 };
	struct cairn_manifest *m = NULL;
	ck_err(cairn_manifest_resolve(&l, "latest", &m), CAIRN_ENOTFOUND);
	ck_err(cairn_manifest_resolve(&l, "vol@latest", &m), CAIRN_ENOTFOUND);
	ck_err(cairn_manifest_resolve(&l, "ab", &m), CAIRN_ENOTFOUND);

	l.n = 5;
	l.v = calloc(l.n, sizeof(*l.v));
	assert_non_null(l.v);
	/* Oldest first, as list_load gives them. */
	l.v[0] = with_id("abcd0000000000000000000000000000", "db", 100);
	l.v[1] = with_id("abce0000000000000000000000000000", "web", 200);
	l.v[2] = with_id("1234567890abcdef1234567890abcdef", "db", 300);
	l.v[3] = with_id("ffff0000000000000000000000000001", "we@b", 400);
	l.v[4] = with_id("0000000000000000000000000000abcd", "web", 500);

	ck_ok(cairn_manifest_resolve(&l, "latest", &m));
	assert_ptr_equal(m, l.v[4]);
	ck_ok(cairn_manifest_resolve(&l, "db@latest", &m));
	assert_ptr_equal(m, l.v[2]);
	ck_ok(cairn_manifest_resolve(&l, "web@latest", &m));
	assert_ptr_equal(m, l.v[4]);
	ck_ok(cairn_manifest_resolve(&l, "we@b@latest", &m));
	assert_ptr_equal(m, l.v[3]);
	ck_err(cairn_manifest_resolve(&l, "nosuch@latest", &m), CAIRN_ENOTFOUND);

	/* Full ids, unique prefixes, any case. */
	ck_ok(cairn_manifest_resolve(&l, "1234567890abcdef1234567890abcdef", &m));
	assert_ptr_equal(m, l.v[2]);
	ck_ok(cairn_manifest_resolve(&l, "12", &m));
	assert_ptr_equal(m, l.v[2]);
	ck_ok(cairn_manifest_resolve(&l, "ABCD", &m));
	assert_ptr_equal(m, l.v[0]);
	ck_ok(cairn_manifest_resolve(&l, "f", &m));
	assert_ptr_equal(m, l.v[3]);
	ck_ok(cairn_manifest_resolve(&l, "abce", &m));
	assert_ptr_equal(m, l.v[1]);

	/* Ambiguous prefixes. */
	ck_err(cairn_manifest_resolve(&l, "abc", &m), CAIRN_EAMBIGUOUS);
	ck_err(cairn_manifest_resolve(&l, "ab", &m), CAIRN_EAMBIGUOUS);
	ck_err(cairn_manifest_resolve(&l, "a", &m), CAIRN_EAMBIGUOUS);

	/* Not found: no match, empty, longer than an id, "@latest" alone. */
	ck_err(cairn_manifest_resolve(&l, "abcf", &m), CAIRN_ENOTFOUND);
	ck_err(cairn_manifest_resolve(&l, "", &m), CAIRN_ENOTFOUND);
	ck_err(cairn_manifest_resolve(&l, "1234567890abcdef1234567890abcdef0", &m), CAIRN_ENOTFOUND);
	ck_err(cairn_manifest_resolve(&l, "@latest", &m), CAIRN_ENOTFOUND);
	ck_err(cairn_manifest_resolve(&l, "zz", &m), CAIRN_ENOTFOUND);
	cairn_manifest_list_free(&l);
}

/* Group objects whose member or config names could name a file outside
 * the directory group restore writes to are damage (CAIRN_ECORRUPT). */
static int parse_group_named(const char *member, const char *config)
{
	struct cairn_group_member mem[2] = { { .volume = "a.img" }, { .volume = (char *)member } };
	for (int i = 0; i < 2; i++)
		memset(mem[i].backup_hex, 'a' + i, 32);
	uint8_t doc[] = "<x/>";
	struct cairn_group_backup g = { .name = "app", .created_us = 1764547200123456, .hostname = "h",
					.members = mem, .nmembers = 2, .config_name = (char *)config,
					.config = doc, .config_len = 4 };
	memset(g.idhex, 'c', 32);
	char *json = NULL;
	ck_ok(cairn_group_backup_encode(&g, &json));
	struct cairn_group_backup *back = NULL;
	int r = cairn_group_backup_parse((const uint8_t *)json, strlen(json), &back);
	assert_true(r < 0 || back);
	cairn_group_backup_free(back);
	free(json);
	return r;
}

static void test_group_names(void **state)
{
	(void)state;
	ck_ok(parse_group_named("b.img", "app.xml"));
	ck_ok(parse_group_named("b.img", "app@2.xml")); /* a file name may hold '@' */
	static const char *const bad[] = { "../b.img", "..", ".", "", "a/b", "/etc/shadow", "b\x01", "b@c" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_err(parse_group_named(bad[i], "app.xml"), CAIRN_ECORRUPT);
		assert_non_null(strstr(cairn_error_message(), "invalid member volume name"));
	}
	static const char *const badc[] = { "../app.xml", "..", ".", "", "etc/app.xml", "a\nb" };
	for (size_t i = 0; i < ARRAY_SIZE(badc); i++) {
		ck_err(parse_group_named("b.img", badc[i]), CAIRN_ECORRUPT);
		assert_non_null(strstr(cairn_error_message(), "invalid config name"));
	}
	char long_name[CAIRN_NAME_MAX + 2];
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	ck_err(parse_group_named(long_name, "app.xml"), CAIRN_ECORRUPT);
	assert_non_null(strstr(cairn_error_message(), "longer than 200 bytes"));
	assert_null(cairn_name_problem("vm.img", false));
	assert_non_null(cairn_name_problem("vm@x", false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_parse_missing),
		cmocka_unit_test(test_parse_bad_values),
		cmocka_unit_test(test_parse_not_json),
		cmocka_unit_test_setup_teardown(test_write_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stored_counts_itself, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_names_another, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_same_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_canonical_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_cap, setup, teardown),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_group_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
