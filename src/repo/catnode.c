/* Catalog node bytes (format.h CATALOG): encoding, and the checks that make
 * a damaged node an error instead of a wrong listing.  Nodes arrive
 * authenticated, but a bug or a key family member could still have
 * written nonsense, and readers (restore-file above all) trust names and
 * extents: every field is checked here, once. */
#include "repo/catnode.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ENTRY_FIXED (2 + 1 + 1 + 2 + 4 * 4 + 8 * 6)

_Static_assert(CAIRN_CAT_INLINE_MAX == CAIRN_CATALOG_INLINE_DATA_MAX, "one bound of inline data");
_Static_assert(CAIRN_CAT_ZEXTENT_MAX == CAIRN_CATALOG_ZEXTENT_MAX, "one bound of compressed extents");

/* ENTRY flags (format.h CATALOG). */
#define FLAG_EXTENT_PARTS 1u
#define FLAG_INLINE_DATA 2u

static int bad(const char *what)
{
	return cairn_error_set(CAIRN_ECORRUPT, "catalog node is damaged: %s", what);
}

int cairn_catnode_put_header(struct cairn_buf *b, enum cairn_catalog_node_kind kind, uint32_t count)
{
	int r = cairn_buf_append(b, CAIRN_CATALOG_MAGIC, 4);
	if (r >= 0)
		r = cairn_buf_append_le32(b, (uint32_t)kind);
	if (r >= 0)
		r = cairn_buf_append_le32(b, count);
	return r;
}

/* EXTENT flags (format.h CATALOG). */
#define EXT_UNWRITTEN 1u
#define EXT_SHARED 2u
#define EXT_COMPRESSED 4u

int cairn_catnode_put_extent(struct cairn_buf *b, const struct cairn_cat_extent *x)
{
	uint8_t raw[CAIRN_CATALOG_ZEXTENT_LEN];
	cairn_put_le64(raw, x->volume_offset);
	cairn_put_le64(raw + 8, x->file_offset);
	cairn_put_le64(raw + 16, x->length);
	raw[24] = (x->unwritten ? EXT_UNWRITTEN : 0) | (x->shared ? EXT_SHARED : 0) |
		  (x->compression ? EXT_COMPRESSED : 0);
	if (!x->compression)
		return cairn_buf_append(b, raw, CAIRN_CATALOG_EXTENT_LEN);
	cairn_put_le64(raw + 25, x->disk_length);
	cairn_put_le64(raw + 33, x->ram_length);
	cairn_put_le64(raw + 41, x->data_offset);
	raw[49] = x->compression;
	return cairn_buf_append(b, raw, CAIRN_CATALOG_ZEXTENT_LEN);
}

static bool name_ok(const char *name, size_t len, bool root)
{
	if (root)
		return len == 0;
	if (len < 1 || len > CAIRN_CATALOG_NAME_MAX || memchr(name, '/', len) || memchr(name, 0, len))
		return false;
	return !(len == 1 && name[0] == '.') && !(len == 2 && name[0] == '.' && name[1] == '.');
}

/* The file type bits st_mode must carry for each type. */
static unsigned mode_type(enum cairn_cat_type t)
{
	switch (t) {
	case CAIRN_CAT_FILE: return S_IFREG;
	case CAIRN_CAT_DIR: return S_IFDIR;
	case CAIRN_CAT_SYMLINK: return S_IFLNK;
	case CAIRN_CAT_CHR: return S_IFCHR;
	case CAIRN_CAT_BLK: return S_IFBLK;
	case CAIRN_CAT_FIFO: return S_IFIFO;
	case CAIRN_CAT_SOCK: return S_IFSOCK;
	}
	return 0;
}

