/* Credentials in the state database (cred.h; table layout in state.h).
 *
 * Secrets are sealed one column at a time.  The additional data depends on
 * the row's seal column:
 *
 *   seal 1 (cairn before endpoint binding)   "<uuid>/<column>"
 *   seal 2   "<uuid>/<column>" followed by the binding: for each of
 *            provider, s3_access_key, s3_region, s3_endpoint,
 *            s3_disable_ssl, azure_account, azure_endpoint,
 *            azure_disable_ssl, google_project_id, google_access_key (in
 *            that order, a frozen list: a new field makes seal 3)
 *            "\n<column>=<length>:<value>", or "\n<column>=-" when NULL;
 *            flags are "0" or "1"
 *
 * so a sealed value moved to another credential or another column fails
 * authentication instead of being used there, and so does every secret of
 * a credential whose endpoint, SSL flag, Azure account (which names the
 * default endpoint) or any other field but its name was changed in the
 * database: editing a row cannot redirect its secrets.
 *
 * Seal 1 rows are read with their old additional data and sealed again as
 * seal 2 on first use, binding the endpoint they have then (the one they
 * were used with until now), rather than trusting the stored endpoint
 * for ever: after that one use, a changed endpoint no longer opens.
 */
#include "state/cred.h"
#include "store/registry.h"
#include "crypto/crypto.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEAL_LABEL "cairn state: credentials v1"
#define SEAL_UNBOUND 1 /* the additional data binds UUID and column only */
#define SEAL_BOUND 2   /* ... and the non-secret fields: what new rows get */
#define PASSPHRASE_MAX 4095

/* The text columns, in the order of COLUMNS below after the fixed ones. */
struct field {
	const char *col;
	const char *opt; /* the CLI option, for messages */
	enum cairn_cred_provider provider; /* NONE: any provider */
	bool secret;
	size_t off;
};

#define F(col, opt, prov, secret, member) { col, opt, prov, secret, offsetof(struct cairn_cred, member) }
static const struct field fields[] = {
	F("s3_access_key", "--s3-access-key", CAIRN_CRED_S3, false, s3_access_key),
	F("s3_region", "--s3-region", CAIRN_CRED_S3, false, s3_region),
	F("s3_endpoint", "--s3-endpoint", CAIRN_CRED_S3, false, s3_endpoint),
	F("azure_account", "--azure-account-name", CAIRN_CRED_AZURE, false, azure_account),
	F("azure_endpoint", "--azure-endpoint", CAIRN_CRED_AZURE, false, azure_endpoint),
	F("google_project_id", "--google-project-id", CAIRN_CRED_GOOGLE, false, google_project_id),
	F("google_access_key", "--google-hmac-access-key", CAIRN_CRED_GOOGLE, false, google_access_key),
	F("s3_secret_key", "--s3-secret-key", CAIRN_CRED_S3, true, s3_secret_key),
	F("azure_key", "--azure-account-key", CAIRN_CRED_AZURE, true, azure_key),
	F("azure_sas", "--azure-sas", CAIRN_CRED_AZURE, true, azure_sas),
	F("google_secret", "--google-hmac-secret", CAIRN_CRED_GOOGLE, true, google_secret),
	F("passphrase", "--encryption-passphrase", CAIRN_CRED_NONE, true, passphrase),
};
#undef F
#define NFIELDS ARRAY_SIZE(fields)
#define FIELD(c, f) (*(char **)((char *)(c) + (f)->off))
#define CFIELD(c, f) (*(char *const *)((const char *)(c) + (f)->off))

/* Fixed columns first: 0 uuid, 1 name, 2 provider, 3 created, 4 key_id,
 * 5 s3_disable_ssl, 6 azure_disable_ssl, 7 seal, then fields[] from 8. */
#define FIXED_COLS "uuid, name, provider, created, key_id, s3_disable_ssl, azure_disable_ssl, seal"
#define NFIXED 8

static const char *select_cols(void)
{
	static char buf[512];
	if (!buf[0]) {
		size_t n = (size_t)snprintf(buf, sizeof(buf), "%s", FIXED_COLS);
		for (size_t i = 0; i < NFIELDS; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, ", %s", fields[i].col);
	}
	return buf;
}

const char *cairn_cred_provider_name(enum cairn_cred_provider p)
{
	switch (p) {
	case CAIRN_CRED_S3: return "s3";
	case CAIRN_CRED_AZURE: return "azure";
	case CAIRN_CRED_GOOGLE: return "google";
	default: return "";
	}
}

int cairn_cred_provider_parse(const char *s, enum cairn_cred_provider *ret)
{
	for (int p = CAIRN_CRED_S3; p <= CAIRN_CRED_GOOGLE; p++)
		if (s && strcmp(s, cairn_cred_provider_name(p)) == 0) {
			*ret = p;
			return 0;
		}
	return cairn_error_set(CAIRN_EINVAL, "unknown provider '%s' (want s3, azure or google)", s ? s : "");
}

/* ---- memory ---- */

