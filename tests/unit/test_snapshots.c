/* state/snapshots and state/groups: the registry of local snapshots and the
 * consistency-group definitions; source/snapshot: taking, checking and
 * reverting snapshots on the file system the tests run on. */
#define TH_WANT_REPO
#include "helpers.h"

#include "engine/engine.h"
#include "source/snapshot.h"
#include "state/groups.h"
#include "state/snapshots.h"
#include "util/cleanup.h"

static struct cairn_snap_record rec(const char *id, const char *volume, const char *name, enum cairn_snap_kind kind,
				    int64_t created)
{
	static char paths[8][64];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, 64, "/snap/%s", id);
	struct cairn_snap_record r = { .volume = (char *)volume, .name = (char *)name, .path = p,
				       .method = CAIRN_SNAP_REFLINK, .kind = kind, .created_us = created,
				       .ident = { 1, 2, 3, 4, 5 } };
	snprintf(r.id, sizeof(r.id), "%s", id);
	return r;
}

static void test_registry(void **state)
{
	struct th_state_fx *f = *state;
	struct cairn_snap_record a = rec("aaaa000000000001", "/v/one.img", "first", CAIRN_SNAP_USER, 10);
	struct cairn_snap_record b = rec("aaaa000000000002", "/v/one.img", NULL, CAIRN_SNAP_USER, 20);
	struct cairn_snap_record c = rec("bbbb000000000003", "/v/two.img", "first", CAIRN_SNAP_USER, 5);
	ck_ok(cairn_snap_add(f->st, &a));
	ck_ok(cairn_snap_add(f->st, &b));
	ck_ok(cairn_snap_add(f->st, &c)); /* same name, another volume: fine */
	struct cairn_snap_record dup = rec("cccc000000000004", "/v/one.img", "first", CAIRN_SNAP_USER, 30);
	ck_err(cairn_snap_add(f->st, &dup), CAIRN_EEXIST);

	struct cairn_snap_record *v = NULL;
	size_t n = 0;
	ck_ok(cairn_snap_list(f->st, "/v/one.img", &v, &n));
	assert_int_equal(n, 2);
	assert_string_equal(v[0].id, a.id); /* oldest first */
	assert_string_equal(v[1].id, b.id);
	assert_null(v[1].name);
	assert_int_equal(v[0].ident.mtime_ns, 4);
	cairn_snap_records_free(v, n);
	ck_ok(cairn_snap_list(f->st, NULL, &v, &n));
	assert_int_equal(n, 3);
	cairn_snap_records_free(v, n);

	struct cairn_snap_record got;
	ck_ok(cairn_snap_get(f->st, "bbbb", &got)); /* a unique prefix */
	assert_string_equal(got.volume, "/v/two.img");
	cairn_snap_record_clear(&got);
	ck_ok(cairn_snap_get(f->st, "/v/one.img@first", &got));
	assert_string_equal(got.id, a.id);
	cairn_snap_record_clear(&got);
	ck_err(cairn_snap_get(f->st, "aaaa", &got), CAIRN_EAMBIGUOUS);
	ck_err(cairn_snap_get(f->st, "abc", &got), CAIRN_ENOTFOUND);     /* too short */
	ck_err(cairn_snap_get(f->st, "zzzzzz", &got), CAIRN_ENOTFOUND);  /* not hex */
	ck_err(cairn_snap_get(f->st, "/v/one.img@nope", &got), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_snap_known_path(f->st, a.path), 1);
	assert_int_equal(cairn_snap_known_path(f->st, "/snap/none"), 0);

	ck_ok(cairn_snap_forget(f->st, a.id));
	ck_err(cairn_snap_get(f->st, a.id, &got), CAIRN_ENOTFOUND);
	ck_ok(cairn_snap_get(f->st, "aaaa", &got)); /* no longer ambiguous */
	cairn_snap_record_clear(&got);
}

static void test_bases(void **state)
{
	struct th_state_fx *f = *state;
	struct cairn_snap_record old = rec("dddd000000000001", "/v/db.img", NULL, CAIRN_SNAP_BASE, 100);
	struct cairn_snap_record newer = rec("dddd000000000002", "/v/db.img", NULL, CAIRN_SNAP_BASE, 200);
	struct cairn_snap_record other = rec("dddd000000000003", "/v/db.img", NULL, CAIRN_SNAP_BASE, 300);
	for (struct cairn_snap_record *r = &old; r; r = r == &old ? &newer : r == &newer ? &other : NULL) {
		snprintf(r->repo_id, sizeof(r->repo_id), "%s", r == &other ? "rB" : "rA");
		snprintf(r->backup_id, sizeof(r->backup_id), "%s", r == &newer ? "b2" : "b1");
		r->volume_name = "db.img";
		ck_ok(cairn_snap_add(f->st, r));
	}
	struct cairn_snap_record got;
	ck_ok(cairn_snap_get_base(f->st, "rA", "db.img", &got));
	assert_string_equal(got.id, newer.id); /* the newest of this repository */
	assert_string_equal(got.backup_id, "b2");
	assert_int_equal(got.kind, CAIRN_SNAP_BASE);
	cairn_snap_record_clear(&got);
	ck_ok(cairn_snap_get_base(f->st, "rB", "db.img", &got));
	assert_string_equal(got.id, other.id);
	cairn_snap_record_clear(&got);
	assert_int_equal(cairn_snap_get_base(f->st, "rA", "other.img", &got), CAIRN_ENOTFOUND);
}

