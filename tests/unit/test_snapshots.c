/* state/snapshots and state/groups: the registry of local snapshots and the
 * consistency-group definitions; source/snapshot: taking, checking and
 * reverting snapshots on the file system the tests run on. */
#define TH_WANT_REPO
#include "helpers.h"

#include "app/snapreg.h"
#include "engine/engine.h"
#include "source/snapshot.h"
#include "state/groups.h"
#include "state/snapshots.h"
#include "util/cleanup.h"

#include <dirent.h>
#include <sys/wait.h>

static struct cairn_snap_record rec(const char *id, const char *volume, const char *name, enum cairn_snap_kind kind,
				    int64_t created)
{
	static char paths[8][64];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, 64, "/snap/%s", id);
	struct cairn_snap_record r = { .volume = (char *)volume, .name = (char *)name, .path = p,
				       .method = CAIRN_SNAP_REFLINK, .kind = kind, .created_us = created,
				       .ident = { 1, 2, 3, 4, 5 } };
	snprintf(r.id, sizeof(r.id), "%s", id);
	return r;
}

static void test_registry(void **state)
{
	struct th_state_fx *f = *state;
	struct cairn_snap_record a = rec("aaaa000000000001", "/v/one.img", "first", CAIRN_SNAP_USER, 10);
	struct cairn_snap_record b = rec("aaaa000000000002", "/v/one.img", NULL, CAIRN_SNAP_USER, 20);
	struct cairn_snap_record c = rec("bbbb000000000003", "/v/two.img", "first", CAIRN_SNAP_USER, 5);
	ck_ok(cairn_snap_add(f->st, &a));
	ck_ok(cairn_snap_add(f->st, &b));
	ck_ok(cairn_snap_add(f->st, &c)); /* same name, another volume: fine */
	struct cairn_snap_record dup = rec("cccc000000000004", "/v/one.img", "first", CAIRN_SNAP_USER, 30);
	ck_err(cairn_snap_add(f->st, &dup), CAIRN_EEXIST);

	struct cairn_snap_record *v = NULL;
	size_t n = 0;
	ck_ok(cairn_snap_list(f->st, "/v/one.img", &v, &n));
	assert_int_equal(n, 2);
	assert_string_equal(v[0].id, a.id); /* oldest first */
	assert_string_equal(v[1].id, b.id);
	assert_null(v[1].name);
	assert_int_equal(v[0].ident.mtime_ns, 4);
	cairn_snap_records_free(v, n);
	ck_ok(cairn_snap_list(f->st, NULL, &v, &n));
	assert_int_equal(n, 3);
	cairn_snap_records_free(v, n);

	struct cairn_snap_record got;
	ck_ok(cairn_snap_get(f->st, "bbbb", &got)); /* a unique prefix */
	assert_string_equal(got.volume, "/v/two.img");
	cairn_snap_record_clear(&got);
	ck_ok(cairn_snap_get(f->st, "/v/one.img@first", &got));
	assert_string_equal(got.id, a.id);
	cairn_snap_record_clear(&got);
	ck_err(cairn_snap_get(f->st, "aaaa", &got), CAIRN_EAMBIGUOUS);
	ck_err(cairn_snap_get(f->st, "abc", &got), CAIRN_ENOTFOUND);     /* too short */
	ck_err(cairn_snap_get(f->st, "zzzzzz", &got), CAIRN_ENOTFOUND);  /* not hex */
	ck_err(cairn_snap_get(f->st, "/v/one.img@nope", &got), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_snap_known(f->st, a.path, 0, 0), 1);
	assert_int_equal(cairn_snap_known(f->st, "/snap/none", 0, 0), 0);
	assert_int_equal(cairn_snap_known(f->st, "/snap/moved", 1, 2), 1); /* a's device and inode */

	ck_ok(cairn_snap_forget(f->st, a.id));
	ck_err(cairn_snap_get(f->st, a.id, &got), CAIRN_ENOTFOUND);
	ck_ok(cairn_snap_get(f->st, "aaaa", &got)); /* no longer ambiguous */
	cairn_snap_record_clear(&got);
}