static void secret_free(char *s)
{
	if (s)
		cairn_secret_free(s, strlen(s) + 1);
}

int cairn_cred_secret_dup(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	size_t n = strlen(s);
	char *p = cairn_secret_alloc(n + 1);
	if (!p)
		return cairn_error_nomem();
	memcpy(p, s, n + 1);
	*ret = p;
	return 0;
}

void cairn_cred_clear(struct cairn_cred *c)
{
	if (!c)
		return;
	free(c->name);
	for (size_t i = 0; i < NFIELDS; i++) {
		if (fields[i].secret)
			secret_free(FIELD(c, &fields[i]));
		else
			free(FIELD(c, &fields[i]));
	}
	memset(c, 0, sizeof(*c));
}

void cairn_cred_free(struct cairn_cred *c)
{
	cairn_cred_clear(c);
	free(c);
}

void cairn_cred_list_free(struct cairn_cred *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		cairn_cred_clear(&v[i]);
	free(v);
}

/* ---- validation ---- */

static bool has_ctl(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

static bool has_space_or_ctl(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return true;
	return false;
}

static bool all_of(const char *s, const char *set)
{
	return s[strspn(s, set)] == 0;
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"
#define HEX "0123456789abcdefABCDEF"

static int bad(const char *opt, const char *why)
{
	return cairn_error_set(CAIRN_EINVAL, "%s %s", opt, why);
}

/* An endpoint of a credential, and the flag that allows it plain http.
 * The user info, query or fragment a driver would refuse later are refused
 * here already. */
static int check_endpoint(const char *v, const char *opt, bool disable_ssl, const char *ssl_opt)
{
	const char *host = v;
	if (strncasecmp(v, "https://", 8) == 0)
		host = v + 8;
	else if (strncasecmp(v, "http://", 7) == 0)
		host = v + 7;
	else if (strstr(v, "://"))
		return bad(opt, "must be http://HOST[:PORT], https://HOST[:PORT] or HOST[:PORT]");
	if (!*host || *host == '/' || has_space_or_ctl(v))
		return bad(opt, "has no host (want http://HOST[:PORT], https://HOST[:PORT] or HOST[:PORT])");
	if (strpbrk(host, "@?#"))
		return bad(opt, "may hold only [http[s]://]HOST[:PORT][/PATH] (no user, query or fragment)");
	if (disable_ssl && strncasecmp(v, "https://", 8) == 0)
		return cairn_error_set(CAIRN_EINVAL, "%s contradicts an https:// %s", ssl_opt, opt);
	/* A credential's endpoint is plain http only when asked for: the
	 * store would refuse it later (store/uri.c). */
	if (!disable_ssl && strncasecmp(v, "http://", 7) == 0)
		return cairn_error_set(CAIRN_EINVAL, "%s is plain http://: add %s to use it", opt, ssl_opt);
	return 0;
}

/* Checks one set field.  Messages name the option, never the value. */
static int check_field(const struct cairn_cred *c, const struct field *f, const char *v)
{
	size_t n = strlen(v);
	size_t max = strcmp(f->col, "passphrase") == 0 ? PASSPHRASE_MAX : CAIRN_CRED_FIELD_MAX;
	if (n == 0)
		return bad(f->opt, "is empty");
	if (n > max)
		return cairn_error_set(CAIRN_EINVAL, "%s is longer than %zu bytes", f->opt, max);
	if (strcmp(f->col, "passphrase") == 0)
		return 0; /* anything but NUL */
	if (f->secret ? has_space_or_ctl(v) : has_ctl(v))
		return bad(f->opt, f->secret ? "contains spaces or control characters" : "contains control characters");
	if (strcmp(f->col, "s3_endpoint") == 0) {
		return check_endpoint(v, f->opt, c->s3_disable_ssl, "--s3-disable-ssl");
	} else if (strcmp(f->col, "azure_endpoint") == 0) {
		int r = check_endpoint(v, f->opt, c->azure_disable_ssl, "--azure-disable-ssl");
		/* Azure signs the path as it is sent (store/azure/config.c). */
		const char *path = strchr(strstr(v, "://") ? strstr(v, "://") + 3 : v, '/');
		if (r == 0 && path && !all_of(path, LOWER UPPER DIGITS "/-._~"))
			return bad(f->opt, "may hold only letters, digits and -._~/ in its path");
		return r;
	} else if (strcmp(f->col, "s3_region") == 0) {
		if (n > 64 || has_space_or_ctl(v))
			return bad(f->opt, "must be a region name such as us-east-1 (no spaces, at most 64 characters)");
	} else if (strcmp(f->col, "azure_account") == 0) {
		if (n < 3 || n > 24 || !all_of(v, LOWER DIGITS))
			return bad(f->opt, "must be 3 to 24 lowercase letters and digits (an Azure storage account name)");
	} else if (strcmp(f->col, "azure_key") == 0) {
		if (!all_of(v, LOWER UPPER DIGITS "+/=") || n % 4)
			return bad(f->opt, "is not a base64 account key");
	} else if (strcmp(f->col, "azure_sas") == 0) {
		if (*v == '?' || !strstr(v, "sig="))
			return bad(f->opt, "is not a SAS token (sv=...&sig=..., without a leading '?')");
	}
	return 0;
}

int cairn_cred_validate(const struct cairn_cred *c)
{
	const char *pname = cairn_cred_provider_name(c->provider);
	int r;

	if (c->provider < CAIRN_CRED_S3 || c->provider > CAIRN_CRED_GOOGLE)
		return cairn_error_set(CAIRN_EINVAL, "--provider must be s3, azure or google");
	if (c->name) {
		size_t n = strlen(c->name);
		if (n == 0 || n > CAIRN_CRED_NAME_MAX || !all_of(c->name, LOWER UPPER DIGITS "._-") ||
		    c->name[0] == '-' || c->name[0] == '.')
			return cairn_error_set(CAIRN_EINVAL,
					       "--name must be 1 to %d letters, digits, '.', '_' or '-' (not first)",
					       CAIRN_CRED_NAME_MAX);
		/* So that a name is never mistaken for a UUID prefix. */
		if (all_of(c->name, HEX "-"))
			return cairn_error_set(CAIRN_EINVAL, "--name must contain a character other than hex "
							     "digits and '-', so it cannot be mistaken for a UUID");
	}
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];
		const char *v = CFIELD(c, f);
		if (!v)
			continue;
		if (f->provider != CAIRN_CRED_NONE && f->provider != c->provider)
			return cairn_error_set(CAIRN_EINVAL, "%s does not apply to --provider %s", f->opt, pname);
		if ((r = check_field(c, f, v)) < 0)
			return r;
	}
	if (c->s3_disable_ssl && c->provider != CAIRN_CRED_S3)
		return cairn_error_set(CAIRN_EINVAL, "--s3-disable-ssl does not apply to --provider %s", pname);
	if (c->azure_disable_ssl && c->provider != CAIRN_CRED_AZURE)
		return cairn_error_set(CAIRN_EINVAL, "--azure-disable-ssl does not apply to --provider %s", pname);
	/* The default endpoint names https: the flag would mean nothing. */
	if (c->azure_disable_ssl && !c->azure_endpoint)
		return cairn_error_set(CAIRN_EINVAL, "--azure-disable-ssl needs an http:// --azure-endpoint");

	switch (c->provider) {
	case CAIRN_CRED_S3:
		if (!c->s3_access_key)
			return cairn_error_set(CAIRN_EINVAL, "--provider s3 needs --s3-access-key");
		if (!c->s3_secret_key)
			return cairn_error_set(CAIRN_EINVAL, "--provider s3 needs --s3-secret-key");
		break;
	case CAIRN_CRED_AZURE:
		if (!c->azure_account)
			return cairn_error_set(CAIRN_EINVAL, "--provider azure needs --azure-account-name");
		if (!c->azure_key && !c->azure_sas)
			return cairn_error_set(CAIRN_EINVAL, "--provider azure needs --azure-account-key or --azure-sas");
		if (c->azure_key && c->azure_sas)
			return cairn_error_set(CAIRN_EINVAL, "give either --azure-account-key or --azure-sas, not both");
		break;
	case CAIRN_CRED_GOOGLE:
		if (!c->google_project_id)
			return cairn_error_set(CAIRN_EINVAL, "--provider google needs --google-project-id");
		if (!c->google_access_key)
			return cairn_error_set(CAIRN_EINVAL, "--provider google needs --google-hmac-access-key");
		if (!c->google_secret)
			return cairn_error_set(CAIRN_EINVAL, "--provider google needs --google-hmac-secret");
		break;
	default:
		break;
	}
	return 0;
}

