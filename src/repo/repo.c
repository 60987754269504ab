/* Repository lifecycle: init, open (config + keys), sealing helpers. */
#include "repo/repo.h"
#include "repo/kinds.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/time.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cairn_repo_seal(struct cairn_aead *a, char type, const uint8_t *name, size_t namelen, const void *data,
		    size_t len, struct cairn_buf *out)
{
	uint8_t aad[1 + 64];
	if (namelen > 64)
		return CAIRN_EINVAL;
	aad[0] = (uint8_t)type;
	memcpy(aad + 1, name, namelen);
	cairn_buf_clear(out);
	int r = cairn_buf_reserve(out, len + CAIRN_AEAD_OVERHEAD);
	if (r < 0)
		return r;
	r = cairn_aead_seal(a, aad, 1 + namelen, data, len, out->data);
	if (r < 0)
		return r;
	out->len = len + CAIRN_AEAD_OVERHEAD;
	return 0;
}

int cairn_repo_unseal(struct cairn_aead *a, char type, const uint8_t *name, size_t namelen, const uint8_t *in,
		      size_t len, struct cairn_buf *out)
{
	uint8_t aad[1 + 64];
	if (namelen > 64)
		return CAIRN_EINVAL;
	if (len < CAIRN_AEAD_OVERHEAD)
		return cairn_error_set(CAIRN_ECORRUPT, "object truncated (%zu bytes)", len);
	aad[0] = (uint8_t)type;
	memcpy(aad + 1, name, namelen);
	cairn_buf_clear(out);
	int r = cairn_buf_reserve(out, len - CAIRN_AEAD_OVERHEAD + 1);
	if (r < 0)
		return r;
	r = cairn_aead_open(a, aad, 1 + namelen, in, len, out->data);
	if (r < 0)
		return r;
	out->len = len - CAIRN_AEAD_OVERHEAD;
	return 0;
}

static int derive_subkeys(struct cairn_secrets *k)
{
	int r = cairn_hkdf(k->master, sizeof(k->master), "cairn v1 encryption", k->enc, sizeof(k->enc));
	if (r < 0)
		return r;
	if ((r = cairn_hkdf(k->master, sizeof(k->master), "cairn v1 id", k->id, sizeof(k->id))) < 0 ||
	    (r = cairn_hkdf(k->master, sizeof(k->master), "cairn v1 change tag", k->tag, sizeof(k->tag))) < 0)
		return r;
	return cairn_hkdf(k->master, sizeof(k->master), "cairn v1 local state", k->local, sizeof(k->local));
}

int cairn_repo_hasher(const struct cairn_repo *r, struct cairn_hasher **ret)
{
	return cairn_hasher_new(r->keys->id, ret);
}

int cairn_repo_fingerprint(const struct cairn_repo *r, char ret[CAIRN_FINGERPRINT_HEX + 1])
{
	uint8_t fp[CAIRN_FINGERPRINT_HEX / 2];
	int rc = cairn_hkdf(r->keys->master, sizeof(r->keys->master), "cairn v1 fingerprint", fp, sizeof(fp));
	if (rc < 0)
		return rc;
	cairn_hex_encode(fp, sizeof(fp), ret);
	ret[CAIRN_FINGERPRINT_HEX] = 0;
	return 0;
}

int cairn_repo_aead(const struct cairn_repo *r, struct cairn_aead **ret)
{
	return cairn_aead_new(r->keys->enc, ret);
}

static struct cairn_repo *repo_alloc(struct cairn_store *store)
{
	struct cairn_repo *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->keys = cairn_secret_alloc(sizeof(*r->keys));
	if (!r->keys) {
		free(r);
		return NULL;
	}
	r->store = store;
	return r;
}

void cairn_repo_free(struct cairn_repo *r)
{
	if (!r)
		return;
	cairn_store_free(r->store);
	cairn_secret_free(r->keys, sizeof(*r->keys));
	free(r);
}

/* ---- config ---- */

static int64_t test_seconds;

