/* Writes seed corpora for the fuzz targets: fuzz_make_seeds OUTDIR makes
 * OUTDIR/<target>/<name> files from real encoders (and the fixed keys of
 * fuzz_common.h), so the seeds stay valid when the format changes. */
#include "fuzz_common.h"
#include "compress/compress.h"
#include "repo/catnode.h"
#include "repo/index.h"
#include "repo/group.h"
#include "repo/hold.h"
#include "repo/lease.h"
#include "repo/manifest.h"
#include "repo/pack.h"
#include "repo/repo.h"
#include "repo/tree.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/hex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *outdir;

static void die(const char *what, int r)
{
	fprintf(stderr, "fuzz_make_seeds: %s: %d %s %s\n", what, r, cairn_error_name(r), cairn_error_message());
	exit(1);
}

#define CHECK(expr)                      \
	do {                             \
		int r_ = (expr);         \
		if (r_ < 0)              \
			die(#expr, r_);  \
	} while (0)

static void put(const char *target, const char *name, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path, -errno);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	FILE *f = fopen(path, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		die(path, CAIRN_EIO);
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7);
}

/* ---- plaintext bodies ---- */

static const char config_json[] =
	"{\"chunk_size\":65536,\"compression\":\"zstd\",\"compression_level\":1,"
	"\"created\":\"2026-11-25T14:20:04Z\",\"id\":\"00112233445566778899aabbccddeeff\","
	"\"pack_size\":16777216,\"tree_fanout\":256,\"version\":1}";

static char *manifest_json(int with_parent)
{
	struct cairn_manifest m;
	memset(&m, 0, sizeof(m));
	memcpy(m.id, fuzz_name, CAIRN_BACKUP_ID_LEN);
	m.volume = "db-data";
	m.hostname = "host";
	m.source = "/dev/vg0/data";
	m.created_us = 1795616404123456;
	m.size = 70000ull * 65536;
	m.chunk_size = 65536;
	m.fanout = CAIRN_TREE_FANOUT;
	m.levels = 3;
	fill(m.root, sizeof(m.root), 3);
	m.has_parent = with_parent;
	fill(m.parent, sizeof(m.parent), 4);
	char *tags[] = { "nightly", "db" };
	m.tags = tags;
	m.ntags = with_parent ? 2 : 0;
	m.change_tracking = with_parent ? "fiemap" : "full-read";
	m.stats = (struct cairn_backup_stats){ .bytes_read = 1000, .bytes_new = 500, .bytes_stored = 400,
					 .chunks_new = 3, .seconds = 0.5 };
	if (with_parent) {
		m.info = (struct cairn_volume_info){ 512, "ext4", "data", "0f0e0d0c-0b0a-4908-8706-050403020100" };
		m.in_group = true;
		fill(m.group_id, sizeof(m.group_id), 5);
	}
	char *json = NULL;
	CHECK(cairn_manifest_encode(&m, &json));
	return json;
}

static void toc_entry(struct cairn_buf *b, uint8_t fill_byte, uint8_t type, uint8_t flags, uint32_t raw,
		      uint32_t stored, uint64_t off)
{
	uint8_t id[CAIRN_ID_LEN];
	memset(id, fill_byte, sizeof(id));
	CHECK(cairn_buf_append(b, id, sizeof(id)));
	CHECK(cairn_buf_append_u8(b, type));
	CHECK(cairn_buf_append_u8(b, flags));
	CHECK(cairn_buf_append_le16(b, 0));
	CHECK(cairn_buf_append_le32(b, raw));
	CHECK(cairn_buf_append_le32(b, stored));
	CHECK(cairn_buf_append_le64(b, off));
}

static void toc_body(struct cairn_buf *b, uint32_t n)
{
	cairn_buf_clear(b);
	CHECK(cairn_buf_append_le32(b, n));
	uint64_t off = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t stored = 100 + 40 * i;
		/* Flags cycle through zstd, lz4 and raw (format.h BLOB). */
		uint8_t flags = i % 3 == 0 ? CAIRN_BLOB_ZSTD : i % 3 == 1 ? CAIRN_BLOB_LZ4 : 0;
		toc_entry(b, (uint8_t)(i + 1), i % 2, flags, 4096, stored, off);
		off += stored;
	}
}

