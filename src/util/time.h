#ifndef CAIRN_UTIL_TIME_H
#define CAIRN_UTIL_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 3339 in UTC with seconds: "2026-11-25T14:20:04Z". */
void cairn_time_format(int64_t t, char *buf, size_t size);
/* Parses what cairn_time_format writes (and offsets "+hh:mm"); -1 if invalid. */
int64_t cairn_time_parse(const char *s);
/* Monotonic seconds, for durations. */
double cairn_now(void);
/* Wall clock, injectable for tests (cairn_time_set_test_now). */
int64_t cairn_wall_now(void);
/* Microsecond variants, for ordering backups made within one second. */
int64_t cairn_wall_now_us(void);
void cairn_time_format_us(int64_t us, char *buf, size_t size);
int64_t cairn_time_parse_us(const char *s); /* -1 if invalid */

/* Test hooks, set once at start by src/app/settings.c from the
 * environment, before any thread runs. */
/* The wall clock stops at now (unix seconds; CAIRN_TEST_NOW) when on. */
void cairn_time_set_test_now(bool on, int64_t now);
/* cairn_test_hold(var) sleeps ms milliseconds (the value of the variable
 * var; 0: not at all). */
void cairn_test_hold_set(const char *var, long ms);

/* Sleeps as long as cairn_test_hold_set said for var (none when unset):
 * tests hold cairn at a point to kill it there. */
void cairn_test_hold(const char *var);
#endif
