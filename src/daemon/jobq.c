/* Jobs the API queues for the CLI's commands (jobq.h). */
#include "daemon/jobq.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void path_of(const char *state_dir, int64_t id, const char *ext, char *buf, size_t size)
{
	snprintf(buf, size, "%s/api-jobs/%lld%s", state_dir, (long long)id, ext);
}

int cairn_jobq_put(const char *state_dir, struct cairn_state *st, const struct cairn_job_new *n, json_t *words,
		   int64_t *ret_id)
{
	char dir[4200], path[4300], tmp[4300];
	snprintf(dir, sizeof(dir), "%s/api-jobs", state_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return cairn_error_errno(errno, "mkdir %s", dir);
	int64_t id;
	int r = cairn_job_create(st, n, &id);
	if (r < 0)
		return r;
	path_of(state_dir, id, ".json", path, sizeof(path));
	path_of(state_dir, id, ".json.tmp", tmp, sizeof(tmp));
	/* Whole or not at all: the daemon's loop may look at any moment. */
	if (json_dump_file(words, tmp, JSON_COMPACT) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		(void)cairn_job_finish(st, id, CAIRN_JOB_FAILED, NULL, "its command line could not be written", NULL, 0);
		return cairn_error_errno(e ? e : EIO, "write %s", path);
	}
	*ret_id = id;
	return 0;
}

void cairn_jobq_words_free(char **words)
{
	for (size_t i = 0; words && words[i]; i++)
		free(words[i]);
	free(words);
}

int cairn_jobq_take(const char *state_dir, int64_t id, char ***ret_words)
{
	char path[4300];
	path_of(state_dir, id, ".json", path, sizeof(path));
	json_error_t err;
	json_t *a = json_load_file(path, 0, &err);
	if (!a) {
		if (access(path, F_OK) < 0)
			return cairn_error_set(CAIRN_ENOTFOUND, "job %lld has no queued command", (long long)id);
		return cairn_error_set(CAIRN_EIO, "%s: %s", path, err.text);
	}
	unlink(path);
	size_t n = json_is_array(a) ? json_array_size(a) : 0;
	char **w = calloc(n + 1, sizeof(char *));
	int r = w && n ? 0 : cairn_error_set(CAIRN_EIO, "%s: not a command line", path);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		const char *s = json_string_value(json_array_get(a, i));
		if (!s)
			r = cairn_error_set(CAIRN_EIO, "%s: not a command line", path);
		else if (!(w[i] = strdup(s)))
			r = cairn_error_nomem();
	}
	json_decref(a);
	if (r < 0) {
		cairn_jobq_words_free(w);
		return r;
	}
	*ret_words = w;
	return 0;
}

void cairn_jobq_err_path(const char *state_dir, int64_t id, char *buf, size_t size)
{
	path_of(state_dir, id, ".err", buf, size);
}

/* The last non-empty line of the file, without "cairn: " (the CLI's
 * error lines start so). */
static void last_line(const char *path, char *buf, size_t size)
{
	buf[0] = 0;
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[1024];
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0])
			snprintf(buf, size, "%s", strncmp(line, "cairn: ", 7) == 0 ? line + 7 : line);
	}
}

int cairn_jobq_settle(const char *state_dir, struct cairn_state *st, int64_t id, int status)
{
	char err[4300], msg[1024];
	cairn_jobq_err_path(state_dir, id, err, sizeof(err));
	last_line(err, msg, sizeof(msg));
	unlink(err);
	struct cairn_job j;
	int r = cairn_job_get(st, id, &j);
	if (r < 0)
		return r;
	bool open = j.state == CAIRN_JOB_QUEUED || j.state == CAIRN_JOB_ACTIVE;
	double el = j.elapsed_s;
	cairn_job_clear(&j);
	if (!open)
		return 0;
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok && !msg[0]) {
		if (WIFSIGNALED(status))
			snprintf(msg, sizeof(msg), "the job's process was killed by signal %d", WTERMSIG(status));
		else
			snprintf(msg, sizeof(msg), "the job's process exited with status %d", WEXITSTATUS(status));
	}
	if (ok)
		(void)cairn_job_log(st, id, 1, "done");
	else
		(void)cairn_job_log(st, id, 0, msg);
	return cairn_job_finish(st, id, ok ? CAIRN_JOB_DONE : CAIRN_JOB_FAILED, NULL, ok ? NULL : msg, NULL, el);
}

int cairn_jobq_sweep(const char *state_dir, struct cairn_state *st)
{
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/api-jobs", state_dir);
	_cleanup_(closedirp) DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : cairn_error_errno(errno, "opendir %s", dir);
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long long id = strtoll(e->d_name, &end, 10);
		if (id <= 0 || strcmp(end, ".json") != 0)
			continue;
		struct cairn_job j;
		int r = cairn_job_get(st, id, &j);
		if (r < 0 && r != CAIRN_ENOTFOUND)
			return r;
		cairn_error_clear();
		bool keep = r >= 0 && j.state == CAIRN_JOB_QUEUED;
		if (r >= 0)
			cairn_job_clear(&j);
		if (!keep) {
			char path[4300];
			path_of(state_dir, id, ".json", path, sizeof(path));
			unlink(path);
		}
	}
	return 0;
}
