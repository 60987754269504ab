/* A growable byte buffer.  Owned by whoever declared it; release with
 * cairn_buf_free() (accepts NULL and zeroed buffers). */
#ifndef CAIRN_UTIL_BUF_H
#define CAIRN_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

struct cairn_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

#define CAIRN_BUF_INIT { NULL, 0, 0 }

int cairn_buf_reserve(struct cairn_buf *b, size_t extra);
int cairn_buf_append(struct cairn_buf *b, const void *data, size_t len);
int cairn_buf_append_u8(struct cairn_buf *b, uint8_t v);
int cairn_buf_append_le16(struct cairn_buf *b, uint16_t v);
int cairn_buf_append_le32(struct cairn_buf *b, uint32_t v);
int cairn_buf_append_le64(struct cairn_buf *b, uint64_t v);
/* Takes ownership of data away from b; b becomes empty. */
uint8_t *cairn_buf_steal(struct cairn_buf *b, size_t *len);
void cairn_buf_clear(struct cairn_buf *b);
void cairn_buf_free(struct cairn_buf *b);

/* A large work buffer of at least len bytes, aligned to 2 MiB and
 * advised for transparent huge pages (where the kernel has them on
 * madvise): one fault and one TLB entry per 2 MiB instead of 512 of
 * each, and direct I/O pins one folio instead of 512 pages.  On a VM
 * every first touch of a 4 KiB page is also a fault in the host.  Freed
 * with free(); NULL when out of memory. */
void *cairn_alloc_large(size_t len);

/* Empties b and gives it a large buffer (cairn_alloc_large) of at least
 * cap bytes, unless it holds that much already; CAIRN_ENOMEM leaves it
 * as it was. */
int cairn_buf_reserve_large(struct cairn_buf *b, size_t cap);

/* Makes room for one more element in a malloc'd array *v of *cap elements
 * of elem bytes holding n: doubles the capacity (from first) when full.
 * CAIRN_ENOMEM leaves the array as it was. */
int cairn_array_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first);

/* A malloc'd copy of the n bytes at p (the caller frees it); NULL when
 * out of memory.  n 0 still gives a pointer. */
void *cairn_memdup(const void *p, size_t n);

static inline void cairn_buf_freep(struct cairn_buf *b)
{
	cairn_buf_free(b);
}

/* Little-endian load/store helpers used by every binary format. */
static inline uint16_t cairn_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t cairn_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t cairn_le64(const uint8_t *p)
{
	return (uint64_t)cairn_le32(p) | ((uint64_t)cairn_le32(p + 4) << 32);
}
static inline void cairn_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void cairn_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void cairn_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A bounds-checked reader over untrusted (but already authenticated) bytes:
 * every get fails once the input is exhausted, so parsers need one check at
 * the end instead of one per field. */
struct cairn_reader {
	const uint8_t *p;
	size_t left;
	int bad;
};

static inline void cairn_reader_init(struct cairn_reader *r, const void *data, size_t len)
{
	r->p = data;
	r->left = len;
	r->bad = 0;
}
const uint8_t *cairn_reader_bytes(struct cairn_reader *r, size_t n);
uint8_t cairn_reader_u8(struct cairn_reader *r);
uint16_t cairn_reader_le16(struct cairn_reader *r);
uint32_t cairn_reader_le32(struct cairn_reader *r);
uint64_t cairn_reader_le64(struct cairn_reader *r);

#endif
