/* diff --files (filediff.h). */
#include "engine/filediff.h"
#include "repo/catalog.h"
#include "repo/index.h"
#include "repo/lease.h"
#include "repo/pack.h"
#include "repo/tree.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

static const char *const reason_names[CAIRN_FILEDIFF_NREASONS] = {
	"type", "size", "mode", "owner", "mtime", "ctime", "target", "rdev", "extents", "content", "shared-chunk",
};

const char *cairn_filediff_reason_name(unsigned bit)
{
	return bit < CAIRN_FILEDIFF_NREASONS ? reason_names[bit] : "?";
}

/* One volume's side: its catalog and the chunk ids of its tree. */
struct side {
	const struct cairn_manifest *m;
	struct cairn_catalog *cat;
	struct cairn_tree_data data; /* its data chunks' ids: holes take no room */
	uint64_t nchunks;
};

struct result {
	char *path;
	enum cairn_filediff_status s;
	unsigned reasons;
	bool is_dir;
};

struct fd {
	struct side a, b;
	uint32_t csize;
	bool every_file;
	struct result *v;
	size_t n, cap;
	struct cairn_filediff_stats *st;
};

/* A directory's entries, owned copies (the callbacks' are borrowed). */
struct child {
	struct cairn_cat_entry e;
	char *path;
};
struct list {
	struct child *v;
	size_t n, cap;
};

