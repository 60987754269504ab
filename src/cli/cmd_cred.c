/* cairn cred create|list|delete: credentials in the state database
 * (src/state/cred.h).  Secrets are read from an option, a file option or an
 * environment variable, and are never printed: not by list, not in --json,
 * not in an error message. */
#include "app/credview.h"
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "state/cred.h"
#include "state/state.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A secret of 'cred create' and where it may come from. */
struct secret_src {
	const char *opt;  /* option name without dashes */
	const char *env;  /* environment variable */
	enum cairn_cred_provider provider; /* NONE: any */
	size_t off;       /* member of struct cairn_cred */
	const char *value, *file; /* parsed options */
};

#define S(opt, env, prov, member) { opt, env, prov, offsetof(struct cairn_cred, member), NULL, NULL }

struct create_args {
	const char *provider, *name;
	const char *s3_access_key, *s3_region, *s3_endpoint;
	bool s3_disable_ssl, azure_disable_ssl;
	const char *azure_account, *azure_endpoint, *google_project_id, *google_access_key;
	struct secret_src secrets[5];
};

static void wipe_arg(const char *s)
{
	/* The option's value sits in argv: overwrite it so that `ps` and
	 * /proc/PID/cmdline stop showing it (they did until now; a file or the
	 * environment keeps it out entirely). */
	if (s)
		cairn_wipe((void *)s, strlen(s));
}

/* Reads every secret of the provider (option, else file, else environment)
 * into c, wiping secrets given on the command line. */
static int read_secrets(struct create_args *a, enum cairn_cred_provider prov, struct cairn_cred *c)
{
	bool azure_chosen = false;
	int r;

	/* An Azure key or SAS chosen on the command line makes the other one's
	 * environment variable irrelevant. */
	for (size_t i = 0; i < ARRAY_SIZE(a->secrets); i++) {
		struct secret_src *s = &a->secrets[i];
		if (s->provider == CAIRN_CRED_AZURE && (s->value || s->file))
			azure_chosen = true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(a->secrets); i++) {
		struct secret_src *s = &a->secrets[i];
		char **dest = (char **)((char *)c + s->off);
		if (s->value && s->file)
			return cli_usage("cred create", "give --%s or --%s-file, not both", s->opt, s->opt);
		if (s->provider != CAIRN_CRED_NONE && s->provider != prov) {
			if (s->value || s->file)
				return cli_usage("cred create", "--%s%s does not apply to --provider %s", s->opt,
						 s->value ? "" : "-file", cairn_cred_provider_name(prov));
			continue;
		}
		if (s->value) {
			r = cairn_cred_secret_dup(s->value, dest);
		} else if (s->file) {
			char what[64], *p = NULL;
			size_t n = 0;
			snprintf(what, sizeof(what), "--%s-file", s->opt);
			if ((r = cairn_app_secret_file(s->file, what, &p, &n)) < 0)
				return cli_fail(r);
			r = cairn_cred_secret_dup(p, dest);
			cli_passphrase_free(p, n);
		} else {
			const char *e = getenv(s->env);
			if (!e || !*e || (s->provider == CAIRN_CRED_AZURE && azure_chosen))
				continue;
			r = cairn_cred_secret_dup(e, dest);
		}
		if (r < 0)
			return cli_fail(r);
	}
	/* Portals hand out SAS tokens as "?sv=...": the '?' is the URL's. */
	if (c->azure_sas && c->azure_sas[0] == '?')
		memmove(c->azure_sas, c->azure_sas + 1, strlen(c->azure_sas));
	return 0;
}

/* The REGION/ACCOUNT column: where the credential points. */
static const char *where_of(const struct cairn_cred *c)
{
	switch (c->provider) {
	case CAIRN_CRED_S3: return c->s3_region;
	case CAIRN_CRED_AZURE: return c->azure_account;
	case CAIRN_CRED_GOOGLE: return c->google_project_id;
	default: return NULL;
	}
}


