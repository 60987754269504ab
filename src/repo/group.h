/* Group backups (format.h GROUP): one object per `cairn group backup`,
 * written after the backups of all its volumes, naming them and holding the
 * group's config document.  A group backup exists once this is written.
 * Its member volume names and its config's name become file names at
 * group restore: each must pass repo/names.h, or the object is damaged. */
#ifndef CAIRN_REPO_GROUP_H
#define CAIRN_REPO_GROUP_H

#include "repo/manifest.h"
#include "repo/repo.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAIRN_GROUP_CONFIG_MAX (16u << 20)

struct cairn_group_member {
	char *volume; /* the member backup's volume name */
	uint8_t backup[CAIRN_BACKUP_ID_LEN];
	char backup_hex[2 * CAIRN_BACKUP_ID_LEN + 1];
};

struct cairn_group_backup {
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	char idhex[2 * CAIRN_BACKUP_ID_LEN + 1];
	char *name; /* the group's name */
	int64_t created_us;
	char *hostname;
	struct cairn_group_member *members;
	size_t nmembers;
	char **freeze; /* mount points frozen for the snapshots */
	size_t nfreeze;
	double frozen_seconds;
	/* the config document, when the group has one */
	char *config_name; /* its base name */
	uint8_t *config;
	size_t config_len;
};

void cairn_group_backup_free(struct cairn_group_backup *g);
static inline void cairn_group_backup_freep(struct cairn_group_backup **g)
{
	cairn_group_backup_free(*g);
}

/* JSON codec of the opened body (parse is fuzzed). */
int cairn_group_backup_encode(const struct cairn_group_backup *g, char **ret_json);
int cairn_group_backup_parse(const uint8_t *data, size_t len, struct cairn_group_backup **ret);

/* Seals and writes groups/<id>, create-only. */
int cairn_group_backup_write(struct cairn_repo *repo, const struct cairn_group_backup *g, uint64_t *ret_bytes);

/* Every readable group backup, oldest first; the ids of those that do not
 * open are kept in bad[0..damaged) for the caller to report, with what is
 * wrong with each in why[]. */
struct cairn_group_backup_list {
	struct cairn_group_backup **v;
	size_t n, damaged;
	char (*bad)[2 * CAIRN_BACKUP_ID_LEN + 1];
	char (*why)[256];
};
int cairn_group_backup_list_load(struct cairn_repo *repo, struct cairn_group_backup_list *ret);
void cairn_group_backup_list_free(struct cairn_group_backup_list *l);
/* "latest", "NAME@latest", an id or a unique prefix; *ret borrows. */
int cairn_group_backup_resolve(const struct cairn_group_backup_list *l, const char *spec,
			       struct cairn_group_backup **ret);

#endif
