/* One catalog extent as JSON, as `catalog --json` and the HTTP API's
 * catalog entry give it (format.h CATALOG EXTENT). */
#ifndef CAIRN_APP_CATJSON_H
#define CAIRN_APP_CATJSON_H

#include "util/catentry.h"

#include <jansson.h>

/* volume_offset, file_offset, length, unwritten, shared; a compressed
 * extent adds compression ("zlib", "lzo", "zstd"), disk_length,
 * ram_length and data_offset.  A new reference, NULL without memory. */
json_t *cairn_cat_extent_json(const struct cairn_cat_extent *x);

#endif