void cairn_repo_set_test_lock_seconds(int64_t seconds)
{
	test_seconds = seconds > 0 ? seconds : 0;
}

const char *cairn_lock_mode_name(enum cairn_lock_mode m)
{
	return m == CAIRN_LOCK_GOVERNANCE ? "governance" : "compliance";
}

int cairn_lock_mode_parse(const char *s)
{
	if (!strcmp(s, "compliance"))
		return CAIRN_LOCK_COMPLIANCE;
	if (!strcmp(s, "governance"))
		return CAIRN_LOCK_GOVERNANCE;
	return -1;
}

int cairn_repo_lock_apply(struct cairn_repo *repo)
{
	struct cairn_store_lock l = {
		.seconds = test_seconds ? test_seconds : (int64_t)repo->config.object_lock_days * 86400,
		.mode = repo->config.object_lock_mode,
	};
	int r = cairn_store_lock_set(repo->store, &l);
	if (r == CAIRN_EUNSUPPORTED)
		return cairn_error_set(r,
				       "%s: object lock needs an S3 repository (s3://) on a server with Object Lock; "
				       "%s stores cannot retain objects",
				       repo->store->uri, repo->store->ops->name);
	return r;
}


struct cairn_comp_mode cairn_repo_config_compression(const struct cairn_repo_config *c)
{
	return (struct cairn_comp_mode){ c->compression, c->compression == CAIRN_COMP_ZSTD ? c->compression_level : 0 };
}

void cairn_repo_set_compression(struct cairn_repo *repo, const struct cairn_comp_mode *m)
{
	repo->compression = *m;
}

static void config_header(uint8_t out[CAIRN_CONFIG_HEADER_LEN], uint32_t version)
{
	memcpy(out, CAIRN_CONFIG_MAGIC, CAIRN_MAGIC_LEN);
	cairn_put_le32(out + CAIRN_MAGIC_LEN, version);
}

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int cairn_config_parse_json(const uint8_t *data, size_t len, struct cairn_repo_config *ret)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)data, len, 0, &jerr);
	if (!j)
		return cairn_error_set(CAIRN_ECORRUPT, "config: %s", jerr.text);
	int r = 0;
	const char *id = NULL, *created = NULL, *comp = NULL, *instance = NULL;
	json_int_t version = 0, chunk = 0, pack = 0, fanout = 0, level = 0;
	if (json_unpack_ex(j, &jerr, 0, "{s:I, s:s, s:s, s:I, s:I, s:I, s:s, s:I, s?s}", "version", &version, "id",
			   &id, "created", &created, "chunk_size", &chunk, "pack_size", &pack, "tree_fanout", &fanout,
			   "compression", &comp, "compression_level", &level, "instance", &instance) != 0) {
		r = cairn_error_set(CAIRN_ECORRUPT, "config: %s", jerr.text);
		goto out;
	}
	if (version != CAIRN_FORMAT_VERSION) {
		r = cairn_error_set(CAIRN_EVERSION, "repository format version %lld is not supported (this cairn reads %d)",
				    (long long)version, CAIRN_FORMAT_VERSION);
		goto out;
	}
	if (strlen(id) != 32 || cairn_hex_decode(id, ret->id, 16) < 0 || !is_pow2((uint64_t)chunk) ||
	    chunk < CAIRN_CHUNK_SIZE_MIN || chunk > CAIRN_CHUNK_SIZE_MAX || pack < chunk || pack > (1ll << 30) ||
	    fanout != CAIRN_TREE_FANOUT || cairn_comp_algo_from_name(comp) < 0 ||
	    (strcmp(comp, "zstd") == 0 ? level < CAIRN_COMP_ZSTD_LEVEL_MIN || level > CAIRN_COMP_ZSTD_LEVEL_MAX || level == 0
				       : level != 0)) {
		r = cairn_error_set(CAIRN_ECORRUPT, "config: values out of range");
		goto out;
	}
	/* Absent in a repository made by a plain init: its instance is its id. */
	memcpy(ret->instance, ret->id, 16);
	if (instance && (strlen(instance) != 32 || cairn_hex_decode(instance, ret->instance, 16) < 0)) {
		r = cairn_error_set(CAIRN_ECORRUPT, "config: invalid instance");
		goto out;
	}
	ret->compression = (enum cairn_comp_algo)cairn_comp_algo_from_name(comp);
	ret->version = (uint32_t)version;
	ret->chunk_size = (uint32_t)chunk;
	ret->pack_size = (uint32_t)pack;
	ret->tree_fanout = (uint32_t)fanout;
	ret->compression_level = (int)level;
	if ((ret->created = cairn_time_parse(created)) < 0) {
		r = cairn_error_set(CAIRN_ECORRUPT, "config: invalid creation time");
		goto out;
	}
	/* Optional: absent in repositories without object lock. */
	ret->object_lock_days = 0;
	ret->object_lock_mode = CAIRN_LOCK_COMPLIANCE;
	json_t *days = json_object_get(j, "object_lock_days"), *mode = json_object_get(j, "object_lock_mode");
	if (days || mode) {
		const char *m = json_string_value(mode);
		if (!json_is_integer(days) || json_integer_value(days) < 1 ||
		    json_integer_value(days) > CAIRN_OBJECT_LOCK_DAYS_MAX || !m ||
		    (strcmp(m, "compliance") != 0 && strcmp(m, "governance") != 0)) {
			r = cairn_error_set(CAIRN_ECORRUPT, "config: object lock values out of range");
			goto out;
		}
		ret->object_lock_days = (uint32_t)json_integer_value(days);
		ret->object_lock_mode = strcmp(m, "governance") == 0 ? CAIRN_LOCK_GOVERNANCE : CAIRN_LOCK_COMPLIANCE;
	}
