/* The counting wrapper: counts calls and bytes per op kind so tests can
 * assert how many store round trips an operation costs (libgit2's fake
 * backend), and benchmarks can report them.  Counters are atomics so the
 * wrapper stays as thread-safe as the store it wraps.
 *
 * Like the fault wrapper it advertises the inner store's name and features.
 */
#include "store/testwrap.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct count_store {
	struct cairn_store base;    /* first: the ops downcast */
	struct cairn_store_ops ops; /* per instance: mirrors the inner optional calls */
	struct cairn_store *inner;
	atomic_uint_fast64_t get, put, stat, del, list, bytes_got, bytes_put, copy_from;
	char *dump_path; /* CAIRN_TEST_COUNT: where free appends the counters */
};

static struct count_store *to_count(struct cairn_store *s)
{
	return (struct count_store *)s;
}

static int count_get(struct cairn_store *s, const char *key, uint64_t off, uint64_t len,
		     struct cairn_buf *out)
{
	struct count_store *c = to_count(s);
	atomic_fetch_add(&c->get, 1);
	int r = cairn_store_get(c->inner, key, off, len, out);
	if (r >= 0)
		atomic_fetch_add(&c->bytes_got, out->len);
	return r;
}

static int count_put(struct cairn_store *s, const char *key, const void *data, size_t len,
		     unsigned flags)
{
	struct count_store *c = to_count(s);
	atomic_fetch_add(&c->put, 1);
	int r = cairn_store_put(c->inner, key, data, len, flags);
	if (r >= 0)
		atomic_fetch_add(&c->bytes_put, len);
	return r;
}

static int count_stat(struct cairn_store *s, const char *key, uint64_t *ret_size)
{
	struct count_store *c = to_count(s);
	atomic_fetch_add(&c->stat, 1);
	return cairn_store_stat(c->inner, key, ret_size);
}

static int count_del(struct cairn_store *s, const char *key)
{
	struct count_store *c = to_count(s);
	atomic_fetch_add(&c->del, 1);
	return cairn_store_del(c->inner, key);
}

static int count_list(struct cairn_store *s, const char *prefix, cairn_store_list_fn fn, void *ud)
{
	struct count_store *c = to_count(s);
	atomic_fetch_add(&c->list, 1);
	return cairn_store_list(c->inner, prefix, fn, ud);
}

static int count_copy(struct cairn_store *s, const char *from, const char *to)
{
	struct count_store *c = to_count(s);
	return c->inner->ops->copy(c->inner, from, to);
}

/* Counted on the destination; the source is unwrapped so the driver sees
 * the real store it may reach server-side (and can tell its kind). */
static int count_copy_from(struct cairn_store *s, struct cairn_store *src, const char *src_key, const char *dst_key,
			 uint64_t size, unsigned flags)
{
	struct count_store *c = to_count(s);
	atomic_fetch_add(&c->copy_from, 1);
	return cairn_store_copy_from_ex(c->inner, cairn_store_unwrap(src), src_key, dst_key, size, flags);
}

static int count_create(struct cairn_store *s)
{
	return cairn_store_create(to_count(s)->inner);
}

static int count_xfer(struct cairn_store *s, struct cairn_store_xfer *ret)
{
	return cairn_store_xfer(to_count(s)->inner, ret);
}

static int count_sweep(struct cairn_store *s, int64_t before, struct cairn_store_sweep *ret)
{
	return cairn_store_sweep(to_count(s)->inner, before, ret);
}

/* JSON string body: the uri is user input. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void dump(struct count_store *c)
{
	struct cairn_store_counts n;
	cairn_store_count_get(&c->base, &n);

	/* Appending keeps one line per store when a test runs several
	 * commands (or opens several stores) against one file. */
	_cleanup_fclose_ FILE *f = fopen(c->dump_path, "ae");
	if (!f) {
		fprintf(stderr, "cairn: CAIRN_TEST_COUNT: cannot open %s: %s\n", c->dump_path,
			strerror(errno));
		return;
	}
	fprintf(f, "{\"uri\":");
	json_string(f, c->base.uri);
	fprintf(f,
		",\"get\":%" PRIu64 ",\"put\":%" PRIu64 ",\"stat\":%" PRIu64 ",\"del\":%" PRIu64
		",\"list\":%" PRIu64 ",\"bytes_got\":%" PRIu64 ",\"bytes_put\":%" PRIu64 "}\n",
		n.get, n.put, n.stat, n.del, n.list, n.bytes_got, n.bytes_put);
}

