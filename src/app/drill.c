/* Recovery drills (drill.h). */
#include "app/drill.h"
#include "engine/engine.h"
#include "repo/group.h"
#include "repo/manifest.h"
#include "source/volinfo.h"
#include "state/drills.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/proc.h"
#include "util/time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* A file system check may take long on a big volume; a stuck one ends. */
#define CHECK_TIMEOUT_S (6 * 3600)

static double mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* What restoring m takes on disk: the scratch image is sparse (zero
 * chunks are holes), so a full backup's bytes read from its source
 * (its allocated data) bound it; an incremental's size does. */
static uint64_t space_needed(const struct cairn_manifest *m)
{
	if (!m->has_parent && m->stats.bytes_read && m->stats.bytes_read < m->size)
		return m->stats.bytes_read;
	return m->size;
}

/* Removes the scratch directory and what the drill put in it (flat). */
static void scratch_remove(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			unlinkat(dirfd(d), e->d_name, 0);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* The checker's verdict from its output: the first line naming a problem
 * (not a progress line: "Pass 1: ...", "Phase 1 - ...", indented steps,
 * the version banner, xfs_repair's notes), the image's path cut from it. */
static void first_problem(const struct cairn_buf *out, const char *image, char *buf, size_t size)
{
	buf[0] = 0;
	size_t ilen = strlen(image);
	const char *p = (const char *)out->data, *end = p + out->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *line = p;
		p = nl ? nl + 1 : end;
		if (len >= ilen + 2 && !memcmp(line, image, ilen) && line[ilen] == ':') {
			line += ilen + 1;
			len -= ilen + 1;
		}
		while (len && (*line == ' ' || *line == '\t' || *line == '*'))
			line++, len--;
#define STARTS(lit) (len >= sizeof(lit) - 1 && !memcmp(line, lit, sizeof(lit) - 1))
		/* xfs_repair's notes on an image file and on -n are not findings. */
		if (!len || *line == '-' || STARTS("Pass ") || STARTS("Phase ") || STARTS("e2fsck ") ||
		    STARTS("No modify flag") || STARTS("Cannot get host") || STARTS("Repair may fail") ||
		    STARTS("the image and the host"))
			continue;
#undef STARTS
		while (len && (line[len - 1] == ' ' || line[len - 1] == '*'))
			len--;
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(buf, line, n);
		buf[n] = 0;
		return;
	}
}

/* Checks one restored image; *ok and msg get the verdict.  A negative
 * return: the check could not be run (the checker is not installed). */
static int check_image(const struct cairn_app_drill *o, const struct cairn_manifest *m, const char *image,
		       json_t *member, bool *ok, char *msg, size_t msize)
{
	*ok = false;
	struct cairn_volume_info vi = { 0 };
	int fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cairn_error_errno(errno, "open %s", image);
	int r = cairn_volume_probe(fd, m->size, &vi);
	close(fd);
	if (r < 0)
		return r;
	/* The backup said ext4 and the image shows nothing: damage the check
	 * must name, not a volume without a file system. */
	const char *type = vi.fs_type ? vi.fs_type : m->info.fs_type;
	json_object_set_new(member, "fs_type", type ? json_string(type) : json_null());
	if (o->verify_command) {
		char env1[PATH_MAX + 64], env2[600];
		snprintf(env1, sizeof(env1), "CAIRN_DRILL_IMAGE=%s", image);
		snprintf(env2, sizeof(env2), "CAIRN_DRILL_VOLUME=%s", m->volume);
		const char *env[] = { env1, env2, NULL };
		json_object_set_new(member, "check", json_string("verify-command"));
		r = cairn_run_hook("the verify command", o->verify_command, env, CHECK_TIMEOUT_S);
		if (r < 0) {
			snprintf(msg, msize, "%s: %s", m->volume, cairn_error_message());
			cairn_error_clear();
		} else {
			*ok = true;
			snprintf(msg, msize, "%s: the verify command passed", m->volume);
		}
		cairn_volume_info_clear(&vi);
		return 0;
	}
	const char *ext[] = { "e2fsck", "-fn", image, NULL };
	const char *xfs[] = { "xfs_repair", "-n", "-f", image, NULL };
	const char *const *argv = NULL;
	if (type && (!strcmp(type, "ext2") || !strcmp(type, "ext3") || !strcmp(type, "ext4")))
		argv = ext;
	else if (type && !strcmp(type, "xfs"))
		argv = xfs;
	if (!argv) {
		*ok = true;
		if (type)
			snprintf(msg, msize, "%s: no check for file system type %s: restore verified by ids only",
				 m->volume, type);
		else
			snprintf(msg, msize, "%s: no filesystem found: restore verified by ids only", m->volume);
		json_object_set_new(member, "check", json_string("ids"));
		cairn_volume_info_clear(&vi);
		return 0;
	}
	json_object_set_new(member, "check", json_string(argv[0]));
	_cleanup_(cairn_buf_freep) struct cairn_buf out = { 0 };
	_cleanup_(cairn_buf_freep) struct cairn_buf err = { 0 };
	r = cairn_run_capture(argv, &out, &err, CHECK_TIMEOUT_S);
	if (r == CAIRN_ENOTFOUND) {
		cairn_volume_info_clear(&vi);
		return cairn_error_set(CAIRN_ENOTFOUND, "%s is not installed: cannot check the %s image of %s "
				       "(scripts/install-deps, or --verify-command)", argv[0], type, m->volume);
	}
	if (r < 0) {
		/* "e2fsck failed (exit status 4)" without the banner its
		 * stderr began with, then what it found first. */
		char verdict[256], problem[256];
		snprintf(verdict, sizeof(verdict), "%s", cairn_error_message());
		char *paren = strchr(verdict, ')');
		if (paren)
			paren[1] = 0;
		cairn_error_clear();
		/* e2fsck reports on stdout, xfs_repair on stderr. */
		first_problem(&out, image, problem, sizeof(problem));
		if (!problem[0])
			first_problem(&err, image, problem, sizeof(problem));
		snprintf(msg, msize, "%s (%s): %s%s%s", m->volume, type, verdict, problem[0] ? ": " : "", problem);
	} else {
		*ok = true;
		snprintf(msg, msize, "%s (%s): %s found no errors", m->volume, type, argv[0]);
	}
	cairn_volume_info_clear(&vi);
	return 0;
}

/* The restore points the drill restores: one volume's, or a group's
 * members (pointers into l). */
static int pick(struct cairn_repo *repo, const struct cairn_app_drill *o, struct cairn_manifest_list *l,
		struct cairn_group_backup_list *gl, const struct cairn_manifest ***ret, size_t *ret_n,
		const char **ret_id)
{
	int r = cairn_manifest_list_load(repo, l);
	if (r < 0)
		return r;
	if (!o->group) {
		struct cairn_manifest *m = NULL;
		if (o->at) {
			if ((r = cairn_manifest_resolve(l, o->at, &m)) < 0)
				return r;
			if (strcmp(m->volume, o->name) != 0)
				return cairn_error_set(CAIRN_EINVAL, "backup %.12s is of volume '%s', not '%s'", m->idhex,
						       m->volume, o->name);
		} else if (!(m = cairn_manifest_latest(l, o->name))) {
			return cairn_error_set(CAIRN_ENOTFOUND, "no restore point of volume '%s' in %s", o->name,
					       o->uri ? o->uri : "the repository");
		}
		const struct cairn_manifest **v = malloc(sizeof(*v));
		if (!v)
			return cairn_error_nomem();
		v[0] = m;
		*ret = v;
		*ret_n = 1;
		*ret_id = m->idhex;
		return 0;
	}
	if ((r = cairn_group_backup_list_load(repo, gl)) < 0)
		return r;
	struct cairn_group_backup *gb = NULL;
	if (o->at) {
		if ((r = cairn_group_backup_resolve(gl, o->at, &gb)) < 0)
			return r;
		if (strcmp(gb->name, o->name) != 0)
			return cairn_error_set(CAIRN_EINVAL, "group backup %.12s is of group '%s', not '%s'", gb->idhex,
					       gb->name, o->name);
	} else {
		for (size_t i = 0; i < gl->n; i++)
			if (!strcmp(gl->v[i]->name, o->name) && (!gb || gl->v[i]->created_us > gb->created_us))
				gb = gl->v[i];
		if (!gb)
			return cairn_error_set(CAIRN_ENOTFOUND, "no restore point of group '%s' in %s", o->name,
					       o->uri ? o->uri : "the repository");
	}
	const struct cairn_manifest **v = calloc(gb->nmembers ? gb->nmembers : 1, sizeof(*v));
	if (!v)
		return cairn_error_nomem();
	for (size_t k = 0; k < gb->nmembers; k++) {
		for (size_t i = 0; i < l->n && !v[k]; i++)
			if (!memcmp(l->v[i]->id, gb->members[k].backup, CAIRN_BACKUP_ID_LEN))
				v[k] = l->v[i];
		if (!v[k]) {
			free(v);
			return cairn_error_set(CAIRN_ECORRUPT, "group backup %.12s: member %s (backup %.12s) is missing",
					       gb->idhex, gb->members[k].volume, gb->members[k].backup_hex);
		}
	}
	*ret = v;
	*ret_n = gb->nmembers;
	*ret_id = gb->idhex;
	return 0;
}

/* Makes the scratch directory (a new one in parent) after making sure
 * parent has room for need bytes. */
static int scratch_make(const struct cairn_app *app, const char *parent_opt, uint64_t need, char *ret, size_t size)
{
	char parent[PATH_MAX];
	if (parent_opt) {
		snprintf(parent, sizeof(parent), "%s", parent_opt);
	} else {
		if (!app->state_dir)
			return cairn_error_set(CAIRN_EINVAL, "no state directory: name a scratch directory (--scratch)");
		snprintf(parent, sizeof(parent), "%s/drills", app->state_dir);
		if (mkdir(app->state_dir, 0700) < 0 && errno != EEXIST)
			return cairn_error_errno(errno, "create %s", app->state_dir);
		if (mkdir(parent, 0700) < 0 && errno != EEXIST)
			return cairn_error_errno(errno, "create %s", parent);
	}
	struct stat sb;
	if (stat(parent, &sb) < 0)
		return cairn_error_errno(errno, "scratch directory %s", parent);
	if (!S_ISDIR(sb.st_mode))
		return cairn_error_set(CAIRN_EINVAL, "scratch %s is not a directory", parent);
	struct statvfs vf;
	if (statvfs(parent, &vf) < 0)
		return cairn_error_errno(errno, "statvfs %s", parent);
	uint64_t avail = (uint64_t)vf.f_bavail * vf.f_frsize;
	/* Room for the file system's own metadata of the image. */
	uint64_t want = need + need / 64 + (1 << 20);
	if (avail < want) {
		char a[32], w[32];
		cairn_app_human_size(avail, a, sizeof(a));
		cairn_app_human_size(want, w, sizeof(w));
		return cairn_error_set(CAIRN_ENOSPC, "scratch directory %s has %s free; the drill needs about %s "
				       "(choose another with --scratch)", parent, a, w);
	}
	int n = snprintf(ret, size, "%s/cairn-drill-XXXXXX", parent);
	if (n < 0 || (size_t)n >= size)
		return cairn_error_set(CAIRN_EINVAL, "scratch directory %s: the name is too long", parent);
	if (!mkdtemp(ret))
		return cairn_error_errno(errno, "create a scratch directory in %s", parent);
	return 0;
}

int cairn_app_drill_run(const struct cairn_app *app, struct cairn_repo *repo, const struct cairn_app_drill *o,
			json_t **ret)
{
	*ret = NULL;
	struct cairn_manifest_list l = { 0 };
	struct cairn_group_backup_list gl = { 0 };
	const struct cairn_manifest **mv = NULL;
	size_t mn = 0;
	const char *id = NULL;
	char dir[PATH_MAX] = "";
	int r = pick(repo, o, &l, &gl, &mv, &mn, &id);
	uint64_t need = 0;
	for (size_t i = 0; r >= 0 && i < mn; i++)
		need += space_needed(mv[i]);
	if (r >= 0)
		r = scratch_make(app, o->scratch, need, dir, sizeof(dir));
	if (r < 0)
		goto out;

	char src[600];
	snprintf(src, sizeof(src), "%s %s -> %s", o->group ? "group" : "volume", o->name, dir);
	struct cairn_app_job j = { 0 };
	if ((r = cairn_app_job_begin(app, NULL, "drill", NULL, src, o->uri, NULL, 0, &j)) < 0)
		goto out;
	cairn_app_job_chain(&j, &o->progress);
	int64_t started = cairn_wall_now();
	double restore_s = 0, check_s = 0;
	uint64_t bytes = 0;
	bool ok = true;
	char message[1024] = "";
	json_t *members = json_array();
	for (size_t i = 0; i < mn && r >= 0; i++) {
		const struct cairn_manifest *m = mv[i];
		char image[PATH_MAX + 32];
		snprintf(image, sizeof(image), "%s/%02zu.img", dir, i);
		json_t *mem = json_pack("{s:s, s:s, s:I}", "volume", m->volume, "backup", m->idhex, "size",
					(json_int_t)m->size);
		json_array_append_new(members, mem);
		struct cairn_restore_opts ro = { .target = image, .state_dir = app->state_dir,
						 .progress = cairn_app_job_progress, .progress_ud = &j };
		struct cairn_restore_stats rs = { 0 };
		double t0 = mono();
		r = cairn_restore_run(repo, m, &ro, &rs);
		restore_s += mono() - t0;
		if (r == CAIRN_ECANCELED || cairn_cancel_check())
			break;
		char mmsg[768];
		bool mok = false;
		if (r < 0) {
			snprintf(mmsg, sizeof(mmsg), "%s: restore failed: %s", m->volume, cairn_error_message());
			cairn_error_clear();
			r = 0;
		} else {
			bytes += rs.bytes_written;
			json_object_set_new(mem, "bytes", json_integer((json_int_t)rs.bytes_written));
			t0 = mono();
			r = check_image(o, m, image, mem, &mok, mmsg, sizeof(mmsg));
			check_s += mono() - t0;
			if (r < 0)
				break;
			if (cairn_cancel_check()) {
				r = CAIRN_ECANCELED;
				break;
			}
		}
		/* The scratch holds one member at a time beyond its check. */
		unlink(image);
		json_object_set_new(mem, "ok", json_boolean(mok));
		json_object_set_new(mem, "message", json_string(mmsg));
		cairn_log_info("drill: %s", mmsg);
		/* The message names the first failure, else the last verdict. */
		if (ok || !mok) {
			if (ok)
				snprintf(message, sizeof(message), "%s", mmsg);
			ok = ok && mok;
		}
	}
	if (cairn_cancel_check() && r >= 0)
		r = CAIRN_ECANCELED;
	cairn_app_progress_done(&o->progress);
	scratch_remove(dir);
	dir[0] = 0;
	if (r < 0) {
		json_decref(members);
		cairn_app_job_end(&j, r, NULL);
		goto out;
	}
	struct cairn_drill_row row = { .kind = (char *)(o->group ? "group" : "volume"), .name = (char *)o->name,
				       .repo = (char *)(o->uri ? o->uri : ""), .backup = (char *)id,
				       .started = started, .restore_s = restore_s, .check_s = check_s, .bytes = bytes,
				       .ok = ok, .message = message, .job = j.id };
	int64_t drill_id = 0;
	if (j.st && (r = cairn_drill_record(j.st, &row, &drill_id)) < 0) {
		json_decref(members);
		cairn_app_job_end(&j, r, NULL);
		goto out;
	}
	int64_t job = j.id;
	if (ok) {
		cairn_app_job_end(&j, 0, "ok");
	} else {
		cairn_error_set(CAIRN_EIO, "%s", message);
		cairn_app_job_end(&j, CAIRN_EIO, "failed");
		cairn_error_clear();
	}
	*ret = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:f, s:f, s:I, s:f, s:I, s:I, s:o}", "kind", row.kind,
			 "name", o->name, "repo", row.repo, "backup", id, "ok", ok, "message", message, "restore_s",
			 restore_s, "check_s", check_s, "bytes", (json_int_t)bytes, "rto_s", restore_s + check_s,
			 "drill", (json_int_t)drill_id, "job", (json_int_t)job, "members", members);
	r = 0;
out:
	if (dir[0])
		scratch_remove(dir);
	free(mv);
	cairn_group_backup_list_free(&gl);
	cairn_manifest_list_free(&l);
	return r;
}
