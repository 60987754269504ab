/* The read-only secondary endpoint (docs/design.md §7, ?secondary=URL):
 * a wrapper over the primary's store and the secondary's.  Reads go to the
 * primary; when it fails the way an unreachable endpoint fails
 * (CAIRN_ENET: refused, reset, timed out or stalled, or a 5xx, all after
 * the driver's own retries) they go to the secondary, and keep going there
 * for the rest of the process: switching back and forth would pay the
 * primary's timeouts again and again, and mix two views of a replica that
 * may lag.  A missing object (CAIRN_ENOTFOUND) or refused credentials are
 * answers of a reachable primary, never a reason to switch.
 *
 * A write that fails that way switches too (the write itself fails).
 * Once switched, writes are refused: the secondary of a geo-redundant
 * account or a replica bucket is not ours to write, and a repository
 * written in two places would fork.  The way on is a copy to a new
 * repository (cairn copy --to), which reads from here.
 *
 * One warning per process and primary, however many stores a command
 * opens on it: the fallen primaries are remembered process-wide, and a
 * later store on one starts on its secondary at once.
 */
#include "store/secondary.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct secondary_store {
	struct cairn_store base;    /* first: the ops downcast */
	struct cairn_store_ops ops; /* per instance: mirrors the primary's optional calls */
	struct cairn_store *primary, *secondary;
	char *primary_uri; /* the key of the process-wide list */
	char *primary_name, *secondary_name;
	atomic_bool fallen;
};

/* Primaries this process has given up on (their URIs). */
static pthread_mutex_t fallen_lock = PTHREAD_MUTEX_INITIALIZER;
static char **fallen_uris;
static size_t fallen_n;

static bool fallen_has(const char *uri)
{
	bool found = false;
	pthread_mutex_lock(&fallen_lock);
	for (size_t i = 0; i < fallen_n && !found; i++)
		found = strcmp(fallen_uris[i], uri) == 0;
	pthread_mutex_unlock(&fallen_lock);
	return found;
}

/* Adds uri; false when it was there already (someone else warned). */
static bool fallen_add(const char *uri)
{
	bool added = false;
	pthread_mutex_lock(&fallen_lock);
	bool found = false;
	for (size_t i = 0; i < fallen_n && !found; i++)
		found = strcmp(fallen_uris[i], uri) == 0;
	if (!found) {
		char **v = realloc(fallen_uris, (fallen_n + 1) * sizeof(*v));
		char *u = strdup(uri);
		if (v)
			fallen_uris = v;
		/* Out of memory: the next store on this primary tries it
		 * again, and warns again; nothing worse. */
		if (v && u) {
			fallen_uris[fallen_n++] = u;
			u = NULL;
		}
		free(u);
		added = true;
	}
	pthread_mutex_unlock(&fallen_lock);
	return added;
}

void cairn_store_secondary_reset(void)
{
	pthread_mutex_lock(&fallen_lock);
	for (size_t i = 0; i < fallen_n; i++)
		free(fallen_uris[i]);
	free(fallen_uris);
	fallen_uris = NULL;
	fallen_n = 0;
	pthread_mutex_unlock(&fallen_lock);
}

static struct secondary_store *to_sec(struct cairn_store *s)
{
	return (struct secondary_store *)s;
}

/* Should a read that failed with r on the primary go to the secondary? */
static bool unreachable(int r)
{
	return r == CAIRN_ENET;
}

/* Switches to the secondary after the primary failed; the primary's
 * message is the reason. */
static void fall_back(struct secondary_store *w)
{
	if (atomic_exchange(&w->fallen, true))
		return;
	if (fallen_add(w->primary_uri))
		cairn_log_warn("primary endpoint %s unreachable (%s): reading from the secondary %s",
			       w->primary_name, cairn_error_message(), w->secondary_name);
}

/* The store reads go to now. */
static struct cairn_store *reader(struct secondary_store *w)
{
	return atomic_load(&w->fallen) ? w->secondary : w->primary;
}

/* CAIRN_ENET, what the primary's failure was: not CAIRN_EPERM, which
 * callers read as a credential that may not write or delete
 * (repo/objlock.c), nor CAIRN_EUNSUPPORTED, which makes a copy fall back
 * to reading and writing. */
static int refuse(struct secondary_store *w)
{
	return cairn_error_set(CAIRN_ENET,
			       "the primary endpoint %s is unreachable; the secondary %s is read-only: copy what you "
			       "need to a new repository with 'cairn copy --to URI'",
			       w->primary_name, w->secondary_name);
}

/* The store writes go to, NULL (with the error set) once fallen. */
static struct cairn_store *writer(struct secondary_store *w)
{
	if (atomic_load(&w->fallen)) {
		refuse(w);
		return NULL;
	}
	return w->primary;
}

/* ---- reads ---- */

