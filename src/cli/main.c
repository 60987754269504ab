/* cairn: entry point and verb dispatch. */
#include "app/settings.h"
#include "cairn/cairn.h"
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "util/log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void on_signal(int sig)
{
	/* First signal: stop at a safe point; second: die at once. */
	if (cairn_cancel_requested)
		signal(sig, SIG_DFL), raise(sig);
	cairn_cancel_requested = 1;
}

/* A backup reads its source through a mapping, faulted in beforehand so
 * that errors are returned (source/volume.h); a source truncated in the
 * instant between that and the read still raises SIGBUS.  Dying then is
 * safe (as after kill -9, nothing is left half-written), but deserves one
 * line saying why. */
static void on_sigbus(int sig)
{
	static const char msg[] = "cairn: a mapped file (the source volume?) shrank or failed while it was read\n";
	(void)sig;
	ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)ignored;
	_exit(EXIT_FAIL);
}

static const struct cli_cmd *const commands[] = {
	&cli_cmd_init,    &cli_cmd_backup,  &cli_cmd_list,   &cli_cmd_restore, &cli_cmd_check,
	&cli_cmd_diff,    &cli_cmd_key,     &cli_cmd_repair, &cli_cmd_cred,    &cli_cmd_snapshot,
	&cli_cmd_group,   &cli_cmd_policy,  &cli_cmd_daemon, &cli_cmd_status,  &cli_cmd_log,
	&cli_cmd_cancel,  &cli_cmd_forget,  &cli_cmd_hold,   &cli_cmd_release, &cli_cmd_prune,
	&cli_cmd_export_details, &cli_cmd_import, &cli_cmd_repos, &cli_cmd_dr,
	&cli_cmd_copy,
	&cli_cmd_standby,
	&cli_cmd_drill,
	&cli_cmd_notify, &cli_cmd_metrics,
	&cli_cmd_mount, &cli_cmd_umount,
	&cli_cmd_catalog,
	&cli_cmd_restore_file,
	&cli_cmd_token,
};

int main(int argc, char **argv)
{
	/* No core dumps, and no ptrace or /proc/PID/{environ,mem,fd} for
	 * processes without CAP_SYS_PTRACE, even of the same user: cairn's
	 * memory holds the repository's keys and passphrase (secret memory is
	 * also marked MADV_DONTDUMP, but OpenSSL's key schedules are not).
	 * /proc/self stays readable to cairn itself, /proc/PID/stat to all
	 * (job bookkeeping); a program cairn execs is dumpable again. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	cairn_crypto_use_huge_pages(); /* before OpenSSL allocates */
	const struct cairn_settings *settings = cairn_settings_init(); /* the environment, read once */
	cli_passphrase_take_env();

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The daemon starts jobs with these blocked (see spawn in cmd_daemon.c). */
	sigset_t stops;
	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	sigprocmask(SIG_UNBLOCK, &stops, NULL);

	/* The verb is the first word that is not an option or an option's value. */
	struct cli_global g = { .settings = settings };
	int vi = 1;
	while (vi < argc && argv[vi][0] == '-') {
		const char *a = argv[vi];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cli_help(NULL);
			return EXIT_OK;
		}
		if (strcmp(a, "--version") == 0) {
			printf("cairn %s\n", CAIRN_VERSION_STRING);
			return EXIT_OK;
		}
		bool takes_value = strcmp(a, "--repo") == 0 || strcmp(a, "-r") == 0 ||
				   strcmp(a, "--passphrase-file") == 0 || strcmp(a, "--state-dir") == 0 ||
				   strcmp(a, "--cred") == 0 || strcmp(a, "--connections") == 0 ||
				   strcmp(a, "--limit-upload") == 0;
		vi += takes_value ? 2 : 1;
	}
	if (vi >= argc) {
		cli_help(NULL);
		return EXIT_USAGE;
	}
	const char *verb = argv[vi];
	if (strcmp(verb, "help") == 0) {
		char both[64];
		const char *what = vi + 1 < argc ? argv[vi + 1] : NULL;
		if (vi + 2 < argc && snprintf(both, sizeof(both), "%s %s", argv[vi + 1], argv[vi + 2]) < (int)sizeof(both))
			what = both; /* help cred create */
		if (!cli_help(what))
			return cli_usage(NULL, "unknown command '%s'", argv[vi + 1]);
		return EXIT_OK;
	}
	if (strcmp(verb, "version") == 0) {
		printf("cairn %s\n", CAIRN_VERSION_STRING);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i]->verb, verb) != 0)
			continue;
		g.verb = verb;
		/* Hand the command every word but the verb, globals included. */
		char *args[argc];
		int n = 0;
		for (int k = 1; k < argc; k++)
			if (k != vi)
				args[n++] = argv[k];
		return cli_dispatch(commands[i], n, args, &g);
	}
	return cli_usage(NULL, "unknown command '%s'", verb);
}
