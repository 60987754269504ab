/* Opening a repository from a reference: its URI, the credential that
 * applies to it, where its passphrase comes from, and the connection
 * settings.  One function for the primary repository and for a second one
 * (a copy's target), each with its own credential. */
#ifndef CAIRN_APP_OPEN_H
#define CAIRN_APP_OPEN_H

#include "app/app.h"
#include "repo/repo.h"

#include <stdint.h>

struct cairn_store;
struct cairn_cred;

struct cairn_repo_ref {
	const char *uri;
	/* A stored credential (its UUID or name); NULL or "": the only one
	 * stored for the uri's provider, if any (cairn_cred_resolve). */
	const char *cred;
	/* The credential's encryption passphrase before pass (a policy's own
	 * credential is its most specific source); else after it. */
	bool cred_pass_first;
	const struct cairn_pass_source *pass; /* NULL: the app's */
	unsigned connections;  /* 0: the driver's default */
	uint64_t limit_upload; /* bytes/s; 0: unlimited */
};

/* Opens the store of ref with its credential (st may be NULL: the state
 * database is read, never created, when a credential is needed).
 * *ret_cred gets the credential (owned, with secrets; NULL when none
 * applies); ret_cred may be NULL. */
int cairn_app_store_open(const struct cairn_app *app, struct cairn_state *st, const struct cairn_repo_ref *ref,
			 struct cairn_store **ret, struct cairn_cred **ret_cred);

/* Makes sure ref names a repository (CAIRN_ENOTREPO naming what is
 * wrong), without its passphrase: its store (*ret, may be NULL) and
 * credential (as above) are left open. */
int cairn_app_repo_check(const struct cairn_app *app, struct cairn_state *st, const struct cairn_repo_ref *ref,
			 struct cairn_store **ret, struct cairn_cred **ret_cred);

/* cairn_app_repo_open in two steps: first what may fail fast or ask the
 * user (the store, its config, the passphrase), then cairn_repo_open(),
 * whose key derivation takes ~0.1 s, which the caller may run on another
 * thread (it takes the store; cairn_app_repo_prep_clear frees the rest).
 * Before the passphrase is asked for, cairn_app_repo_check. */
struct cairn_repo_prep {
	struct cairn_store *store;
	char *pass;
	size_t plen;
};
int cairn_app_repo_prepare(const struct cairn_app *app, struct cairn_state *st, const struct cairn_repo_ref *ref,
			   struct cairn_repo_prep *ret);
void cairn_app_repo_prep_clear(struct cairn_repo_prep *p);

/* Opens two repositories (a copy's source and destination): both prepared
 * here, a then b (each may ask for its passphrase), then their keys
 * derived at once on two threads, since each costs ~0.25 s of CPU.  On
 * failure nothing is left open and *ret_which says whose failure it is
 * (0: a, 1: b). */
int cairn_app_repo_open_pair(const struct cairn_app *app, struct cairn_state *st, const struct cairn_repo_ref *a,
			     const struct cairn_repo_ref *b, struct cairn_repo **ret_a, struct cairn_repo **ret_b,
			     int *ret_which);

/* Opens the repository ref names (CAIRN_ENOTREPO when there is none). */
int cairn_app_repo_open(const struct cairn_app *app, struct cairn_state *st, const struct cairn_repo_ref *ref,
			struct cairn_repo **ret);

#endif
