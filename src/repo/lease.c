/* Lease and activity marker objects (lease.h, format.h LEASE, ACTIVITY). */
#include "repo/lease.h"
#include "repo/objects.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/time.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int cairn_presence_encode(const struct cairn_presence *p, char **ret_json)
{
	json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "version", CAIRN_FORMAT_VERSION, "kind",
			      p->kind, "hostname", p->who.host, "boot_id", p->who.boot_id, "pid",
			      (json_int_t)p->who.pid, "pid_start", (json_int_t)p->who.start, "created",
			      (json_int_t)p->created, "expires", (json_int_t)p->expires);
	if (!j)
		return cairn_error_set(CAIRN_EINVAL, "lease: cannot encode (host name not valid UTF-8?)");
	*ret_json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return *ret_json ? 0 : cairn_error_nomem();
}

static int copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

int cairn_presence_parse(const uint8_t *data, size_t len, struct cairn_presence *ret)
{
	memset(ret, 0, sizeof(*ret));
	json_error_t jerr;
	json_t *j = json_loadb((const char *)data, len, 0, &jerr);
	if (!j)
		return cairn_error_set(CAIRN_ECORRUPT, "lease: %s", jerr.text);
	json_int_t version = 0, pid = 0, start = 0, created = 0, expires = 0;
	const char *kind = NULL, *host = NULL, *boot = NULL;
	int r = 0;
	if (json_unpack_ex(j, &jerr, 0, "{s:I, s:s, s:s, s?s, s:I, s?I, s:I, s:I}", "version", &version, "kind", &kind,
			   "hostname", &host, "boot_id", &boot, "pid", &pid, "pid_start", &start, "created", &created,
			   "expires", &expires) != 0)
		r = cairn_error_set(CAIRN_ECORRUPT, "lease: %s", jerr.text);
	else if (version != CAIRN_FORMAT_VERSION)
		r = cairn_error_set(CAIRN_EVERSION, "lease version %lld is not supported", (long long)version);
	else if (!*kind || copy_str(ret->kind, sizeof(ret->kind), kind) < 0 ||
		 copy_str(ret->who.host, sizeof(ret->who.host), host) < 0 ||
		 copy_str(ret->who.boot_id, sizeof(ret->who.boot_id), boot ? boot : "") < 0 || pid < 0 ||
		 start < 0 || created < 0 || expires < 0)
		r = cairn_error_set(CAIRN_ECORRUPT, "lease: invalid field");
	json_decref(j);
	if (r < 0) {
		memset(ret, 0, sizeof(*ret));
		return r;
	}
	ret->who.pid = pid;
	ret->who.start = (uint64_t)start;
	ret->created = created;
	ret->expires = expires;
	return 0;
}

static const char *prefix_of(bool leases)
{
	return leases ? "lease/" : "running/";
}

static enum cairn_object_kind kind_of(bool leases)
{
	return leases ? CAIRN_OBJ_LEASE : CAIRN_OBJ_MARKER;
}

static int name_of(const char *key, bool leases, uint8_t name[CAIRN_PRESENCE_ID_LEN])
{
	return cairn_object_name_parse(kind_of(leases), key, name);
}

static int write_presence(struct cairn_repo *repo, bool leases, struct cairn_presence *p)
{
	uint8_t name[CAIRN_PRESENCE_ID_LEN];
	char hex[2 * CAIRN_PRESENCE_ID_LEN + 1];
	_cleanup_free_ char *json = NULL;
	int r;
	if ((r = cairn_random(name, sizeof(name))) < 0 || (r = cairn_presence_encode(p, &json)) < 0)
		return r;
	cairn_hex_encode(name, sizeof(name), hex);
	snprintf(p->key, sizeof(p->key), "%s%s", prefix_of(leases), hex);
	return cairn_object_put_sealed(repo, NULL, kind_of(leases), name, json, strlen(json), CAIRN_PUT_CREATE_ONLY,
				       NULL);
}

