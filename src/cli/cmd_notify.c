/* cairn notify add|list|remove|test: where alerts go (app/notify.h; the
 * daemon announces, daemon/alerts.h). */
#include "app/notify.h"
#include "cli/cli.h"
#include "state/state.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct notify_args {
	const char *webhook, *exec, *on, *timeout;
	unsigned events, timeout_s; /* from on and timeout */
};
static const struct cli_opt notify_opts[] = {
	{ "webhook", 0, OPT_STRING, CLI_ARG(struct notify_args, webhook) },
	{ "exec", 0, OPT_STRING, CLI_ARG(struct notify_args, exec) },
	{ "on", 0, OPT_STRING, CLI_ARG(struct notify_args, on) },
	{ "timeout", 0, OPT_STRING, CLI_ARG(struct notify_args, timeout) },
	{ NULL, 0, 0, NULL, 0 },
};

static const char *const subs[] = { "add", "list", "remove", "test", NULL };

static int check_notify(struct cli_ctx *c)
{
	struct notify_args *a = c->args;
	const char *sub = c->pos.v[0];
	size_t k = 0;
	while (subs[k] && strcmp(subs[k], sub) != 0)
		k++;
	if (!subs[k])
		return cli_usage("notify", "unknown subcommand '%s' (add, list, remove, test)", sub);
	bool add = !strcmp(sub, "add");
	if (!add && (a->webhook || a->exec || a->on || a->timeout))
		return cli_usage("notify", "--webhook, --exec, --on and --timeout go with 'notify add'");
	if (!strcmp(sub, "list") && c->pos.n != 1)
		return cli_usage("notify", "'notify list' takes no argument");
	if (!strcmp(sub, "remove") && c->pos.n != 2)
		return cli_usage("notify", "'notify remove' needs one NAME");
	if (!add)
		return 0;
	if (!a->webhook == !a->exec)
		return cli_usage("notify", "give one of --webhook URL or --exec CMD");
	if (c->pos.n == 2 && cairn_state_name_check("notifier", c->pos.v[1]) < 0)
		return cli_usage("notify", "%s", cairn_error_message());
	if (a->webhook && strncmp(a->webhook, "http://", 7) != 0 && strncmp(a->webhook, "https://", 8) != 0)
		return cli_usage("notify", "invalid --webhook '%s' (an http:// or https:// URL)", a->webhook);
	if (a->exec && !*a->exec)
		return cli_usage("notify", "empty --exec command");
	a->events = CAIRN_NOTIFY_ALL;
	if (a->on && cairn_notify_events_parse(a->on, &a->events) < 0)
		return cli_usage("notify", "invalid --on: %s", cairn_error_message());
	a->timeout_s = 10;
	if (a->timeout) {
		char *end;
		unsigned long v = strtoul(a->timeout, &end, 10);
		if (a->timeout[0] < '0' || a->timeout[0] > '9' || (*end && strcmp(end, "s") != 0) || v < 1 || v > 3600)
			return cli_usage("notify", "invalid --timeout '%s' (seconds, 1 to 3600)", a->timeout);
		a->timeout_s = (unsigned)v;
	}
	return 0;
}

static json_t *notifier_json(const struct cairn_notifier *n)
{
	char ev[32], created[48];
	cairn_notify_events_format(n->events, ev, sizeof(ev));
	cairn_time_format(n->created, created, sizeof(created));
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "name", n->name, "kind", n->exec ? "exec" : "webhook",
			 "target", n->target, "on", ev, "timeout_s", (int)n->timeout_s, "created", created);
}

static int run_add(struct cli_ctx *c)
{
	const struct notify_args *a = c->args;
	struct cli_global *g = c->g;
	char name[80];
	const char *base = a->webhook ? "webhook" : "exec";
	struct cairn_notifier n = { .exec = a->exec != NULL, .target = (char *)(a->exec ? a->exec : a->webhook),
				    .events = a->events, .timeout_s = a->timeout_s, .created = cairn_wall_now() };
	int r;
	if (c->pos.n == 2) {
		n.name = (char *)c->pos.v[1];
		r = cairn_notifier_add(c->st, &n);
	} else {
		/* No name: the kind's, numbered past those taken. */
		for (unsigned i = 1;; i++) {
			snprintf(name, sizeof(name), i == 1 ? "%s" : "%s-%u", base, i);
			n.name = name;
			if ((r = cairn_notifier_add(c->st, &n)) != CAIRN_EEXIST || i >= 1000)
				break;
			cairn_error_clear();
		}
	}
	if (r < 0)
		return cli_fail(r);
	if (g->json)
		cli_print_json(notifier_json(&n));
	else if (g->verbosity >= 0)
		fprintf(stderr, "notifier %s added ('cairn notify test %s' sends a test event)\n", n.name, n.name);
	return EXIT_OK;
}

