/* Credentials (docs/design.md §2): immutable, UUID-named sets of object-store
 * secrets plus an optional repository encryption passphrase, kept in the
 * state database (table credentials, see state.h) with every secret sealed
 * by the state key.  Nothing modifies a credential: delete and create again.
 *
 * A reference to a credential (--cred, cred delete) is its full UUID, its
 * name, or a unique prefix of its UUID of at least 4 characters, tried in
 * that order.
 *
 * A credential is bound to its endpoint: its own (--s3-endpoint,
 * --azure-endpoint), else the provider's default (AWS for the region,
 * https://ACCOUNT.blob.core.windows.net, https://storage.googleapis.com),
 * over TLS unless its disable_ssl flag says otherwise.  Its secrets are
 * never sent anywhere else (cairn_cred_store_opts sets opts.cred, and the
 * drivers refuse a URI endpoint naming another place), and the binding is
 * sealed with them: a secret opens only with the endpoint, flags and other
 * non-secret fields it was sealed with (see cred.c).
 */
#ifndef CAIRN_STATE_CRED_H
#define CAIRN_STATE_CRED_H

#include "state/state.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAIRN_CRED_UUID_LEN 36
#define CAIRN_CRED_NAME_MAX 64
#define CAIRN_CRED_FIELD_MAX 1024 /* any text field, secrets included */
#define CAIRN_CRED_REF_MIN 4      /* shortest UUID prefix accepted */

enum cairn_cred_provider {
	CAIRN_CRED_NONE = 0, /* a local repository: no credential needed */
	CAIRN_CRED_S3,
	CAIRN_CRED_AZURE,
	CAIRN_CRED_GOOGLE,
};

/* "s3", "azure", "google" ("" for NONE). */
const char *cairn_cred_provider_name(enum cairn_cred_provider p);
/* CAIRN_EINVAL for anything else. */
int cairn_cred_provider_parse(const char *s, enum cairn_cred_provider *ret);

/* One credential.  Non-secret strings are malloc'd; secrets live in
 * cairn_secret_alloc memory of strlen + 1 bytes and are wiped by
 * cairn_cred_free.  Unset fields are NULL.  Records from cairn_cred_list
 * carry no secrets, only the has_* flags. */
struct cairn_cred {
	char uuid[CAIRN_CRED_UUID_LEN + 1];
	char *name;
	enum cairn_cred_provider provider;
	int64_t created; /* unix seconds */

	char *s3_access_key, *s3_region, *s3_endpoint;
	bool s3_disable_ssl;
	char *azure_account, *azure_endpoint;
	bool azure_disable_ssl;
	char *google_project_id, *google_access_key;

	/* secrets */
	char *s3_secret_key;
	char *azure_key, *azure_sas;
	char *google_secret;
	char *passphrase; /* repository encryption passphrase */

	/* what is set, known without decrypting */
	bool has_azure_key, has_azure_sas, has_passphrase;
};

/* Frees the strings of c and wipes its secrets (c itself is not freed);
 * accepts NULL. */
void cairn_cred_clear(struct cairn_cred *c);
/* cairn_cred_clear + free; accepts NULL. */
void cairn_cred_free(struct cairn_cred *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cairn_cred *, cairn_cred_free)
void cairn_cred_list_free(struct cairn_cred *v, size_t n);

/* A secret copy of s in cairn_secret_alloc memory (NULL stays NULL);
 * CAIRN_ENOMEM.  For filling the secret fields of a struct cairn_cred. */
int cairn_cred_secret_dup(const char *s, char **ret);

/* Checks a credential to be created: the provider's required fields are
 * set, no field of another provider is, and every value is well-formed.
 * The message names fields by their CLI option (--s3-secret-key), never by
 * value.  CAIRN_EINVAL. */
int cairn_cred_validate(const struct cairn_cred *c);

/* Validates and stores c under a new random UUID (written to ret_uuid) and
 * the current time; c->uuid and c->created are ignored.  The state key is
 * created if this is the first secret; a missing key while other
 * credentials exist is refused (they were sealed with it).  A duplicate
 * name is CAIRN_EEXIST. */
int cairn_cred_create(struct cairn_state *st, const struct cairn_cred *c, char ret_uuid[CAIRN_CRED_UUID_LEN + 1]);

/* Every credential, oldest first, without secrets. */
int cairn_cred_list(struct cairn_state *st, struct cairn_cred **ret, size_t *ret_n);

/* The credential ref names (see above), with its secrets decrypted when
 * secrets is set: CAIRN_ENOTFOUND, CAIRN_EAMBIGUOUS (a prefix of several);
 * a secret sealed with another state key is CAIRN_EPERM, one that fails
 * authentication (altered, or its endpoint or flags changed) CAIRN_ECORRUPT,
 * a missing key file CAIRN_ENOTFOUND.  A credential stored by a cairn that
 * did not bind endpoints is sealed again, bound, on this first use (a
 * failure to write that is only a warning). */
int cairn_cred_get(struct cairn_state *st, const char *ref, bool secrets, struct cairn_cred **ret);

/* Deletes the credential ref names; its UUID goes to ret_uuid (may be NULL). */
int cairn_cred_delete(struct cairn_state *st, const char *ref, char ret_uuid[CAIRN_CRED_UUID_LEN + 1]);

/* ---- using credentials ---- */

/* The provider a repository URI needs, from the store registry: s3:// is
 * S3, gs:// Google, azure:// Azure.  A path, a file:// URI or a scheme
 * cairn does not know is NONE (the store reports unknown schemes). */
enum cairn_cred_provider cairn_cred_uri_provider(const char *uri);

/* The credential for uri (with secrets), or *ret = NULL when none applies:
 *   ref set       that credential, whatever uri (a local repository may
 *                 use its passphrase); for an object-store uri its
 *                 provider must be the uri's (CAIRN_EINVAL otherwise);
 *   ref NULL      for an object-store uri the only stored credential of
 *                 that provider; none stored at all: NULL (the driver's
 *                 environment defaults); none of that provider while
 *                 others exist: CAIRN_ENOTFOUND; several: CAIRN_EAMBIGUOUS.
 *                 For a local uri: NULL.
 * st may be NULL (no state database): then only ref NULL works. */
int cairn_cred_resolve(struct cairn_state *st, const char *ref, const char *uri, struct cairn_cred **ret);

/* Fills o for opening uri with c (NULL: only o->provider is set).  Strings
 * in o borrow from c; o->cred binds the secrets to c's endpoint (the
 * drivers check a URI endpoint against it).  Fails with CAIRN_EINVAL when
 * c's provider does not serve uri's scheme, or when an azure:// uri names
 * another account than c's.  Which part of o a scheme reads comes from
 * the store registry (store/registry.h).  connections, limit_upload and
 * env are left as they are. */
int cairn_cred_store_opts(const struct cairn_cred *c, const char *uri, struct cairn_store_opts *o);

#endif
