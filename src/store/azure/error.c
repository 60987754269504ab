/* Failed replies -> CAIRN_E* codes and one clear line.
 *
 * The service names its error in the x-ms-error-code header (HEAD replies
 * have nothing else) and in the <Code> of the error body.  The code decides
 * where it is known, the HTTP status otherwise.  Authentication failures
 * are explained by what we sent: with the account key, the key is wrong;
 * with a SAS token, the token expired (told by its own se= time, or by the
 * service's AuthenticationErrorDetail) or is invalid.  Azure says
 * AuthenticationFailed for both; Azurite says AuthorizationFailure.
 * Messages name the operation, the object or container, the account and
 * the cause, never the key, the token or a signature.
 */
#include "store/azure/azure.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is(const char *code, const char *want)
{
	return !strcmp(code, want);
}

static bool contains(const char *s, const char *what)
{
	return s && strcasestr(s, what) != NULL;
}

static int auth_failed(const struct cairn_azure_config *cfg, const char *code, const struct cairn_azure_error *e,
		       time_t now)
{
	const char *ep = cfg->endpoint;
	if (cfg->auth == CAIRN_AZURE_AUTH_KEY) {
		/* "Request date header too old": x-ms-date is signed, and the
		 * service allows 15 minutes of skew. */
		if (e && contains(e->detail, "date header"))
			return cairn_error_set(CAIRN_EAUTH,
					       "%s rejected the request time: this host's clock is off by more than "
					       "15 minutes (%s)",
					       ep, code);
		if (is(code, "AuthorizationFailure"))
			return cairn_error_set(CAIRN_EAUTH,
					       "%s denied the request: the account key for account '%s' (from %s) is "
					       "wrong, or the account's network rules refuse this host (%s)",
					       ep, cfg->account, cfg->auth_source, code);
		return cairn_error_set(CAIRN_EAUTH,
				       "%s rejected the request signature: the account key for account '%s' (from %s) "
				       "is wrong (%s)",
				       ep, cfg->account, cfg->auth_source, code);
	}
	int64_t se = cfg->sas_expiry[0] ? cairn_azure_parse_time(cfg->sas_expiry) : -1;
	int64_t st = cfg->sas_start[0] ? cairn_azure_parse_time(cfg->sas_start) : -1;
	const char *why = e ? e->detail : NULL;
	if (se >= 0 && se <= (int64_t)now)
		return cairn_error_set(CAIRN_EAUTH, "%s rejected the SAS token (from %s): it expired at %s (%s)", ep,
				       cfg->auth_source, cfg->sas_expiry, code);
	if (st >= 0 && st > (int64_t)now)
		return cairn_error_set(CAIRN_EAUTH,
				       "%s rejected the SAS token (from %s): it is not valid before %s; is this "
				       "host's clock right? (%s)",
				       ep, cfg->auth_source, cfg->sas_start, code);
	if (contains(why, "expire") || contains(why, "time frame"))
		return cairn_error_set(CAIRN_EAUTH,
				       "%s rejected the SAS token (from %s): it is expired or not yet valid (%s)", ep,
				       cfg->auth_source, code);
	return cairn_error_set(CAIRN_EAUTH,
			       "%s rejected the SAS token (from %s): it is invalid (its signature does not match "
			       "account '%s', or it does not cover container %s) (%s)",
			       ep, cfg->auth_source, cfg->account, cfg->container, code);
}

