/* Export details and import (docs/design.md §13, Kasten's "export
 * details" and "import policy"): what a DR host needs to know about a
 * repository to use it, as a token (drtoken.h), and registering it there
 * (state/repos.h) with the groups and paused policies that protect it. */
#ifndef CAIRN_APP_DREXPORT_H
#define CAIRN_APP_DREXPORT_H

#include "app/app.h"
#include "repo/repo.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct cairn_dr_export_opts {
	const char *uri;    /* the repository's URI as given (made public here) */
	const char *volume; /* only this volume (NULL: all) */
	const char *group;  /* only this group and its members (NULL: all) */
	bool with_policies; /* group definitions and policies from st */
};

/* The export document of an open repository.  st may be NULL (then no
 * definitions).  CAIRN_ENOTFOUND when --volume/--group names nothing the
 * repository holds. */
int cairn_app_dr_export(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
			const struct cairn_dr_export_opts *o, json_t **ret);

struct cairn_dr_import_opts {
	const char *cred;  /* --cred REF, NULL: the one that applies */
	const char *name;  /* the alias (NULL: "repo-" and 8 hex digits of its id) */
	int64_t every;     /* --every: seconds between re-reads; 0: none (-1: leave as it is) */
};

/* Checks that the repository doc names is the one exported (id and
 * fingerprint), registers it, its groups and its policies (paused), and
 * reads its newest restore points.  *ret (owned) is
 * {"name", "uri", "changed": bool, "actions": ["registered repository ...", ...]}. */
int cairn_app_dr_import(const struct cairn_app *app, struct cairn_state *st, const json_t *doc, const char *sum,
			const struct cairn_dr_import_opts *o, json_t **ret);

/* Re-reads a registered repository's restore points as a job of kind
 * "import" (job: a row the daemon made, 0: make one), logging a line per
 * backup that arrived since the last read.  *ret_new (may be NULL) counts
 * them. */
int cairn_app_dr_sync(const struct cairn_app *app, struct cairn_state *st, const char *name, int64_t job,
		      uint64_t *ret_new);

/* The URI and credential of a registered repository named ref (*ret_uri,
 * *ret_cred owned, cred may be NULL); with ref NULL, of the only one
 * registered.  0 and NULLs when there is none (or no state database, or
 * more than one for NULL). */
int cairn_app_repo_alias(const struct cairn_app *app, const char *ref, char **ret_uri, char **ret_cred);

#endif
