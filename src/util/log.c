#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

int cairn_log_level = 0;

static _Thread_local cairn_log_sink_fn sink;
static _Thread_local void *sink_ud;
static char prefix[64];

void cairn_log_set_sink(cairn_log_sink_fn fn, void *ud)
{
	sink = fn;
	sink_ud = ud;
}

void cairn_log_set_prefix(const char *p)
{
	snprintf(prefix, sizeof(prefix), "%s", p ? p : "");
}

static void emit(int level, const char *tag, const char *fmt, va_list ap)
{
	/* A job's log keeps warnings and info whatever -q/-v say; debug lines
	 * only when asked for. */
	bool to_stderr = cairn_log_level >= level;
	if (!to_stderr && (!sink || level > 1))
		return;
	char line[2048];
	vsnprintf(line, sizeof(line), fmt, ap);
	if (to_stderr)
		fprintf(stderr, "cairn: %s%s%s\n", prefix, tag, line);
	if (sink)
		sink(level, line, sink_ud);
}

void cairn_log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(0, "warning: ", fmt, ap);
	va_end(ap);
}

void cairn_log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(1, "", fmt, ap);
	va_end(ap);
}

void cairn_log_debug(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(2, "debug: ", fmt, ap);
	va_end(ap);
}
