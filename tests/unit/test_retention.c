/* engine/retention: restic's keep rules against hand-computed tables, and
 * forget over a repository with holds and group backups. */
#define TH_WANT_REPO
#include "helpers.h"

#include "engine/retention.h"
#include "repo/group.h"
#include "repo/hold.h"
#include "repo/manifest.h"
#include "util/cleanup.h"
#include "util/hex.h"

#include <time.h>

static int64_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi };
	return (int64_t)timegm(&tm) * 1000000;
}

/* Ten backups, listed newest first (index = position in that order). */
static int64_t series[10];

static void init_series(void)
{
	series[0] = utc(2024, 1, 10, 12, 0); /* Wed, ISO 2024-W02 */
	series[1] = utc(2024, 1, 10, 8, 0);
	series[2] = utc(2024, 1, 9, 23, 30);
	series[3] = utc(2024, 1, 9, 10, 0);
	series[4] = utc(2024, 1, 8, 10, 0);   /* Mon, 2024-W02 */
	series[5] = utc(2024, 1, 1, 10, 0);   /* Mon, 2024-W01 */
	series[6] = utc(2023, 12, 31, 10, 0); /* Sun, 2023-W52 */
	series[7] = utc(2023, 12, 24, 10, 0); /* Sun, 2023-W51 */
	series[8] = utc(2023, 11, 15, 10, 0);
	series[9] = utc(2022, 6, 1, 10, 0);
}

static int setup_tz(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	init_series();
	return 0;
}

/* Applies r to the series, given to the function in a scrambled order, and
 * compares the kept set with want (a bit per newest-first position). */
static void expect(const struct cairn_keep_rules *r, unsigned want, const char *what)
{
	static const size_t scramble[10] = { 7, 2, 9, 0, 5, 3, 8, 1, 6, 4 };
	int64_t t[10];
	unsigned keep[10];
	for (size_t i = 0; i < 10; i++)
		t[i] = series[scramble[i]];
	ck_ok(cairn_retention_apply(t, NULL, 10, r, series[0] / 1000000 + 3600, keep));
	unsigned got = 0;
	for (size_t i = 0; i < 10; i++)
		if (keep[i])
			got |= 1u << scramble[i];
	if (got != want) {
		char g[16], w[16];
		for (int i = 0; i < 10; i++) {
			g[i] = (got >> i) & 1 ? 'K' : '.';
			w[i] = (want >> i) & 1 ? 'K' : '.';
		}
		g[10] = w[10] = 0;
		fail_msg("%s: kept %s, expected %s (newest first)", what, g, w);
	}
}

#define B(...) bits((int[]){ __VA_ARGS__, -1 })
static unsigned bits(const int *v)
{
	unsigned b = 0;
	for (; *v >= 0; v++)
		b |= 1u << *v;
	return b;
}

