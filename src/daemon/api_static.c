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
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t el = strlen(types[i].ext);
		if (len > el && strcmp(name + len - el, types[i].ext) == 0) {
			if (ret_type)
				*ret_type = types[i].type;
			return true;
		}
	}
	return false;
}

int cairn_api_web_dir_check(const char *dir)
{
	char p[PATH_MAX];
	struct stat s;
	if ((size_t)snprintf(p, sizeof(p), "%s/index.html", dir) >= sizeof(p))
		return cairn_error_set(CAIRN_EINVAL, "web directory %s: path too long", dir);
	if (stat(p, &s) < 0 || !S_ISREG(s.st_mode))
		return cairn_error_set(CAIRN_ENOTFOUND, "web directory %s has no index.html (the dashboard's files)",
				       dir);
	return 0;
}

int cairn_api_web_dir_find(const char *exe, char *out, size_t size)
{
	char bin[PATH_MAX];
	snprintf(bin, sizeof(bin), "%s", exe);
	char *slash = strrchr(bin, '/');
	if (!slash)
		return cairn_error_set(CAIRN_ENOTFOUND, "cannot find the dashboard's files from %s", exe);
	*slash = 0;
	/* Installed (meson install_data): PREFIX/bin/cairn and
	 * PREFIX/share/cairn/web; then a build directory of the source tree. */
	static const char *const rel[] = { "/../share/cairn/web", "/../web" };
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char cand[PATH_MAX], real[PATH_MAX];
		if ((size_t)snprintf(cand, sizeof(cand), "%s%s", bin, rel[i]) >= sizeof(cand) || !realpath(cand, real))
			continue;
		if (cairn_api_web_dir_check(real) == 0 && strlen(real) < size) {
			memcpy(out, real, strlen(real) + 1);
			return 0;
		}
		cairn_error_clear();
	}
	return cairn_error_set(CAIRN_ENOTFOUND, "no dashboard files next to %s (share/cairn/web or ../web); "
						"give --web-dir DIR", exe);
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

int cairn_api_static_serve(struct cairn_api_req *rq, const char *dir)
{
	const char *path = rq->url;
	if (!dir || (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) || path[0] != '/')
		return CAIRN_ENOTFOUND;
	const char *name = path[1] ? path + 1 : "index.html";
	const char *type = NULL;
	if (!cairn_api_static_name(name, &type))
		return CAIRN_ENOTFOUND;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		cairn_api_error(rq, 500, "internal", "the dashboard's directory %s cannot be opened: %s", dir,
				strerror(errno));
		return 0;
	}
	/* O_NOFOLLOW: a symbolic link planted in the directory leads nowhere. */
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	close(dfd);
	struct stat s;
	if (fd < 0 || fstat(fd, &s) < 0 || !S_ISREG(s.st_mode)) {
		if (fd >= 0)
			close(fd);
		if (fd < 0 && e != ENOENT && e != ELOOP)
			cairn_api_error(rq, 500, "internal", "dashboard file %s: %s", name, strerror(e));
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
