/* Object kinds: names, letters, size caps and access by kind (objects.h,
 * format.h OBJECTS). */
#include "repo/objects.h"
#include "repo/lease.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cairn_object_kind_info kinds[CAIRN_OBJ_KINDS] = {
	[CAIRN_OBJ_CONFIG] = { "config", "config", "config", 0, CAIRN_CONFIG_OBJECT_MAX, CAIRN_AAD_CONFIG },
	[CAIRN_OBJ_KEY] = { "keys/", "key object", "keys/<16 hex>", CAIRN_KEY_ID_LEN, CAIRN_KEY_OBJECT_LEN,
			    CAIRN_AAD_KEY },
	[CAIRN_OBJ_PACK] = { "packs/", "pack", "packs/<2 hex>/<64 hex>", CAIRN_PACK_ID_LEN, 0, CAIRN_AAD_TOC },
	[CAIRN_OBJ_INDEX] = { "index/", "index object", "index/<64 hex>", CAIRN_INDEX_NAME_LEN,
			      CAIRN_INDEX_OBJECT_MAX, CAIRN_AAD_INDEX },
	[CAIRN_OBJ_MANIFEST] = { "backups/", "manifest", "backups/<32 hex>", CAIRN_BACKUP_ID_LEN,
				 CAIRN_MANIFEST_OBJECT_MAX, CAIRN_AAD_MANIFEST },
	[CAIRN_OBJ_GROUP] = { "groups/", "group backup object", "groups/<32 hex>", CAIRN_BACKUP_ID_LEN,
			      CAIRN_GROUP_OBJECT_MAX, CAIRN_AAD_GROUP },
	[CAIRN_OBJ_HOLD] = { "holds/", "hold", "holds/<32 hex>", CAIRN_BACKUP_ID_LEN, CAIRN_HOLD_OBJECT_MAX,
			     CAIRN_AAD_HOLD },
	[CAIRN_OBJ_LEASE] = { "lease/", "lease", "lease/<32 hex>", CAIRN_PRESENCE_ID_LEN, CAIRN_LEASE_OBJECT_MAX,
			      CAIRN_AAD_LEASE },
	[CAIRN_OBJ_MARKER] = { "running/", "activity marker", "running/<32 hex>", CAIRN_PRESENCE_ID_LEN,
			       CAIRN_LEASE_OBJECT_MAX, CAIRN_AAD_MARKER },
};

const struct cairn_object_kind_info *cairn_object_kind(enum cairn_object_kind k)
{
	return &kinds[k];
}

int cairn_object_name_parse(enum cairn_object_kind k, const char *key, uint8_t *ret_id)
{
	const struct cairn_object_kind_info *ki = &kinds[k];
	size_t plen = strlen(ki->prefix);
	if (strncmp(key, ki->prefix, plen) != 0)
		return -1;
	const char *hex = key + plen;
	if (!ki->idlen)
		return *hex ? -1 : 0;
	if (k == CAIRN_OBJ_PACK) {
		/* packs/<xx>/<hex>, xx its first two digits */
		if (strlen(hex) < 3 || hex[2] != '/' || strncmp(hex, hex + 3, 2) != 0)
			return -1;
		hex += 3;
	}
	uint8_t id[CAIRN_OBJECT_ID_MAX];
	if (strlen(hex) != 2 * (size_t)ki->idlen || cairn_hex_decode(hex, id, ki->idlen) < 0)
		return -1;
	if (ret_id)
		memcpy(ret_id, id, ki->idlen);
	return 0;
}

void cairn_object_name(enum cairn_object_kind k, const uint8_t *id, char out[CAIRN_OBJECT_NAME_MAX])
{
	const struct cairn_object_kind_info *ki = &kinds[k];
	char hex[2 * CAIRN_OBJECT_ID_MAX + 1];
	if (!ki->idlen) {
		snprintf(out, CAIRN_OBJECT_NAME_MAX, "%s", ki->prefix);
		return;
	}
	cairn_hex_encode(id, ki->idlen, hex);
	if (k == CAIRN_OBJ_PACK)
		snprintf(out, CAIRN_OBJECT_NAME_MAX, "%s%.2s/%.64s", ki->prefix, hex, hex);
	else
		snprintf(out, CAIRN_OBJECT_NAME_MAX, "%s%.64s", ki->prefix, hex);
}

