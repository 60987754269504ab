/* Standby schedules (standbys.h). */
#include "daemon/standbys.h"
#include "daemon/schedule.h"
#include "state/failovers.h"
#include "state/standbys.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

int cairn_daemon_standbys_due(struct cairn_state *st, int64_t now, char ***ret, size_t *ret_n, int64_t *ret_next_due)
{
	struct cairn_standby *v = NULL;
	size_t n = 0;
	struct cairn_due_list d = CAIRN_DUE_LIST_INIT;
	int r = cairn_standby_list(st, &v, &n);
	if (r < 0)
		return cairn_due_finish(&d, r, ret, ret_n, ret_next_due);
	for (size_t i = 0; i < n && r >= 0; i++) {
		if (v[i].every <= 0 || cairn_failover_active(st, v[i].name)) /* handed over */
			continue;
		/* Counted from the last start, or from the first restore. */
		if (!cairn_due_at(&d, now, v[i].every, v[i].created, v[i].last_run ? v[i].last_run : v[i].applied))
			continue;
		if ((r = cairn_standby_set_last_run(st, v[i].name, now)) >= 0)
			r = cairn_due_add(&d, v[i].name);
	}
	cairn_standbys_free(v, n);
	return cairn_due_finish(&d, r, ret, ret_n, ret_next_due);
}
