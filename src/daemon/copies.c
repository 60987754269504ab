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
	size_t n = 0, k = 0;
	int64_t next_due = INT64_MAX;
	*ret = NULL;
	*ret_n = 0;
	int r = cairn_policy_list(st, &v, &n);
	if (r < 0)
		return r;
	char **names = calloc(n ? n : 1, sizeof(char *));
	if (!names) {
		cairn_policies_free(v, n);
		return cairn_error_nomem();
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		const struct cairn_policy *p = &v[i];
		if (p->paused || !p->copy_to || p->copy_every <= 0)
			continue;
		int64_t next = cairn_schedule_next(p->copy_every, NULL, p->created, p->last_copy);
		if (next < 0)
			continue;
		if (next > now) {
			if (next < next_due)
				next_due = next;
			continue;
		}
		/* The slot is taken now, however long the copy runs. */
		if ((r = cairn_policy_set_last_copy(st, p->name, now)) < 0)
			break;
		if (!(names[k] = strdup(p->name)))
			r = cairn_error_nomem();
		else
			k++;
	}
	cairn_policies_free(v, n);
	if (r < 0) {
		for (size_t i = 0; i < k; i++)
			free(names[i]);
		free(names);
		return r;
	}
	*ret = names;
	*ret_n = k;
	if (ret_next_due)
		*ret_next_due = next_due;
	return 0;
}
