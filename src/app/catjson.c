/* Catalog extents as JSON (catjson.h). */
#include "app/catjson.h"
#include "compress/fszip.h"

json_t *cairn_cat_extent_json(const struct cairn_cat_extent *x)
{
	json_t *j = json_pack("{s:I, s:I, s:I, s:b, s:b}", "volume_offset", (json_int_t)x->volume_offset,
			      "file_offset", (json_int_t)x->file_offset, "length", (json_int_t)x->length, "unwritten",
			      x->unwritten, "shared", x->shared);
	/* A compressed extent: its on-disk bytes at volume_offset. */
	if (j && x->compression) {
		json_object_set_new(j, "compression", json_string(cairn_fszip_name(x->compression)));
		json_object_set_new(j, "disk_length", json_integer((json_int_t)x->disk_length));
		json_object_set_new(j, "ram_length", json_integer((json_int_t)x->ram_length));
		json_object_set_new(j, "data_offset", json_integer((json_int_t)x->data_offset));
	}
	return j;
}
