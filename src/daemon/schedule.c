/* Intervals and cron schedules (schedule.h). */
#include "daemon/schedule.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int cairn_interval_parse(const char *s, const char *what, int64_t *ret_seconds)
{
	int64_t total = 0;
	const char *p = s;
	if (!*p)
		goto bad;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			goto bad;
		errno = 0;
		char *end;
		long long v = strtoll(p, &end, 10);
		if (errno || v > 1000000)
			goto bad;
		int64_t mult;
		switch (*end) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case 'w': mult = 7 * 86400; break;
		default: goto bad;
		}
		total += v * mult;
		if (total > 366 * 86400)
			goto bad;
		p = end + 1;
	}
	if (total < 1)
		goto bad;
	*ret_seconds = total;
	return 0;
bad:
	return cairn_error_set(CAIRN_EINVAL,
			       "invalid %s '%s': use a number with s, m (minutes), h, d or w, e.g. 15m or 1h30m; "
			       "from 1s to 366d",
			       what, s);
}

void cairn_interval_format(int64_t seconds, char *buf, size_t size)
{
	static const struct {
		int64_t n;
		char u;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	size_t n = 0;
	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(units) && n < size; i++) {
		int64_t q = seconds / units[i].n;
		if (q) {
			n += (size_t)snprintf(buf + n, size - n, "%lld%c", (long long)q, units[i].u);
			seconds -= q * units[i].n;
		}
	}
	if (!n)
		snprintf(buf, size, "0s");
}

/* ---- cron ---- */

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun",
				      "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static int value(const char **pp, int lo, int hi, const char *const *names, int nnames, int name_base, int *ret)
{
	const char *p = *pp;
	if (isdigit((unsigned char)*p)) {
		long v = 0;
		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (*p - '0');
			if (v > 1000)
				return -1;
			p++;
		}
		if (v < lo || v > hi)
			return -1;
		*ret = (int)v;
		*pp = p;
		return 0;
	}
	for (int i = 0; names && i < nnames; i++)
		if (strncasecmp(p, names[i], 3) == 0 && !isalpha((unsigned char)p[3])) {
			*ret = i + name_base;
			*pp = p + 3;
			return 0;
		}
	return -1;
}

/* One field into a bit set over lo..hi; *ret_any when it is "*" or "* /S". */
static int field(const char *f, int lo, int hi, const char *const *names, int nnames, int name_base, uint64_t *ret,
		 bool *ret_any)
{
	uint64_t bits = 0;
	const char *p = f;
	*ret_any = f[0] == '*';
	for (;;) {
		int a, b, step = 1;
		const char *item = p;
		if (*p == '*') {
			a = lo;
			b = hi;
			p++;
		} else {
			if (value(&p, lo, hi, names, nnames, name_base, &a) < 0)
				return -1;
			b = a;
			if (*p == '-') {
				p++;
				if (value(&p, lo, hi, names, nnames, name_base, &b) < 0 || b < a)
					return -1;
			}
		}
		if (*p == '/') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -1;
			step = 0;
			while (isdigit((unsigned char)*p)) {
				step = step * 10 + (*p - '0');
				if (step > hi + 1)
					return -1;
				p++;
			}
			if (step < 1)
				return -1;
			if (a == b && *item != '*')
				b = hi; /* "5/15": from 5 to the end */
		}
		for (int v = a; v <= b; v += step)
			bits |= 1ull << v;
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p)
			return -1;
		break;
	}
	*ret = bits;
	return 0;
}

