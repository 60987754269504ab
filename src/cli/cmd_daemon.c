/* cairn daemon: runs due policies (daemon/daemon.h does the scheduling).
 *
 * Each job runs in its own process (`cairn policy run NAME --job ID`, the
 * same binary), so a job's cancel flag, memory, crash or hang is its own:
 * the daemon only schedules, reaps and forwards SIGTERM.  On SIGTERM (or
 * SIGINT) it starts nothing new, passes the signal to its jobs, which stop
 * at their next safe point (the repository stays consistent and the next
 * run reuses what was uploaded), waits for them and exits 0.  Logs go to
 * stderr, which systemd sends to the journal. */
#include "cli/jobs.h"
#include "daemon/api.h"
#include "daemon/daemon.h"
#include "daemon/alerts.h"
#include "daemon/copies.h"
#include "daemon/drills.h"
#include "daemon/imports.h"
#include "daemon/jobq.h"
#include "daemon/standbys.h"
#include "app/standbyarrival.h"
#include "state/standbys.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

struct child {
	pid_t pid;
	int64_t job;
	char policy[80];
	bool queued; /* a job the API queued (daemon/jobq.h) */
};

struct daemon {
	struct cli_global *g;
	struct cairn_state *st;
	struct child *kids;
	size_t nkids, cap;
	char self[4096];
};

static int spawn(const struct cairn_policy *p, int64_t job, void *ud, int64_t *ret_pid)
{
	struct daemon *d = ud;
	if (cairn_array_grow(&d->kids, &d->cap, d->nkids, sizeof(*d->kids), 8) < 0)
		return cairn_error_nomem();
	char jobarg[32];
	snprintf(jobarg, sizeof(jobarg), "%lld", (long long)job);
	const char *verb = d->g->verbosity >= 2 ? "-vv" : d->g->verbosity >= 1 ? "-v" : d->g->verbosity < 0 ? "-q" : NULL;
	char *argv[20];
	int n = 0;
	argv[n++] = "cairn";
	argv[n++] = "policy";
	argv[n++] = "run";
	argv[n++] = (char *)p->name;
	argv[n++] = "--job";
	argv[n++] = jobarg;
	argv[n++] = "--state-dir";
	argv[n++] = (char *)cli_state_dir(d->g);
	if (d->g->passphrase_file) {
		argv[n++] = "--passphrase-file";
		argv[n++] = (char *)d->g->passphrase_file;
	}
	/* Transfer limits apply to every job the daemon runs. */
	if (d->g->connections_arg) {
		argv[n++] = "--connections";
		argv[n++] = (char *)d->g->connections_arg;
	}
	if (d->g->limit_upload_arg) {
		argv[n++] = "--limit-upload";
		argv[n++] = (char *)d->g->limit_upload_arg;
	}
	if (verb)
		argv[n++] = (char *)verb;
	argv[n] = NULL;
	/* A job gets the daemon's environment, object-store keys included
	 * (they are its own), and CAIRN_PASSPHRASE, which main() took out of
	 * the daemon's; the job takes it out of its own again. */
	char *pass = cli_passphrase_env_entry();
	size_t ne = 0;
	while (environ[ne])
		ne++;
	char **envp = calloc(ne + 2, sizeof(char *));
	if (!envp) {
		cli_passphrase_free(pass, 0);
		return cairn_error_nomem();
	}
	memcpy(envp, environ, ne * sizeof(char *));
	envp[ne] = pass;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		cli_passphrase_free(pass, 0);
		free(envp);
		return cairn_error_errno(e, "fork");
	}
	if (pid == 0) {
		/* The child's stdout (the backup id) is not the daemon's output. */
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd >= 0)
			dup2(fd, STDOUT_FILENO);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		/* SIGTERM and SIGINT stay blocked across exec until the job's
		 * main() has its handler: a stop forwarded before then waits
		 * and becomes a stop at a safe point, not a kill. */
		sigset_t stops;
		sigemptyset(&stops);
		sigaddset(&stops, SIGTERM);
		sigaddset(&stops, SIGINT);
		sigprocmask(SIG_SETMASK, &stops, NULL);
		execve(d->self, argv, envp);
		fprintf(stderr, "cairn: daemon: cannot run %s: %s\n", d->self, strerror(errno));
		_exit(127);
	}
	cli_passphrase_free(pass, 0);
	free(envp);
	d->kids[d->nkids].pid = pid;
	d->kids[d->nkids].job = job;
	snprintf(d->kids[d->nkids].policy, sizeof(d->kids[d->nkids].policy), "%s", p->name);
	d->nkids++;
	cairn_log_info("job %lld (policy %s) started, pid %d", (long long)job, p->name, (int)pid);
	*ret_pid = pid;
	return 0;
}

