/* Replication on a schedule (copies.h). */
#include "daemon/copies.h"
#include "daemon/schedule.h"
#include "state/policies.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

int cairn_daemon_copies_due(struct cairn_state *st, int64_t now, char ***ret, size_t *ret_n, int64_t *ret_next_due)
{
	struct cairn_policy *v = NULL;
	size_t n = 0;
	struct cairn_due_list d = CAIRN_DUE_LIST_INIT;
	int r = cairn_policy_list(st, &v, &n);
	if (r < 0)
		return cairn_due_finish(&d, r, ret, ret_n, ret_next_due);
	for (size_t i = 0; i < n && r >= 0; i++) {
		const struct cairn_policy *p = &v[i];
		if (p->paused || !p->copy_to || !cairn_due_at(&d, now, p->copy_every, p->created, p->last_copy))
			continue;
		/* The slot is taken now, however long the copy runs. */
		if ((r = cairn_policy_set_last_copy(st, p->name, now)) >= 0)
			r = cairn_due_add(&d, p->name);
	}
	cairn_policies_free(v, n);
	return cairn_due_finish(&d, r, ret, ret_n, ret_next_due);
}
