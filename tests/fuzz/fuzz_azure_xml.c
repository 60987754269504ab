/* libFuzzer target: the Azure Blob replies the driver parses (every reply
 * body is untrusted input).  The first byte picks the parser: even, a List
 * Blobs page (<EnumerationResults>); odd, an <Error> document.  The rest
 * is the body.  Seeds: static-seeds/fuzz_azure_xml/, replies as Azurite
 * sends them. */
#include "cairn/error.h"
#include "store/azure/azure.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *doc = data + 1;
	size_t len = size - 1;
	if (data[0] % 2 == 0) {
		struct cairn_httpstore_page p;
		if (cairn_azure_parse_list(doc, len, &p) != 0) {
			/* A failed parse leaves nothing behind. */
			if (p.n || p.v || p.next)
				abort();
			return 0;
		}
		for (size_t i = 0; i < p.n; i++)
			if (!p.v[i].key || !p.v[i].key[0] || strlen(p.v[i].key) > len)
				abort();
		if (p.next && !p.next[0])
			abort();
		cairn_httpstore_page_free(&p);
	} else {
		struct cairn_azure_error e;
		int r = cairn_azure_parse_error(doc, len, &e);
		/* The fields are always NUL-terminated strings, one line each. */
		if (strlen(e.code) >= sizeof(e.code) || strchr(e.message, '\n') || strchr(e.detail, '\n'))
			abort();
		if (r != 0 && (e.code[0] || e.message[0] || e.detail[0]))
			abort();
	}
	return 0;
}