int cairn_catnode_put_entry(struct cairn_buf *b, const struct cairn_cat_entry *e, bool root,
			    const uint8_t *part_ids, uint32_t nparts)
{
	size_t nlen = e->name ? strlen(e->name) : 0;
	if (!name_ok(e->name ? e->name : "", nlen, root))
		return cairn_error_set(CAIRN_EINVAL, "catalog: a file name may not be \"%s\"", e->name ? e->name : "");
	if (e->type < CAIRN_CAT_FILE || e->type > CAIRN_CAT_TYPE_MAX || (e->mode & S_IFMT) != mode_type(e->type))
		return cairn_error_set(CAIRN_EINVAL, "catalog: %s has a mode that is not its type", e->name);
	if (root && e->type != CAIRN_CAT_DIR)
		return cairn_error_set(CAIRN_EINVAL, "catalog: a file system's root is not a directory");
	size_t tlen = e->type == CAIRN_CAT_SYMLINK && e->target ? strlen(e->target) : 0;
	if (e->type == CAIRN_CAT_SYMLINK && (tlen < 1 || tlen > CAIRN_CATALOG_TARGET_MAX))
		return cairn_error_set(CAIRN_EINVAL, "catalog: symlink %s has a target of %zu bytes", e->name, tlen);
	bool in_parts = part_ids != NULL;
	bool inl = e->inline_data != NULL;
	if (e->type == CAIRN_CAT_FILE && !in_parts && e->nextents > CAIRN_CATALOG_INLINE_EXTENTS)
		return cairn_error_set(CAIRN_EINVAL, "catalog: %s has too many extents to hold inline", e->name);
	if (inl && (e->type != CAIRN_CAT_FILE || in_parts || e->nextents || e->inline_len < 1 ||
		    e->inline_len > CAIRN_CATALOG_INLINE_DATA_MAX || e->inline_len > e->size))
		return cairn_error_set(CAIRN_EINVAL, "catalog: %s cannot hold %zu bytes of data inline", e->name,
				       e->inline_len);
	if (e->nextents > UINT32_MAX)
		return cairn_error_set(CAIRN_EINVAL, "catalog: %s has too many extents", e->name);
	int r = cairn_buf_reserve(b, ENTRY_FIXED + nlen + 2 + tlen + 8 + CAIRN_ID_LEN + (inl ? e->inline_len : 0));
	if (r < 0)
		return r;
	cairn_buf_append_le16(b, (uint16_t)nlen);
	cairn_buf_append(b, e->name, nlen);
	cairn_buf_append_u8(b, (uint8_t)e->type);
	cairn_buf_append_u8(b, e->type != CAIRN_CAT_FILE ? 0 : in_parts ? FLAG_EXTENT_PARTS : inl ? FLAG_INLINE_DATA : 0);
	cairn_buf_append_le16(b, 0);
	cairn_buf_append_le32(b, e->mode);
	cairn_buf_append_le32(b, e->uid);
	cairn_buf_append_le32(b, e->gid);
	cairn_buf_append_le32(b, e->nlink);
	cairn_buf_append_le64(b, e->size);
	cairn_buf_append_le64(b, e->inode);
	cairn_buf_append_le64(b, e->rdev);
	cairn_buf_append_le64(b, (uint64_t)e->atime_ns);
	cairn_buf_append_le64(b, (uint64_t)e->mtime_ns);
	if ((r = cairn_buf_append_le64(b, (uint64_t)e->ctime_ns)) < 0)
		return r;
	switch (e->type) {
	case CAIRN_CAT_DIR:
		return cairn_buf_append(b, e->subtree_id, CAIRN_ID_LEN);
	case CAIRN_CAT_SYMLINK:
		cairn_buf_append_le16(b, (uint16_t)tlen);
		return cairn_buf_append(b, e->target, tlen);
	case CAIRN_CAT_FILE:
		if ((r = cairn_buf_append_le32(b, (uint32_t)e->nextents)) < 0)
			return r;
		if (inl) {
			cairn_buf_append_le16(b, (uint16_t)e->inline_len);
			return cairn_buf_append(b, e->inline_data, e->inline_len);
		}
		if (in_parts) {
			if ((r = cairn_buf_append_le32(b, nparts)) < 0)
				return r;
			return cairn_buf_append(b, part_ids, (size_t)nparts * CAIRN_ID_LEN);
		}
		for (size_t i = 0; i < e->nextents; i++)
			if ((r = cairn_catnode_put_extent(b, &e->extents[i])) < 0)
				return r;
		return 0;
	default:
		return 0;
	}
}

