/* The test wrappers every opened store gets (testwrap.h): the specs
 * app/settings.c read from CAIRN_TEST_FAULT and CAIRN_TEST_COUNT at start. */
#include "store/testwrap.h"
#include "store/secondary.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static struct cairn_store_test_hooks hooks;

void cairn_store_set_test_hooks(const struct cairn_store_test_hooks *h)
{
	hooks = h ? *h : (struct cairn_store_test_hooks){ 0 };
}

static int bad_spec(const char *spec, const char *why, const char *item)
{
	return cairn_error_set(CAIRN_EINVAL, "CAIRN_TEST_FAULT='%s': %s '%s'", spec, why, item);
}

static int parse_ops(const char *spec, char *v, unsigned *ret)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{ "get", CAIRN_FAULT_GET },   { "put", CAIRN_FAULT_PUT },   { "stat", CAIRN_FAULT_STAT },
		{ "del", CAIRN_FAULT_DEL },   { "list", CAIRN_FAULT_LIST }, { "all", CAIRN_FAULT_ALL },
	};
	unsigned ops = 0;
	char *t;

	/* strsep, not strtok: "put+" and "put++get" are typos to report. */
	while ((t = strsep(&v, "+"))) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(names); i++)
			if (!strcmp(t, names[i].name))
				break;
		if (i == ARRAY_SIZE(names))
			return bad_spec(spec, "unknown op (want get, put, stat, del, list or all)", t);
		ops |= names[i].bit;
	}
	*ret = ops;
	return 0;
}

static int parse_bool(const char *spec, const char *v, bool *ret)
{
	if (!strcmp(v, "0") || !strcmp(v, "1")) {
		*ret = v[0] == '1';
		return 0;
	}
	return bad_spec(spec, "want 0 or 1, not", v);
}

static int parse_code(const char *spec, const char *v, int *ret)
{
	/* Any code cairn_error_name knows, so tests can try new ones. */
	for (int c = -1; c > -64; c--) {
		const char *name = cairn_error_name(c);
		if (strcmp(name, "EUNKNOWN") != 0 && !strcmp(name, v)) {
			*ret = c;
			return 0;
		}
	}
	return bad_spec(spec, "unknown error code (want e.g. EIO, ENOSPC, ENOTFOUND, ECORRUPT)", v);
}

/* Parses spec into p; p->corrupt_prefix points into *ret_buf (caller frees). */
static int parse_fault(const char *spec, struct cairn_fault_params *p, char **ret_buf)
{
	_cleanup_free_ char *buf = strdup(spec);
	char *rest = buf, *item;
	int r;

	if (!buf)
		return cairn_error_nomem();
	*p = (struct cairn_fault_params){ .ops = CAIRN_FAULT_ALL, .code = CAIRN_EIO };

	while ((item = strsep(&rest, ","))) {
		char *v = strchr(item, '=');
		if (!v)
			return bad_spec(spec, "expected key=value, got", item);
		*v++ = 0;
		if (!strcmp(item, "ops")) {
			r = parse_ops(spec, v, &p->ops);
		} else if (!strcmp(item, "at")) {
			char *end;
			errno = 0;
			unsigned long at = strtoul(v, &end, 10);
			if (!*v || *end || errno || !isdigit((unsigned char)v[0]) || at > UINT_MAX)
				return bad_spec(spec, "at= wants a call number, not", v);
			p->fail_at = (unsigned)at;
			r = 0;
		} else if (!strcmp(item, "persistent")) {
			r = parse_bool(spec, v, &p->persistent);
		} else if (!strcmp(item, "truncate")) {
			r = parse_bool(spec, v, &p->truncate_put);
		} else if (!strcmp(item, "code")) {
			r = parse_code(spec, v, &p->code);
		} else if (!strcmp(item, "corrupt")) {
			p->corrupt_prefix = v;
			r = 0;
		} else {
			return bad_spec(spec,
					"unknown key (want ops, at, persistent, code, corrupt or truncate)",
					item);
		}
		if (r < 0)
			return r;
	}
	*ret_buf = TAKE_PTR(buf);
	return 0;
}

/* Wraps *s as the hooks say; on failure *s is still the caller's. */
int cairn_store_test_wrap(struct cairn_store **s)
{
	int r;

	if (hooks.fault && *hooks.fault) {
		struct cairn_fault_params p;
		_cleanup_free_ char *buf = NULL;
		struct cairn_store *w;

		r = parse_fault(hooks.fault, &p, &buf);
		if (r < 0)
			return r;
		r = cairn_store_fault_wrap(*s, &p, &w);
		if (r < 0)
			return r;
		*s = w;
	}

	if (hooks.count && *hooks.count) {
		struct cairn_store *w;

		r = cairn_store_count_wrap(*s, &w);
		if (r < 0)
			return r;
		*s = w;
		r = cairn_store_count_dump_on_free(*s, hooks.count);
		if (r < 0)
			return r;
	}
	return 0;
}

struct cairn_store *cairn_store_unwrap(struct cairn_store *s)
{
	for (;;) {
		struct cairn_store *in = cairn_store_count_inner(s);
		if (!in)
			in = cairn_store_fault_inner(s);
		if (!in)
			in = cairn_store_secondary_active(s);
		if (!in)
			return s;
		s = in;
	}
}
