/* Keep rules (retention.h): restic's ApplyPolicy, in C. */
#include "engine/retention.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool cairn_keep_within_empty(const struct cairn_keep_within *w)
{
	return !w->years && !w->months && !w->days && !w->hours;
}

bool cairn_keep_rules_empty(const struct cairn_keep_rules *r)
{
	return !r->last && !r->hourly && !r->daily && !r->weekly && !r->monthly && !r->yearly &&
	       cairn_keep_within_empty(&r->within);
}

int cairn_keep_within_parse(const char *s, struct cairn_keep_within *ret)
{
	struct cairn_keep_within w = { 0 };
	const char *p = s;
	bool seen[4] = { false };
	if (!*p)
		goto bad;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			goto bad;
		errno = 0;
		char *end;
		long v = strtol(p, &end, 10);
		if (errno || v < 0 || v > 100000)
			goto bad;
		int *dst;
		int unit;
		switch (*end) {
		case 'y': dst = &w.years; unit = 0; break;
		case 'm': dst = &w.months; unit = 1; break;
		case 'd': dst = &w.days; unit = 2; break;
		case 'h': dst = &w.hours; unit = 3; break;
		default: goto bad;
		}
		if (seen[unit])
			goto bad;
		seen[unit] = true;
		*dst = (int)v;
		p = end + 1;
	}
	if (cairn_keep_within_empty(&w))
		goto bad;
	*ret = w;
	return 0;
bad:
	return cairn_error_set(CAIRN_EINVAL,
			       "invalid duration '%s' for --keep-within: use numbers with y, m (months), d, h, e.g. 7d "
			       "or 1y6m",
			       s);
}

void cairn_keep_within_format(const struct cairn_keep_within *w, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = 0;
	const int v[4] = { w->years, w->months, w->days, w->hours };
	const char u[4] = { 'y', 'm', 'd', 'h' };
	for (int i = 0; i < 4; i++)
		if (v[i] && n < size)
			n += (size_t)snprintf(buf + n, size - n, "%d%c", v[i], u[i]);
}

int cairn_keep_count_parse(const char *s, int *ret)
{
	if (strcmp(s, "unlimited") == 0) {
		*ret = -1;
		return 0;
	}
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end || errno || v < 1 || v > 1000000)
		return CAIRN_EINVAL;
	*ret = (int)v;
	return 0;
}

static const char *const reason_names[] = { "last", "hourly", "daily", "weekly", "monthly", "yearly", "within",
					     "held", "other" };

static void append(char *buf, size_t size, size_t *n, const char *s)
{
	if (*n >= size)
		return;
	*n += (size_t)snprintf(buf + *n, size - *n, "%s%s", *n ? ", " : "", s);
}

void cairn_keep_reasons(unsigned mask, const struct cairn_keep_rules *r, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(reason_names); i++) {
		if (!(mask & (1u << i)))
			continue;
		if ((1u << i) == CAIRN_KEEP_WITHIN && r) {
			char w[64], t[80];
			cairn_keep_within_format(&r->within, w, sizeof(w));
			snprintf(t, sizeof(t), "within %s", w);
			append(buf, size, &n, t);
		} else {
			append(buf, size, &n, reason_names[i]);
		}
	}
}

void cairn_keep_rules_format(const struct cairn_keep_rules *r, char *buf, size_t size)
{
	const int v[6] = { r->last, r->hourly, r->daily, r->weekly, r->monthly, r->yearly };
	size_t n = 0;
	buf[0] = 0;
	for (int i = 0; i < 6; i++) {
		char t[64];
		if (!v[i])
			continue;
		if (v[i] < 0)
			snprintf(t, sizeof(t), "all %s", reason_names[i]);
		else
			snprintf(t, sizeof(t), "%d %s", v[i], reason_names[i]);
		append(buf, size, &n, t);
	}
	if (!cairn_keep_within_empty(&r->within)) {
		char w[64], t[80];
		cairn_keep_within_format(&r->within, w, sizeof(w));
		snprintf(t, sizeof(t), "within %s", w);
		append(buf, size, &n, t);
	}
}

/* ---- the policy ---- */

