/* cairn status [--watch], cairn log JOB, cairn cancel JOB. */
#include "cli/jobs.h"
#include "state/notify.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double elapsed_of(const struct cairn_job *j)
{
	if (j->state == CAIRN_JOB_ACTIVE && j->started) {
		double live = (double)(cairn_wall_now() - j->started);
		return live > j->elapsed_s ? live : j->elapsed_s;
	}
	return j->elapsed_s;
}

static void format_elapsed(double s, char *buf, size_t size)
{
	long t = (long)(s + 0.5);
	if (s < 10 && s > 0)
		snprintf(buf, size, "%.1fs", s);
	else if (t < 60)
		snprintf(buf, size, "%lds", t);
	else if (t < 3600)
		snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, size, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
}

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *time_json(int64_t t)
{
	if (!t)
		return json_null();
	char buf[48];
	cairn_time_format(t, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *job_json(const struct cairn_job *j)
{
	return json_pack("{s:I, s:s, s:o, s:s, s:o, s:s, s:I, s:I, s:f, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:I}", "id",
			 (json_int_t)j->id, "kind", j->kind, "policy", opt_str(j->policy), "source", j->source, "repo",
			 opt_str(j->repo), "state", cairn_job_state_name(j->state), "bytes_processed",
			 (json_int_t)j->bytes_done, "bytes_total", (json_int_t)j->bytes_total, "elapsed_s",
			 elapsed_of(j), "queued", time_json(j->queued), "started", time_json(j->started), "completed",
			 time_json(j->completed), "error", opt_str(j->error), "result", opt_str(j->result), "stop",
			 opt_str(j->stop), "cancel_requested", j->cancel, "pid", (json_int_t)j->pid);
}

static void bar(double frac, char *buf, int width)
{
	int fill = (int)(frac * width + 0.5);
	for (int i = 0; i < width; i++)
		buf[i] = i < fill ? '#' : '-';
	buf[width] = 0;
}

static void print_table(const struct cairn_job *v, size_t n, bool bars)
{
	size_t ws = strlen("SOURCE");
	for (size_t i = 0; i < n; i++)
		if (strlen(v[i].source) > ws)
			ws = strlen(v[i].source);
	if (ws > 48)
		ws = 48;
	printf("%-5s  %-7s  %-12s  %-*s  %-8s  %-21s  %-12s  %-20s  %s\n", "ID", "KIND", "POLICY", (int)ws, "SOURCE",
	       "STATE", "BYTES-PROCESSED", "TIME-ELAPSED", "COMPLETED", "ERROR");
	for (size_t i = 0; i < n; i++) {
		const struct cairn_job *j = &v[i];
		char done[32], total[32], bytes[80], el[32], completed[48] = "-";
		cli_human_size(j->bytes_done, done, sizeof(done));
		cli_human_size(j->bytes_total, total, sizeof(total));
		if (j->bytes_total && j->bytes_total != j->bytes_done)
			snprintf(bytes, sizeof(bytes), "%s / %s", done, total);
		else
			snprintf(bytes, sizeof(bytes), "%s", done);
		format_elapsed(elapsed_of(j), el, sizeof(el));
		if (j->completed)
			cairn_time_format(j->completed, completed, sizeof(completed));
		const char *src = j->source;
		size_t sl = strlen(src);
		printf("%-5lld  %-7s  %-12s  %-*s  %-8s  %-21s  %-12s  %-20s  ", (long long)j->id, j->kind,
		       j->policy ? j->policy : "-", (int)ws, sl > ws ? src + sl - ws : src,
		       j->cancel && j->state == CAIRN_JOB_ACTIVE ? "stopping" : cairn_job_state_name(j->state), bytes,
		       el, completed);
		cli_print_escaped(stdout, j->error ? j->error : "");
		fputc('\n', stdout);
		if (bars && j->state == CAIRN_JOB_ACTIVE) {
			char b[64];
			double frac = j->bytes_total ? (double)j->bytes_done / (double)j->bytes_total : 0;
			bar(frac, b, 40);
			printf("       [%s] %3.0f%%\n", b, frac * 100);
		}
	}
}

static volatile sig_atomic_t watch_stop;
static void on_watch_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

struct status_args {
	bool watch, all, failed;
	const char *interval_arg;
	double interval; /* from it */
};
static const struct cli_opt status_opts[] = {
	{ "watch", 'w', OPT_FLAG, CLI_ARG(struct status_args, watch) },
	{ "all", 'a', OPT_FLAG, CLI_ARG(struct status_args, all) },
	{ "failed", 0, OPT_FLAG, CLI_ARG(struct status_args, failed) },
	{ "interval", 0, OPT_STRING, CLI_ARG(struct status_args, interval_arg) },
	{ NULL, 0, 0, NULL, 0 },
};

static int check_status(struct cli_ctx *c)
{
	struct status_args *a = c->args;
	a->interval = 1;
	if (a->interval_arg) {
		char *end;
		a->interval = strtod(a->interval_arg, &end);
		if (*end || !(a->interval >= 0.1 && a->interval <= 3600))
			return cli_usage("status", "invalid --interval '%s' (seconds, 0.1 to 3600)", a->interval_arg);
	}
	if (a->failed && (a->watch || a->all))
		return cli_usage("status", "--failed goes with neither --watch nor --all");
	if (a->watch && c->g->json)
		return cli_usage("status", "--watch and --json do not go together");
	return 0;
}

/* status --failed: what failed since its policy's last success; exit 1
 * when anything did (state/notify.h). */
static int run_failed(struct cli_ctx *c)
{
	int r;
	if ((r = cairn_job_reap(c->st, NULL)) < 0)
		return cli_fail(r);
	_cleanup_free_ int64_t *ids = NULL;
	size_t n = 0;
	if ((r = cairn_jobs_failed_unresolved(c->st, &ids, &n)) < 0)
		return cli_fail(r);
	struct cairn_job *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return cli_fail(cairn_error_nomem());
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if ((r = cairn_job_get(c->st, ids[i], &v[k])) < 0) {
			cairn_jobs_free(v, k);
			return cli_fail(r);
		}
		k++;
	}
	if (c->g->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < k; i++)
			json_array_append_new(a, job_json(&v[i]));
		cli_print_json(a);
	} else if (k) {
		print_table(v, k, false);
	} else if (c->g->verbosity >= 0) {
		fprintf(stderr, "no failed job since the last success of its policy\n");
	}
	cairn_jobs_free(v, k);
	return k ? EXIT_FAIL : EXIT_OK;
}

