#include "util/proc.h"
#include "util/buf.h"
#include "util/env.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"

int cairn_run_hook(const char *label, const char *cmd, const char *const *env, unsigned timeout_s)
{
	return cairn_run_hook_input(label, cmd, env, NULL, 0, timeout_s);
}

int cairn_run_hook_input(const char *label, const char *cmd, const char *const *env, const void *input, size_t len,
			 unsigned timeout_s)
{
	char **envp = NULL;
	int r = cairn_env_for_child(env, &envp);
	if (r < 0)
		return r;
	int pi[2] = { -1, -1 };
	if (input && pipe2(pi, O_CLOEXEC) < 0) {
		free(envp);
		return cairn_error_errno(errno, "%s: pipe", label);
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (input)
		posix_spawn_file_actions_adddup2(&fa, pi[0], 0);
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	pid_t pid;
	int rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	if (input)
		close(pi[0]);
	if (rc != 0) {
		if (input)
			close(pi[1]);
		return cairn_error_errno(rc, "%s: cannot run /bin/sh", label);
	}
	if (input) {
		/* Small (an event): the pipe holds it even if the command never
		 * reads.  One that exits without reading must not kill us with
		 * SIGPIPE: blocked in this thread only (the daemon runs several
		 * deliveries at once), and the one our write raised is taken. */
		sigset_t pipe_set, old_set, pending;
		sigemptyset(&pipe_set);
		sigaddset(&pipe_set, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
		sigpending(&pending);
		bool was_pending = sigismember(&pending, SIGPIPE);
		const char *p = input;
		bool broken = false;
		while (len > 0) {
			ssize_t n = write(pi[1], p, len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				broken = n < 0 && errno == EPIPE;
				break;
			}
			p += n;
			len -= (size_t)n;
		}
		if (broken && !was_pending) {
			struct timespec zero = { 0, 0 };
			while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
				;
		}
		pthread_sigmask(SIG_SETMASK, &old_set, NULL);
		close(pi[1]);
	}
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int st = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return cairn_error_errno(errno, "%s: wait", label);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout_s && now.tv_sec - start.tv_sec >= (time_t)timeout_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return cairn_error_set(CAIRN_EIO, "%s did not finish within %u s (killed)", label, timeout_s);
		}
		struct timespec d = { 0, 20 * 1000 * 1000 };
		nanosleep(&d, NULL);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		return cairn_error_set(CAIRN_EIO, "%s failed (exit status %d)", label, WEXITSTATUS(st));
	return cairn_error_set(CAIRN_EIO, "%s was killed by signal %d", label, WTERMSIG(st));
}

/* Reads what is there from fd into b (up to cap bytes kept); false at EOF. */
static bool drain(int fd, struct cairn_buf *b, size_t cap)
{
	char tmp[65536];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	if (b && b->len < cap)
		cairn_buf_append(b, tmp, MIN((size_t)n, cap - b->len));
	return true;
}

int cairn_run_capture(const char *const *argv, struct cairn_buf *out, struct cairn_buf *out_err, unsigned timeout_s)
{
	int po[2], pe[2] = { -1, -1 };
	char **envp = NULL;
	int r = cairn_env_for_child(NULL, &envp);
	if (r < 0)
		return r;
	if (pipe2(po, O_CLOEXEC) < 0) {
		free(envp);
		return cairn_error_errno(errno, "pipe");
	}
	if (out_err && pipe2(pe, O_CLOEXEC) < 0) {
		r = cairn_error_errno(errno, "pipe");
		close(po[0]);
		close(po[1]);
		free(envp);
		return r;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	if (out_err)
		posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	close(po[1]);
	if (pe[1] >= 0)
		close(pe[1]);
	if (rc != 0) {
		close(po[0]);
		if (pe[0] >= 0)
			close(pe[0]);
		if (rc == ENOENT)
			return cairn_error_set(CAIRN_ENOTFOUND, "%s is not installed", argv[0]);
		return cairn_error_errno(rc, "cannot run %s", argv[0]);
	}
	if (out)
		cairn_buf_clear(out);
	if (out_err)
		cairn_buf_clear(out_err);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	bool open_o = true, open_e = pe[0] >= 0, timed_out = false;
	while (open_o || open_e) {
		struct pollfd p[2] = { { open_o ? po[0] : -1, POLLIN, 0 }, { open_e ? pe[0] : -1, POLLIN, 0 } };
		int n = poll(p, 2, 200);
		if (n < 0 && errno != EINTR)
			break;
		if (open_o && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			open_o = drain(po[0], out, 64u << 20);
		if (open_e && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			open_e = drain(pe[0], out_err, 64u << 10);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout_s && now.tv_sec - start.tv_sec >= (time_t)timeout_s) {
			kill(pid, SIGKILL);
			timed_out = true;
			break;
		}
	}
	close(po[0]);
	if (pe[0] >= 0)
		close(pe[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		return cairn_error_set(CAIRN_EIO, "%s did not finish within %u s (killed)", argv[0], timeout_s);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	char first[256] = "";
	if (out_err && out_err->len) {
		size_t l = strcspn((const char *)out_err->data, "\n");
		snprintf(first, sizeof(first), ": %.*s", (int)MIN(l, out_err->len), (const char *)out_err->data);
	}
	if (WIFEXITED(st))
		return cairn_error_set(CAIRN_EIO, "%s failed (exit status %d)%s", argv[0], WEXITSTATUS(st), first);
	return cairn_error_set(CAIRN_EIO, "%s was killed by signal %d", argv[0], WTERMSIG(st));
}