/* ---- create ---- */

static int new_uuid(char out[CAIRN_CRED_UUID_LEN + 1])
{
	uint8_t b[16];
	int r = cairn_random(b, sizeof(b));
	if (r < 0)
		return r;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, CAIRN_CRED_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
		 b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* The additional data for the secret in column col of credential uuid,
 * sealed as seal (see the top of this file), from the non-secret fields
 * of c.  *ret is malloc'd, *ret_len bytes without a NUL. */
static int make_aad(const struct cairn_cred *c, const char *uuid, const char *col, int seal, char **ret,
		    size_t *ret_len)
{
	const struct {
		const char *col, *v;
	} bound[] = {
		{ "provider", cairn_cred_provider_name(c->provider) },
		{ "s3_access_key", c->s3_access_key },
		{ "s3_region", c->s3_region },
		{ "s3_endpoint", c->s3_endpoint },
		{ "s3_disable_ssl", c->s3_disable_ssl ? "1" : "0" },
		{ "azure_account", c->azure_account },
		{ "azure_endpoint", c->azure_endpoint },
		{ "azure_disable_ssl", c->azure_disable_ssl ? "1" : "0" },
		{ "google_project_id", c->google_project_id },
		{ "google_access_key", c->google_access_key },
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return cairn_error_nomem();
	fprintf(f, "%s/%s", uuid, col);
	for (size_t i = 0; seal == SEAL_BOUND && i < ARRAY_SIZE(bound); i++) {
		/* Length-prefixed: no value can pass for another field. */
		if (bound[i].v)
			fprintf(f, "\n%s=%zu:%s", bound[i].col, strlen(bound[i].v), bound[i].v);
		else
			fprintf(f, "\n%s=-", bound[i].col);
	}
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return cairn_error_nomem();
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static int count_creds(struct cairn_state *st, int64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "SELECT count(*) FROM credentials", &s);
	if (r < 0)
		return r;
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return cairn_state_sqlite_error(st, rc, "count credentials");
	*ret = sqlite3_column_int64(s, 0);
	return 0;
}

/* The id of the key new secrets are sealed with, creating the key if no
 * credential needs the old one. */
static int key_for_create(struct cairn_state *st, const char **ret)
{
	int r = cairn_state_key_id(st, false, ret);
	if (r != CAIRN_ENOTFOUND)
		return r;
	int64_t n = 0;
	if ((r = count_creds(st, &n)) < 0)
		return r;
	if (n > 0)
		return cairn_error_set(CAIRN_ENOTFOUND,
				       "state key file %s is missing, but %lld stored credential%s were sealed "
				       "with it: restore it (or set CAIRN_STATE_KEY_FILE), or delete them first",
				       cairn_state_key_path(st), (long long)n, n == 1 ? "" : "s");
	return cairn_state_key_id(st, true, ret);
}

/* Inserts c under uuid, its secrets sealed (SEAL_BOUND) under the state key
 * kid, with the given creation time and rowid (0: a new one, so that
 * sealing again keeps the order of 'cred list').  A name in use is
 * CAIRN_EEXIST. */
static int insert_row(struct cairn_state *st, const struct cairn_cred *c, const char *uuid, const char *kid,
		      int64_t created, int64_t rowid)
{
	char sql[1024];
	uint8_t *sealed[NFIELDS] = { 0 };
	size_t sealed_len[NFIELDS] = { 0 };
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	size_t n = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO credentials (rowid, %s) VALUES (?, ?", select_cols());
	for (size_t i = 1; i < NFIXED + NFIELDS; i++)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", ?");
	snprintf(sql + n, sizeof(sql) - n, ")");
	if ((r = cairn_state_prepare(st, sql, &s)) < 0)
		return r;

	int rc;
#define BIND(call)                                   \
	do {                                         \
		if ((rc = (call)) != SQLITE_OK)      \
			goto bind_fail;              \
	} while (0)
	BIND(rowid > 0 ? sqlite3_bind_int64(s, 1, rowid) : sqlite3_bind_null(s, 1));
	BIND(sqlite3_bind_text(s, 2, uuid, -1, SQLITE_TRANSIENT));
	BIND(c->name ? sqlite3_bind_text(s, 3, c->name, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, 3));
	BIND(sqlite3_bind_text(s, 4, cairn_cred_provider_name(c->provider), -1, SQLITE_STATIC));
	BIND(sqlite3_bind_int64(s, 5, created));
	BIND(sqlite3_bind_text(s, 6, kid, -1, SQLITE_TRANSIENT));
	BIND(sqlite3_bind_int(s, 7, c->s3_disable_ssl ? 1 : 0));
	BIND(sqlite3_bind_int(s, 8, c->azure_disable_ssl ? 1 : 0));
	BIND(sqlite3_bind_int(s, 9, SEAL_BOUND));
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];
		const char *v = CFIELD(c, f);
		int col = (int)(NFIXED + i + 2);
		if (!v) {
			BIND(sqlite3_bind_null(s, col));
		} else if (!f->secret) {
			BIND(sqlite3_bind_text(s, col, v, -1, SQLITE_TRANSIENT));
		} else {
			_cleanup_free_ char *aad = NULL;
			size_t alen;
			if ((r = make_aad(c, uuid, f->col, SEAL_BOUND, &aad, &alen)) < 0 ||
			    (r = cairn_state_seal(st, SEAL_LABEL, aad, alen, v, strlen(v), &sealed[i], &sealed_len[i])) < 0)
				goto out;
			BIND(sqlite3_bind_blob(s, col, sealed[i], (int)sealed_len[i], SQLITE_STATIC));
		}
	}
#undef BIND
	rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_UNIQUE && c->name)
		r = cairn_error_set(CAIRN_EEXIST, "a credential named '%s' already exists", c->name);
	else if (rc != SQLITE_DONE)
		r = cairn_state_sqlite_error(st, rc, "store credential");
	else
		r = 0;
	goto out;
