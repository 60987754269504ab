/* The dashboard's files (web/ in the source tree, DATADIR/cairn/web when
 * installed), served by the daemon's HTTP server next to /api/v1/.
 *
 * Public: the page holds no data and no secret, so fetching it needs no
 * token (a browser cannot send one before the page asks for it); every
 * API call the page makes carries the token the user typed.
 *
 * Only the directory's own files are served, by a plain name (letters,
 * digits, '.', '-', '_', not starting with '.') with a known extension:
 * no '/', no "..", no symbolic links, no other directory, so nothing
 * outside the directory can be reached however the path is spelled. */
#ifndef CAIRN_DAEMON_API_STATIC_H
#define CAIRN_DAEMON_API_STATIC_H

#include <stdbool.h>
#include <stddef.h>

struct cairn_api_req;

/* Finds the dashboard's directory from the path of the running binary:
 * PREFIX/bin/cairn -> PREFIX/share/cairn/web (installed), BUILD/cairn ->
 * BUILD/../web (a build directory inside the source tree).  0 and the
 * directory in out; CAIRN_ENOTFOUND when neither holds an index.html. */
int cairn_api_web_dir_find(const char *exe, char *out, size_t size);

/* Checks that dir holds the dashboard (an index.html): CAIRN_ENOTFOUND
 * naming what is missing otherwise. */
int cairn_api_web_dir_check(const char *dir);

/* Serves GET or HEAD of path from the web directory: "/" is index.html.
 * 0 with the reply set (200, 304 for a matching If-None-Match, 404);
 * CAIRN_ENOTFOUND, nothing set, when path is not a dashboard path at all
 * (then the API's own 404 applies). */
int cairn_api_static_serve(struct cairn_api_req *rq, const char *dir);

/* Is name a file name the dashboard may serve (the rule above)?  The MIME
 * type of its extension in *ret_type.  Pure: tests/unit/test_api_static.c. */
bool cairn_api_static_name(const char *name, const char **ret_type);

#endif
