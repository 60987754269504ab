/* Serving the dashboard's files (api_static.h). */
#include "daemon/api_static.h"
#include "daemon/api_req.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_LEN 64

static const struct {
	const char *ext, *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".json", "application/json" },
	{ ".txt", "text/plain; charset=utf-8" },
};

bool cairn_api_static_name(const char *name, const char **ret_type)
{
	size_t len = strlen(name);
	if (!len || len > NAME_MAX_LEN || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '-' || c == '_'))
			return false;
	}
	if (!ret_type)
		return true;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t el = strlen(types[i].ext);
		if (len > el && strcmp(name + len - el, types[i].ext) == 0) {
			*ret_type = types[i].type;
			return true;
		}
	}
	return false;
}

/* A validator that changes when the file does: its size and mtime. */
static void etag_of(const struct stat *s, char out[64])
{
	snprintf(out, 64, "\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)s->st_size,
		 (uint64_t)s->st_mtim.tv_sec * 1000000000u + (uint64_t)s->st_mtim.tv_nsec);
}

static bool etag_matches(const char *inm, const char *etag)
{
	if (!inm)
		return false;
	if (strcmp(inm, "*") == 0)
		return true;
	/* A list of tags, maybe weak (W/"..."): the quoted part is ours. */
	return strstr(inm, etag) != NULL;
}

static void headers(struct MHD_Response *resp, const char *type, const char *etag)
{
	if (type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	/* Kept by the browser but checked each load (a 304 costs one small
	 * round trip): an upgraded daemon's page is never stale. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	/* The page loads only its own files and talks only to its own origin;
	 * no other site may frame it (clickjacking a restore button). */
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
				"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
}

/* Opens dir/path, path a '/'-separated list of plain names, one
 * component at a time from the parent's descriptor, following no link.
 * -1 with errno, or CAIRN_ENOTFOUND (errno 0) when path is not a
 * dashboard path at all; *ret_type: the file's MIME type. */
static int open_under(const char *dir, const char *path, const char **ret_type)
{
	char comp[NAME_MAX_LEN + 1];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (unsigned depth = 0;; depth++) {
		const char *slash = strchr(path, '/');
		size_t len = slash ? (size_t)(slash - path) : strlen(path);
		bool last = !slash;
		if (len > NAME_MAX_LEN || depth >= 8) {
			close(fd);
			return errno = 0, CAIRN_ENOTFOUND;
		}
		memcpy(comp, path, len);
		comp[len] = 0;
		if (!cairn_api_static_name(comp, last ? ret_type : NULL)) {
			close(fd);
			return errno = 0, CAIRN_ENOTFOUND;
		}
		int next = openat(fd, comp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (last ? 0 : O_DIRECTORY));
		int e = errno;
		close(fd);
		if (next < 0)
			return errno = e, -1;
		if (last)
			return next;
		fd = next;
		path = slash + 1;
	}
}

int cairn_api_static_serve(struct cairn_api_req *rq, const char *dir)
{
	const char *path = rq->url;
	if (!dir || (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) || path[0] != '/')
		return CAIRN_ENOTFOUND;
	const char *type = NULL;
	int fd = open_under(dir, path[1] ? path + 1 : "index.html", &type);
	if (fd == CAIRN_ENOTFOUND)
		return CAIRN_ENOTFOUND;
	int e = errno;
	struct stat s;
	if (fd < 0 || fstat(fd, &s) < 0 || !S_ISREG(s.st_mode)) {
		if (fd >= 0)
			close(fd);
		/* Missing, a link, a directory where a file was asked for: the
		 * API's own 404 says so. */
		if (fd < 0 && e != ENOENT && e != ELOOP && e != ENOTDIR && e != EISDIR)
			cairn_api_error(rq, 500, "internal", "dashboard file %s: %s", path, strerror(e));
		else
			cairn_api_error(rq, 404, "not_found", "no such resource: %s", path);
		return 0;
	}
	char etag[64];
	etag_of(&s, etag);
	const char *inm = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	struct MHD_Response *resp;
	if (etag_matches(inm, etag)) {
		close(fd);
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		rq->status = 304;
		type = NULL;
	} else {
		/* The response owns fd from here (closed with it). */
		resp = MHD_create_response_from_fd((size_t)s.st_size, fd);
		rq->status = 200;
		if (!resp)
			close(fd);
	}
	if (!resp)
		return cairn_error_nomem();
	headers(resp, type, etag);
	rq->response = resp;
	return 0;
}
