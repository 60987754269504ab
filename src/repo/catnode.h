/* The bytes of catalog nodes (format.h CATALOG): what the writer
 * (repo/catwrite.c) appends and the reader (repo/catalog.c) and
 * cairn_catalog_node_parse take apart.  The parsers are for everyone
 * (prune, check, tests, fuzzing); the rest is internal to repo/. */
#ifndef CAIRN_REPO_CATNODE_H
#define CAIRN_REPO_CATNODE_H

#include "repo/format.h"
#include "util/buf.h"
#include "util/catentry.h"

#include <stdbool.h>
#include <stdint.h>

/* The ids a catalog node refers to (directories, parts, extent nodes,
 * file system roots), after checking it all: what walks that mark or
 * verify a backup's blobs follow (prune, check).  *ret_ids is malloc'd,
 * *ret_n ids of CAIRN_ID_LEN bytes. */
int cairn_catalog_node_children(const uint8_t *data, size_t len, uint8_t **ret_ids, size_t *ret_n);

/* Parses an opened catalog node, checking everything; calls entry_fn for
 * each entry of a directory leaf (with names NUL-terminated in scratch
 * copies) and id_fn for each child id (directory parts, extent parts).
 * Either may be NULL.  *ret_kind gets the node's kind (format.h CATALOG).
 * The ids id_fn gets point into data: a copy between unrelated
 * repositories (engine/copy.c) rewrites them there with the destination's
 * ids (the zero id of an empty directory is not passed). */
enum cairn_catalog_node_kind {
	CAIRN_CATNODE_DIR = 0,     /* a directory's entries (or one part of them) */
	CAIRN_CATNODE_PARTS = 1,   /* a large directory: the ids of its parts */
	CAIRN_CATNODE_EXTENTS = 2, /* one run of a file's extents */
	CAIRN_CATNODE_VOLUME = 3,  /* the root: the volume's file systems */
};
int cairn_catalog_node_parse(const uint8_t *data, size_t len, enum cairn_catalog_node_kind *ret_kind,
			     int (*entry_fn)(const struct cairn_cat_entry *e, void *ud),
			     int (*id_fn)(const uint8_t id[CAIRN_ID_LEN], void *ud), void *ud);

/* Appends a node header (kind, count). */
int cairn_catnode_put_header(struct cairn_buf *b, enum cairn_catalog_node_kind kind, uint32_t count);
/* Appends one ENTRY.  A file with more than CAIRN_CATALOG_INLINE_EXTENTS
 * extents gives the ids of the EXTENTS nodes holding them (nparts);
 * otherwise part_ids is NULL and its extents go inline.  root: the root
 * entry of a VOLUME node (name ""). */
int cairn_catnode_put_entry(struct cairn_buf *b, const struct cairn_cat_entry *e, bool root,
			    const uint8_t *part_ids, uint32_t nparts);
int cairn_catnode_put_extent(struct cairn_buf *b, const struct cairn_cat_extent *x);

/* One ENTRY as it lies in a node: e's strings are not set (name and target
 * point into the node, not NUL-terminated), its extents are inline_ext
 * (nextents raw EXTENTs) or in nparts EXTENTS nodes. */
struct cairn_catnode_entry {
	struct cairn_cat_entry e;
	const uint8_t *name, *target;
	size_t name_len, target_len;
	const uint8_t *inline_ext; /* NULL when in parts */
	size_t inline_ext_len;     /* bytes of them (records are 25 or 50) */
	const uint8_t *part_ids;
	uint32_t nparts;
	const uint8_t *subtree_at; /* a directory's subtree id where it lies in the node */
};

/* A node's header: checks magic, kind and reserved bytes; rd is left at
 * the body. */
int cairn_catnode_open(const uint8_t *data, size_t len, enum cairn_catalog_node_kind *ret_kind,
		       uint32_t *ret_count, struct cairn_reader *rd);
/* Reads and checks one ENTRY (CAIRN_ECORRUPT with a message). */
int cairn_catnode_get_entry(struct cairn_reader *rd, bool root, struct cairn_catnode_entry *ret);
/* Reads and checks the next EXTENT of rd (25 bytes, 50 compressed),
 * checking it follows prev (NULL: the first). */
int cairn_catnode_get_extent(struct cairn_reader *rd, const struct cairn_cat_extent *prev,
			     struct cairn_cat_extent *ret);

/* One file system of a VOLUME node. */
struct cairn_catnode_fs {
	const uint8_t *name, *type, *reason;
	size_t name_len, type_len, reason_len;
	uint64_t offset, size;
	bool has_root;
	struct cairn_catnode_entry root;
};
int cairn_catnode_get_fs(struct cairn_reader *rd, struct cairn_catnode_fs *ret);

/* FNV-1a of a name: where a large directory's DIR nodes are cut. */
uint32_t cairn_catnode_name_hash(const uint8_t *name, size_t len);

#endif
