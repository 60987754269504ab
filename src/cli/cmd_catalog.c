/* cairn catalog BACKUP [PATH]: files of a backup from its catalog alone
 * (repo/catalog.h), like ls and find; no chunk is read. */
#include "app/catjson.h"
#include "cli/cli.h"
#include "repo/catalog.h"
#include "repo/group.h"
#include "repo/index.h"
#include "repo/lease.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/time.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct catalog_args {
	bool recursive, longfmt;
	const char *find;
};
static const struct cli_opt catalog_opts[] = {
	{ "recursive", 'R', OPT_FLAG, CLI_ARG(struct catalog_args, recursive) },
	{ "long", 'l', OPT_FLAG, CLI_ARG(struct catalog_args, longfmt) },
	{ "find", 0, OPT_STRING, CLI_ARG(struct catalog_args, find) },
	{ NULL, 0, 0, NULL, 0 },
};

struct out {
	const struct catalog_args *a;
	bool json, human;
	const char *prefix; /* "VOLUME:" of a group backup's member, or "" */
	const char *top;    /* a recursive listing's PATH: not listed itself (ls -R) */
	json_t *arr;
	uint64_t n;
};

static const char *type_name(enum cairn_cat_type t)
{
	static const char *const names[] = { "?", "file", "dir", "symlink", "char", "block", "fifo", "socket" };
	return (unsigned)t <= CAIRN_CAT_TYPE_MAX ? names[t] : "?";
}

/* A JSON string of bytes that may not be UTF-8: as is when they are,
 * else with each byte above 0x7f written \xNN (and *escaped set). */
static json_t *bytes_json(const char *s, bool *escaped)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	*escaped = true;
	size_t n = strlen(s);
	_cleanup_free_ char *e = malloc(4 * n + 1);
	if (!e)
		return NULL;
	char *p = e;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		p += *c < 0x80 ? sprintf(p, "%c", *c) : sprintf(p, "\\x%02x", *c);
	return json_string(e);
}

static json_t *entry_json(const char *path, const struct cairn_cat_entry *e, const char *prefix)
{
	bool escaped = false;
	_cleanup_free_ char *full = NULL;
	if (asprintf(&full, "%s%s", prefix, path) < 0)
		return NULL;
	json_t *ext = json_array();
	for (size_t i = 0; ext && i < e->nextents; i++)
		json_array_append_new(ext, cairn_cat_extent_json(&e->extents[i]));
	json_t *j = json_pack("{s:o, s:o, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "path",
			      bytes_json(full, &escaped), "name", bytes_json(e->name, &escaped), "type",
			      type_name(e->type), "mode", (json_int_t)e->mode, "uid", (json_int_t)e->uid, "gid",
			      (json_int_t)e->gid, "size", (json_int_t)e->size, "nlink", (json_int_t)e->nlink, "inode",
			      (json_int_t)e->inode, "mtime_ns", (json_int_t)e->mtime_ns, "ctime_ns",
			      (json_int_t)e->ctime_ns);
	if (!j) {
		json_decref(ext);
		return NULL;
	}
	if (e->atime_ns) /* only catalogs made before access times were left out */
		json_object_set_new(j, "atime_ns", json_integer((json_int_t)e->atime_ns));
	if (e->type == CAIRN_CAT_SYMLINK)
		json_object_set_new(j, "target", bytes_json(e->target, &escaped));
	if (e->type == CAIRN_CAT_CHR || e->type == CAIRN_CAT_BLK) {
		json_object_set_new(j, "rdev_major", json_integer(major(e->rdev)));
		json_object_set_new(j, "rdev_minor", json_integer(minor(e->rdev)));
	}
	if (e->type == CAIRN_CAT_FILE)
		json_object_set_new(j, "extents", ext);
	else
		json_decref(ext);
	/* Bytes the catalog holds itself (no extent has them). */
	if (e->inline_data)
		json_object_set_new(j, "inline_bytes", json_integer((json_int_t)e->inline_len));
	if (escaped)
		json_object_set_new(j, "bytes_escaped", json_true());
	return j;
}

static void mode_string(uint32_t mode, char s[11])
{
	static const char types[] = "?pc?d?b?-?l?s???";
	s[0] = types[(mode & S_IFMT) >> 12];
	const char *rwx = "rwxrwxrwx";
	for (int i = 0; i < 9; i++)
		s[1 + i] = mode & (1u << (8 - i)) ? rwx[i] : '-';
	if (mode & S_ISUID)
		s[3] = mode & S_IXUSR ? 's' : 'S';
	if (mode & S_ISGID)
		s[6] = mode & S_IXGRP ? 's' : 'S';
	if (mode & S_ISVTX)
		s[9] = mode & S_IXOTH ? 't' : 'T';
	s[10] = 0;
}

static int on_entry(const char *path, const struct cairn_cat_entry *e, void *ud)
{
	struct out *o = ud;
	if (o->top && !strcmp(path, o->top))
		return 0;
	if (o->a->find) {
		/* As find -name, or against the whole path when the pattern has a '/'. */
		const char *subject = strchr(o->a->find, '/') ? path : e->name;
		if (fnmatch(o->a->find, subject, 0) != 0)
			return 0;
	}
	o->n++;
	if (o->json) {
		json_t *j = entry_json(path, e, o->prefix);
		if (!j)
			return cairn_error_nomem();
		json_array_append_new(o->arr, j);
		return 0;
	}
	bool whole = o->a->recursive || o->a->find;
	if (o->a->longfmt) {
		char mode[11], size[32], when[32];
		mode_string(e->mode, mode);
		if (e->type == CAIRN_CAT_CHR || e->type == CAIRN_CAT_BLK)
			snprintf(size, sizeof(size), "%u, %u", major(e->rdev), minor(e->rdev));
		else if (o->human)
			cli_human_size(e->size, size, sizeof(size));
		else
			snprintf(size, sizeof(size), "%llu", (unsigned long long)e->size);
		time_t t = (time_t)(e->mtime_ns / 1000000000);
		if (e->mtime_ns < 0 && e->mtime_ns % 1000000000)
			t--;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		printf("%s %3u %5u %5u %10s %s ", mode, e->nlink, e->uid, e->gid, size, when);
	}
	if (whole)
		fputs(o->prefix, stdout);
	cli_print_escaped(stdout, whole ? path : e->name);
	if (o->a->longfmt && e->type == CAIRN_CAT_SYMLINK) {
		fputs(" -> ", stdout);
		cli_print_escaped(stdout, e->target);
	}
	fputc('\n', stdout);
	return 0;
}

