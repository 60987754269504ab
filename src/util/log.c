#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

int cairn_log_level = 0;

static void emit(int level, const char *tag, const char *fmt, va_list ap)
{
	if (cairn_log_level < level)
		return;
	char line[2048];
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "cairn: %s%s\n", tag, line);
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
