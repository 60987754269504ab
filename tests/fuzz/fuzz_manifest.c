/* libFuzzer target: an opened manifest.  What parses must encode and parse
 * back to the same backup. */
#include "cairn/error.h"
#include "repo/manifest.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cairn_manifest *m = NULL;
	if (cairn_manifest_parse(data, size, &m) != 0)
		return 0;
	if (!m || !m->volume || !*m->volume || m->levels < 1 || m->levels > 16 || m->created_us < 0)
		abort();
	char *json = NULL;
	if (cairn_manifest_encode(m, &json) != 0)
		abort();
	struct cairn_manifest *b = NULL;
	if (cairn_manifest_parse((const uint8_t *)json, strlen(json), &b) != 0)
		abort();
	if (memcmp(m->id, b->id, sizeof(m->id)) || memcmp(m->root, b->root, sizeof(m->root)) ||
	    strcmp(m->volume, b->volume) || m->created_us != b->created_us || m->size != b->size ||
	    m->chunk_size != b->chunk_size || m->levels != b->levels || m->has_parent != b->has_parent ||
	    (m->has_parent && memcmp(m->parent, b->parent, sizeof(m->parent))) || m->ntags != b->ntags)
		abort();
	for (size_t i = 0; i < m->ntags; i++)
		if (strcmp(m->tags[i], b->tags[i]))
			abort();
	cairn_manifest_free(b);
	free(json);
	cairn_manifest_free(m);
	return 0;
}
