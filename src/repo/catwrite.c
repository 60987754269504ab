/* Writing a volume's catalog (format.h CATALOG) in one pass over its file
 * systems: each directory's entries are gathered while it is open, sorted
 * when it closes, cut into DIR nodes at name-hash boundaries and emitted;
 * the directory above gets the id.  Only the open directories are in
 * memory. */
#include "repo/catalog.h"
#include "repo/catnode.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

/* A DIR node is cut after an entry whose name hashes to 0 modulo this... */
#define CUT_MODULUS 256
/* ...once it holds this many entries. */
#define CUT_MIN_ENTRIES 32

struct pending {
	size_t off, len; /* the encoded ENTRY in the frame's data */
};

struct frame {
	struct cairn_buf data;
	struct pending *v;
	size_t n, cap;
};

struct cairn_catalog_writer {
	struct cairn_hasher *hasher; /* borrowed */
	cairn_catalog_emit_fn emit;
	void *ud;
	struct frame *frames;
	size_t depth, cap;
	struct cairn_buf node;  /* the node being emitted */
	struct cairn_buf parts; /* part ids of the directory being closed */
	struct cairn_buf vol;   /* VOLUME body: the file system records */
	uint32_t nfs, nroots;
	bool in_fs;
	char fs_name[16], fs_type[32];
	uint64_t fs_offset, fs_size;
	char reasons[CAIRN_CATALOG_REASON_MAX];
};

int cairn_catalog_writer_new(struct cairn_hasher *hasher, cairn_catalog_emit_fn emit, void *ud,
			     struct cairn_catalog_writer **ret)
{
	struct cairn_catalog_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return cairn_error_nomem();
	w->hasher = hasher;
	w->emit = emit;
	w->ud = ud;
	*ret = w;
	return 0;
}

static void frame_clear(struct frame *f)
{
	cairn_buf_free(&f->data);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

void cairn_catalog_writer_free(struct cairn_catalog_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->cap; i++)
		frame_clear(&w->frames[i]);
	free(w->frames);
	cairn_buf_free(&w->node);
	cairn_buf_free(&w->parts);
	cairn_buf_free(&w->vol);
	free(w);
}

static int emit(struct cairn_catalog_writer *w, const struct cairn_buf *node, uint8_t id[CAIRN_ID_LEN])
{
	int r = cairn_hasher_id(w->hasher, node->data, node->len, id);
	if (r < 0)
		return r;
	return w->emit(id, node->data, node->len, w->ud);
}

int cairn_catalog_fs_begin(struct cairn_catalog_writer *w, const char *name, uint64_t offset, uint64_t size,
			   const char *fs_type)
{
	if (w->in_fs || strlen(name) >= sizeof(w->fs_name) || strlen(fs_type ? fs_type : "") >= sizeof(w->fs_type) ||
	    w->nfs >= CAIRN_CATALOG_FS_MAX)
		return cairn_error_set(CAIRN_EINVAL, "catalog: file system \"%s\" cannot be recorded", name);
	snprintf(w->fs_name, sizeof(w->fs_name), "%s", name);
	snprintf(w->fs_type, sizeof(w->fs_type), "%s", fs_type ? fs_type : "");
	w->fs_offset = offset;
	w->fs_size = size;
	w->in_fs = true;
	return 0;
}

static int put_fs_head(struct cairn_catalog_writer *w, bool has_root)
{
	cairn_buf_append_u8(&w->vol, (uint8_t)strlen(w->fs_name));
	cairn_buf_append(&w->vol, w->fs_name, strlen(w->fs_name));
	cairn_buf_append_u8(&w->vol, (uint8_t)strlen(w->fs_type));
	cairn_buf_append(&w->vol, w->fs_type, strlen(w->fs_type));
	cairn_buf_append_le64(&w->vol, w->fs_offset);
	cairn_buf_append_le64(&w->vol, w->fs_size);
	return cairn_buf_append_u8(&w->vol, has_root ? 1 : 0);
}

int cairn_catalog_fs_end(struct cairn_catalog_writer *w, const struct cairn_cat_entry *root)
{
	if (!w->in_fs || w->depth)
		return cairn_error_set(CAIRN_EINVAL, "catalog: a file system ended with directories open");
	struct cairn_cat_entry e = *root;
	e.name = "";
	size_t at = w->vol.len;
	int r = put_fs_head(w, true);
	if (r >= 0)
		r = cairn_catnode_put_entry(&w->vol, &e, true, NULL, 0);
	if (r < 0) {
		w->vol.len = at; /* the file system may still be skipped */
		return r;
	}
	w->in_fs = false;
	w->nfs++;
	w->nroots++;
	return 0;
}