/* Object lock settings and queries go to the inner store uncounted. */
static int count_lock_set(struct cairn_store *s, const struct cairn_store_lock *l)
{
	return cairn_store_lock_set(to_count(s)->inner, l);
}

static int count_lock_until(struct cairn_store *s, const char *key, int64_t *ret_until)
{
	return cairn_store_lock_until(to_count(s)->inner, key, ret_until);
}

static void count_free(struct cairn_store *s)
{
	struct count_store *c = to_count(s);
	if (!c)
		return;
	if (c->dump_path)
		dump(c);
	cairn_store_free(c->inner);
	free(c->dump_path);
	free(c->base.uri);
	free(c);
}

int cairn_store_count_wrap(struct cairn_store *inner, struct cairn_store **ret)
{
	if (!inner)
		return cairn_error_set(CAIRN_EINVAL, "count wrapper needs a store");

	struct count_store *c = calloc(1, sizeof(*c));
	if (!c)
		return cairn_error_nomem();
	c->base.uri = strdup(inner->uri ? inner->uri : "");
	if (!c->base.uri) {
		free(c);
		return cairn_error_nomem();
	}
	atomic_init(&c->get, 0);
	atomic_init(&c->put, 0);
	atomic_init(&c->stat, 0);
	atomic_init(&c->del, 0);
	atomic_init(&c->list, 0);
	atomic_init(&c->bytes_got, 0);
	atomic_init(&c->bytes_put, 0);
	atomic_init(&c->copy_from, 0);
	c->ops = (struct cairn_store_ops){
		.name = inner->ops->name,
		.get = count_get,
		.put = count_put,
		.stat = count_stat,
		.del = count_del,
		.list = count_list,
		.free = count_free,
		.copy = inner->ops->copy ? count_copy : NULL,
		.create = inner->ops->create ? count_create : NULL,
		.xfer = inner->ops->xfer ? count_xfer : NULL,
		.sweep = inner->ops->sweep ? count_sweep : NULL,
		.copy_from = inner->ops->copy_from ? count_copy_from : NULL,
		.lock_set = inner->ops->lock_set ? count_lock_set : NULL,
		.lock_until = inner->ops->lock_until ? count_lock_until : NULL,
	};
	c->base.ops = &c->ops;
	/* As the inner store's were when wrapped. */
	c->base.features = __atomic_load_n(&inner->features, __ATOMIC_RELAXED);
	c->base.parallelism = inner->parallelism;
	c->inner = inner;
	*ret = &c->base;
	return 0;
}

static bool is_count(const struct cairn_store *s)
{
	return s && s->ops->get == count_get;
}

void cairn_store_count_get(struct cairn_store *s, struct cairn_store_counts *ret)
{
	/* Zeros for any other store, so a test that forgot to wrap sees a
	 * failing count rather than reading foreign memory. */
	if (!is_count(s)) {
		memset(ret, 0, sizeof(*ret));
		return;
	}
	struct count_store *c = to_count(s);
	*ret = (struct cairn_store_counts){
		.get = atomic_load(&c->get),
		.put = atomic_load(&c->put),
		.stat = atomic_load(&c->stat),
		.del = atomic_load(&c->del),
		.list = atomic_load(&c->list),
		.bytes_got = atomic_load(&c->bytes_got),
		.bytes_put = atomic_load(&c->bytes_put),
		.copy_from = atomic_load(&c->copy_from),
	};
}

int cairn_store_count_dump_on_free(struct cairn_store *s, const char *path)
{
	if (!is_count(s))
		return cairn_error_set(CAIRN_EINVAL, "store %s is not a counting store", s ? s->uri : "(null)");
	struct count_store *c = to_count(s);
	char *p = strdup(path);
	if (!p)
		return cairn_error_nomem();
	free(c->dump_path);
	c->dump_path = p;
	return 0;
}

struct cairn_store *cairn_store_count_inner(struct cairn_store *s)
{
	return is_count(s) ? to_count(s)->inner : NULL;
}
