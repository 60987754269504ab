/* Warm standby volumes (standby.h): create, update (stage, commit, apply,
 * finish), recovery of an interrupted update, status. */
#include "app/standby.h"
#include "app/drexport.h"
#include "app/open.h"
#include "state/failovers.h"
#include "crypto/crypto.h"
#include "engine/engine.h"
#include "repo/group.h"
#include "repo/manifest.h"
#include "source/changes.h"
#include "source/chunker.h"
#include "source/volume.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/io.h"
#include "util/log.h"
#include "util/time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* A reflink clone being brought to the new restore point, beside its image. */
#define NEXT_TAG ".cairn-standby-next"
/* Journals and writes go by this much at a time. */
#define COPY_RUN (1u << 20)
/* A device's fingerprint: this many samples of SAMPLE bytes, evenly spread. */
#define FP_SAMPLES 16
#define FP_SAMPLE (64u << 10)

/* ---- the standby's directory in the state directory, and its lock ---- */

static int standby_dir(const struct cairn_app *app, const char *name, bool create, char **ret)
{
	if (!app->state_dir)
		return cairn_error_set(CAIRN_EINVAL, "standby volumes need a state directory (--state-dir)");
	_cleanup_free_ char *top = NULL;
	if (asprintf(&top, "%s/standby", app->state_dir) < 0 || asprintf(ret, "%s/%s", top, name) < 0)
		return cairn_error_nomem();
	if (create && ((mkdir(top, 0700) < 0 && errno != EEXIST) || (mkdir(*ret, 0700) < 0 && errno != EEXIST))) {
		int e = errno;
		free(*ret);
		*ret = NULL;
		return cairn_error_errno(e, "cannot create %s", top);
	}
	return 0;
}

/* Takes the standby's lock (held until *ret_fd is closed).  wait false:
 * CAIRN_EBUSY at once when another process holds it. */
static int standby_lock(const char *dir, const char *name, bool quiet, int *ret_fd)
{
	_cleanup_free_ char *p = NULL;
	if (asprintf(&p, "%s/lock", dir) < 0)
		return cairn_error_nomem();
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return cairn_error_errno(errno, "cannot open %s", p);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return quiet ? CAIRN_EBUSY
				     : cairn_error_set(CAIRN_EBUSY, "standby %s is being updated by another process", name);
		return cairn_error_errno(e, "cannot lock %s", p);
	}
	*ret_fd = fd;
	return 0;
}

/* Removes the journals in dir (what a run stopped before its commit point,
 * or one finished, left). */
static void remove_journals(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".journal"))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

/* ---- fingerprints: what the target looked like when the standby left it ---- */

static int fingerprint_one(const char *path, char *out, size_t outlen)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		snprintf(out, outlen, "missing");
		return 0;
	}
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return cairn_error_errno(errno, "cannot read %s", path);
	if (!S_ISBLK(st.st_mode)) {
		snprintf(out, outlen, "file:%llu:%lld.%09ld:%llu", (unsigned long long)st.st_size,
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
		return 0;
	}
	/* A device has no mtime that writes move: samples of its contents. */
	uint64_t size = 0;
	int r = cairn_fd_size(fd, path, &size, NULL);
	if (r < 0)
		return r;
	_cleanup_free_ uint8_t *buf = calloc(FP_SAMPLES, FP_SAMPLE);
	if (!buf)
		return cairn_error_nomem();
	uint64_t step = size > FP_SAMPLE ? (size - FP_SAMPLE) / (FP_SAMPLES - 1) : 0;
	for (unsigned k = 0; k < FP_SAMPLES; k++)
		if (pread(fd, buf + (size_t)k * FP_SAMPLE, FP_SAMPLE, (off_t)(k * step / 4096 * 4096)) < 0)
			return cairn_error_errno(errno, "read %s", path);
	uint8_t sum[32];
	if ((r = cairn_sha256(buf, (size_t)FP_SAMPLES * FP_SAMPLE, sum)) < 0)
		return r;
	char hex[65];
	cairn_hex_encode(sum, 16, hex);
	snprintf(out, outlen, "device:%llu:%s", (unsigned long long)size, hex);
	return 0;
}

/* "PATH=FINGERPRINT\n" for each path. */
static int fingerprint(const char *const *paths, size_t n, char **ret)
{
	size_t len = 0, cap = 0;
	char *s = NULL;
	for (size_t i = 0; i < n; i++) {
		char fp[128];
		int r = fingerprint_one(paths[i], fp, sizeof(fp));
		if (r < 0) {
			free(s);
			return r;
		}
		size_t need = strlen(paths[i]) + strlen(fp) + 3;
		if (len + need > cap) {
			cap = (len + need) * 2;
			char *ns = realloc(s, cap);
			if (!ns) {
				free(s);
				return cairn_error_nomem();
			}
			s = ns;
		}
		len += (size_t)sprintf(s + len, "%s=%s\n", paths[i], fp);
	}
	*ret = s ? s : strdup("");
	return *ret ? 0 : cairn_error_nomem();
}

/* Compares the targets with the fingerprint the standby left. */
static int fingerprint_check(const struct cairn_standby *sb)
{
	if (!sb->fingerprint)
		return 0;
	_cleanup_free_ char *copy = strdup(sb->fingerprint);
	if (!copy)
		return cairn_error_nomem();
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strrchr(line, '=');
		if (!eq)
			continue;
		*eq = 0;
		char now[128];
		int r = fingerprint_one(line, now, sizeof(now));
		if (r < 0)
			return r;
		if (strcmp(now, eq + 1) != 0)
			return cairn_error_set(CAIRN_EPERM,
					       "standby %s: %s changed since the standby last wrote it (%s, was %s), so it "
					       "may no longer hold restore point %.12s; use --force to rewrite it",
					       sb->name, line, now, eq + 1, sb->backup ? sb->backup : "?");
	}
	return 0;
}

