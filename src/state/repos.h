/* Registered repositories (docs/design.md §13): repositories another host
 * exported (`cairn export-details`) and this one imported (`cairn import`),
 * remembered by alias with their URI, id, key fingerprint and credential,
 * so that commands name them instead of retyping them, and re-read on a
 * schedule (`import --every`).  Table repositories (state.h). */
#ifndef CAIRN_STATE_REPOS_H
#define CAIRN_STATE_REPOS_H

#include "state/state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cairn_repo_reg {
	char *name;
	char *uri;
	char *repo_id;     /* 32 hex digits */
	char *fingerprint; /* 32 hex digits */
	char *cred;        /* a credential's UUID or name, or NULL */
	int64_t imported;  /* unix seconds */
	int64_t newest;    /* unix microseconds of the newest backup read; 0 none */
	uint64_t backups;  /* backups and group backups read then */
	int64_t every;     /* seconds between re-reads; 0 none */
	int64_t last_import; /* unix seconds; 0 never */
	char *token_sum;
};

void cairn_repo_reg_clear(struct cairn_repo_reg *r);
void cairn_repo_regs_free(struct cairn_repo_reg *v, size_t n);

/* CAIRN_EEXIST when the name or the URI is taken. */
int cairn_repo_reg_add(struct cairn_state *st, const struct cairn_repo_reg *r);
/* CAIRN_ENOTFOUND with "no registered repository named ..." */
int cairn_repo_reg_get(struct cairn_state *st, const char *name, struct cairn_repo_reg *ret);
/* By URI; CAIRN_ENOTFOUND quietly (no message) when none. */
int cairn_repo_reg_by_uri(struct cairn_state *st, const char *uri, struct cairn_repo_reg *ret);
int cairn_repo_reg_list(struct cairn_state *st, struct cairn_repo_reg **ret, size_t *ret_n);
int cairn_repo_reg_delete(struct cairn_state *st, const char *name);
/* What a re-read found. */
int cairn_repo_reg_set_seen(struct cairn_state *st, const char *name, int64_t newest, uint64_t backups);
int cairn_repo_reg_set_last_import(struct cairn_state *st, const char *name, int64_t t);
/* every 0: no schedule. */
int cairn_repo_reg_set_every(struct cairn_state *st, const char *name, int64_t every);
int cairn_repo_reg_set_cred(struct cairn_state *st, const char *name, const char *cred);
int cairn_repo_reg_set_token_sum(struct cairn_state *st, const char *name, const char *sum);

#endif