/* Forks and runs argv (this binary) with the daemon's environment, its
 * passphrase and extra_env (NULL: none) added; stdout to /dev/null,
 * stderr to err_path (NULL: the daemon's). */
static int fork_exec(struct daemon *d, char **argv, char *extra_env, const char *err_path, pid_t *ret_pid)
{
	char *pass = cli_passphrase_env_entry();
	size_t ne = 0;
	while (environ[ne])
		ne++;
	char **envp = calloc(ne + 3, sizeof(char *));
	if (!envp) {
		cli_passphrase_free(pass, 0);
		return cairn_error_nomem();
	}
	memcpy(envp, environ, ne * sizeof(char *));
	size_t k = ne;
	if (pass)
		envp[k++] = pass;
	if (extra_env)
		envp[k++] = extra_env;
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd >= 0)
			dup2(fd, STDOUT_FILENO);
		if (err_path && (fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0)
			dup2(fd, STDERR_FILENO);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		execve(d->self, argv, envp);
		_exit(127);
	}
	int e = errno;
	cli_passphrase_free(pass, 0);
	free(envp);
	if (pid < 0)
		return cairn_error_errno(e, "fork");
	*ret_pid = pid;
	return 0;
}

/* Runs `cairn VERB SUB NAME --state-dir DIR [--passphrase-file F]` (an
 * import policy's re-read, daemon/imports.h; a policy's scheduled copy,
 * daemon/copies.h; a standby's update, daemon/standbys.h) as a child like a policy's job; the child makes its own
 * job row.  label names it in the daemon's log. */
static int spawn_child(struct daemon *d, const char *verb, const char *sub, const char *name, const char *label)
{
	if (cairn_array_grow(&d->kids, &d->cap, d->nkids, sizeof(*d->kids), 8) < 0)
		return cairn_error_nomem();
	char *argv[] = { "cairn", (char *)verb, (char *)sub, (char *)name, "--state-dir", (char *)cli_state_dir(d->g),
			 d->g->passphrase_file ? "--passphrase-file" : NULL, (char *)d->g->passphrase_file, NULL };
	pid_t pid;
	int r = fork_exec(d, argv, NULL, NULL, &pid);
	if (r < 0)
		return r;
	d->kids[d->nkids].pid = pid;
	d->kids[d->nkids].job = 0;
	snprintf(d->kids[d->nkids].policy, sizeof(d->kids[d->nkids].policy), "%s %s", label, name);
	d->nkids++;
	cairn_log_info("%s %s: pid %d", label, name, (int)pid);
	return 0;
}

/* Runs a job the API queued (daemon/jobq.h): `cairn WORDS...
 * --state-dir DIR [--passphrase-file F]` with CAIRN_QUEUED_JOB=ID, its
 * stderr to the job's .err file (what the row says if the command ends
 * without finishing it). */