static void test_keep_table(void **state)
{
	(void)state;
	struct {
		struct cairn_keep_rules r;
		unsigned want;
		const char *what;
	} t[] = {
		{ { .last = 3 }, B(0, 1, 2), "last 3" },
		{ { .last = 20 }, B(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), "last 20" },
		{ { .hourly = 2 }, B(0, 1), "hourly 2" },
		{ { .daily = 3 }, B(0, 2, 4), "daily 3: one per day, newest of each" },
		{ { .daily = 20 }, B(0, 2, 4, 5, 6, 7, 8, 9), "daily 20: every day, counts left" },
		{ { .daily = -1 }, B(0, 2, 4, 5, 6, 7, 8, 9), "daily unlimited" },
		{ { .weekly = 2 }, B(0, 5), "weekly 2 (ISO weeks: 01-08 Monday is W02 with 01-10)" },
		{ { .weekly = 4 }, B(0, 5, 6, 7), "weekly 4 (12-31 Sunday is 2023-W52)" },
		{ { .monthly = 3 }, B(0, 6, 8), "monthly 3" },
		{ { .monthly = 2 }, B(0, 6), "monthly 2" },
		{ { .yearly = 10 }, B(0, 6, 9), "yearly 10" },
		{ { .yearly = 1 }, B(0), "yearly 1" },
		{ { .within = { .days = 1 } }, B(0, 1, 2), "within 1d of the newest" },
		{ { .within = { .days = 2 } }, B(0, 1, 2, 3), "within 2d (01-08 10:00 is before 01-08 12:00)" },
		{ { .within = { .hours = 4 } }, B(0), "within 4h: 08:00 is not after 08:00" },
		{ { .within = { .hours = 5 } }, B(0, 1), "within 5h" },
		{ { .within = { .months = 1 } }, B(0, 1, 2, 3, 4, 5, 6, 7), "within 1m (months)" },
		{ { .within = { .years = 1, .months = 6 } }, B(0, 1, 2, 3, 4, 5, 6, 7, 8), "within 1y6m" },
		{ { .last = 1, .monthly = 2 }, B(0, 6), "last 1 + monthly 2" },
		{ { .last = 2, .weekly = 3 }, B(0, 1, 5, 6), "last 2 + weekly 3" },
		{ { .daily = 2, .within = { .days = 1 } }, B(0, 1, 2), "daily 2 + within 1d" },
		{ { .hourly = 100 }, B(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), "hourly 100" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		expect(&t[i].r, t[i].want, t[i].what);
}

static void test_keep_reasons_and_edges(void **state)
{
	(void)state;
	/* Reasons accumulate; the oldest is kept by a rule with counts left. */
	int64_t t[3] = { utc(2024, 5, 1, 10, 0), utc(2024, 5, 1, 9, 0), utc(2024, 5, 2, 10, 0) };
	unsigned keep[3];
	struct cairn_keep_rules r = { .last = 1, .daily = 5 };
	ck_ok(cairn_retention_apply(t, NULL, 3, &r, t[2] / 1000000, keep));
	assert_int_equal(keep[2], CAIRN_KEEP_LAST | CAIRN_KEEP_DAILY);
	assert_int_equal(keep[0], CAIRN_KEEP_DAILY);
	assert_int_equal(keep[1], CAIRN_KEEP_DAILY); /* same day as [0], but the oldest */
	char buf[128];
	cairn_keep_reasons(keep[2], &r, buf, sizeof(buf));
	assert_string_equal(buf, "last, daily");
	/* Equal times: the order key decides which is "newest". */
	int64_t same[2] = { t[0], t[0] };
	uint64_t order[2] = { 1, 2 };
	struct cairn_keep_rules one = { .last = 1 };
	ck_ok(cairn_retention_apply(same, order, 2, &one, t[0] / 1000000, keep));
	assert_int_equal(keep[0], 0);
	assert_int_equal(keep[1], CAIRN_KEEP_LAST);
	/* A backup in the future is not "the newest" for within. */
	int64_t fut[2] = { utc(2030, 1, 1, 0, 0), utc(2024, 1, 1, 0, 0) };
	struct cairn_keep_rules w = { .within = { .days = 1 } };
	ck_ok(cairn_retention_apply(fut, NULL, 2, &w, utc(2024, 1, 1, 1, 0) / 1000000, keep));
	assert_int_equal(keep[0], CAIRN_KEEP_WITHIN);
	assert_int_equal(keep[1], CAIRN_KEEP_WITHIN);
	/* Empty rules are refused; no backups is fine. */
	struct cairn_keep_rules none = { 0 };
	ck_err(cairn_retention_apply(t, NULL, 3, &none, 0, keep), CAIRN_EINVAL);
	ck_ok(cairn_retention_apply(NULL, NULL, 0, &one, 0, keep));
	/* Any non-empty rule keeps the newest. */
	struct cairn_keep_rules each[] = { { .last = 1 },    { .hourly = 1 },  { .daily = 1 },
					   { .weekly = 1 },  { .monthly = 1 }, { .yearly = 1 },
					   { .within = { .hours = 1 } } };
	for (size_t i = 0; i < ARRAY_SIZE(each); i++) {
		ck_ok(cairn_retention_apply(t, NULL, 3, &each[i], t[2] / 1000000 + 100 * 86400, keep));
		assert_true(keep[2] != 0);
	}
}

static void test_parse(void **state)
{
	(void)state;
	struct cairn_keep_within w;
	ck_ok(cairn_keep_within_parse("7d", &w));
	assert_int_equal(w.days, 7);
	ck_ok(cairn_keep_within_parse("1y2m3d4h", &w));
	assert_true(w.years == 1 && w.months == 2 && w.days == 3 && w.hours == 4);
	char buf[64];
	cairn_keep_within_format(&w, buf, sizeof(buf));
	assert_string_equal(buf, "1y2m3d4h");
	static const char *const bad[] = { "", "7", "d", "7x", "1d1d", "-1d", "0d", "1.5d", "7d ", " 7d", "7dd",
					   "99999999999d" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_err(cairn_keep_within_parse(bad[i], &w), CAIRN_EINVAL);
	int n;
	ck_ok(cairn_keep_count_parse("3", &n));
	assert_int_equal(n, 3);
	ck_ok(cairn_keep_count_parse("unlimited", &n));
	assert_int_equal(n, -1);
	static const char *const badn[] = { "", "0", "-1", "x", "3x", "1e3", " 3" };
	for (size_t i = 0; i < ARRAY_SIZE(badn); i++)
		ck_err(cairn_keep_count_parse(badn[i], &n), CAIRN_EINVAL);
	struct cairn_keep_rules r = { .last = 2, .daily = -1, .within = { .days = 7 } };
	cairn_keep_rules_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "2 last, all daily, within 7d");
}

/* ---- forget over a repository ---- */

struct repo_fx {
	char dir[PATH_MAX];
	struct cairn_repo *repo;
};

static int repo_setup(void **state)
{
	setup_tz(state);
	struct repo_fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->repo = th_repo_init(f->dir, sizeof(f->dir), "forget", 4096);
	*state = f;
	return 0;
}

static int repo_teardown(void **state)
{
	struct repo_fx *f = *state;
	cairn_repo_free(f->repo);
	th_rm_rf(f->dir);
	free(f);
	return 0;
}

/* The policy the next manifests are made by (its id), or NULL: by hand. */
static const char *made_by;

static void put_manifest_id(struct cairn_repo *repo, const uint8_t id[CAIRN_BACKUP_ID_LEN], const char *volume,
			    int64_t created_us, const uint8_t *group)
{
	struct cairn_manifest m = { 0 };
	memcpy(m.id, id, sizeof(m.id));
	cairn_hex_encode(m.id, sizeof(m.id), m.idhex);
	m.volume = (char *)volume;
	m.hostname = "h";
	m.source = "/dev/x";
	m.created_us = created_us;
	m.size = 4096;
	m.chunk_size = 4096;
	m.fanout = CAIRN_TREE_FANOUT;
	m.levels = 1;
	m.change_tracking = "full-read";
	if (group) {
		m.in_group = true;
		memcpy(m.group_id, group, CAIRN_BACKUP_ID_LEN);
	}
	if (made_by) {
		m.policy = "p";
		snprintf(m.policy_id, sizeof(m.policy_id), "%s", made_by);
	}
	ck_ok(cairn_manifest_write(repo, &m, NULL));
}

static void put_manifest(struct cairn_repo *repo, uint64_t seed, const char *volume, int64_t created_us,
			 const uint8_t *group, uint8_t ret_id[CAIRN_BACKUP_ID_LEN])
{
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	th_fill(id, sizeof(id), seed);
	put_manifest_id(repo, id, volume, created_us, group);
	if (ret_id)
		memcpy(ret_id, id, CAIRN_BACKUP_ID_LEN);
}

static void put_group(struct cairn_repo *repo, uint64_t seed, const char *name, int64_t created_us, uint64_t m1,
		      uint64_t m2)
{
	struct cairn_group_backup g = { 0 };
	th_fill(g.id, sizeof(g.id), seed);
	cairn_hex_encode(g.id, sizeof(g.id), g.idhex);
	g.name = (char *)name;
	g.created_us = created_us;
	g.hostname = "h";
	struct cairn_group_member mem[2] = { { .volume = "a" }, { .volume = "b" } };
	put_manifest(repo, m1, "a", created_us, g.id, mem[0].backup);
	put_manifest(repo, m2, "b", created_us, g.id, mem[1].backup);
	cairn_hex_encode(mem[0].backup, CAIRN_BACKUP_ID_LEN, mem[0].backup_hex);
	cairn_hex_encode(mem[1].backup, CAIRN_BACKUP_ID_LEN, mem[1].backup_hex);
	g.members = mem;
	g.nmembers = 2;
	ck_ok(cairn_group_backup_write(repo, &g, NULL));
}

static bool exists_id(struct cairn_repo *repo, const char *prefix, const uint8_t id[CAIRN_BACKUP_ID_LEN])
{
	char hex[2 * CAIRN_BACKUP_ID_LEN + 1], key[80];
	uint64_t size;
	cairn_hex_encode(id, CAIRN_BACKUP_ID_LEN, hex);
	snprintf(key, sizeof(key), "%s/%s", prefix, hex);
	return cairn_store_stat(repo->store, key, &size) == 0;
}

static bool exists(struct cairn_repo *repo, const char *prefix, uint64_t seed)
{
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	th_fill(id, sizeof(id), seed);
	return exists_id(repo, prefix, id);
}

struct seen {
	size_t n, kept;
};

static void count_decision(const struct cairn_forget_item *it, void *ud)
{
	struct seen *s = ud;
	s->n++;
	s->kept += it->keep != 0;
}

static void test_forget_holds_and_groups(void **state)
{
	struct repo_fx *f = *state;
	struct cairn_repo *repo = f->repo;
	/* Volume v: five daily backups (seeds 1..5, 1 oldest); volume w: two. */
	for (int i = 1; i <= 5; i++)
		put_manifest(repo, (uint64_t)i, "v", utc(2024, 3, i, 12, 0), NULL, NULL);
	put_manifest(repo, 11, "w", utc(2024, 3, 1, 12, 0), NULL, NULL);
	put_manifest(repo, 12, "w", utc(2024, 3, 2, 12, 0), NULL, NULL);
	/* Group g: three group backups with two members each. */
	put_group(repo, 100, "g", utc(2024, 3, 1, 0, 0), 101, 102);
	put_group(repo, 200, "g", utc(2024, 3, 2, 0, 0), 201, 202);
	put_group(repo, 300, "g", utc(2024, 3, 3, 0, 0), 301, 302);
	/* Hold backup 2 of v and a member of group backup 100. */
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	th_fill(id, sizeof(id), 2);
	ck_ok(cairn_hold_put(repo, id, "audit"));
	th_fill(id, sizeof(id), 102);
	ck_ok(cairn_hold_put(repo, id, NULL));

	/* Dry run: nothing deleted, every unit reported. */
	struct seen s = { 0 };
	struct cairn_forget_opts o = { .rules = { .last = 1 }, .dry_run = true, .decision = count_decision, .ud = &s };
	struct cairn_forget_stats st;
	ck_ok(cairn_forget_run(repo, &o, &st));
	assert_int_equal(s.n, 5 + 2 + 3);
	assert_int_equal(st.forgotten, 3 + 1 + 1); /* v: 1,3,4; w: 11; g: 200 */
	assert_true(exists(repo, "backups", 1));

	/* --volume v only: members of group backups are not touched. */
	o = (struct cairn_forget_opts){ .volume = "v", .rules = { .last = 2 } };
	ck_ok(cairn_forget_run(repo, &o, &st));
	assert_int_equal(st.forgotten, 2); /* 1 and 3; 2 is held */
	assert_false(exists(repo, "backups", 1));
	assert_true(exists(repo, "backups", 2));
	assert_false(exists(repo, "backups", 3));
	assert_true(exists(repo, "backups", 4) && exists(repo, "backups", 5));
	assert_true(exists(repo, "backups", 11) && exists(repo, "backups", 12));
	o = (struct cairn_forget_opts){ .volume = "a", .rules = { .last = 1 } };
	ck_ok(cairn_forget_run(repo, &o, &st)); /* only group members: nothing to do, no error */
	assert_int_equal(st.forgotten, 0);
	assert_true(exists(repo, "backups", 101));

	/* The group: the held member keeps its group backup. */
	o = (struct cairn_forget_opts){ .group = "g", .rules = { .last = 1 } };
	ck_ok(cairn_forget_run(repo, &o, &st));
	assert_int_equal(st.forgotten, 1);
	assert_int_equal(st.groups_deleted, 1);
	assert_int_equal(st.manifests_deleted, 2);
	assert_false(exists(repo, "groups", 200));
	assert_false(exists(repo, "backups", 201) || exists(repo, "backups", 202));
	assert_true(exists(repo, "groups", 100) && exists(repo, "backups", 101));
	assert_true(exists(repo, "groups", 300));

	/* Release, and it goes. */
	th_fill(id, sizeof(id), 102);
	ck_ok(cairn_hold_delete(repo, id));
	ck_err(cairn_hold_delete(repo, id), CAIRN_ENOTFOUND);
	ck_ok(cairn_forget_run(repo, &o, &st));
	assert_int_equal(st.forgotten, 1);
	assert_false(exists(repo, "groups", 100));

	/* A group object deleted by a crash midway leaves plain backups. */
	put_group(repo, 400, "g", utc(2024, 3, 4, 0, 0), 401, 402);
	char key[80], hex[33];
	th_fill(id, sizeof(id), 400);
	cairn_hex_encode(id, sizeof(id), hex);
	snprintf(key, sizeof(key), "groups/%s", hex);
	ck_ok(cairn_store_del(repo->store, key));
	o = (struct cairn_forget_opts){ .volume = "a", .rules = { .last = 1 } };
	ck_ok(cairn_forget_run(repo, &o, &st));
	assert_int_equal(st.forgotten, 0); /* 401 is the only plain backup of a: kept */
	assert_true(exists(repo, "backups", 401));

	/* Bad input. */
	o = (struct cairn_forget_opts){ .volume = "nosuch", .rules = { .last = 1 } };
	ck_err(cairn_forget_run(repo, &o, &st), CAIRN_ENOTFOUND);
	o = (struct cairn_forget_opts){ .group = "nosuch", .rules = { .last = 1 } };
	ck_err(cairn_forget_run(repo, &o, &st), CAIRN_ENOTFOUND);
	o = (struct cairn_forget_opts){ .volume = "v" };
	ck_err(cairn_forget_run(repo, &o, &st), CAIRN_EINVAL);
}

#define POLICY_P "00000000000000000000000000000001"
#define POLICY_Q "00000000000000000000000000000002"

/* A policy's rules count and forget only its own backups, unless its scope
 * is the whole volume. */
static void test_forget_policy(void **state)
{
	struct repo_fx *f = *state;
	struct cairn_repo *repo = f->repo;
	/* Volume v: by hand 1 and 2, policy P 3..6, policy Q 7; newest last. */
	for (int i = 1; i <= 7; i++) {
		made_by = i <= 2 ? NULL : i <= 6 ? POLICY_P : POLICY_Q;
		put_manifest(repo, (uint64_t)i, "v", utc(2024, 3, i, 12, 0), NULL, NULL);
	}
	/* Group g: one group backup by hand, two by P. */
	made_by = NULL;
	put_group(repo, 100, "g", utc(2024, 3, 1, 0, 0), 101, 102);
	made_by = POLICY_P;
	put_group(repo, 200, "g", utc(2024, 3, 2, 0, 0), 201, 202);
	put_group(repo, 300, "g", utc(2024, 3, 3, 0, 0), 301, 302);
	made_by = NULL;

	struct seen s = { 0 };
	struct cairn_forget_opts o = { .volume = "v", .policy_id = POLICY_P, .policy = "p", .rules = { .last = 2 },
				       .decision = count_decision, .ud = &s };
	struct cairn_forget_stats st;
	ck_ok(cairn_forget_run(repo, &o, &st));
	assert_int_equal(s.n, 4); /* only P's are considered */
	assert_int_equal(st.forgotten, 2);
	assert_false(exists(repo, "backups", 3) || exists(repo, "backups", 4));
	for (int i = 1; i <= 7; i++)
		if (i != 3 && i != 4)
			assert_true(exists(repo, "backups", (uint64_t)i));
	/* Its group backups likewise. */
	o = (struct cairn_forget_opts){ .group = "g", .policy_id = POLICY_P, .rules = { .last = 1 } };
	ck_ok(cairn_forget_run(repo, &o, &st));
	assert_int_equal(st.forgotten, 1);
	assert_false(exists(repo, "groups", 200));
	assert_true(exists(repo, "groups", 100) && exists(repo, "groups", 300));
	/* A policy that made nothing of that volume. */
	o = (struct cairn_forget_opts){ .volume = "w", .policy_id = POLICY_P, .policy = "p", .rules = { .last = 1 } };
	put_manifest(repo, 50, "w", utc(2024, 3, 1, 12, 0), NULL, NULL);
	ck_err(cairn_forget_run(repo, &o, &st), CAIRN_ENOTFOUND);
	assert_non_null(strstr(cairn_error_message(), "policy p has made no backup of volume w"));
	/* The whole volume: hand-made and Q's count too. */
	o = (struct cairn_forget_opts){ .volume = "v", .rules = { .last = 2 } };
	ck_ok(cairn_forget_run(repo, &o, &st));
	assert_int_equal(st.forgotten, 3); /* 1, 2, 5 */
	assert_true(exists(repo, "backups", 6) && exists(repo, "backups", 7));
	assert_false(exists(repo, "backups", 1) || exists(repo, "backups", 2) || exists(repo, "backups", 5));
}

static void flip_at(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void test_hold_objects(void **state)
{
	struct repo_fx *f = *state;
	struct cairn_hold h = { .reason = "legal", .hostname = "x", .created = 1700000000 };
	th_fill(h.backup, sizeof(h.backup), 9);
	cairn_hex_encode(h.backup, sizeof(h.backup), h.backup_hex);
	char *json = NULL;
	ck_ok(cairn_hold_encode(&h, &json));
	struct cairn_hold back;
	ck_ok(cairn_hold_parse((const uint8_t *)json, strlen(json), &back));
	assert_string_equal(back.reason, "legal");
	assert_memory_equal(back.backup, h.backup, CAIRN_BACKUP_ID_LEN);
	assert_true(back.created == 1700000000);
	cairn_hold_clear(&back);
	free(json);
	static const char *const bad[] = {
		"", "{}", "[]", "{\"version\":2,\"backup\":\"00000000000000000000000000000000\",\"created\":\"2023-11-14T22:13:20Z\"}",
		"{\"version\":1,\"backup\":\"0000\",\"created\":\"2023-11-14T22:13:20Z\"}",
		"{\"version\":1,\"backup\":\"00000000000000000000000000000000\",\"created\":\"yesterday\"}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = cairn_hold_parse((const uint8_t *)bad[i], strlen(bad[i]), &back);
		assert_true(r == CAIRN_ECORRUPT || r == CAIRN_EVERSION);
	}
	/* Put, list, replace, a damaged one still holds. */
	ck_ok(cairn_hold_put(f->repo, h.backup, "one"));
	ck_ok(cairn_hold_put(f->repo, h.backup, "two"));
	uint8_t other[CAIRN_BACKUP_ID_LEN];
	th_fill(other, sizeof(other), 10);
	ck_ok(cairn_hold_put(f->repo, other, NULL));
	char path[PATH_MAX + 64], hex[33];
	cairn_hex_encode(other, sizeof(other), hex);
	snprintf(path, sizeof(path), "%s/holds/%s", f->dir, hex);
	flip_at(path, 20);
	struct cairn_hold_list l;
	ck_ok(cairn_hold_list_load(f->repo, &l));
	assert_int_equal(l.n, 2);
	const struct cairn_hold *a = cairn_hold_find(&l, h.backup), *b = cairn_hold_find(&l, other);
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(a->reason, "two");
	assert_true(b->damaged);
	cairn_hold_list_free(&l);
	char big[CAIRN_HOLD_REASON_MAX + 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	ck_err(cairn_hold_put(f->repo, h.backup, big), CAIRN_EINVAL);
}

/* forget BACKUP...: prefixes, ambiguity across kinds, all or nothing,
 * duplicates, members, holds, damaged manifests. */
static void test_forget_named(void **state)
{
	struct repo_fx *f = *state;
	struct cairn_repo *repo = f->repo;
	uint8_t a[CAIRN_BACKUP_ID_LEN] = { 0xab, 0xcd, 0x01 }, b[CAIRN_BACKUP_ID_LEN] = { 0xab, 0xcd, 0x02 };
	uint8_t d[CAIRN_BACKUP_ID_LEN] = { 0x12, 0x34, 0x56 }, m2[CAIRN_BACKUP_ID_LEN];
	put_manifest_id(repo, a, "v", utc(2024, 3, 1, 12, 0), NULL);
	put_manifest_id(repo, b, "v", utc(2024, 3, 2, 12, 0), NULL);
	put_group(repo, 100, "g", utc(2024, 3, 1, 0, 0), 101, 102);
	th_fill(m2, sizeof(m2), 102);
	/* d does not open; nor does member 102 of group backup 100. */
	ck_ok(cairn_store_put(repo->store, "backups/12345600000000000000000000000000", "junk", 4, 0));
	char key[80], hex[2 * CAIRN_BACKUP_ID_LEN + 1], ghex[2 * CAIRN_BACKUP_ID_LEN + 1];
	cairn_hex_encode(m2, sizeof(m2), hex);
	snprintf(key, sizeof(key), "backups/%s", hex);
	ck_ok(cairn_store_put(repo->store, key, "junk", 4, 0));
	uint8_t gid[CAIRN_BACKUP_ID_LEN];
	th_fill(gid, sizeof(gid), 100);
	cairn_hex_encode(gid, sizeof(gid), ghex);

	struct seen s = { 0 };
	struct cairn_forget_opts o = { .decision = count_decision, .ud = &s };
	struct cairn_forget_stats st;
	const char *amb[] = { "abcd" }, *shortp[] = { "abc" }, *mixed[] = { "abcd01", "ffffff" };
	const char *member[] = { hex }, *junk[] = { "abcd-1" };
	ck_err(cairn_forget_named(repo, amb, 1, &o, &st), CAIRN_EAMBIGUOUS);
	ck_err(cairn_forget_named(repo, shortp, 1, &o, &st), CAIRN_EINVAL);
	ck_err(cairn_forget_named(repo, junk, 1, &o, &st), CAIRN_ENOTFOUND);
	ck_err(cairn_forget_named(repo, mixed, 2, &o, &st), CAIRN_ENOTFOUND);
	/* A damaged member still goes only with its group backup. */
	ck_err(cairn_forget_named(repo, member, 1, &o, &st), CAIRN_EINVAL);
	assert_int_equal(s.n, 0);
	assert_true(exists_id(repo, "backups", a) && exists_id(repo, "backups", m2));

	/* A name twice (any case) is one backup; a dry run deletes nothing. */
	const char *dup[] = { "abcd01", "ABCD01" };
	o.dry_run = true;
	ck_ok(cairn_forget_named(repo, dup, 2, &o, &st));
	assert_int_equal(st.forgotten, 1);
	assert_int_equal(s.n, 1);
	assert_true(exists_id(repo, "backups", a));
	o.dry_run = false;
	ck_ok(cairn_forget_named(repo, dup, 2, &o, &st));
	assert_int_equal(st.manifests_deleted, 1);
	assert_false(exists_id(repo, "backups", a));
	assert_true(exists_id(repo, "backups", b));

	/* A held damaged manifest is refused until released. */
	const char *bad[] = { "123456" };
	ck_ok(cairn_hold_put(repo, d, "why"));
	ck_err(cairn_forget_named(repo, bad, 1, &o, &st), CAIRN_EBUSY);
	ck_ok(cairn_hold_delete(repo, d));
	ck_ok(cairn_forget_named(repo, bad, 1, &o, &st));
	assert_false(exists_id(repo, "backups", d));

	/* The group backup takes its members, the damaged one too. */
	const char *grp[] = { ghex };
	ck_ok(cairn_forget_named(repo, grp, 1, &o, &st));
	assert_int_equal(st.groups_deleted, 1);
	assert_int_equal(st.manifests_deleted, 2);
	assert_false(exists(repo, "groups", 100) || exists(repo, "backups", 101) || exists_id(repo, "backups", m2));
	assert_true(exists_id(repo, "backups", b));
	/* Rules and names do not mix. */
	o.rules.last = 1;
	ck_err(cairn_forget_named(repo, dup, 1, &o, &st), CAIRN_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_keep_table, setup_tz),
		cmocka_unit_test_setup(test_keep_reasons_and_edges, setup_tz),
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_forget_holds_and_groups, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_forget_named, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_forget_policy, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_hold_objects, repo_setup, repo_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
