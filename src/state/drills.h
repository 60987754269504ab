/* Recovery drills in the state database (docs/design.md §15): one row per
 * drill run (what was restored from where, the measured RTO, the
 * verdict), and the drill schedules the daemon runs (`drill --every`).
 * Tables drills and drill_schedules (state.h). */
#ifndef CAIRN_STATE_DRILLS_H
#define CAIRN_STATE_DRILLS_H

#include "state/state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cairn_drill_row {
	int64_t id;
	char *kind; /* "volume" or "group" */
	char *name;
	char *repo;
	char *backup; /* the restore point's id (hex) */
	int64_t started; /* unix seconds */
	double restore_s, check_s;
	uint64_t bytes;
	bool ok;
	char *message; /* may be NULL */
	int64_t job;   /* 0: none */
};
void cairn_drill_row_clear(struct cairn_drill_row *r);
void cairn_drill_rows_free(struct cairn_drill_row *v, size_t n);

int cairn_drill_record(struct cairn_state *st, const struct cairn_drill_row *r, int64_t *ret_id);
/* The newest drill of (kind, name): CAIRN_ENOTFOUND quietly when none. */
int cairn_drill_last(struct cairn_state *st, const char *kind, const char *name, struct cairn_drill_row *ret);
/* The newest `limit` drills, newest first. */
int cairn_drill_list(struct cairn_state *st, size_t limit, struct cairn_drill_row **ret, size_t *ret_n);

struct cairn_drill_schedule {
	char *kind, *name;
	char *repo;           /* NULL: the default (drill.h) */
	int64_t every;        /* seconds */
	char *verify_command; /* may be NULL */
	char *scratch;        /* may be NULL */
	int64_t created, last_run;
};
void cairn_drill_schedule_clear(struct cairn_drill_schedule *s);
void cairn_drill_schedules_free(struct cairn_drill_schedule *v, size_t n);
/* Adds or replaces the schedule of (kind, name). */
int cairn_drill_schedule_set(struct cairn_state *st, const struct cairn_drill_schedule *s);
/* CAIRN_ENOTFOUND when there is none. */
int cairn_drill_schedule_delete(struct cairn_state *st, const char *kind, const char *name);
int cairn_drill_schedule_get(struct cairn_state *st, const char *kind, const char *name,
			     struct cairn_drill_schedule *ret);
int cairn_drill_schedule_list(struct cairn_state *st, struct cairn_drill_schedule **ret, size_t *ret_n);
int cairn_drill_schedule_set_last_run(struct cairn_state *st, const char *kind, const char *name, int64_t t);

#endif
