/* Passphrase sources: a file, a value taken from the environment by the
 * front end, a credential's encryption passphrase, and last a prompt the
 * front end supplies (the terminal's, without echo).  Never the command
 * line itself, where `ps` would show it.  Secrets live in locked memory
 * left out of core dumps (crypto.h cairn_secret_alloc). */
#ifndef CAIRN_APP_PASSPHRASE_H
#define CAIRN_APP_PASSPHRASE_H

#include <stdbool.h>
#include <stddef.h>

#define CAIRN_PASS_MAX 4096 /* bytes, with the terminating NUL */

/* Asks for a secret (twice when confirm); what names it in the prompt,
 * hint says what is missing when there is no one to ask. */
typedef int (*cairn_prompt_fn)(void *ud, const char *what, const char *hint, bool confirm, char **ret,
			       size_t *ret_len);

struct cairn_pass_source {
	const char *file;  /* read first (NULL or "": none) */
	const char *value; /* then this, borrowed (NULL: none) */
	cairn_prompt_fn prompt; /* last (NULL: none) */
	void *prompt_ud;
	const char *what, *hint; /* for the prompt */
};

struct cairn_cred;
/* A passphrase from src: its file, its value, then the encryption
 * passphrase of cred (may be NULL), then its prompt.  Free with
 * cairn_app_secret_free. */
int cairn_app_passphrase(const struct cairn_pass_source *src, bool confirm, const struct cairn_cred *cred,
			 char **ret, size_t *ret_len);
/* A secret from a file (one trailing newline dropped; NUL bytes and more
 * than CAIRN_PASS_MAX - 1 bytes refused); what names it in messages. */
int cairn_app_secret_file(const char *path, const char *what, char **ret, size_t *ret_len);
/* A copy of s in secret memory. */
int cairn_app_secret_copy(const char *s, char **ret, size_t *ret_len);
void cairn_app_secret_free(char *p, size_t len);

#endif
