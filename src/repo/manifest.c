/* Manifests: JSON inside an AEAD seal; the backup exists once this is written. */
#include "repo/manifest.h"
#include "repo/objects.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/parallel.h"
#include "util/time.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void cairn_manifest_free(struct cairn_manifest *m)
{
	if (!m)
		return;
	free(m->volume);
	free(m->hostname);
	free(m->source);
	for (size_t i = 0; i < m->ntags; i++)
		free(m->tags[i]);
	free(m->tags);
	free(m->change_tracking);
	free(m->consistency);
	free(m->policy);
	free(m->catalog_none);
	cairn_volume_info_clear(&m->info);
	free(m);
}

static void set_opt_string(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

int cairn_manifest_encode(const struct cairn_manifest *m, char **ret_json)
{
	char idhex[2 * CAIRN_BACKUP_ID_LEN + 1], root[2 * CAIRN_ID_LEN + 1], parent[2 * CAIRN_BACKUP_ID_LEN + 1],
		created[48];
	cairn_hex_encode(m->id, CAIRN_BACKUP_ID_LEN, idhex);
	cairn_hex_encode(m->root, CAIRN_ID_LEN, root);
	cairn_hex_encode(m->parent, CAIRN_BACKUP_ID_LEN, parent);
	cairn_time_format_us(m->created_us, created, sizeof(created));
	json_t *tags = json_array();
	for (size_t i = 0; tags && i < m->ntags; i++)
		json_array_append_new(tags, json_string(m->tags[i]));
	json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:o, s:o, s:s, "
			      "s:{s:I, s:I, s:I, s:I, s:I, s:f}}",
			      "version", CAIRN_FORMAT_VERSION, "id", idhex, "volume", m->volume, "created", created,
			      "hostname", m->hostname ? m->hostname : "", "source", m->source ? m->source : "",
			      "size", (json_int_t)m->size, "chunk_size", (json_int_t)m->chunk_size, "tree_fanout",
			      (json_int_t)m->fanout, "levels", (json_int_t)m->levels, "root", root, "parent",
			      m->has_parent ? json_string(parent) : json_null(), "tags", tags,
			      "change_tracking", m->change_tracking ? m->change_tracking : "full-read", "stats",
			      "bytes_read", (json_int_t)m->stats.bytes_read, "bytes_new",
			      (json_int_t)m->stats.bytes_new, "bytes_stored", (json_int_t)m->stats.bytes_stored,
			      "chunks_new", (json_int_t)m->stats.chunks_new, "bytes_hashed",
			      (json_int_t)m->stats.bytes_hashed, "seconds", m->stats.seconds);
	if (j && (m->info.logical_block_size || m->info.fs_type || m->info.label || m->info.uuid)) {
		json_t *vi = json_object();
		if (m->info.logical_block_size)
			json_object_set_new(vi, "logical_block_size", json_integer(m->info.logical_block_size));
		set_opt_string(vi, "fs_type", m->info.fs_type);
		set_opt_string(vi, "label", m->info.label);
		set_opt_string(vi, "uuid", m->info.uuid);
		json_object_set_new(j, "volume_info", vi);
	}
	if (j && m->in_group) {
		char g[2 * CAIRN_BACKUP_ID_LEN + 1];
		cairn_hex_encode(m->group_id, CAIRN_BACKUP_ID_LEN, g);
		json_object_set_new(j, "group", json_string(g));
	}
	if (j && m->policy) {
		json_object_set_new(j, "policy", json_string(m->policy));
		json_object_set_new(j, "policy_id", json_string(m->policy_id));
	}
	if (j && m->consistency)
		json_object_set_new(j, "consistency", json_string(m->consistency));
	if (j && m->has_catalog) {
		char cat[2 * CAIRN_ID_LEN + 1];
		cairn_hex_encode(m->catalog, CAIRN_ID_LEN, cat);
		json_object_set_new(j, "catalog", json_string(cat));
	} else if (j && m->catalog_none) {
		json_object_set_new(j, "catalog_none", json_string(m->catalog_none));
	}
	if (j && (m->stats.catalog_nodes_new || m->stats.catalog_seconds > 0)) {
		json_t *st = json_object_get(j, "stats");
		json_object_set_new(st, "catalog_nodes_new", json_integer((json_int_t)m->stats.catalog_nodes_new));
		json_object_set_new(st, "catalog_bytes_new", json_integer((json_int_t)m->stats.catalog_bytes_new));
		json_object_set_new(st, "catalog_seconds", json_real(m->stats.catalog_seconds));
	}
	if (!j)
		return cairn_error_set(CAIRN_EINVAL, "manifest: cannot encode (invalid UTF-8 in a name or tag?)");
	*ret_json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return *ret_json ? 0 : cairn_error_nomem();
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int cairn_manifest_parse(const uint8_t *data, size_t len, struct cairn_manifest **ret)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)data, len, 0, &jerr);
	if (!j)
		return cairn_error_set(CAIRN_ECORRUPT, "manifest: %s", jerr.text);
	_cleanup_(cairn_manifest_freep) struct cairn_manifest *m = calloc(1, sizeof(*m));
	int r = 0;
	if (!m) {
		json_decref(j);
		return cairn_error_nomem();
	}
	json_int_t version = 0, size = 0, chunk = 0, fanout = 0, levels = 0;
	json_int_t br = 0, bn = 0, bs = 0, cn = 0, bh = 0;
	double secs = 0;
	const char *id = NULL, *volume = NULL, *created = NULL, *host = NULL, *source = NULL, *root = NULL,
		   *ct = NULL;
	json_t *parent = NULL, *tags = NULL, *vi = NULL;
	const char *group = NULL, *policy = NULL, *policy_id = NULL, *consistency = NULL;
	const char *catalog = NULL, *catalog_none = NULL;
	json_int_t cnodes = 0, cbytes = 0;
	double csecs = 0;
	if (json_unpack_ex(j, &jerr, 0,
			   "{s:I, s:s, s:s, s:s, s?s, s?s, s:I, s:I, s:I, s:I, s:s, s:o, s:o, s?s, "
			   "s?{s?I, s?I, s?I, s?I, s?I, s?F, s?I, s?I, s?F}, s?o, s?s, s?s, s?s, s?s, s?s, s?s}",
			   "version", &version, "id", &id, "volume", &volume, "created", &created, "hostname", &host,
			   "source", &source, "size", &size, "chunk_size", &chunk, "tree_fanout", &fanout, "levels",
			   &levels, "root", &root, "parent", &parent, "tags", &tags, "change_tracking", &ct, "stats",
			   "bytes_read", &br, "bytes_new", &bn, "bytes_stored", &bs, "chunks_new", &cn,
			   "bytes_hashed", &bh, "seconds", &secs, "catalog_nodes_new", &cnodes, "catalog_bytes_new",
			   &cbytes, "catalog_seconds", &csecs, "volume_info", &vi, "group", &group, "policy", &policy,
			   "policy_id", &policy_id, "consistency", &consistency, "catalog", &catalog, "catalog_none",
			   &catalog_none) != 0) {
		r = cairn_error_set(CAIRN_ECORRUPT, "manifest: %s", jerr.text);
		goto out;
	}
	if (version != CAIRN_FORMAT_VERSION) {
		r = cairn_error_set(CAIRN_EVERSION, "manifest version %lld is not supported", (long long)version);
		goto out;
	}
	if (strlen(id) != 2 * CAIRN_BACKUP_ID_LEN || cairn_hex_decode(id, m->id, CAIRN_BACKUP_ID_LEN) < 0 ||
	    strlen(root) != 2 * CAIRN_ID_LEN || cairn_hex_decode(root, m->root, CAIRN_ID_LEN) < 0 || size < 0 ||
	    chunk < (json_int_t)CAIRN_CHUNK_SIZE_MIN || chunk > (json_int_t)CAIRN_CHUNK_SIZE_MAX ||
	    fanout != CAIRN_TREE_FANOUT || levels < 1 || levels > 16 || !json_is_array(tags) ||
	    (m->created_us = cairn_time_parse_us(created)) < 0 || !*volume) {
		r = cairn_error_set(CAIRN_ECORRUPT, "manifest: invalid field");
		goto out;
	}
	if (json_is_string(parent)) {
		const char *p = json_string_value(parent);
		if (strlen(p) != 2 * CAIRN_BACKUP_ID_LEN || cairn_hex_decode(p, m->parent, CAIRN_BACKUP_ID_LEN) < 0) {
			r = cairn_error_set(CAIRN_ECORRUPT, "manifest: invalid parent");
			goto out;
		}
		m->has_parent = true;
	} else if (!json_is_null(parent)) {
		r = cairn_error_set(CAIRN_ECORRUPT, "manifest: invalid parent");
		goto out;
	}
	if (group) {
		if (strlen(group) != 2 * CAIRN_BACKUP_ID_LEN ||
		    cairn_hex_decode(group, m->group_id, CAIRN_BACKUP_ID_LEN) < 0) {
			r = cairn_error_set(CAIRN_ECORRUPT, "manifest: invalid group");
			goto out;
		}
		m->in_group = true;
	}
	/* Both or neither; the id is what retention goes by. */
	if (!!policy != !!policy_id ||
	    (policy && (!*policy || strlen(policy_id) != 2 * CAIRN_POLICY_ID_LEN ||
			strspn(policy_id, "0123456789abcdef") != 2 * CAIRN_POLICY_ID_LEN))) {
		r = cairn_error_set(CAIRN_ECORRUPT, "manifest: invalid policy");
		goto out;
	}
	if (policy) {
		if (!(m->policy = strdup(policy))) {
			r = cairn_error_nomem();
			goto out;
		}
		memcpy(m->policy_id, policy_id, sizeof(m->policy_id));
	}
	if (vi) {
		json_int_t lbs = 0;
		const char *fs = NULL, *label = NULL, *uuid = NULL;
		if (json_unpack_ex(vi, &jerr, 0, "{s?I, s?s, s?s, s?s}", "logical_block_size", &lbs, "fs_type", &fs,
				   "label", &label, "uuid", &uuid) != 0 ||
		    lbs < 0 || lbs > (1 << 20)) {
			r = cairn_error_set(CAIRN_ECORRUPT, "manifest: invalid volume_info");
			goto out;
		}
		m->info.logical_block_size = (uint32_t)lbs;
		if ((fs && !(m->info.fs_type = strdup(fs))) || (label && !(m->info.label = strdup(label))) ||
		    (uuid && !(m->info.uuid = strdup(uuid)))) {
			r = cairn_error_nomem();
			goto out;
		}
	}
	memcpy(m->idhex, id, sizeof(m->idhex));
	m->volume = strdup(volume);
	m->hostname = dup_or_null(host);
	m->source = dup_or_null(source);
	m->change_tracking = strdup(ct ? ct : "full-read");
	if (catalog && (strlen(catalog) != 2 * CAIRN_ID_LEN || cairn_hex_decode(catalog, m->catalog, CAIRN_ID_LEN) < 0 ||
			cairn_id_is_zero(m->catalog))) {
		r = cairn_error_set(CAIRN_ECORRUPT, "manifest: invalid catalog");
		goto out;
	}
	m->has_catalog = catalog != NULL;
	if (!catalog && catalog_none && !(m->catalog_none = strdup(catalog_none))) {
		r = cairn_error_nomem();
		goto out;
	}
	if (consistency && !(m->consistency = strdup(consistency))) {
		r = cairn_error_nomem();
		goto out;
	}
	m->size = (uint64_t)size;
	m->chunk_size = (uint32_t)chunk;
	m->fanout = (uint32_t)fanout;
	m->levels = (unsigned)levels;
	m->stats = (struct cairn_backup_stats){ (uint64_t)br, (uint64_t)bn, (uint64_t)bs, (uint64_t)cn, (uint64_t)bh,
						secs };
	m->stats.catalog_nodes_new = cnodes > 0 ? (uint64_t)cnodes : 0;
	m->stats.catalog_bytes_new = cbytes > 0 ? (uint64_t)cbytes : 0;
	m->stats.catalog_seconds = csecs;
	m->ntags = json_array_size(tags);
	m->tags = calloc(m->ntags ? m->ntags : 1, sizeof(char *));
	if (!m->volume || !m->change_tracking || !m->tags) {
		r = cairn_error_nomem();
		goto out;
	}
	for (size_t i = 0; i < m->ntags; i++) {
		const char *t = json_string_value(json_array_get(tags, i));
		if (!t || !(m->tags[i] = strdup(t))) {
			r = t ? cairn_error_nomem() : cairn_error_set(CAIRN_ECORRUPT, "manifest: invalid tag");
			goto out;
		}
	}
	*ret = TAKE_PTR(m);
