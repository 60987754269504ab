/* Hold objects (hold.h, format.h HOLD). */
#include "repo/hold.h"
#include "repo/objects.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/time.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cairn_hold_clear(struct cairn_hold *h)
{
	free(h->reason);
	free(h->hostname);
	memset(h, 0, sizeof(*h));
}

int cairn_hold_encode(const struct cairn_hold *h, char **ret_json)
{
	char created[48];
	cairn_time_format(h->created, created, sizeof(created));
	json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:s}", "version", CAIRN_FORMAT_VERSION, "backup", h->backup_hex,
			      "reason", h->reason ? h->reason : "", "created", created, "hostname",
			      h->hostname ? h->hostname : "");
	if (!j)
		return cairn_error_set(CAIRN_EINVAL, "hold: cannot encode (the reason is not valid UTF-8?)");
	*ret_json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return *ret_json ? 0 : cairn_error_nomem();
}

int cairn_hold_parse(const uint8_t *data, size_t len, struct cairn_hold *ret)
{
	memset(ret, 0, sizeof(*ret));
	json_error_t jerr;
	json_t *j = json_loadb((const char *)data, len, 0, &jerr);
	if (!j)
		return cairn_error_set(CAIRN_ECORRUPT, "hold: %s", jerr.text);
	json_int_t version = 0;
	const char *backup = NULL, *reason = NULL, *created = NULL, *host = NULL;
	int r = 0;
	if (json_unpack_ex(j, &jerr, 0, "{s:I, s:s, s?s, s:s, s?s}", "version", &version, "backup", &backup, "reason",
			   &reason, "created", &created, "hostname", &host) != 0) {
		r = cairn_error_set(CAIRN_ECORRUPT, "hold: %s", jerr.text);
	} else if (version != CAIRN_FORMAT_VERSION) {
		r = cairn_error_set(CAIRN_EVERSION, "hold version %lld is not supported", (long long)version);
	} else if (strlen(backup) != 2 * CAIRN_BACKUP_ID_LEN ||
		   cairn_hex_decode(backup, ret->backup, CAIRN_BACKUP_ID_LEN) < 0 ||
		   (ret->created = cairn_time_parse(created)) < 0 || (reason && strlen(reason) > CAIRN_HOLD_REASON_MAX)) {
		r = cairn_error_set(CAIRN_ECORRUPT, "hold: invalid field");
	} else {
		cairn_hex_encode(ret->backup, CAIRN_BACKUP_ID_LEN, ret->backup_hex);
		ret->reason = strdup(reason ? reason : "");
		ret->hostname = strdup(host ? host : "");
		if (!ret->reason || !ret->hostname)
			r = cairn_error_nomem();
	}
	json_decref(j);
	if (r < 0)
		cairn_hold_clear(ret);
	return r;
}

int cairn_hold_put(struct cairn_repo *repo, const uint8_t id[CAIRN_BACKUP_ID_LEN], const char *reason)
{
	if (reason && strlen(reason) > CAIRN_HOLD_REASON_MAX)
		return cairn_error_set(CAIRN_EINVAL, "the reason is longer than %d bytes", CAIRN_HOLD_REASON_MAX);
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	struct cairn_hold h = { .reason = (char *)(reason ? reason : ""), .hostname = host,
				.created = cairn_wall_now() };
	memcpy(h.backup, id, CAIRN_BACKUP_ID_LEN);
	cairn_hex_encode(id, CAIRN_BACKUP_ID_LEN, h.backup_hex);
	_cleanup_free_ char *json = NULL;
	int r = cairn_hold_encode(&h, &json);
	if (r < 0)
		return r;
	return cairn_object_put_sealed(repo, NULL, CAIRN_OBJ_HOLD, id, json, strlen(json), 0, NULL);
}

int cairn_hold_delete(struct cairn_repo *repo, const uint8_t id[CAIRN_BACKUP_ID_LEN])
{
	char key[CAIRN_OBJECT_NAME_MAX], hex[2 * CAIRN_BACKUP_ID_LEN + 1];
	uint64_t size;
	cairn_object_name(CAIRN_OBJ_HOLD, id, key);
	int r = cairn_store_stat(repo->store, key, &size);
	if (r == CAIRN_ENOTFOUND) {
		cairn_hex_encode(id, CAIRN_BACKUP_ID_LEN, hex);
		return cairn_error_set(CAIRN_ENOTFOUND, "backup %s is not held", hex);
	}
	if (r < 0)
		return r;
	return cairn_store_del(repo->store, key);
}

struct loader {
	struct cairn_repo *repo;
	struct cairn_aead *aead;
	struct cairn_hold_list *l;
};

static int load_one(const char *key, uint64_t size, void *ud)
{
	struct loader *c = ud;
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	if (cairn_object_name_parse(CAIRN_OBJ_HOLD, key, id) < 0)
		return 0;
	_cleanup_(cairn_buf_freep) struct cairn_buf obj = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT;
	int r = cairn_object_read(c->repo->store, CAIRN_OBJ_HOLD, key, size, &obj);
	if (r == CAIRN_ENOTFOUND)
		return 0; /* released while we listed */
	if (r < 0 && r != CAIRN_ECORRUPT)
		return r;
	char why[256] = "";
	if (r < 0)
		cairn_error_copy(why, sizeof(why));
	if ((r = cairn_array_grow(&c->l->v, &c->l->cap, c->l->n, sizeof(*c->l->v), 16)) < 0)
		return r;
	struct cairn_hold *h = &c->l->v[c->l->n];
	memset(h, 0, sizeof(*h));
	if (!*why && cairn_repo_unseal(c->aead, CAIRN_AAD_HOLD, id, sizeof(id), obj.data, obj.len, &body) < 0)
		snprintf(why, sizeof(why), "%s does not open (authentication failed)", key);
	else if (!*why && cairn_hold_parse(body.data, body.len, h) < 0)
		snprintf(why, sizeof(why), "%s: %s", key, cairn_error_message());
	else if (!*why && memcmp(h->backup, id, sizeof(id)) != 0)
		snprintf(why, sizeof(why), "%s names another backup", key);
	if (*why) {
		cairn_hold_clear(h);
		memcpy(h->backup, id, sizeof(id));
		cairn_hex_encode(id, sizeof(id), h->backup_hex);
		h->damaged = true;
		memcpy(h->why, why, sizeof(h->why));
	}
	c->l->n++;
	return 0;
}

int cairn_hold_list_load(struct cairn_repo *repo, struct cairn_hold_list *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct loader c = { .repo = repo, .l = ret };
	int r = cairn_repo_aead(repo, &c.aead);
	if (r >= 0)
		r = cairn_store_list(repo->store, "holds/", load_one, &c);
	cairn_aead_free(c.aead);
	if (r < 0)
		cairn_hold_list_free(ret);
	return r;
}

void cairn_hold_list_free(struct cairn_hold_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		cairn_hold_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const struct cairn_hold *cairn_hold_find(const struct cairn_hold_list *l, const uint8_t id[CAIRN_BACKUP_ID_LEN])
{
	for (size_t i = 0; i < l->n; i++)
		if (memcmp(l->v[i].backup, id, CAIRN_BACKUP_ID_LEN) == 0)
			return &l->v[i];
	return NULL;
}
