/* Backup manifests (format.h MANIFEST): one per backup, written last. */
#ifndef CAIRN_REPO_MANIFEST_H
#define CAIRN_REPO_MANIFEST_H

#include "repo/format.h"
#include "repo/repo.h"
#include "util/volinfo.h"

#include <stdbool.h>
#include <stdint.h>

struct cairn_backup_stats {
	uint64_t bytes_read;   /* read from the source */
	uint64_t bytes_new;    /* plaintext bytes of chunks the repository lacked */
	uint64_t bytes_stored; /* bytes written to the store (packs, index, this manifest) */
	uint64_t chunks_new;
	uint64_t bytes_hashed; /* bytes whose id was computed (the rest: tag matched) */
	double seconds;
	/* The file catalog (format.h CATALOG): nodes and their plaintext
	 * bytes the repository lacked, and the time it took; 0 in manifests
	 * written before catalogs. */
	uint64_t catalog_nodes_new;
	uint64_t catalog_bytes_new;
	double catalog_seconds;
};

struct cairn_manifest {
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	char idhex[2 * CAIRN_BACKUP_ID_LEN + 1];
	char *volume;
	int64_t created_us;
	char *hostname;
	char *source;
	uint64_t size;
	uint32_t chunk_size;
	uint32_t fanout;
	unsigned levels;
	uint8_t root[CAIRN_ID_LEN];
	bool has_parent;
	uint8_t parent[CAIRN_BACKUP_ID_LEN];
	char **tags;
	size_t ntags;
	char *change_tracking;
	/* How the bytes relate to one instant (format.h MANIFEST): "snapshot",
	 * "frozen", "unchanged", "unchecked", "changed-during-read"; NULL in
	 * manifests written before it was recorded. */
	char *consistency;
	struct cairn_backup_stats stats;
	struct cairn_volume_info info;
	/* Member of a group backup (groups/<id>, repo/group.h): set when the
	 * backup was made by `group backup`; the group object may not exist
	 * if that run failed later. */
	bool in_group;
	uint8_t group_id[CAIRN_BACKUP_ID_LEN];
	/* Made by a policy (state/policies.h): its name when it ran and its
	 * id, which a policy keeps for life (a name may be reused); NULL and
	 * "" for a backup made by hand, and in manifests written before
	 * policies were recorded. */
	char *policy;
	char policy_id[2 * CAIRN_POLICY_ID_LEN + 1];
	/* The file catalog's VOLUME node (format.h CATALOG, repo/catalog.h),
	 * or why there is none (catalog_none; NULL with neither: written
	 * before catalogs existed). */
	bool has_catalog;
	uint8_t catalog[CAIRN_ID_LEN];
	char *catalog_none;
};

void cairn_manifest_free(struct cairn_manifest *m);
static inline void cairn_manifest_freep(struct cairn_manifest **m)
{
	cairn_manifest_free(*m);
}

/* JSON codec of the opened body (parse is fuzzed). */
int cairn_manifest_encode(const struct cairn_manifest *m, char **ret_json);
int cairn_manifest_parse(const uint8_t *data, size_t len, struct cairn_manifest **ret);

/* Seals and writes backups/<id> with create-only semantics.  Adds the
 * sealed object's own size to m->stats.bytes_stored first, so the number
 * stored is the whole cost of the backup; on failure it is left as given. */
int cairn_manifest_write(struct cairn_repo *repo, struct cairn_manifest *m, uint64_t *ret_bytes);
int cairn_manifest_read(struct cairn_repo *repo, const uint8_t id[CAIRN_BACKUP_ID_LEN],
			struct cairn_manifest **ret);

/* Every readable manifest, oldest first.  Damaged ones are not logged but
 * kept by id with the reason, for the caller to report (list, check) or
 * name (resolve). */
struct cairn_damaged_manifest {
	char idhex[2 * CAIRN_BACKUP_ID_LEN + 1];
	char why[256];
	int code; /* CAIRN_ECORRUPT, or CAIRN_EVERSION: written by a newer cairn */
};
struct cairn_manifest_list {
	struct cairn_manifest **v;
	size_t n;
	size_t damaged;
	struct cairn_damaged_manifest *bad; /* damaged entries */
};
int cairn_manifest_list_load(struct cairn_repo *repo, struct cairn_manifest_list *ret);
void cairn_manifest_list_free(struct cairn_manifest_list *l);

/* Resolves "latest", "VOLUME@latest", a full id or a unique prefix.
 * *ret borrows from the list. */
int cairn_manifest_resolve(const struct cairn_manifest_list *l, const char *spec, struct cairn_manifest **ret);
/* Newest backup of a volume, or NULL. */
struct cairn_manifest *cairn_manifest_latest(const struct cairn_manifest_list *l, const char *volume);

#endif
