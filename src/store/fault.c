/* The fault-injecting wrapper (SQLite's test_vfs): counts the calls of the
 * selected kinds and makes call N fail (and, if persistent, every call after
 * it), so a test can walk N over every call an operation makes and check
 * that each failure is reported and leaves the repository consistent.
 *
 * The wrapper is transparent otherwise: it advertises the inner store's name
 * and features, so the code under test takes the same paths it takes on the
 * real store.
 */
#include "store/testwrap.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct fault_store {
	struct cairn_store base;     /* first: the ops downcast */
	struct cairn_store_ops ops;  /* per instance: mirrors the inner optional calls */
	struct cairn_store *inner;
	struct cairn_fault_params p; /* p.corrupt_prefix points at corrupt_prefix */
	char *corrupt_prefix;
	atomic_uint_fast64_t calls;
};

static struct fault_store *to_fault(struct cairn_store *s)
{
	return (struct fault_store *)s;
}

/* Counts this call if its kind is selected; returns the injected error when
 * it is one that must fail. */
static int fault_check(struct fault_store *f, unsigned kind, const char *op)
{
	if (!(f->p.ops & kind))
		return 0;
	uint64_t n = atomic_fetch_add(&f->calls, 1) + 1;
	if (f->p.fail_at == 0 || n < f->p.fail_at || (n > f->p.fail_at && !f->p.persistent))
		return 0;
	return cairn_error_set(f->p.code, "injected fault: %s #%" PRIu64, op, n);
}

static int fault_get(struct cairn_store *s, const char *key, uint64_t off, uint64_t len,
		     struct cairn_buf *out)
{
	struct fault_store *f = to_fault(s);
	int r = fault_check(f, CAIRN_FAULT_GET, "get");
	if (r < 0) {
		cairn_buf_clear(out);
		return r;
	}
	r = cairn_store_get(f->inner, key, off, len, out);
	if (r < 0)
		return r;
	/* The middle byte, so neither a header nor a trailer check alone is
	 * what catches it. */
	if (f->corrupt_prefix && out->len > 0 &&
	    strncmp(key, f->corrupt_prefix, strlen(f->corrupt_prefix)) == 0)
		out->data[out->len / 2] ^= 0xff;
	return r;
}

static int fault_put(struct cairn_store *s, const char *key, const void *data, size_t len,
		     unsigned flags)
{
	struct fault_store *f = to_fault(s);
	int r = fault_check(f, CAIRN_FAULT_PUT, "put");
	if (r < 0) {
		if (!f->p.truncate_put)
			return r;
		/* A torn write from a driver without atomic puts: half the
		 * object is visible under the key and the caller sees an error.
		 * The inner put may overwrite the message, so keep ours. */
		char msg[256];
		cairn_error_copy(msg, sizeof(msg));
		(void)cairn_store_put(f->inner, key, data, len / 2, flags);
		return cairn_error_set(r, "%s", msg);
	}
	return cairn_store_put(f->inner, key, data, len, flags);
}

static int fault_stat(struct cairn_store *s, const char *key, uint64_t *ret_size)
{
	struct fault_store *f = to_fault(s);
	int r = fault_check(f, CAIRN_FAULT_STAT, "stat");
	if (r < 0)
		return r;
	return cairn_store_stat(f->inner, key, ret_size);
}

static int fault_del(struct cairn_store *s, const char *key)
{
	struct fault_store *f = to_fault(s);
	int r = fault_check(f, CAIRN_FAULT_DEL, "del");
	if (r < 0)
		return r;
	return cairn_store_del(f->inner, key);
}

static int fault_list(struct cairn_store *s, const char *prefix, cairn_store_list_fn fn, void *ud)
{
	struct fault_store *f = to_fault(s);
	int r = fault_check(f, CAIRN_FAULT_LIST, "list");
	if (r < 0)
		return r;
	return cairn_store_list(f->inner, prefix, fn, ud);
}

/* copy and create are not counted: no fault kind names them, and tests
 * target the data path. */
static int fault_copy(struct cairn_store *s, const char *from, const char *to)
{
	struct fault_store *f = to_fault(s);
	return f->inner->ops->copy(f->inner, from, to);
}