bind_fail:
	r = cairn_state_sqlite_error(st, rc, "bind credential");
out:
	/* Bound blobs are SQLITE_STATIC: release the statement first. */
	sqlite3_finalize(s);
	s = NULL;
	for (size_t i = 0; i < NFIELDS; i++)
		free(sealed[i]);
	return r;
}

int cairn_cred_create(struct cairn_state *st, const struct cairn_cred *c, char ret_uuid[CAIRN_CRED_UUID_LEN + 1])
{
	char uuid[CAIRN_CRED_UUID_LEN + 1];
	const char *kid;
	int r;

	if ((r = cairn_cred_validate(c)) < 0)
		return r;
	if ((r = new_uuid(uuid)) < 0)
		return r;
	if ((r = key_for_create(st, &kid)) < 0)
		return r;
	if ((r = insert_row(st, c, uuid, kid, cairn_wall_now(), 0)) < 0)
		return r;
	memcpy(ret_uuid, uuid, sizeof(uuid));
	cairn_log_debug("stored credential %s (%s)", uuid, cairn_cred_provider_name(c->provider));
	return 0;
}

/* ---- reading ---- */

static int dup_col(sqlite3_stmt *s, int col, char **ret)
{
	*ret = NULL;
	const unsigned char *t = sqlite3_column_text(s, col);
	if (!t)
		return 0;
	if (!(*ret = strdup((const char *)t)))
		return cairn_error_nomem();
	return 0;
}

