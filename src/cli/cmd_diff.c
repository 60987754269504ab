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

int cmd_diff(int argc, char **argv, struct cli_global *g)
{
	_cleanup_(cli_list_freep) struct cli_list pos = { 0 };
	int r = cli_parse(argc, argv, NULL, g, &pos);
	if (r)
		return r;
	if (g->help) {
		cli_help("diff");
		return EXIT_OK;
	}
	cairn_log_level = g->verbosity;
	if (pos.n != 2)
		return cli_usage("diff", "need two backups A and B");
	struct cairn_repo *repo = NULL;
	if ((r = cli_open_repo(g, &repo)) < 0)
		return cli_fail(r);
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
