/* repo/catalog: the catalog node codec (format.h CATALOG) through the
 * writer and the parser: round trips, large directories cut into parts,
 * files with many extents, and the damage the parser must refuse. */
#include "helpers.h"

#include "repo/catalog.h"
#include "repo/catnode.h"
#include "util/cleanup.h"

#include <sys/stat.h>

/* Nodes the writer emitted, in order. */
struct emitted {
	uint8_t ids[4096][CAIRN_ID_LEN];
	uint8_t *data[4096];
	size_t len[4096];
	size_t n;
};

static int keep(const uint8_t id[CAIRN_ID_LEN], const uint8_t *node, size_t len, void *ud)
{
	struct emitted *e = ud;
	assert_true(e->n < 4096);
	memcpy(e->ids[e->n], id, CAIRN_ID_LEN);
	e->data[e->n] = malloc(len);
	memcpy(e->data[e->n], node, len);
	e->len[e->n++] = len;
	return 0;
}

static void emitted_free(struct emitted *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->data[i]);
	free(e);
}

static const struct cairn_cat_extent ext2[] = { { 4096, 0, 8192, false }, { 1 << 20, 65536, 4096, true } };

static struct cairn_cat_entry file(const char *name)
{
	return (struct cairn_cat_entry){ .name = name, .type = CAIRN_CAT_FILE, .mode = S_IFREG | 0640, .uid = 1000,
					 .gid = 100, .size = 70000, .atime_ns = 1, .mtime_ns = -1500000000,
					 .ctime_ns = 3, .nlink = 2, .inode = 12, .extents = ext2, .nextents = 2 };
}

static struct cairn_hasher *hasher(void)
{
	uint8_t key[CAIRN_KEY_LEN] = { 1, 2, 3 };
	struct cairn_hasher *h = NULL;
	assert_int_equal(cairn_hasher_new(key, &h), 0);
	return h;
}

struct seen {
	char names[64][300];
	struct cairn_cat_entry e[64];
	size_t n, ids;
};

static int see(const struct cairn_cat_entry *e, void *ud)
{
	struct seen *s = ud;
	if (s->n < 64) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", e->name);
		s->e[s->n] = *e;
	}
	s->n++;
	return 0;
}

static int see_id(const uint8_t id[CAIRN_ID_LEN], void *ud)
{
	(void)id;
	((struct seen *)ud)->ids++;
	return 0;
}

/* Adds a file "big" with n extents x to w's open root directory and
 * closes the directory and the file system. */
static void add_big_and_close(struct cairn_catalog_writer *w, const struct cairn_cat_extent *x, size_t n)
{
	struct cairn_cat_entry big = file("big");
	big.extents = x;
	big.nextents = n;
	assert_int_equal(cairn_catalog_add(w, &big), 0);
	struct cairn_cat_entry root = { .type = CAIRN_CAT_DIR, .mode = S_IFDIR | 0755, .nlink = 2, .inode = 2 };
	assert_int_equal(cairn_catalog_dir_end(w, root.subtree_id), 0);
	assert_int_equal(cairn_catalog_fs_end(w, &root), 0);
}

/* One file system with a directory, a file, a symlink and a device; the
 * entries come out sorted, every field as it went in. */