static int unseal_field(struct cairn_state *st, sqlite3_stmt *s, const char *row_kid, int seal, struct cairn_cred *c,
			const struct field *f, int col)
{
	const void *blob = sqlite3_column_blob(s, col);
	size_t len = (size_t)sqlite3_column_bytes(s, col);
	const char *kid;
	_cleanup_free_ char *aad = NULL;
	char *out = NULL;
	size_t alen, n = 0;
	int r;

	if ((r = cairn_state_key_id(st, false, &kid)) < 0) {
		if (r == CAIRN_ENOTFOUND)
			return cairn_error_set(r,
					       "state key file %s is missing: the secrets of credential %s cannot be "
					       "decrypted (restore the file, or set CAIRN_STATE_KEY_FILE)",
					       cairn_state_key_path(st), c->uuid);
		return r;
	}
	if (strcmp(kid, row_kid) != 0)
		return cairn_error_set(CAIRN_EPERM,
				       "credential %s was sealed with state key %s, but %s holds key %s (wrong "
				       "CAIRN_STATE_KEY_FILE, or the key file was replaced)",
				       c->uuid, row_kid, cairn_state_key_path(st), kid);
	if (seal != SEAL_UNBOUND && seal != SEAL_BOUND)
		return cairn_error_set(CAIRN_ECORRUPT,
				       "credential %s: unknown seal %d in the state database %s (altered, or written "
				       "by a newer cairn)",
				       c->uuid, seal, cairn_state_path(st));
	if ((r = make_aad(c, c->uuid, f->col, seal, &aad, &alen)) < 0)
		return r;
	r = cairn_state_unseal(st, SEAL_LABEL, aad, alen, blob, len, &out, &n);
	if (r == CAIRN_ECORRUPT || (r == 0 && strlen(out) != n)) {
		if (r == 0)
			cairn_secret_free(out, n + 1);
		/* Bound: the secret may be intact and the endpoint it is
		 * bound to changed, which is the point of the binding. */
		return cairn_error_set(CAIRN_ECORRUPT,
				       "credential %s: the sealed %s fails authentication (the state database "
				       "%s was altered or damaged%s)",
				       c->uuid, f->opt + 2, cairn_state_path(st),
				       seal == SEAL_BOUND ? ": the secret, or the endpoint, SSL flag or another field it "
							    "is bound to; delete the credential and create it again"
							  : "");
	}
	if (r < 0)
		return r;
	FIELD(c, f) = out;
	return 0;
}

/* Fills c from the row s is on; with secrets, decrypted.  *ret_seal: the
 * row's seal (SEAL_*). */
static int read_row(struct cairn_state *st, sqlite3_stmt *s, bool secrets, struct cairn_cred *c, int *ret_seal)
{
	int r;
	memset(c, 0, sizeof(*c));
	const char *uuid = (const char *)sqlite3_column_text(s, 0);
	const char *prov = (const char *)sqlite3_column_text(s, 2);
	const char *kid = (const char *)sqlite3_column_text(s, 4);
	if (!uuid || strlen(uuid) != CAIRN_CRED_UUID_LEN || !prov || !kid)
		return cairn_error_set(CAIRN_ECORRUPT, "state database %s: a credential row is damaged",
				       cairn_state_path(st));
	memcpy(c->uuid, uuid, CAIRN_CRED_UUID_LEN + 1);
	if (cairn_cred_provider_parse(prov, &c->provider) < 0)
		return cairn_error_set(CAIRN_ECORRUPT, "credential %s: unknown provider in the state database",
				       c->uuid);
	if ((r = dup_col(s, 1, &c->name)) < 0)
		return r;
	c->created = sqlite3_column_int64(s, 3);
	c->s3_disable_ssl = sqlite3_column_int(s, 5) != 0;
	c->azure_disable_ssl = sqlite3_column_int(s, 6) != 0;
	int seal = sqlite3_column_int(s, 7);
	if (ret_seal)
		*ret_seal = seal;
	/* Every non-secret field first: the secrets' additional data is made
	 * of them. */
	for (int pass = 0; pass < (secrets ? 2 : 1); pass++)
		for (size_t i = 0; i < NFIELDS; i++) {
			const struct field *f = &fields[i];
			int col = (int)(NFIXED + i);
			bool set = sqlite3_column_type(s, col) != SQLITE_NULL;
			if (pass == 0 && strcmp(f->col, "azure_key") == 0)
				c->has_azure_key = set;
			else if (pass == 0 && strcmp(f->col, "azure_sas") == 0)
				c->has_azure_sas = set;
			else if (pass == 0 && strcmp(f->col, "passphrase") == 0)
				c->has_passphrase = set;
			if (!set || f->secret != (pass == 1))
				continue;
			r = f->secret ? unseal_field(st, s, kid, seal, c, f, col) : dup_col(s, col, &FIELD(c, f));
			if (r < 0)
				return r;
		}
	return 0;
}