out:
	json_decref(j);
	return r;
}

static int config_write(struct cairn_repo *repo)
{
	char idhex[33], created[40];
	cairn_hex_encode(repo->config.id, 16, idhex);
	cairn_time_format(repo->config.created, created, sizeof(created));
	json_t *j = json_pack("{s:i, s:s, s:s, s:I, s:I, s:I, s:s, s:i}", "version", CAIRN_FORMAT_VERSION, "id", idhex,
			      "created", created, "chunk_size", (json_int_t)repo->config.chunk_size, "pack_size",
			      (json_int_t)repo->config.pack_size, "tree_fanout", (json_int_t)repo->config.tree_fanout,
			      "compression", cairn_comp_algo_name(repo->config.compression), "compression_level",
			      repo->config.compression_level);
	if (!j)
		return cairn_error_nomem();
	if (memcmp(repo->config.instance, repo->config.id, 16) != 0) {
		char insthex[33];
		cairn_hex_encode(repo->config.instance, 16, insthex);
		if (json_object_set_new(j, "instance", json_string(insthex)) < 0) {
			json_decref(j);
			return cairn_error_nomem();
		}
	}
	if (repo->config.object_lock_days &&
	    (json_object_set_new(j, "object_lock_days", json_integer(repo->config.object_lock_days)) < 0 ||
	     json_object_set_new(j, "object_lock_mode",
				 json_string(cairn_lock_mode_name(repo->config.object_lock_mode))) < 0)) {
		json_decref(j);
		return cairn_error_nomem();
	}
	_cleanup_free_ char *body = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (!body)
		return cairn_error_nomem();
	struct cairn_aead *a = NULL;
	int r = cairn_repo_aead(repo, &a);
	if (r < 0)
		return r;
	uint8_t header[CAIRN_CONFIG_HEADER_LEN];
	config_header(header, CAIRN_FORMAT_VERSION);
	_cleanup_(cairn_buf_freep) struct cairn_buf sealed = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf obj = CAIRN_BUF_INIT;
	r = cairn_repo_seal(a, CAIRN_AAD_CONFIG, header, sizeof(header), body, strlen(body), &sealed);
	cairn_aead_free(a);
	if (r < 0)
		return r;
	if ((r = cairn_buf_append(&obj, header, sizeof(header))) < 0 ||
	    (r = cairn_buf_append(&obj, sealed.data, sealed.len)) < 0)
		return r;
	r = cairn_store_put(repo->store, "config", obj.data, obj.len, CAIRN_PUT_CREATE_ONLY);
	if (r == CAIRN_EEXIST)
		return cairn_error_set(r, "a repository already exists at %s", repo->store->uri);
	return r;
}

