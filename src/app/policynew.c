/* Storing a new policy (policynew.h). */
#include "app/policynew.h"
#include "source/volume.h"
#include "state/cred.h"
#include "state/groups.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cairn_app_policy_create(const struct cairn_app *app, struct cairn_state *st, struct cairn_policy *p,
			    const char *volume, const char *group, const struct cairn_repo_ref *ref)
{
	int r;
	if (!!volume == !!group)
		return cairn_error_set(CAIRN_EINVAL, "give what to protect: a volume or a group (one of them)");
	_cleanup_free_ char *stable = NULL;
	if (volume) {
		struct stat sb;
		/* By the path that survives reboots (not /dev/dm-N). */
		if ((r = cairn_volume_stable_path(volume, &stable)) < 0 || stat(stable, &sb) < 0)
			return r < 0 ? r : cairn_error_errno(errno, "volume %s", volume);
		if (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode))
			return cairn_error_set(CAIRN_EINVAL, "volume %s is neither an image file nor a block device",
					       volume);
		p->kind = CAIRN_POLICY_VOLUME;
		p->source = stable;
	} else {
		struct cairn_group grp;
		if ((r = cairn_group_get(st, group, &grp)) < 0)
			return r;
		cairn_group_clear(&grp);
		p->kind = CAIRN_POLICY_GROUP;
		p->source = (char *)group;
	}
	/* The repository must be there (no passphrase needed to tell); the
	 * credential is stored by UUID: a name may be reused later. */
	_cleanup_(cairn_cred_freep) struct cairn_cred *cred = NULL;
	if ((r = cairn_app_repo_check(app, st, ref, NULL, &cred)) < 0)
		return r;
	p->cred = cred ? cred->uuid : NULL;
	/* A local path as given is relative to the caller's directory, not
	 * the daemon's. */
	char absrepo[PATH_MAX];
	const char *uri = ref->uri;
	if (!strstr(uri, "://") && realpath(uri, absrepo))
		uri = absrepo;
	p->repo = (char *)uri;
	r = cairn_policy_create(st, p);
	p->source = NULL;
	p->repo = NULL;
	p->cred = NULL;
	return r;
}
