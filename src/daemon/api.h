/* The HTTP API of `cairn daemon` (docs/api.md, docs/openapi.yaml):
 * libmicrohttpd serving JSON (jansson) under /api/v1/ on a Unix socket
 * (STATE_DIR/cairn.sock, 0600: whoever can open it is trusted like the
 * user running the daemon) and, when asked, on a TCP address, where every
 * request needs a bearer token (state/tokens.h) and TLS may be on.
 *
 * Threads: each server runs one event-loop thread (epoll) that answers
 * /api/v1/status itself and hands every other request to a thread of its
 * own (the connection suspended meanwhile); a job's event stream has a
 * polling thread.  Requests take a state connection from a small pool (a
 * struct cairn_state is one thread's at a time).  Mutations go
 * through app/ or the state calls the CLI makes; long work (a policy run)
 * is queued as a job row for the daemon's scheduler, which starts it like
 * a scheduled run: the reply is 202 with the job's id. */
#ifndef CAIRN_DAEMON_API_H
#define CAIRN_DAEMON_API_H

#include "app/app.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAIRN_API_BODY_MAX (256 * 1024) /* bytes of a request body (413 past it) */
#define CAIRN_API_SOCKET_NAME "cairn.sock"

struct cairn_api_opts {
	const struct cairn_app *app; /* its state_dir is the daemon's */
	const char *socket_path;     /* NULL: STATE_DIR/cairn.sock */
	const char *listen;          /* "HOST:PORT" (TCP, tokens), or NULL: the socket only */
	const char *tls_cert, *tls_key; /* PEM files: TLS on the TCP address */
	bool metrics_public;         /* /metrics without a token on TCP */
	const char *static_dir;      /* the dashboard's files (a GET outside /api/ that no
				      * route takes: "/" is index.html), or NULL: none */
	size_t body_max;             /* 0: CAIRN_API_BODY_MAX */
};

struct cairn_api;

/* Binds and starts serving (the socket file is replaced if stale; the
 * caller holds the daemon's lock). */
int cairn_api_start(const struct cairn_api_opts *o, struct cairn_api **ret);
/* Stops serving (event streams end), removes the socket file; accepts NULL. */
void cairn_api_stop(struct cairn_api *a);

/* What /api/v1/status tells without touching the database: the daemon's
 * loop sets it each pass. */
struct cairn_api_daemon_status {
	unsigned running_jobs; /* child processes of the daemon */
	unsigned max_jobs;
	bool stopping;
	int64_t last_tick;     /* unix seconds */
};
void cairn_api_set_status(struct cairn_api *a, const struct cairn_api_daemon_status *s);

#endif
