/* The repository's object kinds (format.h OBJECTS): the one spelling of
 * each kind's names, and the most bytes an object of that kind may have.
 *
 * Names read from a store are accepted only in their canonical form (the
 * kind's prefix, lower-case hex of the exact length, a pack's directory
 * equal to its first two digits): anything else under a known prefix was
 * not written by cairn, and readers skip it so that it can neither double
 * an object nor stand in for one (`cairn check` reports it).
 *
 * Objects that are read whole are read through cairn_object_read(), which
 * knows each kind's cap and never reads more than one byte past it.
 */
#ifndef CAIRN_REPO_OBJECTS_H
#define CAIRN_REPO_OBJECTS_H

#include "repo/format.h"
#include "store/store.h"
#include "util/buf.h"

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
	uint64_t max;       /* size cap in bytes; 0: read by ranges only (packs) */
};

const struct cairn_object_kind_info *cairn_object_kind(enum cairn_object_kind k);

/* 0 (and the id, when ret_id is not NULL) if key is the canonical name of
 * an object of kind k; -1 otherwise.  Sets no message. */
int cairn_object_name_parse(enum cairn_object_kind k, const char *key, uint8_t *ret_id);

/* The kind whose prefix key lies under (key itself may not be canonical),
 * or -1 when it lies under none. */
int cairn_object_kind_of(const char *key);

/* No listing said how large the object is. */
#define CAIRN_SIZE_UNKNOWN UINT64_MAX

/* Reads the whole object key of kind k into out, never more than its cap:
 * one larger by its listed size (CAIRN_SIZE_UNKNOWN: not listed) is not
 * read at all; otherwise at most cap + 1 bytes are asked for (one get), and
 * more than cap bytes is refused.  A too large object is CAIRN_ECORRUPT
 * with a message naming it, its size and the cap; the store's errors
 * (CAIRN_ENOTFOUND, ...) pass through. */
int cairn_object_read(struct cairn_store *s, enum cairn_object_kind k, const char *key, uint64_t listed_size,
		      struct cairn_buf *out);

/* CAIRN_EINVAL (message set) if a sealed object of len bytes would exceed
 * its kind's cap: writers check before they write what readers would
 * refuse. */
int cairn_object_fits(enum cairn_object_kind k, size_t len);

#endif