/* ---- apply and finish (also the recovery of an interrupted update) ---- */

static int fsync_dir_of(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return cairn_error_nomem();
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	_cleanup_close_ int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return cairn_error_errno(errno, "fsync %s", dir);
	return 0;
}

/* Opens an image to write in place: a device exclusively (O_EXCL fails
 * while it is mounted, as restore's check). */
static int open_image(const char *target, bool *ret_device, int *ret_fd)
{
	struct stat st;
	if (stat(target, &st) < 0)
		return cairn_error_errno(errno, "standby image %s", target);
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
		return cairn_error_set(CAIRN_EINVAL, "standby image %s is neither a file nor a block device", target);
	*ret_device = S_ISBLK(st.st_mode);
	int fd = open(target, O_RDWR | O_CLOEXEC | (*ret_device ? O_EXCL : 0));
	if (fd < 0 && errno == EBUSY)
		return cairn_error_set(CAIRN_EBUSY, "target %s is in use (mounted?); refusing to write to it", target);
	if (fd < 0)
		return cairn_error_errno(errno, "cannot open %s", target);
	*ret_fd = fd;
	return 0;
}

/* Copies the journal's ranges into the image: what differs becomes the
 * new restore point's bytes; zeros become holes in a file. */
static int apply_journal(const struct cairn_app *app, json_t *mem, uint64_t *written)
{
	const char *journal = json_string_value(json_object_get(mem, "journal"));
	const char *target = json_string_value(json_object_get(mem, "target"));
	json_t *ranges = json_object_get(mem, "ranges");
	uint64_t size = (uint64_t)json_integer_value(json_object_get(mem, "size"));
	if (!journal || !target || !json_is_array(ranges))
		return cairn_error_set(CAIRN_ECORRUPT, "state database: a standby's pending update is damaged");
	_cleanup_close_ int jfd = open(journal, O_RDONLY | O_CLOEXEC);
	if (jfd < 0)
		return cairn_error_errno(errno, "standby journal %s", journal);
	bool device = false;
	_cleanup_close_ int fd = -1;
	int r = open_image(target, &device, &fd);
	if (r < 0)
		return r;
	_cleanup_free_ uint8_t *buf = malloc(COPY_RUN);
	if (!buf)
		return cairn_error_nomem();
	size_t i;
	json_t *rg;
	json_array_foreach(ranges, i, rg)
	{
		uint64_t off = (uint64_t)json_integer_value(json_array_get(rg, 0));
		uint64_t end = off + (uint64_t)json_integer_value(json_array_get(rg, 1));
		for (uint64_t pos = off; pos < end;) {
			size_t n = (size_t)MIN((uint64_t)COPY_RUN, end - pos);
			ssize_t got = pread(jfd, buf, n, (off_t)pos);
			if (got < 0)
				return cairn_error_errno(errno, "read %s", journal);
			if ((size_t)got < n)
				memset(buf + got, 0, n - (size_t)got);
			if (!device && cairn_chunk_is_zero(buf, n) &&
			    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)pos, (off_t)n) == 0) {
				/* a hole reads as the zeros */
			} else if ((r = cairn_pwrite_all(fd, buf, n, pos, target)) < 0) {
				return r;
			}
			*written += n;
			pos += n;
		}
		/* Tests: time to kill the update in the middle of applying. */
		if (app->test_job_delay_ms)
			usleep(app->test_job_delay_ms * 1000u);
	}
	struct stat st;
	if (!device && fstat(fd, &st) == 0 && (uint64_t)st.st_size != size && ftruncate(fd, (off_t)size) < 0)
		return cairn_error_errno(errno, "size %s", target);
	if (fsync(fd) < 0)
		return cairn_error_errno(errno, "fsync %s", target);
	return 0;
}

/* Renames a staged file over its place, unless that happened already. */
static int apply_rename(const char *tmp, const char *target)
{
	struct stat st;
	if (lstat(tmp, &st) < 0)
		return errno == ENOENT ? 0 : cairn_error_errno(errno, "standby %s", tmp);
	if (rename(tmp, target) < 0)
		return cairn_error_errno(errno, "cannot rename %s to %s", tmp, target);
	return fsync_dir_of(target);
}