int cairn_catnode_open(const uint8_t *data, size_t len, enum cairn_catalog_node_kind *ret_kind,
		       uint32_t *ret_count, struct cairn_reader *rd)
{
	if (len < CAIRN_CATALOG_HEADER_LEN || len > CAIRN_CATALOG_NODE_MAX || memcmp(data, CAIRN_CATALOG_MAGIC, 4))
		return bad("no catalog node header");
	uint32_t kind = cairn_le32(data + 4);
	if (kind > CAIRN_CATNODE_VOLUME)
		return bad("unknown kind");
	*ret_kind = (enum cairn_catalog_node_kind)kind;
	*ret_count = cairn_le32(data + 8);
	cairn_reader_init(rd, data + CAIRN_CATALOG_HEADER_LEN, len - CAIRN_CATALOG_HEADER_LEN);
	return 0;
}

int cairn_catnode_get_extent(struct cairn_reader *rd, const struct cairn_cat_extent *prev,
			     struct cairn_cat_extent *ret)
{
	memset(ret, 0, sizeof(*ret));
	const uint8_t *raw = cairn_reader_bytes(rd, CAIRN_CATALOG_EXTENT_LEN);
	if (!raw)
		return bad("truncated extents");
	ret->volume_offset = cairn_le64(raw);
	ret->file_offset = cairn_le64(raw + 8);
	ret->length = cairn_le64(raw + 16);
	uint8_t flags = raw[24];
	if (flags & ~(EXT_UNWRITTEN | EXT_SHARED | EXT_COMPRESSED) ||
	    (flags & (EXT_UNWRITTEN | EXT_COMPRESSED)) == (EXT_UNWRITTEN | EXT_COMPRESSED))
		return bad("extent flags");
	ret->unwritten = flags & EXT_UNWRITTEN;
	ret->shared = (flags & EXT_SHARED) != 0;
	const uint64_t lim = UINT64_C(1) << 63;
	if (ret->length == 0 || ret->length > lim || ret->file_offset > lim - ret->length)
		return bad("extent out of range");
	if (flags & EXT_COMPRESSED) {
		const uint8_t *z = cairn_reader_bytes(rd, CAIRN_CATALOG_ZEXTENT_LEN - CAIRN_CATALOG_EXTENT_LEN);
		if (!z)
			return bad("truncated extents");
		ret->disk_length = cairn_le64(z);
		ret->ram_length = cairn_le64(z + 8);
		ret->data_offset = cairn_le64(z + 16);
		ret->compression = z[24];
		/* Bounded, so that a reader may hold one whole in memory. */
		if (ret->compression < CAIRN_CAT_ZLIB || ret->compression > CAIRN_CAT_COMPRESSION_MAX)
			return bad("unknown extent compression");
		if (ret->disk_length == 0 || ret->disk_length > CAIRN_CATALOG_ZEXTENT_MAX || ret->ram_length == 0 ||
		    ret->ram_length > CAIRN_CATALOG_ZEXTENT_MAX || ret->data_offset > ret->ram_length ||
		    ret->length > ret->ram_length - ret->data_offset)
			return bad("compressed extent out of range");
	}
	if (ret->volume_offset > lim - cairn_cat_extent_disk_len(ret))
		return bad("extent out of range");
	if (prev && ret->file_offset < prev->file_offset + prev->length)
		return bad("extents out of order");
	return 0;
}

