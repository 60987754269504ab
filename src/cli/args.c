/* One parser for global and per-command options, accepted in any order
 * around the verb's positionals (docs/design.md §3). */
#include "cli/cli.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_opt(const struct cli_opt *o, void *args, const char *value, bool *used_value)
{
	void *dest = o->dest ? o->dest : (char *)args + o->off;
	*used_value = false;
	switch (o->type) {
	case OPT_FLAG:
		*(bool *)dest = true;
		return 0;
	case OPT_STRING:
		if (!value)
			return -1;
		*(const char **)dest = value;
		*used_value = true;
		return 0;
	case OPT_LIST: {
		if (!value)
			return -1;
		struct cli_list *l = dest;
		const char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
		if (!v)
			return -1;
		v[l->n++] = value;
		l->v = v;
		*used_value = true;
		return 0;
	}
	}
	return -1;
}

static bool g_quiet, g_verbose_flag, g_vv;

static const struct cli_opt *find(const struct cli_opt *opts, const char *name, size_t len, char short_name)
{
	for (const struct cli_opt *o = opts; o && o->name; o++) {
		if (short_name ? o->short_name == short_name : strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	}
	return NULL;
}

int cli_parse(int argc, char **argv, const struct cli_opt *opts, struct cli_global *g, struct cli_list *pos)
{
	return cli_parse_args(argc, argv, opts, NULL, g, pos);
}

int cli_parse_args(int argc, char **argv, const struct cli_opt *opts, void *args, struct cli_global *g,
		   struct cli_list *pos)
{
	bool help = false;
	bool json = g->json;
	const struct cli_opt globals[] = {
		{ "repo", 'r', OPT_STRING, &g->repo },
		{ "passphrase-file", 0, OPT_STRING, &g->passphrase_file },
		{ "state-dir", 0, OPT_STRING, &g->state_dir },
		{ "cred", 0, OPT_STRING, &g->cred },
		{ "connections", 0, OPT_STRING, &g->connections_arg },
		{ "limit-upload", 0, OPT_STRING, &g->limit_upload_arg },
		{ "json", 0, OPT_FLAG, &json },
		{ "quiet", 'q', OPT_FLAG, &g_quiet },
		{ "verbose", 'v', OPT_FLAG, &g_verbose_flag },
		{ "help", 'h', OPT_FLAG, &help },
		{ NULL, 0, 0, NULL },
	};
	bool only_pos = false;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (only_pos || a[0] != '-' || a[1] == 0) {
			if (set_opt(&(struct cli_opt){ "", 0, OPT_LIST, pos }, NULL, a, &(bool){ false }) < 0)
				return cli_usage(g->verb, "out of memory");
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		const struct cli_opt *o;
		const char *value = NULL;
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			o = find(opts, name, len, 0);
			if (!o)
				o = find(globals, name, len, 0);
			if (!o)
				return cli_usage(g->verb, "unknown option '%.*s'", (int)(len + 2), a);
			if (eq)
				value = eq + 1;
			else if (o->type != OPT_FLAG && i + 1 < argc)
				value = argv[++i];
			if (eq && o->type == OPT_FLAG)
				return cli_usage(g->verb, "option '--%s' takes no value", o->name);
		} else {
			/* -vv counts twice; other short options take the next word. */
			if (strcmp(a, "-vv") == 0) {
				g_vv = true;
				continue;
			}
			if (a[2] != 0)
				return cli_usage(g->verb, "unknown option '%s'", a);
			o = find(opts, NULL, 0, a[1]);
			if (!o)
				o = find(globals, NULL, 0, a[1]);
			if (!o)
				return cli_usage(g->verb, "unknown option '%s'", a);
			if (o->type != OPT_FLAG && i + 1 < argc)
				value = argv[++i];
		}
		bool used;
		if (set_opt(o, args, value, &used) < 0)
			return cli_usage(g->verb, "option '--%s' needs a value", o->name);
	}
	if (g->connections_arg) {
		char *end;
		unsigned long v = strtoul(g->connections_arg, &end, 10);
		if (!isdigit((unsigned char)g->connections_arg[0]) || *end || v < 1 || v > 1024)
			return cli_usage(g->verb, "invalid --connections '%s' (a number from 1 to 1024)",
					 g->connections_arg);
		g->connections = (unsigned)v;
	}
	if (g->limit_upload_arg) {
		uint64_t v;
		if (cli_parse_size(g->limit_upload_arg, &v) < 0)
			return cli_usage(g->verb, "invalid --limit-upload '%s' (bytes per second, e.g. 10M or 500K; "
					 "0 = unlimited)", g->limit_upload_arg);
		g->limit_upload = v;
	}
	g->json = json;
	g->help = help;
	g->verbosity = g_quiet ? -1 : g_vv ? 2 : g_verbose_flag ? 1 : 0;
	return 0;
}

int cli_usage(const char *verb, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "cairn%s%s: ", verb ? " " : "", verb ? verb : "");
	cli_print_escaped(stderr, msg);
	fprintf(stderr, " (see 'cairn %s%s--help')\n", verb ? verb : "", verb ? " " : "");
	return EXIT_USAGE;
}
