/* Repository objects by kind and id (the kinds, their names, letters and
 * caps: repo/kinds.h, format.h OBJECTS).  Layers above repo reach objects
 * through these calls, never by a store key they spell themselves.
 */
#ifndef CAIRN_REPO_OBJECTS_H
#define CAIRN_REPO_OBJECTS_H

#include "repo/kinds.h"
#include "repo/repo.h"
#include "store/store.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stdint.h>

/* By kind and id, through the repository's store.  The store's errors
 * (CAIRN_ENOTFOUND, CAIRN_EEXIST for a create-only put, ...) pass through.
 *
 * put writes bytes sealed already (a pack's blobs are sealed one by one);
 * flags are the store's (CAIRN_PUT_CREATE_ONLY).  get_range reads len
 * bytes from off into out (replaced), for objects read by ranges. */
int cairn_object_put(struct cairn_repo *repo, enum cairn_object_kind k, const uint8_t *id, const void *data,
		     size_t len, unsigned flags);
int cairn_object_get_range(struct cairn_repo *repo, enum cairn_object_kind k, const uint8_t *id, uint64_t off,
			   uint64_t len, struct cairn_buf *out);

/* Seals plain with EK, the kind's letter and id as additional data
 * (format.h CRYPTO), refuses it over the kind's cap (CAIRN_EINVAL), and
 * writes it (CAIRN_EINVAL for the config, key objects and packs, which are
 * not sealed that way: repo.c and pack.c make them); *ret_bytes (may be NULL) gets the sealed size.  a is the
 * caller's AEAD context, or NULL for one made for this call. */
int cairn_object_put_sealed(struct cairn_repo *repo, struct cairn_aead *a, enum cairn_object_kind k,
			    const uint8_t *id, const void *plain, size_t len, unsigned flags, uint64_t *ret_bytes);
/* Opens the sealed object obj of kind k and id into body (replaced):
 * CAIRN_ECORRUPT, with a message naming the object, if it does not
 * authenticate. */
int cairn_object_open(struct cairn_aead *a, enum cairn_object_kind k, const uint8_t *id, const uint8_t *obj,
		      size_t len, struct cairn_buf *body);
/* cairn_object_read() then cairn_object_open(): obj is scratch, body gets
 * the plaintext.  listed_size as for cairn_object_read(). */
int cairn_object_get_sealed(struct cairn_repo *repo, struct cairn_aead *a, enum cairn_object_kind k,
			    const uint8_t *id, uint64_t listed_size, struct cairn_buf *obj, struct cairn_buf *body);

/* Copies the object of kind k and id from src to dst under the same name
 * on the server side (cairn_store_copy_from_ex: size is the source's when
 * the caller knows it, else CAIRN_STORE_SIZE_UNKNOWN; flags
 * CAIRN_PUT_CREATE_ONLY or 0): CAIRN_EUNSUPPORTED when the stores cannot,
 * and the caller reads and writes instead.  In a store under object lock
 * it is always create-only: a replaced object would leave a second
 * retained version. */
int cairn_object_copy(struct cairn_repo *dst, struct cairn_repo *src, enum cairn_object_kind k, const uint8_t *id,
		      uint64_t size, unsigned flags);

/* Deletes the object of kind k and id; CAIRN_ENOTFOUND passes through. */
int cairn_object_delete(struct cairn_repo *repo, enum cairn_object_kind k, const uint8_t *id);
/* The same by its canonical name (as a listing gave it): CAIRN_EINVAL
 * (message set) for a name that is not one of kind k, which is left. */
int cairn_object_delete_name(struct cairn_repo *repo, enum cairn_object_kind k, const char *name);

/* Called for each object listed: its name, its id (the kind's idlen bytes;
 * NULL for a name that is not canonical, which only
 * cairn_object_list_any() yields) and its size.  Non-zero stops. */
typedef int (*cairn_object_fn)(const char *name, const uint8_t *id, uint64_t size, void *ud);
/* The objects of kind k: canonical names only. */
int cairn_object_list(struct cairn_repo *repo, enum cairn_object_kind k, cairn_object_fn fn, void *ud);
/* Every name under kind k's prefix, canonical or not: for check, which
 * reports the others. */
int cairn_object_list_any(struct cairn_repo *repo, enum cairn_object_kind k, cairn_object_fn fn, void *ud);
/* The canonical names of kind k with their sizes, in listing order (with
 * any: every name under the prefix, as cairn_object_list_any()). */
int cairn_object_list_names(struct cairn_repo *repo, enum cairn_object_kind k, bool any, struct cairn_key_list *ret);

#endif
