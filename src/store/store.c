/* Driver-independent parts of the store interface (store.h). */
#include "store/store.h"
#include "cairn/error.h"
#include "util/error.h"
#include <string.h>
#include <stdlib.h>

int cairn_store_create(struct cairn_store *s)
{
	/* Stores without a container to make (or that make it lazily) have
	 * nothing to do. */
	return s->ops->create ? s->ops->create(s) : 0;
}

void cairn_store_free(struct cairn_store *s)
{
	if (!s)
		return;
	/* The driver frees everything, uri included: wrappers need their own
	 * fields (and the uri) while they tear down. */
	s->ops->free(s);
}

static int collect_key(const char *key, uint64_t size, void *ud)
{
	struct cairn_key_list *l = ud;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		char **p = realloc(l->v, cap * sizeof(*p));
		if (!p)
			return cairn_error_nomem();
		l->v = p;
		uint64_t *z = realloc(l->size, cap * sizeof(*z));
		if (!z)
			return cairn_error_nomem();
		l->size = z;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(key)))
		return cairn_error_nomem();
	l->size[l->n++] = size;
	return 0;
}

int cairn_store_list_keys(struct cairn_store *s, const char *prefix, struct cairn_key_list *ret)
{
	memset(ret, 0, sizeof(*ret));
	int r = cairn_store_list(s, prefix, collect_key, ret);
	if (r < 0)
		cairn_key_list_free(ret);
	return r;
}

void cairn_key_list_free(struct cairn_key_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->size);
	memset(l, 0, sizeof(*l));
}