static void test_bases(void **state)
{
	struct th_state_fx *f = *state;
	struct cairn_snap_record old = rec("dddd000000000001", "/v/db.img", NULL, CAIRN_SNAP_BASE, 100);
	struct cairn_snap_record newer = rec("dddd000000000002", "/v/db.img", NULL, CAIRN_SNAP_BASE, 200);
	struct cairn_snap_record other = rec("dddd000000000003", "/v/db.img", NULL, CAIRN_SNAP_BASE, 300);
	for (struct cairn_snap_record *r = &old; r; r = r == &old ? &newer : r == &newer ? &other : NULL) {
		snprintf(r->repo_id, sizeof(r->repo_id), "%s", r == &other ? "rB" : "rA");
		snprintf(r->backup_id, sizeof(r->backup_id), "%s", r == &newer ? "b2" : "b1");
		r->volume_name = "db.img";
		ck_ok(cairn_snap_add(f->st, r));
	}
	struct cairn_snap_record got;
	ck_ok(cairn_snap_get_base(f->st, "rA", "db.img", &got));
	assert_string_equal(got.id, newer.id); /* the newest of this repository */
	assert_string_equal(got.backup_id, "b2");
	assert_int_equal(got.kind, CAIRN_SNAP_BASE);
	cairn_snap_record_clear(&got);
	ck_ok(cairn_snap_get_base(f->st, "rB", "db.img", &got));
	assert_string_equal(got.id, other.id);
	cairn_snap_record_clear(&got);
	assert_int_equal(cairn_snap_get_base(f->st, "rA", "other.img", &got), CAIRN_ENOTFOUND);
}

static void test_groups(void **state)
{
	struct th_state_fx *f = *state;
	char *vols[] = { "/v/a.img", "/v/b.img", "/v/c.img" };
	char *frz[] = { "/mnt/b", "/mnt/a" };
	struct cairn_group g = { .name = "app", .volumes = vols, .nvolumes = 3, .freeze = frz, .nfreeze = 2,
				 .config = "/etc/app.xml", .pre_hook = "sync", .max_freeze_ms = 1500 };
	ck_ok(cairn_group_create(f->st, &g));
	ck_err(cairn_group_create(f->st, &g), CAIRN_EEXIST);
	struct cairn_group h = { .name = "db", .volumes = vols, .nvolumes = 1 };
	ck_ok(cairn_group_create(f->st, &h));
	struct cairn_group got;
	ck_ok(cairn_group_get(f->st, "app", &got));
	assert_int_equal(got.nvolumes, 3);
	assert_string_equal(got.volumes[2], "/v/c.img"); /* order kept */
	assert_int_equal(got.nfreeze, 2);
	assert_string_equal(got.freeze[0], "/mnt/b");
	assert_string_equal(got.config, "/etc/app.xml");
	assert_string_equal(got.pre_hook, "sync");
	assert_null(got.post_hook);
	assert_int_equal(got.max_freeze_ms, 1500);
	/* No names given: every volume goes by its default. */
	assert_non_null(got.names);
	assert_null(got.names[0]);
	assert_null(got.names[2]);
	cairn_group_clear(&got);
	ck_ok(cairn_group_get(f->st, "db", &got));
	assert_int_equal(got.max_freeze_ms, CAIRN_GROUP_MAX_FREEZE_MS_DEFAULT);
	assert_int_equal(got.nfreeze, 0);
	cairn_group_clear(&got);
	/* Names given, one per volume, in order. */
	char *names[] = { "os", "data", "logs" };
	struct cairn_group named = { .name = "named", .volumes = vols, .nvolumes = 3, .names = names };
	ck_ok(cairn_group_create(f->st, &named));
	ck_ok(cairn_group_get(f->st, "named", &got));
	assert_string_equal(got.names[0], "os");
	assert_string_equal(got.names[2], "logs");
	assert_string_equal(got.volumes[2], "/v/c.img");
	cairn_group_clear(&got);
	ck_ok(cairn_group_delete(f->st, "named"));
	struct cairn_group *v = NULL;
	size_t n = 0;
	ck_ok(cairn_group_list(f->st, &v, &n));
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "app");
	cairn_groups_free(v, n);
	ck_ok(cairn_group_delete(f->st, "app"));
	ck_err(cairn_group_delete(f->st, "app"), CAIRN_ENOTFOUND);
	ck_err(cairn_group_get(f->st, "app", &got), CAIRN_ENOTFOUND);
	/* The members went with it (ON DELETE CASCADE): re-creating works. */
	ck_ok(cairn_group_create(f->st, &g));
	static const char *const bad[] = { "", "a b", "-x", ".x", "x/y", "é" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cairn_group b = { .name = (char *)bad[i], .volumes = vols, .nvolumes = 1 };
		ck_err(cairn_group_create(f->st, &b), CAIRN_EINVAL);
	}
}

