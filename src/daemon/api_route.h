/* The route table of the daemon's HTTP API: a request's method and path
 * to a handler, with the path's {parameters}.  Pure (no server, no
 * state): tests/unit/test_api_route.c. */
#ifndef CAIRN_DAEMON_API_ROUTE_H
#define CAIRN_DAEMON_API_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#define CAIRN_API_MAX_PARAMS 4
#define CAIRN_API_PARAM_MAX 256 /* bytes of one decoded parameter, NUL included */

struct cairn_api_req;
typedef int (*cairn_api_handler)(struct cairn_api_req *rq);

enum cairn_api_auth {
	CAIRN_API_READ = 0,   /* any token (read-only ones too) */
	CAIRN_API_WRITE = 1,  /* a token that may mutate */
	CAIRN_API_METRICS = 2, /* read, or none at all with --metrics-public */
};

struct cairn_api_route {
	const char *method;  /* "GET", "POST", "PUT", "DELETE" */
	const char *pattern; /* "/api/v1/policies/{name}/run": {x} matches one segment */
	cairn_api_handler handler;
	enum cairn_api_auth auth;
};

struct cairn_api_match {
	const struct cairn_api_route *route;
	size_t nparams;
	char params[CAIRN_API_MAX_PARAMS][CAIRN_API_PARAM_MAX]; /* percent-decoded, in pattern order */
	char allow[64]; /* 405: the methods the path takes, "GET, POST" */
};

/* 0 and m->route on a match; CAIRN_ENOTFOUND when no pattern matches the
 * path (404); CAIRN_EUNSUPPORTED when one does but not with this method
 * (405, m->allow says which).  A segment that decodes to something with
 * a NUL in it, a bad escape or too long matches nothing; %2F decodes to a
 * '/' inside its parameter. */
int cairn_api_route_match(const struct cairn_api_route *table, size_t n, const char *method, const char *path,
			  struct cairn_api_match *m);

#endif