static void test_round_trip(void **state)
{
	(void)state;
	struct emitted *em = calloc(1, sizeof(*em));
	_cleanup_(cairn_catalog_writer_freep) struct cairn_catalog_writer *w = NULL;
	struct cairn_hasher *h = hasher();
	assert_int_equal(cairn_catalog_writer_new(h, keep, em, &w), 0);
	assert_int_equal(cairn_catalog_fs_begin(w, "", 0, 1 << 30, "ext4"), 0);
	assert_int_equal(cairn_catalog_dir_begin(w), 0);
	struct cairn_cat_entry f = file("z file\nwith newline");
	assert_int_equal(cairn_catalog_add(w, &f), 0);
	struct cairn_cat_entry l = { .name = "ünïcode link", .type = CAIRN_CAT_SYMLINK, .mode = S_IFLNK | 0777,
				     .target = "../x", .size = 4, .nlink = 1 };
	assert_int_equal(cairn_catalog_add(w, &l), 0);
	struct cairn_cat_entry d = { .name = "dev", .type = CAIRN_CAT_CHR, .mode = S_IFCHR | 0600, .rdev = 0x103 };
	assert_int_equal(cairn_catalog_add(w, &d), 0);
	assert_int_equal(cairn_catalog_dir_begin(w), 0); /* an empty subdirectory */
	struct cairn_cat_entry sub = { .name = "a dir", .type = CAIRN_CAT_DIR, .mode = S_IFDIR | 0755, .nlink = 2 };
	assert_int_equal(cairn_catalog_dir_end(w, sub.subtree_id), 0);
	uint8_t zero[CAIRN_ID_LEN] = { 0 };
	assert_memory_equal(sub.subtree_id, zero, CAIRN_ID_LEN);
	assert_int_equal(cairn_catalog_add(w, &sub), 0);
	struct cairn_cat_entry root = { .type = CAIRN_CAT_DIR, .mode = S_IFDIR | 0755, .nlink = 3, .inode = 2 };
	assert_int_equal(cairn_catalog_dir_end(w, root.subtree_id), 0);
	assert_int_equal(cairn_catalog_fs_end(w, &root), 0);
	uint8_t top[CAIRN_ID_LEN];
	assert_int_equal(cairn_catalog_writer_finish(w, top), 0);
	assert_int_equal(em->n, 2); /* the root directory and the volume */
	assert_memory_equal(em->ids[1], top, CAIRN_ID_LEN);

	struct seen s = { 0 };
	enum cairn_catalog_node_kind kind;
	assert_int_equal(cairn_catalog_node_parse(em->data[0], em->len[0], &kind, see, see_id, &s), 0);
	assert_int_equal(kind, CAIRN_CATNODE_DIR);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.names[0], "a dir");
	assert_string_equal(s.names[1], "dev");
	assert_string_equal(s.names[2], "z file\nwith newline");
	assert_string_equal(s.names[3], "ünïcode link");
	assert_int_equal(s.e[1].rdev, 0x103);
	assert_int_equal(s.e[2].mtime_ns, -1500000000);
	assert_int_equal(s.e[2].uid, 1000);
	assert_int_equal(s.e[2].nextents, 2);
	assert_int_equal(s.ids, 0); /* the empty directory has the zero id */
	memset(&s, 0, sizeof(s));
	assert_int_equal(cairn_catalog_node_parse(em->data[1], em->len[1], &kind, see, see_id, &s), 0);
	assert_int_equal(kind, CAIRN_CATNODE_VOLUME);
	assert_int_equal(s.ids, 1);

	/* The same input gives the same ids: dedup across backups. */
	struct emitted *em2 = calloc(1, sizeof(*em2));
	struct cairn_catalog_writer *w2 = NULL;
	assert_int_equal(cairn_catalog_writer_new(h, keep, em2, &w2), 0);
	assert_int_equal(cairn_catalog_fs_begin(w2, "", 0, 1 << 30, "ext4"), 0);
	assert_int_equal(cairn_catalog_dir_begin(w2), 0);
	assert_int_equal(cairn_catalog_add(w2, &sub), 0);
	assert_int_equal(cairn_catalog_add(w2, &d), 0);
	assert_int_equal(cairn_catalog_add(w2, &l), 0);
	assert_int_equal(cairn_catalog_add(w2, &f), 0);
	uint8_t id2[CAIRN_ID_LEN];
	assert_int_equal(cairn_catalog_dir_end(w2, id2), 0);
	assert_memory_equal(id2, em->ids[0], CAIRN_ID_LEN);
	cairn_catalog_writer_free(w2);
	emitted_free(em2);
	emitted_free(em);
	cairn_hasher_free(h);
}