/* The manifest BACKUP and PATH name: a backup and a path, or a group
 * backup and VOLUME:/path (its member's).  *ret borrows from l. */
static int pick(struct cairn_repo *repo, const struct cairn_manifest_list *l, const char *spec, const char *arg,
		struct cairn_manifest **ret, const char **ret_path, char **ret_prefix)
{
	int r = cairn_manifest_resolve(l, spec, ret);
	if (r != CAIRN_ENOTFOUND) {
		if (r >= 0 && arg && arg[0] != '/')
			return cairn_error_set(CAIRN_EINVAL, "PATH must be absolute (%s)", arg);
		*ret_path = arg ? arg : "/";
		return r;
	}
	struct cairn_group_backup_list gl = { 0 };
	struct cairn_group_backup *gb = NULL;
	int rg = cairn_group_backup_list_load(repo, &gl);
	if (rg >= 0)
		rg = cairn_group_backup_resolve(&gl, spec, &gb);
	if (rg < 0) {
		cairn_group_backup_list_free(&gl);
		return cairn_error_set(CAIRN_ENOTFOUND, "no backup or group backup %s", spec);
	}
	const char *colon = arg ? strchr(arg, ':') : NULL;
	if (!colon || (colon[1] && colon[1] != '/')) {
		cairn_group_backup_list_free(&gl);
		return cairn_error_set(CAIRN_EINVAL, "%s is a group backup: name a file as VOLUME:/PATH", spec);
	}
	size_t vlen = (size_t)(colon - arg);
	r = cairn_error_set(CAIRN_ENOTFOUND, "group backup %.12s has no volume %.*s", gb->idhex, (int)vlen, arg);
	for (size_t i = 0; i < gb->nmembers; i++) {
		if (strlen(gb->members[i].volume) != vlen || strncmp(gb->members[i].volume, arg, vlen))
			continue;
		r = cairn_manifest_resolve(l, gb->members[i].backup_hex, ret);
		break;
	}
	cairn_group_backup_list_free(&gl);
	if (r < 0)
		return r;
	*ret_path = colon[1] ? colon + 1 : "/";
	if (asprintf(ret_prefix, "%.*s:", (int)vlen, arg) < 0)
		return cairn_error_nomem();
	return 0;
}

static int run_catalog(struct cli_ctx *c)
{
	const struct catalog_args *a = c->args;
	struct cli_global *g = c->g;
	_cleanup_(cairn_repo_freep) struct cairn_repo *repo = TAKE_PTR(c->repo);
	_cleanup_(cairn_manifest_list_free) struct cairn_manifest_list l = { 0 };
	int r = cairn_manifest_list_load(repo, &l);
	if (r < 0)
		return cli_fail(r);
	struct cairn_manifest *m = NULL;
	const char *path = NULL;
	_cleanup_free_ char *prefix = NULL;
	if ((r = pick(repo, &l, c->pos.v[0], c->pos.n > 1 ? c->pos.v[1] : NULL, &m, &path, &prefix)) < 0)
		return cli_fail(r);
	/* Before the index is read: a concurrent prune must know (format.h PRUNE). */
	_cleanup_(cairn_activity_endp) struct cairn_activity *activity = NULL;
	if ((r = cairn_activity_begin(repo, "catalog", &activity)) < 0)
		return cli_fail(r);
	_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
	if ((r = cairn_index_new(&idx)) < 0 || (r = cairn_index_load_cached(idx, repo, cli_state_dir(g), NULL)) < 0)
		return cli_fail(r);
	_cleanup_(cairn_catalog_freep) struct cairn_catalog *cat = NULL;
	if ((r = cairn_catalog_open(repo, idx, m, &cat)) < 0)
		return cli_fail(r);
	struct out o = { .a = a, .json = g->json, .human = isatty(STDOUT_FILENO), .prefix = prefix ? prefix : "",
			 .arr = json_array() };
	_cleanup_(cairn_cat_entry_freep) struct cairn_cat_entry *e = NULL;
	if ((r = cairn_catalog_lookup(cat, path, &e)) >= 0) {
		if (e->type != CAIRN_CAT_DIR)
			r = on_entry(path, e, &o);
		else if (a->recursive || a->find) {
			o.top = path;
			r = cairn_catalog_walk(cat, path, on_entry, &o);
		}
		else
			r = cairn_catalog_list(cat, path, on_entry, &o);
	}
	if (r < 0) {
		json_decref(o.arr);
		fflush(stdout);
		return cli_fail(r);
	}
	if (g->json)
		cli_print_json(o.arr);
	else
		json_decref(o.arr);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_catalog = {
	.verb = "catalog", .run = run_catalog, .opts = catalog_opts, .args_size = sizeof(struct catalog_args),
	.pos_min = 1, .pos_max = 2, .pos_few = "need a BACKUP", .needs = CLI_NEEDS_REPO,
};
