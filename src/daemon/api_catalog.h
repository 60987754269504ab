/* The API's routes over a backup's file catalog (repo/catalog.h), for the
 * dashboard's file browser and any other client (docs/api.md):
 *
 *   GET /api/v1/backups/{backup}/catalog?path=DIR     one directory
 *   GET /api/v1/backups/{backup}/catalog/entry?path=P one entry, its extents
 *
 * The repository is named in the query like the CLI's --repo and --cred:
 * repo=URI (cred=NAME|UUID optional), or policy=NAME (that policy's
 * repository and credential, its passphrase first, as its runs open it).
 * {backup} is what the CLI takes: an id, a unique prefix, VOLUME@latest.
 * Reads only: a read-only token may browse. */
#ifndef CAIRN_DAEMON_API_CATALOG_H
#define CAIRN_DAEMON_API_CATALOG_H

#include <stddef.h>

struct cairn_api_req;

int cairn_api_get_catalog(struct cairn_api_req *rq);
int cairn_api_get_catalog_entry(struct cairn_api_req *rq);

/* A query-string value percent-decoded ('+' is a space), as browsers'
 * encodeURIComponent and URLSearchParams write it: the server keeps
 * escapes for the router to decode (api.c), so query values arrive raw.
 * CAIRN_EINVAL for a bad escape, a NUL, or more than size - 1 bytes.
 * Pure: tests/unit/test_api_static.c. */
int cairn_api_query_decode(const char *raw, char *out, size_t size);

#endif