static int spawn_queued(struct daemon *d, int64_t job, char **words)
{
	if (cairn_array_grow(&d->kids, &d->cap, d->nkids, sizeof(*d->kids), 8) < 0)
		return cairn_error_nomem();
	size_t nw = 0;
	while (words[nw])
		nw++;
	char **argv = calloc(nw + 6, sizeof(char *));
	if (!argv)
		return cairn_error_nomem();
	size_t n = 0;
	argv[n++] = "cairn";
	for (size_t i = 0; i < nw; i++)
		argv[n++] = words[i];
	argv[n++] = "--state-dir";
	argv[n++] = (char *)cli_state_dir(d->g);
	if (d->g->passphrase_file) {
		argv[n++] = "--passphrase-file";
		argv[n++] = (char *)d->g->passphrase_file;
	}
	char jobenv[64], err[4300];
	snprintf(jobenv, sizeof(jobenv), "%s=%lld", CAIRN_JOBQ_ENV, (long long)job);
	cairn_jobq_err_path(cli_state_dir(d->g), job, err, sizeof(err));
	pid_t pid;
	int r = fork_exec(d, argv, jobenv, err, &pid);
	free(argv);
	if (r < 0)
		return r;
	d->kids[d->nkids] = (struct child){ .pid = pid, .job = job, .queued = true };
	snprintf(d->kids[d->nkids].policy, sizeof(d->kids[d->nkids].policy), "%s", words[0]);
	d->nkids++;
	cairn_log_info("job %lld (%s, from the API) started, pid %d", (long long)job, words[0], (int)pid);
	return 0;
}

static bool running_job(const struct daemon *d, int64_t job)
{
	for (size_t i = 0; i < d->nkids; i++)
		if (d->kids[i].job == job)
			return true;
	return false;
}

/* Starts the jobs the API queued, oldest first, while the limit allows. */
static void start_queued_api(struct daemon *d, unsigned max_jobs)
{
	struct cairn_job *v = NULL;
	size_t n = 0;
	if (cairn_job_list(d->st, 0, &v, &n) < 0) {
		cairn_log_warn("daemon: %s", cairn_error_message());
		cairn_error_clear();
		return;
	}
	for (size_t k = n; k-- > 0 && d->nkids < max_jobs;) {
		if (v[k].state != CAIRN_JOB_QUEUED || v[k].policy || running_job(d, v[k].id))
			continue;
		char **words = NULL;
		int r = cairn_jobq_take(cli_state_dir(d->g), v[k].id, &words);
		if (r == CAIRN_ENOTFOUND) {
			cairn_error_clear();
			continue;
		}
		if (r >= 0)
			r = spawn_queued(d, v[k].id, words);
		if (r < 0) {
			char msg[1024];
			cairn_error_copy(msg, sizeof(msg));
			cairn_log_warn("job %lld did not start: %s", (long long)v[k].id, msg);
			(void)cairn_job_finish(d->st, v[k].id, CAIRN_JOB_FAILED, NULL, msg, NULL, 0);
		}
		cairn_jobq_words_free(words);
	}
	cairn_jobs_free(v, n);
}

/* Starts each child due now: names from due() (import policies, scheduled
 * copies, standby updates), each run as `cairn VERB SUB NAME`. */
static void start_due(struct daemon *d, int64_t now,
		      int (*due)(struct cairn_state *, int64_t, char ***, size_t *, int64_t *), const char *verb,
		      const char *sub, const char *label)
{
	char **names = NULL;
	size_t n = 0;
	if (due(d->st, now, &names, &n, NULL) < 0) {
		cairn_log_warn("daemon: %s", cairn_error_message());
		cairn_error_clear();
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (spawn_child(d, verb, sub, names[i], label) < 0) {
			cairn_log_warn("%s %s: %s", label, names[i], cairn_error_message());
			cairn_error_clear();
		}
		free(names[i]);
	}
	free(names);
}

/* Starts the update of each standby a copy or an import marked (an
 * arrival, app/standbyarrival.h), one at a time per standby: while one
 * runs its mark waits for the next pass. */
static void start_arrivals(struct daemon *d)
{
	struct cairn_standby *v = NULL;
	size_t n = 0;
	if (cairn_standby_list(d->st, &v, &n) < 0) {
		cairn_log_warn("daemon: %s", cairn_error_message());
		cairn_error_clear();
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char label[80];
		snprintf(label, sizeof(label), "standby %s", v[i].name);
		bool running = false;
		for (size_t k = 0; k < d->nkids && !running; k++)
			running = strcmp(d->kids[k].policy, label) == 0;
		if (running || !cairn_app_standby_take_arrival(cli_app(d->g), v[i].name))
			continue;
		cairn_log_info("standby %s: a restore point arrived", v[i].name);
		if (spawn_child(d, "standby", "update", v[i].name, "standby") < 0) {
			cairn_log_warn("standby %s: %s", v[i].name, cairn_error_message());
			cairn_error_clear();
		}
	}
	cairn_standbys_free(v, n);
}

