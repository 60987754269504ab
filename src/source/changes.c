#include "source/changes.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

int cairn_change_map_add(struct cairn_change_map *m, uint64_t off, uint64_t len)
{
	if (len == 0)
		return 0;
	if (off + len < off)
		return cairn_error_set(CAIRN_EINVAL, "change range overflows");
	if (m->n) {
		struct cairn_range *last = &m->v[m->n - 1];
		if (off < last->off)
			return cairn_error_set(CAIRN_EINVAL, "change ranges out of order");
		uint64_t end = last->off + last->len;
		if (off <= end) {
			uint64_t nend = off + len > end ? off + len : end;
			m->bytes += nend - end;
			last->len = nend - last->off;
			return 0;
		}
	}
	int r = cairn_array_grow(&m->v, &m->cap, m->n, sizeof(*m->v), 64);
	if (r < 0)
		return r;
	m->v[m->n++] = (struct cairn_range){ off, len };
	m->bytes += len;
	return 0;
}

void cairn_change_map_free(struct cairn_change_map *m)
{
	if (!m)
		return;
	free(m->v);
	m->v = NULL;
	m->n = m->cap = 0;
	m->bytes = 0;
}

uint32_t cairn_change_cursor_mark(struct cairn_change_cursor *c, uint32_t chunk_size, uint64_t first, uint32_t n,
				  uint8_t *changed)
{
	const struct cairn_change_map *m = c->m;
	uint32_t count = 0;
	memset(changed, 0, n);
	for (uint32_t k = 0; k < n; k++) {
		uint64_t cs = (first + k) * chunk_size, ce = cs + chunk_size;
		/* Ranges wholly before this chunk are done with for good. */
		while (c->i < m->n && m->v[c->i].off + m->v[c->i].len <= cs)
			c->i++;
		if (c->i == m->n)
			break;
		if (m->v[c->i].off < ce) {
			changed[k] = 1;
			count++;
		} else {
			/* Skip ahead to the chunk holding the next range's start. */
			uint64_t next = m->v[c->i].off / chunk_size;
			if (next > first + k + 1)
				k = (uint32_t)(next < first + n ? next - first - 1 : n - 1);
		}
	}
	return count;
}

uint64_t cairn_change_cursor_next(struct cairn_change_cursor *c, uint32_t chunk_size, uint64_t from, uint64_t end,
				  bool changed)
{
	const struct cairn_change_map *m = c->m;
	uint64_t k = from;
	while (k < end) {
		uint64_t cs = k * chunk_size;
		while (c->i < m->n && m->v[c->i].off + m->v[c->i].len <= cs)
			c->i++;
		/* Does chunk k overlap range i (the first not wholly before it)? */
		bool hit = c->i < m->n && m->v[c->i].off < cs + chunk_size;
		if (hit == changed)
			return k;
		if (changed) /* k is unchanged: on to the chunk holding range i's start */
			k = c->i < m->n ? MAX(k + 1, m->v[c->i].off / chunk_size) : end;
		else /* k is changed: on to the first chunk after range i */
			k = MAX(k + 1, (m->v[c->i].off + m->v[c->i].len + chunk_size - 1) / chunk_size);
	}
	return end;
}