int cairn_object_name_hex(enum cairn_object_kind k, const char *hex, char out[CAIRN_OBJECT_NAME_MAX])
{
	const struct cairn_object_kind_info *ki = &kinds[k];
	uint8_t id[CAIRN_OBJECT_ID_MAX];
	out[0] = '\0';
	if (!ki->idlen || strlen(hex) != 2 * (size_t)ki->idlen || cairn_hex_decode(hex, id, ki->idlen) < 0)
		return cairn_error_set(CAIRN_EINVAL, "'%s' is not the id of a %s", hex, ki->what);
	cairn_object_name(k, id, out);
	return 0;
}

int cairn_object_kind_of(const char *key)
{
	for (int k = 0; k < CAIRN_OBJ_KINDS; k++) {
		const char *p = kinds[k].prefix;
		if (strncmp(key, p, strlen(p)) == 0)
			return k;
	}
	return -1;
}

static int too_large(const struct cairn_object_kind_info *ki, const char *key, uint64_t size)
{
	if (size == CAIRN_SIZE_UNKNOWN)
		return cairn_error_set(CAIRN_ECORRUPT, "%s is larger than the cap of %" PRIu64 " bytes for %ss", key,
				       ki->max, ki->what);
	return cairn_error_set(CAIRN_ECORRUPT, "%s is %" PRIu64 " bytes, over the cap of %" PRIu64 " bytes for %ss",
			       key, size, ki->max, ki->what);
}

int cairn_object_read(struct cairn_store *s, enum cairn_object_kind k, const char *key, uint64_t listed_size,
		      struct cairn_buf *out)
{
	const struct cairn_object_kind_info *ki = &kinds[k];
	cairn_buf_clear(out);
	if (!ki->max)
		return cairn_error_set(CAIRN_EINVAL, "%s %s is read by ranges, not whole", ki->what, key);
	if (listed_size != CAIRN_SIZE_UNKNOWN && listed_size > ki->max)
		return too_large(ki, key, listed_size);
	/* One byte more than the cap tells a larger object from one at the
	 * cap, in the same single get. */
	int r = cairn_store_get(s, key, 0, ki->max + 1, out);
	if (r < 0)
		return r;
	if (out->len > ki->max) {
		cairn_buf_clear(out);
		return too_large(ki, key, CAIRN_SIZE_UNKNOWN);
	}
	return 0;
}

int cairn_object_fits(enum cairn_object_kind k, size_t len)
{
	const struct cairn_object_kind_info *ki = &kinds[k];
	if (!ki->max || len <= ki->max)
		return 0;
	return cairn_error_set(CAIRN_EINVAL, "%zu bytes would be over the cap of %" PRIu64 " bytes for %ss",
			       len, ki->max, ki->what);
}

int cairn_object_put(struct cairn_repo *repo, enum cairn_object_kind k, const uint8_t *id, const void *data,
		     size_t len, unsigned flags)
{
	char name[CAIRN_OBJECT_NAME_MAX];
	cairn_object_name(k, id, name);
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
		return cairn_error_set(CAIRN_EINVAL, "a %s is not sealed whole under its name", kinds[k].what);
	return 0;
}

int cairn_object_put_sealed(struct cairn_repo *repo, struct cairn_aead *a, enum cairn_object_kind k,
			    const uint8_t *id, const void *plain, size_t len, unsigned flags, uint64_t *ret_bytes)
{
	const struct cairn_object_kind_info *ki = &kinds[k];
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
	const struct cairn_object_kind_info *ki = &kinds[k];
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
		return cairn_error_set(CAIRN_EINVAL, "%s is not the name of a %s (%s)", name, kinds[k].what,
				       kinds[k].layout);
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
	return cairn_store_list(repo->store, kinds[k].prefix, listed, &l);
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
	int r = cairn_store_list_keys(repo->store, kinds[k].prefix, ret);
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
