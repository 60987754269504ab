#include "util/env.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

extern char **environ;

const char *const cairn_env_secrets[] = {
	/* Repository passphrases (cli/passphrase.c). */
	"CAIRN_PASSPHRASE",
	"CAIRN_NEW_PASSPHRASE",
	"CAIRN_FROM_PASSPHRASE", /* init --copy-keys-from: the source's */
	"CAIRN_TO_PASSPHRASE",   /* copy: the destination's */
	/* What 'cred create' stores (cli/cmd_cred.c). */
	"CAIRN_ENCRYPTION_PASSPHRASE",
	"CAIRN_S3_SECRET_KEY",
	"CAIRN_AZURE_ACCOUNT_KEY",
	"CAIRN_AZURE_SAS",
	"CAIRN_GOOGLE_HMAC_SECRET",
	/* Object-store keys the drivers read (store/s3, store/azure).  The
	 * access key ids go too: half a key pair is of no use to a child. */
	"AWS_ACCESS_KEY_ID",
	"AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN",
	"AZURE_STORAGE_KEY",
	"AZURE_STORAGE_SAS_TOKEN",
	"GOOGLE_HMAC_ACCESS_KEY",
	"GOOGLE_HMAC_SECRET",
	NULL,
};

static size_t name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');
	return eq ? (size_t)(eq - entry) : strlen(entry);
}

static bool same_name(const char *entry, const char *other)
{
	size_t n = name_len(entry);
	return n == name_len(other) && memcmp(entry, other, n) == 0;
}

bool cairn_env_is_secret(const char *entry)
{
	for (size_t i = 0; cairn_env_secrets[i]; i++)
		if (same_name(entry, cairn_env_secrets[i]))
			return true;
	return false;
}

int cairn_env_for_child(const char *const *extra, char ***ret)
{
	size_t ne = 0, nx = 0;
	while (environ && environ[ne])
		ne++;
	while (extra && extra[nx])
		nx++;
	char **v = calloc(ne + nx + 1, sizeof(char *));
	if (!v)
		return cairn_error_nomem();
	size_t n = 0;
	for (size_t i = 0; i < nx; i++)
		v[n++] = (char *)extra[i];
	for (size_t i = 0; i < ne; i++) {
		bool drop = cairn_env_is_secret(environ[i]);
		for (size_t k = 0; k < nx && !drop; k++)
			drop = same_name(environ[i], extra[k]);
		if (!drop)
			v[n++] = environ[i];
	}
	*ret = v;
	return 0;
}