static int sec_get(struct cairn_store *s, const char *key, uint64_t off, uint64_t len, struct cairn_buf *out)
{
	struct secondary_store *w = to_sec(s);
	if (!atomic_load(&w->fallen)) {
		int r = cairn_store_get(w->primary, key, off, len, out);
		if (!unreachable(r))
			return r;
		fall_back(w);
	}
	return cairn_store_get(w->secondary, key, off, len, out);
}

static int sec_stat(struct cairn_store *s, const char *key, uint64_t *ret_size)
{
	struct secondary_store *w = to_sec(s);
	if (!atomic_load(&w->fallen)) {
		int r = cairn_store_stat(w->primary, key, ret_size);
		if (!unreachable(r))
			return r;
		fall_back(w);
	}
	return cairn_store_stat(w->secondary, key, ret_size);
}

static int sec_lock_until(struct cairn_store *s, const char *key, int64_t *ret_until)
{
	struct secondary_store *w = to_sec(s);
	if (!atomic_load(&w->fallen)) {
		int r = cairn_store_lock_until(w->primary, key, ret_until);
		if (!unreachable(r))
			return r;
		fall_back(w);
	}
	return cairn_store_lock_until(w->secondary, key, ret_until);
}

/* A listing the primary breaks off in the middle has already handed
 * keys to fn: the secondary's listing must not hand them again.  S3 and
 * Azure list in key order, so the keys given are those up to the last
 * one; a listing that was not in order cannot be resumed that way, and
 * fails (later calls go to the secondary all the same). */
struct list_ctx {
	cairn_store_list_fn fn;
	void *ud;
	char *last;      /* the greatest key handed on, NULL before the first */
	bool sorted;     /* every key so far came after the one before */
	bool stopped;    /* fn asked to stop: its value is not the store's */
	bool skipping;   /* on the secondary: drop keys up to last */
	int oom;
};

static int list_cb(const char *key, uint64_t size, void *ud)
{
	struct list_ctx *c = ud;
	if (c->skipping) {
		if (c->last && strcmp(key, c->last) <= 0)
			return 0;
	} else {
		if (c->last && strcmp(key, c->last) <= 0)
			c->sorted = false;
		if (!c->last || strcmp(key, c->last) > 0) {
			char *k = strdup(key);
			if (!k) {
				c->oom = cairn_error_nomem();
				return c->oom;
			}
			free(c->last);
			c->last = k;
		}
	}
	int r = c->fn(key, size, c->ud);
	if (r != 0)
		c->stopped = true;
	return r;
}

static int sec_list(struct cairn_store *s, const char *prefix, cairn_store_list_fn fn, void *ud)
{
	struct secondary_store *w = to_sec(s);
	if (atomic_load(&w->fallen))
		return cairn_store_list(w->secondary, prefix, fn, ud);

	struct list_ctx c = { .fn = fn, .ud = ud, .sorted = true };
	int r = cairn_store_list(w->primary, prefix, list_cb, &c);
	if (c.oom || c.stopped || !unreachable(r)) {
		free(c.last);
		return r;
	}
	fall_back(w);
	if (c.last && !c.sorted) {
		free(c.last);
		return r;
	}
	c.skipping = true;
	r = cairn_store_list(w->secondary, prefix, list_cb, &c);
	free(c.last);
	return r;
}

/* ---- writes ---- */

/* A write the primary could not take after the driver's retries says
 * as much about it as a read would: later reads go to the secondary at
 * once instead of waiting for the primary's timeouts again. */
static int wrote(struct secondary_store *w, int r)
{
	/* The primary's message stays the error: fall_back only reads it. */
	if (unreachable(r))
		fall_back(w);
	return r;
}

static int sec_put(struct cairn_store *s, const char *key, const void *data, size_t len, unsigned flags)
{
	struct secondary_store *w = to_sec(s);
	struct cairn_store *p = writer(w);
	return p ? wrote(w, cairn_store_put(p, key, data, len, flags)) : CAIRN_ENET;
}

static int sec_del(struct cairn_store *s, const char *key)
{
	struct secondary_store *w = to_sec(s);
	struct cairn_store *p = writer(w);
	return p ? wrote(w, cairn_store_del(p, key)) : CAIRN_ENET;
}

static int sec_del_many(struct cairn_store *s, const char *const *keys, size_t n)
{
	struct secondary_store *w = to_sec(s);
	struct cairn_store *p = writer(w);
	return p ? wrote(w, cairn_store_del_many(p, keys, n)) : CAIRN_ENET;
}

static int sec_copy(struct cairn_store *s, const char *from, const char *to)
{
	struct secondary_store *w = to_sec(s);
	struct cairn_store *p = writer(w);
	return p ? wrote(w, p->ops->copy(p, from, to)) : CAIRN_ENET;
}