/* Version 2 (condemned packs, format.h PRUNE) when v2: pack p is
 * condemned at an odd p. */
static void index_body_v(struct cairn_buf *b, uint32_t npacks, uint32_t n, int v2)
{
	cairn_buf_clear(b);
	CHECK(cairn_buf_append(b, CAIRN_INDEX_MAGIC, 4));
	CHECK(cairn_buf_append_le32(b, v2 ? 2 : 1));
	CHECK(cairn_buf_append_le32(b, npacks));
	for (uint32_t p = 0; p < npacks; p++) {
		uint8_t pid[CAIRN_PACK_ID_LEN];
		fill(pid, sizeof(pid), (uint8_t)(p + 10));
		CHECK(cairn_buf_append(b, pid, sizeof(pid)));
		if (v2)
			CHECK(cairn_buf_append_le64(b, p % 2 ? 1764547200 + p : 0));
	}
	CHECK(cairn_buf_append_le32(b, n));
	for (uint32_t i = 0; i < n; i++) {
		uint8_t id[CAIRN_ID_LEN];
		fill(id, sizeof(id), (uint8_t)(i + 100));
		CHECK(cairn_buf_append(b, id, sizeof(id)));
		CHECK(cairn_buf_append_u8(b, i % 2));
		CHECK(cairn_buf_append_u8(b, i % 3 == 0));
		CHECK(cairn_buf_append_le16(b, 0));
		CHECK(cairn_buf_append_le32(b, 4096));
		CHECK(cairn_buf_append_le32(b, 200 + i));
		CHECK(cairn_buf_append_le32(b, npacks ? i % npacks : 0));
		CHECK(cairn_buf_append_le32(b, 1000 * i));
	}
}

static void index_body(struct cairn_buf *b, uint32_t npacks, uint32_t n)
{
	index_body_v(b, npacks, n, 0);
}

/* A tree node: level, count children with made-up ids. */
static void tree_node(struct cairn_buf *b, uint8_t level, uint32_t count)
{
	cairn_buf_clear(b);
	CHECK(cairn_buf_append_u8(b, level));
	CHECK(cairn_buf_append(b, "\0\0\0", 3));
	CHECK(cairn_buf_append_le32(b, count));
	for (uint32_t i = 0; i < count; i++) {
		uint8_t id[CAIRN_ID_LEN];
		fill(id, sizeof(id), (uint8_t)(i + level));
		CHECK(cairn_buf_append(b, id, sizeof(id)));
	}
}

/* ---- per target ---- */

static void seeds_key_object(void)
{
	uint8_t master[32], obj[CAIRN_KEY_OBJECT_LEN];
	fill(master, sizeof(master), 1);
	CHECK(cairn_key_object_make(master, FUZZ_PASS, strlen(FUZZ_PASS), 10, obj));
	put("fuzz_key_object", "log2n-10", obj, sizeof(obj));
	CHECK(cairn_key_object_make(master, "another", 7, 11, obj));
	put("fuzz_key_object", "log2n-11-other-pass", obj, sizeof(obj));
}

static void seeds_config(void)
{
	put("fuzz_config", "valid", config_json, strlen(config_json));
	static const char v2[] = "{\"version\":2}";
	put("fuzz_config", "version-2", v2, strlen(v2));
	static const char inst[] =
		"{\"chunk_size\":65536,\"compression\":\"auto\",\"compression_level\":0,"
		"\"created\":\"2026-11-25T14:20:04Z\",\"id\":\"00112233445566778899aabbccddeeff\","
		"\"instance\":\"ffeeddccbbaa99887766554433221100\",\"pack_size\":16777216,\"tree_fanout\":256,"
		"\"version\":1}";
	put("fuzz_config", "instance", inst, strlen(inst));
	static const char locked[] =
		"{\"chunk_size\":65536,\"compression\":\"zstd\",\"compression_level\":1,"
		"\"created\":\"2026-11-25T14:20:04Z\",\"id\":\"00112233445566778899aabbccddeeff\","
		"\"object_lock_days\":30,\"object_lock_mode\":\"compliance\","
		"\"pack_size\":16777216,\"tree_fanout\":256,\"version\":1}";
	put("fuzz_config", "object-lock", locked, strlen(locked));
}