static int key_write(struct cairn_repo *repo, const char *pass, size_t passlen, unsigned log2n, char *ret_kid)
{
	uint8_t obj[CAIRN_KEY_OBJECT_LEN], kid[CAIRN_KEY_ID_LEN];
	char name[64], kidhex[2 * CAIRN_KEY_ID_LEN + 1];
	int r = cairn_key_object_make(repo->keys->master, pass, passlen, log2n, obj);
	if (r < 0)
		return r;
	if ((r = cairn_random(kid, sizeof(kid))) < 0)
		return r;
	cairn_hex_encode(kid, sizeof(kid), kidhex);
	snprintf(name, sizeof(name), "keys/%s", kidhex);
	r = cairn_store_put(repo->store, name, obj, sizeof(obj), CAIRN_PUT_CREATE_ONLY);
	if (r < 0)
		return r;
	if (ret_kid)
		memcpy(ret_kid, kidhex, sizeof(kidhex));
	return 0;
}

static int stop_at_first(const char *key, uint64_t size, void *ud)
{
	(void)size;
	snprintf(ud, 128, "%s", key);
	return CAIRN_EEXIST; /* ends the listing */
}

int cairn_repo_data_without_config(struct cairn_store *store, char ret_key[128])
{
	static const char *const prefixes[] = { "backups/", "index/", "packs/", "groups/", "holds/" };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		int r = cairn_store_list(store, prefixes[i], stop_at_first, ret_key);
		if (r == CAIRN_EEXIST)
			return 1;
		if (r < 0 && r != CAIRN_ENOTFOUND)
			return r;
	}
	return 0;
}