/* Collects finished children; a job its process did not finish is failed. */
static void reap(struct daemon *d)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		for (size_t i = 0; i < d->nkids; i++) {
			if (d->kids[i].pid != pid)
				continue;
			struct child c = d->kids[i];
			d->kids[i] = d->kids[--d->nkids];
			if (c.queued) {
				if (cairn_jobq_settle(cli_state_dir(d->g), d->st, c.job, status) < 0) {
					cairn_log_warn("job %lld: %s", (long long)c.job, cairn_error_message());
					cairn_error_clear();
				}
				cairn_log_info("job %lld (%s, from the API) ended", (long long)c.job, c.policy);
				break;
			}
			struct cairn_job j;
			if (cairn_job_get(d->st, c.job, &j) < 0) {
				cairn_error_clear();
				break;
			}
			if (j.state == CAIRN_JOB_ACTIVE || j.state == CAIRN_JOB_QUEUED) {
				char msg[256];
				if (WIFSIGNALED(status))
					snprintf(msg, sizeof(msg), "the job's process (pid %d) was killed by signal %d",
						 (int)pid, WTERMSIG(status));
				else
					snprintf(msg, sizeof(msg), "the job's process (pid %d) exited with status %d "
								   "without finishing it", (int)pid, WEXITSTATUS(status));
				cairn_log_warn("job %lld (policy %s): %s", (long long)c.job, c.policy, msg);
				(void)cairn_job_finish(d->st, c.job, CAIRN_JOB_FAILED, NULL, msg, NULL, j.elapsed_s);
			} else {
				cairn_log_info("job %lld (policy %s) %s%s%s", (long long)c.job, c.policy,
					       cairn_job_state_name(j.state), j.error ? ": " : "", j.error ? j.error : "");
			}
			cairn_job_clear(&j);
			break;
		}
	}
}

/* Records what is to be announced and hands what is due to the alerts'
 * threads (pending ones from before a restart too). */
static void announce(struct cairn_alerts *a, struct cairn_state *st, int64_t now, const char *host)
{
	char **bodies = NULL;
	size_t n = 0;
	/* The marks that say "announced" and the outbox rows that announce
	 * are one transaction: a daemon dying between them, or a row that
	 * cannot be written, must leave the event to be collected again, not
	 * marked and never sent. */
	int r = cairn_state_begin(st);
	if (r >= 0)
		r = cairn_alerts_collect(st, now, host, &bodies, &n);
	for (size_t i = 0; i < n; i++) {
		if (r >= 0)
			r = cairn_alerts_post(a, st, bodies[i], now);
		free(bodies[i]);
	}
	free(bodies);
	if (r >= 0)
		r = cairn_state_commit(st);
	if (r < 0) {
		cairn_state_rollback(st);
		cairn_log_warn("daemon: alerts: %s (tried again on the next pass)", cairn_error_message());
		cairn_error_clear();
	}
	cairn_alerts_pump(a, st, now);
}

static bool any_queued(struct cairn_state *st)
{
	struct cairn_job *v = NULL;
	size_t n = 0;
	if (cairn_job_list(st, 0, &v, &n) < 0) {
		cairn_error_clear();
		return false;
	}
	bool q = false;
	for (size_t i = 0; i < n; i++)
		q = q || (v[i].state == CAIRN_JOB_QUEUED && v[i].policy);
	cairn_jobs_free(v, n);
	return q;
}

