/* Notifications not yet delivered (table notify_outbox, state.h version
 * 19: migration step 18): one row per event and notifier, made when the
 * daemon announces the event and removed when the notifier took it, so
 * that a daemon that stops (or dies) with deliveries pending or failing
 * makes them when it starts again. */
#ifndef CAIRN_STATE_OUTBOX_H
#define CAIRN_STATE_OUTBOX_H

#include "state/state.h"

#include <stddef.h>
#include <stdint.h>

struct cairn_outbox_item {
	int64_t id;
	char *notifier, *body;
	int64_t created;  /* unix seconds */
	unsigned attempts; /* deliveries that failed so far */
};
void cairn_outbox_items_free(struct cairn_outbox_item *v, size_t n);

/* Records body for notifier, due at once. */
int cairn_outbox_put(struct cairn_state *st, const char *notifier, const char *body, int64_t now, int64_t *ret_id);
/* The items due at now (next_try <= now), oldest first, at most max. */
int cairn_outbox_due(struct cairn_state *st, int64_t now, size_t max, struct cairn_outbox_item **ret, size_t *ret_n);
/* Delivered, or given up: the row goes. */
int cairn_outbox_remove(struct cairn_state *st, int64_t id);
/* A delivery failed: one more attempt counted, due again at next_try. */
int cairn_outbox_retry(struct cairn_state *st, int64_t id, int64_t next_try, const char *error);
/* How many are pending (metrics, tests). */
int cairn_outbox_count(struct cairn_state *st, size_t *ret);

#endif