int cairn_azure_error_map(const struct cairn_azure_config *cfg, const char *uri, const char *op, const char *key,
			  long status, unsigned attempts, const char *code, const struct cairn_azure_error *e,
			  time_t now)
{
	const char *msg = e ? e->message : "";
	const char *ep = cfg->endpoint;
	struct cairn_httpstore_what w;

	if (!code)
		code = "";
	cairn_httpstore_what(&w, key, "container", cfg->container, code, msg, attempts);
	const char *obj = w.obj, *det = w.det;

	/* Credentials: whatever the status. */
	if (is(code, "AuthenticationFailed") ||
	    (is(code, "AuthorizationFailure") && (status == 403 || status == 401)))
		return auth_failed(cfg, code, e, now);
	if (is(code, "InvalidAuthenticationInfo") || is(code, "NoAuthenticationInformation"))
		return cairn_error_set(CAIRN_EAUTH, "%s refused the request's authentication (%s)", ep, code);
	if (!strncmp(code, "Authorization", 13)) {
		/* PermissionMismatch, ResourceTypeMismatch, ServiceMismatch,
		 * ProtocolMismatch, SourceIPMismatch: the credential is good
		 * but does not allow this. */
		if (cfg->auth == CAIRN_AZURE_AUTH_SAS)
			return cairn_error_set(CAIRN_EPERM, "%s: the SAS token (from %s) does not permit %s of %s (%s)",
					       ep, cfg->auth_source, op, obj, code);
		return cairn_error_set(CAIRN_EPERM, "%s denied %s of %s in %s (%s)", ep, op, obj, uri, code);
	}
	if (is(code, "AccountIsDisabled"))
		return cairn_error_set(CAIRN_EPERM, "storage account '%s' is disabled (%s)", cfg->account, code);
	if (is(code, "ContainerNotFound") || is(code, "ContainerBeingDeleted") ||
	    (status == 404 && !key && !*code))
		return cairn_error_set(CAIRN_ENOTREPO,
				       "container %s does not exist in account %s at %s ('cairn init' creates it)",
				       cfg->container, cfg->account, ep);
	if (is(code, "ResourceNotFound") && !key)
		return cairn_error_set(CAIRN_ENOTREPO, "account %s or container %s does not exist at %s",
				       cfg->account, cfg->container, ep);
	if (is(code, "BlobAlreadyExists") || is(code, "ConditionNotMet") || status == 412)
		return cairn_error_set(CAIRN_EEXIST, "%s already exists in %s", obj, uri);
	if (is(code, "InvalidResourceName") || is(code, "InvalidUri") || is(code, "OutOfRangeInput"))
		return cairn_error_set(CAIRN_EINVAL, "%s refused the name of %s%s", ep, obj, det);
	if (is(code, "InvalidBlockList") || is(code, "InvalidBlockId"))
		return cairn_error_set(CAIRN_EIO, "%s of %s in %s: the service refused the block list%s", op, obj,
				       uri, det);

	switch (status) {
	case 403:
		return cairn_error_set(CAIRN_EPERM, "%s denied %s of %s in %s%s", ep, op, obj, uri,
				       *det ? det : " (403 Forbidden)");
	case 401:
		return cairn_error_set(CAIRN_EAUTH, "%s refused the request's authentication%s", ep, det);
	case 409:
		return cairn_error_set(CAIRN_EIO, "%s of %s in %s: conflict%s", op, obj, uri, det);
	}
	return cairn_httpstore_status_error(ep, uri, op, status, &w);
}

const char *cairn_azure_reply_code(const struct cairn_http_response *rs, char *buf, size_t size)
{
	const char *h = rs->headers[AZ_H_CODE];
	if (h && *h) {
		snprintf(buf, size, "%s", h);
		return buf;
	}
	struct cairn_azure_error e;
	if (rs->err_body.len && cairn_azure_parse_error(rs->err_body.data, rs->err_body.len, &e) == 0) {
		snprintf(buf, size, "%s", e.code);
		return buf;
	}
	buf[0] = 0;
	return buf;
}

bool cairn_azure_reply_exists(const struct cairn_http_response *rs)
{
	char code[64];
	if (rs->status != 409 && rs->status != 412)
		return false;
	cairn_azure_reply_code(rs, code, sizeof(code));
	return !strcmp(code, "BlobAlreadyExists") || !strcmp(code, "ConditionNotMet") || rs->status == 412;
}

int cairn_azure_fail(struct azure_store *s, const char *op, const char *key, const struct cairn_http_response *rs)
{
	struct cairn_azure_error e;
	char code[64];
	bool parsed = rs->err_body.len && cairn_azure_parse_error(rs->err_body.data, rs->err_body.len, &e) == 0;
	cairn_azure_reply_code(rs, code, sizeof(code));
	/* Codes are ASCII words; anything else is not quoted. */
	for (char *p = code; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
			code[0] = 0;
			break;
		}
	return cairn_azure_error_map(&s->cfg, s->base.uri, op, key, rs->status, rs->attempts, code,
				     parsed ? &e : NULL, time(NULL));
}