/* Apply and finish of the pending update p (the commit point is passed). */
static int apply_pending(const struct cairn_app *app, struct cairn_state *st, const struct cairn_standby *sb,
			 const char *dir, const char *pending, struct cairn_app_standby_result *res)
{
	json_error_t jerr;
	_cleanup_(json_decrefp) json_t *p = json_loads(pending, 0, &jerr);
	const char *backup = p ? json_string_value(json_object_get(p, "backup")) : NULL;
	json_t *members = p ? json_object_get(p, "members") : NULL;
	if (!backup || !json_is_array(members))
		return cairn_error_set(CAIRN_ECORRUPT, "state database: standby %s: its pending update is damaged",
				       sb->name);
	uint64_t written = (uint64_t)json_integer_value(json_object_get(p, "staged_bytes"));
	size_t i, n = json_array_size(members);
	json_t *mem;
	int r = 0;
	json_array_foreach(members, i, mem)
	{
		const char *tmp = json_string_value(json_object_get(mem, "tmp"));
		const char *target = json_string_value(json_object_get(mem, "target"));
		if (!target)
			return cairn_error_set(CAIRN_ECORRUPT, "state database: standby %s: its pending update is damaged",
					       sb->name);
		if (tmp)
			r = apply_rename(tmp, target);
		else
			r = apply_journal(app, mem, &written);
		if (r < 0)
			return r;
	}
	const char *ctmp = json_string_value(json_object_get(p, "config_tmp"));
	const char *cfg = json_string_value(json_object_get(p, "config"));
	if (ctmp && cfg && (r = apply_rename(ctmp, cfg)) < 0)
		return r;
	/* Finish: what it holds now, and how the targets look. */
	const char **paths = calloc(n ? n : 1, sizeof(char *));
	if (!paths)
		return cairn_error_nomem();
	json_array_foreach(members, i, mem) paths[i] = json_string_value(json_object_get(mem, "target"));
	_cleanup_free_ char *fp = NULL;
	r = fingerprint(paths, n, &fp);
	free(paths);
	if (r < 0)
		return r;
	int64_t t0_ms = json_integer_value(json_object_get(p, "started_ms"));
	int64_t now = cairn_wall_now();
	int64_t ms = (int64_t)(cairn_now() * 1000) - t0_ms;
	if (ms < 0 || t0_ms == 0)
		ms = 0;
	int64_t created = json_integer_value(json_object_get(p, "created_us"));
	if ((r = cairn_standby_set_applied(st, sb->name, backup, created, now, ms, written, fp)) < 0)
		return r;
	remove_journals(dir);
	if (res) {
		snprintf(res->to, sizeof(res->to), "%s", backup);
		res->to_created_us = created;
		res->bytes_written = written;
	}
	cairn_log_info("standby %s now holds restore point %.12s (%llu bytes written)", sb->name, backup,
		       (unsigned long long)written);
	return 0;
}

/* With the lock held: finishes a pending update, or removes what one that
 * stopped before its commit point staged.  *sb is re-read when it changed. */
static int recover_locked(const struct cairn_app *app, struct cairn_state *st, struct cairn_standby *sb,
			  const char *dir, bool *ret_recovered)
{
	*ret_recovered = false;
	if (!sb->pending) {
		remove_journals(dir);
		return 0;
	}
	cairn_log_info("standby %s: finishing the update to %s interrupted after its commit point", sb->name,
		       sb->backup ? "a new restore point" : "its first restore point");
	int r = apply_pending(app, st, sb, dir, sb->pending, NULL);
	if (r < 0)
		return cairn_error_prefix(r, "standby %s: finishing an interrupted update", sb->name);
	*ret_recovered = true;
	_cleanup_free_ char *name = strdup(sb->name);
	if (!name)
		return cairn_error_nomem();
	cairn_standby_clear(sb);
	return cairn_standby_get(st, name, sb);
}

int cairn_app_standby_recover(const struct cairn_app *app, struct cairn_state *st, const char *name,
			      bool *ret_recovered)
{
	if (ret_recovered)
		*ret_recovered = false;
	_cleanup_free_ char *dir = NULL;
	int r = standby_dir(app, name, true, &dir);
	if (r < 0)
		return r;
	_cleanup_close_ int lock = -1;
	if ((r = standby_lock(dir, name, true, &lock)) == CAIRN_EBUSY)
		return 0; /* an update runs: it recovers for itself */
	if (r < 0)
		return r;
	struct cairn_standby sb;
	if ((r = cairn_standby_get(st, name, &sb)) < 0)
		return r;
	bool rec = false;
	r = recover_locked(app, st, &sb, dir, &rec);
	cairn_standby_clear(&sb);
	if (ret_recovered)
		*ret_recovered = rec;
	return r;
}

/* ---- the repository and its restore points ---- */

static int open_repo(const struct cairn_app *app, struct cairn_state *st, const struct cairn_standby *sb,
		     struct cairn_repo **ret)
{
	_cleanup_free_ char *uri = NULL, *cred = NULL;
	/* A registered repository stands for its alias. */
	if (cairn_app_repo_alias(app, sb->uri, &uri, &cred) <= 0) {
		free(uri);
		free(cred);
		uri = cred = NULL;
	}
	struct cairn_repo_ref ref = { .uri = uri ? uri : sb->uri, .cred = sb->cred ? sb->cred : cred };
	return cairn_app_repo_open(app, st, &ref, ret);
}

/* The restore points of a standby's source in an open repository. */
struct points {
	struct cairn_manifest_list ml;
	struct cairn_group_backup_list gl;
	bool have_gl;
};

static void points_clear(struct points *p)
{
	cairn_manifest_list_free(&p->ml);
	if (p->have_gl)
		cairn_group_backup_list_free(&p->gl);
	memset(p, 0, sizeof(*p));
}

static int points_load(struct cairn_repo *repo, bool group, struct points *ret)
{
	memset(ret, 0, sizeof(*ret));
	int r = cairn_manifest_list_load(repo, &ret->ml);
	if (r < 0)
		return r;
	if (group) {
		if ((r = cairn_group_backup_list_load(repo, &ret->gl)) < 0) {
			cairn_manifest_list_free(&ret->ml);
			return r;
		}
		ret->have_gl = true;
	}
	return 0;
}