struct daemon_args {
	const char *jobs_arg;
	bool once;
	unsigned max_jobs; /* from jobs_arg */
	/* The HTTP API (daemon/api.h). */
	const char *listen, *tls_cert, *tls_key, *socket, *static_dir;
	bool metrics_public, no_api;
};
static const struct cli_opt daemon_opts[] = {
	{ "jobs", 'j', OPT_STRING, CLI_ARG(struct daemon_args, jobs_arg) },
	{ "once", 0, OPT_FLAG, CLI_ARG(struct daemon_args, once) },
	{ "listen", 0, OPT_STRING, CLI_ARG(struct daemon_args, listen) },
	{ "tls-cert", 0, OPT_STRING, CLI_ARG(struct daemon_args, tls_cert) },
	{ "tls-key", 0, OPT_STRING, CLI_ARG(struct daemon_args, tls_key) },
	{ "socket", 0, OPT_STRING, CLI_ARG(struct daemon_args, socket) },
	{ "metrics-public", 0, OPT_FLAG, CLI_ARG(struct daemon_args, metrics_public) },
	{ "no-api", 0, OPT_FLAG, CLI_ARG(struct daemon_args, no_api) },
	{ "static-dir", 0, OPT_STRING, CLI_ARG(struct daemon_args, static_dir) },
	{ NULL, 0, 0, NULL, 0 },
};

static int check_daemon(struct cli_ctx *c)
{
	struct daemon_args *a = c->args;
	a->max_jobs = 2;
	if (a->jobs_arg) {
		char *end;
		unsigned long v = strtoul(a->jobs_arg, &end, 10);
		if (a->jobs_arg[0] < '0' || a->jobs_arg[0] > '9' || *end || v < 1 || v > 64)
			return cli_usage("daemon", "invalid --jobs '%s' (jobs at once, 1 to 64)", a->jobs_arg);
		a->max_jobs = (unsigned)v;
	}
	if (!!a->tls_cert != !!a->tls_key)
		return cli_usage("daemon", "--tls-cert and --tls-key go together");
	if (a->tls_cert && !a->listen)
		return cli_usage("daemon", "--tls-cert is for the TCP address: give --listen HOST:PORT too");
	if (a->no_api && (a->listen || a->socket || a->metrics_public))
		return cli_usage("daemon", "--no-api turns the API off: --listen, --socket and --metrics-public go "
					   "without it");
	struct stat sb;
	if (a->static_dir && (stat(a->static_dir, &sb) < 0 || !S_ISDIR(sb.st_mode)))
		return cli_usage("daemon", "--static-dir %s is not a directory", a->static_dir);
	return 0;
}

/* The dashboard's files when --static-dir does not say: installed beside
 * the binary (PREFIX/share/cairn/dashboard), or in the source tree of a
 * build directory (build/cairn: dashboard/); NULL: none. */
static const char *find_static_dir(const char *self, char *buf, size_t size)
{
	static const char *const rel[] = { "../share/cairn/dashboard", "../dashboard" };
	const char *slash = strrchr(self, '/');
	for (size_t i = 0; slash && i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(buf, size, "%.*s/%s/index.html", (int)(slash - self), self, rel[i]);
		if (access(buf, R_OK) == 0) {
			buf[strlen(buf) - strlen("/index.html")] = 0;
			return buf;
		}
	}
	return NULL;
}