struct item {
	int64_t t_us;
	uint64_t order;
	size_t i;
};

static int newest_first(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	if (x->t_us != y->t_us)
		return x->t_us > y->t_us ? -1 : 1;
	if (x->order != y->order)
		return x->order > y->order ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void local_tm(int64_t t_us, struct tm *tm)
{
	/* Floor division: times before 1970 round down to their second. */
	int64_t s = t_us >= 0 ? t_us / 1000000 : -((-t_us + 999999) / 1000000);
	time_t tt = (time_t)s;
	localtime_r(&tt, tm);
}

/* Bucket values as restic's ymdh, ymd, yw, ym, y (always = the position). */
static int64_t bucket(int kind, int64_t t_us, size_t nr)
{
	struct tm tm;
	if (kind == 0)
		return (int64_t)nr;
	local_tm(t_us, &tm);
	int64_t y = tm.tm_year + 1900, m = tm.tm_mon + 1, d = tm.tm_mday, h = tm.tm_hour;
	switch (kind) {
	case 1: return y * 1000000 + m * 10000 + d * 100 + h;
	case 2: return y * 10000 + m * 100 + d;
	case 3: {
		char buf[16];
		strftime(buf, sizeof(buf), "%G%V", &tm);
		return strtoll(buf, NULL, 10);
	}
	case 4: return y * 100 + m;
	default: return y;
	}
}

/* latest - within, as Go's AddDate(-y, -m, -d).Add(-h) in local time. */
static int64_t within_start(int64_t latest_us, const struct cairn_keep_within *w)
{
	struct tm tm;
	local_tm(latest_us, &tm);
	int64_t frac = latest_us % 1000000;
	if (frac < 0)
		frac += 1000000;
	tm.tm_year -= w->years;
	tm.tm_mon -= w->months;
	tm.tm_mday -= w->days;
	/* Keep the wall-clock time; mktime picks the offset of the new date. */
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	return ((int64_t)t - (int64_t)w->hours * 3600) * 1000000 + frac;
}

int cairn_retention_apply(const int64_t *times_us, const uint64_t *order, size_t n, const struct cairn_keep_rules *r,
			  int64_t now, unsigned *ret_keep)
{
	if (cairn_keep_rules_empty(r))
		return cairn_error_set(CAIRN_EINVAL, "no keep rule given: forgetting needs at least one --keep-* option");
	if (!n)
		return 0;
	_cleanup_free_ struct item *v = malloc(n * sizeof(*v));
	if (!v)
		return cairn_error_nomem();
	for (size_t i = 0; i < n; i++)
		v[i] = (struct item){ times_us[i], order ? order[i] : 0, i };
	qsort(v, n, sizeof(*v), newest_first);

	struct {
		int count;
		int64_t last;
		bool used;
	} b[6] = {
		{ r->last }, { r->hourly }, { r->daily }, { r->weekly }, { r->monthly }, { r->yearly },
	};
	bool have_latest = false;
	int64_t latest = 0, now_us = now * 1000000;
	for (size_t k = 0; k < n; k++)
		if (v[k].t_us <= now_us) {
			latest = v[k].t_us; /* sorted: the first not in the future is the newest */
			have_latest = true;
			break;
		}
	bool within = !cairn_keep_within_empty(&r->within);
	int64_t start = have_latest && within ? within_start(latest, &r->within) : INT64_MIN;

	for (size_t nr = 0; nr < n; nr++) {
		unsigned keep = 0;
		int64_t t = v[nr].t_us;
		if (within && t > start)
			keep |= CAIRN_KEEP_WITHIN;
		for (int k = 0; k < 6; k++) {
			if (b[k].count == 0)
				continue;
			int64_t val = bucket(k, t, nr);
			/* The oldest backup is kept while a rule has counts left:
			 * the history kept is then as long as it can be. */
			if (!b[k].used || val != b[k].last || nr == n - 1) {
				keep |= 1u << k;
				b[k].last = val;
				b[k].used = true;
				if (b[k].count > 0)
					b[k].count--;
			}
		}
		ret_keep[v[nr].i] = keep;
	}
	return 0;
}