static int cred_create(struct create_args *a, struct cli_global *g)
{
	enum cairn_cred_provider prov;
	struct cairn_cred c = { 0 };
	int r;

	if (!a->provider)
		return cli_usage("cred create", "missing --provider s3, azure or google");
	if (cairn_cred_provider_parse(a->provider, &prov) < 0)
		return cli_usage("cred create", "unknown --provider '%s' (want s3, azure or google)", a->provider);
	if ((r = read_secrets(a, prov, &c)) != 0) {
		cairn_cred_clear(&c);
		return r;
	}
	c.provider = prov;
	c.s3_disable_ssl = a->s3_disable_ssl;
	c.azure_disable_ssl = a->azure_disable_ssl;
	/* The struct borrows the non-secret strings until it is stored. */
	c.name = (char *)a->name;
	c.s3_access_key = (char *)a->s3_access_key;
	c.s3_region = (char *)a->s3_region;
	c.s3_endpoint = (char *)a->s3_endpoint;
	c.azure_account = (char *)a->azure_account;
	c.azure_endpoint = (char *)a->azure_endpoint;
	c.google_project_id = (char *)a->google_project_id;
	c.google_access_key = (char *)a->google_access_key;

	r = cairn_cred_validate(&c);
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	char uuid[CAIRN_CRED_UUID_LEN + 1];
	bool usage = r < 0;
	if (r >= 0 && (r = cli_state_open(g, false, &st)) >= 0)
		r = cairn_cred_create(st, &c, uuid);
	c.name = c.s3_access_key = c.s3_region = c.s3_endpoint = NULL;
	c.azure_account = c.azure_endpoint = c.google_project_id = c.google_access_key = NULL;
	bool has_pass = c.passphrase != NULL, sas = c.azure_sas != NULL, key = c.azure_key != NULL;
	cairn_cred_clear(&c);
	if (usage)
		return cli_usage("cred create", "%s", cairn_error_message());
	if (r < 0)
		return cli_fail(r);
	if (g->json) {
		_cleanup_(cairn_cred_freep) struct cairn_cred *back = NULL;
		if ((r = cairn_cred_get(st, uuid, false, &back)) < 0)
			return cli_fail(r);
		cli_print_json(cairn_app_cred_json(back));
	} else {
		printf("%s\n", uuid);
	}
	cairn_log_info("created %s credential %s%s%s", a->provider, uuid,
		       sas ? " (Azure SAS)" : key ? " (Azure account key)" : "",
		       has_pass ? " with an encryption passphrase" : "");
	return EXIT_OK;
}

static void print_cell(const char *s, int width, bool last)
{
	if (!s || !*s)
		s = "-";
	cli_print_escaped(stdout, s);
	if (!last)
		printf("%*s", width - (int)strlen(s) + 2, "");
}

static int cred_list(struct cli_global *g)
{
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	struct cairn_cred *v = NULL;
	size_t n = 0;
	int r = cli_state_open(g, true, &st);
	if (r == CAIRN_ENOTFOUND)
		r = 0; /* nothing stored yet: an empty list, and no state created */
	else if (r >= 0)
		r = cairn_cred_list(st, &v, &n);
	if (r < 0)
		return cli_fail(r);
	if (g->json) {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < n; i++)
			json_array_append_new(arr, cairn_app_cred_json(&v[i]));
		cli_print_json(arr);
		cairn_cred_list_free(v, n);
		return EXIT_OK;
	}
	enum { NCOL = 8 };
	static const char *const head[NCOL] = { "UUID", "NAME", "PROVIDER", "REGION/ACCOUNT", "ENDPOINT", "ACCESS KEY",
						"SSL", "ENCRYPTION" };
	int w[NCOL];
	for (int k = 0; k < NCOL; k++)
		w[k] = (int)strlen(head[k]);
	const char *cell[NCOL];
#define CELLS(c)                                                             \
	do {                                                                 \
		cell[0] = (c)->uuid;                                         \
		cell[1] = (c)->name;                                         \
		cell[2] = cairn_cred_provider_name((c)->provider);           \
		cell[3] = where_of(c);                                       \
		cell[4] = cairn_app_cred_endpoint(c);                                    \
		cell[5] = cairn_app_cred_access(c);                                      \
		cell[6] = cairn_app_cred_ssl(c) ? "yes" : "no";                          \
		cell[7] = (c)->has_passphrase ? "yes" : "no";                \
	} while (0)
	for (size_t i = 0; i < n; i++) {
		CELLS(&v[i]);
		for (int k = 0; k < NCOL; k++) {
			int len = cell[k] && *cell[k] ? (int)strlen(cell[k]) : 1;
			if (len > w[k])
				w[k] = len;
		}
	}
	for (int k = 0; k < NCOL; k++)
		print_cell(head[k], w[k], k == NCOL - 1);
	putchar('\n');
	for (size_t i = 0; i < n; i++) {
		CELLS(&v[i]);
		for (int k = 0; k < NCOL; k++)
			print_cell(cell[k], w[k], k == NCOL - 1);
		putchar('\n');
	}
