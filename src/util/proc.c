#include "util/proc.h"
#include "util/error.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int cairn_run_hook(const char *label, const char *cmd, const char *const *env, unsigned timeout_s)
{
	size_t ne = 0, nx = 0;
	while (environ[ne])
		ne++;
	while (env && env[nx])
		nx++;
	char **envp = calloc(ne + nx + 1, sizeof(char *));
	if (!envp)
		return CAIRN_ENOMEM;
	for (size_t i = 0; i < nx; i++)
		envp[i] = (char *)env[i];
	for (size_t i = 0; i < ne; i++)
		envp[nx + i] = environ[i];
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	pid_t pid;
	int rc = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, envp);
	free(envp);
	if (rc != 0)
		return cairn_error_errno(rc, "%s: cannot run /bin/sh", label);
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