int cairn_repo_init(struct cairn_store *store, const char *pass, size_t passlen,
		    const struct cairn_init_params *p, struct cairn_repo **ret)
{
	_cleanup_(cairn_repo_freep) struct cairn_repo *repo = repo_alloc(store);
	if (!repo) {
		cairn_store_free(store);
		return cairn_error_nomem();
	}
	const struct cairn_repo *fam = p ? p->family : NULL;
	uint32_t chunk = fam ? fam->config.chunk_size : p && p->chunk_size ? p->chunk_size : CAIRN_CHUNK_SIZE_DEFAULT;
	uint32_t pack = fam ? fam->config.pack_size : p && p->pack_size ? p->pack_size : CAIRN_PACK_SIZE_DEFAULT;
	if (!is_pow2(chunk) || chunk < CAIRN_CHUNK_SIZE_MIN || chunk > CAIRN_CHUNK_SIZE_MAX)
		return cairn_error_set(CAIRN_EINVAL, "chunk size must be a power of two from 4K to 16M");
	if (pack < chunk)
		pack = chunk;
	if (passlen == 0)
		return cairn_error_set(CAIRN_EINVAL, "empty passphrase");
	int r;
	if (p && p->object_lock_days) {
		/* Before create: the bucket is made with Object Lock. */
		if (p->object_lock_days > CAIRN_OBJECT_LOCK_DAYS_MAX)
			return cairn_error_set(CAIRN_EINVAL, "object lock of %u days: at most %d", p->object_lock_days,
					       CAIRN_OBJECT_LOCK_DAYS_MAX);
		repo->config.object_lock_days = p->object_lock_days;
		repo->config.object_lock_mode = p->object_lock_mode;
		if ((r = cairn_repo_lock_apply(repo)) < 0)
			return r;
	}
	r = cairn_store_create(repo->store);
	if (r < 0)
		return r;
	uint64_t size;
	r = cairn_store_stat(repo->store, "config", &size);
	if (r == 0)
		return cairn_error_set(CAIRN_EEXIST, "a repository already exists at %s", repo->store->uri);
	if (r != CAIRN_ENOTFOUND)
		return r;
	/* Keys alone are what an interrupted init leaves: init again.  Data
	 * means a repository that lost its config; a new one would hide it. */
	char seen[128];
	if ((r = cairn_repo_data_without_config(repo->store, seen)) < 0)
		return r;
	if (r > 0)
		return cairn_error_set(CAIRN_EEXIST,
				       "%s has no config but holds repository data (%s): restore its config "
				       "from a copy; init would not reuse the data",
				       repo->store->uri, seen);
	/* Keys written before any config are an interrupted init's: they wrap
	 * a master key nothing uses.  Removed once our config is in place (so
	 * a concurrent init that wins keeps its key); open skips them anyway. */
	_cleanup_(cairn_key_list_freep) struct cairn_key_list stale = { 0 };
	if ((r = cairn_store_list_keys(repo->store, "keys/", &stale)) < 0 && r != CAIRN_ENOTFOUND)
		return r;
	repo->config.version = CAIRN_FORMAT_VERSION;
	repo->config.chunk_size = chunk;
	repo->config.pack_size = pack;
	repo->config.tree_fanout = CAIRN_TREE_FANOUT;
	repo->config.compression = p ? p->compression : CAIRN_COMP_AUTO;
	repo->config.compression_level = p ? p->compression_level : 0;
	if (repo->config.compression == CAIRN_COMP_AUTO && repo->config.compression_level)
		repo->config.compression = CAIRN_COMP_ZSTD;
	else if (repo->config.compression == CAIRN_COMP_ZSTD && !repo->config.compression_level)
		repo->config.compression_level = CAIRN_COMP_ZSTD_LEVEL_DEFAULT;
	else if (repo->config.compression != CAIRN_COMP_ZSTD)
		repo->config.compression_level = 0;
	repo->compression = cairn_repo_config_compression(&repo->config);
	repo->config.created = (int64_t)time(NULL);
	if (fam) {
		/* Same id and master secret: blobs, trees and every sealed
		 * object of one member open in the other.  A fresh instance
		 * keeps their local state apart (repo.h). */
		repo->config.compression = fam->config.compression;
		repo->config.compression_level = fam->config.compression_level;
		repo->compression = cairn_repo_config_compression(&repo->config);
		memcpy(repo->config.id, fam->config.id, sizeof(repo->config.id));
		memcpy(repo->keys->master, fam->keys->master, sizeof(repo->keys->master));
		do {
			if ((r = cairn_random(repo->config.instance, sizeof(repo->config.instance))) < 0)
				return r;
		} while (memcmp(repo->config.instance, repo->config.id, 16) == 0 ||
			 memcmp(repo->config.instance, fam->config.instance, 16) == 0);
	} else {
		if ((r = cairn_random(repo->config.id, sizeof(repo->config.id))) < 0 ||
		    (r = cairn_random(repo->keys->master, sizeof(repo->keys->master))) < 0)
			return r;
		memcpy(repo->config.instance, repo->config.id, 16);
	}
	if ((r = derive_subkeys(repo->keys)) < 0)
		return r;
	/* Key first, config last: a store with a config is a usable repository. */
	if ((r = key_write(repo, pass, passlen, p ? p->scrypt_log2n : 0, repo->key_name)) < 0)
		return r;
	if ((r = config_write(repo)) < 0)
		return r;
	/* Only where create-only is atomic is "our config won" certain: with
	 * a check-then-put fallback two inits could both think so. */
	for (size_t i = 0; cairn_store_has(repo->store, CAIRN_STORE_FEAT_CREATE_ONLY) && i < stale.n; i++)
		if (cairn_object_name_parse(CAIRN_OBJ_KEY, stale.v[i], NULL) == 0 &&
		    cairn_store_del(repo->store, stale.v[i]) < 0)
			cairn_log_debug("stale key %s not removed: %s", stale.v[i], cairn_error_message());
	*ret = TAKE_PTR(repo);
	return 0;
}

/* ---- key objects as open and key list read them ---- */

