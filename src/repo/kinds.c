/* Object kinds: names, letters and size caps (kinds.h, format.h OBJECTS). */
#include "repo/kinds.h"
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