/* 5,000 entries are cut into parts under a PARTS node; a file of 40,000
 * extents keeps them in EXTENTS nodes. */
static void test_large(void **state)
{
	(void)state;
	struct emitted *em = calloc(1, sizeof(*em));
	_cleanup_(cairn_catalog_writer_freep) struct cairn_catalog_writer *w = NULL;
	struct cairn_hasher *h = hasher();
	assert_int_equal(cairn_catalog_writer_new(h, keep, em, &w), 0);
	assert_int_equal(cairn_catalog_fs_begin(w, "p1", 1 << 20, 1 << 30, "ext4"), 0);
	assert_int_equal(cairn_catalog_dir_begin(w), 0);
	char name[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "f%05d", i);
		struct cairn_cat_entry f = file(name);
		assert_int_equal(cairn_catalog_add(w, &f), 0);
	}
	struct cairn_cat_extent *x = calloc(40000, sizeof(*x));
	for (size_t i = 0; i < 40000; i++)
		x[i] = (struct cairn_cat_extent){ i * 8192, i * 8192, 4096, i % 2 };
	add_big_and_close(w, x, 40000);
	assert_int_equal(cairn_catalog_fs_begin(w, "p2", 0, 1 << 20, "swap"), 0);
	assert_int_equal(cairn_catalog_fs_skip(w, "swap: no catalog"), 0);
	uint8_t top[CAIRN_ID_LEN];
	assert_int_equal(cairn_catalog_writer_finish(w, top), 0);
	size_t dirs = 0, parts = 0, exts = 0, total = 0;
	for (size_t i = 0; i < em->n; i++) {
		enum cairn_catalog_node_kind kind;
		struct seen s = { 0 };
		assert_int_equal(cairn_catalog_node_parse(em->data[i], em->len[i], &kind, see, see_id, &s), 0);
		dirs += kind == CAIRN_CATNODE_DIR;
		parts += kind == CAIRN_CATNODE_PARTS;
		exts += kind == CAIRN_CATNODE_EXTENTS;
		if (kind == CAIRN_CATNODE_DIR)
			total += s.n;
	}
	assert_int_equal(exts, 3); /* 16384 a node */
	assert_int_equal(parts, 1);
	assert_true(dirs > 5 && dirs < 500);
	assert_int_equal(total, 5001);
	free(x);
	emitted_free(em);
	cairn_hasher_free(h);
}

/* What the writer refuses: names a path could misuse, a type the mode
 * contradicts, two entries of one name. */
static void test_writer_refuses(void **state)
{
	(void)state;
	struct emitted *em = calloc(1, sizeof(*em));
	_cleanup_(cairn_catalog_writer_freep) struct cairn_catalog_writer *w = NULL;
	struct cairn_hasher *h = hasher();
	assert_int_equal(cairn_catalog_writer_new(h, keep, em, &w), 0);
	assert_int_equal(cairn_catalog_fs_begin(w, "", 0, 1, "ext4"), 0);
	assert_int_equal(cairn_catalog_dir_begin(w), 0);
	const char *bad[] = { "", ".", "..", "a/b" };
	for (size_t i = 0; i < 4; i++) {
		struct cairn_cat_entry f = file(bad[i]);
		assert_int_equal(cairn_catalog_add(w, &f), CAIRN_EINVAL);
	}
	struct cairn_cat_entry f = file("x");
	f.mode = S_IFDIR | 0755;
	assert_int_equal(cairn_catalog_add(w, &f), CAIRN_EINVAL);
	f = file("x");
	assert_int_equal(cairn_catalog_add(w, &f), 0);
	assert_int_equal(cairn_catalog_add(w, &f), 0);
	uint8_t id[CAIRN_ID_LEN];
	assert_int_equal(cairn_catalog_dir_end(w, id), CAIRN_EINVAL);
	assert_int_equal(cairn_catalog_fs_skip(w, "damaged"), 0);
	assert_int_equal(cairn_catalog_writer_finish(w, id), CAIRN_ENOTFOUND);
	assert_non_null(strstr(cairn_error_message(), "damaged"));
	emitted_free(em);
	cairn_hasher_free(h);
}