/* Seals the secrets of c, read from a SEAL_UNBOUND row, again as
 * SEAL_BOUND in its place (same UUID, name, creation time and rowid).
 * When another process did it meanwhile, or deleted the credential,
 * nothing changes. */
static int reseal(struct cairn_state *st, const struct cairn_cred *c)
{
	_cleanup_stmt_ sqlite3_stmt *q = NULL, *d = NULL;
	const char *kid;
	int r, rc;

	if ((r = cairn_state_key_id(st, false, &kid)) < 0 || (r = cairn_state_begin(st)) < 0)
		return r;
	if ((r = cairn_state_prepare(st, "SELECT rowid, seal FROM credentials WHERE uuid = ?1", &q)) < 0)
		goto fail;
	sqlite3_bind_text(q, 1, c->uuid, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = cairn_state_sqlite_error(st, rc, "read credential");
		goto fail;
	}
	int64_t rowid = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	bool todo = rc == SQLITE_ROW && sqlite3_column_int(q, 1) == SEAL_UNBOUND;
	sqlite3_reset(q);
	if (!todo) {
		cairn_state_rollback(st);
		return 0;
	}
	/* Credentials are immutable (no UPDATE): the row is replaced. */
	if ((r = cairn_state_prepare(st, "DELETE FROM credentials WHERE uuid = ?1", &d)) < 0)
		goto fail;
	sqlite3_bind_text(d, 1, c->uuid, -1, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(d)) != SQLITE_DONE) {
		r = cairn_state_sqlite_error(st, rc, "replace credential");
		goto fail;
	}
	if ((r = insert_row(st, c, c->uuid, kid, c->created, rowid)) < 0 || (r = cairn_state_commit(st)) < 0)
		goto fail;
	cairn_log_debug("credential %s sealed again, bound to its endpoint", c->uuid);
	return 0;
fail:
	cairn_state_rollback(st);
	return r;
}

int cairn_cred_list(struct cairn_state *st, struct cairn_cred **ret, size_t *ret_n)
{
	char sql[1024];
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct cairn_cred *v = NULL;
	size_t n = 0;
	int r, rc;

	snprintf(sql, sizeof(sql), "SELECT %s FROM credentials ORDER BY rowid", select_cols());
	if ((r = cairn_state_prepare(st, sql, &s)) < 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cairn_cred *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			r = cairn_error_nomem();
			goto fail;
		}
		v = nv;
		r = read_row(st, s, false, &v[n], NULL);
		n++;
		if (r < 0)
			goto fail;
	}
	if (rc != SQLITE_DONE) {
		r = cairn_state_sqlite_error(st, rc, "list credentials");
		goto fail;
	}
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	cairn_cred_list_free(v, n);
	return r;
}

/* A reference in lowercase when it can be (a part of) a UUID. */
static bool uuid_like(const char *ref, char *lower, size_t size)
{
	size_t n = strlen(ref);
	if (n > CAIRN_CRED_UUID_LEN || n + 1 > size || !all_of(ref, HEX "-"))
		return false;
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)tolower((unsigned char)ref[i]);
	return true;
}