out:
	json_decref(j);
	return r;
}

int cairn_manifest_write(struct cairn_repo *repo, struct cairn_manifest *m, uint64_t *ret_bytes)
{
	/* stats.bytes_stored counts this object too, so that what `list`
	 * shows later is what `backup` printed.  Its sealed size is added
	 * before sealing, again until the number's own digits stop changing
	 * it: the size never shrinks as the number grows, so this ends, in
	 * two rounds but for a change in the digit count. */
	uint64_t base = m->stats.bytes_stored;
	_cleanup_free_ char *json = NULL;
	int r;
	for (;;) {
		free(json);
		json = NULL;
		if ((r = cairn_manifest_encode(m, &json)) < 0) {
			m->stats.bytes_stored = base;
			return r;
		}
		uint64_t total = base + strlen(json) + CAIRN_AEAD_OVERHEAD;
		if (total == m->stats.bytes_stored)
			break;
		m->stats.bytes_stored = total;
	}
	if ((r = cairn_object_fits(CAIRN_OBJ_MANIFEST, strlen(json) + CAIRN_AEAD_OVERHEAD)) < 0)
		r = cairn_error_prefix(r, "backup manifest (too many tags?)");
	if (r >= 0)
		r = cairn_object_put_sealed(repo, NULL, CAIRN_OBJ_MANIFEST, m->id, json, strlen(json),
					    CAIRN_PUT_CREATE_ONLY, ret_bytes);
	if (r < 0)
		m->stats.bytes_stored = base; /* as given: a caller may try again */
	return r;
}

