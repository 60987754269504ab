/* Warm standby volumes (docs/design.md §14): a volume or a group kept at
 * the DR site equal to a restore point of a repository, updated by
 * `cairn standby update` (app/standby.h).  Table standbys (state.h). */
#ifndef CAIRN_STATE_STANDBYS_H
#define CAIRN_STATE_STANDBYS_H

#include "state/state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cairn_standby {
	char *name;
	int64_t created;   /* unix seconds */
	bool group;        /* source names a group, target a directory */
	char *source;      /* the volume's or the group's name */
	char *uri;
	char *cred;        /* or NULL */
	char *target;      /* absolute */
	int64_t every;     /* seconds between updates; 0 none */
	char *backup;      /* the restore point held (hex id), or NULL */
	int64_t backup_created; /* unix microseconds */
	int64_t applied;   /* unix seconds */
	int64_t apply_ms;
	uint64_t bytes_written;
	char *fingerprint; /* or NULL */
	char *pending;     /* or NULL */
	int64_t last_run;  /* unix seconds */
};

void cairn_standby_clear(struct cairn_standby *s);
void cairn_standbys_free(struct cairn_standby *v, size_t n);

/* Adds s (its name, kind, source, uri, cred, target, every, created);
 * CAIRN_EEXIST when the name is taken. */
int cairn_standby_add(struct cairn_state *st, const struct cairn_standby *s);
/* CAIRN_ENOTFOUND with "no standby named ..." */
int cairn_standby_get(struct cairn_state *st, const char *name, struct cairn_standby *ret);
int cairn_standby_list(struct cairn_state *st, struct cairn_standby **ret, size_t *ret_n);
int cairn_standby_delete(struct cairn_state *st, const char *name);
/* The commit point of an update (pending not NULL) or its end (NULL). */
int cairn_standby_set_pending(struct cairn_state *st, const char *name, const char *pending);
/* An update finished: what the standby holds now and what it cost;
 * clears pending in the same statement. */
int cairn_standby_set_applied(struct cairn_state *st, const char *name, const char *backup, int64_t backup_created,
			      int64_t applied, int64_t apply_ms, uint64_t bytes_written, const char *fingerprint);
int cairn_standby_set_last_run(struct cairn_state *st, const char *name, int64_t t);

#endif
