/* Browsing a backup's file catalog over the API (api_catalog.h). */
#include "daemon/api_catalog.h"
#include "app/backups.h"
#include "app/catjson.h"
#include "daemon/api_req.h"
#include "repo/catalog.h"
#include "repo/index.h"
#include "repo/manifest.h"
#include "util/error.h"
#include "util/hex.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX 100000 /* entries of one directory in one reply (limit=) */
#define PATH_MAX_LEN 4096

int cairn_api_query_decode(const char *raw, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; raw[i]; i++) {
		char c = raw[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (!isxdigit((unsigned char)raw[i + 1]) || !isxdigit((unsigned char)raw[i + 2]))
				return cairn_error_set(CAIRN_EINVAL, "bad escape in the query at '%.3s'", raw + i);
			char hex[3] = { raw[i + 1], raw[i + 2], 0 };
			c = (char)strtol(hex, NULL, 16);
			i += 2;
		}
		if (c == 0)
			return cairn_error_set(CAIRN_EINVAL, "a NUL in the query");
		if (o + 1 >= size)
			return cairn_error_set(CAIRN_EINVAL, "a query value longer than %zu bytes", size - 1);
		out[o++] = c;
	}
	out[o] = 0;
	return 0;
}

/* The decoded query value key (malloc'd in *ret), or NULL when absent. */
static int query(struct cairn_api_req *rq, const char *key, char **ret)
{
	*ret = NULL;
	const char *raw = cairn_api_query(rq, key);
	if (!raw)
		return 0;
	size_t size = strlen(raw) + 1;
	char *v = malloc(size);
	if (!v)
		return cairn_error_nomem();
	int r = cairn_api_query_decode(raw, v, size);
	if (r < 0) {
		free(v);
		return cairn_error_set(CAIRN_EINVAL, "%s: %s", key, cairn_error_message());
	}
	*ret = v;
	return 0;
}

/* What a request browses: the repository, the backup, its catalog. */
struct browse {
	struct cairn_repo *repo;
	struct cairn_index *idx;
	struct cairn_manifest *m;
	struct cairn_catalog *cat;
	char *path;
};

static void browse_clear(struct browse *b)
{
	cairn_catalog_free(b->cat);
	cairn_manifest_free(b->m);
	cairn_index_free(b->idx);
	cairn_repo_free(b->repo);
	free(b->path);
}

/* Opens the repository of the path (as the backups routes do), the
 * backup, its catalog. */
static int browse_open(struct cairn_api_req *rq, struct browse *b)
{
	int r = query(rq, "path", &b->path);
	if (r < 0)
		return r;
	if (!b->path && !(b->path = strdup("/")))
		return cairn_error_nomem();
	if (b->path[0] != '/' || strlen(b->path) > PATH_MAX_LEN)
		return cairn_error_set(CAIRN_EINVAL, "path must be absolute (\"/etc\"), at most %d bytes", PATH_MAX_LEN);
	if ((r = cairn_api_repo_of(rq, &b->repo)) < 0)
		return r;
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	char what[CAIRN_APP_WHAT_MAX];
	char spec[128];
	cairn_app_lower_id(rq->m.params[1], spec, sizeof(spec));
	if ((r = cairn_app_backup_resolve_any(b->repo, spec, false, id, what)) < 0 ||
	    (r = cairn_manifest_read(b->repo, id, &b->m)) < 0)
		return r;
	if ((r = cairn_index_new(&b->idx)) < 0 ||
	    (r = cairn_index_load_cached(b->idx, b->repo, cairn_api_app(rq)->state_dir, NULL)) < 0)
		return r;
	return cairn_catalog_open(b->repo, b->idx, b->m, &b->cat);
}

static const char *type_name(enum cairn_cat_type t)
{
	static const char *const names[] = { "", "file", "dir", "symlink", "chr", "blk", "fifo", "sock" };
	return t >= 1 && t <= CAIRN_CAT_TYPE_MAX ? names[t] : "unknown";
}

/* Names are bytes (repo/catalog.h); JSON strings are UTF-8.  A name that
 * is not UTF-8 is shown with U+FFFD for each bad byte, and its bytes are
 * given in hex beside it (key_hex) so that nothing is silently changed. */
static void set_bytes(json_t *o, const char *key, const char *s)
{
	json_t *v = json_string(s);
	if (v) {
		json_object_set_new(o, key, v);
		return;
	}
	size_t len = strlen(s);
	char *lossy = malloc(len * 3 + 1), *hex = malloc(len * 2 + 1);
	if (lossy && hex) {
		size_t o2 = 0;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c < 0x80) {
				lossy[o2++] = (char)c;
			} else {
				memcpy(lossy + o2, "\xef\xbf\xbd", 3);
				o2 += 3;
			}
		}
		lossy[o2] = 0;
		cairn_hex_encode((const uint8_t *)s, len, hex);
		char hk[64];
		snprintf(hk, sizeof(hk), "%s_hex", key);
		json_object_set_new(o, key, json_string(lossy));
		json_object_set_new(o, hk, json_string(hex));
	}
	free(lossy);
	free(hex);
}