/* A server-side copy writes the destination: it counts, and fails, as a
 * put.  The source is unwrapped so the driver sees the real store. */
static int fault_copy_from(struct cairn_store *s, struct cairn_store *src, const char *src_key, const char *dst_key,
			 uint64_t size, unsigned flags)
{
	struct fault_store *f = to_fault(s);
	int r = fault_check(f, CAIRN_FAULT_PUT, "copy_from");
	if (r < 0)
		return r;
	return cairn_store_copy_from_ex(f->inner, cairn_store_unwrap(src), src_key, dst_key, size, flags);
}

static int fault_create(struct cairn_store *s)
{
	return cairn_store_create(to_fault(s)->inner);
}

static int fault_xfer(struct cairn_store *s, struct cairn_store_xfer *ret)
{
	return cairn_store_xfer(to_fault(s)->inner, ret);
}

static int fault_sweep(struct cairn_store *s, int64_t before, struct cairn_store_sweep *ret)
{
	return cairn_store_sweep(to_fault(s)->inner, before, ret);
}

/* Object lock settings and queries go to the inner store uncounted. */
static int fault_lock_set(struct cairn_store *s, const struct cairn_store_lock *l)
{
	return cairn_store_lock_set(to_fault(s)->inner, l);
}

static int fault_lock_until(struct cairn_store *s, const char *key, int64_t *ret_until)
{
	return cairn_store_lock_until(to_fault(s)->inner, key, ret_until);
}

static void fault_free(struct cairn_store *s)
{
	struct fault_store *f = to_fault(s);
	if (!f)
		return;
	cairn_store_free(f->inner);
	free(f->corrupt_prefix);
	free(f->base.uri);
	free(f);
}

int cairn_store_fault_wrap(struct cairn_store *inner, const struct cairn_fault_params *p,
			   struct cairn_store **ret)
{
	if (!inner || !p)
		return cairn_error_set(CAIRN_EINVAL, "fault wrapper needs a store and parameters");
	if (p->fail_at && p->code >= 0)
		return cairn_error_set(CAIRN_EINVAL, "fault code must be a negative CAIRN_E* code, not %d",
				       p->code);

	struct fault_store *f = calloc(1, sizeof(*f));
	if (!f)
		return cairn_error_nomem();
	f->p = *p;
	f->base.uri = strdup(inner->uri ? inner->uri : "");
	f->corrupt_prefix = p->corrupt_prefix ? strdup(p->corrupt_prefix) : NULL;
	if (!f->base.uri || (p->corrupt_prefix && !f->corrupt_prefix)) {
		free(f->corrupt_prefix);
		free(f->base.uri);
		free(f);
		return cairn_error_nomem();
	}
	f->p.corrupt_prefix = f->corrupt_prefix;
	atomic_init(&f->calls, 0);
	f->ops = (struct cairn_store_ops){
		.name = inner->ops->name,
		.get = fault_get,
		.put = fault_put,
		.stat = fault_stat,
		.del = fault_del,
		.list = fault_list,
		.free = fault_free,
		.copy = inner->ops->copy ? fault_copy : NULL,
		.create = inner->ops->create ? fault_create : NULL,
		.xfer = inner->ops->xfer ? fault_xfer : NULL,
		.sweep = inner->ops->sweep ? fault_sweep : NULL,
		.copy_from = inner->ops->copy_from ? fault_copy_from : NULL,
		.lock_set = inner->ops->lock_set ? fault_lock_set : NULL,
		.lock_until = inner->ops->lock_until ? fault_lock_until : NULL,
	};
	f->base.ops = &f->ops;
	/* As the inner store's were when wrapped. */
	f->base.features = __atomic_load_n(&inner->features, __ATOMIC_RELAXED);
	f->base.parallelism = inner->parallelism;
	f->inner = inner;
	*ret = &f->base;
	return 0;
}

struct cairn_store *cairn_store_fault_inner(struct cairn_store *s)
{
	return s && s->ops->get == fault_get ? to_fault(s)->inner : NULL;
}