/* size: as listed, or CAIRN_SIZE_UNKNOWN. */
static int read_with(struct cairn_repo *repo, struct cairn_aead *a, const uint8_t id[CAIRN_BACKUP_ID_LEN],
		     uint64_t size, struct cairn_manifest **ret)
{
	char key[CAIRN_OBJECT_NAME_MAX];
	cairn_object_name(CAIRN_OBJ_MANIFEST, id, key);
	_cleanup_(cairn_buf_freep) struct cairn_buf obj = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT;
	int r = cairn_object_read(repo->store, CAIRN_OBJ_MANIFEST, key, size, &obj);
	if (r < 0)
		return r;
	if (cairn_repo_unseal(a, CAIRN_AAD_MANIFEST, id, CAIRN_BACKUP_ID_LEN, obj.data, obj.len, &body) < 0)
		return cairn_error_set(CAIRN_ECORRUPT, "manifest %s is damaged (authentication failed)", key);
	if ((r = cairn_manifest_parse(body.data, body.len, ret)) < 0)
		return cairn_error_prefix(r, "%s", key);
	if (memcmp((*ret)->id, id, CAIRN_BACKUP_ID_LEN) != 0) {
		cairn_manifest_free(*ret);
		*ret = NULL;
		return cairn_error_set(CAIRN_ECORRUPT, "manifest %s names another backup", key);
	}
	return 0;
}

