/* Passphrase sources (passphrase.h). */
#include "app/passphrase.h"
#include "crypto/crypto.h"
#include "state/cred.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void cairn_app_secret_free(char *p, size_t len)
{
	cairn_secret_free(p, len + 1 > CAIRN_PASS_MAX ? len + 1 : CAIRN_PASS_MAX);
}

int cairn_app_secret_file(const char *path, const char *what, char **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cairn_error_errno(errno, "cannot read %s %s", what, path);
	char *p = cairn_secret_alloc(CAIRN_PASS_MAX);
	if (!p) {
		close(fd);
		return cairn_error_nomem();
	}
	size_t n = 0;
	for (;;) {
		char extra;
		ssize_t k = n < CAIRN_PASS_MAX - 1 ? read(fd, p + n, CAIRN_PASS_MAX - 1 - n) : read(fd, &extra, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int r = cairn_error_errno(errno, "cannot read %s %s", what, path);
			close(fd);
			cairn_app_secret_free(p, 0);
			return r;
		}
		if (k == 0)
			break;
		if (n == CAIRN_PASS_MAX - 1) {
			/* A cut secret would fail later for no visible reason. */
			close(fd);
			cairn_app_secret_free(p, 0);
			return cairn_error_set(CAIRN_EINVAL, "%s %s is longer than %d bytes", what, path,
					       CAIRN_PASS_MAX - 1);
		}
		n += (size_t)k;
	}
	close(fd);
	/* One trailing newline is the file's, not the passphrase's. */
	if (n && p[n - 1] == '\n')
		n--;
	if (n && p[n - 1] == '\r')
		n--;
	if (memchr(p, 0, n)) {
		cairn_app_secret_free(p, 0);
		return cairn_error_set(CAIRN_EINVAL, "%s %s contains a NUL byte", what, path);
	}
	p[n] = 0;
	*ret = p;
	*ret_len = n;
	return 0;
}

int cairn_app_secret_copy(const char *s, char **ret, size_t *ret_len)
{
	size_t n = strlen(s);
	if (n >= CAIRN_PASS_MAX)
		return cairn_error_set(CAIRN_EINVAL, "passphrase longer than %d bytes", CAIRN_PASS_MAX - 1);
	char *p = cairn_secret_alloc(CAIRN_PASS_MAX);
	if (!p)
		return cairn_error_nomem();
	memcpy(p, s, n + 1);
	*ret = p;
	*ret_len = n;
	return 0;
}

int cairn_app_passphrase(const struct cairn_pass_source *src, bool confirm, const struct cairn_cred *cred,
			 char **ret, size_t *ret_len)
{
	if (src->file && *src->file)
		return cairn_app_secret_file(src->file, "passphrase file", ret, ret_len);
	if (src->value)
		return cairn_app_secret_copy(src->value, ret, ret_len);
	if (cred && cred->passphrase) {
		cairn_log_info("repository passphrase: the encryption passphrase of credential %s", cred->uuid);
		return cairn_app_secret_copy(cred->passphrase, ret, ret_len);
	}
	if (!src->prompt)
		return cairn_error_set(CAIRN_EINVAL, "no %s", src->hint ? src->hint : "passphrase");
	return src->prompt(src->prompt_ud, src->what, src->hint, confirm, ret, ret_len);
}
