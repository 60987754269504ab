#include "source/freeze.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Watchdog exit statuses. */
enum { WD_TOLD = 0, WD_TIMEOUT = 2, WD_ORPHANED = 3 };

struct cairn_freeze {
	int *fds;
	char **paths;
	size_t n, frozen;
	int pipe_w; /* to the watchdog; closing it means "cairn is gone" */
	pid_t watchdog;
	unsigned max_ms;
	double t0;
};

/* The watchdog: async-signal-safe calls only (the parent may have threads). */
static void watchdog_main(int rfd, const int *fds, size_t n, unsigned max_ms)
{
	setsid();
	/* Whatever cairn's terminal or signals do, finish the job. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	struct pollfd p = { .fd = rfd, .events = POLLIN };
	int rc;
	do
		rc = poll(&p, 1, (int)max_ms);
	while (rc < 0 && errno == EINTR);
	char c;
	if (rc > 0 && read(rfd, &c, 1) == 1)
		_exit(WD_TOLD); /* cairn thawed by itself */
	for (size_t i = n; i-- > 0;)
		(void)ioctl(fds[i], FITHAW, 0);
	_exit(rc == 0 ? WD_TIMEOUT : WD_ORPHANED);
}

static void thaw_all(struct cairn_freeze *f)
{
	for (size_t i = f->frozen; i-- > 0;)
		(void)ioctl(f->fds[i], FITHAW, 0);
	f->frozen = 0;
}

static void free_freeze(struct cairn_freeze *f)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->fds[i] >= 0)
			close(f->fds[i]);
		free(f->paths[i]);
	}
	free(f->fds);
	free(f->paths);
	if (f->pipe_w >= 0)
		close(f->pipe_w);
	free(f);
}

/* Tells the watchdog we are done (or just closes the pipe) and reaps it. */
static int reap_watchdog(struct cairn_freeze *f, bool told)
{
	if (f->watchdog <= 0)
		return WD_TOLD;
	if (told && write(f->pipe_w, "t", 1) != 1)
		told = false;
	close(f->pipe_w);
	f->pipe_w = -1;
	int st = 0;
	while (waitpid(f->watchdog, &st, 0) < 0 && errno == EINTR)
		;
	f->watchdog = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : WD_ORPHANED;
}

int cairn_freeze_begin(const char *const *mountpoints, size_t n, unsigned max_freeze_ms, struct cairn_freeze **ret)
{
	struct cairn_freeze *f = calloc(1, sizeof(*f));
	if (!f)
		return cairn_error_nomem();
	f->pipe_w = -1;
	f->fds = malloc((n ? n : 1) * sizeof(int));
	f->paths = calloc(n ? n : 1, sizeof(char *));
	if (!f->fds || !f->paths) {
		free_freeze(f);
		return cairn_error_nomem();
	}
	int r = 0;
	for (size_t i = 0; i < n; i++)
		f->fds[i] = -1;
	f->n = n;
	f->max_ms = max_freeze_ms;
	for (size_t i = 0; i < n && r >= 0; i++) {
		f->paths[i] = strdup(mountpoints[i]);
		f->fds[i] = open(mountpoints[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (!f->paths[i])
			r = cairn_error_nomem();
		else if (f->fds[i] < 0)
			r = cairn_error_errno(errno, "cannot open mount point %s", mountpoints[i]);
	}
	int pfd[2] = { -1, -1 };
	if (r >= 0 && pipe2(pfd, O_CLOEXEC) < 0)
		r = cairn_error_errno(errno, "pipe");
	if (r >= 0) {
		pid_t pid = fork();
		if (pid < 0) {
			r = cairn_error_errno(errno, "cannot start the freeze watchdog");
		} else if (pid == 0) {
			close(pfd[1]);
			watchdog_main(pfd[0], f->fds, n, max_freeze_ms);
		} else {
			f->watchdog = pid;
			f->pipe_w = pfd[1];
			pfd[1] = -1;
		}
	}
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	f->t0 = cairn_now();
	for (size_t i = 0; i < n && r >= 0; i++) {
		if (ioctl(f->fds[i], FIFREEZE, 0) < 0) {
			int e = errno;
			if (e == EBUSY)
				r = cairn_error_set(CAIRN_EBUSY, "%s is already frozen", mountpoints[i]);
			else if (e == EOPNOTSUPP || e == ENOTTY || e == EINVAL)
				r = cairn_error_set(CAIRN_EUNSUPPORTED, "%s: this file system cannot be frozen",
						    mountpoints[i]);
			else
				r = cairn_error_errno(e, "cannot freeze %s", mountpoints[i]);
			break;
		}
		f->frozen = i + 1;
	}
	if (r < 0) {
		thaw_all(f);
		reap_watchdog(f, true);
		free_freeze(f);
		return r;
	}
	cairn_log_debug("froze %zu file system(s); watchdog %d thaws after %u ms", n, (int)f->watchdog,
			max_freeze_ms);
	*ret = f;
	return 0;
}

int cairn_freeze_end(struct cairn_freeze *f, double *ret_seconds)
{
	if (!f)
		return 0;
	/* Thaw first, then tell the watchdog: if it fired meanwhile, FITHAW
	 * finds nothing frozen and the watchdog's exit status says why. */
	thaw_all(f);
	double secs = cairn_now() - f->t0;
	int wd = reap_watchdog(f, true);
	if (ret_seconds)
		*ret_seconds = secs;
	int r = 0;
	if (wd == WD_TIMEOUT)
		r = cairn_error_set(CAIRN_ETIMEOUT,
				    "the file systems stayed frozen longer than --max-freeze (%.1f s); the watchdog thawed "
				    "them, so the snapshots are not consistent",
				    f->max_ms / 1000.0);
	free_freeze(f);
	return r;
}

bool cairn_freeze_held(const struct cairn_freeze *f)
{
	if (!f)
		return false;
	/* The watchdog exits once it has thawed (or been told); WNOWAIT
	 * leaves it for cairn_freeze_end to reap. */
	siginfo_t si = { 0 };
	if (waitid(P_PID, (id_t)f->watchdog, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return false;
	return si.si_pid == 0;
}

pid_t cairn_freeze_watchdog_pid(const struct cairn_freeze *f)
{
	return f->watchdog;
}
