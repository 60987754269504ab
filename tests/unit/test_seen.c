/* state/seen: the record of backups seen notices vanished ones, never
 * those this host forgot, stays bounded per volume, and does not expect
 * a backup recorded after a listing began. */
#include "helpers.h"

#include "state/seen.h"
#include "util/hex.h"
#include "util/time.h"

#define REPO "0123456789abcdef0123456789abcdef"
#define OTHER "fedcba9876543210fedcba9876543210"

/* A listing of backups: seeds and volumes, created one second apart. */
struct listing {
	struct cairn_manifest m[64];
	struct cairn_manifest *v[64];
	struct cairn_damaged_manifest bad[4];
	struct cairn_manifest_list l;
};

static void add(struct listing *x, uint64_t seed, const char *volume)
{
	struct cairn_manifest *m = &x->m[x->l.n];
	memset(m, 0, sizeof(*m));
	th_fill(m->id, sizeof(m->id), seed);
	cairn_hex_encode(m->id, sizeof(m->id), m->idhex);
	m->volume = (char *)volume;
	m->created_us = 1700000000000000 + (int64_t)seed * 1000000;
	x->v[x->l.n] = m;
	x->l.v = x->v;
	x->l.n++;
}

static void hex_of(uint64_t seed, char out[33])
{
	uint8_t id[16];
	th_fill(id, sizeof(id), seed);
	cairn_hex_encode(id, sizeof(id), out);
}

static int64_t later(void)
{
	return cairn_wall_now_us() + 1000000;
}

static struct cairn_state *st_of(void **state)
{
	return ((struct th_state_fx *)*state)->st;
}

static int rows(struct cairn_state *st, const char *where)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM seen_backups WHERE %s", where);
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(cairn_state_db(st), sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return n;
}

static void test_vanished_and_forgotten(void **state)
{
	struct cairn_state *st = st_of(state);
	struct listing x = { 0 };
	for (uint64_t i = 1; i <= 3; i++)
		add(&x, i, "v");
	add(&x, 10, "w");
	struct cairn_seen_report r;
	ck_ok(cairn_seen_observe(st, REPO, &x.l, later(), &r));
	assert_int_equal(r.vanished, 0);
	assert_int_equal(rows(st, "1"), 4);

	/* The newest of v deleted by hand: reported, again and again. */
	struct listing y = { 0 };
	add(&y, 1, "v");
	add(&y, 2, "v");
	add(&y, 10, "w");
	char id3[33];
	hex_of(3, id3);
	for (int pass = 0; pass < 2; pass++) {
		ck_ok(cairn_seen_observe(st, REPO, &y.l, later(), &r));
		assert_int_equal(r.vanished, 1);
		assert_string_equal(r.id, id3);
		assert_string_equal(r.volume, "v");
		assert_true(r.created_us == x.m[2].created_us);
	}
	/* A listing that began before it was recorded does not expect it. */
	ck_ok(cairn_seen_observe(st, REPO, &y.l, 1, &r));
	assert_int_equal(r.vanished, 0);
	/* Another repository's record is its own. */
	ck_ok(cairn_seen_observe(st, OTHER, &y.l, later(), &r));
	assert_int_equal(r.vanished, 0);

	/* Forgotten here: 2 is not reported once gone; acknowledging 3
	 * stops its report. */
	char id2[33];
	hex_of(2, id2);
	ck_ok(cairn_seen_forgotten(st, REPO, id2, "v", x.m[1].created_us));
	struct listing z = { 0 };
	add(&z, 1, "v");
	add(&z, 10, "w");
	ck_ok(cairn_seen_observe(st, REPO, &z.l, later(), &r));
	assert_int_equal(r.vanished, 1);
	assert_string_equal(r.id, id3);
	assert_int_equal(cairn_seen_acknowledge(st, REPO, id3), 1);
	assert_int_equal(cairn_seen_acknowledge(st, REPO, id3), 0);
	assert_int_equal(cairn_seen_acknowledge(st, REPO, "00000000000000000000000000000000"), 0);
	ck_ok(cairn_seen_observe(st, REPO, &z.l, later(), &r));
	assert_int_equal(r.vanished, 0);
	/* A stale listing that still shows a backup forgotten meanwhile does
	 * not make it live again. */
	ck_ok(cairn_seen_observe(st, REPO, &x.l, later(), &r));
	ck_ok(cairn_seen_observe(st, REPO, &z.l, later(), &r));
	assert_int_equal(r.vanished, 0);

	/* A whole volume gone; a damaged manifest counts as there. */
	struct listing d = { 0 };
	add(&d, 1, "v");
	snprintf(d.bad[0].idhex, sizeof(d.bad[0].idhex), "%s", z.m[1].idhex);
	d.l.bad = d.bad;
	d.l.damaged = 1;
	ck_ok(cairn_seen_observe(st, REPO, &d.l, later(), &r));
	assert_int_equal(r.vanished, 0);
	d.l.damaged = 0;
	ck_ok(cairn_seen_observe(st, REPO, &d.l, later(), &r));
	assert_int_equal(r.vanished, 1);
	assert_string_equal(r.volume, "w");

	/* One backup recorded by the command that made it. */
	struct listing n = { 0 };
	add(&n, 20, "v");
	ck_ok(cairn_seen_record(st, REPO, &n.m[0]));
	ck_ok(cairn_seen_observe(st, REPO, &d.l, later(), &r));
	assert_int_equal(r.vanished, 2); /* 20 of v and 10 of w */
	assert_string_equal(r.id, n.m[0].idhex);
}

/* The record keeps the newest CAIRN_SEEN_PER_VOLUME of each volume:
 * bounded by the volumes, not the backups, and always the newest. */
static void test_bounded(void **state)
{
	struct cairn_state *st = st_of(state);
	struct listing x = { 0 };
	for (uint64_t i = 1; i <= 30; i++)
		add(&x, i, "a");
	for (uint64_t i = 31; i <= 40; i++)
		add(&x, i, "b");
	add(&x, 41, "c");
	struct cairn_seen_report r;
	ck_ok(cairn_seen_observe(st, REPO, &x.l, later(), &r));
	assert_int_equal(rows(st, "volume = 'a'"), CAIRN_SEEN_PER_VOLUME);
	assert_int_equal(rows(st, "volume = 'b'"), CAIRN_SEEN_PER_VOLUME);
	assert_int_equal(rows(st, "volume = 'c'"), 1);
	char newest[33], sql[128];
	hex_of(30, newest);
	snprintf(sql, sizeof(sql), "id = '%s'", newest);
	assert_int_equal(rows(st, sql), 1);
	/* Forgets of old backups add nothing that outlives the window. */
	char old[33];
	hex_of(2, old);
	ck_ok(cairn_seen_forgotten(st, REPO, old, "a", x.m[1].created_us));
	assert_int_equal(rows(st, "volume = 'a'"), CAIRN_SEEN_PER_VOLUME);
	/* Older backups deleted: beyond the window, not noticed. */
	x.l.n = 0;
	for (uint64_t i = 20; i <= 41; i++)
		add(&x, i, i <= 30 ? "a" : i <= 40 ? "b" : "c");
	ck_ok(cairn_seen_observe(st, REPO, &x.l, later(), &r));
	assert_int_equal(r.vanished, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vanished_and_forgotten, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_bounded, th_state_setup, th_state_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
