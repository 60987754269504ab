/* Shared CLI helpers: errors, repository opening, sizes, JSON, progress. */
#include "cli/cli.h"
#include "daemon/jobq.h"
#include "app/drexport.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Prints s with control characters escaped, so that a name with a newline
 * cannot break the one-line error rule. */
void cli_print_escaped(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

int cli_fail(int r)
{
	const char *msg = cairn_error_message();
	fputs("cairn: ", stderr);
	cli_print_escaped(stderr, msg && *msg ? msg : cairn_error_name(r));
	fputc('\n', stderr);
	return EXIT_FAIL;
}

/* A repository registered by `cairn import` (app/drexport.h) stands for
 * its alias, or for no --repo at all when it is the only one: resolved
 * once per process. */
static bool alias_done;
static char *alias_uri, *alias_cred;

static const char *repo_alias(struct cli_global *g, const char *given)
{
	if (given && (strchr(given, '/') || strstr(given, "://")))
		return given;
	if (!alias_done) {
		alias_done = true;
		if (cairn_app_repo_alias(cli_app(g), given, &alias_uri, &alias_cred) > 0)
			cairn_log_debug("repository %s: %s", given ? given : "(the only one registered)", alias_uri);
	}
	return alias_uri ? alias_uri : given;
}

const char *cli_repo_uri(struct cli_global *g)
{
	if (g->repo && *g->repo)
		return repo_alias(g, g->repo);
	const char *e = getenv("CAIRN_REPO");
	return repo_alias(g, e && *e ? e : NULL);
}

const char *cli_state_dir(struct cli_global *g)
{
	static char buf[4096];
	if (g->state_dir && *g->state_dir)
		return g->state_dir;
	const char *e = getenv("CAIRN_STATE_DIR");
	if (e && *e)
		return e;
	if (geteuid() == 0)
		return "/var/lib/cairn";
	const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	if (x && *x)
		snprintf(buf, sizeof(buf), "%s/cairn", x);
	else if (home && *home)
		snprintf(buf, sizeof(buf), "%s/.local/state/cairn", home);
	else
		return NULL;
	return buf;
}

const struct cairn_app *cli_app(struct cli_global *g)
{
	struct cairn_app *a = &g->app;
	const char *f = g->passphrase_file ? g->passphrase_file : getenv("CAIRN_PASSPHRASE_FILE");
	*a = (struct cairn_app){
		.state_dir = cli_state_dir(g),
		.state_key_file = getenv("CAIRN_STATE_KEY_FILE"),
		.pass = { .file = f, .value = cli_passphrase_env(), .prompt = cli_prompt,
			  .what = "repository passphrase",
			  .hint = "passphrase: set CAIRN_PASSPHRASE or CAIRN_PASSPHRASE_FILE, or use --passphrase-file" },
		.test_job_delay_ms = g->settings ? g->settings->job_delay_ms : 0,
	};
	/* A job the daemon queued for its HTTP API runs as this command with
	 * the job's id here (daemon/jobq.h): its first job adopts that row. */
	const char *qj = getenv(CAIRN_JOBQ_ENV);
	if (qj && *qj)
		a->queued_job = strtoll(qj, NULL, 10);
	return a;
}

void cli_repo_ref(struct cli_global *g, struct cairn_repo_ref *ret)
{
	*ret = (struct cairn_repo_ref){ .uri = cli_repo_uri(g), .cred = g->cred && *g->cred ? g->cred : getenv("CAIRN_CRED"),
					.connections = g->connections, .limit_upload = g->limit_upload };
	if (!ret->cred && ret->uri && alias_uri && strcmp(ret->uri, alias_uri) == 0)
		ret->cred = alias_cred;
}

int cli_state_open(struct cli_global *g, bool no_create, struct cairn_state **ret)
{
	return cairn_app_state_open(cli_app(g), no_create, ret);
}

int cli_store_open(struct cli_global *g, const char *uri, struct cairn_store **ret, struct cairn_cred **ret_cred)
{
	struct cairn_repo_ref ref;
	cli_repo_ref(g, &ref);
	ref.uri = uri;
	return cairn_app_store_open(cli_app(g), NULL, &ref, ret, ret_cred);
}

int cli_open_repo(struct cli_global *g, struct cairn_repo **ret)
{
	struct cairn_repo_ref ref;
	cli_repo_ref(g, &ref);
	return cairn_app_repo_open(cli_app(g), NULL, &ref, ret);
}

int cli_repo_prepare(struct cli_global *g, struct cairn_repo_prep *p)
{
	struct cairn_repo_ref ref;
	cli_repo_ref(g, &ref);
	return cairn_app_repo_prepare(cli_app(g), NULL, &ref, p);
}

void cli_human_size(uint64_t v, char *buf, size_t size)
{
	cairn_app_human_size(v, buf, size);
}

int cli_parse_compression(const char *verb, const char *arg, struct cairn_comp_mode *ret)
{
	if (cairn_comp_mode_parse(arg, ret) < 0) {
		char msg[256];
		cairn_error_copy(msg, sizeof(msg));
		cairn_error_clear();
		return cli_usage(verb, "--compression: %s", msg);
	}
	return 0;
}

/* Tests only: CAIRN_TEST_KDF_LOG2N=10..13 makes new key objects cheaper
 * than init allows (1 to 8 MiB of scrypt memory; readers accept from
 * 2^10, format.h KEY OBJECT), for suites that open repositories thousands
 * of times: at 16 MiB each open costs 0.1 s of CPU, 0.3 s under ASan.
 * Anything else in it is ignored. */
static int test_kdf(unsigned *ret_log2n)
{
	const char *v = getenv("CAIRN_TEST_KDF_LOG2N");
	if (v && v[0] == '1' && v[1] >= '0' && v[1] <= '3' && !v[2])
		*ret_log2n = 10u + (unsigned)(v[1] - '0');
	return 0;
}

int cli_parse_kdf_memory(const char *verb, const char *arg, unsigned *ret_log2n)
{
	/* The option wins; CAIRN_KDF_MEMORY is a site's (or a test suite's)
	 * default for every init and key add. */
	const char *what = "--kdf-memory";
	if (!arg) {
		arg = getenv("CAIRN_KDF_MEMORY");
		if (!arg || !*arg)
			return test_kdf(ret_log2n);
		what = "CAIRN_KDF_MEMORY";
	}
	uint64_t v;
	if (cli_parse_size(arg, &v) < 0 || cairn_kdf_log2n_of_memory(v, ret_log2n) < 0) {
		cairn_error_clear();
		return cli_usage(verb, "invalid %s '%s' (a power of two from %lluM to %lluM; default 32M)", what, arg,
				 CAIRN_KDF_MEMORY_MIN >> 20, CAIRN_KDF_MEMORY_MAX >> 20);
	}
	return 0;
}

int cli_parse_size(const char *s, uint64_t *ret)
{
	/* Plain decimal only: strtod alone would also take " 1", "inf",
	 * "nan" and "0x1p4". */
	if (!isdigit((unsigned char)s[0]) && !(s[0] == '.' && isdigit((unsigned char)s[1])))
		return -1;
	for (const char *q = s; *q; q++)
		if (*q == 'x' || *q == 'X' || *q == 'p' || *q == 'P' || *q == 'e' || *q == 'E')
			return -1;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return -1;
	uint64_t mult = 1;
	switch (*end) {
	case 0: break;
	case 'k': case 'K': mult = 1ull << 10; end++; break;
	case 'm': case 'M': mult = 1ull << 20; end++; break;
	case 'g': case 'G': mult = 1ull << 30; end++; break;
	case 't': case 'T': mult = 1ull << 40; end++; break;
	default: return -1;
	}
	if (*end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return -1;
	double bytes = v * (double)mult;
	/* Not a fraction of a byte (0.5 would become 0, "no limit"), and
	 * within what converts to 64 bits exactly defined. */
	if ((bytes > 0 && bytes < 1) || bytes >= 0x1p63)
		return -1;
	*ret = (uint64_t)bytes;
	return 0;
}

void cli_print_json(json_t *j)
{
	if (!j) {
		fprintf(stderr, "cairn: out of memory\n");
		return;
	}
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
	json_decref(j);
}

void cli_progress_init(struct cli_progress *p, const char *label, struct cli_global *g)
{
	p->label = label;
	p->enabled = g->verbosity >= 0 && isatty(STDERR_FILENO) && !getenv("CAIRN_NO_PROGRESS");
	p->start = cairn_now();
	p->drawn = false;
	p->store = NULL;
}

void cli_progress_cb(uint64_t done, uint64_t total, void *ud)
{
	struct cli_progress *p = ud;
	if (!p->enabled)
		return;
	double el = cairn_now() - p->start;
	double frac = total ? (double)done / (double)total : 1.0;
	int width = 30, fill = (int)(frac * width);
	char bar[64], d[32], t[32], rate[32];
	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '-';
	bar[width] = 0;
	cli_human_size(done, d, sizeof(d));
	cli_human_size(total, t, sizeof(t));
	struct cairn_store_xfer x;
	if (p->store && cairn_store_xfer(p->store, &x) == 0) {
		/* Network: the rate that matters is the wire's. */
		char up[32], down[32];
		cli_human_size(x.bytes_sent, up, sizeof(up));
		cli_human_size(x.bytes_received, down, sizeof(down));
		uint64_t wire = x.bytes_sent + x.bytes_received;
		cli_human_size(el > 0 ? (uint64_t)((double)wire / el) : 0, rate, sizeof(rate));
		fprintf(stderr, "\r%s [%s] %3.0f%% %s / %s  sent %s  received %s  %s/s  %.0fs ", p->label, bar,
			frac * 100, d, t, up, down, rate, el);
	} else {
		cli_human_size(el > 0 ? (uint64_t)((double)done / el) : 0, rate, sizeof(rate));
		fprintf(stderr, "\r%s [%s] %3.0f%% %s / %s  %s/s  %.0fs ", p->label, bar, frac * 100, d, t, rate, el);
	}
	fflush(stderr);
	p->drawn = true;
}

void cli_progress_done(struct cli_progress *p)
{
	if (p->drawn)
		fprintf(stderr, "\r\033[K");
	p->drawn = false;
}

void cli_progress_end(void *ud)
{
	cli_progress_done(ud);
}

struct cairn_app_progress cli_progress_job(struct cli_progress *p, const char *label, struct cli_global *g,
					   const struct cairn_repo *repo)
{
	cli_progress_init(p, label, g);
	p->store = repo ? repo->store : NULL;
	return (struct cairn_app_progress){ .fn = cli_progress_cb, .done = cli_progress_end, .ud = p };
}

void cli_print_volume_info(FILE *f, const struct cairn_volume_info *i)
{
	if (!i->fs_type && !i->label && !i->uuid && !i->logical_block_size)
		return;
	fputs("volume:", f);
	if (i->fs_type) {
		fputc(' ', f);
		cli_print_escaped(f, i->fs_type);
	} else {
		fputs(" no file system recognised", f);
	}
	if (i->label) {
		fputs(", label '", f);
		cli_print_escaped(f, i->label);
		fputc('\'', f);
	}
	if (i->uuid) {
		fputs(", UUID ", f);
		cli_print_escaped(f, i->uuid);
	}
	if (i->logical_block_size)
		fprintf(f, ", %u-byte logical blocks", i->logical_block_size);
	fputc('\n', f);
}