#define ID1 "0123456789abcdef"

static void snap_dir_of(const struct th_state_fx *f, char *buf, size_t size)
{
	char real[PATH_MAX];
	assert_non_null(realpath(f->dir, real));
	snprintf(buf, size, "%s/snapshots", real);
}

/* Snapshots on whatever file system the tests run on: a copy unless it can
 * reflink; either way the bytes and the identity rules are the same. */
static void test_take_and_revert(void **state)
{
	struct th_state_fx *f = *state;
	char vol[PATH_MAX + 16], dir[PATH_MAX + 16];
	snprintf(vol, sizeof(vol), "%s/vol.img", f->dir);
	snap_dir_of(f, dir, sizeof(dir));
	uint8_t *d = th_data(300000, 3);
	th_write_file(vol, d, 300000);
	struct cairn_snap_taken t;
	ck_ok(cairn_snap_take(vol, f->dir, ID1, CAIRN_SNAP_AUTO, cairn_snap_known_cb, f->st, &t));
	assert_true(t.method == CAIRN_SNAP_REFLINK || t.method == CAIRN_SNAP_COPY);
	/* Under the state directory (the same file system here), by a
	 * temporary name until kept; read through the descriptor. */
	assert_int_equal(strncmp(t.path, dir, strlen(dir)), 0);
	assert_non_null(strstr(t.name, "vol.img." ID1 ".cairn-snap-"));
	uint8_t back[300001];
	assert_int_equal(pread(t.fd, back, sizeof(back), 0), 300000);
	assert_memory_equal(back, d, 300000);
	struct stat st;
	assert_int_equal(fstat(t.fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0400);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	ck_ok(cairn_snap_keep(&t));
	assert_non_null(strstr(t.path, "/vol.img." ID1));
	assert_null(strstr(t.path, ".cairn-snap-"));
	assert_true(cairn_snap_identity_matches(t.path, t.method, &t.ident));
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s", t.path);
	struct cairn_snap_identity ident = t.ident;
	enum cairn_snap_method method = t.method;
	ck_ok(cairn_snap_release(&t, 0));
	assert_int_equal(access(path, F_OK), 0); /* kept */
	/* Another of the same id is not kept over it, and goes. */
	ck_ok(cairn_snap_take(vol, f->dir, ID1, CAIRN_SNAP_COPY, NULL, NULL, &t));
	ck_err(cairn_snap_keep(&t), CAIRN_EEXIST);
	char tmp[PATH_MAX + 64];
	snprintf(tmp, sizeof(tmp), "%s", t.path);
	cairn_snap_release(&t, 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_true(cairn_snap_identity_matches(path, method, &ident));

	/* Revert after a change gives the snapshot's bytes back, mode kept. */
	uint8_t junk[1000];
	memset(junk, 0xee, sizeof(junk));
	th_write_file(vol, junk, sizeof(junk));
	chmod(vol, 0640);
	int in = -1;
	ck_ok(cairn_snap_open(path, method, &ident, &in));
	ck_ok(cairn_snap_revert(in, path, method, vol, false));
	close(in);
	size_t len = 0;
	uint8_t *got = th_read_file(vol, &len);
	assert_int_equal(len, 300000);
	assert_memory_equal(got, d, len);
	free(got);
	assert_int_equal(stat(vol, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* A touched snapshot no longer matches its identity: not opened. */
	chmod(path, 0600);
	assert_false(cairn_snap_identity_matches(path, method, &ident));
	ck_err(cairn_snap_open(path, method, &ident, &in), CAIRN_ECORRUPT);
	ck_ok(cairn_snap_remove(path, method));
	ck_ok(cairn_snap_remove(path, method)); /* missing is fine */
	assert_false(cairn_snap_identity_matches(path, method, &ident));
	assert_true(cairn_snap_take("/nonexistent/vol", f->dir, ID1, CAIRN_SNAP_AUTO, NULL, NULL, &t) < 0);
	assert_non_null(strstr(cairn_error_message(), "/nonexistent/vol"));

	/* INSTANT (a backup's AUTO): a reflink where AUTO made one, else
	 * CAIRN_EUNSUPPORTED with nothing made; never a copy. */
	int r = cairn_snap_take(vol, f->dir, ID1, CAIRN_SNAP_INSTANT, NULL, NULL, &t);
	if (method == CAIRN_SNAP_REFLINK) {
		ck_ok(r);
		assert_int_equal(t.method, CAIRN_SNAP_REFLINK);
		cairn_snap_release(&t, 0);
	} else {
		ck_err(r, CAIRN_EUNSUPPORTED);
		assert_non_null(strstr(cairn_error_message(), "cannot make reflink snapshots"));
		/* It hands back the volume itself, open, for a live read. */
		assert_int_equal(t.method, CAIRN_SNAP_NONE);
		assert_true(t.fd >= 0);
		assert_non_null(strstr(t.path, "/vol.img"));
		struct stat a, b;
		assert_int_equal(fstat(t.fd, &a), 0);
		assert_int_equal(stat(vol, &b), 0);
		assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
		cairn_snap_release(&t, 0);
		assert_int_equal(access(vol, F_OK), 0); /* released, not removed */
	}
	DIR *dh = opendir(dir);
	assert_non_null(dh);
	for (struct dirent *e; (e = readdir(dh));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			fail_msg("%s left in %s", e->d_name, dir);
	closedir(dh);
	free(d);
}

/* The snapshot directory must be cairn's alone: group- or other-accessible,
 * another user's, or a link is refused with one line, never repaired or
 * replaced; a recorded snapshot in such a directory is not opened. */
static void test_snapdir_trust(void **state)
{
	struct th_state_fx *f = *state;
	char vol[PATH_MAX + 16], dir[PATH_MAX + 16], other[PATH_MAX + 16];
	snprintf(vol, sizeof(vol), "%s/vol.img", f->dir);
	snap_dir_of(f, dir, sizeof(dir));
	th_write_file(vol, "data", 4);
	struct cairn_snap_taken t;
	assert_int_equal(mkdir(dir, 0770), 0);
	assert_int_equal(chmod(dir, 0770), 0);
	ck_err(cairn_snap_take(vol, f->dir, ID1, CAIRN_SNAP_COPY, NULL, NULL, &t), CAIRN_EPERM);
	assert_non_null(strstr(cairn_error_message(), "refusing snapshot directory"));
	assert_non_null(strstr(cairn_error_message(), "its mode 0770"));
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0770);
	assert_int_equal(rmdir(dir), 0); /* nothing was made in it */
	snprintf(other, sizeof(other), "%s/elsewhere", f->dir);
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(symlink("elsewhere", dir), 0);
	ck_err(cairn_snap_take(vol, f->dir, ID1, CAIRN_SNAP_COPY, NULL, NULL, &t), CAIRN_EPERM);
	assert_non_null(strstr(cairn_error_message(), "symbolic link"));
	assert_int_equal(unlink(dir), 0);
	if (geteuid() == 0) {
		assert_int_equal(mkdir(dir, 0700), 0);
		assert_int_equal(chown(dir, 65534, 65534), 0);
		ck_err(cairn_snap_take(vol, f->dir, ID1, CAIRN_SNAP_COPY, NULL, NULL, &t), CAIRN_EPERM);
		assert_non_null(strstr(cairn_error_message(), "owned by uid 65534"));
		assert_int_equal(rmdir(dir), 0);
	}

	/* Where cairn kept snapshots before (beside the image): usable while
	 * the directory is cairn's, refused once it is not. */
	char old[PATH_MAX + 64], snap[PATH_MAX + 128];
	snprintf(old, sizeof(old), "%s/.cairn-snapshots", f->dir);
	snprintf(snap, sizeof(snap), "%s/vol.img." ID1, old);
	assert_int_equal(mkdir(old, 0700), 0);
	th_write_file(snap, "data", 4);
	assert_int_equal(chmod(snap, 0400), 0);
	assert_int_equal(stat(snap, &st), 0);
	struct cairn_snap_identity ident = { .dev = st.st_dev, .ino = st.st_ino, .size = 4,
					     .mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
					     .ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec };
	int fd = -1;
	ck_ok(cairn_snap_open(snap, CAIRN_SNAP_COPY, &ident, &fd));
	close(fd);
	assert_int_equal(chmod(old, 0755), 0);
	ck_err(cairn_snap_open(snap, CAIRN_SNAP_COPY, &ident, &fd), CAIRN_EPERM);
	assert_non_null(strstr(cairn_error_message(), "its mode 0755"));
	ck_err(cairn_snap_remove(snap, CAIRN_SNAP_COPY), CAIRN_EPERM);
	assert_int_equal(access(snap, F_OK), 0);
}

/* What killed runs leave (a temporary of a dead process, a kept file no
 * record names) is found and removed; what a live run holds and what a
 * record names is not. */
static void test_leftovers(void **state)
{
	struct th_state_fx *f = *state;
	char vol[PATH_MAX + 16], dir[PATH_MAX + 16];
	snprintf(vol, sizeof(vol), "%s/vol.img", f->dir);
	snap_dir_of(f, dir, sizeof(dir));
	th_write_file(vol, "some data", 9);
	/* Ours, in use: a temporary held and locked by this live process. */
	struct cairn_snap_taken live, rec_t;
	ck_ok(cairn_snap_take(vol, f->dir, "1111111111111111", CAIRN_SNAP_COPY, NULL, NULL, &live));
	/* Recorded. */
	ck_ok(cairn_snap_take(vol, f->dir, "2222222222222222", CAIRN_SNAP_COPY, NULL, NULL, &rec_t));
	ck_ok(cairn_snap_keep(&rec_t));
	struct cairn_snap_record r = { .volume = vol, .path = rec_t.path, .method = rec_t.method,
				       .kind = CAIRN_SNAP_USER, .ident = rec_t.ident };
	memcpy(r.id, rec_t.id, sizeof(r.id));
	ck_ok(cairn_snap_add(f->st, &r));
	char recorded[PATH_MAX + 64];
	snprintf(recorded, sizeof(recorded), "%s", rec_t.path);
	cairn_snap_release(&rec_t, 0);
	/* Killed: one while it was made, one after it was named. */
	for (int k = 0; k < 2; k++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct cairn_snap_taken t;
			if (cairn_snap_take(vol, f->dir, k ? "4444444444444444" : "3333333333333333", CAIRN_SNAP_COPY,
					    NULL, NULL, &t) < 0 ||
			    (k && cairn_snap_keep(&t) < 0))
				_exit(1);
			_exit(0); /* as if killed: nothing released */
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	int dfd;
	ck_ok(cairn_snap_dir_open(dir, &dfd));
	struct cairn_snap_leftover *v = NULL;
	size_t n = 0;
	ck_ok(cairn_snap_leftovers(dfd, dir, false, cairn_snap_known_cb, f->st, &v, &n));
	assert_int_equal(n, 2);
	bool seen3 = false, seen4 = false;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(v[i].size, 9);
		if (strcmp(v[i].id, "3333333333333333") == 0) {
			seen3 = true;
			assert_true(v[i].pid > 0);
			assert_non_null(strstr(v[i].path, ".cairn-snap-"));
		} else if (strcmp(v[i].id, "4444444444444444") == 0) {
			seen4 = true;
			assert_int_equal(v[i].pid, 0);
		}
	}
	assert_true(seen3 && seen4);
	cairn_snap_leftovers_free(v, n);
	/* Removed; the next listing finds none, the others are there. */
	ck_ok(cairn_snap_leftovers(dfd, dir, true, cairn_snap_known_cb, f->st, NULL, NULL));
	ck_ok(cairn_snap_leftovers(dfd, dir, false, cairn_snap_known_cb, f->st, &v, &n));
	assert_int_equal(n, 0);
	cairn_snap_leftovers_free(v, n);
	struct stat st;
	assert_int_equal(fstatat(live.dirfd, live.name, &st, 0), 0);
	assert_int_equal(access(recorded, F_OK), 0);
	/* Making a snapshot there sweeps first. */
	cairn_snap_release(&live, 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct cairn_snap_taken t;
		_exit(cairn_snap_take(vol, f->dir, "5555555555555555", CAIRN_SNAP_COPY, NULL, NULL, &t) < 0);
	}
	waitpid(pid, NULL, 0);
	ck_ok(cairn_snap_take(vol, f->dir, "6666666666666666", CAIRN_SNAP_COPY, cairn_snap_known_cb, f->st, &live));
	ck_ok(cairn_snap_leftovers(dfd, dir, false, cairn_snap_known_cb, f->st, &v, &n));
	assert_int_equal(n, 0);
	cairn_snap_leftovers_free(v, n);
	cairn_snap_release(&live, 0);
	close(dfd);

	/* The directories list: noted ones and those of records. */
	ck_ok(cairn_snap_dir_note(f->st, "/somewhere/.cairn-snapshots"));
	char **dirs = NULL;
	size_t nd = 0;
	ck_ok(cairn_snap_dirs(f->st, &dirs, &nd));
	assert_int_equal(nd, 2);
	assert_string_equal(dirs[0], "/somewhere/.cairn-snapshots");
	assert_string_equal(dirs[1], dir);
	cairn_snap_dirs_free(dirs, nd);
}

static void test_methods(void **state)
{
	(void)state;
	enum cairn_snap_method m;
	ck_ok(cairn_snap_method_parse("reflink", &m));
	assert_int_equal(m, CAIRN_SNAP_REFLINK);
	ck_ok(cairn_snap_method_parse("none", &m));
	assert_int_equal(m, CAIRN_SNAP_NONE);
	ck_err(cairn_snap_method_parse("zfs", &m), CAIRN_EINVAL);
	ck_ok(cairn_snap_method_parse("lvm", &m));
	assert_int_equal(m, CAIRN_SNAP_LVM);
	ck_err(cairn_snap_method_parse(NULL, &m), CAIRN_EINVAL);
	assert_string_equal(cairn_snap_method_name(CAIRN_SNAP_COPY), "copy");
	/* Internal: named, never parsed. */
	assert_string_equal(cairn_snap_method_name(CAIRN_SNAP_INSTANT), "instant");
	ck_err(cairn_snap_method_parse("instant", &m), CAIRN_EINVAL);
}

/* A snapshot the caller took (the CLI's reflink, a group's) is removed
 * when the backup of it fails before it starts: a source that vanished,
 * a volume name that is not allowed. */
static void test_taken_removed_on_early_failure(void **state)
{
	struct th_state_fx *f = *state;
	char rdir[PATH_MAX];
	struct cairn_repo *repo = th_repo_init(rdir, sizeof(rdir), "snaprepo", 4096);
	char vol[PATH_MAX + 16];
	snprintf(vol, sizeof(vol), "%s/vol.img", f->dir);
	th_write_file(vol, "data", 4);
	struct cairn_snap_taken taken;
	struct cairn_snap_registry reg;
	cairn_app_snap_registry(f->st, &reg);
	struct cairn_snap_backup_opts o = {
		.backup = { .source = vol, .volume = "bad/name" },
		.snapshot = CAIRN_SNAP_COPY, .registry = &reg, .state_dir = f->dir, .taken = &taken,
	};
	struct cairn_manifest *m = NULL;
	struct cairn_snap_backup_info info;
	const char *sources[] = { vol, "/nonexistent/cairn-test/vol.img" };
	for (size_t k = 0; k < 2; k++) {
		ck_ok(cairn_snap_take(vol, f->dir, ID1, CAIRN_SNAP_COPY, NULL, NULL, &taken));
		char snap[PATH_MAX + 64];
		snprintf(snap, sizeof(snap), "%s", taken.path);
		o.backup.source = sources[k];
		o.backup.volume = k == 0 ? "bad/name" : NULL;
		assert_true(cairn_snap_backup(repo, &o, &m, &info) < 0);
		assert_null(m);
		assert_int_equal(access(snap, F_OK), -1);
		assert_int_equal(taken.fd, -1);
	}
	cairn_repo_free(repo);
	th_rm_rf(rdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registry, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_bases, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_groups, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_take_and_revert, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_snapdir_trust, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_leftovers, th_state_setup, th_state_teardown),
		cmocka_unit_test(test_methods),
		cmocka_unit_test_setup_teardown(test_taken_removed_on_early_failure, th_state_setup, th_state_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
