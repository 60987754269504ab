/* app: a repository opened from a reference (its passphrase sources in
 * their order, a missing repository named), the snapshot registry engine
 * borrows over the state database, a group row as engine's spec, and a
 * policy's retention options (the ones 'forget --policy' and a policy run
 * share), and backup, check and restore as jobs with their rows. */
#define TH_WANT_REPO
#include "helpers.h"

#include "app/backup.h"
#include "app/check.h"
#include "app/open.h"
#include "app/policy.h"
#include "app/restore.h"
#include "app/snapreg.h"
#include "state/cred.h"
#include "state/jobs.h"
#include "state/snapshots.h"
#include "util/error.h"

#include <string.h>

static int prompted;

static int fake_prompt(void *ud, const char *what, const char *hint, bool confirm, char **ret, size_t *ret_len)
{
	(void)what;
	(void)hint;
	(void)confirm;
	prompted++;
	return cairn_app_secret_copy(ud, ret, ret_len);
}

static void test_passphrase_order(void **state)
{
	(void)state;
	char dir[PATH_MAX], file[PATH_MAX + 16];
	th_tmpdir(dir, sizeof(dir), "pass");
	snprintf(file, sizeof(file), "%s/pass", dir);
	th_write_file(file, "from file\n", 10);
	struct cairn_cred cred = { .passphrase = "from cred" };
	snprintf(cred.uuid, sizeof(cred.uuid), "%s", "00000000-0000-0000-0000-000000000000");
	struct cairn_pass_source src = { .file = file, .value = "from env", .prompt = fake_prompt,
					 .prompt_ud = "from prompt" };
	const char *want[] = { "from file", "from env", "from cred", "from prompt" };
	for (int i = 0; i < 4; i++) {
		char *p = NULL;
		size_t n = 0;
		prompted = 0;
		ck_ok(cairn_app_passphrase(&src, false, i < 3 ? &cred : NULL, &p, &n));
		assert_int_equal(n, strlen(want[i]));
		assert_string_equal(p, want[i]);
		assert_int_equal(prompted, i == 3);
		cairn_app_secret_free(p, n);
		/* Take away the source just used: the next one answers. */
		if (i == 0)
			src.file = NULL;
		else if (i == 1)
			src.value = NULL;
	}
	/* Nothing at all: the hint says what is missing. */
	struct cairn_pass_source none = { .hint = "passphrase: set it" };
	char *p = NULL;
	size_t n = 0;
	ck_err(cairn_app_passphrase(&none, false, NULL, &p, &n), CAIRN_EINVAL);
	assert_non_null(strstr(cairn_error_message(), "no passphrase: set it"));
	th_rm_rf(dir);
}

static void test_repo_open_ref(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	struct cairn_repo *made = th_repo_init(dir, sizeof(dir), "appopen", 4096);
	cairn_repo_free(made);
	struct cairn_app app = { .pass = { .value = TH_PASS } };
	struct cairn_repo_ref ref = { .uri = dir };
	struct cairn_repo *repo = NULL;
	ck_ok(cairn_app_repo_open(&app, NULL, &ref, &repo));
	cairn_repo_free(repo);

	/* A second reference with its own passphrase source: a wrong one fails. */
	const struct cairn_pass_source wrong = { .value = "not the passphrase" };
	struct cairn_repo_ref other = { .uri = dir, .pass = &wrong };
	assert_true(cairn_app_repo_open(&app, NULL, &other, &repo) < 0);

	/* No repository there: named, and no passphrase asked for. */
	char empty[PATH_MAX];
	th_tmpdir(empty, sizeof(empty), "appempty");
	const struct cairn_pass_source ask = { .prompt = fake_prompt, .prompt_ud = TH_PASS };
	struct cairn_repo_ref none = { .uri = empty, .pass = &ask };
	prompted = 0;
	ck_err(cairn_app_repo_open(&app, NULL, &none, &repo), CAIRN_ENOTREPO);
	assert_non_null(strstr(cairn_error_message(), "is not a cairn repository"));
	assert_int_equal(prompted, 0);
	struct cairn_repo_ref no_uri = { 0 };
	ck_err(cairn_app_repo_open(&app, NULL, &no_uri, &repo), CAIRN_EINVAL);
	th_rm_rf(empty);
	th_rm_rf(dir);
}