/* A good DIR node, then each kind of damage the parser must refuse. */
static void test_parser_rejects(void **state)
{
	(void)state;
	_cleanup_(cairn_buf_freep) struct cairn_buf b = CAIRN_BUF_INIT;
	struct cairn_cat_entry a = file("a"), c = file("c");
	assert_int_equal(cairn_catnode_put_header(&b, CAIRN_CATNODE_DIR, 2), 0);
	assert_int_equal(cairn_catnode_put_entry(&b, &a, false, NULL, 0), 0);
	size_t second = b.len;
	assert_int_equal(cairn_catnode_put_entry(&b, &c, false, NULL, 0), 0);
	enum cairn_catalog_node_kind kind;
	assert_int_equal(cairn_catalog_node_parse(b.data, b.len, &kind, NULL, NULL, NULL), 0);
	/* Truncated anywhere, or with a byte more. */
	for (size_t n = 0; n < b.len; n += 7)
		assert_int_equal(cairn_catalog_node_parse(b.data, n, &kind, NULL, NULL, NULL), CAIRN_ECORRUPT);
	uint8_t *more = malloc(b.len + 1);
	memcpy(more, b.data, b.len);
	more[b.len] = 0;
	assert_int_equal(cairn_catalog_node_parse(more, b.len + 1, &kind, NULL, NULL, NULL), CAIRN_ECORRUPT);
	free(more);
	struct {
		size_t at;
		uint8_t v;
	} damage[] = {
		{ 0, 'X' },               /* magic */
		{ 4, 9 },                 /* kind */
		{ 5, 1 },                 /* reserved */
		{ second + 2, 'a' },      /* "a" twice: out of order */
		{ second + 2, '/' },      /* a name with '/' */
		{ second + 2, 0 },        /* a name with NUL */
		{ second + 3, 9 },        /* unknown type */
		{ second + 4, 4 },        /* unknown flag */
		{ second + 4, 2 },        /* inline data flag on a file with extents */
		{ second + 4, 3 },        /* extents in parts and inline data */
		{ second + 3, CAIRN_CAT_DIR }, /* type contradicts the mode */
	};
	for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
		uint8_t *d = malloc(b.len);
		memcpy(d, b.data, b.len);
		d[damage[i].at] = damage[i].v;
		assert_int_equal(cairn_catalog_node_parse(d, b.len, &kind, NULL, NULL, NULL), CAIRN_ECORRUPT);
		free(d);
	}
	/* Extents that overlap. */
	struct cairn_cat_extent ov[] = { { 0, 0, 8192, false }, { 0, 4096, 4096, false } };
	a.extents = ov;
	cairn_buf_clear(&b);
	assert_int_equal(cairn_catnode_put_header(&b, CAIRN_CATNODE_DIR, 1), 0);
	assert_int_equal(cairn_catnode_put_entry(&b, &a, false, NULL, 0), 0);
	assert_int_equal(cairn_catalog_node_parse(b.data, b.len, &kind, NULL, NULL, NULL), CAIRN_ECORRUPT);
	/* A PARTS node of one part, and one naming the zero id. */
	cairn_buf_clear(&b);
	uint8_t id[CAIRN_ID_LEN] = { 7 };
	assert_int_equal(cairn_catnode_put_header(&b, CAIRN_CATNODE_PARTS, 1), 0);
	assert_int_equal(cairn_buf_append(&b, id, sizeof(id)), 0);
	assert_int_equal(cairn_catalog_node_parse(b.data, b.len, &kind, NULL, NULL, NULL), CAIRN_ECORRUPT);
	cairn_buf_clear(&b);
	memset(id, 0, sizeof(id));
	assert_int_equal(cairn_catnode_put_header(&b, CAIRN_CATNODE_PARTS, 2), 0);
	assert_int_equal(cairn_buf_append(&b, id, sizeof(id)), 0);
	assert_int_equal(cairn_buf_append(&b, id, sizeof(id)), 0);
	assert_int_equal(cairn_catalog_node_parse(b.data, b.len, &kind, NULL, NULL, NULL), CAIRN_ECORRUPT);
}

