/* Command-line front end: shared option parsing, passphrases, output. */
#ifndef CAIRN_CLI_CLI_H
#define CAIRN_CLI_CLI_H

#include "app/app.h"
#include "app/settings.h"
#include "app/backups.h"
#include "app/job.h"
#include "app/open.h"
#include "app/seen.h"
#include "engine/engine.h"
#include "repo/repo.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Exit statuses (documented in `cairn --help`). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_DAMAGED = 3,
};

struct cli_global {
	const char *repo;
	const char *passphrase_file;
	const char *state_dir;
	const char *cred;          /* --cred REF (else env CAIRN_CRED) */
	const char *connections_arg, *limit_upload_arg;
	unsigned connections;      /* --connections N; 0 = the driver's default */
	uint64_t limit_upload;     /* --limit-upload RATE in bytes/s; 0 = unlimited */
	bool json;
	int verbosity; /* -1 quiet, 0, 1, 2 */
	bool help;
	const char *verb;
	const struct cairn_settings *settings; /* read once by main() */
	struct cairn_app app; /* filled by cli_app() */
};

/* The application settings of these options and the environment
 * (--state-dir, CAIRN_STATE_KEY_FILE, the passphrase sources with the
 * terminal's prompt, CAIRN_TEST_JOB_DELAY): what every app/ call takes. */
const struct cairn_app *cli_app(struct cli_global *g);
/* The reference of the repository of --repo / CAIRN_REPO, --cred /
 * CAIRN_CRED, --connections and --limit-upload. */
void cli_repo_ref(struct cli_global *g, struct cairn_repo_ref *ret);

enum opt_type { OPT_FLAG, OPT_STRING, OPT_LIST };

struct cli_opt {
	const char *name; /* long name without dashes */
	char short_name;  /* 0 if none */
	enum opt_type type;
	void *dest; /* bool*, const char**, or struct cli_list*; NULL: at off */
	size_t off; /* in the command's argument struct (CLI_ARG) */
};
/* An option's place in a command's argument struct (struct cli_cmd). */
#define CLI_ARG(type, field) NULL, offsetof(type, field)

struct cli_list {
	const char **v;
	size_t n;
};

