/* What may be shown of a credential (credview.h). */
#include "app/credview.h"
#include "util/time.h"

#include <string.h>
#include <strings.h>

/* The credential's own endpoint; NULL: the provider's default. */
const char *cairn_app_cred_endpoint(const struct cairn_cred *c)
{
	return c->provider == CAIRN_CRED_S3 ? c->s3_endpoint : c->provider == CAIRN_CRED_AZURE ? c->azure_endpoint : NULL;
}

bool cairn_app_cred_ssl(const struct cairn_cred *c)
{
	const char *ep = cairn_app_cred_endpoint(c);
	bool off = c->provider == CAIRN_CRED_S3 ? c->s3_disable_ssl : c->azure_disable_ssl;
	return !off && !(ep && strncasecmp(ep, "http://", 7) == 0);
}

const char *cairn_app_cred_access(const struct cairn_cred *c)
{
	return c->provider == CAIRN_CRED_S3 ? c->s3_access_key
	       : c->provider == CAIRN_CRED_GOOGLE ? c->google_access_key
						  : NULL;
}

/* Non-secret fields only; the same keys for every provider (null where a
 * field does not apply). */
json_t *cairn_app_cred_json(const struct cairn_cred *c)
{
	char created[32];
	cairn_time_format(c->created, created, sizeof(created));
	const char *auth = c->provider != CAIRN_CRED_AZURE ? NULL : c->has_azure_sas ? "sas" : "key";
	return json_pack("{s:s, s:s?, s:s, s:s, s:s?, s:s?, s:s?, s:b, s:s?, s:s?, s:s?, s:b}", "uuid", c->uuid,
			 "name", c->name, "provider", cairn_cred_provider_name(c->provider), "created", created,
			 "access_key", cairn_app_cred_access(c), "region", c->s3_region, "endpoint", cairn_app_cred_endpoint(c), "ssl",
			 cairn_app_cred_ssl(c), "account", c->azure_account, "azure_auth", auth, "project_id",
			 c->google_project_id, "encryption", c->has_passphrase);
}
