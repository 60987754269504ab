/* Group backup objects (group.h, format.h GROUP). */
#include "repo/group.h"
#include "repo/names.h"
#include "repo/objects.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/time.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The config document in base64, with room for the member list. */
_Static_assert(CAIRN_GROUP_CONFIG_MAX / 3 * 4 + (1u << 20) <= CAIRN_GROUP_OBJECT_MAX,
	       "a group backup object with the largest config document must fit its cap");

void cairn_group_backup_free(struct cairn_group_backup *g)
{
	if (!g)
		return;
	free(g->name);
	free(g->hostname);
	for (size_t i = 0; i < g->nmembers; i++)
		free(g->members[i].volume);
	free(g->members);
	for (size_t i = 0; i < g->nfreeze; i++)
		free(g->freeze[i]);
	free(g->freeze);
	free(g->config_name);
	free(g->config);
	free(g);
}

int cairn_group_backup_encode(const struct cairn_group_backup *g, char **ret_json)
{
	char created[48];
	cairn_time_format_us(g->created_us, created, sizeof(created));
	json_t *members = json_array(), *freeze = json_array();
	for (size_t i = 0; i < g->nmembers; i++)
		json_array_append_new(members, json_pack("{s:s, s:s}", "volume", g->members[i].volume, "backup",
							 g->members[i].backup_hex));
	for (size_t i = 0; i < g->nfreeze; i++)
		json_array_append_new(freeze, json_string(g->freeze[i]));
	json_t *config = json_null();
	if (g->config_name) {
		/* Base64: a config document may be any bytes. */
		_cleanup_free_ char *b64 = malloc(4 * ((g->config_len + 2) / 3) + 1);
		if (!b64) {
			json_decref(members);
			json_decref(freeze);
			return cairn_error_nomem();
		}
		EVP_EncodeBlock((unsigned char *)b64, g->config, (int)g->config_len);
		config = json_pack("{s:s, s:s}", "name", g->config_name, "data", b64);
	}
	json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:o, s:o, s:f, s:o}", "version", CAIRN_FORMAT_VERSION, "id",
			      g->idhex, "name", g->name, "created", created, "hostname", g->hostname ? g->hostname : "",
			      "members", members, "freeze", freeze, "frozen_seconds", g->frozen_seconds, "config",
			      config);
	if (!j)
		return cairn_error_set(CAIRN_EINVAL, "group backup: cannot encode (invalid UTF-8 in a name?)");
	*ret_json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return *ret_json ? 0 : cairn_error_nomem();
}

static int parse_id(const char *hex, uint8_t out[CAIRN_BACKUP_ID_LEN])
{
	return hex && strlen(hex) == 2 * CAIRN_BACKUP_ID_LEN && cairn_hex_decode(hex, out, CAIRN_BACKUP_ID_LEN) == 0
		       ? 0
		       : -1;
}

static int bad(const char *what)
{
	return cairn_error_set(CAIRN_ECORRUPT, "group backup: invalid %s", what);
}

/* Member and config names become file names in the directory group
 * restore is given (repo/names.h): a name that could escape it is damage. */
static int bad_name(const char *what, const char *name, bool at_ok)
{
	const char *why = cairn_name_problem(name, at_ok);
	if (!why)
		return 0;
	return cairn_error_set(CAIRN_ECORRUPT, "group backup: invalid %s '%.64s%s': it %s", what, name,
			       strlen(name) > 64 ? "..." : "", why);
}