int cairn_catnode_get_entry(struct cairn_reader *rd, bool root, struct cairn_catnode_entry *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct cairn_cat_entry *e = &ret->e;
	ret->name_len = cairn_reader_le16(rd);
	ret->name = cairn_reader_bytes(rd, ret->name_len);
	if (rd->bad)
		return bad("truncated entry");
	if (!name_ok((const char *)ret->name, ret->name_len, root))
		return bad("a file name is empty, too long, \".\", \"..\" or holds '/' or NUL");
	const uint8_t *p = cairn_reader_bytes(rd, ENTRY_FIXED - 2);
	if (!p)
		return bad("truncated entry");
	uint8_t type = p[0], flags = p[1];
	if (type < CAIRN_CAT_FILE || type > CAIRN_CAT_TYPE_MAX)
		return bad("unknown file type");
	e->type = (enum cairn_cat_type)type;
	if (flags & ~(FLAG_EXTENT_PARTS | FLAG_INLINE_DATA) || (flags && e->type != CAIRN_CAT_FILE) ||
	    flags == (FLAG_EXTENT_PARTS | FLAG_INLINE_DATA) || cairn_le16(p + 2))
		return bad("entry flags");
	e->mode = cairn_le32(p + 4);
	e->uid = cairn_le32(p + 8);
	e->gid = cairn_le32(p + 12);
	e->nlink = cairn_le32(p + 16);
	e->size = cairn_le64(p + 20);
	e->inode = cairn_le64(p + 28);
	e->rdev = cairn_le64(p + 36);
	e->atime_ns = (int64_t)cairn_le64(p + 44);
	e->mtime_ns = (int64_t)cairn_le64(p + 52);
	e->ctime_ns = (int64_t)cairn_le64(p + 60);
	if ((e->mode & S_IFMT) != mode_type(e->type))
		return bad("mode does not match the file type");
	if (root && e->type != CAIRN_CAT_DIR)
		return bad("a file system's root is not a directory");
	switch (e->type) {
	case CAIRN_CAT_DIR:
		p = cairn_reader_bytes(rd, CAIRN_ID_LEN);
		if (p)
			memcpy(e->subtree_id, p, CAIRN_ID_LEN);
		ret->subtree_at = p;
		break;
	case CAIRN_CAT_SYMLINK:
		ret->target_len = cairn_reader_le16(rd);
		ret->target = cairn_reader_bytes(rd, ret->target_len);
		if (!rd->bad && (ret->target_len < 1 || ret->target_len > CAIRN_CATALOG_TARGET_MAX ||
				 memchr(ret->target, 0, ret->target_len)))
			return bad("symlink target");
		break;
	case CAIRN_CAT_FILE:
		e->nextents = cairn_reader_le32(rd);
		if (flags & FLAG_INLINE_DATA) {
			/* The bytes themselves, in place of any extent. */
			if (!rd->bad && e->nextents)
				return bad("a file with inline data and extents");
			e->inline_len = cairn_reader_le16(rd);
			if (!rd->bad && (e->inline_len < 1 || e->inline_len > CAIRN_CATALOG_INLINE_DATA_MAX ||
					 e->inline_len > e->size))
				return bad("inline data length");
			e->inline_data = cairn_reader_bytes(rd, e->inline_len);
		} else if (flags & FLAG_EXTENT_PARTS) {
			ret->nparts = cairn_reader_le32(rd);
			if (!rd->bad && (ret->nparts < 1 || ret->nparts > CAIRN_CATALOG_EXTENT_PARTS_MAX ||
					 e->nextents <= CAIRN_CATALOG_INLINE_EXTENTS ||
					 e->nextents > (uint64_t)ret->nparts * CAIRN_CATALOG_EXTENTS_NODE_MAX))
				return bad("extent parts");
			ret->part_ids = cairn_reader_bytes(rd, (size_t)ret->nparts * CAIRN_ID_LEN);
		} else {
			if (!rd->bad && e->nextents > CAIRN_CATALOG_INLINE_EXTENTS)
				return bad("too many inline extents");
			ret->inline_ext = rd->p;
			struct cairn_cat_extent prev, x;
			for (size_t i = 0; !rd->bad && i < e->nextents; i++) {
				int r = cairn_catnode_get_extent(rd, i ? &prev : NULL, &x);
				if (r < 0)
					return r;
				prev = x;
			}
			ret->inline_ext_len = rd->bad ? 0 : (size_t)(rd->p - ret->inline_ext);
		}
		break;
	default:
		break;
	}
	if (rd->bad)
		return bad("truncated entry");
	return 0;
}