static int run_status(struct cli_ctx *c)
{
	const struct status_args *a = c->args;
	struct cli_global *g = c->g;
	bool watch = a->watch, all = a->all;
	double interval = a->interval;
	struct cairn_state *st = c->st;
	int r;
	bool tty = isatty(STDOUT_FILENO);
	if (a->failed)
		return run_failed(c);
	if (watch) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_watch_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	do {
		if ((r = cairn_job_reap(st, NULL)) < 0)
			return cli_fail(r);
		struct cairn_job *v = NULL;
		size_t n = 0;
		if ((r = cairn_job_list(st, all ? CAIRN_JOB_KEEP : 20, &v, &n)) < 0)
			return cli_fail(r);
		if (g->json) {
			json_t *a = json_array();
			for (size_t i = 0; i < n; i++)
				json_array_append_new(a, job_json(&v[i]));
			cli_print_json(a);
		} else {
			if (watch && tty)
				fputs("\033[H\033[2J", stdout);
			print_table(v, n, watch && tty);
			if (watch && !tty)
				fputc('\n', stdout);
		}
		fflush(stdout);
		cairn_jobs_free(v, n);
		if (watch && !watch_stop) {
			struct timespec ts = { (time_t)interval, (long)((interval - (double)(time_t)interval) * 1e9) };
			nanosleep(&ts, NULL);
		}
	} while (watch && !watch_stop);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_status = {
	.verb = "status", .run = run_status, .opts = status_opts, .args_size = sizeof(struct status_args),
	.pos_max = 0, .check = check_status, .needs = CLI_NEEDS_STATE,
};

static int parse_job_id(const char *verb, const char *s, int64_t *ret)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || v <= 0)
		return cli_usage(verb, "invalid job id '%s' (a number; see 'cairn status')", s);
	*ret = v;
	return 0;
}

