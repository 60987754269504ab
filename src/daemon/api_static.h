/* The dashboard's files (dashboard/ in the source tree, installed in
 * DATADIR/cairn/dashboard; `cairn daemon --static-dir`), served by the
 * daemon's HTTP server next to /api/v1/ (api.c hands it what no route
 * takes).
 *
 * Public: the page holds no data and no secret, so fetching it needs no
 * token (a browser cannot send one before the page asks for it); every
 * API call the page makes carries the token the user typed.
 *
 * Only files under the directory are served, by a path of plain names
 * (letters, digits, '.', '-', '_', none starting with '.'; the last with a
 * known extension), each directory opened from its parent's descriptor
 * without following symbolic links: no "..", no escapes, no links, so
 * nothing outside the directory can be reached however the path is
 * spelled.  Cached by the browser with a validator (ETag; "no-cache":
 * checked on each load, a 304 when unchanged), so an upgraded daemon's
 * page is never stale. */
#ifndef CAIRN_DAEMON_API_STATIC_H
#define CAIRN_DAEMON_API_STATIC_H

#include <stdbool.h>
#include <stddef.h>

struct cairn_api_req;

/* Serves GET or HEAD of path from the web directory: "/" is index.html.
 * 0 with the reply set (200, 304 for a matching If-None-Match, 404);
 * CAIRN_ENOTFOUND, nothing set, when path is not a dashboard path at all
 * (then the API's own 404 applies). */
int cairn_api_static_serve(struct cairn_api_req *rq, const char *dir);

/* Is name (one path component) a plain name (the rule above)?  With
 * ret_type: also a file the dashboard may serve, the MIME type of its
 * extension in *ret_type.  Pure: tests/unit/test_api_static.c. */
bool cairn_api_static_name(const char *name, const char **ret_type);

#endif
