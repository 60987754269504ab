/* Holds (format.h HOLD): a hold exempts a backup, or a group backup, from
 * retention (`cairn hold`, the "freezer").  Holds live in the repository,
 * so a forget run from any host respects them. */
#ifndef CAIRN_REPO_HOLD_H
#define CAIRN_REPO_HOLD_H

#include "repo/format.h"
#include "repo/repo.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAIRN_HOLD_REASON_MAX 1024

struct cairn_hold {
	uint8_t backup[CAIRN_BACKUP_ID_LEN]; /* a backup or a group backup */
	char backup_hex[2 * CAIRN_BACKUP_ID_LEN + 1];
	char *reason;   /* "" when none was given */
	char *hostname; /* where it was made */
	int64_t created; /* unix seconds */
	bool damaged;    /* the object exists but does not open: still a hold */
	char why[256];   /* damaged: what is wrong with it */
};

void cairn_hold_clear(struct cairn_hold *h);

/* JSON codec of the opened body (parse is fuzzed). */
int cairn_hold_encode(const struct cairn_hold *h, char **ret_json);
int cairn_hold_parse(const uint8_t *data, size_t len, struct cairn_hold *ret);

/* Writes holds/<id>, replacing an existing hold (a new reason). */
int cairn_hold_put(struct cairn_repo *repo, const uint8_t id[CAIRN_BACKUP_ID_LEN], const char *reason);
/* Deletes holds/<id>; CAIRN_ENOTFOUND when there is none. */
int cairn_hold_delete(struct cairn_repo *repo, const uint8_t id[CAIRN_BACKUP_ID_LEN]);

/* Every hold of the repository.  A hold object that does not open is kept
 * as a hold (damaged set): it is safer to keep a backup than to forget it. */
struct cairn_hold_list {
	struct cairn_hold *v;
	size_t n, cap;
};
int cairn_hold_list_load(struct cairn_repo *repo, struct cairn_hold_list *ret);
void cairn_hold_list_free(struct cairn_hold_list *l);
/* The hold on id, or NULL (borrowed). */
const struct cairn_hold *cairn_hold_find(const struct cairn_hold_list *l, const uint8_t id[CAIRN_BACKUP_ID_LEN]);

#endif