int cairn_catalog_fs_skip(struct cairn_catalog_writer *w, const char *reason)
{
	if (!w->in_fs)
		return cairn_error_set(CAIRN_EINVAL, "catalog: no file system to skip");
	w->depth = 0; /* what was emitted of it stays unreferenced: prune's */
	char why[CAIRN_CATALOG_REASON_MAX + 1];
	snprintf(why, sizeof(why), "%s", reason && *reason ? reason : "no catalog");
	size_t len = strlen(why);
	int r = put_fs_head(w, false);
	if (r >= 0)
		cairn_buf_append_le16(&w->vol, (uint16_t)len);
	if (r >= 0)
		r = cairn_buf_append(&w->vol, why, len);
	if (r < 0)
		return r;
	size_t at = strlen(w->reasons);
	snprintf(w->reasons + at, sizeof(w->reasons) - at, "%s%s%s%s", at ? "; " : "", w->fs_name,
		 *w->fs_name ? ": " : "", why);
	w->in_fs = false;
	w->nfs++;
	return 0;
}

int cairn_catalog_dir_begin(struct cairn_catalog_writer *w)
{
	if (!w->in_fs)
		return cairn_error_set(CAIRN_EINVAL, "catalog: a directory outside a file system");
	if (w->depth == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct frame *f = realloc(w->frames, cap * sizeof(*f));
		if (!f)
			return cairn_error_nomem();
		memset(f + w->cap, 0, (cap - w->cap) * sizeof(*f));
		w->frames = f;
		w->cap = cap;
	}
	struct frame *f = &w->frames[w->depth++];
	cairn_buf_clear(&f->data);
	f->n = 0;
	return 0;
}

/* A file's extents beyond what goes inline, as EXTENTS nodes; their ids
 * are appended to ids. */
static int emit_extents(struct cairn_catalog_writer *w, const struct cairn_cat_entry *e, struct cairn_buf *ids,
			uint32_t *ret_n)
{
	size_t per = CAIRN_CATALOG_EXTENTS_NODE_MAX;
	size_t nodes = (e->nextents + per - 1) / per;
	if (nodes > CAIRN_CATALOG_EXTENT_PARTS_MAX)
		return cairn_error_set(CAIRN_EINVAL, "catalog: %s has %zu extents, more than a catalog holds", e->name,
				       e->nextents);
	for (size_t k = 0; k < nodes; k++) {
		size_t first = k * per, n = e->nextents - first < per ? e->nextents - first : per;
		cairn_buf_clear(&w->node);
		int r = cairn_catnode_put_header(&w->node, CAIRN_CATNODE_EXTENTS, (uint32_t)n);
		for (size_t i = 0; r >= 0 && i < n; i++)
			r = cairn_catnode_put_extent(&w->node, &e->extents[first + i]);
		uint8_t id[CAIRN_ID_LEN];
		if (r >= 0)
			r = emit(w, &w->node, id);
		if (r >= 0)
			r = cairn_buf_append(ids, id, sizeof(id));
		if (r < 0)
			return r;
	}
	*ret_n = (uint32_t)nodes;
	return 0;
}

int cairn_catalog_add(struct cairn_catalog_writer *w, const struct cairn_cat_entry *e)
{
	if (!w->depth)
		return cairn_error_set(CAIRN_EINVAL, "catalog: an entry outside a directory");
	struct frame *f = &w->frames[w->depth - 1];
	int r = cairn_array_grow(&f->v, &f->cap, f->n, sizeof(*f->v), 64);
	if (r < 0)
		return r;
	size_t off = f->data.len;
	if (e->type == CAIRN_CAT_FILE && e->nextents > CAIRN_CATALOG_INLINE_EXTENTS) {
		_cleanup_(cairn_buf_freep) struct cairn_buf ids = CAIRN_BUF_INIT;
		uint32_t n = 0;
		if ((r = emit_extents(w, e, &ids, &n)) < 0)
			return r;
		r = cairn_catnode_put_entry(&f->data, e, false, ids.data, n);
	} else {
		r = cairn_catnode_put_entry(&f->data, e, false, NULL, 0);
	}
	if (r < 0) {
		f->data.len = off;
		return r;
	}
	f->v[f->n++] = (struct pending){ off, f->data.len - off };
	return 0;
}

