#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
	bool json;
	json_t *ranges;
};

static int on_range(uint64_t off, uint64_t len, void *ud)
{
	struct out *o = ud;
	if (o->json)
		json_array_append_new(o->ranges, json_pack("{s:I, s:I}", "offset", (json_int_t)off, "length",
							   (json_int_t)len));
	else
		printf("%llu %llu\n", (unsigned long long)off, (unsigned long long)len);
	return 0;
}

static int run_diff(struct cli_ctx *c)
{
	struct cli_global *g = c->g;
	const struct cli_list pos = c->pos;
	struct cairn_repo *repo = TAKE_PTR(c->repo);
	int r;
	struct cairn_manifest_list l;
	if ((r = cairn_manifest_list_load(repo, &l)) < 0) {
		cairn_repo_free(repo);
		return cli_fail(r);
	}
	struct cairn_manifest *a = NULL, *b = NULL;
	struct out out = { g->json, json_array() };
	uint64_t changed = 0;
	r = cairn_manifest_resolve(&l, pos.v[0], &a);
	if (r >= 0)
		r = cairn_manifest_resolve(&l, pos.v[1], &b);
	if (r >= 0 && strcmp(a->volume, b->volume) != 0)
		cairn_log_warn("comparing backups of different volumes (%s, %s)", a->volume, b->volume);
	if (r >= 0)
		r = cairn_diff_run(repo, a, b, on_range, &out, &changed);
	if (r >= 0 && g->json)
		cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:I, s:O}", "a", a->idhex, "b", b->idhex, "size_a",
					 (json_int_t)a->size, "size_b", (json_int_t)b->size, "changed_bytes",
					 (json_int_t)changed, "ranges", out.ranges));
	else if (r >= 0 && g->verbosity >= 0) {
		char c[32];
		cli_human_size(changed, c, sizeof(c));
		fprintf(stderr, "%s changed between %.12s and %.12s%s\n", c, a->idhex, b->idhex,
			a->size != b->size ? " (the volume size changed too)" : "");
	}
	json_decref(out.ranges);
	cairn_manifest_list_free(&l);
	cairn_repo_free(repo);
	return r < 0 ? cli_fail(r) : EXIT_OK;
}

const struct cli_cmd cli_cmd_diff = {
	.verb = "diff", .run = run_diff, .pos_min = 2, .pos_max = 2, .pos_few = "need two backups A and B",
	.pos_many = "need two backups A and B", .needs = CLI_NEEDS_REPO,
};