static void test_registry(void **state)
{
	struct th_state_fx *f = *state;
	struct cairn_snap_registry reg;
	cairn_app_snap_registry(f->st, &reg);
	const char *repo_id = "0123456789abcdef0123456789abcdef";
	struct cairn_snap_base got;
	ck_err(reg.base_get(reg.ud, repo_id, "vol", &got), CAIRN_ENOTFOUND);
	/* Two bases of one volume name (files that do not exist: dropping
	 * them only logs), then the newest kept and the other dropped. */
	const char *ids[2] = { "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb" };
	for (int i = 0; i < 2; i++) {
		struct cairn_snap_base b = { .method = CAIRN_SNAP_REFLINK, .volume = "/dev/null",
					     .volume_name = "vol", .created_us = 1000 + i };
		char path[64];
		snprintf(path, sizeof(path), "/nonexistent/cairn-test/snap.%d", i);
		b.path = path;
		snprintf(b.id, sizeof(b.id), "%s", ids[i]);
		snprintf(b.repo_id, sizeof(b.repo_id), "%s", repo_id);
		snprintf(b.backup_id, sizeof(b.backup_id), "%032d", i);
		ck_ok(reg.base_add(reg.ud, &b));
	}
	ck_ok(reg.base_get(reg.ud, repo_id, "vol", &got));
	assert_string_equal(got.id, ids[1]);
	assert_string_equal(got.path, "/nonexistent/cairn-test/snap.1");
	assert_int_equal(got.method, CAIRN_SNAP_REFLINK);
	free(got.path);
	/* The newest kept, every other base of the name goes. */
	reg.base_drop_others(reg.ud, repo_id, "/dev/null", "vol", ids[1]);
	struct cairn_snap_record *v = NULL;
	size_t n = 0;
	ck_ok(cairn_snap_list(f->st, "/dev/null", &v, &n));
	assert_int_equal(n, 1);
	assert_string_equal(v[0].id, ids[1]);
	cairn_snap_records_free(v, n);
	/* None kept (the new snapshot was not): all go. */
	reg.base_drop_others(reg.ud, repo_id, "/dev/null", "vol", NULL);
	ck_err(reg.base_get(reg.ud, repo_id, "vol", &got), CAIRN_ENOTFOUND);
	ck_ok(reg.dir_note(reg.ud, "/nonexistent/cairn-test"));
	char **dirs = NULL;
	size_t nd = 0;
	ck_ok(cairn_snap_dirs(f->st, &dirs, &nd));
	assert_true(nd >= 1);
	cairn_snap_dirs_free(dirs, nd);
}

static void test_group_spec(void **state)
{
	(void)state;
	char *vols[] = { "/a", "/b" }, *names[] = { NULL, "bee" }, *frz[] = { "/mnt" };
	struct cairn_group g = { .name = "grp", .volumes = vols, .nvolumes = 2, .names = names, .freeze = frz,
				 .nfreeze = 1, .config = "/etc/x", .pre_hook = "pre", .max_freeze_ms = 42 };
	struct cairn_group_spec s;
	cairn_app_group_spec(&g, &s);
	assert_string_equal(s.name, "grp");
	assert_int_equal(s.nvolumes, 2);
	assert_string_equal(s.volumes[1], "/b");
	assert_null(s.names[0]);
	assert_string_equal(s.names[1], "bee");
	assert_int_equal(s.nfreeze, 1);
	assert_string_equal(s.freeze[0], "/mnt");
	assert_string_equal(s.config, "/etc/x");
	assert_string_equal(s.pre_hook, "pre");
	assert_null(s.post_hook);
	assert_int_equal(s.max_freeze_ms, 42);
}

static void test_policy_forget_opts(void **state)
{
	(void)state;
	struct cairn_policy p = { .name = "nightly", .id = "0123456789abcdef0123456789abcdef",
				  .kind = CAIRN_POLICY_VOLUME, .source = "/nonexistent/cairn-test/disk.img",
				  .keep_daily = 7, .keep_within = "2d", .scope = CAIRN_SCOPE_POLICY };
	struct cairn_forget_opts fo = { 0 };
	char *vol = NULL;
	ck_ok(cairn_app_policy_forget_opts(&p, NULL, &fo, &vol));
	assert_int_equal(fo.rules.daily, 7);
	assert_int_equal(fo.rules.within.days, 2);
	assert_string_equal(fo.volume, "disk.img"); /* the default name of a source that is gone */
	assert_ptr_equal(fo.volume, vol);
	assert_null(fo.group);
	assert_string_equal(fo.policy, "nightly");
	assert_string_equal(fo.policy_id, p.id);
	free(vol);

	/* Rules given win; scope volume: every backup of it; a group's. */
	struct cairn_forget_opts given = { .rules = { .last = 3 } };
	p.kind = CAIRN_POLICY_GROUP;
	p.source = "grp";
	p.scope = CAIRN_SCOPE_VOLUME;
	ck_ok(cairn_app_policy_forget_opts(&p, NULL, &given, &vol));
	assert_null(vol);
	assert_int_equal(given.rules.last, 3);
	assert_int_equal(given.rules.daily, 0);
	assert_string_equal(given.group, "grp");
	assert_null(given.volume);
	assert_null(given.policy_id);

	/* A damaged keep_within is an error. */
	struct cairn_forget_opts bad = { 0 };
	p.keep_within = "soon";
	assert_true(cairn_app_policy_forget_opts(&p, "v", &bad, &vol) < 0);

	struct cairn_repo_ref ref;
	p.repo = "/r";
	p.cred = "uuid";
	cairn_app_policy_repo_ref(&p, 4, 100, &ref);
	assert_string_equal(ref.uri, "/r");
	assert_string_equal(ref.cred, "uuid");
	assert_true(ref.cred_pass_first);
	assert_int_equal(ref.connections, 4);
	assert_int_equal(ref.limit_upload, 100);
}

