/* Consistency groups (docs/design.md §2, the "instance"): volumes snapshotted
 * at one instant, the mounted file systems to freeze for that instant,
 * hooks run around the freeze, and a config document stored with every
 * group backup.  Table groups and group_members (state.h). */
#ifndef CAIRN_STATE_GROUPS_H
#define CAIRN_STATE_GROUPS_H

#include "state/state.h"

#include <stddef.h>
#include <stdint.h>

#define CAIRN_GROUP_MAX_FREEZE_MS_DEFAULT 5000

struct cairn_group {
	char *name;
	int64_t created; /* unix seconds */
	char **volumes;  /* absolute paths, in order */
	size_t nvolumes;
	/* NULL, or nvolumes entries: each volume's name in its backups, or
	 * NULL for the default (the series rule applies to it). */
	char **names;
	char **freeze; /* mount points, in order */
	size_t nfreeze;
	char *config; /* absolute path, or NULL */
	char *pre_hook, *post_hook;
	unsigned max_freeze_ms;
};

void cairn_group_clear(struct cairn_group *g);
void cairn_groups_free(struct cairn_group *v, size_t n);

/* Group names: [A-Za-z0-9._-], 1..64 characters.  CAIRN_EINVAL. */
int cairn_group_name_check(const char *name);

/* Creates a group; CAIRN_EEXIST if the name is taken. */
int cairn_group_create(struct cairn_state *st, const struct cairn_group *g);
int cairn_group_get(struct cairn_state *st, const char *name, struct cairn_group *ret);
int cairn_group_list(struct cairn_state *st, struct cairn_group **ret, size_t *ret_n);
int cairn_group_delete(struct cairn_state *st, const char *name);

#endif
