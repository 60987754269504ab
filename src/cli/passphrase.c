/* The command line's passphrase sources (app/passphrase.h): the
 * environment's copies, taken out of the environment at start, and the
 * terminal's prompt without echo. */
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PASS_MAX CAIRN_PASS_MAX

extern char **environ;

/* CAIRN_PASSPHRASE, CAIRN_NEW_PASSPHRASE and those of a second repository
 * (init --copy-keys-from's source, copy's destination), taken from the
 * environment. */
static const char *const env_names[4] = { "CAIRN_PASSPHRASE", "CAIRN_NEW_PASSPHRASE", "CAIRN_FROM_PASSPHRASE",
					  "CAIRN_TO_PASSPHRASE" };
static char *env_values[4];

static void take_env(size_t i)
{
	const char *name = env_names[i];
	size_t n = strlen(name);
	const char *v = getenv(name);
	if (!v)
		return;
	size_t len = strlen(v);
	env_values[i] = cairn_secret_alloc(len + 1);
	if (!env_values[i])
		return; /* it stays where it is: see env_value() */
	memcpy(env_values[i], v, len + 1);
	/* Wipe every NAME=... in place (the strings are those the kernel put
	 * on the stack, which /proc/PID/environ shows), then drop the entries:
	 * unsetenv still finds them by their name. */
	for (char **e = environ; *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			cairn_wipe(*e + n + 1, strlen(*e + n + 1));
	unsetenv(name);
}

static const char *env_value(size_t i)
{
	return env_values[i] ? env_values[i] : getenv(env_names[i]);
}

void cli_passphrase_take_env(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(env_names); i++)
		take_env(i);
}

char *cli_passphrase_env_entry(void)
{
	const char *v = env_value(0);
	if (!v)
		return NULL;
	size_t n = strlen(env_names[0]) + 1 + strlen(v) + 1;
	char *p = cairn_secret_alloc(n);
	if (p)
		snprintf(p, n, "%s=%s", env_names[0], v);
	return p;
}

/* hint: what is missing and where else it can come from, for the error
 * without a terminal. */
static int prompt_once(const char *prompt, const char *hint, char *buf)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return cairn_error_set(CAIRN_EINVAL, "no %s", hint);
	struct termios old, quiet;
	bool restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	(void)!write(fd, prompt, strlen(prompt));
	size_t n = 0;
	char c;
	while (n < PASS_MAX - 1 && read(fd, &c, 1) == 1 && c != '\n')
		buf[n++] = c;
	buf[n] = 0;
	(void)!write(fd, "\n", 1);
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	return (int)n;
}

int cli_prompt(void *ud, const char *what, const char *hint, bool confirm, char **ret, size_t *ret_len)
{
	(void)ud;
	char *p = cairn_secret_alloc(PASS_MAX), *q = NULL;
	if (!p)
		return cairn_error_nomem();
	char prompt[64];
	snprintf(prompt, sizeof(prompt), "Enter %s: ", what);
	int n = prompt_once(prompt, hint, p);
	if (n < 0) {
		cli_passphrase_free(p, 0);
		return n;
	}
	if (confirm) {
		q = cairn_secret_alloc(PASS_MAX);
		snprintf(prompt, sizeof(prompt), "Repeat %s: ", what);
		if (!q || prompt_once(prompt, hint, q) < 0 || strcmp(p, q) != 0) {
			cli_passphrase_free(p, 0);
			cli_passphrase_free(q, 0);
			return cairn_error_set(CAIRN_EINVAL, "the passphrases do not match");
		}
		cli_passphrase_free(q, 0);
	}
	*ret = p;
	*ret_len = (size_t)n;
	return 0;
}

const char *cli_passphrase_env(void)
{
	return env_value(0);
}

int cli_passphrase(struct cli_global *g, bool confirm, char **ret, size_t *ret_len)
{
	return cairn_app_passphrase(&cli_app(g)->pass, confirm, NULL, ret, ret_len);
}

int cli_new_passphrase(const char *file, char **ret, size_t *ret_len)
{
	const struct cairn_pass_source src = {
		.file = file ? file : getenv("CAIRN_NEW_PASSPHRASE_FILE"), .value = env_value(1), .prompt = cli_prompt,
		.what = "new passphrase",
		.hint = "new passphrase: set CAIRN_NEW_PASSPHRASE or CAIRN_NEW_PASSPHRASE_FILE, or use "
			"--new-passphrase-file",
	};
	return cairn_app_passphrase(&src, true, NULL, ret, ret_len);
}

void cli_second_pass_source(bool to, const char *file, struct cairn_pass_source *ret)
{
	const char *env_file = to ? "CAIRN_TO_PASSPHRASE_FILE" : "CAIRN_FROM_PASSPHRASE_FILE";
	*ret = (struct cairn_pass_source){
		.file = file ? file : getenv(env_file),
		.value = env_value(to ? 3 : 2),
		.prompt = cli_prompt,
		.what = to ? "destination passphrase" : "source passphrase",
		.hint = to ? "destination passphrase: set CAIRN_TO_PASSPHRASE or CAIRN_TO_PASSPHRASE_FILE, use "
			     "--to-passphrase-file, or a --to-cred with an encryption passphrase"
			   : "source passphrase: set CAIRN_FROM_PASSPHRASE or CAIRN_FROM_PASSPHRASE_FILE, use "
			     "--from-passphrase-file, or a --from-cred with an encryption passphrase",
	};
}
