/* What a policy (state/policies.h) means to the use cases that run it: its
 * repository's reference, its keep rules, the name its volume backups go
 * by and the forget options of its retention.  Apart from app/policy.h so
 * that replication (app/replicate.h), which policy runs call, can use them
 * too. */
#ifndef CAIRN_APP_POLICYOPTS_H
#define CAIRN_APP_POLICYOPTS_H

#include "engine/engine.h"
#include "engine/retention.h"
#include "state/policies.h"

#include <stdint.h>

/* How the series rule's refusal tells a policy's user to name its volume. */
#define CAIRN_APP_POLICY_NAME_OPTION "'cairn policy create --name'"

struct cairn_repo_ref;
/* The reference of p's repository: its URI, its credential, whose
 * encryption passphrase comes first (else the app's passphrase sources). */
void cairn_app_policy_repo_ref(const struct cairn_policy *p, unsigned connections, uint64_t limit_upload,
			       struct cairn_repo_ref *ret);

/* The keep rules of a policy (CAIRN_EINVAL for a damaged keep_within). */
int cairn_app_policy_rules(const struct cairn_policy *p, struct cairn_keep_rules *ret);

/* The volume name a volume policy's backups go by (malloc'd): its
 * volume_name, else the default name of its source. */
int cairn_app_policy_volume_name(const struct cairn_policy *p, char **ret);

/* The forget options of p's retention: its keep rules unless fo has some,
 * its group or volume (volume: the name its backups carry; NULL: p's,
 * then *ret_volume holds it, owned), and with scope policy only the
 * backups it made. */
int cairn_app_policy_forget_opts(const struct cairn_policy *p, const char *volume, struct cairn_forget_opts *fo,
				 char **ret_volume);

#endif
