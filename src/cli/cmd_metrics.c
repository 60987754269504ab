/* cairn metrics [--output FILE]: the daemon's /metrics text (daemon/metrics.h)
 * on stdout, or written atomically to FILE (node_exporter's textfile
 * collector reads whatever is there at the moment it looks). */
#include "cli/cli.h"
#include "daemon/metrics.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/time.h"
#include "util/tmpfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct metrics_args {
	const char *output;
};
static const struct cli_opt metrics_opts[] = {
	{ "output", 'o', OPT_STRING, CLI_ARG(struct metrics_args, output) },
	{ NULL, 0, 0, NULL, 0 },
};

static int write_atomic(const char *path, const struct cairn_buf *b)
{
	_cleanup_free_ char *d1 = strdup(path), *d2 = strdup(path);
	if (!d1 || !d2)
		return cairn_error_nomem();
	const char *dir = dirname(d1), *name = basename(d2);
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cairn_error_errno(errno, "--output %s", path);
	int fd = -1;
	_cleanup_free_ char *tmp = NULL;
	int r = cairn_tmp_create(dfd, dir, name, ".cairn-tmp.", &fd, &tmp);
	if (r < 0)
		return r;
	/* Readable by the collector (node_exporter runs as its own user). */
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0)
		r = cairn_error_errno(errno, "write %s", path);
	if (r >= 0)
		r = cairn_write_all(fd, b->data, b->len, path);
	if (r >= 0 && fsync(fd) < 0)
		r = cairn_error_errno(errno, "write %s", path);
	if (r >= 0)
		r = cairn_tmp_commit(dfd, dir, tmp, name, fd);
	if (r < 0)
		unlinkat(dfd, tmp, 0);
	close(fd);
	return r;
}

static int run_metrics(struct cli_ctx *c)
{
	const struct metrics_args *a = c->args;
	_cleanup_(cairn_buf_freep) struct cairn_buf b = CAIRN_BUF_INIT;
	int r = cairn_metrics_render(c->st, cairn_wall_now(), &b);
	if (r < 0)
		return cli_fail(r);
	if (a->output)
		return (r = write_atomic(a->output, &b)) < 0 ? cli_fail(r) : EXIT_OK;
	if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0)
		return cli_fail(cairn_error_errno(errno, "write metrics"));
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_metrics = {
	.verb = "metrics", .run = run_metrics, .opts = metrics_opts, .args_size = sizeof(struct metrics_args),
	.pos_max = 0, .needs = CLI_NEEDS_STATE,
};