int cairn_presence_list(struct cairn_repo *repo, bool leases, struct cairn_presence **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	struct cairn_key_list keys;
	int r = cairn_store_list_keys(repo->store, prefix_of(leases), &keys);
	struct cairn_aead *a = NULL;
	if (r >= 0)
		r = cairn_repo_aead(repo, &a);
	struct cairn_presence *v = calloc(keys.n ? keys.n : 1, sizeof(*v));
	size_t n = 0;
	if (r >= 0 && !v)
		r = cairn_error_nomem();
	_cleanup_(cairn_buf_freep) struct cairn_buf obj = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT;
	for (size_t i = 0; r >= 0 && i < keys.n; i++) {
		uint8_t name[CAIRN_PRESENCE_ID_LEN];
		if (name_of(keys.v[i], leases, name) < 0)
			continue;
		int q = cairn_object_read(repo->store, leases ? CAIRN_OBJ_LEASE : CAIRN_OBJ_MARKER, keys.v[i],
					  keys.size[i], &obj);
		if (q == CAIRN_ENOTFOUND)
			continue; /* released while we listed */
		if (q < 0 && q != CAIRN_ECORRUPT) {
			r = q;
			break;
		}
		struct cairn_presence *p = &v[n];
		char why[sizeof(p->why)] = "";
		if (q < 0)
			cairn_error_copy(why, sizeof(why));
		else if (cairn_object_open(a, kind_of(leases), name, obj.data, obj.len, &body) < 0)
			snprintf(why, sizeof(why), "%s does not open (authentication failed)", keys.v[i]);
		else if (cairn_presence_parse(body.data, body.len, p) < 0)
			snprintf(why, sizeof(why), "%s: %s", keys.v[i], cairn_error_message());
		if (*why) {
			memset(p, 0, sizeof(*p));
			p->damaged = true;
			memcpy(p->why, why, sizeof(p->why));
		}
		snprintf(p->key, sizeof(p->key), "%s", keys.v[i]);
		n++;
	}
	cairn_aead_free(a);
	cairn_key_list_free(&keys);
	if (r < 0) {
		free(v);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* ---- the lease ---- */

struct cairn_lease {
	struct cairn_repo *repo;
	struct cairn_presence p;
	int64_t ttl;
};

/* A lease object that does not open has no age we could trust: it blocks
 * until removed by hand, and the message says so. */
static bool lease_live(const struct cairn_presence *p, int64_t now)
{
	if (p->damaged)
		return true;
	if (p->expires <= now)
		return false;
	return cairn_proc_id_alive(&p->who) != CAIRN_PROC_DEAD;
}

static int busy(const struct cairn_presence *p)
{
	if (p->damaged)
		return cairn_error_set(CAIRN_EBUSY,
				       "the repository has a damaged lease object: %s; if no prune or repair runs "
				       "anywhere, delete it",
				       p->why);
	char until[48];
	cairn_time_format(p->expires, until, sizeof(until));
	return cairn_error_set(CAIRN_EBUSY,
			       "the repository is locked by %s on %s (pid %lld) until %s; it renews the lease while "
			       "it runs, and a crashed one blocks only until then",
			       p->kind, p->who.host, (long long)p->who.pid, until);
}

/* Any live lease other than mine (NULL: any at all). */
static int check_others(struct cairn_repo *repo, const char *mine, int64_t now, bool remove_stale)
{
	struct cairn_presence *v = NULL;
	size_t n = 0;
	int r = cairn_presence_list(repo, true, &v, &n);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if (mine && strcmp(v[i].key, mine) == 0)
			continue;
		if (lease_live(&v[i], now)) {
			r = busy(&v[i]);
		} else if (remove_stale) {
			cairn_log_info("removing the stale lease of %s on %s (pid %lld)", v[i].kind, v[i].who.host,
				       (long long)v[i].who.pid);
			(void)cairn_store_del(repo->store, v[i].key);
		}
	}
	free(v);
	return r;
}

int cairn_lease_acquire(struct cairn_repo *repo, const char *kind, int64_t ttl, struct cairn_lease **ret)
{
	if (ttl <= 0)
		ttl = CAIRN_LEASE_TTL_DEFAULT;
	int64_t now = cairn_wall_now();
	int r = check_others(repo, NULL, now, true);
	if (r < 0)
		return r;
	struct cairn_lease *l = calloc(1, sizeof(*l));
	if (!l)
		return cairn_error_nomem();
	l->repo = repo;
	l->ttl = ttl;
	snprintf(l->p.kind, sizeof(l->p.kind), "%s", kind);
	cairn_proc_id_self(&l->p.who);
	l->p.created = now;
	l->p.expires = now + ttl;
	if ((r = write_presence(repo, true, &l->p)) < 0) {
		free(l);
		return r;
	}
	/* Two hosts may have written theirs at once: then both step back. */
	if ((r = check_others(repo, l->p.key, now, false)) < 0) {
		(void)cairn_store_del(repo->store, l->p.key);
		free(l);
		return r;
	}
	*ret = l;
	return 0;
}

static int renew(struct cairn_lease *l, int64_t now)
{
	struct cairn_presence next = l->p;
	next.created = now;
	next.expires = now + l->ttl;
	int r = write_presence(l->repo, true, &next);
	if (r < 0)
		return r;
	(void)cairn_store_del(l->repo->store, l->p.key);
	l->p = next;
	return 0;
}

int cairn_lease_ensure(struct cairn_lease *l, int64_t margin)
{
	int64_t now = cairn_wall_now();
	if (now >= l->p.expires)
		return cairn_error_set(CAIRN_ETIMEOUT,
				       "the lease expired %lld s ago (the process stalled); stopping before changing "
				       "anything more, since another prune may hold the repository now",
				       (long long)(now - l->p.expires));
	if (now + margin < l->p.expires && now < l->p.created + l->ttl / 3)
		return 0;
	return renew(l, now);
}

int cairn_lease_keepalive(struct cairn_lease *l)
{
	return cairn_lease_ensure(l, 0);
}

void cairn_lease_release(struct cairn_lease *l)
{
	if (!l)
		return;
	if (cairn_store_del(l->repo->store, l->p.key) < 0)
		cairn_log_warn("lease %s not removed: %s (it expires by itself)", l->p.key, cairn_error_message());
	free(l);
}

/* ---- activity markers ---- */

struct cairn_activity {
	struct cairn_repo *repo;
	struct cairn_presence p;
};

int cairn_activity_begin(struct cairn_repo *repo, const char *kind, struct cairn_activity **ret)
{
	*ret = NULL;
	struct cairn_activity *a = calloc(1, sizeof(*a));
	if (!a)
		return cairn_error_nomem();
	a->repo = repo;
	snprintf(a->p.kind, sizeof(a->p.kind), "%s", kind);
	cairn_proc_id_self(&a->p.who);
	a->p.created = cairn_wall_now();
	int r = write_presence(repo, false, &a->p);
	if (r < 0) {
		free(a);
		if (strcmp(kind, "backup") == 0)
			return r;
		cairn_log_info("no activity marker (%s): a concurrent prune cannot see this %s", cairn_error_message(),
			       kind);
		return 0;
	}
	*ret = a;
	return 0;
}

void cairn_activity_end(struct cairn_activity *a)
{
	if (!a)
		return;
	if (cairn_store_del(a->repo->store, a->p.key) < 0)
		cairn_log_debug("activity marker %s not removed: %s", a->p.key, cairn_error_message());
	free(a);
}

bool cairn_activity_live(const struct cairn_presence *p, int64_t now, int64_t window)
{
	if (p->damaged)
		return true; /* unknown age: assume it runs (prune then waits the window) */
	int alive = cairn_proc_id_alive(&p->who);
	/* A process seen running on this host runs, however old its marker. */
	if (alive == CAIRN_PROC_ALIVE)
		return true;
	if (p->created + window <= now)
		return false;
	return alive != CAIRN_PROC_DEAD;
}
