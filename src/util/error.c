#include "util/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MSG_MAX 1024

static _Thread_local char message[MSG_MAX];

static const char *const names[] = {
	[0] = "OK",
	[-CAIRN_ENOMEM] = "ENOMEM",
	[-CAIRN_EINVAL] = "EINVAL",
	[-CAIRN_EIO] = "EIO",
	[-CAIRN_ENOTFOUND] = "ENOTFOUND",
	[-CAIRN_EEXIST] = "EEXIST",
	[-CAIRN_ECORRUPT] = "ECORRUPT",
	[-CAIRN_EPASSPHRASE] = "EPASSPHRASE",
	[-CAIRN_EVERSION] = "EVERSION",
	[-CAIRN_ENOTREPO] = "ENOTREPO",
	[-CAIRN_EAMBIGUOUS] = "EAMBIGUOUS",
	[-CAIRN_ENOSPC] = "ENOSPC",
	[-CAIRN_EBUSY] = "EBUSY",
	[-CAIRN_EPERM] = "EPERM",
	[-CAIRN_ECRYPTO] = "ECRYPTO",
	[-CAIRN_ECANCELED] = "ECANCELED",
	[-CAIRN_ETOOSMALL] = "ETOOSMALL",
	[-CAIRN_ENET] = "ENET",
	[-CAIRN_EAUTH] = "EAUTH",
	[-CAIRN_EUNSUPPORTED] = "EUNSUPPORTED",
	[-CAIRN_ETIMEOUT] = "ETIMEOUT",
};

/* message = a + ": " + b, cut to fit. */
static void join(const char *a, const char *b)
{
	size_t n = strlen(a);
	if (n > MSG_MAX - 1)
		n = MSG_MAX - 1;
	memmove(message, a, n);
	if (b && *b && n + 2 < MSG_MAX) {
		message[n++] = ':';
		message[n++] = ' ';
		size_t m = strlen(b);
		if (m > MSG_MAX - 1 - n)
			m = MSG_MAX - 1 - n;
		memcpy(message + n, b, m);
		n += m;
	}
	message[n] = 0;
}

const char *cairn_error_name(int code)
{
	if (code > 0 || -code >= (int)(sizeof(names) / sizeof(names[0])) || !names[-code])
		return "EUNKNOWN";
	return names[-code];
}

const char *cairn_error_message(void)
{
	return message;
}

int cairn_error_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return code;
}

int cairn_error_nomem(void)
{
	return cairn_error_set(CAIRN_ENOMEM, "out of memory");
}

int cairn_error_prefix(int code, const char *fmt, ...)
{
	char prefix[MSG_MAX], old[MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, message, sizeof(old));
	join(prefix, old);
	return code;
}

int cairn_error_from_errno(int err)
{
	switch (err) {
	case ENOMEM: return CAIRN_ENOMEM;
	case ENOENT: case ENOTDIR: return CAIRN_ENOTFOUND;
	case EEXIST: return CAIRN_EEXIST;
	case ENOSPC: case EDQUOT: case EFBIG: return CAIRN_ENOSPC;
	case EACCES: case EPERM: case EROFS: return CAIRN_EPERM;
	case EBUSY: return CAIRN_EBUSY;
	case EINVAL: return CAIRN_EINVAL;
	case EINTR: case ECANCELED: return CAIRN_ECANCELED;
	default: return CAIRN_EIO;
	}
}

int cairn_error_errno(int err, const char *fmt, ...)
{
	char what[MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	join(what, strerror(err));
	return cairn_error_from_errno(err);
}

void cairn_error_clear(void)
{
	message[0] = 0;
}

void cairn_error_copy(char *buf, size_t size)
{
	if (size == 0)
		return;
	snprintf(buf, size, "%s", message);
}
