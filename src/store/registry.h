/* The repository URI schemes cairn opens, in one table: for each, the
 * credential provider it needs, the driver that opens it and the part of
 * struct cairn_store_opts that driver reads.  The store opener
 * (store/open.c) and the credential code (state/cred.c) both ask it, so a
 * new scheme is one line here (and its driver).
 */
#ifndef CAIRN_STORE_REGISTRY_H
#define CAIRN_STORE_REGISTRY_H

#include "store/store.h"

#include <stdbool.h>

/* Which per-provider options a driver reads. */
enum cairn_store_options {
	CAIRN_STORE_OPTIONS_NONE,  /* local: none */
	CAIRN_STORE_OPTIONS_S3,    /* opts.s3 */
	CAIRN_STORE_OPTIONS_AZURE, /* opts.azure */
};

struct cairn_store_scheme {
	const char *scheme;   /* lower case, without "://"; "file" is local */
	const char *provider; /* the credential provider that serves it ("s3", "google", "azure"); NULL: none */
	int (*open)(const char *uri, const struct cairn_store_opts *o, struct cairn_store **ret);
	enum cairn_store_options options;
};

/* The entry for uri's scheme (case-insensitive); a path, relative or
 * absolute, is file's.  NULL: a scheme cairn does not know (or uri NULL). */
const struct cairn_store_scheme *cairn_store_scheme_of(const char *uri);

/* The entry of a credential provider ("s3", "google", "azure"), NULL for
 * any other name. */
const struct cairn_store_scheme *cairn_store_scheme_of_provider(const char *provider);

/* Whether stores of scheme e can be opened with a credential of
 * provider: its driver reads that provider's options (an s3 credential
 * opens gs://, as both speak S3). */
bool cairn_store_scheme_serves(const struct cairn_store_scheme *e, const char *provider);

#endif