struct key_entry {
	char *name;
	uint64_t cost; /* scrypt work: 128 * N * r * p */
	size_t order;  /* in the listing: equal costs keep it */
	struct cairn_key_object ko;
	uint8_t raw[CAIRN_KEY_OBJECT_LEN];
};

struct key_scan {
	struct key_entry *v;
	size_t n, cap;
	size_t listed;   /* objects of a key's size */
	size_t not_read; /* of those, past CAIRN_KEY_OPEN_MAX_OBJECTS */
	bool warn;
};

static void key_scan_clear(struct key_scan *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		free(ks->v[i].name);
	free(ks->v);
	memset(ks, 0, sizeof(*ks));
}

/* The listing gives sizes: an object that is not exactly a key object's
 * size is never read (one planted 1 GiB object would otherwise be read
 * whole by every command). */
static int collect_key_object(const char *key, uint64_t size, void *ud)
{
	struct key_scan *ks = ud;
	if (cairn_object_name_parse(CAIRN_OBJ_KEY, key, NULL) < 0)
		return 0; /* not a name cairn writes: check reports it */
	if (size != CAIRN_KEY_OBJECT_LEN) {
		if (ks->warn)
			cairn_log_warn("%s is %llu bytes, not a key object (%d): skipped ('cairn key remove %s' "
				       "deletes it)",
				       key, (unsigned long long)size, CAIRN_KEY_OBJECT_LEN, key + strlen("keys/"));
		return 0;
	}
	if (ks->listed++ >= CAIRN_KEY_OPEN_MAX_OBJECTS) {
		ks->not_read++;
		return 0;
	}
	if (cairn_array_grow(&ks->v, &ks->cap, ks->n, sizeof(*ks->v), 4) < 0)
		return cairn_error_nomem();
	struct key_entry *e = &ks->v[ks->n];
	memset(e, 0, sizeof(*e));
	if (!(e->name = strdup(key)))
		return cairn_error_nomem();
	e->order = ks->n++;
	return 0;
}

size_t cairn_key_budget_fit(const uint64_t *costs, size_t n, uint64_t budget)
{
	uint64_t spent = 0;
	size_t i = 0;
	for (; i < n && costs[i] <= budget - spent; i++)
		spent += costs[i];
	return i;
}

