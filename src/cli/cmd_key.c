#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct key_args {
	const char *newfile, *kdf;
	unsigned log2n; /* from kdf */
};
static const struct cli_opt key_opts[] = {
	{ "new-passphrase-file", 0, OPT_STRING, CLI_ARG(struct key_args, newfile) },
	{ "kdf-memory", 0, OPT_STRING, CLI_ARG(struct key_args, kdf) },
	{ NULL, 0, 0, NULL, 0 },
};

static int check_key(struct cli_ctx *c)
{
	struct key_args *a = c->args;
	const char *sub = c->pos.v[0];
	if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "remove"))
		return cli_usage("key", "unknown subcommand '%s'", sub);
	if (strcmp(sub, "remove") == 0 ? c->pos.n != 2 : c->pos.n != 1)
		return cli_usage("key", "wrong number of arguments for 'key %s'", sub);
	if (a->kdf && strcmp(sub, "add") != 0)
		return cli_usage("key", "--kdf-memory applies to 'key add' only");
	if (strcmp(sub, "add") == 0)
		return cli_parse_kdf_memory("key", a->kdf, &a->log2n);
	return 0;
}

static int run_key(struct cli_ctx *c)
{
	const struct key_args *a = c->args;
	struct cli_global *g = c->g;
	const struct cli_list pos = c->pos;
	const char *sub = pos.v[0], *newfile = a->newfile;
	unsigned log2n = a->log2n;
	struct cairn_repo *repo = TAKE_PTR(c->repo);
	int r;
	if (strcmp(sub, "add") == 0) {
		char *pass = NULL, kid[2 * CAIRN_KEY_ID_LEN + 1];
		size_t plen = 0;
		if ((r = cli_new_passphrase(newfile, &pass, &plen)) >= 0) {
			r = cairn_repo_key_add(repo, pass, plen, log2n, kid);
			cli_passphrase_free(pass, plen);
		}
		if (r >= 0) {
			if (g->json)
				cli_print_json(json_pack("{s:s}", "id", kid));
			else
				printf("%s\n", kid);
		}
	} else if (strcmp(sub, "list") == 0) {
		struct cairn_key_info *keys = NULL;
		size_t n = 0;
		if ((r = cairn_repo_key_list(repo, &keys, &n)) >= 0) {
			json_t *arr = g->json ? json_array() : NULL;
			if (!g->json)
				printf("%-16s  %-20s  %-10s  %s\n", "ID", "CREATED", "KDF-MEMORY", "CURRENT");
			for (size_t i = 0; i < n; i++) {
				char created[32], mem[32];
				cairn_time_format(keys[i].created, created, sizeof(created));
				uint64_t m = cairn_kdf_memory(keys[i].log2n, keys[i].r);
				cli_human_size(m, mem, sizeof(mem));
				if (arr)
					json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:i, s:i, s:i, s:I}", "id",
									     keys[i].kid, "created", created, "current",
									     keys[i].current, "scrypt_log2n",
									     (int)keys[i].log2n, "scrypt_r", (int)keys[i].r,
									     "scrypt_p", (int)keys[i].p, "kdf_memory",
									     (json_int_t)m));
				else
					printf("%-16s  %-20s  %-10s  %s\n", keys[i].kid, created, mem,
					       keys[i].current ? "*" : "");
			}
			if (arr)
				cli_print_json(arr);
			free(keys);
		}
	} else {
		struct cairn_key_info *keys = NULL;
		size_t n = 0;
		/* An object that is no key (one open skips) goes whatever the
		 * number of keys. */
		bool is_key = false;
		if ((r = cairn_repo_key_list(repo, &keys, &n)) >= 0)
			for (size_t i = 0; i < n; i++)
				is_key |= strcmp(keys[i].kid, pos.v[1]) == 0;
		if (r >= 0 && is_key && n <= 1)
			r = cairn_error_set(CAIRN_EBUSY, "refusing to remove the last key of the repository");
		free(keys);
		char kid[2 * CAIRN_KEY_ID_LEN + 2];
		cli_lower_id(pos.v[1], kid, sizeof(kid));
		if (r >= 0)
			r = cairn_repo_key_remove(repo, kid);
		if (r >= 0 && g->verbosity >= 0)
			fprintf(stderr, "removed key %s\n", pos.v[1]);
	}
	cairn_repo_free(repo);
	return r < 0 ? cli_fail(r) : EXIT_OK;
}

const struct cli_cmd cli_cmd_key = {
	.verb = "key", .run = run_key, .opts = key_opts, .args_size = sizeof(struct key_args), .pos_min = 1,
	.pos_max = CLI_POS_ANY, .pos_few = "missing subcommand: add, list or remove", .check = check_key,
	.needs = CLI_NEEDS_REPO,
};
