/* Percent-encoding for URLs and for what SigV4 signs. */
#include "http/http.h"

#include <stdbool.h>

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || c == '~';
}

int cairn_http_append_encoded(struct cairn_buf *b, const char *s, size_t n, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = cairn_buf_reserve(b, 3 * n + 1);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || (keep_slash && c == '/')) {
			b->data[b->len++] = c;
		} else {
			b->data[b->len++] = '%';
			b->data[b->len++] = (uint8_t)hex[c >> 4];
			b->data[b->len++] = (uint8_t)hex[c & 15];
		}
	}
	/* Callers use the buffer as a C string. */
	b->data[b->len] = 0;
	return 0;
}
