/* Object lock and append-only credentials (format.h OBJECT LOCK).
 *
 * A repository made with `init --object-lock DAYS` names the retention in
 * its config; opening it hands the retention to the store, which then
 * puts every object of a locked kind (config, keys, packs, manifests,
 * group objects) with a retain-until date DAYS ahead.  The kinds their
 * owners delete or replace (index objects, holds, leases, activity
 * markers) are written without one.  Forget and prune ask the store for
 * an object's date before they delete it.
 */
#ifndef CAIRN_REPO_OBJLOCK_H
#define CAIRN_REPO_OBJLOCK_H

#include "repo/kinds.h"
#include "repo/repo.h"

#include <stdbool.h>
#include <stdint.h>

/* Whether objects of kind k are written under the lock. */
bool cairn_object_kind_locked(enum cairn_object_kind k);

/* The unix time until which the object of kind k and id is retained; 0
 * when it is not (no lock, or a store without one). */
int cairn_repo_lock_until(struct cairn_repo *repo, enum cairn_object_kind k, const uint8_t *id, int64_t *ret_until);

/* Whether the repository's credential may delete: a delete of a name no
 * object has (which removes nothing).  CAIRN_EPERM with "the credential
 * for URI may not delete objects (append-only): OP needs one that may"
 * when the server refuses. */
int cairn_repo_may_delete(struct cairn_repo *repo, const char *op);

#endif
