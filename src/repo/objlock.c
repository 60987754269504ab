/* Object lock and append-only credentials (objlock.h). */
#include "repo/objlock.h"
#include "util/error.h"
#include "util/hex.h"

#include <string.h>

bool cairn_object_kind_locked(enum cairn_object_kind k)
{
	switch (k) {
	case CAIRN_OBJ_CONFIG:
	case CAIRN_OBJ_KEY:
	case CAIRN_OBJ_PACK:
	case CAIRN_OBJ_MANIFEST:
	case CAIRN_OBJ_GROUP:
		return true;
	default:
		/* Index objects are rebuilt from the packs (repair index);
		 * holds, leases and markers are their owners' to delete. */
		return false;
	}
}

int cairn_repo_lock_until(struct cairn_repo *repo, enum cairn_object_kind k, const uint8_t *id, int64_t *ret_until)
{
	*ret_until = 0;
	if (!repo->config.object_lock_days || !cairn_object_kind_locked(k))
		return 0;
	char name[CAIRN_OBJECT_NAME_MAX];
	cairn_object_name(k, id, name);
	return cairn_store_lock_until(repo->store, name, ret_until);
}

int cairn_repo_may_delete(struct cairn_repo *repo, const char *op)
{
	/* A marker's name nobody holds: random. */
	uint8_t id[CAIRN_PRESENCE_ID_LEN];
	char name[CAIRN_OBJECT_NAME_MAX];
	int r = cairn_random(id, sizeof(id));
	if (r < 0)
		return r;
	cairn_object_name(CAIRN_OBJ_MARKER, id, name);
	r = cairn_store_del(repo->store, name);
	/* A directory says why itself (read-only, permissions). */
	if (r == CAIRN_EPERM && cairn_store_has(repo->store, CAIRN_STORE_FEAT_LOCAL))
		return cairn_error_prefix(r, "%s needs to delete objects in %s", op, repo->store->uri);
	if (r == CAIRN_EPERM)
		return cairn_error_set(r,
				       "the credential for %s may not delete objects (append-only): %s needs one "
				       "that may",
				       repo->store->uri, op);
	return r;
}