/* A file with inline bytes beside one with extents: written, parsed and
 * read back as they went in; what the writer refuses to hold inline. */
static void test_inline_data(void **state)
{
	(void)state;
	static uint8_t bytes[CAIRN_CATALOG_INLINE_DATA_MAX];
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(i * 7 + 1);
	_cleanup_(cairn_buf_freep) struct cairn_buf b = CAIRN_BUF_INIT;
	struct cairn_cat_entry a = file("a"), big = file("big"), c = file("c");
	a.extents = NULL;
	a.nextents = 0;
	a.size = 3000;
	a.inline_data = bytes;
	a.inline_len = 2500; /* the last 500 bytes read as zeros */
	big = a;
	big.name = "big";
	big.size = big.inline_len = CAIRN_CATALOG_INLINE_DATA_MAX;
	assert_int_equal(cairn_catnode_put_header(&b, CAIRN_CATNODE_DIR, 3), 0);
	assert_int_equal(cairn_catnode_put_entry(&b, &a, false, NULL, 0), 0);
	assert_int_equal(cairn_catnode_put_entry(&b, &big, false, NULL, 0), 0);
	assert_int_equal(cairn_catnode_put_entry(&b, &c, false, NULL, 0), 0);
	struct seen s = { 0 };
	enum cairn_catalog_node_kind kind;
	assert_int_equal(cairn_catalog_node_parse(b.data, b.len, &kind, see, see_id, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.e[0].size, 3000);
	assert_int_equal(s.e[0].nextents, 0);
	assert_int_equal(s.e[0].inline_len, 2500);
	assert_memory_equal(s.e[0].inline_data, bytes, 2500);
	assert_int_equal(s.e[1].inline_len, CAIRN_CATALOG_INLINE_DATA_MAX);
	assert_memory_equal(s.e[1].inline_data, bytes, CAIRN_CATALOG_INLINE_DATA_MAX);
	assert_null(s.e[2].inline_data);
	assert_int_equal(s.e[2].nextents, 2);
	assert_int_equal(s.e[2].extents[1].volume_offset, 1 << 20);
	/* The writer refuses: bytes beside extents, none, more than the
	 * bound or the size, bytes of something not a file. */
	struct cairn_cat_entry x = a;
	x.extents = ext2;
	x.nextents = 2;
	assert_int_equal(cairn_catnode_put_entry(&b, &x, false, NULL, 0), CAIRN_EINVAL);
	x = a;
	x.inline_len = 0;
	assert_int_equal(cairn_catnode_put_entry(&b, &x, false, NULL, 0), CAIRN_EINVAL);
	x = a;
	x.size = x.inline_len = CAIRN_CATALOG_INLINE_DATA_MAX + 1;
	assert_int_equal(cairn_catnode_put_entry(&b, &x, false, NULL, 0), CAIRN_EINVAL);
	x = a;
	x.size = 100;
	assert_int_equal(cairn_catnode_put_entry(&b, &x, false, NULL, 0), CAIRN_EINVAL);
	struct cairn_cat_entry l = { .name = "l", .type = CAIRN_CAT_SYMLINK, .mode = S_IFLNK | 0777, .target = "x",
				     .size = 1, .inline_data = bytes, .inline_len = 1 };
	assert_int_equal(cairn_catnode_put_entry(&b, &l, false, NULL, 0), CAIRN_EINVAL);
}

/* A little-endian value of n bytes written at a node's byte at. */
struct damage {
	size_t at, n;
	uint64_t v;
};

/* Each damage applied alone to a copy of node b must be refused by the
 * parser and by the walk that collects its children. */
static void refused_each(const struct cairn_buf *b, const struct damage *dm, size_t count)
{
	enum cairn_catalog_node_kind kind;
	for (size_t i = 0; i < count; i++) {
		uint8_t *d = malloc(b->len);
		memcpy(d, b->data, b->len);
		for (size_t k = 0; k < dm[i].n; k++)
			d[dm[i].at + k] = (uint8_t)(dm[i].v >> (8 * k));
		assert_int_equal(cairn_catalog_node_parse(d, b->len, &kind, NULL, NULL, NULL), CAIRN_ECORRUPT);
		uint8_t *ids = NULL;
		size_t n = 0;
		assert_int_equal(cairn_catalog_node_children(d, b->len, &ids, &n), CAIRN_ECORRUPT);
		free(d);
	}
}

/* Damaged inline entries: each is refused, never handed out. */
static void test_inline_damage(void **state)
{
	(void)state;
	uint8_t bytes[100];
	memset(bytes, 'q', sizeof(bytes));
	_cleanup_(cairn_buf_freep) struct cairn_buf b = CAIRN_BUF_INIT;
	struct cairn_cat_entry a = file("a");
	a.extents = NULL;
	a.nextents = 0;
	a.size = 100;
	a.inline_data = bytes;
	a.inline_len = 100;
	assert_int_equal(cairn_catnode_put_header(&b, CAIRN_CATNODE_DIR, 1), 0);
	assert_int_equal(cairn_catnode_put_entry(&b, &a, false, NULL, 0), 0);
	enum cairn_catalog_node_kind kind;
	assert_int_equal(cairn_catalog_node_parse(b.data, b.len, &kind, NULL, NULL, NULL), 0);
	/* The entry starts after the 12-byte header; its fixed part after the
	 * name (2 + 1 bytes): type, flags, ..., size at +20, nextents at +68,
	 * data_len at +72, the bytes at +74. */
	const size_t p = CAIRN_CATALOG_HEADER_LEN + 3;
	assert_int_equal(b.len, p + 74 + 100);
	assert_int_equal(b.data[p + 1], 2); /* the inline flag */
	const struct damage damage[] = {
		{ p + 1, 1, 3 },                                  /* both flags */
		{ p + 68, 4, 1 },                                 /* an extent beside the bytes */
		{ p + 72, 2, 0 },                                 /* no bytes */
		{ p + 72, 2, CAIRN_CATALOG_INLINE_DATA_MAX + 1 }, /* past the bound */
		{ p + 20, 8, 99 },                                /* more bytes than the size */
		{ p + 0, 1, CAIRN_CAT_DIR },                      /* not a file */
	};
	refused_each(&b, damage, sizeof(damage) / sizeof(damage[0]));
	/* Cut inside the bytes. */
	assert_int_equal(cairn_catalog_node_parse(b.data, b.len - 1, &kind, NULL, NULL, NULL), CAIRN_ECORRUPT);
}

/* Compressed extents (EXTENT bit 2, 50 bytes) beside plain ones (25
 * bytes, as before bit 2): inline in an entry and in EXTENTS nodes, read
 * back as they went in. */
static const struct cairn_cat_extent zext[] = {
	{ 1 << 20, 0, 131072, false, false, CAIRN_CAT_ZSTD, 16384, 131072, 0 },
	{ 2 << 20, 131072, 8192, false, false, 0, 0, 0, 0 },
	{ 3 << 20, 139264, 4096, false, true, CAIRN_CAT_ZLIB, 4096, 131072, 126976 },
};

static void test_compressed_extents(void **state)
{
	(void)state;
	_cleanup_(cairn_buf_freep) struct cairn_buf b = CAIRN_BUF_INIT;
	struct cairn_cat_entry a = file("a"), c = file("c");
	a.extents = zext;
	a.nextents = 3;
	assert_int_equal(cairn_catnode_put_header(&b, CAIRN_CATNODE_DIR, 2), 0);
	assert_int_equal(cairn_catnode_put_entry(&b, &a, false, NULL, 0), 0);
	size_t second = b.len;
	assert_int_equal(cairn_catnode_put_entry(&b, &c, false, NULL, 0), 0);
	/* Plain extents keep their 25 bytes: catalogs without bit 2 are
	 * byte for byte what they were. */
	assert_int_equal(b.len - second, 3 + 72 + 2 * CAIRN_CATALOG_EXTENT_LEN);
	assert_int_equal(second - CAIRN_CATALOG_HEADER_LEN, 3 + 72 + 2 * CAIRN_CATALOG_ZEXTENT_LEN + CAIRN_CATALOG_EXTENT_LEN);
	struct seen s = { 0 };
	enum cairn_catalog_node_kind kind;
	assert_int_equal(cairn_catalog_node_parse(b.data, b.len, &kind, see, see_id, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.e[0].nextents, 3);
	assert_int_equal(s.e[1].nextents, 2);
	uint8_t *ids = NULL;
	size_t nids = 0;
	assert_int_equal(cairn_catalog_node_children(b.data, b.len, &ids, &nids), 0);
	free(ids);
	/* Decoded field by field. */
	struct cairn_reader rd;
	cairn_reader_init(&rd, b.data + CAIRN_CATALOG_HEADER_LEN + 3 + 72, 2 * CAIRN_CATALOG_ZEXTENT_LEN + CAIRN_CATALOG_EXTENT_LEN);
	struct cairn_cat_extent x[3];
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(cairn_catnode_get_extent(&rd, i ? &x[i - 1] : NULL, &x[i]), 0);
		assert_memory_equal(&x[i], &zext[i], sizeof(x[i]));
	}
	assert_int_equal(rd.left, 0);
	assert_int_equal(cairn_cat_extent_disk_len(&x[0]), 16384);
	assert_int_equal(cairn_cat_extent_disk_len(&x[1]), 8192);

	/* Many in EXTENTS nodes: every other one compressed. */
	struct emitted *em = calloc(1, sizeof(*em));
	_cleanup_(cairn_catalog_writer_freep) struct cairn_catalog_writer *w = NULL;
	struct cairn_hasher *h = hasher();
	assert_int_equal(cairn_catalog_writer_new(h, keep, em, &w), 0);
	assert_int_equal(cairn_catalog_fs_begin(w, "", 0, 1 << 30, "btrfs"), 0);
	assert_int_equal(cairn_catalog_dir_begin(w), 0);
	struct cairn_cat_extent *many = calloc(20000, sizeof(*many));
	for (size_t i = 0; i < 20000; i++)
		many[i] = i % 2 ? (struct cairn_cat_extent){ i * 8192, i * 131072, 131072, false, false, CAIRN_CAT_ZSTD,
							     8192, 131072, 0 }
				: (struct cairn_cat_extent){ i * 8192, i * 131072, 4096 };
	add_big_and_close(w, many, 20000);
	uint8_t top[CAIRN_ID_LEN];
	assert_int_equal(cairn_catalog_writer_finish(w, top), 0);
	size_t exts = 0, total = 0;
	for (size_t i = 0; i < em->n; i++) {
		struct seen t = { 0 };
		assert_int_equal(cairn_catalog_node_parse(em->data[i], em->len[i], &kind, see, see_id, &t), 0);
		if (kind != CAIRN_CATNODE_EXTENTS)
			continue;
		exts++;
		uint32_t count;
		assert_int_equal(cairn_catnode_open(em->data[i], em->len[i], &kind, &count, &rd), 0);
		for (uint32_t k = 0; k < count; k++, total++) {
			struct cairn_cat_extent y;
			assert_int_equal(cairn_catnode_get_extent(&rd, NULL, &y), 0);
			assert_memory_equal(&y, &many[total], sizeof(y));
		}
		assert_int_equal(rd.left, 0);
		/* An EXTENTS node cut short inside a compressed record. */
		assert_int_equal(cairn_catalog_node_parse(em->data[i], em->len[i] - 20, &kind, NULL, NULL, NULL),
				 CAIRN_ECORRUPT);
	}
	assert_int_equal(exts, 2);
	assert_int_equal(total, 20000);
	free(many);
	emitted_free(em);
	cairn_hasher_free(h);
}

/* Damaged compressed extents: each refused. */
static void test_compressed_damage(void **state)
{
	(void)state;
	_cleanup_(cairn_buf_freep) struct cairn_buf b = CAIRN_BUF_INIT;
	struct cairn_cat_entry a = file("a");
	a.extents = zext;
	a.nextents = 1;
	assert_int_equal(cairn_catnode_put_header(&b, CAIRN_CATNODE_DIR, 1), 0);
	assert_int_equal(cairn_catnode_put_entry(&b, &a, false, NULL, 0), 0);
	enum cairn_catalog_node_kind kind;
	assert_int_equal(cairn_catalog_node_parse(b.data, b.len, &kind, NULL, NULL, NULL), 0);
	/* The extent after the entry's 3 + 72 bytes: length at +16, flags
	 * at +24, disk_length +25, ram_length +33, data_offset +41,
	 * compression +49. */
	const size_t p = CAIRN_CATALOG_HEADER_LEN + 3 + 72;
	assert_int_equal(b.len, p + CAIRN_CATALOG_ZEXTENT_LEN);
	assert_int_equal(b.data[p + 24], 4);
	const struct damage damage[] = {
		{ p + 24, 1, 5 },                              /* unwritten and compressed */
		{ p + 24, 1, 8 },                              /* an unknown flag */
		{ p + 49, 1, 0 },                              /* bit 2 without an algorithm */
		{ p + 49, 1, 4 },                              /* an unknown algorithm */
		{ p + 25, 8, 0 },                              /* no on-disk bytes */
		{ p + 25, 8, CAIRN_CATALOG_ZEXTENT_MAX + 1 },  /* too many */
		{ p + 33, 8, 0 },                              /* decompresses to nothing */
		{ p + 33, 8, CAIRN_CATALOG_ZEXTENT_MAX + 1 },  /* to too much */
		{ p + 33, 8, 131071 },                         /* less than the file uses */
		{ p + 41, 8, 1 },                              /* a part past the end */
		{ p + 41, 8, UINT64_MAX },                     /* an offset that wraps */
		{ p + 0, 8, (UINT64_C(1) << 63) - 100 },       /* on-disk bytes past 2^63 */
	};
	refused_each(&b, damage, sizeof(damage) / sizeof(damage[0]));
	/* Cut inside the 25 bytes of the compressed record's tail, and a
	 * plain record whose flags claim the tail it lacks. */
	for (size_t n = p + 26; n < b.len; n += 6)
		assert_int_equal(cairn_catalog_node_parse(b.data, n, &kind, NULL, NULL, NULL), CAIRN_ECORRUPT);
	a.extents = ext2;
	cairn_buf_clear(&b);
	assert_int_equal(cairn_catnode_put_header(&b, CAIRN_CATNODE_DIR, 1), 0);
	assert_int_equal(cairn_catnode_put_entry(&b, &a, false, NULL, 0), 0);
	b.data[p + 24] = 4;
	assert_int_equal(cairn_catalog_node_parse(b.data, b.len, &kind, NULL, NULL, NULL), CAIRN_ECORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_writer_refuses),
		cmocka_unit_test(test_parser_rejects),
		cmocka_unit_test(test_inline_data),
		cmocka_unit_test(test_inline_damage),
		cmocka_unit_test(test_compressed_extents),
		cmocka_unit_test(test_compressed_damage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