static void test_groups(void **state)
{
	struct th_state_fx *f = *state;
	char *vols[] = { "/v/a.img", "/v/b.img", "/v/c.img" };
	char *frz[] = { "/mnt/b", "/mnt/a" };
	struct cairn_group g = { .name = "app", .volumes = vols, .nvolumes = 3, .freeze = frz, .nfreeze = 2,
				 .config = "/etc/app.xml", .pre_hook = "sync", .max_freeze_ms = 1500 };
	ck_ok(cairn_group_create(f->st, &g));
	ck_err(cairn_group_create(f->st, &g), CAIRN_EEXIST);
	struct cairn_group h = { .name = "db", .volumes = vols, .nvolumes = 1 };
	ck_ok(cairn_group_create(f->st, &h));
	struct cairn_group got;
	ck_ok(cairn_group_get(f->st, "app", &got));
	assert_int_equal(got.nvolumes, 3);
	assert_string_equal(got.volumes[2], "/v/c.img"); /* order kept */
	assert_int_equal(got.nfreeze, 2);
	assert_string_equal(got.freeze[0], "/mnt/b");
	assert_string_equal(got.config, "/etc/app.xml");
	assert_string_equal(got.pre_hook, "sync");
	assert_null(got.post_hook);
	assert_int_equal(got.max_freeze_ms, 1500);
	/* No names given: every volume goes by its default. */
	assert_non_null(got.names);
	assert_null(got.names[0]);
	assert_null(got.names[2]);
	cairn_group_clear(&got);
	ck_ok(cairn_group_get(f->st, "db", &got));
	assert_int_equal(got.max_freeze_ms, CAIRN_GROUP_MAX_FREEZE_MS_DEFAULT);
	assert_int_equal(got.nfreeze, 0);
	cairn_group_clear(&got);
	/* Names given, one per volume, in order. */
	char *names[] = { "os", "data", "logs" };
	struct cairn_group named = { .name = "named", .volumes = vols, .nvolumes = 3, .names = names };
	ck_ok(cairn_group_create(f->st, &named));
	ck_ok(cairn_group_get(f->st, "named", &got));
	assert_string_equal(got.names[0], "os");
	assert_string_equal(got.names[2], "logs");
	assert_string_equal(got.volumes[2], "/v/c.img");
	cairn_group_clear(&got);
	ck_ok(cairn_group_delete(f->st, "named"));
	struct cairn_group *v = NULL;
	size_t n = 0;
	ck_ok(cairn_group_list(f->st, &v, &n));
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "app");
	cairn_groups_free(v, n);
	ck_ok(cairn_group_delete(f->st, "app"));
	ck_err(cairn_group_delete(f->st, "app"), CAIRN_ENOTFOUND);
	ck_err(cairn_group_get(f->st, "app", &got), CAIRN_ENOTFOUND);
	/* The members went with it (ON DELETE CASCADE): re-creating works. */
	ck_ok(cairn_group_create(f->st, &g));
	static const char *const bad[] = { "", "a b", "-x", ".x", "x/y", "é" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cairn_group b = { .name = (char *)bad[i], .volumes = vols, .nvolumes = 1 };
		ck_err(cairn_group_create(f->st, &b), CAIRN_EINVAL);
	}
}

/* Snapshots on whatever file system the tests run on: a copy unless it can
 * reflink; either way the bytes and the identity rules are the same. */
