/* libFuzzer target: an opened group backup object.  What parses must
 * carry only names group restore may make files of (repo/names.h), and
 * encode and parse back to the same group backup. */
#include "cairn/error.h"
#include "repo/group.h"
#include "repo/names.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cairn_group_backup *g = NULL;
	if (cairn_group_backup_parse(data, size, &g) != 0)
		return 0;
	if (!g || !g->name || !*g->name || g->nmembers == 0 || g->created_us < 0 ||
	    (g->config_name && g->config_len > CAIRN_GROUP_CONFIG_MAX))
		abort();
	for (size_t i = 0; i < g->nmembers; i++)
		if (cairn_name_problem(g->members[i].volume, false))
			abort();
	if (g->config_name && cairn_name_problem(g->config_name, true))
		abort();
	char *json = NULL;
	if (cairn_group_backup_encode(g, &json) != 0)
		abort();
	struct cairn_group_backup *b = NULL;
	if (cairn_group_backup_parse((const uint8_t *)json, strlen(json), &b) != 0)
		abort();
	if (memcmp(g->id, b->id, sizeof(g->id)) || strcmp(g->name, b->name) || g->created_us != b->created_us ||
	    g->nmembers != b->nmembers || g->nfreeze != b->nfreeze || !g->config_name != !b->config_name ||
	    g->config_len != b->config_len || (g->config_len && memcmp(g->config, b->config, g->config_len)))
		abort();
	for (size_t i = 0; i < g->nmembers; i++)
		if (strcmp(g->members[i].volume, b->members[i].volume) ||
		    memcmp(g->members[i].backup, b->members[i].backup, sizeof(g->members[i].backup)))
			abort();
	cairn_group_backup_free(b);
	cairn_group_backup_free(g);
	free(json);
	return 0;
}
