/* libFuzzer target: an opened hold object (format.h HOLD).  What parses
 * must encode and parse back to the same hold. */
#include "cairn/error.h"
#include "repo/hold.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cairn_hold h;
	if (cairn_hold_parse(data, size, &h) != 0)
		return 0;
	if (!h.reason || !h.hostname || h.created < 0 || strlen(h.reason) > CAIRN_HOLD_REASON_MAX ||
	    strlen(h.backup_hex) != 2 * CAIRN_BACKUP_ID_LEN)
		abort();
	char *json = NULL;
	if (cairn_hold_encode(&h, &json) != 0)
		abort();
	struct cairn_hold b;
	if (cairn_hold_parse((const uint8_t *)json, strlen(json), &b) != 0)
		abort();
	if (memcmp(h.backup, b.backup, sizeof(h.backup)) || strcmp(h.reason, b.reason) ||
	    strcmp(h.hostname, b.hostname) || h.created != b.created)
		abort();
	cairn_hold_clear(&b);
	cairn_hold_clear(&h);
	free(json);
	return 0;
}
