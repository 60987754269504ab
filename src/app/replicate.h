/* Replication in policies (`policy create --copy-to`): a policy's new
 * restore points copied to a second repository (app/copy.h), after each
 * backup or every copy_every seconds, then the destination's own keep
 * rules applied there ("keep 7 days here, 90 days off-site").  A failed
 * copy is a failed job of kind copy; it never fails the backup, and the
 * next copy sends what this one did not. */
#ifndef CAIRN_APP_REPLICATE_H
#define CAIRN_APP_REPLICATE_H

#include "app/app.h"
#include "app/copy.h"
#include "engine/retention.h"
#include "state/policies.h"

/* The destination's keep rules as stored (policies.h copy_keep:
 * "last=7,daily=30,within=90d"); all unset for NULL.  CAIRN_EINVAL with a
 * message for anything else. */
int cairn_app_copy_keep_parse(const char *text, struct cairn_keep_rules *ret);
/* The stored text of rules (size >= 160); "" when they are empty. */
void cairn_app_copy_keep_format(const struct cairn_keep_rules *rules, char *buf, size_t size);

/* The reference of p's replication target: copy_to with copy_cred, whose
 * encryption passphrase comes first; else pass (CAIRN_TO_PASSPHRASE and
 * the like) when it names a source; else the app's (the passphrase of
 * the policy's own repository). */
void cairn_app_policy_copy_ref(const struct cairn_policy *p, const struct cairn_pass_source *pass,
			       unsigned connections, struct cairn_repo_ref *ret);

struct cairn_app_replicate {
	const struct cairn_pass_source *to_pass; /* may be NULL */
	unsigned connections;
	bool daemon_child;
	const struct cairn_app_progress *progress; /* may be NULL */
};

/* Copies the restore points of p's volume or group that p->copy_to lacks
 * (src: p's repository, open; NULL: opened here), as a copy job naming p,
 * then forgets there what p's copy keep rules do not keep (a forget job),
 * and records the start in p's last_copy. */
int cairn_app_policy_replicate(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *src,
			       const struct cairn_policy *p, const struct cairn_app_replicate *o,
			       struct cairn_app_copy_result *ret);

#endif
