/* Access to repository objects by kind and id (objects.h). */
#include "repo/objects.h"
#include "repo/objlock.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cairn_object_put(struct cairn_repo *repo, enum cairn_object_kind k, const uint8_t *id, const void *data,
		     size_t len, unsigned flags)
{
	char name[CAIRN_OBJECT_NAME_MAX];
	cairn_object_name(k, id, name);
	if (!cairn_object_kind_locked(k))
		flags |= CAIRN_PUT_NO_RETENTION;
	return cairn_store_put(repo->store, name, data, len, flags);
}

int cairn_object_get_range(struct cairn_repo *repo, enum cairn_object_kind k, const uint8_t *id, uint64_t off,
			   uint64_t len, struct cairn_buf *out)
{
	char name[CAIRN_OBJECT_NAME_MAX];
	cairn_object_name(k, id, name);
	return cairn_store_get(repo->store, name, off, len, out);
}

/* The config (header in the clear), key objects (their own key) and packs
 * (sealed blob by blob) are not one body sealed with EK under their id. */
static int sealed_whole(enum cairn_object_kind k)
{
	if (k == CAIRN_OBJ_CONFIG || k == CAIRN_OBJ_KEY || k == CAIRN_OBJ_PACK)
		return cairn_error_set(CAIRN_EINVAL, "a %s is not sealed whole under its name", cairn_object_kind(k)->what);
	return 0;
}

int cairn_object_put_sealed(struct cairn_repo *repo, struct cairn_aead *a, enum cairn_object_kind k,
			    const uint8_t *id, const void *plain, size_t len, unsigned flags, uint64_t *ret_bytes)
{
	const struct cairn_object_kind_info *ki = cairn_object_kind(k);
	int r = sealed_whole(k);
	if (r < 0 || (r = cairn_object_fits(k, len + CAIRN_AEAD_OVERHEAD)) < 0)
		return r;
	struct cairn_aead *own = NULL;
	if (!a && (r = cairn_repo_aead(repo, &own)) < 0)
		return r;
	_cleanup_(cairn_buf_freep) struct cairn_buf sealed = CAIRN_BUF_INIT;
	r = cairn_repo_seal(a ? a : own, ki->aad, id, ki->idlen, plain, len, &sealed);
	cairn_aead_free(own);
	if (r >= 0)
		r = cairn_object_put(repo, k, id, sealed.data, sealed.len, flags);
	if (r < 0)
		return r;
	if (ret_bytes)
		*ret_bytes = sealed.len;
	return 0;
}

int cairn_object_open(struct cairn_aead *a, enum cairn_object_kind k, const uint8_t *id, const uint8_t *obj,
		      size_t len, struct cairn_buf *body)
{
	const struct cairn_object_kind_info *ki = cairn_object_kind(k);
	int r = sealed_whole(k);
	if (r < 0)
		return r;
	if (cairn_repo_unseal(a, ki->aad, id, ki->idlen, obj, len, body) < 0) {
		char name[CAIRN_OBJECT_NAME_MAX];
		cairn_object_name(k, id, name);
		return cairn_error_set(CAIRN_ECORRUPT, "%s does not open (authentication failed)", name);
	}
	return 0;
}

int cairn_object_get_sealed(struct cairn_repo *repo, struct cairn_aead *a, enum cairn_object_kind k,
			    const uint8_t *id, uint64_t listed_size, struct cairn_buf *obj, struct cairn_buf *body)
{
	char name[CAIRN_OBJECT_NAME_MAX];
	cairn_object_name(k, id, name);
	int r = cairn_object_read(repo->store, k, name, listed_size, obj);
	if (r < 0)
		return r;
	return cairn_object_open(a, k, id, obj->data, obj->len, body);
}

int cairn_object_delete(struct cairn_repo *repo, enum cairn_object_kind k, const uint8_t *id)
{
	char name[CAIRN_OBJECT_NAME_MAX];
	cairn_object_name(k, id, name);
	return cairn_store_del(repo->store, name);
}

int cairn_object_delete_name(struct cairn_repo *repo, enum cairn_object_kind k, const char *name)
{
	if (cairn_object_name_parse(k, name, NULL) < 0)
		return cairn_error_set(CAIRN_EINVAL, "%s is not the name of a %s (%s)", name, cairn_object_kind(k)->what,
				       cairn_object_kind(k)->layout);
	return cairn_store_del(repo->store, name);
}

struct listing {
	enum cairn_object_kind k;
	bool any;
	cairn_object_fn fn;
	void *ud;
};

static int listed(const char *key, uint64_t size, void *ud)
{
	struct listing *l = ud;
	uint8_t id[CAIRN_OBJECT_ID_MAX];
	bool canonical = cairn_object_name_parse(l->k, key, id) == 0;
	if (!canonical && !l->any)
		return 0;
	return l->fn(key, canonical ? id : NULL, size, l->ud);
}

static int list(struct cairn_repo *repo, enum cairn_object_kind k, bool any, cairn_object_fn fn, void *ud)
{
	struct listing l = { k, any, fn, ud };
	return cairn_store_list(repo->store, cairn_object_kind(k)->prefix, listed, &l);
}

int cairn_object_list(struct cairn_repo *repo, enum cairn_object_kind k, cairn_object_fn fn, void *ud)
{
	return list(repo, k, false, fn, ud);
}

int cairn_object_list_any(struct cairn_repo *repo, enum cairn_object_kind k, cairn_object_fn fn, void *ud)
{
	return list(repo, k, true, fn, ud);
}

int cairn_object_list_names(struct cairn_repo *repo, enum cairn_object_kind k, bool any, struct cairn_key_list *ret)
{
	int r = cairn_store_list_keys(repo->store, cairn_object_kind(k)->prefix, ret);
	if (r < 0 || any)
		return r;
	size_t n = 0;
	for (size_t i = 0; i < ret->n; i++) {
		if (cairn_object_name_parse(k, ret->v[i], NULL) < 0) {
			free(ret->v[i]);
			continue;
		}
		ret->v[n] = ret->v[i];
		ret->size[n++] = ret->size[i];
	}
	ret->n = n;
	return 0;
}

int cairn_object_copy(struct cairn_repo *dst, struct cairn_repo *src, enum cairn_object_kind k, const uint8_t *id,
		      uint64_t size, unsigned flags)
{
	char name[CAIRN_OBJECT_NAME_MAX];
	cairn_object_name(k, id, name);
	/* A locked store retains what it copies (store.h lock_set): kinds
	 * written without retention go by read and put instead. */
	if (dst->config.object_lock_days && !cairn_object_kind_locked(k))
		return CAIRN_EUNSUPPORTED;
	if (dst->config.object_lock_days)
		flags |= CAIRN_PUT_CREATE_ONLY;
	return cairn_store_copy_from_ex(dst->store, src->store, name, name, size, flags);
}
