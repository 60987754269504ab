#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void cairn_time_format(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t cairn_time_parse(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!e)
		return -1;
	int64_t t = (int64_t)timegm(&tm);
	if (*e == '.')
		while (*++e >= '0' && *e <= '9')
			;
	if (*e == 'Z' && e[1] == 0)
		return t;
	int hh, mm, n = 0;
	if ((*e == '+' || *e == '-') && sscanf(e + 1, "%2d:%2d%n", &hh, &mm, &n) == 2 && n == 5 && e[6] == 0 &&
	    hh < 24 && mm < 60)
		return *e == '+' ? t - (hh * 3600 + mm * 60) : t + (hh * 3600 + mm * 60);
	return -1;
}

double cairn_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool test_now_on;
static int64_t test_now;

void cairn_time_set_test_now(bool on, int64_t now)
{
	test_now_on = on;
	test_now = now;
}

int64_t cairn_wall_now(void)
{
	if (test_now_on)
		return test_now;
	return (int64_t)time(NULL);
}

int64_t cairn_wall_now_us(void)
{
	if (test_now_on)
		return test_now * 1000000;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void cairn_time_format_us(int64_t us, char *buf, size_t size)
{
	time_t tt = (time_t)(us / 1000000);
	struct tm tm;
	char base[32];
	gmtime_r(&tt, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%06lldZ", base, (long long)(us % 1000000));
}

int64_t cairn_time_parse_us(const char *s)
{
	int64_t t = cairn_time_parse(s);
	if (t < 0)
		return -1;
	const char *dot = strchr(s, '.');
	int64_t frac = 0;
	if (dot) {
		int digits = 0;
		for (const char *p = dot + 1; *p >= '0' && *p <= '9'; p++)
			if (digits < 6) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
		while (digits++ < 6)
			frac *= 10;
	}
	return t * 1000000 + frac;
}

static struct {
	const char *var;
	long ms;
} holds[8];

void cairn_test_hold_set(const char *var, long ms)
{
	size_t i;
	for (i = 0; i < sizeof(holds) / sizeof(holds[0]) && holds[i].var; i++)
		if (!strcmp(holds[i].var, var))
			break;
	if (i < sizeof(holds) / sizeof(holds[0])) {
		holds[i].var = var;
		holds[i].ms = ms;
	}
}

void cairn_test_hold(const char *var)
{
	long ms = 0;
	for (size_t i = 0; i < sizeof(holds) / sizeof(holds[0]) && holds[i].var; i++)
		if (!strcmp(holds[i].var, var))
			ms = holds[i].ms;
	if (ms > 0) {
		struct timespec d = { ms / 1000, (ms % 1000) * 1000000 };
		nanosleep(&d, NULL);
	}
}