static void seeds_toc(void)
{
	struct cairn_buf b = CAIRN_BUF_INIT, s = CAIRN_BUF_INIT;
	static const uint32_t counts[] = { 0, 1, 4 };
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		toc_body(&b, counts[i]);
		cairn_buf_clear(&s);
		CHECK(cairn_buf_append_le64(&s, FUZZ_TOC_DATA_END));
		CHECK(cairn_buf_append(&s, b.data, b.len));
		char name[32];
		snprintf(name, sizeof(name), "entries-%u", counts[i]);
		put("fuzz_toc", name, s.data, s.len);
	}
	cairn_buf_free(&b);
	cairn_buf_free(&s);
}

static void seeds_index(void)
{
	struct cairn_buf b = CAIRN_BUF_INIT;
	index_body(&b, 0, 0);
	put("fuzz_index", "empty", b.data, b.len);
	index_body(&b, 1, 3);
	put("fuzz_index", "one-pack", b.data, b.len);
	index_body(&b, 3, 7);
	put("fuzz_index", "three-packs", b.data, b.len);
	index_body_v(&b, 4, 9, 1);
	put("fuzz_index", "condemned-v2", b.data, b.len);
	cairn_buf_free(&b);
}

static void seeds_manifest(void)
{
	char *j = manifest_json(1);
	put("fuzz_manifest", "with-parent", j, strlen(j));
	free(j);
	j = manifest_json(0);
	put("fuzz_manifest", "no-parent", j, strlen(j));
	free(j);
}

static void seeds_group_backup(void)
{
	struct cairn_group_member members[2] = { { .volume = "a.img" }, { .volume = "b.img" } };
	char *freeze[] = { "/mnt/a" };
	uint8_t cfg[] = "<domain>\0binary\xff</domain>";
	struct cairn_group_backup g = { .name = "app", .created_us = 1764547200123456, .hostname = "h",
					.members = members, .nmembers = 2, .freeze = freeze, .nfreeze = 1,
					.frozen_seconds = 0.25, .config_name = "app.xml", .config = cfg,
					.config_len = sizeof(cfg) - 1 };
	memset(g.id, 0x5a, sizeof(g.id));
	cairn_hex_encode(g.id, sizeof(g.id), g.idhex);
	for (int i = 0; i < 2; i++) {
		memset(members[i].backup, 0x10 + i, sizeof(members[i].backup));
		cairn_hex_encode(members[i].backup, sizeof(members[i].backup), members[i].backup_hex);
	}
	char *json = NULL;
	CHECK(cairn_group_backup_encode(&g, &json));
	put("fuzz_group_backup", "two-members", json, strlen(json));
	free(json);
	g.config_name = NULL;
	g.nfreeze = 0;
	g.nmembers = 1;
	CHECK(cairn_group_backup_encode(&g, &json));
	put("fuzz_group_backup", "plain", json, strlen(json));
	free(json);
	/* Names the parser must refuse (repo/names.h): one edit away from
	 * names it accepts, so the fuzzer explores both sides of each check. */
	static const char *const bad[][2] = {
		{ "bad-member-dotdot", ".." },     { "bad-member-dot", "." },
		{ "bad-member-slash", "../b.img" }, { "bad-member-empty", "" },
		{ "bad-member-ctl", "b\x01.img" }, { "bad-config-dotdot", ".." },
		{ "bad-config-slash", "../app.xml" }, { "config-at", "app@2.xml" },
	};
	g.nmembers = 2;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool config = strstr(bad[i][0], "config") != NULL;
		members[1].volume = config ? "b.img" : (char *)bad[i][1];
		g.config_name = config ? (char *)bad[i][1] : NULL;
		CHECK(cairn_group_backup_encode(&g, &json));
		put("fuzz_group_backup", bad[i][0], json, strlen(json));
		free(json);
	}
}