static void test_take_and_revert(void **state)
{
	struct th_state_fx *f = *state;
	char vol[PATH_MAX + 16], snap[PATH_MAX + 64];
	snprintf(vol, sizeof(vol), "%s/vol.img", f->dir);
	snprintf(snap, sizeof(snap), "%s/.cairn-snapshots/vol.img.1", f->dir);
	uint8_t *d = th_data(300000, 3);
	th_write_file(vol, d, 300000);
	struct cairn_snap_taken t;
	ck_ok(cairn_snap_take(vol, snap, CAIRN_SNAP_AUTO, &t));
	assert_true(t.method == CAIRN_SNAP_REFLINK || t.method == CAIRN_SNAP_COPY);
	size_t len = 0;
	uint8_t *back = th_read_file(snap, &len);
	assert_int_equal(len, 300000);
	assert_memory_equal(back, d, len);
	free(back);
	struct stat st;
	assert_int_equal(stat(snap, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0400);
	assert_true(cairn_snap_identity_matches(snap, &t.id));
	/* Exists already: refused, nothing replaced. */
	assert_true(cairn_snap_take(vol, snap, CAIRN_SNAP_COPY, &t) < 0);
	/* Revert after a change gives the snapshot's bytes back, mode kept. */
	chmod(vol, 0640);
	uint8_t junk[1000];
	memset(junk, 0xee, sizeof(junk));
	th_write_file(vol, junk, sizeof(junk));
	chmod(vol, 0640);
	ck_ok(cairn_snap_revert(snap, t.method, vol, false));
	back = th_read_file(vol, &len);
	assert_int_equal(len, 300000);
	assert_memory_equal(back, d, len);
	free(back);
	assert_int_equal(stat(vol, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* A touched snapshot no longer matches its identity. */
	chmod(snap, 0600);
	assert_false(cairn_snap_identity_matches(snap, &t.id));
	ck_ok(cairn_snap_remove(snap));
	ck_ok(cairn_snap_remove(snap)); /* missing is fine */
	assert_false(cairn_snap_identity_matches(snap, &t.id));
	assert_true(cairn_snap_take("/nonexistent/vol", snap, CAIRN_SNAP_AUTO, &t) < 0);
	assert_non_null(strstr(cairn_error_message(), "/nonexistent/vol"));
	free(d);
}

static void test_methods(void **state)
{
	(void)state;
	enum cairn_snap_method m;
	ck_ok(cairn_snap_method_parse("reflink", &m));
	assert_int_equal(m, CAIRN_SNAP_REFLINK);
	ck_ok(cairn_snap_method_parse("none", &m));
	assert_int_equal(m, CAIRN_SNAP_NONE);
	ck_err(cairn_snap_method_parse("zfs", &m), CAIRN_EINVAL);
	ck_ok(cairn_snap_method_parse("lvm", &m));
	assert_int_equal(m, CAIRN_SNAP_LVM);
	ck_err(cairn_snap_method_parse(NULL, &m), CAIRN_EINVAL);
	assert_string_equal(cairn_snap_method_name(CAIRN_SNAP_COPY), "copy");
	char *dir = NULL;
	ck_ok(cairn_snap_dir("/etc/hostname", NULL, &dir));
	assert_string_equal(dir, "/etc/.cairn-snapshots");
	free(dir);
}

/* A snapshot the caller took (the CLI's reflink, a group's) is removed
 * when the backup of it fails before it starts: a source that vanished,
 * a volume name that is not allowed. */
static void test_taken_removed_on_early_failure(void **state)
{
	struct th_state_fx *f = *state;
	char rdir[PATH_MAX];
	struct cairn_repo *repo = th_repo_init(rdir, sizeof(rdir), "snaprepo", 4096);
	char vol[PATH_MAX + 16], snap[PATH_MAX + 32];
	snprintf(vol, sizeof(vol), "%s/vol.img", f->dir);
	snprintf(snap, sizeof(snap), "%s/vol.img.0123456789abcdef", f->dir);
	th_write_file(vol, "data", 4);
	struct cairn_snap_taken taken = { .method = CAIRN_SNAP_COPY };
	struct cairn_snap_backup_opts o = {
		.backup = { .source = vol, .volume = "bad/name" },
		.snapshot = CAIRN_SNAP_COPY, .state = f->st, .state_dir = f->dir,
		.taken_path = snap, .taken_id = "0123456789abcdef", .taken = &taken,
	};
	struct cairn_manifest *m = NULL;
	struct cairn_snap_backup_info info;
	const char *sources[] = { vol, "/nonexistent/cairn-test/vol.img" };
	for (size_t k = 0; k < 2; k++) {
		th_write_file(snap, "data", 4);
		o.backup.source = sources[k];
		o.backup.volume = k == 0 ? "bad/name" : NULL;
		assert_true(cairn_snap_backup(repo, &o, &m, &info) < 0);
		assert_null(m);
		assert_int_equal(access(snap, F_OK), -1);
	}
	cairn_repo_free(repo);
	th_rm_rf(rdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registry, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_bases, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_groups, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_take_and_revert, th_state_setup, th_state_teardown),
		cmocka_unit_test(test_methods),
		cmocka_unit_test_setup_teardown(test_taken_removed_on_early_failure, th_state_setup, th_state_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