static struct cairn_group_backup *group_latest(const struct points *p, const char *name)
{
	struct cairn_group_backup *best = NULL;
	for (size_t i = 0; i < p->gl.n; i++)
		if (!strcmp(p->gl.v[i]->name, name) && (!best || p->gl.v[i]->created_us > best->created_us))
			best = p->gl.v[i];
	return best;
}

/* The restore point at (NULL: the newest) of the standby's source. */
static int point_pick(const struct points *p, const struct cairn_standby *sb, const char *uri, const char *at,
		      struct cairn_manifest **ret_m, struct cairn_group_backup **ret_g)
{
	*ret_m = NULL;
	*ret_g = NULL;
	int r;
	if (sb->group) {
		struct cairn_group_backup *g = NULL;
		if (at) {
			if ((r = cairn_group_backup_resolve(&p->gl, at, &g)) < 0)
				return r;
			if (strcmp(g->name, sb->source) != 0)
				return cairn_error_set(CAIRN_EINVAL, "group backup %.12s is of group %s, not %s", g->idhex,
						       g->name, sb->source);
		} else if (!(g = group_latest(p, sb->source))) {
			return cairn_error_set(CAIRN_ENOTFOUND, "no group backup of group %s in %s", sb->source, uri);
		}
		*ret_g = g;
		return 0;
	}
	struct cairn_manifest *m = NULL;
	if (at) {
		if ((r = cairn_manifest_resolve(&p->ml, at, &m)) < 0)
			return r;
		if (strcmp(m->volume, sb->source) != 0)
			return cairn_error_set(CAIRN_EINVAL, "backup %.12s is of volume %s, not %s", m->idhex, m->volume,
					       sb->source);
	} else if (!(m = cairn_manifest_latest(&p->ml, sb->source))) {
		return cairn_error_set(CAIRN_ENOTFOUND, "no backup of volume %s in %s", sb->source, uri);
	}
	*ret_m = m;
	return 0;
}

/* A backup by full id in the list, or NULL (forgotten since). */
static struct cairn_manifest *by_id(const struct cairn_manifest_list *l, const char *hex)
{
	for (size_t i = 0; hex && i < l->n; i++)
		if (!strcmp(l->v[i]->idhex, hex))
			return l->v[i];
	return NULL;
}

static struct cairn_group_backup *group_by_id(const struct points *p, const char *hex)
{
	for (size_t i = 0; hex && i < p->gl.n; i++)
		if (!strcmp(p->gl.v[i]->idhex, hex))
			return p->gl.v[i];
	return NULL;
}

/* ---- staging ---- */

static int add_range(uint64_t off, uint64_t len, void *ud)
{
	return cairn_change_map_add(ud, off, len);
}

/* One image of an update. */
struct member {
	const char *volume;  /* for messages */
	char *target;        /* the image */
	struct cairn_manifest *old, *new; /* old: NULL when unknown */
};

/* Brings a reflink clone of the image (1), or a journal (0: no reflink
 * here), to the new restore point; mem gets its part of pending. */