static int run_list(struct cli_ctx *c)
{
	struct cairn_notifier *v = NULL;
	size_t n = 0;
	int r = cairn_notifier_list(c->st, &v, &n);
	if (r < 0)
		return cli_fail(r);
	if (c->g->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, notifier_json(&v[i]));
		cli_print_json(arr);
	} else {
		printf("%-20s  %-7s  %-11s  %-7s  %s\n", "NAME", "KIND", "ON", "TIMEOUT", "TARGET");
		for (size_t i = 0; i < n; i++) {
			char ev[32];
			cairn_notify_events_format(v[i].events, ev, sizeof(ev));
			printf("%-20s  %-7s  %-11s  %-7u  ", v[i].name, v[i].exec ? "exec" : "webhook", ev, v[i].timeout_s);
			cli_print_escaped(stdout, v[i].target);
			fputc('\n', stdout);
		}
	}
	cairn_notifiers_free(v, n);
	return EXIT_OK;
}

static int run_test(struct cli_ctx *c)
{
	struct cli_global *g = c->g;
	struct cairn_notifier *v = NULL;
	size_t n = 0;
	int r;
	if (c->pos.n == 2) {
		if ((v = calloc(1, sizeof(*v))) == NULL)
			return cli_fail(cairn_error_nomem());
		if ((r = cairn_notifier_get(c->st, c->pos.v[1], v)) < 0) {
			free(v);
			return cli_fail(r);
		}
		n = 1;
	} else if ((r = cairn_notifier_list(c->st, &v, &n)) < 0) {
		return cli_fail(r);
	}
	if (n == 0) {
		cairn_notifiers_free(v, n);
		return cli_fail(cairn_error_set(CAIRN_ENOTFOUND, "no notifier to test (add one with 'cairn notify add')"));
	}
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	json_t *arr = json_array();
	unsigned failed = 0;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *body = NULL;
		r = cairn_notify_event_test(v[i].name, cairn_wall_now(), host, &body);
		if (r >= 0)
			r = cairn_notify_deliver(&v[i], body, &g->settings->store.http);
		char msg[1024] = "";
		if (r < 0) {
			failed++;
			cairn_error_copy(msg, sizeof(msg));
			cairn_error_clear();
		}
		if (g->json)
			json_array_append_new(arr, json_pack("{s:s, s:b, s:o}", "name", v[i].name, "ok", r >= 0, "error",
							     r < 0 ? json_string(msg) : json_null()));
		else if (r < 0)
			fprintf(stderr, "cairn: %s\n", msg);
		else if (g->verbosity >= 0)
			fprintf(stderr, "notifier %s: test event delivered\n", v[i].name);
	}
	if (g->json)
		cli_print_json(arr);
	else
		json_decref(arr);
	cairn_notifiers_free(v, n);
	return failed ? EXIT_FAIL : EXIT_OK;
}

static int run_notify(struct cli_ctx *c)
{
	const char *sub = c->pos.v[0];
	if (!strcmp(sub, "add"))
		return run_add(c);
	if (!strcmp(sub, "list"))
		return run_list(c);
	if (!strcmp(sub, "test"))
		return run_test(c);
	int r = cairn_notifier_remove(c->st, c->pos.v[1]);
	if (r < 0)
		return cli_fail(r);
	if (c->g->json)
		cli_print_json(json_pack("{s:s}", "removed", c->pos.v[1]));
	else if (c->g->verbosity >= 0)
		fprintf(stderr, "notifier %s removed\n", c->pos.v[1]);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_notify = {
	.verb = "notify", .run = run_notify, .opts = notify_opts, .args_size = sizeof(struct notify_args),
	.pos_min = 1, .pos_max = 2, .pos_few = "missing subcommand: add, list, remove or test",
	.needs = CLI_NEEDS_STATE, .check = check_notify, .help_sub = true,
};
