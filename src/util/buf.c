#include "util/buf.h"
#include "cairn/error.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define LARGE_ALIGN ((size_t)2 << 20)

void *cairn_alloc_large(size_t len)
{
	size_t cap = (len + LARGE_ALIGN - 1) / LARGE_ALIGN * LARGE_ALIGN;
	if (cap < len)
		return NULL;
	void *p = aligned_alloc(LARGE_ALIGN, cap ? cap : LARGE_ALIGN);
	if (p)
		(void)madvise(p, cap, MADV_HUGEPAGE); /* a hint: without it, 4 KiB pages */
	return p;
}

int cairn_buf_reserve_large(struct cairn_buf *b, size_t cap)
{
	if (b->cap < cap) {
		uint8_t *p = cairn_alloc_large(cap);
		if (!p)
			return cairn_error_nomem();
		free(b->data);
		b->data = p;
		b->cap = cap;
	}
	b->len = 0;
	return 0;
}

int cairn_buf_reserve(struct cairn_buf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return 0;
	size_t want = b->len + extra;
	if (want < b->len)
		return cairn_error_nomem();
	size_t cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap * 2 > cap ? cap * 2 : want;
	uint8_t *p = realloc(b->data, cap);
	if (!p)
		return cairn_error_nomem();
	b->data = p;
	b->cap = cap;
	return 0;
}

int cairn_buf_append(struct cairn_buf *b, const void *data, size_t len)
{
	int r = cairn_buf_reserve(b, len);
	if (r < 0)
		return r;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int cairn_buf_append_u8(struct cairn_buf *b, uint8_t v)
{
	return cairn_buf_append(b, &v, 1);
}

int cairn_buf_append_le16(struct cairn_buf *b, uint16_t v)
{
	uint8_t t[2];
	cairn_put_le16(t, v);
	return cairn_buf_append(b, t, 2);
}

int cairn_buf_append_le32(struct cairn_buf *b, uint32_t v)
{
	uint8_t t[4];
	cairn_put_le32(t, v);
	return cairn_buf_append(b, t, 4);
}

int cairn_buf_append_le64(struct cairn_buf *b, uint64_t v)
{
	uint8_t t[8];
	cairn_put_le64(t, v);
	return cairn_buf_append(b, t, 8);
}

uint8_t *cairn_buf_steal(struct cairn_buf *b, size_t *len)
{
	uint8_t *p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void cairn_buf_clear(struct cairn_buf *b)
{
	b->len = 0;
}

void cairn_buf_free(struct cairn_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

const uint8_t *cairn_reader_bytes(struct cairn_reader *r, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = 1;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

uint8_t cairn_reader_u8(struct cairn_reader *r)
{
	const uint8_t *p = cairn_reader_bytes(r, 1);
	return p ? p[0] : 0;
}

uint16_t cairn_reader_le16(struct cairn_reader *r)
{
	const uint8_t *p = cairn_reader_bytes(r, 2);
	return p ? cairn_le16(p) : 0;
}

uint32_t cairn_reader_le32(struct cairn_reader *r)
{
	const uint8_t *p = cairn_reader_bytes(r, 4);
	return p ? cairn_le32(p) : 0;
}

uint64_t cairn_reader_le64(struct cairn_reader *r)
{
	const uint8_t *p = cairn_reader_bytes(r, 8);
	return p ? cairn_le64(p) : 0;
}

int cairn_array_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? 2 * *cap : first;
	if (ncap < *cap || ncap > SIZE_MAX / elem)
		return cairn_error_nomem();
	void *p = realloc(*(void **)v, ncap * elem);
	if (!p)
		return cairn_error_nomem();
	*(void **)v = p;
	*cap = ncap;
	return 0;
}

void *cairn_memdup(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);
	if (q && n)
		memcpy(q, p, n);
	return q;
}