static void list_free(struct list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free((char *)l->v[i].e.name);
		free((char *)l->v[i].e.target);
		free((struct cairn_cat_extent *)l->v[i].e.extents);
		free((uint8_t *)l->v[i].e.inline_data);
		free(l->v[i].path);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int on_child(const char *path, const struct cairn_cat_entry *e, void *ud)
{
	struct list *l = ud;
	int r = cairn_array_grow(&l->v, &l->cap, l->n, sizeof(*l->v), 16);
	if (r < 0)
		return r;
	struct child *c = &l->v[l->n++];
	c->e = *e;
	c->e.name = strdup(e->name);
	c->e.target = e->target ? strdup(e->target) : NULL;
	c->e.extents = e->nextents ? cairn_memdup(e->extents, e->nextents * sizeof(*e->extents)) : NULL;
	c->e.inline_data = e->inline_data ? cairn_memdup(e->inline_data, e->inline_len) : NULL;
	c->path = strdup(path);
	if (!c->e.name || (e->target && !c->e.target) || (e->nextents && !c->e.extents) ||
	    (e->inline_data && !c->e.inline_data) || !c->path)
		return cairn_error_nomem();
	return 0;
}

static int children(struct side *s, const char *path, const struct cairn_cat_entry *dir, struct list *l)
{
	/* "/" may be a partitioned volume's made-up directory: by path. */
	if (!strcmp(path, "/"))
		return cairn_catalog_list(s->cat, "/", on_child, l);
	return cairn_catalog_list_entry(s->cat, path, dir, on_child, l);
}

static int add(struct fd *d, enum cairn_filediff_status s, const char *path, unsigned reasons, bool is_dir)
{
	int r = cairn_array_grow(&d->v, &d->cap, d->n, sizeof(*d->v), 64);
	if (r < 0)
		return r;
	if (!(d->v[d->n].path = strdup(path)))
		return cairn_error_nomem();
	d->v[d->n].s = s;
	d->v[d->n].reasons = reasons;
	d->v[d->n].is_dir = is_dir;
	d->n++;
	switch (s) {
	case CAIRN_FILEDIFF_ADDED:
		d->st->added++;
		break;
	case CAIRN_FILEDIFF_REMOVED:
		d->st->removed++;
		break;
	case CAIRN_FILEDIFF_MODIFIED:
		d->st->modified++;
		break;
	case CAIRN_FILEDIFF_MAYBE:
		d->st->maybe++;
		break;
	}
	return 0;
}

/* Everything under (and at) path of one side: added or removed. */
struct whole {
	struct fd *d;
	enum cairn_filediff_status s;
	const char *skip; /* the walk's top, already reported */
};

static int on_whole(const char *path, const struct cairn_cat_entry *e, void *ud)
{
	struct whole *w = ud;
	if (w->skip && !strcmp(path, w->skip))
		return 0;
	return add(w->d, w->s, path, 0, e->type == CAIRN_CAT_DIR);
}

static int whole(struct fd *d, struct side *s, const char *path, enum cairn_filediff_status st, bool skip_top)
{
	struct whole w = { d, st, skip_top ? path : NULL };
	return cairn_catalog_walk(s->cat, path, on_whole, &w);
}

static const uint8_t *chunk_id(const struct side *s, uint64_t c)
{
	static const uint8_t none[CAIRN_ID_LEN] = { 1 }; /* past the end: differs from any id */
	return c < s->nchunks ? cairn_tree_data_id(&s->data, c) : none;
}

/* Bytes of chunk c that the file's blocks (its extents, whole) cover. */
static uint64_t covered(const struct cairn_cat_entry *e, uint64_t cstart, uint64_t cend)
{
	uint64_t n = 0;
	for (size_t i = 0; i < e->nextents; i++) {
		uint64_t s = e->extents[i].volume_offset, t = s + cairn_cat_extent_disk_len(&e->extents[i]);
		if (t > cstart && s < cend)
			n += MIN(t, cend) - MAX(s, cstart);
	}
	return n;
}

/* CONTENT, SHARED or 0 for a file with the same extents in a and b. */
static unsigned content(struct fd *d, const struct cairn_cat_entry *e)
{
	unsigned why = 0;
	uint64_t vol_size = MAX(d->a.m->size, d->b.m->size);
	for (size_t i = 0; i < e->nextents; i++) {
		const struct cairn_cat_extent *x = &e->extents[i];
		if (x->unwritten || x->file_offset >= e->size)
			continue;
		/* A compressed extent's bytes are its on-disk bytes, all of them. */
		uint64_t len = x->compression ? x->disk_length : MIN(x->length, e->size - x->file_offset);
		for (uint64_t c = x->volume_offset / d->csize; c <= (x->volume_offset + len - 1) / d->csize; c++) {
			if (!memcmp(chunk_id(&d->a, c), chunk_id(&d->b, c), CAIRN_ID_LEN))
				continue;
			uint64_t cs = c * d->csize, ce = MIN(cs + d->csize, vol_size);
			if (covered(e, cs, ce) >= ce - cs)
				return CAIRN_FILEDIFF_CONTENT;
			why = CAIRN_FILEDIFF_SHARED;
		}
	}
	return why;
}

static bool same_extents(const struct cairn_cat_entry *a, const struct cairn_cat_entry *b)
{
	if (a->nextents != b->nextents)
		return false;
	for (size_t i = 0; i < a->nextents; i++) {
		const struct cairn_cat_extent *x = &a->extents[i], *y = &b->extents[i];
		if (x->volume_offset != y->volume_offset || x->file_offset != y->file_offset ||
		    x->length != y->length || x->unwritten != y->unwritten || x->compression != y->compression ||
		    x->disk_length != y->disk_length || x->ram_length != y->ram_length ||
		    x->data_offset != y->data_offset)
			return false;
	}
	return true;
}

static unsigned compare(struct fd *d, const struct cairn_cat_entry *a, const struct cairn_cat_entry *b)
{
	unsigned why = 0;
	if (a->type != b->type)
		return CAIRN_FILEDIFF_TYPE;
	if ((a->mode & 07777) != (b->mode & 07777))
		why |= CAIRN_FILEDIFF_MODE;
	if (a->uid != b->uid || a->gid != b->gid)
		why |= CAIRN_FILEDIFF_OWNER;
	if (a->type == CAIRN_CAT_DIR)
		return why;
	if (a->size != b->size)
		why |= CAIRN_FILEDIFF_SIZE;
	if (a->mtime_ns != b->mtime_ns)
		why |= CAIRN_FILEDIFF_MTIME;
	if (a->ctime_ns != b->ctime_ns)
		why |= CAIRN_FILEDIFF_CTIME;
	if ((a->target || b->target) && (!a->target || !b->target || strcmp(a->target, b->target)))
		why |= CAIRN_FILEDIFF_TARGET;
	if ((a->type == CAIRN_CAT_CHR || a->type == CAIRN_CAT_BLK) && a->rdev != b->rdev)
		why |= CAIRN_FILEDIFF_RDEV;
	if (a->type == CAIRN_CAT_FILE && (a->inline_data || b->inline_data)) {
		/* Bytes the catalogs hold themselves: compared as they are. */
		if (!a->inline_data || !b->inline_data)
			why |= CAIRN_FILEDIFF_EXTENTS;
		else if (a->inline_len != b->inline_len || memcmp(a->inline_data, b->inline_data, a->inline_len))
			why |= CAIRN_FILEDIFF_CONTENT;
	} else if (a->type == CAIRN_CAT_FILE) {
		if (!same_extents(a, b))
			why |= CAIRN_FILEDIFF_EXTENTS;
		else
			why |= content(d, b);
	}
	return why;
}

static int diff_dir(struct fd *d, const char *path, const struct cairn_cat_entry *da, const struct cairn_cat_entry *db)
{
	struct list la = { 0 }, lb = { 0 };
	int r = children(&d->a, path, da, &la);
	if (r >= 0)
		r = children(&d->b, path, db, &lb);
	size_t i = 0, j = 0;
	while (r >= 0 && (i < la.n || j < lb.n)) {
		int cmp;
		if (i == la.n)
			cmp = 1;
		else if (j == lb.n)
			cmp = -1;
		else
			cmp = strcmp(la.v[i].e.name, lb.v[j].e.name);
		if (cmp < 0) {
			r = whole(d, &d->a, la.v[i].path, CAIRN_FILEDIFF_REMOVED, false);
			i++;
			continue;
		}
		if (cmp > 0) {
			r = whole(d, &d->b, lb.v[j].path, CAIRN_FILEDIFF_ADDED, false);
			j++;
			continue;
		}
		const struct cairn_cat_entry *ea = &la.v[i].e, *eb = &lb.v[j].e;
		const char *p = lb.v[j].path;
		unsigned why = compare(d, ea, eb);
		if (why & CAIRN_FILEDIFF_TYPE) {
			/* One thing replaced by another: what was under the old
			 * is gone, what is under the new is new. */
			r = add(d, CAIRN_FILEDIFF_MODIFIED, p, why, eb->type == CAIRN_CAT_DIR);
			if (r >= 0 && ea->type == CAIRN_CAT_DIR)
				r = whole(d, &d->a, p, CAIRN_FILEDIFF_REMOVED, true);
			if (r >= 0 && eb->type == CAIRN_CAT_DIR)
				r = whole(d, &d->b, p, CAIRN_FILEDIFF_ADDED, true);
		} else {
			unsigned meta = why & ~(CAIRN_FILEDIFF_SHARED);
			if (meta)
				r = add(d, CAIRN_FILEDIFF_MODIFIED, p, why & ~CAIRN_FILEDIFF_SHARED,
					eb->type == CAIRN_CAT_DIR);
			else if (why)
				r = add(d, CAIRN_FILEDIFF_MAYBE, p, why, false);
			if (r >= 0 && ea->type == CAIRN_CAT_DIR) {
				/* The same node id is the same subtree. */
				if (!memcmp(ea->subtree_id, eb->subtree_id, sizeof(ea->subtree_id)) && !d->every_file)
					d->st->dirs_skipped++;
				else
					r = diff_dir(d, p, ea, eb);
			}
		}
		i++;
		j++;
	}
	list_free(&la);
	list_free(&lb);
	return r;
}

static int load_ids(struct cairn_repo *repo, struct cairn_index *idx, struct side *s);

static int by_path(const void *x, const void *y)
{
	return strcmp(((const struct result *)x)->path, ((const struct result *)y)->path);
}

int cairn_filediff_run(struct cairn_repo *repo, const struct cairn_manifest *a, const struct cairn_manifest *b,
		       const char *state_dir, bool every_file, cairn_filediff_fn fn, void *ud,
		       struct cairn_filediff_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (a->chunk_size != b->chunk_size || a->chunk_size != repo->config.chunk_size)
		return cairn_error_set(CAIRN_EINVAL, "backups %s and %s use different chunk sizes", a->idhex, b->idhex);
	_cleanup_(cairn_activity_endp) struct cairn_activity *activity = NULL;
	_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
	int r = cairn_engine_read_begin(repo, "diff", state_dir, &activity, &idx);
	if (r < 0)
		return r;
	struct fd d = { .a = { .m = a }, .b = { .m = b }, .csize = a->chunk_size, .every_file = every_file, .st = ret };
	_cleanup_(cairn_cat_entry_freep) struct cairn_cat_entry *ra = NULL, *rb = NULL;
	if ((r = cairn_catalog_open(repo, idx, a, &d.a.cat)) >= 0 && (r = cairn_catalog_open(repo, idx, b, &d.b.cat)) >= 0 &&
	    (r = load_ids(repo, idx, &d.a)) >= 0 && (r = load_ids(repo, idx, &d.b)) >= 0 &&
	    (r = cairn_catalog_lookup(d.a.cat, "/", &ra)) >= 0 && (r = cairn_catalog_lookup(d.b.cat, "/", &rb)) >= 0) {
		if (!every_file && !cairn_id_is_zero(ra->subtree_id) &&
		    !memcmp(ra->subtree_id, rb->subtree_id, sizeof(ra->subtree_id)))
			ret->dirs_skipped++;
		else
			r = diff_dir(&d, "/", ra, rb);
	}
	if (r >= 0)
		qsort(d.v, d.n, sizeof(*d.v), by_path);
	for (size_t i = 0; r >= 0 && i < d.n; i++)
		r = fn(d.v[i].s, d.v[i].path, d.v[i].reasons, d.v[i].is_dir, ud);
	for (size_t i = 0; i < d.n; i++)
		free(d.v[i].path);
	free(d.v);
	cairn_catalog_free(d.a.cat);
	cairn_catalog_free(d.b.cat);
	cairn_tree_data_free(&d.a.data);
	cairn_tree_data_free(&d.b.data);
	return r;
}

/* The data chunk ids of s's tree (tree nodes only: no data chunk is read;
 * a hole costs nothing). */
static int load_ids(struct cairn_repo *repo, struct cairn_index *idx, struct side *s)
{
	const struct cairn_manifest *m = s->m;
	s->nchunks = (m->size + m->chunk_size - 1) / m->chunk_size;
	struct cairn_blob_codec codec;
	int r = cairn_blob_codec_init(&codec, repo);
	if (r < 0)
		return r;
	struct cairn_tree_src src = { repo, idx, &codec, m->fanout };
	r = cairn_tree_data_load(&src, m->root, m->levels, s->nchunks, &s->data);
	cairn_blob_codec_free(&codec);
	return r < 0 ? cairn_error_prefix(r, "backup %.12s", m->idhex) : 0;
}