static int stage_member(const struct cairn_app *app, struct cairn_repo *repo, struct cairn_app_job *j,
			const char *dir, size_t idx, const struct member *mb, bool force, json_t *mem,
			struct cairn_app_standby_result *res)
{
	const struct cairn_manifest *m = mb->new;
	struct cairn_change_map diff = CAIRN_CHANGE_MAP_INIT;
	_cleanup_close_ int tfd = -1;
	_cleanup_free_ char *stage = NULL;
	int r = 0;
	bool all = force || !mb->old || mb->old->chunk_size != m->chunk_size;
	uint64_t changed = 0;
	if (!all && (r = cairn_diff_run(repo, mb->old, m, add_range, &diff, &changed)) < 0)
		goto out;
	res->bytes_changed += changed;
	bool device = false;
	if (!mb->old) {
		/* A member new to the group: an empty image to grow (harmless
		 * if the update stops before its commit point). */
		int nfd = open(mb->target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (nfd >= 0)
			close(nfd);
	}
	if ((r = open_image(mb->target, &device, &tfd)) < 0)
		goto out;
	if (device) {
		uint64_t dsize = 0;
		if ((r = cairn_fd_size(tfd, mb->target, &dsize, NULL)) < 0)
			goto out;
		if (dsize < m->size) {
			r = cairn_error_set(CAIRN_ETOOSMALL, "target %s holds %llu bytes, backup %.12s needs %llu",
					    mb->target, (unsigned long long)dsize, m->idhex, (unsigned long long)m->size);
			goto out;
		}
	}
	bool reflink = false;
	if (!device) {
		/* A reflink clone beside the image, renamed over it once complete. */
		if (asprintf(&stage, "%s%s", mb->target, NEXT_TAG) < 0) {
			r = cairn_error_nomem();
			goto out;
		}
		unlink(stage);
		struct stat st;
		_cleanup_close_ int cfd = fstat(tfd, &st) == 0
						  ? open(stage, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
							 st.st_mode & 07777)
						  : -1;
		if (cfd < 0) {
			r = cairn_error_errno(errno, "cannot create %s", stage);
			goto out;
		}
		if (ioctl(cfd, FICLONE, tfd) == 0) {
			reflink = true;
			/* The image's owner and mode (the umask took from the mode):
			 * a VM image owned by a hypervisor's user stays usable. */
			if (fchown(cfd, st.st_uid, st.st_gid) < 0)
				cairn_log_warn("%s keeps its mode but not its owner %u:%u", mb->target, (unsigned)st.st_uid,
					       (unsigned)st.st_gid);
			if (fchmod(cfd, st.st_mode & 07777) < 0)
				cairn_log_warn("%s: cannot keep its mode %o", mb->target, (unsigned)(st.st_mode & 07777));
		} else {
			unlink(stage);
			free(stage);
			stage = NULL;
		}
	}
	if (!reflink) {
		/* A sparse journal holding the new bytes of the changed ranges. */
		if (asprintf(&stage, "%s/%zu.journal", dir, idx) < 0) {
			r = cairn_error_nomem();
			goto out;
		}
		_cleanup_close_ int jfd = open(stage, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (jfd < 0 || ftruncate(jfd, (off_t)m->size) < 0) {
			r = cairn_error_errno(errno, "cannot create the journal %s", stage);
			goto out;
		}
	}
	/* restore --delta, limited to what the trees say differs: into the
	 * clone it rewrites just that; into the journal it writes the new
	 * bytes of those ranges (zeros stay holes and are applied as zeros). */
	struct cairn_restore_opts ro = { .target = stage, .delta = true, .differs = all ? NULL : &diff,
					 .state_dir = app->state_dir, .progress = cairn_app_job_progress,
					 .progress_ud = j };
	struct cairn_restore_stats rs;
	memset(&rs, 0, sizeof(rs));
	if ((r = cairn_restore_run(repo, m, &ro, &rs)) < 0) {
		unlink(stage);
		goto out;
	}
	res->bytes_fetched += rs.bytes_fetched;
	json_object_set_new(mem, "target", json_string(mb->target));
	json_object_set_new(mem, "size", json_integer((json_int_t)m->size));
	if (reflink) {
		json_object_set_new(mem, "tmp", json_string(stage));
		res->bytes_written += rs.bytes_written;
		res->mode = "reflink";
	} else {
		json_t *ranges = json_array();
		if (all) {
			json_array_append_new(ranges, json_pack("[I,I]", (json_int_t)0, (json_int_t)m->size));
		} else {
			for (size_t i = 0; i < diff.n; i++) {
				uint64_t off = diff.v[i].off, len = diff.v[i].len;
				if (off >= m->size)
					break; /* the new restore point is smaller: the truncate takes it */
				len = MIN(len, m->size - off);
				json_array_append_new(ranges, json_pack("[I,I]", (json_int_t)off, (json_int_t)len));
			}
		}
		json_object_set_new(mem, "journal", json_string(stage));
		json_object_set_new(mem, "ranges", ranges);
		if (!res->mode || strcmp(res->mode, "reflink") != 0)
			res->mode = "journal";
	}
	cairn_log_info("standby: %s: %s staged (%llu bytes differ by the trees)", mb->volume,
		       reflink ? "reflink clone" : "journal", (unsigned long long)changed);
out:
	cairn_change_map_free(&diff);
	return r;
}

/* The group's config document, staged beside its place. */
static int stage_config(const char *target_dir, const struct cairn_group_backup *gb, json_t *p)
{
	if (!gb->config_name)
		return 0;
	_cleanup_free_ char *cfg = NULL, *tmp = NULL;
	if (asprintf(&cfg, "%s/%s", target_dir, gb->config_name) < 0 || asprintf(&tmp, "%s%s", cfg, NEXT_TAG) < 0)
		return cairn_error_nomem();
	unlink(tmp);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return cairn_error_errno(errno, "cannot create %s", tmp);
	int r = cairn_write_all(fd, gb->config, gb->config_len, tmp);
	if (r >= 0 && fsync(fd) < 0)
		r = cairn_error_errno(errno, "fsync %s", tmp);
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	json_object_set_new(p, "config", json_string(cfg));
	json_object_set_new(p, "config_tmp", json_string(tmp));
	return 0;
}

/* Removes what staging made when it stopped before the commit point. */
static void unstage(json_t *p, const char *dir)
{
	size_t i;
	json_t *mem;
	json_array_foreach(json_object_get(p, "members"), i, mem)
	{
		const char *tmp = json_string_value(json_object_get(mem, "tmp"));
		if (tmp)
			unlink(tmp);
	}
	const char *ctmp = json_string_value(json_object_get(p, "config_tmp"));
	if (ctmp)
		unlink(ctmp);
	remove_journals(dir);
}

static void members_free(struct member *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].target);
	free(v);
}

/* The images of an update from the held restore point to the new one. */
static int members_of(const struct cairn_standby *sb, const struct points *pts, struct cairn_manifest *m,
		      struct cairn_group_backup *g, struct member **ret, size_t *ret_n)
{
	if (!sb->group) {
		struct member *v = calloc(1, sizeof(*v));
		if (!v || !(v->target = strdup(sb->target))) {
			free(v);
			return cairn_error_nomem();
		}
		v->volume = m->volume;
		v->new = m;
		v->old = by_id(&pts->ml, sb->backup);
		*ret = v;
		*ret_n = 1;
		return 0;
	}
	const struct cairn_group_backup *old = group_by_id(pts, sb->backup);
	struct member *v = calloc(g->nmembers ? g->nmembers : 1, sizeof(*v));
	if (!v)
		return cairn_error_nomem();
	int r = 0;
	for (size_t i = 0; i < g->nmembers && r >= 0; i++) {
		v[i].volume = g->members[i].volume;
		if (asprintf(&v[i].target, "%s/%s", sb->target, g->members[i].volume) < 0) {
			v[i].target = NULL;
			r = cairn_error_nomem();
			break;
		}
		if ((r = cairn_manifest_resolve(&pts->ml, g->members[i].backup_hex, &v[i].new)) < 0)
			r = cairn_error_prefix(r, "group backup %.12s: volume %s", g->idhex, g->members[i].volume);
		for (size_t k = 0; old && k < old->nmembers; k++)
			if (!strcmp(old->members[k].volume, g->members[i].volume))
				v[i].old = by_id(&pts->ml, old->members[k].backup_hex);
	}
	if (r < 0) {
		members_free(v, g->nmembers);
		return r;
	}
	*ret = v;
	*ret_n = g->nmembers;
	return 0;
}

