/* The repository's object kinds (format.h OBJECTS), below the repository
 * handle (repo/repo.h uses them to read its config and keys): the one spelling of
 * each kind's names, the letter that starts its sealed additional data
 * (format.h CRYPTO), and the most bytes an object of that kind may have.
 * Access by kind and id, sealed, through an open repository is
 * repo/objects.h, which layers above repo use: never a store key they
 * spell themselves.
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
#ifndef CAIRN_REPO_KINDS_H
#define CAIRN_REPO_KINDS_H

#include "repo/format.h"
#include "store/store.h"
#include "util/buf.h"

#include <stdbool.h>
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
	char aad;           /* CAIRN_AAD_*: a pack's is its table of contents' */
};

/* Room for any object's name and its NUL ("packs/<2>/<64>" is the longest). */
#define CAIRN_OBJECT_NAME_MAX 80
/* The longest id of any kind (packs, index objects). */
#define CAIRN_OBJECT_ID_MAX 32

const struct cairn_object_kind_info *cairn_object_kind(enum cairn_object_kind k);

/* 0 (and the id, when ret_id is not NULL) if key is the canonical name of
 * an object of kind k; -1 otherwise.  Sets no message. */
int cairn_object_name_parse(enum cairn_object_kind k, const char *key, uint8_t *ret_id);

/* The canonical name of the object of kind k with id (the kind's idlen
 * bytes; NULL for the config): the inverse of cairn_object_name_parse(). */
void cairn_object_name(enum cairn_object_kind k, const uint8_t *id, char out[CAIRN_OBJECT_NAME_MAX]);
/* The same from the id's hex spelling (as manifests and lists carry it):
 * CAIRN_EINVAL (message set; out "") if hex is not an id of the kind. */
int cairn_object_name_hex(enum cairn_object_kind k, const char *hex, char out[CAIRN_OBJECT_NAME_MAX]);

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
