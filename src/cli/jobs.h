/* Jobs from the command line: the app's job rows (app/job.h) and policy
 * runs (app/policy.h). */
#ifndef CAIRN_CLI_JOBS_H
#define CAIRN_CLI_JOBS_H

#include "app/job.h"
#include "app/policy.h"
#include "cli/cli.h"
#include "state/jobs.h"
#include "state/policies.h"

/* The --keep-* options of policy create and forget. */
struct keep_args {
	const char *last, *hourly, *daily, *weekly, *monthly, *yearly, *within;
};
/* Parses them into *ret; 0, or the usage error's exit status after
 * printing it. */
int cli_keep_parse(const char *verb, const struct keep_args *a, struct cairn_keep_rules *ret);

#endif