struct progress_count {
	unsigned reports, done;
};

static void count_report(uint64_t done, uint64_t total, void *ud)
{
	(void)done;
	(void)total;
	((struct progress_count *)ud)->reports++;
}

static void count_done(void *ud)
{
	((struct progress_count *)ud)->done++;
}

/* The newest row of kind: in state want, of source, with result (when
 * not NULL). */
static void assert_job(struct cairn_state *st, const char *kind, enum cairn_job_state want, const char *source,
		       const char *result)
{
	struct cairn_job *v = NULL;
	size_t n = 0;
	ck_ok(cairn_job_list(st, 10, &v, &n));
	const struct cairn_job *j = NULL;
	for (size_t i = 0; i < n && !j; i++)
		if (strcmp(v[i].kind, kind) == 0)
			j = &v[i];
	assert_non_null(j);
	assert_int_equal(j->state, want);
	assert_string_equal(j->source, source);
	if (result)
		assert_string_equal(j->result, result);
	if (want == CAIRN_JOB_DONE)
		assert_null(j->error);
	else
		assert_non_null(j->error);
	cairn_jobs_free(v, n);
}

/* A backup, a check and a restore as the app's jobs over a local
 * repository: each leaves a row that succeeded, the front end's progress
 * sees the reports and one end, and the bytes come back the same. */
static void test_backup_restore_jobs(void **state)
{
	struct th_state_fx *f = *state;
	char dir[PATH_MAX], src[PATH_MAX + 16], dst[PATH_MAX + 16];
	struct cairn_repo *repo = th_repo_init(dir, sizeof(dir), "appjobs", 4096);
	snprintf(src, sizeof(src), "%s/vol.img", f->dir);
	snprintf(dst, sizeof(dst), "%s/restored.img", f->dir);
	const size_t size = 300 * 1024;
	uint8_t *data = th_data(size, 16);
	th_write_file(src, data, size);
	struct cairn_app app = { .state_dir = f->dir, .pass = { .value = TH_PASS } };

	struct progress_count pc = { 0 };
	struct cairn_app_backup bo = { .source = src, .volume = src, .uri = dir, .snapshot = CAIRN_SNAP_NONE,
				       .progress = { .fn = count_report, .done = count_done, .ud = &pc } };
	struct cairn_manifest *m = NULL;
	struct cairn_snap_backup_info info;
	ck_ok(cairn_app_backup(&app, f->st, repo, &bo, &m, &info));
	assert_non_null(m);
	assert_int_equal(m->size, size);
	assert_string_equal(m->volume, "vol.img");
	assert_true(pc.reports > 0);
	assert_int_equal(pc.done, 1);
	assert_job(f->st, "backup", CAIRN_JOB_DONE, src, m->idhex);

	struct cairn_app_check co = { .uri = dir };
	struct cairn_app_check_result cr;
	ck_ok(cairn_app_check(&app, repo, &co, &cr));
	assert_true(cr.ran);
	assert_int_equal(cr.stats.backups, 1);
	assert_string_equal(cr.gone, "");
	assert_job(f->st, "check", CAIRN_JOB_DONE, dir, NULL);

	pc = (struct progress_count){ 0 };
	struct cairn_app_restore ro = { .target = dst, .uri = dir,
					.progress = { .fn = count_report, .done = count_done, .ud = &pc } };
	struct cairn_restore_stats rs;
	ck_ok(cairn_app_restore(&app, repo, m, &ro, &rs));
	assert_int_equal(pc.done, 1);
	size_t got_len = 0;
	uint8_t *got = th_read_file(dst, &got_len);
	assert_int_equal(got_len, size);
	assert_memory_equal(got, data, size);
	char want_src[3 * PATH_MAX], real[PATH_MAX];
	assert_non_null(realpath(dst, real));
	snprintf(want_src, sizeof(want_src), "vol.img -> %s", real);
	assert_job(f->st, "restore", CAIRN_JOB_DONE, want_src, m->idhex);

	/* A target there already is refused without force: the row fails. */
	ck_err(cairn_app_restore(&app, repo, m, &ro, &rs), CAIRN_EEXIST);
	assert_job(f->st, "restore", CAIRN_JOB_FAILED, want_src, NULL);

	free(got);
	free(data);
	cairn_manifest_free(m);
	cairn_repo_free(repo);
	th_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passphrase_order),
		cmocka_unit_test(test_repo_open_ref),
		cmocka_unit_test_setup_teardown(test_registry, th_state_setup, th_state_teardown),
		cmocka_unit_test(test_group_spec),
		cmocka_unit_test(test_policy_forget_opts),
		cmocka_unit_test_setup_teardown(test_backup_restore_jobs, th_state_setup, th_state_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
