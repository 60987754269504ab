/* Walking paths without following other users' links (path.h). */
#include "util/path.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINKS 40

void cairn_path_clear(struct cairn_path *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	if (p->dirfd >= 0)
		close(p->dirfd);
	free(p->name);
	free(p->abs);
	*p = (struct cairn_path)CAIRN_PATH_INIT;
}

struct walk {
	const char *path, *what;
	int cur;            /* the directory reached so far (O_PATH) */
	char abs[PATH_MAX]; /* its absolute path; "" is the root */
	char *rest;         /* what is left to walk (malloc'd) */
	char *next;         /* in rest */
	unsigned links;
	bool last_was_link; /* the final component named a link */
};

static int too_long(const struct walk *w)
{
	return cairn_error_set(CAIRN_EINVAL, "%s %s: the path is too long", w->what, w->path);
}

static int append(struct walk *w, const char *name)
{
	size_t n = strlen(w->abs);
	if (n + 1 + strlen(name) >= sizeof(w->abs))
		return too_long(w);
	w->abs[n] = '/';
	strcpy(w->abs + n + 1, name);
	return 0;
}

static int set_cur(struct walk *w, int fd)
{
	if (fd < 0)
		return cairn_error_errno(errno, "cannot open %s %s", w->what, w->path);
	if (w->cur >= 0)
		close(w->cur);
	w->cur = fd;
	return 0;
}