int cairn_cred_get(struct cairn_state *st, const char *ref, bool secrets, struct cairn_cred **ret)
{
	char sql[1024], lower[CAIRN_CRED_UUID_LEN + 1] = "";
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	_cleanup_(cairn_cred_freep) struct cairn_cred *c = NULL;
	int r, rc;

	if (!ref || !*ref)
		return cairn_error_set(CAIRN_EINVAL, "empty credential reference");
	bool is_uuidish = uuid_like(ref, lower, sizeof(lower));
	/* Exact UUID, then name, then UUID prefix: rank 0, 1, 2. */
	snprintf(sql, sizeof(sql),
		 "SELECT %s, CASE WHEN uuid = ?1 THEN 0 WHEN name IS ?2 THEN 1 ELSE 2 END AS rank"
		 " FROM credentials WHERE uuid = ?1 OR name IS ?2"
		 " OR (length(?1) >= %d AND substr(uuid, 1, length(?1)) = ?1)"
		 " ORDER BY rank, rowid LIMIT 3",
		 select_cols(), CAIRN_CRED_REF_MIN);
	if ((r = cairn_state_prepare(st, sql, &s)) < 0)
		return r;
	rc = sqlite3_bind_text(s, 1, is_uuidish ? lower : "", -1, SQLITE_TRANSIENT);
	rc |= sqlite3_bind_text(s, 2, ref, -1, SQLITE_TRANSIENT);
	if (rc != SQLITE_OK)
		return cairn_state_sqlite_error(st, rc, "bind");
	int first_rank = -1, matches = 0, seal = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int rank = sqlite3_column_int(s, NFIXED + (int)NFIELDS);
		if (first_rank < 0) {
			first_rank = rank;
			if (!(c = calloc(1, sizeof(*c))))
				return cairn_error_nomem();
			if ((r = read_row(st, s, secrets, c, &seal)) < 0)
				return r;
		}
		if (rank == first_rank)
			matches++;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return cairn_state_sqlite_error(st, rc, "find credential");
	sqlite3_reset(s);
	if (!c) {
		if (is_uuidish && strlen(ref) < CAIRN_CRED_REF_MIN)
			return cairn_error_set(CAIRN_ENOTFOUND,
					       "no credential '%s' (a UUID prefix needs at least %d characters)", ref,
					       CAIRN_CRED_REF_MIN);
		return cairn_error_set(CAIRN_ENOTFOUND, "no credential '%s' (see 'cairn cred list')", ref);
	}
	if (matches > 1)
		return cairn_error_set(CAIRN_EAMBIGUOUS, "credential prefix '%s' matches several credentials: "
							 "give more of the UUID", ref);
	/* Stored before endpoints were bound: bind the one it has now, so
	 * that a later change of it in the database no longer opens.  The
	 * secrets were read; failing to write only delays that. */
	if (secrets && seal == SEAL_UNBOUND && (r = reseal(st, c)) < 0)
		cairn_log_warn("credential %s is not yet bound to its endpoint in the state database (%s); "
			       "trying again next time",
			       c->uuid, cairn_error_message());
	*ret = TAKE_PTR(c);
	return 0;
}

int cairn_cred_delete(struct cairn_state *st, const char *ref, char ret_uuid[CAIRN_CRED_UUID_LEN + 1])
{
	_cleanup_(cairn_cred_freep) struct cairn_cred *c = NULL;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_cred_get(st, ref, false, &c);
	if (r < 0)
		return r;
	/* Credentials cannot be edited, so a policy naming a deleted one could
	 * never run again: refused in the same statement, free of races. */
	if ((r = cairn_state_prepare(st,
				     "DELETE FROM credentials WHERE uuid = ?1"
				     " AND NOT EXISTS (SELECT 1 FROM policies WHERE cred = ?1)",
				     &s)) < 0)
		return r;
	int rc = sqlite3_bind_text(s, 1, c->uuid, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "delete credential");
	if (sqlite3_changes(cairn_state_db(st)) != 1) {
		_cleanup_stmt_ sqlite3_stmt *q = NULL;
		if ((r = cairn_state_prepare(st, "SELECT name, count(*) OVER () FROM policies WHERE cred = ?1 ORDER BY name",
					     &q)) < 0)
			return r;
		sqlite3_bind_text(q, 1, c->uuid, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(q) == SQLITE_ROW) {
			int n = sqlite3_column_int(q, 1);
			return cairn_error_set(CAIRN_EBUSY,
					       "credential %s is used by policy '%s'%s: delete %s first ('cairn policy delete')",
					       c->uuid, (const char *)sqlite3_column_text(q, 0),
					       n > 1 ? " and others" : "", n > 1 ? "them" : "it");
		}
		return cairn_error_set(CAIRN_ENOTFOUND, "credential %s was deleted meanwhile", c->uuid);
	}
	cairn_log_debug("deleted credential %s", c->uuid);
	if (ret_uuid)
		memcpy(ret_uuid, c->uuid, CAIRN_CRED_UUID_LEN + 1);
	return 0;
}

/* ---- using credentials ---- */

enum cairn_cred_provider cairn_cred_uri_provider(const char *uri)
{
	/* The store registry knows which provider serves a scheme. */
	const struct cairn_store_scheme *e = cairn_store_scheme_of(uri);
	enum cairn_cred_provider p = CAIRN_CRED_NONE;
	if (e && e->provider)
		(void)cairn_cred_provider_parse(e->provider, &p);
	return p;
}

/* "s3://" for S3: the scheme of the provider's registry entry. */
static const char *scheme_of(enum cairn_cred_provider p, char *buf, size_t size)
{
	const struct cairn_store_scheme *e = cairn_store_scheme_of_provider(cairn_cred_provider_name(p));
	snprintf(buf, size, "%s://", e ? e->scheme : "");
	return buf;
}