int cairn_group_backup_parse(const uint8_t *data, size_t len, struct cairn_group_backup **ret)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)data, len, 0, &jerr);
	if (!j)
		return cairn_error_set(CAIRN_ECORRUPT, "group backup: %s", jerr.text);
	_cleanup_(cairn_group_backup_freep) struct cairn_group_backup *g = calloc(1, sizeof(*g));
	int r = 0;
	json_int_t version = 0;
	const char *id = NULL, *name = NULL, *created = NULL, *host = NULL;
	json_t *members = NULL, *freeze = NULL, *config = NULL;
	double frozen = 0;
	if (!g) {
		r = cairn_error_nomem();
		goto out;
	}
	if (json_unpack_ex(j, &jerr, 0, "{s:I, s:s, s:s, s:s, s?s, s:o, s?o, s?F, s?o}", "version", &version, "id", &id,
			   "name", &name, "created", &created, "hostname", &host, "members", &members, "freeze",
			   &freeze, "frozen_seconds", &frozen, "config", &config) != 0) {
		r = cairn_error_set(CAIRN_ECORRUPT, "group backup: %s", jerr.text);
		goto out;
	}
	if (version != CAIRN_FORMAT_VERSION) {
		r = cairn_error_set(CAIRN_EVERSION, "group backup version %lld is not supported", (long long)version);
		goto out;
	}
	if (parse_id(id, g->id) < 0 || !*name || (g->created_us = cairn_time_parse_us(created)) < 0 ||
	    !json_is_array(members) || json_array_size(members) == 0 || (freeze && !json_is_array(freeze))) {
		r = bad("field");
		goto out;
	}
	memcpy(g->idhex, id, sizeof(g->idhex));
	if (!(g->name = strdup(name)) || (host && !(g->hostname = strdup(host)))) {
		r = cairn_error_nomem();
		goto out;
	}
	g->frozen_seconds = frozen;
	size_t n = json_array_size(members);
	if (!(g->members = calloc(n, sizeof(*g->members)))) {
		r = cairn_error_nomem();
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *vol = NULL, *b = NULL;
		struct cairn_group_member *m = &g->members[i];
		if (json_unpack(json_array_get(members, i), "{s:s, s:s}", "volume", &vol, "backup", &b) != 0 ||
		    parse_id(b, m->backup) < 0) {
			r = bad("member");
			goto out;
		}
		if ((r = bad_name("member volume name", vol, false)) < 0)
			goto out;
		memcpy(m->backup_hex, b, sizeof(m->backup_hex));
		if (!(m->volume = strdup(vol))) {
			r = cairn_error_nomem();
			goto out;
		}
		g->nmembers++;
	}
	size_t nf = freeze ? json_array_size(freeze) : 0;
	if (nf && !(g->freeze = calloc(nf, sizeof(char *)))) {
		r = cairn_error_nomem();
		goto out;
	}
	for (size_t i = 0; i < nf; i++) {
		const char *f = json_string_value(json_array_get(freeze, i));
		if (!f) {
			r = bad("freeze list");
			goto out;
		}
		if (!(g->freeze[i] = strdup(f))) {
			r = cairn_error_nomem();
			goto out;
		}
		g->nfreeze++;
	}
	if (config && !json_is_null(config)) {
		const char *cname = NULL, *b64 = NULL;
		if (json_unpack(config, "{s:s, s:s}", "name", &cname, "data", &b64) != 0) {
			r = bad("config");
			goto out;
		}
		if ((r = bad_name("config name", cname, true)) < 0)
			goto out;
		size_t blen = strlen(b64);
		if (blen % 4 || blen / 4 * 3 > CAIRN_GROUP_CONFIG_MAX) {
			r = bad("config data");
			goto out;
		}
		g->config = malloc(blen / 4 * 3 + 1);
		if (!(g->config_name = strdup(cname)) || !g->config) {
			r = cairn_error_nomem();
			goto out;
		}
		int got = EVP_DecodeBlock(g->config, (const unsigned char *)b64, (int)blen);
		if (got < 0) {
			r = bad("config data");
			goto out;
		}
		/* EVP_DecodeBlock counts the padding as data bytes. */
		size_t pad = (blen >= 1 && b64[blen - 1] == '=') + (blen >= 2 && b64[blen - 2] == '=');
		g->config_len = (size_t)got - pad;
	}
	*ret = TAKE_PTR(g);
out:
	json_decref(j);
	return r;
}

int cairn_group_backup_write(struct cairn_repo *repo, const struct cairn_group_backup *g, uint64_t *ret_bytes)
{
	_cleanup_free_ char *json = NULL;
	int r = cairn_group_backup_encode(g, &json);
	if (r < 0)
		return r;
	if ((r = cairn_object_fits(CAIRN_OBJ_GROUP, strlen(json) + CAIRN_AEAD_OVERHEAD)) < 0)
		return cairn_error_prefix(r, "group backup object (too many volumes?)");
	return cairn_object_put_sealed(repo, NULL, CAIRN_OBJ_GROUP, g->id, json, strlen(json), CAIRN_PUT_CREATE_ONLY,
				       ret_bytes);
}

struct collected {
	struct cairn_repo *repo;
	struct cairn_aead *aead;
	struct cairn_group_backup_list *l;
	size_t cap, bad_cap, why_cap;
};