static int key_cheaper(const void *a, const void *b)
{
	const struct key_entry *x = a, *y = b;
	if (x->cost != y->cost)
		return x->cost < y->cost ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Lists keys/, reads (exactly CAIRN_KEY_OBJECT_LEN bytes of) every object
 * of a key's size up to CAIRN_KEY_OPEN_MAX_OBJECTS, and keeps those that
 * parse, cheapest first. */
static int key_scan(struct cairn_store *store, bool warn, struct key_scan *ret)
{
	struct key_scan ks = { .warn = warn };
	int r = cairn_store_list(store, "keys/", collect_key_object, &ks);
	if (r < 0) {
		key_scan_clear(&ks);
		return r;
	}
	_cleanup_(cairn_buf_freep) struct cairn_buf kb = CAIRN_BUF_INIT;
	size_t kept = 0;
	for (size_t i = 0; i < ks.n; i++) {
		struct key_entry *e = &ks.v[i];
		if (cairn_store_get(store, e->name, 0, CAIRN_KEY_OBJECT_LEN, &kb) < 0 ||
		    cairn_key_object_parse(kb.data, kb.len, &e->ko) < 0) {
			cairn_log_debug("%s skipped: %s", e->name, cairn_error_message());
			cairn_error_clear();
			free(e->name);
			continue;
		}
		memcpy(e->raw, kb.data, CAIRN_KEY_OBJECT_LEN);
		e->cost = cairn_kdf_memory(e->ko.log2n, e->ko.r) * e->ko.p;
		ks.v[kept++] = *e;
	}
	ks.n = kept;
	if (ks.n)
		qsort(ks.v, ks.n, sizeof(*ks.v), key_cheaper);
	*ret = ks;
	return 0;
}

static int read_config_header(struct cairn_repo *repo, struct cairn_buf *cfg)
{
	int r = cairn_object_read(repo->store, CAIRN_OBJ_CONFIG, "config", CAIRN_SIZE_UNKNOWN, cfg);
	if (r == CAIRN_ENOTFOUND)
		return cairn_error_set(CAIRN_ENOTREPO, "%s is not a cairn repository (no config)", repo->store->uri);
	if (r == CAIRN_ECORRUPT)
		return cairn_error_prefix(r, "repository %s is damaged", repo->store->uri);
	if (r < 0)
		return r;
	if (cfg->len < CAIRN_CONFIG_HEADER_LEN || memcmp(cfg->data, CAIRN_CONFIG_MAGIC, CAIRN_MAGIC_LEN) != 0)
		return cairn_error_set(CAIRN_ENOTREPO, "%s is not a cairn repository (config has no cairn header)",
				       repo->store->uri);
	uint32_t version = cairn_le32(cfg->data + CAIRN_MAGIC_LEN);
	if (version != CAIRN_FORMAT_VERSION)
		return cairn_error_set(CAIRN_EVERSION,
				       "repository %s has format version %u; this cairn reads version %d only "
				       "(a newer cairn wrote it, or its config is damaged)",
				       repo->store->uri, version, CAIRN_FORMAT_VERSION);
	return 0;
}

int cairn_repo_open(struct cairn_store *store, const char *pass, size_t passlen, struct cairn_repo **ret)
{
	_cleanup_(cairn_repo_freep) struct cairn_repo *repo = repo_alloc(store);
	if (!repo) {
		cairn_store_free(store);
		return cairn_error_nomem();
	}
	_cleanup_(cairn_buf_freep) struct cairn_buf cfg = CAIRN_BUF_INIT;
	int r = read_config_header(repo, &cfg);
	if (r < 0)
		return r;
	struct key_scan keys;
	if ((r = key_scan(repo->store, true, &keys)) < 0)
		return r;
	/* A key opens the repository when the passphrase unwraps it and its
	 * master key authenticates the config: a stale key from an interrupted
	 * init may take the same passphrase and must not hide the real one.
	 * Each try costs the key's scrypt, which a key object sets: cheapest
	 * first, and no more than the budget in all. */
	uint64_t costs[CAIRN_KEY_OPEN_MAX_OBJECTS];
	for (size_t i = 0; i < keys.n; i++)
		costs[i] = keys.v[i].cost;
	size_t ntry = cairn_key_budget_fit(costs, keys.n, CAIRN_KEY_OPEN_BUDGET);
	int found = 0, unwrapped = 0;
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT;
	for (size_t i = 0; i < ntry && !found; i++) {
		const struct key_entry *e = &keys.v[i];
		cairn_log_debug("trying key %s (scrypt N 2^%u, r %u, p %u)", e->name, e->ko.log2n, e->ko.r, e->ko.p);
		r = cairn_key_object_unwrap(&e->ko, e->raw, pass, passlen, repo->keys->master);
		if (r != 0) {
			/* One key we cannot use (out of memory) must not lock out
			 * the passphrases of the others. */
			if (r != CAIRN_EPASSPHRASE)
				cairn_log_debug("key %s skipped: %s", e->name, cairn_error_message());
			continue;
		}
		unwrapped = 1;
		struct cairn_aead *a = NULL;
		if ((r = derive_subkeys(repo->keys)) < 0 || (r = cairn_repo_aead(repo, &a)) < 0) {
			key_scan_clear(&keys);
			return r;
		}
		r = cairn_repo_unseal(a, CAIRN_AAD_CONFIG, cfg.data, CAIRN_CONFIG_HEADER_LEN, cfg.data + CAIRN_CONFIG_HEADER_LEN,
				      cfg.len - CAIRN_CONFIG_HEADER_LEN, &body);
		cairn_aead_free(a);
		if (r == 0) {
			found = 1;
			snprintf(repo->key_name, sizeof(repo->key_name), "%s", e->name + strlen("keys/"));
		} else {
			cairn_log_debug("key %s does not open this repository's config", e->name);
		}
	}
	size_t readable = keys.n, untried = keys.n - ntry + keys.not_read;
	key_scan_clear(&keys);
	if (!found) {
		if (unwrapped)
			return cairn_error_set(CAIRN_ECORRUPT,
					       "repository config of %s is damaged (authentication failed)",
					       repo->store->uri);
		if (!readable && !untried)
			return cairn_error_set(CAIRN_ECORRUPT, "repository %s has no readable key object",
					       repo->store->uri);
		if (untried)
			return cairn_error_set(CAIRN_EPASSPHRASE,
					       "wrong passphrase for repository %s, or its key is one of %zu key "
					       "object(s) not tried: one open reads at most %d and spends at most "
					       "%llu MiB of scrypt, cheapest first; remove the keys you do not use "
					       "('cairn key list', 'cairn key remove ID', or by hand from keys/)",
					       repo->store->uri, untried, CAIRN_KEY_OPEN_MAX_OBJECTS,
					       CAIRN_KEY_OPEN_BUDGET >> 20);
		return cairn_error_set(CAIRN_EPASSPHRASE, "wrong passphrase for repository %s", repo->store->uri);
	}
	if ((r = cairn_config_parse_json(body.data, body.len, &repo->config)) < 0)
		return r;
	if (repo->config.object_lock_days && cairn_repo_lock_apply(repo) < 0) {
		/* Reading needs no lock; writing here would leave objects unretained. */
		cairn_log_warn("%s: objects written through this store carry no retention", cairn_error_message());
		cairn_error_clear();
	}
	repo->compression = cairn_repo_config_compression(&repo->config);
	*ret = TAKE_PTR(repo);
	return 0;
}

int cairn_repo_key_add(struct cairn_repo *r, const char *pass, size_t passlen, unsigned log2n,
		       char ret_kid[2 * CAIRN_KEY_ID_LEN + 1])
{
	if (passlen == 0)
		return cairn_error_set(CAIRN_EINVAL, "empty passphrase");
	return key_write(r, pass, passlen, log2n, ret_kid);
}

int cairn_repo_key_list(struct cairn_repo *r, struct cairn_key_info **ret, size_t *ret_n)
{
	/* Open has warned about objects that are not keys already. */
	struct key_scan keys;
	int rc = key_scan(r->store, false, &keys);
	if (rc < 0)
		return rc;
	struct cairn_key_info *out = calloc(keys.n ? keys.n : 1, sizeof(*out));
	for (size_t i = 0; out && i < keys.n; i++) {
		const struct key_entry *e = &keys.v[i];
		snprintf(out[i].kid, sizeof(out[i].kid), "%s", e->name + strlen("keys/"));
		out[i].created = e->ko.created;
		out[i].log2n = e->ko.log2n;
		out[i].r = e->ko.r;
		out[i].p = e->ko.p;
		out[i].current = strcmp(out[i].kid, r->key_name) == 0;
	}
	size_t n = keys.n;
	key_scan_clear(&keys);
	if (!out)
		return cairn_error_nomem();
	*ret = out;
	*ret_n = n;
	return 0;
}

int cairn_repo_key_remove(struct cairn_repo *r, const char *kid)
{
	char name[64];
	uint64_t size;
	if (strcmp(kid, r->key_name) == 0)
		return cairn_error_set(CAIRN_EBUSY, "key %s is the one in use; open with another passphrase to remove it",
				       kid);
	snprintf(name, sizeof(name), "keys/%s", kid);
	if (cairn_object_name_parse(CAIRN_OBJ_KEY, name, NULL) < 0)
		return cairn_error_set(CAIRN_EINVAL, "'%s' is not a key id (16 hex digits, as 'cairn key list' shows)",
				       kid);
	int rc = cairn_store_stat(r->store, name, &size);
	if (rc == CAIRN_ENOTFOUND)
		return cairn_error_set(rc, "no key %s in this repository", kid);
	if (rc < 0)
		return rc;
	return cairn_store_del(r->store, name);
}