static void seeds_hold(void)
{
	struct cairn_hold h = { .reason = "legal hold: case 42 \u00e9", .hostname = "host", .created = 1764547200 };
	memcpy(h.backup, fuzz_name, CAIRN_BACKUP_ID_LEN);
	cairn_hex_encode(h.backup, CAIRN_BACKUP_ID_LEN, h.backup_hex);
	char *json = NULL;
	CHECK(cairn_hold_encode(&h, &json));
	put("fuzz_hold", "reason", json, strlen(json));
	free(json);
	h.reason = "";
	CHECK(cairn_hold_encode(&h, &json));
	put("fuzz_hold", "no-reason", json, strlen(json));
	free(json);
}

static void seeds_presence(void)
{
	struct cairn_presence p = { .created = 1764547200, .expires = 1764547800 };
	snprintf(p.kind, sizeof(p.kind), "prune");
	snprintf(p.who.host, sizeof(p.who.host), "backup-host-1");
	snprintf(p.who.boot_id, sizeof(p.who.boot_id), "0f0e0d0c-0b0a-4908-8706-050403020100");
	p.who.pid = 4242;
	p.who.start = 987654;
	char *json = NULL;
	CHECK(cairn_presence_encode(&p, &json));
	put("fuzz_presence", "lease", json, strlen(json));
	free(json);
	snprintf(p.kind, sizeof(p.kind), "backup");
	p.expires = 0;
	p.who.boot_id[0] = 0;
	CHECK(cairn_presence_encode(&p, &json));
	put("fuzz_presence", "marker", json, strlen(json));
	free(json);
}

static void seeds_tree_node(void)
{
	struct cairn_buf b = CAIRN_BUF_INIT, s = CAIRN_BUF_INIT;
	static const struct {
		uint8_t level;
		uint32_t count;
	} v[] = { { 1, 1 }, { 1, 3 }, { 2, 2 }, { 3, 0 } };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		tree_node(&b, v[i].level, v[i].count);
		cairn_buf_clear(&s);
		CHECK(cairn_buf_append_u8(&s, v[i].level));
		CHECK(cairn_buf_append_le32(&s, v[i].count));
		CHECK(cairn_buf_append(&s, b.data, b.len));
		char name[32];
		snprintf(name, sizeof(name), "level-%u-count-%u", v[i].level, v[i].count);
		put("fuzz_tree_node", name, s.data, s.len);
	}
	cairn_buf_free(&b);
	cairn_buf_free(&s);
}

static void put_sealed(const char *name, uint8_t sel, const struct cairn_buf *prefix, const struct cairn_buf *sealed)
{
	struct cairn_buf o = CAIRN_BUF_INIT;
	CHECK(cairn_buf_append_u8(&o, sel));
	if (prefix)
		CHECK(cairn_buf_append(&o, prefix->data, prefix->len));
	CHECK(cairn_buf_append(&o, sealed->data, sealed->len));
	put("fuzz_open_sealed", name, o.data, o.len);
	cairn_buf_free(&o);
}

