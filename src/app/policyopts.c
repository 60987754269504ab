/* What a policy means to the use cases that run it (policyopts.h). */
#include "app/policyopts.h"
#include "app/open.h"
#include "source/volume.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"

#include <stdlib.h>
#include <string.h>

void cairn_app_policy_repo_ref(const struct cairn_policy *p, unsigned connections, uint64_t limit_upload,
			       struct cairn_repo_ref *ret)
{
	*ret = (struct cairn_repo_ref){ .uri = p->repo, .cred = p->cred, .cred_pass_first = true,
					.connections = connections, .limit_upload = limit_upload };
}

int cairn_app_policy_rules(const struct cairn_policy *p, struct cairn_keep_rules *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->last = p->keep_last;
	ret->hourly = p->keep_hourly;
	ret->daily = p->keep_daily;
	ret->weekly = p->keep_weekly;
	ret->monthly = p->keep_monthly;
	ret->yearly = p->keep_yearly;
	if (p->keep_within)
		return cairn_keep_within_parse(p->keep_within, &ret->within);
	return 0;
}

int cairn_app_policy_volume_name(const struct cairn_policy *p, char **ret)
{
	if (p->volume_name)
		return (*ret = strdup(p->volume_name)) ? 0 : cairn_error_nomem();
	/* As a backup names it (a device-mapper device by its stable name);
	 * a source that is gone by what was stored. */
	_cleanup_free_ char *stable = NULL;
	if (cairn_volume_stable_path(p->source, &stable) < 0)
		cairn_error_clear();
	return (*ret = strdup(cairn_path_base(stable ? stable : p->source))) ? 0 : cairn_error_nomem();
}

int cairn_app_policy_forget_opts(const struct cairn_policy *p, const char *volume, struct cairn_forget_opts *fo,
				 char **ret_volume)
{
	*ret_volume = NULL;
	int r;
	if (cairn_keep_rules_empty(&fo->rules) && (r = cairn_app_policy_rules(p, &fo->rules)) < 0)
		return r;
	if (p->kind == CAIRN_POLICY_GROUP) {
		fo->group = p->source;
	} else {
		if (!volume && (r = cairn_app_policy_volume_name(p, ret_volume)) < 0)
			return r;
		fo->volume = volume ? volume : *ret_volume;
	}
	/* Its own backups, unless its scope is the volume. */
	fo->policy = p->name;
	fo->policy_id = p->scope == CAIRN_SCOPE_POLICY ? p->id : NULL;
	return 0;
}