struct log_out {
	json_t *arr;
};

static int print_line(int64_t t, int level, const char *line, void *ud)
{
	struct log_out *o = ud;
	char ts[48];
	cairn_time_format(t, ts, sizeof(ts));
	static const char *const lv[] = { "warning", "info", "debug" };
	const char *l = level >= 0 && level <= 2 ? lv[level] : "info";
	if (o->arr) {
		json_array_append_new(o->arr, json_pack("{s:s, s:s, s:s}", "time", ts, "level", l, "line", line));
		return 0;
	}
	printf("%s  %-7s  ", ts, l);
	cli_print_escaped(stdout, line);
	fputc('\n', stdout);
	return 0;
}

/* log and cancel: JOB into the argument, an int64_t. */
static int check_job_id(struct cli_ctx *c)
{
	return parse_job_id(c->cmd->verb, c->pos.v[0], c->args);
}

static int run_log(struct cli_ctx *c)
{
	struct cli_global *g = c->g;
	const int64_t id = *(const int64_t *)c->args;
	int r;
	/* Opened here: no database is "no such job". */
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	if ((r = cli_state_open(g, true, &st)) < 0)
		return cli_fail(r == CAIRN_ENOTFOUND ? cairn_error_set(CAIRN_ENOTFOUND, "no job %lld (no job has run here)",
								       (long long)id)
						     : r);
	struct cairn_job j;
	if ((r = cairn_job_get(st, id, &j)) < 0)
		return cli_fail(r);
	struct log_out o = { g->json ? json_array() : NULL };
	if (!g->json) {
		printf("# job %lld: %s%s%s of %s, %s\n", (long long)j.id, j.kind, j.policy ? " by policy " : "",
		       j.policy ? j.policy : "", j.source, cairn_job_state_name(j.state));
		if (j.log_dropped)
			printf("# (%llu earlier line(s) dropped: a job keeps its last %d)\n",
			       (unsigned long long)j.log_dropped, CAIRN_JOB_LOG_MAX);
	}
	r = cairn_job_log_each(st, id, print_line, &o);
	if (r >= 0 && o.arr)
		cli_print_json(json_pack("{s:I, s:s, s:s, s:I, s:o}", "id", (json_int_t)j.id, "kind", j.kind, "state",
					 cairn_job_state_name(j.state), "dropped", (json_int_t)j.log_dropped, "lines",
					 o.arr));
	else
		json_decref(o.arr);
	cairn_job_clear(&j);
	return r < 0 ? cli_fail(r) : EXIT_OK;
}

const struct cli_cmd cli_cmd_log = {
	.verb = "log", .run = run_log, .args_size = sizeof(int64_t), .pos_min = 1, .pos_max = 1,
	.pos_few = "missing JOB (an id from 'cairn status')", .pos_many = "give one JOB", .check = check_job_id,
};

static int run_cancel(struct cli_ctx *c)
{
	struct cli_global *g = c->g;
	const int64_t id = *(const int64_t *)c->args;
	struct cairn_state *st = c->st;
	int r;
	enum cairn_job_state was;
	if ((r = cairn_job_cancel(st, id, &was)) < 0)
		return cli_fail(r);
	if (g->json)
		cli_print_json(json_pack("{s:I, s:s}", "id", (json_int_t)id, "was", cairn_job_state_name(was)));
	else if (g->verbosity >= 0)
		fprintf(stderr, was == CAIRN_JOB_QUEUED ? "job %lld canceled (it had not started)\n"
							: "job %lld: cancel requested; it stops at its next safe point\n",
			(long long)id);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_cancel = {
	.verb = "cancel", .run = run_cancel, .args_size = sizeof(int64_t), .pos_min = 1, .pos_max = 1,
	.pos_few = "missing JOB (an id from 'cairn status')", .pos_many = "give one JOB", .check = check_job_id,
	.needs = CLI_NEEDS_STATE,
};
