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
	size_t n = 0, k = 0;
	int64_t next_due = INT64_MAX;
	*ret = NULL;
	*ret_n = 0;
	int r = cairn_standby_list(st, &v, &n);
	if (r < 0)
		return r;
	char **names = calloc(n ? n : 1, sizeof(char *));
	if (!names) {
		cairn_standbys_free(v, n);
		return cairn_error_nomem();
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		if (v[i].every <= 0 || cairn_failover_active(st, v[i].name)) /* handed over */
			continue;
		/* Counted from the last start, or from the first restore. */
		int64_t next = cairn_schedule_next(v[i].every, NULL, v[i].created,
						   v[i].last_run ? v[i].last_run : v[i].applied);
		if (next < 0)
			continue;
		if (next > now) {
			if (next < next_due)
				next_due = next;
			continue;
		}
		if ((r = cairn_standby_set_last_run(st, v[i].name, now)) < 0)
			break;
		if (!(names[k] = strdup(v[i].name)))
			r = cairn_error_nomem();
		else
			k++;
	}
	cairn_standbys_free(v, n);
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
