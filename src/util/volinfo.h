/* What a restored volume inherits from its source: the attributes
 * source/volinfo.c probes and a manifest records (format.h MANIFEST,
 * volume_info).  A plain value below both source/ and repo/, so that
 * neither includes the other. */
#ifndef CAIRN_UTIL_VOLINFO_H
#define CAIRN_UTIL_VOLINFO_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Strings NULL when unknown. */
struct cairn_volume_info {
	uint32_t logical_block_size; /* 0: unknown */
	char *fs_type;               /* "ext4", "xfs", ... */
	char *label;
	char *uuid;
};

static inline void cairn_volume_info_clear(struct cairn_volume_info *i)
{
	free(i->fs_type);
	free(i->label);
	free(i->uuid);
	memset(i, 0, sizeof(*i));
}

#endif