/* ---- update ---- */

static int update_locked(const struct cairn_app *app, struct cairn_state *st, struct cairn_standby *sb,
			 const char *dir, const struct cairn_app_standby_update *o, struct cairn_app_job *j,
			 struct cairn_app_standby_result *res)
{
	double t0 = cairn_now();
	bool rec = false;
	int r = recover_locked(app, st, sb, dir, &rec);
	if (r < 0 && o->force && sb->pending) {
		/* A pending update that cannot be finished (its journal lost):
		 * --force drops it and compares every chunk instead. */
		cairn_log_warn("%s; --force: dropping it and comparing every chunk", cairn_error_message());
		cairn_error_clear();
		if ((r = cairn_standby_set_pending(st, sb->name, NULL)) < 0)
			return r;
		free(sb->pending);
		sb->pending = NULL;
		remove_journals(dir);
	}
	if (r < 0)
		return r;
	res->recovered = rec;
	snprintf(res->from, sizeof(res->from), "%s", sb->backup ? sb->backup : "");
	/* A mounted device first: its file system may have written to it. */
	struct stat tst;
	if (!sb->group && stat(sb->target, &tst) == 0 && S_ISBLK(tst.st_mode)) {
		bool device;
		int fd;
		if ((r = open_image(sb->target, &device, &fd)) < 0)
			return r;
		close(fd);
	}
	if (!o->force && (r = fingerprint_check(sb)) < 0)
		return r;
	_cleanup_(cairn_repo_freep) struct cairn_repo *repo = NULL;
	if ((r = open_repo(app, st, sb, &repo)) < 0)
		return r;
	struct points pts;
	if ((r = points_load(repo, sb->group, &pts)) < 0)
		return r;
	struct cairn_manifest *m = NULL;
	struct cairn_group_backup *g = NULL;
	struct member *mv = NULL;
	size_t mn = 0;
	json_t *p = NULL;
	char *text = NULL;
	if ((r = point_pick(&pts, sb, sb->uri, o->at, &m, &g)) < 0)
		goto out;
	const char *to = g ? g->idhex : m->idhex;
	int64_t created = g ? g->created_us : m->created_us;
	snprintf(res->to, sizeof(res->to), "%s", to);
	res->to_created_us = created;
	if (sb->backup && !strcmp(sb->backup, to) && !o->force) {
		res->mode = "none";
		cairn_log_info("standby %s holds restore point %.12s already", sb->name, to);
		goto out;
	}
	if ((r = members_of(sb, &pts, m, g, &mv, &mn)) < 0)
		goto out;
	p = json_pack("{s:s, s:I, s:I, s:[]}", "backup", to, "created_us", (json_int_t)created, "started_ms",
		      (json_int_t)(t0 * 1000), "members");
	if (!p) {
		r = cairn_error_nomem();
		goto out;
	}
	json_t *members = json_object_get(p, "members");
	for (size_t i = 0; i < mn && r >= 0; i++) {
		json_t *mem = json_object();
		json_array_append_new(members, mem);
		r = stage_member(app, repo, j, dir, i, &mv[i], o->force, mem, res);
	}
	if (r >= 0 && g)
		r = stage_config(sb->target, g, p);
	if (r < 0 || cairn_cancel_check()) {
		if (r >= 0)
			r = cairn_error_set(CAIRN_ECANCELED, "interrupted");
		unstage(p, dir);
		goto out;
	}
	json_object_set_new(p, "staged_bytes", json_integer((json_int_t)res->bytes_written));
	/* The commit point. */
	if (!(text = json_dumps(p, JSON_COMPACT))) {
		r = cairn_error_nomem();
		unstage(p, dir);
		goto out;
	}
	if ((r = cairn_standby_set_pending(st, sb->name, text)) < 0) {
		unstage(p, dir);
		goto out;
	}
	res->bytes_written = 0;
	if ((r = apply_pending(app, st, sb, dir, text, res)) < 0)
		r = cairn_error_prefix(r, "standby %s: applying (the next update or status finishes it)", sb->name);
	res->changed = r >= 0;
out:
	res->seconds = cairn_now() - t0;
	free(text);
	json_decref(p);
	members_free(mv, mn);
	points_clear(&pts);
	return r;
}