int cairn_catnode_get_fs(struct cairn_reader *rd, struct cairn_catnode_fs *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->name_len = cairn_reader_u8(rd);
	ret->name = cairn_reader_bytes(rd, ret->name_len);
	ret->type_len = cairn_reader_u8(rd);
	ret->type = cairn_reader_bytes(rd, ret->type_len);
	ret->offset = cairn_reader_le64(rd);
	ret->size = cairn_reader_le64(rd);
	uint8_t has_root = cairn_reader_u8(rd);
	if (rd->bad)
		return bad("truncated file system record");
	if (ret->name_len > 15 || ret->type_len > 31 || has_root > 1)
		return bad("file system record");
	/* Names become paths ("/p2/..."): letters and digits only. */
	for (size_t i = 0; i < ret->name_len; i++)
		if (!((ret->name[i] >= 'a' && ret->name[i] <= 'z') || (ret->name[i] >= '0' && ret->name[i] <= '9')))
			return bad("file system name");
	for (size_t i = 0; i < ret->type_len; i++)
		if (ret->type[i] < 0x21 || ret->type[i] > 0x7e)
			return bad("file system type");
	ret->has_root = has_root;
	if (has_root)
		return cairn_catnode_get_entry(rd, true, &ret->root);
	ret->reason_len = cairn_reader_le16(rd);
	ret->reason = cairn_reader_bytes(rd, ret->reason_len);
	if (rd->bad || ret->reason_len < 1 || ret->reason_len > CAIRN_CATALOG_REASON_MAX ||
	    memchr(ret->reason, 0, ret->reason_len))
		return bad("file system reason");
	return 0;
}

uint32_t cairn_catnode_name_hash(const uint8_t *name, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= name[i];
		h *= 16777619u;
	}
	return h;
}

/* Byte order of names, shorter first on a common prefix (memcmp, then length). */
static int name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	return c ? c : (alen > blen) - (alen < blen);
}

