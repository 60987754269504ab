/* File catalogs (format.h CATALOG): the files of a volume backup's file
 * systems, stored with the backup as catalog nodes (blobs of type
 * CAIRN_BLOB_CATALOG), so that files can be listed, compared and extracted
 * without reading the volume's chunks.
 *
 * Reading (catalog, restore-file, diff --files, mount, the HTTP API):
 *
 *     cairn_catalog_open(repo, idx, manifest, &cat);
 *     cairn_catalog_lookup(cat, "/etc/passwd", &e);     ... cairn_cat_entry_free(e);
 *     cairn_catalog_list(cat, "/etc", fn, ud);          one directory
 *     cairn_catalog_walk(cat, "/", fn, ud);             a subtree
 *     cairn_catalog_free(cat);
 *
 * PATHS.  Absolute, '/'-separated, as in the file system.  A volume holding
 * one file system (a whole image) has it at "/".  A partitioned volume (MBR
 * or GPT) has one top-level directory per partition, named "p1", "p2", ...
 * after the partition number (as the kernel's /dev/sdaN), holding that
 * partition's file system: "/p2/etc/passwd".  Partitions without a catalog
 * (no supported file system, damage) are absent from "/"; their reasons are
 * in cairn_catalog_filesystems().  Every consumer uses this one scheme.
 *
 * Every entry handed to a callback or returned is complete: its extents
 * are loaded (a file with many extents keeps them in nodes of their own,
 * read on demand).  Names are bytes: they may hold spaces, newlines and
 * any UTF-8 or none; never '/' or NUL (a node with such a name is damage).
 *
 * A catalog is used by one thread at a time.  Errors: CAIRN_ENOTFOUND (the
 * backup has no catalog, with its reason as the message; a path that is
 * not there), CAIRN_EINVAL (listing something not a directory),
 * CAIRN_ECORRUPT (a node missing or damaged, with a message naming it).
 */
#ifndef CAIRN_REPO_CATALOG_H
#define CAIRN_REPO_CATALOG_H

#include "repo/catnode.h"
#include "repo/format.h"
#include "repo/index.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "util/catentry.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- reading ---- */

struct cairn_catalog;

/* Opens the catalog of backup m (borrowed, with repo and idx, for the
 * catalog's life).  CAIRN_ENOTFOUND when it has none, the message saying
 * why (cairn_manifest's catalog_reason). */
int cairn_catalog_open(struct cairn_repo *repo, struct cairn_index *idx, const struct cairn_manifest *m,
		       struct cairn_catalog **ret);
void cairn_catalog_free(struct cairn_catalog *c);
static inline void cairn_catalog_freep(struct cairn_catalog **c)
{
	cairn_catalog_free(*c);
}

/* One file system of the volume: "" for a whole-volume one, "p1", ... for
 * partitions.  root is absent (has_root false) with a reason when there
 * is no catalog of it. */
struct cairn_catalog_fs {
	const char *name;
	uint64_t offset, size; /* bytes in the volume */
	const char *fs_type;   /* "ext4", "xfs", ...; "" unknown */
	bool has_root;
	const char *reason;    /* why there is no root; NULL with one */
};
/* The volume's file systems, in partition order; *ret borrows from c. */
int cairn_catalog_filesystems(struct cairn_catalog *c, const struct cairn_catalog_fs **ret, size_t *ret_n);

/* The entry at path ("/" is the root directory; for a partitioned volume a
 * made-up directory holding the partitions).  *ret is owned: free it with
 * cairn_cat_entry_free. */
int cairn_catalog_lookup(struct cairn_catalog *c, const char *path, struct cairn_cat_entry **ret);
void cairn_cat_entry_free(struct cairn_cat_entry *e);
static inline void cairn_cat_entry_freep(struct cairn_cat_entry **e)
{
	cairn_cat_entry_free(*e);
}

/* Called with each entry and its absolute path (both borrowed for the
 * call).  A negative return stops the listing or walk and is returned;
 * 1 from a walk's callback on a directory skips what is under it. */
typedef int (*cairn_catalog_fn)(const char *path, const struct cairn_cat_entry *e, void *ud);

/* The entries of the directory at path, in byte order of their names
 * (without "." and ".."). */
int cairn_catalog_list(struct cairn_catalog *c, const char *path, cairn_catalog_fn fn, void *ud);
/* path's entry, then (a directory) everything under it, depth first, each
 * directory's entries in byte order, a directory before its contents. */
int cairn_catalog_walk(struct cairn_catalog *c, const char *path, cairn_catalog_fn fn, void *ud);
/* The entries of directory dir (an entry this catalog gave; path is its
 * path), as cairn_catalog_list gives them, without looking path up again:
 * a comparison of two catalogs (diff --files) lists just the directories
 * whose subtree ids differ.  Not for a partitioned volume's made-up "/". */
int cairn_catalog_list_entry(struct cairn_catalog *c, const char *path, const struct cairn_cat_entry *dir,
			     cairn_catalog_fn fn, void *ud);

/* ---- writing (the backup) ---- */

/* Called for every node the writer completes, with its id: store it (a
 * blob of type CAIRN_BLOB_CATALOG).  The writer may emit a node twice. */
typedef int (*cairn_catalog_emit_fn)(const uint8_t id[CAIRN_ID_LEN], const uint8_t *node, size_t len, void *ud);

/* Builds one volume's catalog in a single pass over its file systems:
 *
 *     fs_begin("p1", ...)
 *       dir_begin()                          the file system's root
 *         add(entry)                         files, in any order
 *         dir_begin() ... dir_end(&id)        a subdirectory's contents, then
 *         add(entry with subtree_id = id)    its entry
 *       dir_end(&root.subtree_id)
 *     fs_end(&root) or fs_skip(reason)    (fs_skip drops a half-built tree)
 *     finish(&catalog_root)
 *
 * Memory: the entries of the directories on the current path (a large
 * directory's are sorted in memory, 1 KiB each or so), not the tree. */
struct cairn_catalog_writer;
int cairn_catalog_writer_new(struct cairn_hasher *hasher, cairn_catalog_emit_fn emit, void *ud,
			     struct cairn_catalog_writer **ret);
void cairn_catalog_writer_free(struct cairn_catalog_writer *w);
static inline void cairn_catalog_writer_freep(struct cairn_catalog_writer **w)
{
	cairn_catalog_writer_free(*w);
}
int cairn_catalog_fs_begin(struct cairn_catalog_writer *w, const char *name, uint64_t offset, uint64_t size,
			   const char *fs_type);
/* root: the file system's root directory, name "" (or NULL), its
 * subtree_id what dir_end gave. */
int cairn_catalog_fs_end(struct cairn_catalog_writer *w, const struct cairn_cat_entry *root);
int cairn_catalog_fs_skip(struct cairn_catalog_writer *w, const char *reason);
int cairn_catalog_dir_begin(struct cairn_catalog_writer *w);
/* e is copied.  CAIRN_EINVAL for a name with '/' or NUL, "", "." or "..". */
int cairn_catalog_add(struct cairn_catalog_writer *w, const struct cairn_cat_entry *e);
int cairn_catalog_dir_end(struct cairn_catalog_writer *w, uint8_t ret_id[CAIRN_ID_LEN]);
/* The volume node; CAIRN_ENOTFOUND (message: the reasons) when no file
 * system has a root. */
int cairn_catalog_writer_finish(struct cairn_catalog_writer *w, uint8_t ret_root[CAIRN_ID_LEN]);

/* Nodes themselves (parsing, for tests, fuzzing, prune and check):
 * repo/catnode.h. */

#endif