int cairn_manifest_read(struct cairn_repo *repo, const uint8_t id[CAIRN_BACKUP_ID_LEN], struct cairn_manifest **ret)
{
	struct cairn_aead *a = NULL;
	int r = cairn_repo_aead(repo, &a);
	if (r < 0)
		return r;
	r = read_with(repo, a, id, CAIRN_SIZE_UNKNOWN, ret);
	cairn_aead_free(a);
	return r;
}

struct ids {
	uint8_t (*v)[CAIRN_BACKUP_ID_LEN];
	uint64_t *size; /* as listed */
	size_t n, cap;
};

static int collect_id(const char *key, uint64_t size, void *ud)
{
	struct ids *l = ud;
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	if (cairn_object_name_parse(CAIRN_OBJ_MANIFEST, key, id) < 0)
		return 0; /* not a name cairn writes: check reports it */
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		void *p = realloc(l->v, cap * sizeof(*l->v));
		if (!p)
			return cairn_error_nomem();
		l->v = p;
		if (!(p = realloc(l->size, cap * sizeof(*l->size))))
			return cairn_error_nomem();
		l->size = p;
		l->cap = cap;
	}
	l->size[l->n] = size;
	memcpy(l->v[l->n++], id, CAIRN_BACKUP_ID_LEN);
	return 0;
}