int cairn_catalog_node_parse(const uint8_t *data, size_t len, enum cairn_catalog_node_kind *ret_kind,
			     int (*entry_fn)(const struct cairn_cat_entry *e, void *ud),
			     int (*id_fn)(const uint8_t id[CAIRN_ID_LEN], void *ud), void *ud)
{
	enum cairn_catalog_node_kind kind;
	uint32_t count;
	struct cairn_reader rd;
	int r = cairn_catnode_open(data, len, &kind, &count, &rd);
	if (r < 0)
		return r;
	*ret_kind = kind;
	char name[CAIRN_CATALOG_NAME_MAX + 1], target[CAIRN_CATALOG_TARGET_MAX + 1];
	struct cairn_cat_extent ext[CAIRN_CATALOG_INLINE_EXTENTS];
	const uint8_t *prev_name = NULL;
	size_t prev_len = 0;
	const uint8_t *seen[CAIRN_CATALOG_FS_MAX];
	size_t seen_len[CAIRN_CATALOG_FS_MAX];
	switch (kind) {
	case CAIRN_CATNODE_DIR:
	case CAIRN_CATNODE_VOLUME:
		if (kind == CAIRN_CATNODE_VOLUME && count > CAIRN_CATALOG_FS_MAX)
			return bad("too many file systems");
		for (uint32_t i = 0; i < count; i++) {
			struct cairn_catnode_fs fs;
			struct cairn_catnode_entry ce;
			if (kind == CAIRN_CATNODE_VOLUME) {
				if ((r = cairn_catnode_get_fs(&rd, &fs)) < 0)
					return r;
				if (fs.name_len == 0 && count != 1)
					return bad("a whole-volume file system beside others");
				for (uint32_t k = 0; k < i; k++)
					if (seen_len[k] == fs.name_len && !memcmp(seen[k], fs.name, fs.name_len))
						return bad("two file systems of one name");
				seen[i] = fs.name;
				seen_len[i] = fs.name_len;
				if (!fs.has_root)
					continue;
				ce = fs.root;
			} else {
				if ((r = cairn_catnode_get_entry(&rd, false, &ce)) < 0)
					return r;
				if (i && name_cmp(prev_name, prev_len, ce.name, ce.name_len) >= 0)
					return bad("names out of order");
				prev_name = ce.name;
				prev_len = ce.name_len;
			}
			if (ce.e.type == CAIRN_CAT_DIR && id_fn && !cairn_id_is_zero(ce.e.subtree_id) &&
			    (r = id_fn(ce.subtree_at, ud)) < 0)
				return r;
			for (uint32_t k = 0; id_fn && k < ce.nparts; k++)
				if ((r = id_fn(ce.part_ids + (size_t)k * CAIRN_ID_LEN, ud)) < 0)
					return r;
			if (!entry_fn)
				continue;
			memcpy(name, ce.name, ce.name_len);
			name[ce.name_len] = 0;
			ce.e.name = name;
			if (ce.target) {
				memcpy(target, ce.target, ce.target_len);
				target[ce.target_len] = 0;
				ce.e.target = target;
			}
			if (ce.inline_ext) {
				struct cairn_reader xr;
				cairn_reader_init(&xr, ce.inline_ext, ce.inline_ext_len);
				for (size_t k = 0; k < ce.e.nextents; k++)
					cairn_catnode_get_extent(&xr, k ? &ext[k - 1] : NULL, &ext[k]);
				ce.e.extents = ext;
			}
			if ((r = entry_fn(&ce.e, ud)) < 0)
				return r;
		}
		break;
	case CAIRN_CATNODE_PARTS:
		if (count < 2 || count > CAIRN_CATALOG_PARTS_MAX)
			return bad("part count");
		for (uint32_t i = 0; i < count; i++) {
			const uint8_t *id = cairn_reader_bytes(&rd, CAIRN_ID_LEN);
			if (!id)
				return bad("truncated parts");
			if (cairn_id_is_zero(id))
				return bad("a part with the zero id");
			if (id_fn && (r = id_fn(id, ud)) < 0)
				return r;
		}
		break;
	case CAIRN_CATNODE_EXTENTS: {
		if (count < 1 || count > CAIRN_CATALOG_EXTENTS_NODE_MAX)
			return bad("extent count");
		struct cairn_cat_extent prev, x;
		for (uint32_t i = 0; i < count; i++) {
			if ((r = cairn_catnode_get_extent(&rd, i ? &prev : NULL, &x)) < 0)
				return r;
			prev = x;
		}
		break;
	}
	}
	if (rd.left)
		return bad("bytes after the last record");
	return 0;
}

struct kids {
	struct cairn_buf ids;
};

static int take_kid(const uint8_t id[CAIRN_ID_LEN], void *ud)
{
	struct kids *k = ud;
	return cairn_buf_append(&k->ids, id, CAIRN_ID_LEN);
}

int cairn_catalog_node_children(const uint8_t *data, size_t len, uint8_t **ret_ids, size_t *ret_n)
{
	struct kids k = { CAIRN_BUF_INIT };
	enum cairn_catalog_node_kind kind;
	int r = cairn_catalog_node_parse(data, len, &kind, NULL, take_kid, &k);
	if (r < 0) {
		cairn_buf_free(&k.ids);
		return r;
	}
	*ret_n = k.ids.len / CAIRN_ID_LEN;
	size_t n;
	*ret_ids = k.ids.data ? cairn_buf_steal(&k.ids, &n) : NULL;
	return 0;
}