/* An encoded ENTRY starts with name_len u16 and the name. */
static int pending_cmp(const void *a, const void *b, void *ud)
{
	const uint8_t *base = ud;
	const struct pending *x = a, *y = b;
	size_t xl = cairn_le16(base + x->off), yl = cairn_le16(base + y->off);
	int c = memcmp(base + x->off + 2, base + y->off + 2, xl < yl ? xl : yl);
	return c ? c : (xl > yl) - (xl < yl);
}

int cairn_catalog_dir_end(struct cairn_catalog_writer *w, uint8_t ret_id[CAIRN_ID_LEN])
{
	if (!w->depth)
		return cairn_error_set(CAIRN_EINVAL, "catalog: no directory to end");
	struct frame *f = &w->frames[w->depth - 1];
	memset(ret_id, 0, CAIRN_ID_LEN);
	if (!f->n) {
		w->depth--;
		return 0; /* empty: the zero id, no node */
	}
	qsort_r(f->v, f->n, sizeof(*f->v), pending_cmp, f->data.data);
	for (size_t i = 1; i < f->n; i++)
		if (pending_cmp(&f->v[i - 1], &f->v[i], f->data.data) == 0)
			return cairn_error_set(CAIRN_EINVAL, "catalog: a directory holds two entries named %.*s",
					       (int)cairn_le16(f->data.data + f->v[i].off),
					       (const char *)f->data.data + f->v[i].off + 2);
	cairn_buf_clear(&w->parts);
	uint8_t id[CAIRN_ID_LEN];
	int r = 0;
	size_t start = 0;
	while (start < f->n && r >= 0) {
		size_t end = start, bytes = CAIRN_CATALOG_HEADER_LEN;
		while (end < f->n) {
			const struct pending *p = &f->v[end];
			if (end > start && bytes + p->len > CAIRN_CATALOG_PART_MAX)
				break;
			bytes += p->len;
			end++;
			const uint8_t *e = f->data.data + p->off;
			if (end - start >= CUT_MIN_ENTRIES && cairn_catnode_name_hash(e + 2, cairn_le16(e)) % CUT_MODULUS == 0)
				break;
		}
		cairn_buf_clear(&w->node);
		r = cairn_buf_reserve(&w->node, bytes);
		if (r >= 0)
			r = cairn_catnode_put_header(&w->node, CAIRN_CATNODE_DIR, (uint32_t)(end - start));
		for (size_t i = start; r >= 0 && i < end; i++)
			r = cairn_buf_append(&w->node, f->data.data + f->v[i].off, f->v[i].len);
		if (r >= 0)
			r = emit(w, &w->node, id);
		if (r >= 0)
			r = cairn_buf_append(&w->parts, id, sizeof(id));
		start = end;
	}
	if (r < 0)
		return r;
	size_t nparts = w->parts.len / CAIRN_ID_LEN;
	if (nparts == 1) {
		memcpy(ret_id, id, CAIRN_ID_LEN);
	} else if (nparts > CAIRN_CATALOG_PARTS_MAX) {
		return cairn_error_set(CAIRN_EINVAL, "catalog: a directory of %zu entries is too large", f->n);
	} else {
		cairn_buf_clear(&w->node);
		r = cairn_catnode_put_header(&w->node, CAIRN_CATNODE_PARTS, (uint32_t)nparts);
		if (r >= 0)
			r = cairn_buf_append(&w->node, w->parts.data, w->parts.len);
		if (r >= 0)
			r = emit(w, &w->node, ret_id);
		if (r < 0)
			return r;
	}
	w->depth--;
	return 0;
}

int cairn_catalog_writer_finish(struct cairn_catalog_writer *w, uint8_t ret_root[CAIRN_ID_LEN])
{
	if (w->in_fs)
		return cairn_error_set(CAIRN_EINVAL, "catalog: a file system was not ended");
	if (!w->nroots)
		return cairn_error_set(CAIRN_ENOTFOUND, "%s", w->nfs ? w->reasons : "no file system found");
	cairn_buf_clear(&w->node);
	int r = cairn_catnode_put_header(&w->node, CAIRN_CATNODE_VOLUME, w->nfs);
	if (r >= 0)
		r = cairn_buf_append(&w->node, w->vol.data, w->vol.len);
	if (r >= 0)
		r = emit(w, &w->node, ret_root);
	return r;
}
