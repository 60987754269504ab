/* daemon/jobq: a queued row and its command line (put, take once, not
 * for rows the API did not queue), and settling a row its child left open
 * from the exit status and the last line of its stderr. */
#include "helpers.h"

#include "daemon/jobq.h"
#include "state/jobs.h"

#include <sys/wait.h>

static void test_put_take(void **state)
{
	struct th_state_fx *f = *state;
	json_t *words = json_pack("[s, s, s]", "restore", "abc", "/tmp/t");
	struct cairn_job_new n = { .kind = "restore", .source = "abc -> /tmp/t", .repo = "/r" };
	int64_t id;
	ck_ok(cairn_jobq_put(f->dir, f->st, &n, words, &id));
	json_decref(words);
	struct cairn_job j;
	ck_ok(cairn_job_get(f->st, id, &j));
	assert_int_equal(j.state, CAIRN_JOB_QUEUED);
	assert_null(j.policy);
	assert_string_equal(j.kind, "restore");
	cairn_job_clear(&j);
	char **w = NULL;
	ck_ok(cairn_jobq_take(f->dir, id, &w));
	assert_string_equal(w[0], "restore");
	assert_string_equal(w[2], "/tmp/t");
	assert_null(w[3]);
	cairn_jobq_words_free(w);
	/* Taken once; a row the API did not queue has none. */
	assert_int_equal(cairn_jobq_take(f->dir, id, &w), CAIRN_ENOTFOUND);
	cairn_error_clear();
	int64_t other;
	ck_ok(cairn_job_create(f->st, &n, &other));
	assert_int_equal(cairn_jobq_take(f->dir, other, &w), CAIRN_ENOTFOUND);
	cairn_error_clear();
}

static void write_err(const char *dir, int64_t id, const char *text)
{
	char path[4300];
	cairn_jobq_err_path(dir, id, path, sizeof(path));
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_settle(void **state)
{
	struct th_state_fx *f = *state;
	json_t *words = json_pack("[s]", "copy");
	struct cairn_job_new n = { .kind = "copy", .source = "/a", .repo = "/b" };
	int64_t failed, done;
	ck_ok(cairn_jobq_put(f->dir, f->st, &n, words, &failed));
	ck_ok(cairn_jobq_put(f->dir, f->st, &n, words, &done));
	json_decref(words);
	write_err(f->dir, failed, "progress...\ncairn: destination /b: no destination passphrase\n\n");
	ck_ok(cairn_jobq_settle(f->dir, f->st, failed, 1 << 8)); /* exit status 1 */
	ck_ok(cairn_jobq_settle(f->dir, f->st, done, 0));
	struct cairn_job j;
	ck_ok(cairn_job_get(f->st, failed, &j));
	assert_int_equal(j.state, CAIRN_JOB_FAILED);
	assert_string_equal(j.error, "destination /b: no destination passphrase");
	cairn_job_clear(&j);
	ck_ok(cairn_job_get(f->st, done, &j));
	assert_int_equal(j.state, CAIRN_JOB_DONE);
	cairn_job_clear(&j);
	char path[4300];
	cairn_jobq_err_path(f->dir, failed, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	/* A row its command finished itself is left as it is. */
	ck_ok(cairn_jobq_settle(f->dir, f->st, done, 1 << 8));
	ck_ok(cairn_job_get(f->st, done, &j));
	assert_int_equal(j.state, CAIRN_JOB_DONE);
	cairn_job_clear(&j);
}

/* Command lines of rows no longer queued go; a queued row's stays. */
static void test_sweep(void **state)
{
	struct th_state_fx *f = *state;
	json_t *words = json_pack("[s]", "forget");
	struct cairn_job_new n = { .kind = "forget", .source = "x", .repo = "/r" };
	int64_t keep, gone;
	ck_ok(cairn_jobq_put(f->dir, f->st, &n, words, &keep));
	ck_ok(cairn_jobq_put(f->dir, f->st, &n, words, &gone));
	json_decref(words);
	enum cairn_job_state was;
	ck_ok(cairn_job_cancel(f->st, gone, &was));
	ck_ok(cairn_jobq_sweep(f->dir, f->st));
	char **w = NULL;
	assert_int_equal(cairn_jobq_take(f->dir, gone, &w), CAIRN_ENOTFOUND);
	cairn_error_clear();
	ck_ok(cairn_jobq_take(f->dir, keep, &w));
	cairn_jobq_words_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_take, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_settle, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_sweep, th_state_setup, th_state_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