/* The URI itself is never quoted: it may carry parameters a user would
 * not want echoed. */
static int mismatch(const struct cairn_cred *c, enum cairn_cred_provider want)
{
	char scheme[32];
	return cairn_error_set(CAIRN_EINVAL,
			       "credential %s is for %s, but %s repositories need a%s %s credential", c->uuid,
			       cairn_cred_provider_name(c->provider), scheme_of(want, scheme, sizeof(scheme)),
			       want == CAIRN_CRED_GOOGLE ? "" : "n", cairn_cred_provider_name(want));
}

int cairn_cred_resolve(struct cairn_state *st, const char *ref, const char *uri, struct cairn_cred **ret)
{
	enum cairn_cred_provider want = cairn_cred_uri_provider(uri);
	_cleanup_(cairn_cred_freep) struct cairn_cred *c = NULL;
	int r;

	*ret = NULL;
	if (ref && *ref) {
		if (!st)
			return cairn_error_set(CAIRN_ENOTFOUND, "no credential '%s': no credentials are stored", ref);
		if ((r = cairn_cred_get(st, ref, true, &c)) < 0)
			return r;
		if (want != CAIRN_CRED_NONE && c->provider != want)
			return mismatch(c, want);
		*ret = TAKE_PTR(c);
		return 0;
	}
	if (want == CAIRN_CRED_NONE || !st)
		return 0;

	struct cairn_cred *v = NULL;
	size_t n = 0, match = 0, which = 0;
	if ((r = cairn_cred_list(st, &v, &n)) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (v[i].provider == want)
			match++, which = i;
	const char *pname = cairn_cred_provider_name(want);
	if (n == 0)
		r = 0;
	else if (match == 1)
		r = cairn_cred_get(st, v[which].uuid, true, &c);
	else if (match > 1)
		r = cairn_error_set(CAIRN_EAMBIGUOUS,
				    "%zu %s credentials are stored: choose one with --cred UUID (or CAIRN_CRED)", match,
				    pname);
	else if (n == 1)
		r = mismatch(&v[0], want);
	else
		r = cairn_error_set(CAIRN_ENOTFOUND,
				    "none of the %zu stored credentials is for %s: create one with 'cairn cred create "
				    "--provider %s'",
				    n, pname, pname);
	cairn_cred_list_free(v, n);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

/* The account of azure://ACCOUNT/container/prefix, or "" (borrowed into buf). */
static const char *uri_azure_account(const char *uri, char *buf, size_t size)
{
	const char *a = strstr(uri, "://");
	a = a ? a + 3 : uri;
	size_t n = strcspn(a, "/?#");
	if (n >= size)
		n = size - 1;
	memcpy(buf, a, n);
	buf[n] = 0;
	return buf;
}

int cairn_cred_store_opts(const struct cairn_cred *c, const char *uri, struct cairn_store_opts *o)
{
	enum cairn_cred_provider want = cairn_cred_uri_provider(uri);

	/* The transfer limits and the environment stay the caller's; the
	 * rest is the credential's. */
	*o = (struct cairn_store_opts){ .connections = o->connections, .limit_upload = o->limit_upload, .env = o->env };
	if (want == CAIRN_CRED_NONE)
		return 0; /* local: nothing to reach */
	o->provider = cairn_cred_provider_name(want);
	if (!c)
		return 0;
	if (c->provider != want)
		return mismatch(c, want);
	o->cred = c->uuid;
	o->cred_name = c->name;
	switch (cairn_store_scheme_of(uri)->options) {
	case CAIRN_STORE_OPTIONS_S3:
		if (c->provider == CAIRN_CRED_GOOGLE) {
			/* GCS's S3-compatible XML API signs with HMAC keys. */
			o->s3.access_key = c->google_access_key;
			o->s3.secret_key = c->google_secret;
			o->s3.project_id = c->google_project_id;
			break;
		}
		o->s3.access_key = c->s3_access_key;
		o->s3.secret_key = c->s3_secret_key;
		o->s3.region = c->s3_region;
		o->endpoint = c->s3_endpoint;
		o->disable_ssl = c->s3_disable_ssl;
		break;
	case CAIRN_STORE_OPTIONS_AZURE: {
		char acct[64];
		uri_azure_account(uri, acct, sizeof(acct));
		if (*acct && c->azure_account && strcasecmp(acct, c->azure_account) != 0)
			return cairn_error_set(CAIRN_EINVAL,
					       "credential %s is for Azure account '%s', but the repository URI names "
					       "account '%s'",
					       c->uuid, c->azure_account, acct);
		o->azure.account = c->azure_account;
		o->endpoint = c->azure_endpoint;
		o->disable_ssl = c->azure_disable_ssl;
		o->azure.key = c->azure_key;
		o->azure.sas = c->azure_sas;
		break;
	}
	case CAIRN_STORE_OPTIONS_NONE:
		break;
	}
	return 0;
}