int cairn_app_standby_update(const struct cairn_app *app, struct cairn_state *st, const char *name,
			     const struct cairn_app_standby_update *o, struct cairn_app_standby_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct cairn_standby sb;
	int r = cairn_standby_get(st, name, &sb);
	if (r < 0)
		return r;
	/* Handed over (app/failover.h): the DR site runs on it now. */
	if (cairn_failover_active(st, name)) {
		cairn_standby_clear(&sb);
		return cairn_error_set(CAIRN_EPERM, "standby %s is failed over: it takes no update until 'cairn dr failback'",
				       name);
	}
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int lock = -1;
	if ((r = standby_dir(app, name, true, &dir)) < 0 || (r = standby_lock(dir, name, false, &lock)) < 0) {
		cairn_standby_clear(&sb);
		return r;
	}
	char src[PATH_MAX + 128];
	snprintf(src, sizeof(src), "standby %s -> %s", sb.name, sb.target);
	const char *claim = sb.target;
	struct cairn_app_job j;
	if (o->job)
		r = cairn_app_job_adopt(app, st, o->job, &j);
	else
		r = cairn_app_job_begin(app, st, "standby", NULL, src, sb.uri, &claim, 1, &j);
	if (r < 0) {
		cairn_standby_clear(&sb);
		return r;
	}
	cairn_app_job_chain(&j, &o->progress);
	r = update_locked(app, st, &sb, dir, o, &j, ret);
	cairn_app_progress_done(&o->progress);
	if (r >= 0)
		cairn_log_info("standby %s: %s -> %.12s, %s, %llu bytes written in %.3f s", sb.name,
			       *ret->from ? ret->from : "(none)", ret->to, ret->mode ? ret->mode : "none",
			       (unsigned long long)ret->bytes_written, ret->seconds);
	cairn_standby_clear(&sb);
	return cairn_app_job_end(&j, r, r >= 0 ? ret->to : NULL);
}

/* ---- create ---- */

static int absolute(const char *path, char **ret)
{
	if (path[0] == '/')
		return (*ret = strdup(path)) ? 0 : cairn_error_nomem();
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return cairn_error_errno(errno, "getcwd");
	return asprintf(ret, "%s/%s", cwd, path) < 0 ? cairn_error_nomem() : 0;
}

int cairn_app_standby_create(const struct cairn_app *app, struct cairn_state *st, const struct cairn_app_standby_create *o,
			     struct cairn_app_standby_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	double t0 = cairn_now();
	int r = cairn_state_name_check("standby", o->name);
	if (r < 0)
		return r;
	struct cairn_standby sb = { .name = (char *)o->name, .group = o->group != NULL,
				    .source = (char *)(o->group ? o->group : o->volume), .uri = (char *)o->uri,
				    .cred = (char *)o->cred, .every = o->every, .created = cairn_wall_now() };
	struct cairn_standby old;
	if (cairn_standby_get(st, o->name, &old) >= 0) {
		cairn_standby_clear(&old);
		return cairn_error_set(CAIRN_EEXIST, "a standby named '%s' exists already", o->name);
	}
	cairn_error_clear();
	_cleanup_free_ char *target = NULL;
	if ((r = absolute(o->target, &target)) < 0)
		return r;
	sb.target = target;
	/* The repository and the restore point first: nothing is recorded
	 * for a standby that cannot start. */
	_cleanup_(cairn_repo_freep) struct cairn_repo *repo = NULL;
	if ((r = open_repo(app, st, &sb, &repo)) < 0)
		return r;
	struct points pts;
	if ((r = points_load(repo, sb.group, &pts)) < 0)
		return r;
	struct cairn_manifest *m = NULL;
	struct cairn_group_backup *g = NULL;
	if ((r = point_pick(&pts, &sb, o->uri, NULL, &m, &g)) < 0) {
		points_clear(&pts);
		return r;
	}
	if ((r = cairn_standby_add(st, &sb)) < 0) {
		points_clear(&pts);
		return r;
	}
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int lock = -1;
	char src[PATH_MAX + 128];
	snprintf(src, sizeof(src), "standby %s -> %s", sb.name, sb.target);
	const char *claim = sb.target;
	struct cairn_app_job j;
	bool job = false;
	if ((r = standby_dir(app, o->name, true, &dir)) >= 0 && (r = standby_lock(dir, o->name, false, &lock)) >= 0 &&
	    (r = cairn_app_job_begin(app, st, "standby", NULL, src, sb.uri, &claim, 1, &j)) >= 0) {
		job = true;
		cairn_app_job_chain(&j, &o->progress);
	}
	char **paths = NULL;
	size_t np = 0;
	if (r >= 0 && !g) {
		struct cairn_restore_opts ro = { .target = target, .force = o->force, .state_dir = app->state_dir,
						 .progress = cairn_app_job_progress, .progress_ud = &j };
		struct cairn_restore_stats rs;
		memset(&rs, 0, sizeof(rs));
		if ((r = cairn_restore_run(repo, m, &ro, &rs)) >= 0) {
			ret->bytes_written = rs.bytes_written;
			ret->bytes_fetched = rs.bytes_fetched;
			paths = calloc(1, sizeof(char *));
			if (!paths || !(paths[0] = strdup(target)))
				r = cairn_error_nomem();
			np = 1;
		}
	} else if (r >= 0) {
		r = cairn_group_restore_run(repo, g, target, o->force, cairn_app_job_progress, &j, &pts.ml);
		paths = calloc(g->nmembers ? g->nmembers : 1, sizeof(char *));
		if (r >= 0 && !paths)
			r = cairn_error_nomem();
		for (size_t i = 0; r >= 0 && i < g->nmembers; i++, np++)
			if (asprintf(&paths[i], "%s/%s", target, g->members[i].volume) < 0)
				r = cairn_error_nomem();
		for (size_t i = 0; r >= 0 && i < g->nmembers; i++) {
			struct cairn_manifest *mm = NULL;
			if (cairn_manifest_resolve(&pts.ml, g->members[i].backup_hex, &mm) >= 0)
				ret->bytes_written += mm->size;
		}
	}
	if (job)
		cairn_app_progress_done(&o->progress);
	_cleanup_free_ char *fp = NULL;
	const char *to = g ? g->idhex : m->idhex;
	int64_t created = g ? g->created_us : m->created_us;
	if (r >= 0 && (r = fingerprint((const char *const *)paths, np, &fp)) >= 0)
		r = cairn_standby_set_applied(st, o->name, to, created, cairn_wall_now(),
					      (int64_t)((cairn_now() - t0) * 1000), ret->bytes_written, fp);
	for (size_t i = 0; paths && i < np; i++)
		free(paths[i]);
	free(paths);
	if (r < 0) {
		/* Nothing half-made: the row goes (keeping the message). */
		char msg[1024];
		cairn_error_copy(msg, sizeof(msg));
		(void)cairn_standby_delete(st, o->name);
		cairn_error_set(r, "%s", msg);
	} else {
		snprintf(ret->to, sizeof(ret->to), "%s", to);
		ret->to_created_us = created;
		ret->changed = true;
		ret->mode = "full";
	}
	ret->seconds = cairn_now() - t0;
	if (job)
		r = cairn_app_job_end(&j, r, r >= 0 ? to : NULL);
	points_clear(&pts); /* to points into it */
	return r;
}