#undef CELLS
	cairn_cred_list_free(v, n);
	return EXIT_OK;
}

static int cred_delete(const char *ref, struct cli_global *g)
{
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	char uuid[CAIRN_CRED_UUID_LEN + 1];
	int r = cli_state_open(g, true, &st);
	if (r == CAIRN_ENOTFOUND)
		r = cairn_error_set(CAIRN_ENOTFOUND, "no credential '%s' (no credentials are stored)", ref);
	if (r >= 0)
		r = cairn_cred_delete(st, ref, uuid);
	if (r < 0)
		return cli_fail(r);
	if (g->json)
		cli_print_json(json_pack("{s:s, s:b}", "uuid", uuid, "deleted", 1));
	else if (g->verbosity >= 0)
		fprintf(stderr, "deleted credential %s\n", uuid);
	return EXIT_OK;
}

struct cred_args {
	struct create_args a;
	char *copies[5]; /* the secrets given as arguments, moved out of argv */
};
static const struct cli_opt cred_opts[] = {
	{ "provider", 0, OPT_STRING, CLI_ARG(struct cred_args, a.provider) },
	{ "name", 0, OPT_STRING, CLI_ARG(struct cred_args, a.name) },
	{ "s3-access-key", 0, OPT_STRING, CLI_ARG(struct cred_args, a.s3_access_key) },
	{ "s3-region", 0, OPT_STRING, CLI_ARG(struct cred_args, a.s3_region) },
	{ "s3-endpoint", 0, OPT_STRING, CLI_ARG(struct cred_args, a.s3_endpoint) },
	{ "s3-disable-ssl", 0, OPT_FLAG, CLI_ARG(struct cred_args, a.s3_disable_ssl) },
	{ "azure-account-name", 0, OPT_STRING, CLI_ARG(struct cred_args, a.azure_account) },
	{ "azure-endpoint", 0, OPT_STRING, CLI_ARG(struct cred_args, a.azure_endpoint) },
	{ "azure-disable-ssl", 0, OPT_FLAG, CLI_ARG(struct cred_args, a.azure_disable_ssl) },
	{ "google-project-id", 0, OPT_STRING, CLI_ARG(struct cred_args, a.google_project_id) },
	{ "google-hmac-access-key", 0, OPT_STRING, CLI_ARG(struct cred_args, a.google_access_key) },
	{ "s3-secret-key", 0, OPT_STRING, CLI_ARG(struct cred_args, a.secrets[0].value) },
	{ "s3-secret-key-file", 0, OPT_STRING, CLI_ARG(struct cred_args, a.secrets[0].file) },
	{ "azure-account-key", 0, OPT_STRING, CLI_ARG(struct cred_args, a.secrets[1].value) },
	{ "azure-account-key-file", 0, OPT_STRING, CLI_ARG(struct cred_args, a.secrets[1].file) },
	{ "azure-sas", 0, OPT_STRING, CLI_ARG(struct cred_args, a.secrets[2].value) },
	{ "azure-sas-file", 0, OPT_STRING, CLI_ARG(struct cred_args, a.secrets[2].file) },
	{ "google-hmac-secret", 0, OPT_STRING, CLI_ARG(struct cred_args, a.secrets[3].value) },
	{ "google-hmac-secret-file", 0, OPT_STRING, CLI_ARG(struct cred_args, a.secrets[3].file) },
	{ "encryption-passphrase", 0, OPT_STRING, CLI_ARG(struct cred_args, a.secrets[4].value) },
	{ "encryption-passphrase-file", 0, OPT_STRING, CLI_ARG(struct cred_args, a.secrets[4].file) },
	{ NULL, 0, 0, NULL, 0 },
};

