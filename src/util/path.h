/* Opening the paths cairn is given without trusting what someone else
 * planted in them (README, "Snapshots and permissions").
 *
 * A path is walked one component at a time with O_NOFOLLOW.  A symbolic
 * link on the way is followed only when root or the user cairn runs as
 * owns it (LVM's /dev/VG/LV, a link the operator made); a link another
 * user owns is refused with a line naming it, because whoever can write
 * the directory holding it can point it, at any moment, at a file only
 * cairn may read or write.  The walk hands back descriptors of the object
 * and of its directory: callers go on from those, never by opening the
 * path again.
 *
 * Private directories hold what no one else may touch (snapshots): made
 * 0700, opened O_NOFOLLOW|O_DIRECTORY, and used only when fstat of that
 * descriptor says they belong to the effective uid and give no permission
 * to group or others.  Inside one, names are cairn's alone.
 */
#ifndef CAIRN_UTIL_PATH_H
#define CAIRN_UTIL_PATH_H

#include <stdbool.h>

struct cairn_path {
	int fd;     /* the object, opened with the caller's flags; -1 when missing_ok and it is missing */
	int dirfd;  /* the directory holding it (O_PATH: for the *at() calls) */
	char *name; /* its name in dirfd */
	char *abs;  /* its absolute path without links, '.' or '..' (malloc'd) */
};
#define CAIRN_PATH_INIT { .fd = -1, .dirfd = -1 }
void cairn_path_clear(struct cairn_path *p);

/* Walks path as above and opens what it names with flags (O_NOFOLLOW and
 * O_CLOEXEC are added; O_CREAT is not allowed).  what names the path in
 * messages ("source", "target"): "cannot open source X: No such file or
 * directory", "source X is a symbolic link owned by uid 1000; give the
 * path it points to" (CAIRN_EPERM).  With missing_ok a missing last
 * component is not an error: ret->fd is -1, the rest is filled. */
int cairn_path_open(const char *path, const char *what, int flags, bool missing_ok, struct cairn_path *ret);

/* The same, a relative path walked from the directory atfd whose absolute
 * path is at_abs (AT_FDCWD: the current directory). */
int cairn_path_open_at(int atfd, const char *at_abs, const char *path, const char *what, int flags, bool missing_ok,
		       struct cairn_path *ret);

/* The absolute path (malloc'd) path names, walked as cairn_path_open
 * does: realpath(3) that refuses another user's link. */
int cairn_path_resolve(const char *path, const char *what, char **ret);

/* Opens name in dirfd again with flags (O_NOFOLLOW added), and only if
 * it is still the file fd: another descriptor of what a walk opened (the
 * walk's O_PATH one, a temporary file's), for other flags.  CAIRN_EPERM
 * naming display when something else took the name meanwhile. */
int cairn_path_reopen(int dirfd, const char *name, int fd, int flags, const char *display, int *ret_fd);

/* Opens the private directory name in atfd (display: its path, for
 * messages; what: "snapshot directory"), making it 0700 first when create.
 * A symbolic link, something not a directory, a directory of another
 * user or one with group or other permission bits is refused with
 * CAIRN_EPERM and a line naming it and why; it is never reused or
 * replaced.  Missing without create: CAIRN_ENOTFOUND. */
int cairn_path_private_dir(int atfd, const char *name, const char *display, const char *what, bool create,
			   int *ret_fd);

#endif
