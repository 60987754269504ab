/* Shared CLI helpers: errors, repository opening, sizes, JSON, progress. */
#include "cli/cli.h"
#include "state/cred.h"
#include "state/state.h"
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

const char *cli_repo_uri(struct cli_global *g)
{
	if (g->repo && *g->repo)
		return g->repo;
	const char *e = getenv("CAIRN_REPO");
	return e && *e ? e : NULL;
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

int cli_state_open(struct cli_global *g, bool no_create, struct cairn_state **ret)
{
	const char *dir = cli_state_dir(g);
	if (!dir)
		return cairn_error_set(CAIRN_EINVAL, "no state directory: use --state-dir DIR or set CAIRN_STATE_DIR");
	struct cairn_state_params p = { .key_file = getenv("CAIRN_STATE_KEY_FILE"), .no_create = no_create };
	return cairn_state_open(dir, &p, ret);
}

int cli_store_open(struct cli_global *g, const char *uri, struct cairn_store **ret, struct cairn_cred **ret_cred)
{
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	_cleanup_(cairn_cred_freep) struct cairn_cred *cred = NULL;
	const char *ref = g->cred && *g->cred ? g->cred : getenv("CAIRN_CRED");
	int r;

	*ret_cred = NULL;
	/* Only object stores and an explicit --cred need the state database;
	 * reading it never creates it. */
	if ((ref && *ref) || cairn_cred_uri_provider(uri) != CAIRN_CRED_NONE) {
		if (cli_state_dir(g) && (r = cli_state_open(g, true, &st)) < 0 && r != CAIRN_ENOTFOUND)
			return r;
	}
	if ((r = cairn_cred_resolve(st, ref, uri, &cred)) < 0)
		return r;
	if (cred)
		cairn_log_info("using credential %s (%s)", cred->uuid, cairn_cred_provider_name(cred->provider));
	struct cairn_store_opts o = { .connections = g->connections, .limit_upload = g->limit_upload };
	if ((r = cairn_cred_store_opts(cred, uri, &o)) < 0)
		return r;
	if ((r = cairn_store_open_opts(uri, &o, ret)) < 0)
		return r;
	*ret_cred = TAKE_PTR(cred);
	return 0;
}

int cli_open_repo(struct cli_global *g, struct cairn_repo **ret)
{
	struct cli_repo_prep p;
	int r = cli_repo_prepare(g, &p);
	if (r < 0)
		return r;
	r = cairn_repo_open(p.store, p.pass, p.plen, ret);
	p.store = NULL;
	cli_repo_prep_clear(&p);
	return r;
}

void cli_repo_prep_clear(struct cli_repo_prep *p)
{
	cairn_store_free(p->store);
	cli_passphrase_free(p->pass, p->plen);
	*p = (struct cli_repo_prep){ 0 };
}

int cli_repo_prepare(struct cli_global *g, struct cli_repo_prep *p)
{
	*p = (struct cli_repo_prep){ 0 };
	const char *uri = cli_repo_uri(g);
	if (!uri)
		return cairn_error_set(CAIRN_EINVAL, "no repository given: use --repo URI or set CAIRN_REPO");
	_cleanup_(cairn_cred_freep) struct cairn_cred *cred = NULL;
	struct cairn_store *s = NULL;
	int r = cli_store_open(g, uri, &s, &cred);
	if (r < 0)
		return r;
	/* Before asking for a passphrase, make sure there is a repository. */
	uint64_t size;
	r = cairn_store_stat(s, "config", &size);
	if (r == CAIRN_ENOTFOUND) {
		char seen[128];
		r = cairn_repo_data_without_config(s, seen);
		cairn_store_free(s);
		if (r > 0)
			return cairn_error_set(CAIRN_ENOTREPO,
					       "%s has lost its config: it holds repository data (%s) but no "
					       "config object; restore the config from a copy",
					       uri, seen);
		return r < 0 ? r : cairn_error_set(CAIRN_ENOTREPO, "%s is not a cairn repository (run 'cairn init' first)", uri);
	}
	if (r < 0) {
		cairn_store_free(s);
		return r;
	}
	if ((r = cli_repo_passphrase(g, false, cred, &p->pass, &p->plen)) < 0) {
		cairn_store_free(s);
		return r;
	}
	p->store = s;
	return 0;
}

void cli_lower_id(const char *s, char *out, size_t size)
{
	bool hex = strspn(s, "0123456789abcdefABCDEF") == strlen(s);
	size_t i = 0;
	for (; s[i] && i + 1 < size; i++)
		out[i] = hex ? (char)tolower((unsigned char)s[i]) : s[i];
	if (size)
		out[i] = 0;
}

void cli_human_size(uint64_t v, char *buf, size_t size)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = (double)v;
	int u = 0;
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, size, "%.*f %s", d < 10 ? 2 : d < 100 ? 1 : 0, d, units[u]);
}

int cli_parse_kdf_memory(const char *verb, const char *arg, unsigned *ret_log2n)
{
	/* The option wins; CAIRN_KDF_MEMORY is a site's (or a test suite's)
	 * default for every init and key add. */
	const char *what = "--kdf-memory";
	if (!arg) {
		arg = getenv("CAIRN_KDF_MEMORY");
		if (!arg || !*arg)
			return 0;
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
