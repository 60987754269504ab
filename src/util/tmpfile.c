/* Locked temporary files named after their process (tmpfile.h). */
#include "util/tmpfile.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <stdint.h>
#include <sys/random.h>
#include <unistd.h>

#define TMP_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define TMP_RANDOM 6

/* A fresh NAME TAG PID -XXXXXX (malloc'd). */
static int tmp_name(const char *name, const char *tag, char **ret)
{
	uint8_t rnd[TMP_RANDOM];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return cairn_error_errno(errno, "no random bytes for a temporary name");
	char suffix[TMP_RANDOM + 1];
	for (size_t i = 0; i < TMP_RANDOM; i++)
		suffix[i] = TMP_CHARS[rnd[i] % (sizeof(TMP_CHARS) - 1)];
	suffix[TMP_RANDOM] = 0;
	return asprintf(ret, "%s%s%d-%s", name, tag, (int)getpid(), suffix) < 0 ? cairn_error_nomem() : 0;
}

int cairn_tmp_create(int dirfd, const char *dir, const char *name, const char *tag, int *ret_fd, char **ret_tmp)
{
	for (int tries = 0; tries < 100; tries++) {
		_cleanup_free_ char *tmp = NULL;
		int r = tmp_name(name, tag, &tmp);
		if (r < 0)
			return r;
		int fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return cairn_error_errno(errno, "cannot create %s/%s", dir, tmp);
		/* Without locks (some network file systems) only the pid protects it. */
		(void)flock(fd, LOCK_EX | LOCK_NB);
		*ret_fd = fd;
		*ret_tmp = TAKE_PTR(tmp);
		return 0;
	}
	return cairn_error_set(CAIRN_EEXIST, "cannot create a temporary file for %s/%s: every name tried exists", dir,
			       name);
}

int cairn_tmp_anon(int dirfd, int *ret_fd)
{
	int fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return CAIRN_EUNSUPPORTED;
	(void)flock(fd, LOCK_EX | LOCK_NB);
	*ret_fd = fd;
	return 0;
}

int cairn_tmp_link(int dirfd, const char *dir, const char *name, const char *tag, int fd, char **ret_tmp)
{
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	for (int tries = 0; tries < 100; tries++) {
		_cleanup_free_ char *tmp = NULL;
		int r = tmp_name(name, tag, &tmp);
		if (r < 0)
			return r;
		/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc does not. */
		r = linkat(fd, "", dirfd, tmp, AT_EMPTY_PATH);
		if (r < 0 && errno != EEXIST)
			r = linkat(AT_FDCWD, self, dirfd, tmp, AT_SYMLINK_FOLLOW);
		if (r < 0 && errno == EEXIST)
			continue;
		if (r < 0)
			return cairn_error_errno(errno, "cannot link %s/%s", dir, tmp);
		*ret_tmp = TAKE_PTR(tmp);
		return 0;
	}
	return cairn_error_set(CAIRN_EEXIST, "cannot link a temporary file for %s/%s: every name tried exists", dir,
			       name);
}

bool cairn_tmp_parse(const char *entry, const char *tag, size_t *ret_name_len, pid_t *ret_pid)
{
	/* The last occurrence: NAME may hold the tag itself. */
	const char *t = NULL;
	for (const char *s = strstr(entry, tag); s; s = strstr(s + 1, tag))
		t = s;
	if (!t)
		return false;
	const char *p = t + strlen(tag);
	size_t digits = strspn(p, "0123456789");
	if (digits == 0 || digits > 9 || p[digits] != '-' || strspn(p + digits + 1, TMP_CHARS) != TMP_RANDOM ||
	    p[digits + 1 + TMP_RANDOM] != '\0')
		return false;
	pid_t pid = (pid_t)strtol(p, NULL, 10);
	if (pid <= 0)
		return false;
	*ret_name_len = (size_t)(t - entry);
	*ret_pid = pid;
	return true;
}

int cairn_tmp_claim(int dirfd, const char *entry, pid_t pid, int *ret_fd, struct stat *ret_st)
{
	if (pid == getpid() || (pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH)))
		return 0;
	/* O_NONBLOCK: a FIFO of that name must not hang us. */
	_cleanup_close_ int fd = openat(dirfd, entry, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, ret_st) < 0 || !S_ISREG(ret_st->st_mode) || flock(fd, LOCK_EX | LOCK_NB) < 0)
		return 0;
	*ret_fd = TAKE_FD(fd);
	return 1;
}

void cairn_tmp_sweep(int dirfd, const char *dir, const char *name, const char *tag, const char *what)
{
	int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_(closedirp) DIR *dp = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!dp) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	size_t nl = name ? strlen(name) : 0;
	struct dirent *e;
	while ((e = readdir(dp))) {
		size_t len;
		pid_t pid;
		if (!cairn_tmp_parse(e->d_name, tag, &len, &pid) || (name && (len != nl || strncmp(e->d_name, name, nl))))
			continue;
		int fd;
		struct stat st;
		if (cairn_tmp_claim(dirfd, e->d_name, pid, &fd, &st) != 1)
			continue;
		if (unlinkat(dirfd, e->d_name, 0) == 0)
			cairn_log_info("removed %s/%s, left by %s that was killed (process %d)", dir, e->d_name, what,
				       (int)pid);
		close(fd);
	}
}

int cairn_tmp_commit(int dirfd, const char *dir, const char *tmp, const char *name, int fd)
{
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		return cairn_error_errno(errno, "rename %s/%s to %s", dir, tmp, name);
	struct stat mine, there;
	if (fstat(fd, &mine) < 0)
		return cairn_error_errno(errno, "stat %s/%s", dir, name);
	if (fstatat(dirfd, name, &there, AT_SYMLINK_NOFOLLOW) < 0 || there.st_dev != mine.st_dev ||
	    there.st_ino != mine.st_ino)
		return cairn_error_set(CAIRN_EPERM,
				       "%s/%s is not the file cairn wrote: something else was put there while it was "
				       "renamed into place (someone else can write %s)",
				       dir, name, dir);
	return 0;
}