static void seeds_open_sealed(void)
{
	struct cairn_aead *a = NULL;
	struct cairn_hasher *h = NULL;
	struct cairn_comp *z = NULL, *l = NULL;
	CHECK(cairn_aead_new(fuzz_ek, &a));
	CHECK(cairn_hasher_new(fuzz_ik, &h));
	CHECK(cairn_comp_new(&(struct cairn_comp_mode){ CAIRN_COMP_ZSTD, 1 }, &z));
	CHECK(cairn_comp_new(&(struct cairn_comp_mode){ CAIRN_COMP_LZ4, 0 }, &l));
	struct cairn_buf body = CAIRN_BUF_INIT, sealed = CAIRN_BUF_INIT, pre = CAIRN_BUF_INIT;

	/* Config: header, then the body sealed with the header as name. */
	uint8_t header[CAIRN_CONFIG_HEADER_LEN];
	memcpy(header, CAIRN_CONFIG_MAGIC, CAIRN_MAGIC_LEN);
	cairn_put_le32(header + CAIRN_MAGIC_LEN, CAIRN_FORMAT_VERSION);
	CHECK(cairn_repo_seal(a, CAIRN_AAD_CONFIG, header, sizeof(header), config_json, strlen(config_json), &sealed));
	CHECK(cairn_buf_append(&pre, header, sizeof(header)));
	put_sealed("config", FUZZ_SEL_CONFIG, &pre, &sealed);

	char *j = manifest_json(1);
	CHECK(cairn_repo_seal(a, CAIRN_AAD_MANIFEST, fuzz_name, CAIRN_BACKUP_ID_LEN, j, strlen(j), &sealed));
	put_sealed("manifest", FUZZ_SEL_MANIFEST, NULL, &sealed);
	free(j);

	index_body(&body, 2, 5);
	CHECK(cairn_repo_seal(a, CAIRN_AAD_INDEX, fuzz_name, CAIRN_INDEX_NAME_LEN, body.data, body.len, &sealed));
	put_sealed("index", FUZZ_SEL_INDEX, NULL, &sealed);

	toc_body(&body, 3);
	CHECK(cairn_repo_seal(a, CAIRN_AAD_TOC, fuzz_name, CAIRN_PACK_ID_LEN, body.data, body.len, &sealed));
	put_sealed("toc", FUZZ_SEL_TOC, NULL, &sealed);

	/* Tree-node blobs, raw, zstd- and lz4-compressed, with their true ids. */
	struct cairn_blob_codec c = { .hasher = h, .aead = a, .comp = z };
	for (int compress = 0; compress < 3; compress++) {
		c.comp = compress == 2 ? l : z;
		tree_node(&body, 1, compress ? 200 : 3);
		if (compress) /* make it compressible */
			memset(body.data + CAIRN_NODE_HEADER_LEN, 0x11, body.len - CAIRN_NODE_HEADER_LEN);
		uint8_t id[CAIRN_ID_LEN], flags = 0;
		uint32_t stored = 0;
		CHECK(cairn_hasher_id(h, body.data, body.len, id));
		cairn_buf_clear(&sealed);
		CHECK(cairn_blob_encode(&c, id, body.data, body.len, compress, &sealed, &flags, &stored));
		cairn_buf_clear(&pre);
		CHECK(cairn_buf_append(&pre, id, sizeof(id)));
		CHECK(cairn_buf_append_le32(&pre, (uint32_t)body.len));
		CHECK(cairn_buf_append_u8(&pre, flags));
		put_sealed(compress == 2 ? "blob-lz4" : compress ? "blob-zstd" : "blob-raw", FUZZ_SEL_BLOB, &pre, &sealed);
	}
	cairn_buf_free(&c.scratch);
	cairn_buf_free(&body);
	cairn_buf_free(&sealed);
	cairn_buf_free(&pre);
	cairn_comp_free(z);
	cairn_comp_free(l);
	cairn_hasher_free(h);
	cairn_aead_free(a);
}

/* The head of a VOLUME node's file system record (64 MiB at offset). */
static void catalog_fs_head(struct cairn_buf *b, const char *name, const char *type, uint64_t offset, bool has_root)
{
	CHECK(cairn_buf_append_u8(b, (uint8_t)strlen(name)));
	CHECK(cairn_buf_append(b, name, strlen(name)));
	CHECK(cairn_buf_append_u8(b, (uint8_t)strlen(type)));
	CHECK(cairn_buf_append(b, type, strlen(type)));
	CHECK(cairn_buf_append_le64(b, offset));
	CHECK(cairn_buf_append_le64(b, 64 << 20));
	CHECK(cairn_buf_append_u8(b, has_root));
}

/* Catalog nodes (format.h CATALOG) from the node encoder: a directory of
 * every kind of entry, files with inline bytes among them (a short one,
 * one of CAIRN_CATALOG_INLINE_DATA_MAX bytes, one ending in zeros), an
 * EXTENTS node and a VOLUME node. */
