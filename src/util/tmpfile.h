/* Temporary files that become another file once complete (a restored
 * volume, a reverted image, a group's config document, a snapshot being
 * made): named NAME TAG PID "-XXXXXX" in the directory of NAME, created
 * O_EXCL|O_NOFOLLOW (a name planted there is never followed or reused)
 * and locked with flock for as long as their process holds them open.
 *
 * A later run tells an abandoned one (its process is gone and no one holds
 * its lock) from one in use, and removes it at once: a run killed with
 * SIGKILL, which cannot clean up, does not leave a volume-sized file for
 * good.  The process id covers file systems without locks; the lock covers
 * a writer in another PID namespace, which looks gone.
 *
 * Everything goes through the directory's descriptor; dir is its path,
 * for messages only.
 */
#ifndef CAIRN_UTIL_TMPFILE_H
#define CAIRN_UTIL_TMPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Creates NAME TAG PID -XXXXXX in dirfd, mode 0600, open read-write and
 * locked; its name in *ret_tmp (malloc'd). */
int cairn_tmp_create(int dirfd, const char *dir, const char *name, const char *tag, int *ret_fd, char **ret_tmp);

/* A nameless file in dirfd (O_TMPFILE), open read-write and locked:
 * nothing for anyone to swap while it is being written, nothing left if
 * the process dies.  CAIRN_EUNSUPPORTED, without a message, where the
 * file system cannot. */
int cairn_tmp_anon(int dirfd, int *ret_fd);
/* Gives the nameless file fd a temporary name in dirfd, as
 * cairn_tmp_create would have (*ret_tmp), just before cairn_tmp_commit. */
int cairn_tmp_link(int dirfd, const char *dir, const char *name, const char *tag, int fd, char **ret_tmp);

/* Whether entry is a temporary name with tag; the length of its NAME part
 * and its process id. */
bool cairn_tmp_parse(const char *entry, const char *tag, size_t *ret_name_len, pid_t *ret_pid);

/* Claims entry in dirfd when it is abandoned: a regular file (not a link,
 * not a FIFO) whose process pid (0: not known, the lock decides) is gone
 * and whose lock is free.  1 with *ret_fd open and locked (so no one else
 * claims it while the caller looks at or removes it) and *ret_st; 0 when
 * it is in use or not such a file. */
int cairn_tmp_claim(int dirfd, const char *entry, pid_t pid, int *ret_fd, struct stat *ret_st);

/* Removes the abandoned temporaries of name (NULL: of any name) with tag
 * in dirfd, logging each as left by `what` ("a restore") that was killed. */
void cairn_tmp_sweep(int dirfd, const char *dir, const char *name, const char *tag, const char *what);

/* Renames tmp to name in dirfd, then checks that what sits at name is the
 * file fd: whoever else can write the directory may have swapped the
 * temporary for something else in between.  CAIRN_EPERM, naming it, when
 * it did; the caller's file is then not in place. */
int cairn_tmp_commit(int dirfd, const char *dir, const char *tmp, const char *name, int fd);

#endif
