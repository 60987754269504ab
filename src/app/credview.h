/* What every front end may show of a stored credential: its non-secret
 * fields, the same for the CLI's --json and the daemon's API.  Secrets
 * never appear, only whether there is an encryption passphrase. */
#ifndef CAIRN_APP_CREDVIEW_H
#define CAIRN_APP_CREDVIEW_H

#include "state/cred.h"

#include <jansson.h>
#include <stdbool.h>

/* The credential's own endpoint; NULL: the provider's default. */
const char *cairn_app_cred_endpoint(const struct cairn_cred *c);
/* Whether it talks TLS to its endpoint. */
bool cairn_app_cred_ssl(const struct cairn_cred *c);
/* Its access key id (S3, Google HMAC), or NULL. */
const char *cairn_app_cred_access(const struct cairn_cred *c);
/* {uuid, name, provider, created, access_key, region, endpoint, ssl,
 * account, azure_auth, project_id, encryption} (null where a field does
 * not apply); new reference. */
json_t *cairn_app_cred_json(const struct cairn_cred *c);

#endif