int cairn_cron_parse(const char *s, struct cairn_cron *ret)
{
	static const struct {
		const char *name, *expr;
	} macros[] = { { "@hourly", "0 * * * *" }, { "@daily", "0 0 * * *" },   { "@midnight", "0 0 * * *" },
		       { "@weekly", "0 0 * * 0" }, { "@monthly", "0 0 1 * *" }, { "@yearly", "0 0 1 1 *" },
		       { "@annually", "0 0 1 1 *" } };
	const char *expr = s;
	for (size_t i = 0; i < ARRAY_SIZE(macros); i++)
		if (strcmp(s, macros[i].name) == 0)
			expr = macros[i].expr;
	char buf[256], *f[6], *save = NULL;
	if (strlen(expr) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", expr);
	int n = 0;
	for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == 5)
			goto bad;
		f[n++] = t;
	}
	if (n != 5)
		goto bad;
	struct cairn_cron c = { 0 };
	uint64_t v;
	bool any;
	if (field(f[0], 0, 59, NULL, 0, 0, &v, &any) < 0)
		goto bad;
	c.minute = v;
	if (field(f[1], 0, 23, NULL, 0, 0, &v, &any) < 0)
		goto bad;
	c.hour = (uint32_t)v;
	if (field(f[2], 1, 31, NULL, 0, 0, &v, &c.dom_any) < 0)
		goto bad;
	c.dom = (uint32_t)v;
	if (field(f[3], 1, 12, months, 12, 1, &v, &any) < 0)
		goto bad;
	c.month = (uint16_t)v;
	if (field(f[4], 0, 7, days, 7, 0, &v, &c.dow_any) < 0)
		goto bad;
	if (v & (1u << 7))
		v |= 1; /* 7 is Sunday too */
	c.dow = (uint8_t)(v & 0x7f);
	if (cairn_cron_next(&c, 0) < 0)
		return cairn_error_set(CAIRN_EINVAL, "cron schedule '%s' never matches a date", s);
	*ret = c;
	return 0;
bad:
	return cairn_error_set(CAIRN_EINVAL,
			       "invalid cron schedule '%s': give five fields \"MINUTE HOUR DAY-OF-MONTH MONTH "
			       "DAY-OF-WEEK\" with *, N, N-M, lists and /steps, e.g. \"30 2 * * *\"",
			       s);
}

static bool day_matches(const struct cairn_cron *c, const struct tm *tm)
{
	bool dom = c->dom & (1u << tm->tm_mday), dow = c->dow & (1u << tm->tm_wday);
	if (c->dom_any || c->dow_any)
		return (c->dom_any || dom) && (c->dow_any || dow);
	return dom || dow;
}

int64_t cairn_cron_next(const struct cairn_cron *c, int64_t after)
{
	int64_t t = after - (after % 60 + 60) % 60 + 60; /* the next whole minute */
	int64_t limit = after + 8LL * 366 * 86400;
	struct tm tm;
	while (t <= limit) {
		time_t tt = (time_t)t;
		localtime_r(&tt, &tm);
		if (!(c->month & (1u << (tm.tm_mon + 1)))) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!day_matches(c, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!(c->hour & (1u << tm.tm_hour))) {
			tm.tm_hour++;
			tm.tm_min = 0;
		} else if (!(c->minute & (1ull << tm.tm_min))) {
			tm.tm_min++;
		} else {
			return t;
		}
		tm.tm_sec = 0;
		tm.tm_isdst = -1;
		int64_t next = (int64_t)mktime(&tm);
		/* A DST change can send mktime back: always move forward. */
		t = next > t ? next : t + 60;
	}
	return -1;
}

int64_t cairn_schedule_next(int64_t every, const struct cairn_cron *cron, int64_t created, int64_t last_run)
{
	if (every > 0)
		return last_run ? last_run + every : created;
	return cron ? cairn_cron_next(cron, last_run ? last_run : created) : -1;
}

bool cairn_due_at(struct cairn_due_list *d, int64_t now, int64_t every, int64_t created, int64_t last)
{
	if (every <= 0)
		return false;
	int64_t next = cairn_schedule_next(every, NULL, created, last);
	if (next < 0)
		return false;
	if (next > now) {
		if (next < d->next_due)
			d->next_due = next;
		return false;
	}
	return true;
}

int cairn_due_add(struct cairn_due_list *d, const char *name)
{
	char *copy = strdup(name);
	if (!copy || cairn_array_grow(&d->names, &d->cap, d->n, sizeof(char *), 8) < 0) {
		free(copy);
		return cairn_error_nomem();
	}
	d->names[d->n++] = copy;
	return 0;
}

int cairn_due_finish(struct cairn_due_list *d, int r, char ***ret, size_t *ret_n, int64_t *ret_next_due)
{
	if (r < 0) {
		for (size_t i = 0; i < d->n; i++)
			free(d->names[i]);
		free(d->names);
		*ret = NULL;
		*ret_n = 0;
		return r;
	}
	*ret = d->names;
	*ret_n = d->n;
	if (ret_next_due)
		*ret_next_due = d->next_due;
	return 0;
}
