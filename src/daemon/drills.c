/* Recovery drills on a schedule (drills.h). */
#include "daemon/drills.h"
#include "daemon/schedule.h"
#include "state/drills.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cairn_daemon_drills_due(struct cairn_state *st, int64_t now, char ***ret, size_t *ret_n, int64_t *ret_next_due)
{
	struct cairn_drill_schedule *v = NULL;
	size_t n = 0, k = 0;
	int64_t next_due = INT64_MAX;
	*ret = NULL;
	*ret_n = 0;
	int r = cairn_drill_schedule_list(st, &v, &n);
	if (r < 0)
		return r;
	char **names = calloc(n ? n : 1, sizeof(char *));
	if (!names) {
		cairn_drill_schedules_free(v, n);
		return cairn_error_nomem();
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		const struct cairn_drill_schedule *s = &v[i];
		int64_t next = cairn_schedule_next(s->every, NULL, s->created, s->last_run);
		if (next < 0)
			continue;
		if (next > now) {
			if (next < next_due)
				next_due = next;
			continue;
		}
		/* The slot is taken now, however long the drill runs. */
		if ((r = cairn_drill_schedule_set_last_run(st, s->kind, s->name, now)) < 0)
			break;
		size_t len = strlen(s->kind) + strlen(s->name) + 2;
		if (!(names[k] = malloc(len)))
			r = cairn_error_nomem();
		else
			snprintf(names[k++], len, "%s:%s", s->kind, s->name);
	}
	cairn_drill_schedules_free(v, n);
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