static int by_created(const void *a, const void *b)
{
	const struct cairn_manifest *x = *(struct cairn_manifest *const *)a, *y = *(struct cairn_manifest *const *)b;
	if (x->created_us != y->created_us)
		return x->created_us < y->created_us ? -1 : 1;
	return memcmp(x->id, y->id, CAIRN_BACKUP_ID_LEN);
}

/* The manifests of a listing, read in parallel: every command that names
 * a backup loads them all, and one GET after another they cost a round
 * trip each (a second for a few hundred backups on a network store). */
struct list_read {
	struct cairn_repo *repo;
	const struct ids *ids;
	struct cairn_manifest **got;
	int *code;
	char (*why)[256];
};

static int read_one(void *ud, unsigned i)
{
	struct list_read *lr = ud;
	struct cairn_aead *a = NULL; /* one per call: a context is not shared between threads */
	int q = cairn_repo_aead(lr->repo, &a);
	if (q >= 0)
		q = read_with(lr->repo, a, lr->ids->v[i], lr->ids->size[i], &lr->got[i]);
	cairn_aead_free(a);
	lr->code[i] = q;
	if (q == CAIRN_ECORRUPT || q == CAIRN_EVERSION) {
		snprintf(lr->why[i], sizeof(lr->why[i]), "%s", cairn_error_message());
		return 0;
	}
	return q == CAIRN_ENOTFOUND ? 0 : q; /* deleted while we listed */
}

int cairn_manifest_list_load(struct cairn_repo *repo, struct cairn_manifest_list *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct ids ids = { 0 };
	int r = cairn_store_list(repo->store, "backups/", collect_id, &ids);
	size_t n = ids.n ? ids.n : 1;
	struct list_read lr = { repo, &ids, calloc(n, sizeof(*lr.got)), calloc(n, sizeof(*lr.code)),
				calloc(n, sizeof(*lr.why)) };
	if (r >= 0 && (!lr.got || !lr.code || !lr.why || !(ret->v = calloc(n, sizeof(*ret->v))) ||
		       !(ret->bad = calloc(n, sizeof(*ret->bad)))))
		r = cairn_error_nomem();
	if (r >= 0 && ids.n)
		r = cairn_parallel((unsigned)ids.n, cairn_store_parallelism(repo->store), read_one, &lr);
	for (size_t i = 0; i < ids.n; i++) {
		if (r < 0 || !lr.got || !lr.code) {
			if (lr.got)
				cairn_manifest_free(lr.got[i]);
			continue;
		}
		if (lr.code[i] == CAIRN_ECORRUPT || lr.code[i] == CAIRN_EVERSION) {
			struct cairn_damaged_manifest *d = &ret->bad[ret->damaged++];
			cairn_hex_encode(ids.v[i], CAIRN_BACKUP_ID_LEN, d->idhex);
			snprintf(d->why, sizeof(d->why), "%s", lr.why[i]);
			d->code = lr.code[i];
		} else if (lr.got[i]) {
			ret->v[ret->n++] = lr.got[i];
		}
	}
	free(lr.got);
	free(lr.code);
	free(lr.why);
	free(ids.v);
	free(ids.size);
	if (r < 0) {
		cairn_manifest_list_free(ret);
		return r;
	}
	qsort(ret->v, ret->n, sizeof(*ret->v), by_created);
	return 0;
}

