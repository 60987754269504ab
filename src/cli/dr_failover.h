/* cairn dr failover | failback (dr_failover.c), called by cmd_dr.c. */
#ifndef CAIRN_CLI_DR_FAILOVER_H
#define CAIRN_CLI_DR_FAILOVER_H

#include "cli/cli.h"

int cli_dr_failover(struct cli_ctx *c, const char *policy, const char *standby, const char *at);
int cli_dr_failback(struct cli_ctx *c, const char *policy, const char *to, const char *to_cred, const char *target);

#endif
