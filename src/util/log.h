/* Diagnostics on stderr.  Verbosity: -1 quiet (errors only), 0 normal
 * (warnings), 1 -v (info), 2 -vv (debug).  Data goes to stdout, never here. */
#ifndef CAIRN_UTIL_LOG_H
#define CAIRN_UTIL_LOG_H

#include <stdbool.h>

extern int cairn_log_level;

void cairn_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cairn_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cairn_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A job's log (state/jobs.h): every warning and info line logged on the
 * calling thread also goes to fn (level 0 warning, 1 info, 2 debug with
 * -vv), whatever the verbosity; NULL removes it.  Per thread, so jobs on
 * other threads keep their own. */
typedef void (*cairn_log_sink_fn)(int level, const char *line, void *ud);
void cairn_log_set_sink(cairn_log_sink_fn fn, void *ud);
/* Text put after "cairn: " on every stderr line ("job 12: "); NULL clears. */
void cairn_log_set_prefix(const char *prefix);

#endif