static int run_daemon(struct cli_ctx *c)
{
	const struct daemon_args *a = c->args;
	struct cli_global *g = c->g;
	bool once = a->once;
	unsigned max_jobs = a->max_jobs;
	int r;
	struct daemon d = { .g = g };
	ssize_t n = readlink("/proc/self/exe", d.self, sizeof(d.self) - 1);
	if (n <= 0)
		return cli_fail(cairn_error_errno(errno, "cannot find the cairn binary (/proc/self/exe)"));
	d.self[n] = 0;
	if ((r = cli_state_open(g, false, &d.st)) < 0)
		return cli_fail(r);
	/* One daemon per state directory. */
	char lock[4200];
	snprintf(lock, sizeof(lock), "%s/daemon.lock", cli_state_dir(g));
	_cleanup_close_ int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		cairn_state_free(d.st);
		return cli_fail(e == EWOULDBLOCK ? cairn_error_set(CAIRN_EBUSY, "another cairn daemon runs on %s",
								   cli_state_dir(g))
						 : cairn_error_errno(e, "lock %s", lock));
	}
	/* The API's threads may take SIGTERM too: the handler only sets the
	 * flag the loop reads. */
	struct cairn_api *api = NULL;
	if (!a->no_api && !once) {
		char sdir[4200];
		struct cairn_api_opts ao = { .app = cli_app(g), .socket_path = a->socket, .listen = a->listen,
					     .tls_cert = a->tls_cert, .tls_key = a->tls_key,
					     .metrics_public = a->metrics_public,
					     .static_dir = a->static_dir ? a->static_dir
									 : find_static_dir(d.self, sdir, sizeof(sdir)) };
		if ((r = cairn_api_start(&ao, &api)) < 0) {
			cairn_state_free(d.st);
			return cli_fail(r);
		}
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Alerts (daemon/alerts.h): checked every pass, delivered on threads. */
	struct cairn_alerts *alerts = NULL;
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	if (cairn_alerts_init(d.st) < 0 || cairn_alerts_new(&g->settings->store.http, &alerts) < 0) {
		cairn_log_warn("daemon: alerts: %s", cairn_error_message());
		cairn_error_clear();
	}
	cairn_log_info("daemon started: state %s, up to %u job(s) at once%s", cli_state_dir(g), max_jobs,
		       once ? ", one pass" : "");
	bool stopping = false, first = true;
	r = 0;
	for (;;) {
		reap(&d);
		if (stop_signal && !stopping) {
			stopping = true;
			cairn_log_info("signal %d: stopping; %zu running job(s) stop at their next safe point",
				       (int)stop_signal, d.nkids);
			for (size_t i = 0; i < d.nkids; i++)
				kill(d.kids[i].pid, SIGTERM);
		}
		if (stopping && !d.nkids)
			break;
		struct cairn_daemon_tick_opts to = { .now = cairn_wall_now(), .max_jobs = max_jobs,
						     .running = (unsigned)d.nkids, .stopping = stopping, .spawn = spawn,
						     .ud = &d };
		struct cairn_daemon_tick_result res;
		/* --once: after the first pass no new runs, but what it queued
		 * still starts. */
		int q = !once || first ? cairn_daemon_tick(d.st, &to, &res)
				       : cairn_daemon_tick_start_only(d.st, &to, &res);
		if (q < 0) {
			cairn_log_warn("daemon: %s", cairn_error_message());
			cairn_error_clear();
		}
		if (!stopping && (!once || first)) {
			start_due(&d, to.now, cairn_daemon_imports_due, "repos", "sync", "import");
			start_due(&d, to.now, cairn_daemon_copies_due, "policy", "copy", "copy of policy");
			start_due(&d, to.now, cairn_daemon_standbys_due, "standby", "update", "standby");
			start_due(&d, to.now, cairn_daemon_drills_due, "drill", "run", "drill of");
		}
		if (!stopping)
			start_arrivals(&d);
		if (!stopping) {
			if (cairn_jobq_sweep(cli_state_dir(g), d.st) < 0) {
				cairn_log_warn("daemon: %s", cairn_error_message());
				cairn_error_clear();
			}
			start_queued_api(&d, max_jobs);
		}
		if (alerts)
			announce(alerts, d.st, to.now, host);
		first = false;
		struct cairn_api_daemon_status ds = { .running_jobs = (unsigned)d.nkids, .max_jobs = max_jobs,
						      .stopping = stopping, .last_tick = to.now };
		cairn_api_set_status(api, &ds);
		if (once && !d.nkids && !any_queued(d.st))
			break;
		/* Wake at least every second: children end, cancels, new policies. */
		struct timespec ts = { .tv_sec = 1 };
		if (q >= 0 && res.next_due != INT64_MAX && res.next_due - to.now < 1 && res.next_due > to.now)
			ts.tv_sec = 0, ts.tv_nsec = 200000000;
		nanosleep(&ts, NULL);
	}
	cairn_alerts_free(alerts, d.st, 10);
	cairn_api_stop(api);
	cairn_log_info("daemon stopped");
	free(d.kids);
	cairn_state_free(d.st);
	return r < 0 ? cli_fail(r) : EXIT_OK;
}

/* The journal wants to hear what the daemon does (log_journal).  It
 * opens the state database itself, once it has found its own binary. */
const struct cli_cmd cli_cmd_daemon = {
	.verb = "daemon", .run = run_daemon, .opts = daemon_opts, .args_size = sizeof(struct daemon_args),
	.pos_max = 0, .log_journal = true, .check = check_daemon,
};