static json_t *entry_json(const struct cairn_cat_entry *e, bool extents)
{
	json_t *o = json_object();
	set_bytes(o, "name", e->name ? e->name : "");
	json_object_set_new(o, "type", json_string(type_name(e->type)));
	json_object_set_new(o, "mode", json_integer(e->mode & 07777));
	json_object_set_new(o, "uid", json_integer(e->uid));
	json_object_set_new(o, "gid", json_integer(e->gid));
	json_object_set_new(o, "size", json_integer((json_int_t)e->size));
	json_object_set_new(o, "mtime", json_integer(e->mtime_ns / 1000000000));
	json_object_set_new(o, "mtime_ns", json_integer(e->mtime_ns));
	json_object_set_new(o, "nlink", json_integer(e->nlink));
	json_object_set_new(o, "inode", json_integer((json_int_t)e->inode));
	if (e->target)
		set_bytes(o, "target", e->target);
	if (e->type == CAIRN_CAT_FILE)
		json_object_set_new(o, "nextents", json_integer((json_int_t)e->nextents));
	if (e->inline_data)
		json_object_set_new(o, "inline_bytes", json_integer((json_int_t)e->inline_len));
	if (extents && e->type == CAIRN_CAT_FILE) {
		json_t *a = json_array();
		for (size_t i = 0; i < e->nextents; i++) {
			json_array_append_new(a, cairn_cat_extent_json(&e->extents[i]));
		}
		json_object_set_new(o, "extents", a);
	}
	return o;
}

static json_t *backup_json(const struct cairn_manifest *m)
{
	return json_pack("{s:s, s:s, s:I}", "id", m->idhex, "volume", m->volume ? m->volume : "", "created_us",
			 (json_int_t)m->created_us);
}

struct listing {
	json_t *a;
	size_t n, limit;
	bool truncated;
};

static int list_one(const char *path, const struct cairn_cat_entry *e, void *ud)
{
	(void)path;
	struct listing *l = ud;
	if (l->n >= l->limit) {
		l->truncated = true;
		return 0;
	}
	l->n++;
	json_array_append_new(l->a, entry_json(e, false));
	return 0;
}

int cairn_api_get_catalog(struct cairn_api_req *rq)
{
	struct browse b = { 0 };
	size_t limit = 10000;
	const char *q = cairn_api_query(rq, "limit");
	if (q) {
		char *end;
		unsigned long v = strtoul(q, &end, 10);
		if (*q < '0' || *q > '9' || *end || v < 1 || v > LIST_MAX)
			return cairn_error_set(CAIRN_EINVAL, "limit takes a number from 1 to %d", LIST_MAX);
		limit = v;
	}
	int r = browse_open(rq, &b);
	struct cairn_cat_entry *dir = NULL;
	if (r >= 0)
		r = cairn_catalog_lookup(b.cat, b.path, &dir);
	if (r >= 0 && dir->type != CAIRN_CAT_DIR)
		r = cairn_error_set(CAIRN_EINVAL, "%s is not a directory (a %s): look it up with catalog/entry", b.path,
				    type_name(dir->type));
	struct listing l = { .a = json_array(), .limit = limit };
	if (r >= 0)
		r = cairn_catalog_list(b.cat, b.path, list_one, &l);
	json_t *fs = json_array();
	if (r >= 0 && strcmp(b.path, "/") == 0) {
		/* At the top: the volume's file systems, and why any has no
		 * catalog (an unsupported file system, damage). */
		const struct cairn_catalog_fs *v;
		size_t n;
		if (cairn_catalog_filesystems(b.cat, &v, &n) >= 0)
			for (size_t i = 0; i < n; i++)
				json_array_append_new(fs, json_pack("{s:s, s:I, s:I, s:s, s:b, s:o}", "name", v[i].name,
								    "offset", (json_int_t)v[i].offset, "size",
								    (json_int_t)v[i].size, "fs_type", v[i].fs_type,
								    "has_root", v[i].has_root, "reason",
								    v[i].reason ? json_string(v[i].reason)
										: json_null()));
	}
	json_t *reply = NULL;
	if (r >= 0) {
		reply = json_pack("{s:o, s:o, s:o, s:b}", "backup", backup_json(b.m), "entries", l.a, "filesystems", fs,
				  "truncated", l.truncated);
		set_bytes(reply, "path", b.path);
	} else {
		json_decref(l.a);
		json_decref(fs);
	}
	cairn_cat_entry_free(dir);
	browse_clear(&b);
	return r < 0 ? r : cairn_api_reply(rq, 200, reply);
}

int cairn_api_get_catalog_entry(struct cairn_api_req *rq)
{
	struct browse b = { 0 };
	int r = browse_open(rq, &b);
	struct cairn_cat_entry *e = NULL;
	if (r >= 0)
		r = cairn_catalog_lookup(b.cat, b.path, &e);
	json_t *reply = NULL;
	if (r >= 0) {
		reply = json_pack("{s:o, s:o}", "backup", backup_json(b.m), "entry", entry_json(e, true));
		set_bytes(reply, "path", b.path);
	}
	cairn_cat_entry_free(e);
	browse_clear(&b);
	return r < 0 ? r : cairn_api_reply(rq, 200, reply);
}