static int up(struct walk *w)
{
	char *s = strrchr(w->abs, '/');
	if (s)
		*s = 0;
	return set_cur(w, openat(w->cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
}

/* The component c of w->cur is the link lfd (lst its stat): continue with
 * its target in front of what is left, if its owner may be trusted. */
static int follow(struct walk *w, const char *c, int lfd, const struct stat *lst)
{
	char at[PATH_MAX + 256];
	snprintf(at, sizeof(at), "%s/%s", w->abs, c);
	if (lst->st_uid != 0 && lst->st_uid != geteuid()) {
		if (strcmp(at, w->path) == 0)
			return cairn_error_set(CAIRN_EPERM,
					       "%s %s is a symbolic link owned by uid %u; give the path it points to",
					       w->what, w->path, (unsigned)lst->st_uid);
		return cairn_error_set(CAIRN_EPERM,
				       "%s %s: %s is a symbolic link owned by uid %u; give the path it points to", w->what,
				       w->path, at, (unsigned)lst->st_uid);
	}
	if (++w->links > MAX_LINKS)
		return cairn_error_set(CAIRN_EINVAL, "%s %s: too many levels of symbolic links", w->what, w->path);
	char target[PATH_MAX];
	ssize_t n = readlinkat(lfd, "", target, sizeof(target) - 1);
	if (n < 0)
		return cairn_error_errno(errno, "cannot read the link %s", at);
	if (n == 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "%s %s: the link %s is empty", w->what, w->path, at);
	target[n] = 0;
	char *rest = NULL;
	if (asprintf(&rest, "%s%s%s", target, *w->next ? "/" : "", w->next) < 0)
		return cairn_error_nomem();
	free(w->rest);
	w->rest = w->next = rest;
	if (target[0] == '/') {
		w->abs[0] = 0;
		return set_cur(w, open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
	}
	return 0;
}

static int follow_closing(struct walk *w, const char *c, bool last, int lfd, const struct stat *lst)
{
	w->last_was_link = last;
	int r = follow(w, c, lfd, lst);
	close(lfd);
	return r;
}

/* The next component of w->next, NUL-terminated in place; "" at the end. */
static char *next_component(struct walk *w)
{
	while (*w->next == '/')
		w->next++;
	char *c = w->next, *slash = strchr(c, '/');
	if (slash) {
		*slash = 0;
		w->next = slash + 1;
	} else {
		w->next = c + strlen(c);
	}
	while (*w->next == '/')
		w->next++;
	return c;
}

static int fill(struct walk *w, int fd, const char *name, struct cairn_path *ret)
{
	ret->fd = fd;
	ret->dirfd = TAKE_FD(w->cur);
	ret->name = strdup(name);
	if (strcmp(name, ".") == 0)
		ret->abs = strdup(*w->abs ? w->abs : "/");
	else if (asprintf(&ret->abs, "%s/%s", w->abs, name) < 0)
		ret->abs = NULL;
	if (!ret->name || !ret->abs) {
		cairn_path_clear(ret);
		return cairn_error_nomem();
	}
	return 0;
}

static int walk(struct walk *w, int flags, bool missing_ok, struct cairn_path *ret)
{
	int r;
	for (;;) {
		char *c = next_component(w);
		bool last = !*w->next;
		if (!*c || strcmp(c, ".") == 0 || strcmp(c, "..") == 0) {
			if (strcmp(c, "..") == 0 && (r = up(w)) < 0)
				return r;
			if (!last)
				continue;
			/* The path names a directory by '.', '..' or '/'. */
			int fd = openat(w->cur, ".", flags | O_CLOEXEC);
			if (fd < 0)
				return cairn_error_errno(errno, "cannot open %s %s", w->what, w->path);
			return fill(w, fd, ".", ret);
		}
		int fd, e, tries = 0;
		struct stat st;
	again:
		fd = openat(w->cur, c, (last ? flags : O_PATH) | O_NOFOLLOW | O_CLOEXEC);
		e = errno;
		if (fd >= 0 && (!last || (flags & O_PATH))) {
			if (fstat(fd, &st) < 0) {
				e = errno;
				close(fd);
				return cairn_error_errno(e, "cannot open %s %s", w->what, w->path);
			}
			if (S_ISLNK(st.st_mode)) {
				if ((r = follow_closing(w, c, last, fd, &st)) < 0)
					return r;
				continue;
			}
			if (!last && !S_ISDIR(st.st_mode)) {
				close(fd);
				return cairn_error_errno(ENOTDIR, "cannot open %s %s", w->what, w->path);
			}
		}
		if (fd < 0 && (e == ELOOP || e == ENOTDIR || e == ENXIO)) {
			/* O_NOFOLLOW met a link (or O_DIRECTORY a file): which? */
			int lfd = openat(w->cur, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (lfd >= 0 && fstat(lfd, &st) == 0 && S_ISLNK(st.st_mode)) {
				if ((r = follow_closing(w, c, last, lfd, &st)) < 0)
					return r;
				continue;
			}
			if (lfd >= 0)
				close(lfd);
			/* A link when opened, something else when looked at:
			 * someone swaps the name; look again. */
			if (lfd >= 0 && e == ELOOP && ++tries < 10)
				goto again;
		}
		if (fd < 0 && e == ENOENT && last && w->last_was_link)
			return cairn_error_set(CAIRN_ENOTFOUND, "%s %s is a symbolic link that does not resolve", w->what,
					       w->path);
		if (fd < 0 && e == ENOENT && last && missing_ok)
			return fill(w, -1, c, ret);
		if (fd < 0)
			return cairn_error_errno(e, "cannot open %s %s", w->what, w->path);
		if (last)
			return fill(w, fd, c, ret);
		if ((r = append(w, c)) < 0) {
			close(fd);
			return r;
		}
		set_cur(w, fd);
		w->last_was_link = false;
	}
}

int cairn_path_open_at(int atfd, const char *at_abs, const char *path, const char *what, int flags, bool missing_ok,
		       struct cairn_path *ret)
{
	*ret = (struct cairn_path)CAIRN_PATH_INIT;
	if (!path || !*path)
		return cairn_error_set(CAIRN_EINVAL, "no %s given", what);
	struct walk w = { .path = path, .what = what, .cur = -1 };
	if (path[0] == '/') {
		w.cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else if (atfd != AT_FDCWD) {
		if (strlen(at_abs) >= sizeof(w.abs))
			return too_long(&w);
		strcpy(w.abs, strcmp(at_abs, "/") == 0 ? "" : at_abs);
		w.cur = openat(atfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else {
		if (!getcwd(w.abs, sizeof(w.abs)))
			return cairn_error_errno(errno, "cannot open %s %s: the current directory", what, path);
		if (strcmp(w.abs, "/") == 0)
			w.abs[0] = 0;
		w.cur = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (w.cur < 0)
		return cairn_error_errno(errno, "cannot open %s %s", what, path);
	w.rest = w.next = strdup(path);
	int r = w.rest ? walk(&w, flags, missing_ok, ret) : cairn_error_nomem();
	free(w.rest);
	if (w.cur >= 0)
		close(w.cur);
	return r;
}

int cairn_path_open(const char *path, const char *what, int flags, bool missing_ok, struct cairn_path *ret)
{
	return cairn_path_open_at(AT_FDCWD, NULL, path, what, flags, missing_ok, ret);
}

int cairn_path_resolve(const char *path, const char *what, char **ret)
{
	struct cairn_path p;
	int r = cairn_path_open(path, what, O_PATH, false, &p);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p.abs);
	cairn_path_clear(&p);
	return 0;
}

int cairn_path_reopen(int dirfd, const char *name, int fd, int flags, const char *display, int *ret_fd)
{
	struct stat want, got;
	/* O_NONBLOCK until it is known to be the same file: a FIFO put at
	 * the name must not hang the open. */
	_cleanup_close_ int nfd = openat(dirfd, name, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (nfd < 0)
		return cairn_error_errno(errno, "cannot open %s", display);
	if (fstat(fd, &want) < 0 || fstat(nfd, &got) < 0)
		return cairn_error_errno(errno, "cannot open %s", display);
	if (want.st_dev != got.st_dev || want.st_ino != got.st_ino || want.st_rdev != got.st_rdev)
		return cairn_error_set(CAIRN_EPERM, "%s changed while cairn opened it; not using it", display);
	int fl = fcntl(nfd, F_GETFL);
	if (!(flags & O_NONBLOCK) && (fl < 0 || fcntl(nfd, F_SETFL, fl & ~O_NONBLOCK) < 0))
		return cairn_error_errno(errno, "cannot open %s", display);
	*ret_fd = TAKE_FD(nfd);
	return 0;
}

int cairn_path_private_dir(int atfd, const char *name, const char *display, const char *what, bool create,
			   int *ret_fd)
{
	if (create && mkdirat(atfd, name, 0700) < 0 && errno != EEXIST)
		return cairn_error_errno(errno, "cannot create %s %s", what, display);
	_cleanup_close_ int fd = openat(atfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return cairn_error_set(CAIRN_ENOTFOUND, "%s %s does not exist", what, display);
		if (fstatat(atfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			return cairn_error_set(CAIRN_EPERM,
					       "refusing %s %s: it is a symbolic link (owned by uid %u), not a directory "
					       "of cairn's own",
					       what, display, (unsigned)st.st_uid);
		if (e == ENOTDIR)
			return cairn_error_set(CAIRN_EPERM, "refusing %s %s: it is not a directory", what, display);
		return cairn_error_errno(e, "cannot open %s %s", what, display);
	}
	if (fstat(fd, &st) < 0)
		return cairn_error_errno(errno, "cannot open %s %s", what, display);
	if (st.st_uid != geteuid())
		return cairn_error_set(CAIRN_EPERM,
				       "refusing %s %s: it is owned by uid %u, not by uid %u that cairn runs as, so "
				       "someone else may change what is in it",
				       what, display, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 077)
		return cairn_error_set(CAIRN_EPERM,
				       "refusing %s %s: its mode %04o lets group or others in; it must be 0700 (chmod "
				       "700 it if it is cairn's)",
				       what, display, (unsigned)(st.st_mode & 07777));
	*ret_fd = TAKE_FD(fd);
	return 0;
}
