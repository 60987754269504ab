/* Diagnostics on stderr.  Verbosity: -1 quiet (errors only), 0 normal
 * (warnings), 1 -v (info), 2 -vv (debug).  Data goes to stdout, never here. */
#ifndef CAIRN_UTIL_LOG_H
#define CAIRN_UTIL_LOG_H

extern int cairn_log_level;

void cairn_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cairn_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cairn_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
