/* The file catalog of a backup (format.h CATALOG): the volume's file
 * systems (source/extscan.h) written as catalog nodes (repo/catalog.h). */
#ifndef CAIRN_ENGINE_CATALOG_H
#define CAIRN_ENGINE_CATALOG_H

#include "repo/catalog.h"

#include <stdbool.h>
#include <stdint.h>

struct cairn_catalog_result {
	bool has_root;
	uint8_t root[CAIRN_ID_LEN];
	char reason[CAIRN_CATALOG_REASON_MAX + 1]; /* without a root: why */
	unsigned damaged; /* file systems skipped for damage (each warned about) */
};

/* Reads the file systems of the volume open at fd (size bytes; the
 * descriptor the backup read, so the catalog describes the same bytes)
 * and hands each catalog node to emit.  A file system that cannot be read
 * is no error: the result says why there is no catalog (a warning is
 * logged for damage).  Errors are emit's, memory, and CAIRN_ECANCELED. */
int cairn_catalog_build(int fd, uint64_t size, struct cairn_hasher *hasher, cairn_catalog_emit_fn emit, void *ud,
			struct cairn_catalog_result *ret);

#endif