static void init_cred(void *args)
{
	struct cred_args *ca = args;
	ca->a = (struct create_args){
		.secrets = {
			S("s3-secret-key", "CAIRN_S3_SECRET_KEY", CAIRN_CRED_S3, s3_secret_key),
			S("azure-account-key", "CAIRN_AZURE_ACCOUNT_KEY", CAIRN_CRED_AZURE, azure_key),
			S("azure-sas", "CAIRN_AZURE_SAS", CAIRN_CRED_AZURE, azure_sas),
			S("google-hmac-secret", "CAIRN_GOOGLE_HMAC_SECRET", CAIRN_CRED_GOOGLE, google_secret),
			S("encryption-passphrase", "CAIRN_ENCRYPTION_PASSPHRASE", CAIRN_CRED_NONE, passphrase),
		},
	};
}

/* Whatever happens next, secrets given as arguments leave argv now. */
static int parsed_cred(struct cli_ctx *c, int r)
{
	struct cred_args *ca = c->args;
	struct secret_src *sec = ca->a.secrets;
	for (size_t i = 0; i < ARRAY_SIZE(ca->a.secrets); i++) {
		if (!sec[i].value)
			continue;
		if (cairn_cred_secret_dup(sec[i].value, &ca->copies[i]) < 0) {
			r = cli_fail(cairn_error_nomem());
			break;
		}
		wipe_arg(sec[i].value);
		sec[i].value = ca->copies[i];
	}
	return r;
}

static void cleanup_cred(struct cli_ctx *c)
{
	struct cred_args *ca = c->args;
	for (size_t i = 0; i < ARRAY_SIZE(ca->copies); i++)
		if (ca->copies[i])
			cairn_secret_free(ca->copies[i], strlen(ca->copies[i]) + 1);
}

static int check_cred(struct cli_ctx *c)
{
	const struct create_args *a = &((const struct cred_args *)c->args)->a;
	const struct secret_src *sec = a->secrets;
	const char *sub = c->pos.v[0];
	bool is_create = strcmp(sub, "create") == 0;
	if (!is_create && strcmp(sub, "list") && strcmp(sub, "delete")) {
		bool edit = !strcmp(sub, "update") || !strcmp(sub, "edit") || !strcmp(sub, "modify") ||
			    !strcmp(sub, "set");
		return cli_usage("cred", "unknown subcommand '%s'%s", sub,
				 edit ? ": credentials cannot be modified (delete and create again)"
				      : " (want create, list or delete)");
	}
	if (!is_create) {
		/* Options of create given to list or delete are mistakes. */
		bool any = a->provider || a->name || a->s3_access_key || a->s3_region || a->s3_endpoint ||
			   a->s3_disable_ssl || a->azure_account || a->azure_endpoint || a->azure_disable_ssl ||
			   a->google_project_id || a->google_access_key;
		for (size_t i = 0; i < ARRAY_SIZE(a->secrets); i++)
			any = any || sec[i].value || sec[i].file;
		if (any)
			return cli_usage("cred", "the credential options apply to 'cred create' only");
	}
	size_t want = strcmp(sub, "delete") == 0 ? 2 : 1;
	if (c->pos.n != want) {
		/* The extra word is not echoed: it may be a secret that lost its
		 * option name. */
		return want == 2 && c->pos.n < 2 ? cli_usage("cred", "cred delete needs the UUID of a credential")
						 : cli_usage("cred", "cred %s takes %s", sub,
							     want == 2 ? "exactly one UUID" : "no arguments, only options");
	}
	return 0;
}

static int run_cred(struct cli_ctx *c)
{
	struct create_args *a = &((struct cred_args *)c->args)->a;
	const char *sub = c->pos.v[0];
	if (strcmp(sub, "create") == 0)
		return cred_create(a, c->g);
	if (strcmp(sub, "list") == 0)
		return cred_list(c->g);
	return cred_delete(c->pos.v[1], c->g);
}

const struct cli_cmd cli_cmd_cred = {
	.verb = "cred", .run = run_cred, .opts = cred_opts, .args_size = sizeof(struct cred_args),
	.init = init_cred, .pos_min = 1, .pos_max = CLI_POS_ANY,
	.pos_few = "missing subcommand: create, list or delete", .help_sub = true, .parsed = parsed_cred,
	.check = check_cred, .cleanup = cleanup_cred,
};
