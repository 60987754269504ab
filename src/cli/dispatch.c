/* The command dispatcher (cli.h struct cli_cmd): what every command does
 * first and last, done once. */
#include "cli/cli.h"
#include "state/state.h"
#include "util/error.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>

static void help(const struct cli_ctx *c)
{
	const struct cli_cmd *cmd = c->cmd;
	char topic[64];
	if (c->pos.n && cmd->help_pos)
		cli_help(cmd->help_pos);
	else if (c->pos.n && cmd->help_sub && snprintf(topic, sizeof(topic), "%s %s", cmd->verb, c->pos.v[0]) <
							      (int)sizeof(topic))
		cli_help(topic);
	else
		cli_help(cmd->verb);
}

static int open_needs(struct cli_ctx *c)
{
	int r = 0;
	switch (c->cmd->needs) {
	case CLI_NEEDS_NOTHING:
		break;
	case CLI_NEEDS_REPO:
		r = cli_open_repo(c->g, &c->repo);
		break;
	case CLI_NEEDS_STATE:
	case CLI_NEEDS_STATE_READ:
		r = cli_state_open(c->g, c->cmd->needs == CLI_NEEDS_STATE_READ, &c->st);
		break;
	}
	return r < 0 ? cli_fail(r) : 0;
}

static int run(struct cli_ctx *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = c->cmd;
	struct cli_global *g = c->g;
	if (cmd->init)
		cmd->init(c->args);
	int r = cli_parse_args(argc, argv, cmd->opts, c->args, g, &c->pos);
	if (cmd->parsed)
		r = cmd->parsed(c, r);
	if (r)
		return r;
	if (g->help) {
		help(c);
		return EXIT_OK;
	}
	if (cmd->log_journal)
		cairn_log_level = g->verbosity < 0 ? -1 : g->verbosity < 1 ? 1 : g->verbosity;
	else
		cairn_log_level = g->verbosity;
	if (c->pos.n < cmd->pos_min)
		return cli_usage(cmd->verb, "%s", cmd->pos_few);
	if (c->pos.n > cmd->pos_max)
		return cmd->pos_many ? cli_usage(cmd->verb, "%s", cmd->pos_many)
				     : cli_usage(cmd->verb, "unexpected argument '%s'", c->pos.v[cmd->pos_max]);
	if (cmd->check && (r = cmd->check(c)) != 0)
		return r;
	if ((r = open_needs(c)) != 0)
		return r;
	return cmd->run(c);
}

int cli_dispatch(const struct cli_cmd *cmd, int argc, char **argv, struct cli_global *g)
{
	void *args = calloc(1, cmd->args_size ? cmd->args_size : 1);
	if (!args)
		return cli_fail(cairn_error_nomem());
	struct cli_ctx c = { .cmd = cmd, .g = g, .args = args };
	int r = run(&c, argc, argv);
	if (cmd->cleanup)
		cmd->cleanup(&c);
	cairn_repo_free(c.repo);
	cairn_state_free(c.st);
	for (const struct cli_opt *o = cmd->opts; o && o->name; o++)
		if (o->type == OPT_LIST && !o->dest)
			cli_list_freep((struct cli_list *)((char *)args + o->off));
	cli_list_freep(&c.pos);
	free(args);
	return r;
}
