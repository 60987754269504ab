/* libFuzzer target: an opened lease or activity marker (format.h LEASE,
 * ACTIVITY).  What parses must encode and parse back to the same record. */
#include "cairn/error.h"
#include "repo/lease.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cairn_presence p;
	if (cairn_presence_parse(data, size, &p) != 0)
		return 0;
	if (!p.kind[0] || p.who.pid < 0 || p.created < 0 || p.expires < 0 || p.damaged)
		abort();
	char *json = NULL;
	if (cairn_presence_encode(&p, &json) != 0)
		return 0; /* a host name that is not UTF-8 cannot be written back */
	struct cairn_presence q;
	if (cairn_presence_parse((const uint8_t *)json, strlen(json), &q) != 0)
		abort();
	if (strcmp(p.kind, q.kind) || strcmp(p.who.host, q.who.host) || strcmp(p.who.boot_id, q.who.boot_id) ||
	    p.who.pid != q.who.pid || p.who.start != q.who.start || p.created != q.created || p.expires != q.expires)
		abort();
	free(json);
	return 0;
}
