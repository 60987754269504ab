/* The API's routes over a backup's file catalog (repo/catalog.h), for the
 * dashboard's file browser and any other client (docs/api.md):
 *
 *   GET /api/v1/repositories/{repo}/backups/{id}/catalog?path=DIR
 *       one directory (at "/": the volume's file systems too)
 *   GET /api/v1/repositories/{repo}/backups/{id}/catalog/entry?path=P
 *       one entry, with its extents
 *
 * Restoring files is a job: POST /api/v1/restores/file (api_jobs.h).
 *
 * {repo} and ?cred= as the backups routes take them (a registered name or
 * a percent-encoded URI); {id} as the CLI takes a backup (an id, a unique
 * prefix, VOLUME@latest).  A read-only token may browse. */
#ifndef CAIRN_DAEMON_API_CATALOG_H
#define CAIRN_DAEMON_API_CATALOG_H

#include <stddef.h>

struct cairn_api_req;
struct cairn_repo;

int cairn_api_get_catalog(struct cairn_api_req *rq);
int cairn_api_get_catalog_entry(struct cairn_api_req *rq);

/* Opens the repository of the path's {repo} and ?cred= as the backups
 * routes do (api_handlers.c). */
int cairn_api_repo_of(struct cairn_api_req *rq, struct cairn_repo **ret);

/* A query-string value percent-decoded ('+' is a space), as browsers'
 * encodeURIComponent and URLSearchParams write it: the server keeps
 * escapes for the router to decode (api.c), so query values arrive raw.
 * CAIRN_EINVAL for a bad escape, a NUL, or more than size - 1 bytes.
 * Pure: tests/unit/test_api_static.c. */
int cairn_api_query_decode(const char *raw, char *out, size_t size);

#endif
