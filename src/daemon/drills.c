/* Recovery drills on a schedule (drills.h). */
#include "daemon/drills.h"
#include "daemon/schedule.h"
#include "state/drills.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cairn_daemon_drills_due(struct cairn_state *st, int64_t now, char ***ret, size_t *ret_n, int64_t *ret_next_due)
{
	struct cairn_drill_schedule *v = NULL;
	size_t n = 0;
	struct cairn_due_list d = CAIRN_DUE_LIST_INIT;
	int r = cairn_drill_schedule_list(st, &v, &n);
	if (r < 0)
		return cairn_due_finish(&d, r, ret, ret_n, ret_next_due);
	for (size_t i = 0; i < n && r >= 0; i++) {
		const struct cairn_drill_schedule *s = &v[i];
		if (!cairn_due_at(&d, now, s->every, s->created, s->last_run))
			continue;
		/* The slot is taken now, however long the drill runs. */
		if ((r = cairn_drill_schedule_set_last_run(st, s->kind, s->name, now)) < 0)
			break;
		size_t len = strlen(s->kind) + strlen(s->name) + 2;
		_cleanup_free_ char *name = malloc(len);
		if (!name) {
			r = cairn_error_nomem();
		} else {
			snprintf(name, len, "%s:%s", s->kind, s->name);
			r = cairn_due_add(&d, name);
		}
	}
	cairn_drill_schedules_free(v, n);
	return cairn_due_finish(&d, r, ret, ret_n, ret_next_due);
}