static int load_one(const char *key, uint64_t size, void *ud)
{
	struct collected *c = ud;
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	if (cairn_object_name_parse(CAIRN_OBJ_GROUP, key, id) < 0)
		return 0;
	_cleanup_(cairn_buf_freep) struct cairn_buf obj = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT;
	int r = cairn_object_read(c->repo->store, CAIRN_OBJ_GROUP, key, size, &obj);
	if (r == CAIRN_ENOTFOUND)
		return 0;
	if (r < 0 && r != CAIRN_ECORRUPT)
		return r;
	struct cairn_group_backup *g = NULL;
	char why[sizeof(*c->l->why)] = "";
	if (r < 0)
		cairn_error_copy(why, sizeof(why));
	else if (cairn_repo_unseal(c->aead, CAIRN_AAD_GROUP, id, CAIRN_BACKUP_ID_LEN, obj.data, obj.len, &body) < 0)
		snprintf(why, sizeof(why), "%s does not open (authentication failed)", key);
	else if (cairn_group_backup_parse(body.data, body.len, &g) < 0)
		snprintf(why, sizeof(why), "%s: %s", key, cairn_error_message());
	else if (memcmp(g->id, id, sizeof(id)) != 0)
		snprintf(why, sizeof(why), "%s names another group backup", key);
	if (*why) {
		cairn_group_backup_free(g);
		if ((r = cairn_array_grow(&c->l->bad, &c->bad_cap, c->l->damaged, sizeof(*c->l->bad), 4)) < 0 ||
		    (r = cairn_array_grow(&c->l->why, &c->why_cap, c->l->damaged, sizeof(*c->l->why), 4)) < 0)
			return r;
		memcpy(c->l->why[c->l->damaged], why, sizeof(why));
		cairn_hex_encode(id, sizeof(id), c->l->bad[c->l->damaged++]);
		return 0;
	}
	if ((r = cairn_array_grow(&c->l->v, &c->cap, c->l->n, sizeof(*c->l->v), 16)) < 0) {
		cairn_group_backup_free(g);
		return r;
	}
	c->l->v[c->l->n++] = g;
	return 0;
}

static int by_created(const void *a, const void *b)
{
	const struct cairn_group_backup *x = *(struct cairn_group_backup *const *)a;
	const struct cairn_group_backup *y = *(struct cairn_group_backup *const *)b;
	if (x->created_us != y->created_us)
		return x->created_us < y->created_us ? -1 : 1;
	return memcmp(x->id, y->id, CAIRN_BACKUP_ID_LEN);
}

int cairn_group_backup_list_load(struct cairn_repo *repo, struct cairn_group_backup_list *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct collected c = { .repo = repo, .l = ret };
	int r = cairn_repo_aead(repo, &c.aead);
	if (r >= 0)
		r = cairn_store_list(repo->store, "groups/", load_one, &c);
	cairn_aead_free(c.aead);
	if (r < 0) {
		cairn_group_backup_list_free(ret);
		return r;
	}
	if (ret->n)
		qsort(ret->v, ret->n, sizeof(*ret->v), by_created);
	return 0;
}

void cairn_group_backup_list_free(struct cairn_group_backup_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		cairn_group_backup_free(l->v[i]);
	free(l->v);
	free(l->bad);
	free(l->why);
	memset(l, 0, sizeof(*l));
}

int cairn_group_backup_resolve(const struct cairn_group_backup_list *l, const char *spec,
			       struct cairn_group_backup **ret)
{
	size_t sl = strlen(spec);
	const char *name = NULL;
	_cleanup_free_ char *nm = NULL;
	if (strcmp(spec, "latest") == 0) {
		name = "";
	} else if (sl > 7 && strcmp(spec + sl - 7, "@latest") == 0) {
		if (!(nm = strndup(spec, sl - 7)))
			return cairn_error_nomem();
		name = nm;
	}
	if (name) {
		for (size_t i = l->n; i-- > 0;)
			if (!*name || strcmp(l->v[i]->name, name) == 0) {
				*ret = l->v[i];
				return 0;
			}
		return *name ? cairn_error_set(CAIRN_ENOTFOUND, "no group backup of group '%s'", name)
			     : cairn_error_set(CAIRN_ENOTFOUND, "the repository holds no group backup");
	}
	struct cairn_group_backup *found = NULL;
	size_t matches = 0;
	for (size_t i = 0; i < l->n; i++)
		if (sl && sl <= 2 * CAIRN_BACKUP_ID_LEN && strncasecmp(l->v[i]->idhex, spec, sl) == 0) {
			found = l->v[i];
			matches++;
		}
	if (!matches)
		return cairn_error_set(CAIRN_ENOTFOUND, "no group backup matches '%s'", spec);
	if (matches > 1)
		return cairn_error_set(CAIRN_EAMBIGUOUS, "group backup id prefix '%s' matches %zu; give more digits",
				       spec, matches);
	*ret = found;
	return 0;
}
