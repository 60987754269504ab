#include "cli/cli.h"
#include "repo/hold.h"
#include "state/seen.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* A hold on the backup itself, or on the group backup it belongs to. */
struct list_args {
	const char *volume;
};
static const struct cli_opt list_opts[] = {
	{ "volume", 0, OPT_STRING, CLI_ARG(struct list_args, volume) },
	{ NULL, 0, 0, NULL, 0 },
};

static int run_list(struct cli_ctx *c)
{
	const struct list_args *a = c->args;
	struct cli_global *g = c->g;
	const char *volume = a->volume;
	struct cairn_repo *repo = TAKE_PTR(c->repo);
	int r;
	struct cairn_manifest_list l;
	struct cairn_hold_list holds = { 0 };
	struct cairn_seen_report vanished;
	r = cairn_app_backups_list_held(cli_app(g), repo, &l, &holds, &vanished);
	cairn_repo_free(repo);
	if (r < 0)
		return cli_fail(r);
	if (g->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < l.n; i++) {
			if (volume && strcmp(l.v[i]->volume, volume) != 0)
				continue;
			json_t *j = cli_manifest_json(l.v[i]);
			const struct cairn_hold *h = cairn_app_backup_hold(&holds, l.v[i]);
			json_object_set_new(j, "held", json_boolean(h != NULL));
			json_object_set_new(j, "hold_reason", h && h->reason ? json_string(h->reason) : json_null());
			json_array_append_new(arr, j);
		}
		cli_print_json(arr);
	} else {
		size_t w = strlen("VOLUME"), nchanged = 0;
		for (size_t i = 0; i < l.n; i++)
			if (strlen(l.v[i]->volume) > w)
				w = strlen(l.v[i]->volume);
		printf("%-*s  %-16s  %-20s  %10s  %10s  %-12s  %s\n", (int)w, "VOLUME", "ID", "CREATED", "SIZE",
		       "NEW DATA", "STATUS", "TAGS");
		for (size_t i = 0; i < l.n; i++) {
			const struct cairn_manifest *m = l.v[i];
			if (volume && strcmp(m->volume, volume) != 0)
				continue;
			char created[32], size[32], nw[32], tags[512] = "";
			cairn_time_format(m->created_us / 1000000, created, sizeof(created));
			cli_human_size(m->size, size, sizeof(size));
			cli_human_size(m->stats.bytes_new, nw, sizeof(nw));
			for (size_t t = 0; t < m->ntags; t++) {
				if (t)
					strncat(tags, ",", sizeof(tags) - strlen(tags) - 1);
				strncat(tags, m->tags[t], sizeof(tags) - strlen(tags) - 1);
			}
			const struct cairn_hold *h = cairn_app_backup_hold(&holds, m);
			const char *status = !h ? "ok" : memcmp(h->backup, m->id, CAIRN_BACKUP_ID_LEN) ? "held (group)" : "held";
			bool changed = m->consistency && strcmp(m->consistency, "changed-during-read") == 0;
			char st[32];
			snprintf(st, sizeof(st), "%s%s", status, changed ? " *" : "");
			nchanged += changed;
			printf("%-*s  %-16.16s  %-20s  %10s  %10s  %-12s  %s\n", (int)w, m->volume, m->idhex, created, size,
			       nw, st, tags);
		}
		if (nchanged)
			printf("* the volume changed while it was read (consistency changed-during-read)\n");
	}
	cli_seen_warn(&vanished);
	/* A hold that does not open still holds: said, not fatal. */
	for (size_t i = 0; i < holds.n; i++)
		if (holds.v[i].damaged)
			cairn_log_warn("%s; it still holds backup %s ('cairn release %s' removes it)", holds.v[i].why,
				       holds.v[i].backup_hex, holds.v[i].backup_hex);
	int rc = EXIT_OK;
	if (l.damaged == 1) {
		fprintf(stderr, "cairn: %s; run 'cairn check'\n", l.bad[0].why);
		rc = EXIT_FAIL;
	} else if (l.damaged > 1) {
		fprintf(stderr, "cairn: %zu backups are damaged (", l.damaged);
		for (size_t i = 0; i < l.damaged; i++)
			fprintf(stderr, "%s%s", i ? ", " : "", l.bad[i].idhex);
		fprintf(stderr, "); run 'cairn check'\n");
		rc = EXIT_FAIL;
	}
	cairn_manifest_list_free(&l);
	cairn_hold_list_free(&holds);
	return rc;
}

const struct cli_cmd cli_cmd_list = {
	.verb = "list", .run = run_list, .opts = list_opts, .args_size = sizeof(struct list_args),
	.pos_max = 0, .needs = CLI_NEEDS_REPO,
};