static int sec_create(struct cairn_store *s)
{
	struct secondary_store *w = to_sec(s);
	struct cairn_store *p = writer(w);
	return p ? wrote(w, cairn_store_create(p)) : CAIRN_ENET;
}

static int sec_sweep(struct cairn_store *s, int64_t before, struct cairn_store_sweep *ret)
{
	struct secondary_store *w = to_sec(s);
	struct cairn_store *p = writer(w);
	return p ? wrote(w, cairn_store_sweep(p, before, ret)) : CAIRN_ENET;
}

/* The driver unwraps the source (cairn_store_unwrap, which knows this
 * wrapper) to the store its reads go to now, to tell whether it reaches
 * it server-side. */
static int sec_copy_from(struct cairn_store *s, struct cairn_store *src, const char *src_key, const char *dst_key,
			 uint64_t size, unsigned flags)
{
	struct secondary_store *w = to_sec(s);
	struct cairn_store *p = writer(w);
	return p ? wrote(w, cairn_store_copy_from_ex(p, src, src_key, dst_key, size, flags)) : CAIRN_ENET;
}

/* A setting for later puts: the primary's, as only it is written. */
static int sec_lock_set(struct cairn_store *s, const struct cairn_store_lock *l)
{
	return cairn_store_lock_set(to_sec(s)->primary, l);
}

/* What both moved: the primary's failed attempts are part of the cost. */
static int sec_xfer(struct cairn_store *s, struct cairn_store_xfer *ret)
{
	struct secondary_store *w = to_sec(s);
	struct cairn_store_xfer a = { 0 }, b = { 0 };
	int r = cairn_store_xfer(w->primary, &a);
	if (r < 0)
		return r;
	if ((r = cairn_store_xfer(w->secondary, &b)) < 0)
		return r;
	*ret = (struct cairn_store_xfer){
		.requests = a.requests + b.requests,
		.retries = a.retries + b.retries,
		.bytes_sent = a.bytes_sent + b.bytes_sent,
		.bytes_received = a.bytes_received + b.bytes_received,
	};
	return 0;
}

static void sec_free(struct cairn_store *s)
{
	struct secondary_store *w = to_sec(s);
	if (!w)
		return;
	cairn_store_free(w->primary);
	cairn_store_free(w->secondary);
	free(w->primary_uri);
	free(w->primary_name);
	free(w->secondary_name);
	free(w->base.uri);
	free(w);
}

int cairn_store_secondary_wrap(struct cairn_store *primary, struct cairn_store *secondary, const char *uri,
			       const char *primary_name, const char *secondary_name, struct cairn_store **ret)
{
	if (!primary || !secondary)
		return cairn_error_set(CAIRN_EINVAL, "secondary wrapper needs two stores");
	struct secondary_store *w = calloc(1, sizeof(*w));
	if (!w)
		return cairn_error_nomem();
	w->base.uri = strdup(uri);
	w->primary_uri = strdup(primary->uri ? primary->uri : "");
	w->primary_name = strdup(primary_name);
	w->secondary_name = strdup(secondary_name);
	if (!w->base.uri || !w->primary_uri || !w->primary_name || !w->secondary_name) {
		free(w->base.uri);
		free(w->primary_uri);
		free(w->primary_name);
		free(w->secondary_name);
		free(w);
		return cairn_error_nomem();
	}
	const struct cairn_store_ops *in = primary->ops;
	w->ops = (struct cairn_store_ops){
		.name = in->name,
		.get = sec_get,
		.put = sec_put,
		.stat = sec_stat,
		.del = sec_del,
		.list = sec_list,
		.free = sec_free,
		.copy = in->copy ? sec_copy : NULL,
		.create = in->create ? sec_create : NULL,
		.del_many = sec_del_many,
		.xfer = in->xfer ? sec_xfer : NULL,
		.sweep = in->sweep ? sec_sweep : NULL,
		.copy_from = in->copy_from ? sec_copy_from : NULL,
		.lock_set = in->lock_set ? sec_lock_set : NULL,
		.lock_until = in->lock_until ? sec_lock_until : NULL,
	};
	w->base.ops = &w->ops;
	w->base.features = __atomic_load_n(&primary->features, __ATOMIC_RELAXED);
	w->base.parallelism = primary->parallelism;
	w->primary = primary;
	w->secondary = secondary;
	/* Another store of this command found the primary gone already. */
	atomic_init(&w->fallen, fallen_has(w->primary_uri));
	*ret = &w->base;
	return 0;
}

static bool is_secondary(const struct cairn_store *s)
{
	return s && s->ops->get == sec_get;
}

struct cairn_store *cairn_store_secondary_active(struct cairn_store *s)
{
	return is_secondary(s) ? reader(to_sec(s)) : NULL;
}

bool cairn_store_secondary_fallen(struct cairn_store *s)
{
	return is_secondary(s) && atomic_load(&to_sec(s)->fallen);
}
