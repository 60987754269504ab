/* Driver-independent parts of the store interface (store.h). */
#include "store/store.h"

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
