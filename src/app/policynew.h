/* Storing a new policy, the same for every front end (`cairn policy
 * create`, the daemon's API): the caller has checked its options' syntax
 * into a struct cairn_policy; this resolves what it protects and where
 * to, against the host and the repository. */
#ifndef CAIRN_APP_POLICYNEW_H
#define CAIRN_APP_POLICYNEW_H

#include "app/app.h"
#include "app/open.h"
#include "state/policies.h"

/* Stores p (name, schedule, keep rules, options already set; p->kind,
 * p->source, p->repo and p->cred are set here and not kept): volume (an
 * image file or block device, stored by the path that survives reboots)
 * or group (a stored group), one of them; the repository of ref must be
 * there (no passphrase needed to tell), its credential is stored by
 * UUID, and a local path is made absolute (relative to the caller's
 * directory, not the daemon's). */
int cairn_app_policy_create(const struct cairn_app *app, struct cairn_state *st, struct cairn_policy *p,
			    const char *volume, const char *group, const struct cairn_repo_ref *ref);

#endif
