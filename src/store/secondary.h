/* The read-only secondary endpoint of a repository (?secondary=URL,
 * store/uri.h): a wrapper that reads from the primary's store until that
 * is unreachable, then from the secondary's, and refuses writes from then
 * on (store/secondary.c says when and why).  The store opener applies it
 * when a URI names a secondary.
 */
#ifndef CAIRN_STORE_SECONDARY_H
#define CAIRN_STORE_SECONDARY_H

#include "store/store.h"

#include <stdbool.h>

/* Takes ownership of both stores on success (on failure they stay the
 * caller's).  uri is what the user wrote (the wrapper's uri); the names
 * are the endpoints as messages show them. */
int cairn_store_secondary_wrap(struct cairn_store *primary, struct cairn_store *secondary, const char *uri,
			       const char *primary_name, const char *secondary_name, struct cairn_store **ret);

/* The store s's reads go to now, NULL when s is not a secondary wrapper. */
struct cairn_store *cairn_store_secondary_active(struct cairn_store *s);

/* Has s (a secondary wrapper) switched to its secondary? */
bool cairn_store_secondary_fallen(struct cairn_store *s);

/* Forgets which primaries this process gave up on (for tests that play
 * several commands in one process). */
void cairn_store_secondary_reset(void);

#endif
