/* The repository's object kinds (format.h OBJECTS): the one spelling of
 * each kind's names.
 *
 * Names read from a store are accepted only in their canonical form (the
 * kind's prefix, lower-case hex of the exact length, a pack's directory
 * equal to its first two digits): anything else under a known prefix was
 * not written by cairn, and readers skip it so that it can neither double
 * an object nor stand in for one (`cairn check` reports it).
 */
#ifndef CAIRN_REPO_OBJECTS_H
#define CAIRN_REPO_OBJECTS_H

#include "repo/format.h"

#include <stdint.h>

enum cairn_object_kind {
	CAIRN_OBJ_CONFIG,
	CAIRN_OBJ_KEY,
	CAIRN_OBJ_PACK,
	CAIRN_OBJ_INDEX,
	CAIRN_OBJ_MANIFEST,
	CAIRN_OBJ_GROUP,
	CAIRN_OBJ_HOLD,
	CAIRN_OBJ_LEASE,
	CAIRN_OBJ_MARKER,
	CAIRN_OBJ_KINDS
};

struct cairn_object_kind_info {
	const char *prefix; /* "backups/"; the whole name "config" for the config */
	const char *what;   /* "manifest", for messages */
	const char *layout; /* "backups/<32 hex>", for messages */
	unsigned idlen;     /* bytes of the id the name spells; 0: the config */
};

const struct cairn_object_kind_info *cairn_object_kind(enum cairn_object_kind k);

/* 0 (and the id, when ret_id is not NULL) if key is the canonical name of
 * an object of kind k; -1 otherwise.  Sets no message. */
int cairn_object_name_parse(enum cairn_object_kind k, const char *key, uint8_t *ret_id);

/* The kind whose prefix key lies under (key itself may not be canonical),
 * or -1 when it lies under none. */
int cairn_object_kind_of(const char *key);

#endif