static void seeds_catalog_node(void)
{
	static uint8_t bytes[CAIRN_CATALOG_INLINE_DATA_MAX];
	fill(bytes, sizeof(bytes), 5);
	static const struct cairn_cat_extent ext[] = { { 1 << 20, 0, 8192, false, false },
						       { 4 << 20, 65536, 4096, true, true } };
	const struct cairn_cat_entry base = { .type = CAIRN_CAT_FILE, .mode = 0100644, .uid = 1000, .gid = 100,
					      .nlink = 1, .inode = 12, .atime_ns = 1, .mtime_ns = 2, .ctime_ns = 3 };
	struct cairn_cat_entry e[6];
	for (size_t i = 0; i < 6; i++)
		e[i] = base;
	e[0].name = "a dir";
	e[0].type = CAIRN_CAT_DIR;
	e[0].mode = 040755;
	fill(e[0].subtree_id, sizeof(e[0].subtree_id), 9);
	e[1].name = "extents";
	e[1].size = 70000;
	e[1].extents = ext;
	e[1].nextents = 2;
	e[2].name = "inline full";
	e[2].size = e[2].inline_len = sizeof(bytes);
	e[2].inline_data = bytes;
	e[3].name = "inline short";
	e[3].size = e[3].inline_len = 6;
	e[3].inline_data = (const uint8_t *)"hello\n";
	e[4].name = "inline then zeros";
	e[4].size = 3000;
	e[4].inline_len = 100;
	e[4].inline_data = bytes;
	e[5].name = "link";
	e[5].type = CAIRN_CAT_SYMLINK;
	e[5].mode = 0120777;
	e[5].target = "inline short";
	e[5].size = 12;
	struct cairn_buf b = CAIRN_BUF_INIT;
	CHECK(cairn_catnode_put_header(&b, CAIRN_CATNODE_DIR, 6));
	for (size_t i = 0; i < 6; i++)
		CHECK(cairn_catnode_put_entry(&b, &e[i], false, NULL, 0));
	put("fuzz_catalog_node", "dir-inline", b.data, b.len);
	cairn_buf_clear(&b);
	CHECK(cairn_catnode_put_header(&b, CAIRN_CATNODE_EXTENTS, 2));
	for (size_t i = 0; i < 2; i++)
		CHECK(cairn_catnode_put_extent(&b, &ext[i]));
	put("fuzz_catalog_node", "extents", b.data, b.len);
	/* Compressed extents (EXTENT bit 2) between plain ones, in an entry
	 * and in an EXTENTS node. */
	static const struct cairn_cat_extent zext[] = {
		{ 1 << 20, 0, 131072, false, false, CAIRN_CAT_ZSTD, 16384, 131072, 0 },
		{ 2 << 20, 131072, 8192, false, true },
		{ 3 << 20, 139264, 4096, false, true, CAIRN_CAT_ZLIB, 4096, 131072, 126976 },
		{ 4 << 20, 143360, 65536, false, false, CAIRN_CAT_LZO, 8192, 65536, 0 },
	};
	struct cairn_cat_entry z = base;
	z.name = "compressed";
	z.size = 208896;
	z.extents = zext;
	z.nextents = 4;
	cairn_buf_clear(&b);
	CHECK(cairn_catnode_put_header(&b, CAIRN_CATNODE_DIR, 1));
	CHECK(cairn_catnode_put_entry(&b, &z, false, NULL, 0));
	put("fuzz_catalog_node", "dir-compressed", b.data, b.len);
	cairn_buf_clear(&b);
	CHECK(cairn_catnode_put_header(&b, CAIRN_CATNODE_EXTENTS, 4));
	for (size_t i = 0; i < 4; i++)
		CHECK(cairn_catnode_put_extent(&b, &zext[i]));
	put("fuzz_catalog_node", "extents-compressed", b.data, b.len);
	/* VOLUME: one file system with its root, one without (a reason). */
	cairn_buf_clear(&b);
	CHECK(cairn_catnode_put_header(&b, CAIRN_CATNODE_VOLUME, 2));
	catalog_fs_head(&b, "p1", "ext4", 1 << 20, true);
	struct cairn_cat_entry root = e[0];
	root.name = "";
	CHECK(cairn_catnode_put_entry(&b, &root, true, NULL, 0));
	catalog_fs_head(&b, "p2", "btrfs", 65 << 20, false);
	CHECK(cairn_buf_append_le16(&b, 9));
	CHECK(cairn_buf_append(&b, "no reason", 9));
	put("fuzz_catalog_node", "volume", b.data, b.len);
	cairn_buf_free(&b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_make_seeds OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) < 0 && errno != EEXIST)
		die(outdir, -errno);
	seeds_key_object();
	seeds_config();
	seeds_toc();
	seeds_index();
	seeds_manifest();
	seeds_tree_node();
	seeds_open_sealed();
	seeds_group_backup();
	seeds_hold();
	seeds_presence();
	seeds_catalog_node();
	return 0;
}