/* ---- delete ---- */

int cairn_app_standby_delete(const struct cairn_app *app, struct cairn_state *st, const char *name)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int lock = -1;
	struct cairn_standby sb;
	int r = cairn_standby_get(st, name, &sb);
	if (r < 0)
		return r;
	if ((r = standby_dir(app, name, true, &dir)) >= 0 && (r = standby_lock(dir, name, false, &lock)) >= 0) {
		/* An update past its commit point is finished first: the image
		 * is left whole, at one restore point. */
		bool rec;
		if ((r = recover_locked(app, st, &sb, dir, &rec)) >= 0 && (r = cairn_standby_delete(st, name)) >= 0) {
			_cleanup_free_ char *p = NULL;
			if (asprintf(&p, "%s/lock", dir) >= 0)
				unlink(p);
			rmdir(dir);
		}
	}
	cairn_standby_clear(&sb);
	return r;
}

/* ---- status ---- */

void cairn_app_standby_statuses_free(struct cairn_app_standby_status *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		cairn_standby_clear(&v[i].sb);
		free(v[i].error);
	}
	free(v);
}

static void status_one(const struct cairn_app *app, struct cairn_state *st, struct cairn_app_standby_status *s,
		       int64_t now)
{
	bool rec;
	if (cairn_app_standby_recover(app, st, s->sb.name, &rec) < 0) {
		s->error = strdup(cairn_error_message());
		cairn_error_clear();
	} else if (rec) {
		_cleanup_free_ char *name = strdup(s->sb.name);
		cairn_standby_clear(&s->sb);
		if (!name || cairn_standby_get(st, name, &s->sb) < 0) {
			s->error = strdup("cannot re-read the standby");
			cairn_error_clear();
			return;
		}
	}
	s->lag_s = s->sb.backup ? now - s->sb.backup_created / 1000000 : -1;
	_cleanup_(cairn_repo_freep) struct cairn_repo *repo = NULL;
	struct points pts;
	struct cairn_manifest *m = NULL;
	struct cairn_group_backup *g = NULL;
	int r = open_repo(app, st, &s->sb, &repo);
	if (r >= 0 && (r = points_load(repo, s->sb.group, &pts)) >= 0) {
		if ((r = point_pick(&pts, &s->sb, s->sb.uri, NULL, &m, &g)) >= 0) {
			snprintf(s->newest, sizeof(s->newest), "%s", g ? g->idhex : m->idhex);
			s->newest_created_us = g ? g->created_us : m->created_us;
		}
		points_clear(&pts);
	}
	if (r < 0) {
		if (!s->error)
			s->error = strdup(cairn_error_message());
		cairn_error_clear();
	}
	if (*s->newest) {
		s->behind = !s->sb.backup || strcmp(s->sb.backup, s->newest) != 0;
		/* Behind by more than two intervals (any amount without --every). */
		int64_t by = (s->newest_created_us - s->sb.backup_created) / 1000000;
		s->late = s->behind && (!s->sb.backup || !s->sb.every || by > 2 * s->sb.every);
	}
	/* Handed over: the DR site runs on it, and its backups are newer by design. */
	if ((s->failed_over = cairn_failover_active(st, s->sb.name)))
		s->late = false;
}

int cairn_app_standby_status(const struct cairn_app *app, struct cairn_state *st, const char *name,
			     struct cairn_app_standby_status **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	struct cairn_standby *v = NULL;
	size_t n = 0;
	int r;
	if (name) {
		if (!(v = calloc(1, sizeof(*v))))
			return cairn_error_nomem();
		if ((r = cairn_standby_get(st, name, v)) < 0) {
			free(v);
			return r;
		}
		n = 1;
	} else if ((r = cairn_standby_list(st, &v, &n)) < 0) {
		return r;
	}
	struct cairn_app_standby_status *s = calloc(n ? n : 1, sizeof(*s));
	if (!s) {
		cairn_standbys_free(v, n);
		return cairn_error_nomem();
	}
	int64_t now = cairn_wall_now();
	for (size_t i = 0; i < n; i++) {
		s[i].sb = v[i];
		status_one(app, st, &s[i], now);
	}
	free(v);
	*ret = s;
	*ret_n = n;
	return 0;
}
