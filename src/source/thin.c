#include "source/thin.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/proc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THIN_DELTA_TIMEOUT_S 600

/* The value of attribute name="..." inside the tag [tag, end), or NULL. */
static const char *attr(const char *tag, const char *end, const char *name, size_t *ret_len)
{
	size_t nl = strlen(name);
	for (const char *p = tag; p + nl + 2 < end; p++) {
		if (memcmp(p, name, nl) != 0 || p[nl] != '=' || p[nl + 1] != '"' || (p > tag && p[-1] != ' '))
			continue;
		const char *v = p + nl + 2;
		const char *q = memchr(v, '"', (size_t)(end - v));
		if (!q)
			return NULL;
		*ret_len = (size_t)(q - v);
		return v;
	}
	return NULL;
}

/* An unsigned decimal attribute; false when missing or malformed. */
static bool attr_u64(const char *tag, const char *end, const char *name, uint64_t *ret)
{
	size_t n = 0;
	const char *v = attr(tag, end, name, &n);
	if (!v || n == 0 || n > 19)
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*ret = x;
	return true;
}

static bool tag_is(const char *p, const char *end, const char *name)
{
	size_t n = strlen(name);
	return (size_t)(end - p) > n && memcmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '/' || p[n] == '>');
}

int cairn_thin_delta_parse(const char *xml, size_t len, uint64_t size, struct cairn_change_map *out)
{
	const char *p = xml, *end = xml + len;
	uint64_t block = 0; /* bytes */
	bool in_diff = false, seen_diff = false;
	while ((p = memchr(p, '<', (size_t)(end - p)))) {
		const char *close = memchr(p, '>', (size_t)(end - p));
		if (!close)
			return cairn_error_set(CAIRN_ECORRUPT, "thin_delta output: unterminated tag");
		const char *t = p + 1;
		if (tag_is(t, close, "superblock")) {
			uint64_t sectors;
			if (!attr_u64(t, close, "data_block_size", &sectors) || sectors == 0 || sectors > (1u << 21))
				return cairn_error_set(CAIRN_ECORRUPT, "thin_delta output: no valid data_block_size");
			block = sectors * 512;
		} else if (tag_is(t, close, "diff")) {
			in_diff = seen_diff = true;
		} else if (tag_is(t, close, "/diff")) {
			in_diff = false;
		} else if (tag_is(t, close, "different") || tag_is(t, close, "left_only") ||
			   tag_is(t, close, "right_only")) {
			uint64_t begin, n;
			if (!block || !in_diff)
				return cairn_error_set(CAIRN_ECORRUPT, "thin_delta output: a range outside <diff>");
			if (!attr_u64(t, close, "begin", &begin) || !attr_u64(t, close, "length", &n) ||
			    begin > UINT64_MAX / block || n > UINT64_MAX / block - begin)
				return cairn_error_set(CAIRN_ECORRUPT, "thin_delta output: a bad range");
			uint64_t off = begin * block, l = n * block;
			if (off < size) {
				int r = cairn_change_map_add(out, off, l > size - off ? size - off : l);
				if (r < 0)
					return r == CAIRN_EINVAL ? cairn_error_set(CAIRN_ECORRUPT, "thin_delta output: ranges "
												   "out of order")
								 : r;
			}
		} else if (tag_is(t, close, "same")) {
			if (!in_diff)
				return cairn_error_set(CAIRN_ECORRUPT, "thin_delta output: a range outside <diff>");
		}
		p = close + 1;
	}
	if (!seen_diff)
		return cairn_error_set(CAIRN_ECORRUPT, "thin_delta output has no <diff>");
	return 0;
}

int cairn_thin_delta_run(const char *metadata, uint64_t snap1, uint64_t snap2, bool metadata_snap, uint64_t size,
			 struct cairn_change_map *out)
{
	char a[24], b[24];
	snprintf(a, sizeof(a), "%llu", (unsigned long long)snap1);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)snap2);
	const char *argv_snap[] = { "thin_delta", "-m", "--snap1", a, "--snap2", b, metadata, NULL };
	const char *argv_file[] = { "thin_delta", "--snap1", a, "--snap2", b, metadata, NULL };
	_cleanup_(cairn_buf_freep) struct cairn_buf xml = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf err = CAIRN_BUF_INIT;
	int r = cairn_run_capture(metadata_snap ? argv_snap : argv_file, &xml, &err, THIN_DELTA_TIMEOUT_S);
	if (r < 0)
		return r;
	if ((r = cairn_thin_delta_parse((const char *)xml.data, xml.len, size, out)) < 0)
		return r;
	out->method = "thin-delta";
	return 0;
}