void cairn_manifest_list_free(struct cairn_manifest_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		cairn_manifest_free(l->v[i]);
	free(l->v);
	free(l->bad);
	memset(l, 0, sizeof(*l));
}

struct cairn_manifest *cairn_manifest_latest(const struct cairn_manifest_list *l, const char *volume)
{
	for (size_t i = l->n; i-- > 0;)
		if (!volume || strcmp(l->v[i]->volume, volume) == 0)
			return l->v[i];
	return NULL;
}

/* A damaged manifest's volume and time cannot be read: it may be the
 * newest one, so "latest" would silently mean an older backup. */
static int latest_unknown(const struct cairn_manifest_list *l, const char *what)
{
	return cairn_error_set(CAIRN_ECORRUPT,
			       "%s, so which backup is %s is unknown; "
			       "name a backup by its id ('cairn list'), or remove the damaged one "
			       "('cairn check' names it; 'cairn forget ID')",
			       l->bad[0].why, what);
}

int cairn_manifest_resolve(const struct cairn_manifest_list *l, const char *spec, struct cairn_manifest **ret)
{
	if (strcmp(spec, "latest") == 0) {
		if (l->damaged)
			return latest_unknown(l, "the latest");
		if (!(*ret = cairn_manifest_latest(l, NULL)))
			return cairn_error_set(CAIRN_ENOTFOUND, "the repository holds no backup");
		return 0;
	}
	size_t sl = strlen(spec);
	if (sl > 7 && strcmp(spec + sl - 7, "@latest") == 0) {
		_cleanup_free_ char *vol = strndup(spec, sl - 7);
		if (!vol)
			return cairn_error_nomem();
		if (l->damaged) {
			_cleanup_free_ char *what = NULL;
			if (asprintf(&what, "the latest of volume '%s'", vol) < 0) {
				what = NULL;
				return cairn_error_nomem();
			}
			return latest_unknown(l, what);
		}
		if (!(*ret = cairn_manifest_latest(l, vol)))
			return cairn_error_set(CAIRN_ENOTFOUND, "no backup of volume '%s'", vol);
		return 0;
	}
	struct cairn_manifest *found = NULL;
	size_t matches = 0;
	for (size_t i = 0; i < l->n; i++)
		if (sl <= 2 * CAIRN_BACKUP_ID_LEN && strncasecmp(l->v[i]->idhex, spec, sl) == 0) {
			found = l->v[i];
			matches++;
		}
	if (sl && matches == 0)
		for (size_t i = 0; i < l->damaged; i++)
			if (sl <= 2 * CAIRN_BACKUP_ID_LEN && strncasecmp(l->bad[i].idhex, spec, sl) == 0)
				return cairn_error_set(CAIRN_ECORRUPT, "%s", l->bad[i].why);
	if (sl == 0 || matches == 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "no backup matches '%s'", spec);
	if (matches > 1)
		return cairn_error_set(CAIRN_EAMBIGUOUS, "backup id prefix '%s' matches %zu backups; give more digits",
				       spec, matches);
	*ret = found;
	return 0;
}