static inline void cli_list_freep(struct cli_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Parses argv (after the verb) into global options, the command's options
 * and positionals.  Returns 0, or EXIT_USAGE after printing one line. */
int cli_parse(int argc, char **argv, const struct cli_opt *opts, struct cli_global *g, struct cli_list *pos);
/* The same, options with no dest stored at args + off. */
int cli_parse_args(int argc, char **argv, const struct cli_opt *opts, void *args, struct cli_global *g,
		   struct cli_list *pos);

void cli_print_escaped(FILE *f, const char *s);
/* Prints "cairn: <message>" for an engine error and returns EXIT_FAIL. */
int cli_fail(int r);
/* Usage error: one line and a hint; returns EXIT_USAGE. */
int cli_usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Opens the repository named by --repo / CAIRN_REPO with the passphrase. */
int cli_open_repo(struct cli_global *g, struct cairn_repo **ret);
/* cairn_app_repo_prepare() of that repository (open.h). */
int cli_repo_prepare(struct cli_global *g, struct cairn_repo_prep *p);
/* Opens the store of uri with the credential that applies to it (--cred,
 * CAIRN_CRED, or the only stored credential of the uri's provider; see
 * cairn_cred_resolve), --connections and --limit-upload.  *ret_cred gets
 * the credential (owned, with secrets; NULL when none applies). */
struct cairn_store;
struct cairn_cred;
struct cairn_state;
int cli_store_open(struct cli_global *g, const char *uri, struct cairn_store **ret,
		   struct cairn_cred **ret_cred);
/* Opens the state database of cli_state_dir() (CAIRN_STATE_KEY_FILE names
 * the key file).  no_create: CAIRN_ENOTFOUND when there is none yet. */
int cli_state_open(struct cli_global *g, bool no_create, struct cairn_state **ret);
const char *cli_repo_uri(struct cli_global *g);
/* --state-dir, CAIRN_STATE_DIR, /var/lib/cairn for root, else
 * $XDG_STATE_HOME/cairn (or ~/.local/state/cairn).  Borrowed. */
const char *cli_state_dir(struct cli_global *g);

/* Passphrase from --passphrase-file, CAIRN_PASSPHRASE_FILE, CAIRN_PASSPHRASE
 * or a prompt on the terminal (twice when confirm).  Caller frees with
 * cli_passphrase_free (cairn_app_secret_free). */
int cli_passphrase(struct cli_global *g, bool confirm, char **ret, size_t *ret_len);
/* Same for a new passphrase (key add): --new-passphrase-file,
 * CAIRN_NEW_PASSPHRASE_FILE, CAIRN_NEW_PASSPHRASE, prompt. */
int cli_new_passphrase(const char *file, char **ret, size_t *ret_len);
#define cli_passphrase_free cairn_app_secret_free
/* Where the passphrase of a second repository comes from: file (an
 * option; NULL: CAIRN_TO_PASSPHRASE_FILE / CAIRN_FROM_PASSPHRASE_FILE),
 * CAIRN_TO_PASSPHRASE / CAIRN_FROM_PASSPHRASE, that repository's
 * credential, the terminal.  to: copy's destination; else init
 * --copy-keys-from's source. */
void cli_second_pass_source(bool to, const char *file, struct cairn_pass_source *ret);
/* The terminal's prompt (a cairn_prompt_fn): /dev/tty without echo. */
int cli_prompt(void *ud, const char *what, const char *hint, bool confirm, char **ret, size_t *ret_len);
/* The CAIRN_PASSPHRASE copy (below), or NULL. */
const char *cli_passphrase_env(void);
/* main() calls this first: CAIRN_PASSPHRASE and CAIRN_NEW_PASSPHRASE move
 * from the environment into locked memory left out of core dumps, their
 * strings wiped, so that neither a core nor /proc/PID/environ shows them;
 * the functions above read the copies. */
void cli_passphrase_take_env(void);
/* "CAIRN_PASSPHRASE=..." in secret memory, or NULL when it was not set:
 * for the daemon's jobs, cairn processes that read it from their
 * environment.  Free with cli_passphrase_free(p, 0). */
char *cli_passphrase_env_entry(void);

/* --kdf-memory SIZE of init and key add (arg; NULL when not given: then
 * CAIRN_KDF_MEMORY, else *ret_log2n is left as it is, the default) into
 * *ret_log2n (scrypt N); 0, or the usage error's exit status after
 * printing it. */
int cli_parse_kdf_memory(const char *verb, const char *arg, unsigned *ret_log2n);

/* --compression MODE of init, backup and group backup (compress.h); 0, or
 * the usage error's exit status after printing it. */
int cli_parse_compression(const char *verb, const char *arg, struct cairn_comp_mode *ret);

/* cairn_app_lower_id (app/backups.h). */
#define cli_lower_id cairn_app_lower_id

/* Human sizes ("1.5 GiB") and parsing ("64K", "1M", "1048576"). */
void cli_human_size(uint64_t v, char *buf, size_t size);
int cli_parse_size(const char *s, uint64_t *ret);

/* "volume: ext4, label 'x', UUID ..., 512-byte logical blocks" (one line). */
void cli_print_volume_info(FILE *f, const struct cairn_volume_info *i);

/* A backup's manifest as JSON (list, backup --json, group backup). */
json_t *cli_manifest_json(const struct cairn_manifest *m);
/* SECONDS (a number, optionally followed by 's'; more than 0, at most
 * 3600) in milliseconds; -1 when it is not that (--max-freeze). */
int cli_parse_seconds_ms(const char *s, unsigned *ret);
/* Absolute paths of the given volumes (by the path that survives reboots:
 * /dev/mapper/NAME, not /dev/dm-N), or with dirs of mount points (each must
 * be a directory), in a new array of as many owned strings (cmd_group.c). */
int cli_absolute_paths(const struct cli_list *in, bool dirs, char ***ret);
/* The manifest's consistency as change_during_read: true, false or null
 * (not checked). */
json_t *cli_change_during_read_json(const struct cairn_manifest *m);
/* On stderr, when m was marked changed-during-read: what that means and
 * how to get one instant. */
void cli_print_consistency_advice(const struct cairn_manifest *m);

/* Prints a JSON value on stdout followed by a newline; steals the reference. */
void cli_print_json(json_t *j);

/* A progress bar on stderr when it is a terminal (else silent). */
struct cli_progress {
	const char *label;
	bool enabled;
	double start;
	bool drawn;
	/* When set (an object store), the bar also shows what really went
	 * over the wire, retries included (cairn_store_xfer). */
	struct cairn_store *store;
};
void cli_progress_init(struct cli_progress *p, const char *label, struct cli_global *g);
void cli_progress_cb(uint64_t done, uint64_t total, void *ud);
void cli_progress_done(struct cli_progress *p);
/* cli_progress_done for a callback (ud: the bar). */
void cli_progress_end(void *ud);
/* cli_progress_init, the bar showing the wire traffic of repo's store
 * (repo may be NULL), handed to an app/ job as its progress. */
struct cairn_app_progress cli_progress_job(struct cli_progress *p, const char *label, struct cli_global *g,
					   const struct cairn_repo *repo);

/* The backups-seen record's (app/seen.h) warning as JSON (null when
 * nothing vanished). */
json_t *cli_seen_json(const struct cairn_seen_report *r);
/* Warns on stderr (the warning level) when something vanished. */
void cli_seen_warn(const struct cairn_seen_report *r);

/* The command table: each command says declaratively what it takes and
 * needs, and cli_dispatch() does, once for all of them, what every command
 * did first: parse its options into its argument struct, print --help,
 * set the log level, check the number of positionals, run the command's
 * own checks (usage errors before anything is opened), open the
 * repository or the state database it needs, and clean up after it. */
enum cli_needs {
	CLI_NEEDS_NOTHING,
	CLI_NEEDS_REPO,       /* --repo / CAIRN_REPO opened with its passphrase */
	CLI_NEEDS_STATE,      /* the state database, created when missing */
	CLI_NEEDS_STATE_READ, /* the state database, never created */
};
#define CLI_POS_ANY ((size_t)-1)

struct cli_ctx;
struct cli_cmd {
	const char *verb;
	int (*run)(struct cli_ctx *c); /* an exit status */
	const struct cli_opt *opts;    /* CLI_ARG places; NULL: none */
	size_t args_size;              /* its argument struct (zeroed) */
	void (*init)(void *args);      /* defaults (may be NULL) */
	/* Positionals: fewer than pos_min is the usage error pos_few, more
	 * than pos_max pos_many (NULL: "unexpected argument 'X'"). */
	size_t pos_min, pos_max;
	const char *pos_few, *pos_many;
	enum cli_needs needs;
	/* The job kind of the rows it makes (state/jobs.h); NULL: none. */
	const char *job;
	/* --help with a subcommand: "VERB SUB" (help_sub), or this topic. */
	bool help_sub;
	const char *help_pos;
	/* The daemon: info lines at least, for the journal. */
	bool log_journal;
	/* Right after parsing, whatever its result (r); returns it or
	 * another exit status (cred: secrets leave argv at once). */
	int (*parsed)(struct cli_ctx *c, int r);
	/* Usage errors found before anything is opened: 0 or an exit status. */
	int (*check)(struct cli_ctx *c);
	void (*cleanup)(struct cli_ctx *c);
};

struct cli_ctx {
	const struct cli_cmd *cmd;
	struct cli_global *g;
	void *args;
	struct cli_list pos;
	/* What cmd->needs; freed after run unless run takes it. */
	struct cairn_repo *repo;
	struct cairn_state *st;
};

/* Runs cmd with argv (every word but the verb, globals included). */
int cli_dispatch(const struct cli_cmd *cmd, int argc, char **argv, struct cli_global *g);

extern const struct cli_cmd cli_cmd_init, cli_cmd_backup, cli_cmd_list, cli_cmd_restore, cli_cmd_check,
	cli_cmd_diff, cli_cmd_key, cli_cmd_repair, cli_cmd_cred, cli_cmd_snapshot, cli_cmd_group, cli_cmd_policy,
	cli_cmd_daemon, cli_cmd_status, cli_cmd_log, cli_cmd_cancel, cli_cmd_forget, cli_cmd_hold,
	cli_cmd_release, cli_cmd_prune, cli_cmd_copy;
extern const struct cli_cmd cli_cmd_export_details, cli_cmd_import, cli_cmd_repos, cli_cmd_dr;
extern const struct cli_cmd cli_cmd_standby;
extern const struct cli_cmd cli_cmd_drill;
extern const struct cli_cmd cli_cmd_token;
extern const struct cli_cmd cli_cmd_catalog;
extern const struct cli_cmd cli_cmd_restore_file;

/* Prints the help text of a verb (or the overview for NULL) on stdout;
 * "cred create" names a subcommand's text (falls back to the verb's). */
/* Prints the help of verb ("cred create" too), or the overview for NULL;
 * false (nothing printed) for an unknown verb. */
bool cli_help(const char *verb);
/* The help texts of the policy, daemon, job and retention commands
 * (help_policies.c), found by cli_help() after its own table. */
struct cli_help_text {
	const char *verb;
	const char *text;
};
extern const struct cli_help_text cli_help_policies[];
extern const size_t cli_help_policies_n;
/* The help of export-details, import, repos and dr (help_dr.c): true
 * when it printed one. */
bool cli_help_dr(const char *verb);
bool cli_help_standby(const char *verb);
/* Help of token (cmd_token.c). */
bool cli_help_token(const char *verb);
/* The help of restore-file (help_files.c). */
bool cli_help_files(const char *verb);

#endif
