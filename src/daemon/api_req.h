/* One request of the daemon's HTTP API, as its handler sees it
 * (daemon/api_handlers.c), and the server's side of it (daemon/api.c). */
#ifndef CAIRN_DAEMON_API_REQ_H
#define CAIRN_DAEMON_API_REQ_H

#include "app/app.h"
#include "daemon/api_route.h"
#include "state/state.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

struct cairn_api;
struct cairn_api_daemon_status;

struct cairn_api_req {
	struct cairn_api *api;
	struct MHD_Connection *conn;
	const char *method, *url;
	bool tcp;             /* came over TCP (a token was checked) */
	struct cairn_api_match m;
	/* The body as received (at most body_max bytes; too_large past it). */
	char *body;
	size_t body_len;
	bool too_large;
	json_t *json;         /* the body parsed (an object), or NULL: none */
	struct cairn_state *st; /* from the pool, taken on first use */
	/* The reply a handler leaves: status and a JSON document (owned), or
	 * a response of its own (an event stream, text). */
	unsigned status;
	json_t *reply;
	struct MHD_Response *response;
	/* The server's side (api.c): the handler ran on a thread of its own
	 * (handled), the connection is suspended and counted (parked), the
	 * reply is queued (queued). */
	bool handled, parked, queued;
};

/* The state connection of the request (from the pool; back to it when the
 * request ends).  NULL with the error set when it cannot be opened. */
struct cairn_state *cairn_api_state(struct cairn_api_req *rq);
const struct cairn_app *cairn_api_app(const struct cairn_api_req *rq);
/* A query-string argument, or NULL. */
const char *cairn_api_query(struct cairn_api_req *rq, const char *key);
/* status and reply (reply is taken); returns 0. */
int cairn_api_reply(struct cairn_api_req *rq, unsigned status, json_t *reply);
/* A reply with an error of our own: {"error": {"code", "message"}}. */
int cairn_api_error(struct cairn_api_req *rq, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Is the server stopping (event streams end)? */
bool cairn_api_stopping(const struct cairn_api *a);
/* Makes the status document (api_handlers.c): from the status the
 * daemon's loop last set, when the server started, and now. */
typedef json_t *(*cairn_api_status_render)(const struct cairn_api_daemon_status *s, int64_t started, int64_t now);
/* The reply of /api/v1/status: render's document, made again only when
 * the second or the status changed, else the text made last (it is asked
 * a thousand times a second: bench/api.sh).  Returns 0. */
int cairn_api_status_reply(struct cairn_api_req *rq, cairn_api_status_render render);
/* Counts a connection about to be suspended (MHD_suspend_connection),
 * which cairn_api_stop waits to see resumed: false, nothing counted, when
 * the server is stopping (do not suspend then).  Unpark when the server's
 * thread sees the connection again. */
bool cairn_api_park(struct cairn_api *a);
void cairn_api_unpark(struct cairn_api *a);
/* Runs fn(arg) on a detached thread; cairn_api_stop waits for it to
 * return (after the servers stopped). */
int cairn_api_spawn(struct cairn_api *a, void *(*fn)(void *), void *arg);
/* Takes and returns a state connection of the pool (an event stream keeps
 * one for its life). */
struct cairn_state *cairn_api_pool_take(struct cairn_api *a);
void cairn_api_pool_give(struct cairn_api *a, struct cairn_state *st);

/* The routes (api_handlers.c) and their number. */
extern const struct cairn_api_route cairn_api_routes[];
extern const size_t cairn_api_nroutes;
/* Is the route's handler quick enough for the server's own thread (no
 * database, no waiting: /api/v1/status)?  The others run on a thread of
 * their own. */
bool cairn_api_route_quick(const struct cairn_api_route *r);

#endif
