/* cairn token create|list|revoke: bearer tokens of the daemon's HTTP API
 * on its TCP address (state/tokens.h). */
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "state/tokens.h"
#include "util/error.h"
#include "util/time.h"

#include <stdio.h>
#include <string.h>

static const char text[] =
	"usage: cairn token create NAME [--read-only] [--json]\n"
	"       cairn token list [--json]\n"
	"       cairn token revoke NAME\n"
	"\n"
	"Tokens let clients use the daemon's HTTP API on its TCP address ('cairn\n"
	"daemon --listen HOST:PORT'; docs/api.md) with the header\n"
	"'Authorization: Bearer TOKEN'.  The Unix socket (STATE_DIR/cairn.sock,\n"
	"mode 0600) needs none: whoever may open it is trusted.\n"
	"\n"
	"  create   makes a token called NAME and prints it on stdout, once: only\n"
	"           its SHA-256 is stored, so it cannot be shown again (revoke it\n"
	"           and make another).  --read-only: GET requests only; anything\n"
	"           that changes something answers 403.  --json: {name, token,\n"
	"           read_only}\n"
	"  list     NAME MODE CREATED LAST-USED (--json: [{name, read_only,\n"
	"           created, last_used}]); never the tokens\n"
	"  revoke   deletes the token: the next request that presents it gets 401\n";

bool cli_help_token(const char *verb)
{
	size_t len = strcspn(verb, " ");
	if (len != 5 || strncmp(verb, "token", 5) != 0)
		return false;
	fputs(text, stdout);
	fputs("\nGlobal options: see 'cairn --help'.\n", stdout);
	return true;
}

struct token_args {
	bool read_only;
};
static const struct cli_opt token_opts[] = {
	{ "read-only", 0, OPT_FLAG, CLI_ARG(struct token_args, read_only) },
	{ NULL, 0, 0, NULL, 0 },
};

static int check_token(struct cli_ctx *c)
{
	const char *sub = c->pos.v[0];
	const struct token_args *a = c->args;
	bool named = !strcmp(sub, "create") || !strcmp(sub, "revoke");
	if (!named && strcmp(sub, "list") != 0)
		return cli_usage("token", "unknown subcommand '%s' (create, list or revoke)", sub);
	if (named && c->pos.n != 2)
		return cli_usage("token", "give the token's NAME: cairn token %s NAME", sub);
	if (!named && c->pos.n != 1)
		return cli_usage("token", "token list takes no NAME");
	if (a->read_only && strcmp(sub, "create") != 0)
		return cli_usage("token", "--read-only goes with token create");
	return 0;
}

static void when(int64_t t, char *buf, size_t size)
{
	if (t)
		cairn_time_format(t, buf, size);
	else
		snprintf(buf, size, "never");
}

static int run_token(struct cli_ctx *c)
{
	const struct token_args *a = c->args;
	struct cli_global *g = c->g;
	const char *sub = c->pos.v[0], *name = c->pos.n > 1 ? c->pos.v[1] : NULL;
	int r;
	if (!strcmp(sub, "create")) {
		char tok[CAIRN_TOKEN_LEN + 1];
		if ((r = cairn_token_create(c->st, name, a->read_only, tok)) < 0)
			return cli_fail(r);
		if (g->json)
			cli_print_json(json_pack("{s:s, s:s, s:b}", "name", name, "token", tok, "read_only", a->read_only));
		else
			printf("%s\n", tok);
		cairn_wipe(tok, sizeof(tok));
		if (g->verbosity >= 0 && !g->json)
			fprintf(stderr, "created %stoken %s; it is shown this once (only its hash is stored)\n",
				a->read_only ? "read-only " : "", name);
		return EXIT_OK;
	}
	if (!strcmp(sub, "revoke")) {
		if ((r = cairn_token_revoke(c->st, name)) < 0)
			return cli_fail(r);
		if (g->verbosity >= 0)
			fprintf(stderr, "revoked token %s\n", name);
		return EXIT_OK;
	}
	struct cairn_token *v = NULL;
	size_t n = 0;
	if ((r = cairn_token_list(c->st, &v, &n)) < 0)
		return cli_fail(r);
	json_t *arr = g->json ? json_array() : NULL;
	if (!g->json && n)
		printf("%-24s %-10s %-25s %s\n", "NAME", "MODE", "CREATED", "LAST-USED");
	for (size_t i = 0; i < n; i++) {
		char cr[32], lu[32];
		when(v[i].created, cr, sizeof(cr));
		when(v[i].last_used, lu, sizeof(lu));
		if (arr)
			json_array_append_new(arr, json_pack("{s:s, s:b, s:s, s:o}", "name", v[i].name, "read_only",
							     v[i].read_only, "created", cr, "last_used",
							     v[i].last_used ? json_string(lu) : json_null()));
		else
			printf("%-24s %-10s %-25s %s\n", v[i].name, v[i].read_only ? "read-only" : "read-write", cr, lu);
	}
	cairn_tokens_free(v, n);
	if (arr)
		cli_print_json(arr);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_token = {
	.verb = "token", .run = run_token, .opts = token_opts, .args_size = sizeof(struct token_args),
	.pos_min = 1, .pos_max = 2, .pos_few = "missing subcommand: create, list or revoke",
	.needs = CLI_NEEDS_STATE, .check = check_token, .help_sub = true,
};
