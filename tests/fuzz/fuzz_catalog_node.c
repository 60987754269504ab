/* libFuzzer target: an opened catalog node (format.h CATALOG), as the
 * reader, prune and check take it.  Every entry handed out must hold
 * what the parser promises (names without '/' or NUL, extents in order,
 * inline bytes only in a file without extents, 1..4096 of them and no
 * more than its size, compressed extents within their bounds). */
#include "cairn/error.h"
#include "repo/catalog.h"
#include "repo/catnode.h"

#include <stdlib.h>
#include <string.h>

static int on_entry(const struct cairn_cat_entry *e, void *ud)
{
	(void)ud;
	/* "" is a file system's root (VOLUME nodes); nothing else is. */
	size_t n = strlen(e->name);
	if ((n == 0 && e->type != CAIRN_CAT_DIR) || n > CAIRN_CATALOG_NAME_MAX || strchr(e->name, '/') ||
	    !strcmp(e->name, ".") || !strcmp(e->name, ".."))
		abort();
	if (e->type == CAIRN_CAT_SYMLINK && (!e->target || !*e->target))
		abort();
	/* Inline bytes: a file's, instead of extents, within both bounds. */
	if (e->inline_data && (e->type != CAIRN_CAT_FILE || e->nextents || e->inline_len < 1 ||
			       e->inline_len > CAIRN_CATALOG_INLINE_DATA_MAX || e->inline_len > e->size))
		abort();
	if (!e->inline_data && e->inline_len)
		abort();
	for (size_t i = 0; e->extents && i < e->nextents; i++)
		if (!e->extents[i].length || (i && e->extents[i].file_offset <
							   e->extents[i - 1].file_offset + e->extents[i - 1].length))
			abort();
	/* Compressed extents: an algorithm, and the file's part within what
	 * the on-disk bytes decompress to, both bounded (format.h). */
	for (size_t i = 0; e->extents && i < e->nextents; i++) {
		const struct cairn_cat_extent *x = &e->extents[i];
		if (!x->compression) {
			if (x->disk_length || x->ram_length || x->data_offset)
				abort();
			continue;
		}
		if (x->compression > CAIRN_CAT_COMPRESSION_MAX || x->unwritten || !x->disk_length ||
		    x->disk_length > CAIRN_CATALOG_ZEXTENT_MAX || x->ram_length > CAIRN_CATALOG_ZEXTENT_MAX ||
		    x->data_offset + x->length > x->ram_length)
			abort();
	}
	return 0;
}

static int on_id(const uint8_t id[CAIRN_ID_LEN], void *ud)
{
	(void)id;
	(*(size_t *)ud)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum cairn_catalog_node_kind kind;
	size_t nids = 0;
	int r = cairn_catalog_node_parse(data, size, &kind, on_entry, on_id, &nids);
	uint8_t *ids = NULL;
	size_t n = 0;
	int r2 = cairn_catalog_node_children(data, size, &ids, &n);
	/* The two agree: a node is good or damaged whoever reads it. */
	if ((r < 0) != (r2 < 0) || (r >= 0 && n != nids))
		abort();
	free(ids);
	return 0;
}
