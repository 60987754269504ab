/* libcurl, loaded when the first HTTP client is made.
 *
 * libcurl brings 25 more shared libraries (Kerberos, LDAP, SASL, SSH,
 * GnuTLS through librtmp, ...) that a command on a local repository never
 * uses.  Read from a cold page cache, as for a backup run by cron, they
 * added 30 ms to every command's start on the benchmark machine (an empty
 * program linked like cairn: 0.02-0.03 s without libcurl, 0.05-0.06 s
 * with).  So cairn does not link libcurl: the functions below have its
 * names and signatures, client.c calls them as it would the library's,
 * and each forwards to the library's own, looked up once with dlopen().
 *
 * Only the functions client.c uses are here; a new one fails to link
 * until it is added.  The variadic ones pass their argument on as the
 * type libcurl reads for that option (curl's own vsetopt does the same).
 */
#include "http/http.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#define CURL_DISABLE_TYPECHECK /* the macros would rename the definitions below */
/* Hidden: were a program to link libcairn.a beside libcurl and export its
 * symbols, these must not stand in for libcurl's own internal calls.
 * (After the system headers: their functions are not ours to hide.) */
#pragma GCC visibility push(hidden)
#include <curl/curl.h>

/* The soname of libcurl 7.16 and later (2006); Debian's GnuTLS build has
 * the same ABI under another name. */
static const char *const sonames[] = { "libcurl.so.4", "libcurl-gnutls.so.4" };

/* CURLOPT_PROTOCOLS_STR (7.85), which keeps plain http out unless asked
 * for: an older libcurl would ignore it. */
#define LIBCURL_MIN_VERSION 0x075500

#define CURL_FUNCTIONS(X)                                                                                    \
	X(curl_global_init)                                                                                  \
	X(curl_easy_init)                                                                                    \
	X(curl_easy_setopt)                                                                                  \
	X(curl_easy_getinfo)                                                                                 \
	X(curl_easy_perform)                                                                                 \
	X(curl_easy_reset)                                                                                   \
	X(curl_easy_cleanup)                                                                                 \
	X(curl_easy_strerror)                                                                                \
	X(curl_share_init)                                                                                   \
	X(curl_share_setopt)                                                                                 \
	X(curl_share_cleanup)                                                                                \
	X(curl_slist_append)                                                                                 \
	X(curl_slist_free_all)                                                                               \
	X(curl_version_info)

static struct {
#define POINTER(name) __typeof__(name) *name;
	CURL_FUNCTIONS(POINTER)
#undef POINTER
} lib;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static bool loaded;
static char load_error[512];

static void load(void)
{
	void *h = NULL;
	const char *name = NULL;
	for (size_t i = 0; !h && i < sizeof(sonames) / sizeof(sonames[0]); i++)
		if ((h = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL)))
			name = sonames[i];
	if (!h) {
		/* dlerror() names the library already */
		snprintf(load_error, sizeof(load_error), "libcurl is not installed (%s); object-store repositories need it",
			 dlerror());
		return;
	}
#define RESOLVE(fn)                                                                                          \
	if (!(*(void **)&lib.fn = dlsym(h, #fn))) {                                                          \
		snprintf(load_error, sizeof(load_error), "%s has no %s", name, #fn);                         \
		return;                                                                                      \
	}
	CURL_FUNCTIONS(RESOLVE)
#undef RESOLVE
	const curl_version_info_data *v = lib.curl_version_info(CURLVERSION_NOW);
	if (!v || v->version_num < LIBCURL_MIN_VERSION) {
		snprintf(load_error, sizeof(load_error), "%s is libcurl %s; cairn needs 7.85 or later", name,
			 v && v->version ? v->version : "(unknown)");
		return;
	}
	loaded = true; /* h stays open for the life of the process */
}

const char *cairn_curl_load_error(void)
{
	pthread_once(&load_once, load);
	return loaded ? NULL : load_error;
}

/* The first call: everything else is called only with what it returned. */
CURLcode curl_global_init(long flags)
{
	if (cairn_curl_load_error())
		return CURLE_FAILED_INIT;
	return lib.curl_global_init(flags);
}

const char *curl_easy_strerror(CURLcode code)
{
	const char *e = cairn_curl_load_error();
	return e ? e : lib.curl_easy_strerror(code);
}

CURL *curl_easy_init(void)
{
	return cairn_curl_load_error() ? NULL : lib.curl_easy_init();
}

CURLSH *curl_share_init(void)
{
	return cairn_curl_load_error() ? NULL : lib.curl_share_init();
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
	return cairn_curl_load_error() ? NULL : lib.curl_slist_append(list, s);
}

void curl_slist_free_all(struct curl_slist *list)
{
	if (list)
		lib.curl_slist_free_all(list);
}

CURLcode curl_easy_setopt(CURL *h, CURLoption option, ...)
{
	va_list ap;
	va_start(ap, option);
	CURLcode rc;
	if (option < CURLOPTTYPE_OBJECTPOINT)
		rc = lib.curl_easy_setopt(h, option, va_arg(ap, long));
	else if (option < CURLOPTTYPE_FUNCTIONPOINT)
		rc = lib.curl_easy_setopt(h, option, va_arg(ap, void *));
	else if (option < CURLOPTTYPE_OFF_T)
		rc = lib.curl_easy_setopt(h, option, va_arg(ap, void (*)(void)));
	else if (option < CURLOPTTYPE_BLOB)
		rc = lib.curl_easy_setopt(h, option, va_arg(ap, curl_off_t));
	else
		rc = lib.curl_easy_setopt(h, option, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	va_list ap;
	va_start(ap, info);
	CURLcode rc = lib.curl_easy_getinfo(h, info, va_arg(ap, void *)); /* always a pointer to the result */
	va_end(ap);
	return rc;
}

CURLSHcode curl_share_setopt(CURLSH *sh, CURLSHoption option, ...)
{
	va_list ap;
	va_start(ap, option);
	CURLSHcode rc;
	switch (option) {
	case CURLSHOPT_SHARE:
	case CURLSHOPT_UNSHARE:
		rc = lib.curl_share_setopt(sh, option, va_arg(ap, int));
		break;
	case CURLSHOPT_LOCKFUNC:
		rc = lib.curl_share_setopt(sh, option, va_arg(ap, curl_lock_function));
		break;
	case CURLSHOPT_UNLOCKFUNC:
		rc = lib.curl_share_setopt(sh, option, va_arg(ap, curl_unlock_function));
		break;
	default:
		rc = lib.curl_share_setopt(sh, option, va_arg(ap, void *));
		break;
	}
	va_end(ap);
	return rc;
}

CURLcode curl_easy_perform(CURL *h)
{
	return lib.curl_easy_perform(h);
}

void curl_easy_reset(CURL *h)
{
	lib.curl_easy_reset(h);
}

void curl_easy_cleanup(CURL *h)
{
	if (h)
		lib.curl_easy_cleanup(h);
}

CURLSHcode curl_share_cleanup(CURLSH *sh)
{
	return sh ? lib.curl_share_cleanup(sh) : CURLSHE_OK;
}

#pragma GCC visibility pop
