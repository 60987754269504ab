/* The daemon's HTTP server (api.h): sockets, libmicrohttpd, tokens, the
 * body cap, errors as JSON, and handing each request to its route's
 * handler (api_handlers.c). */
#include "daemon/api.h"
#include "daemon/api_body.h"
#include "daemon/api_req.h"
#include "daemon/api_static.h"
#include "state/tokencache.h"
#include "state/tokens.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"
#include "util/parallel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define POOL_MAX 8
/* Bytes of libmicrohttpd's memory for one connection (its default is 32
 * KiB, cleared for every request): a request's headers, a browser's
 * cookies too, fit in half of it. */
#define CONN_MEMORY (16 * 1024)

/* One listening server: the Unix socket's or the TCP address's. */
struct server {
	struct cairn_api *api;
	struct MHD_Daemon *d;
	bool tcp;
	int fd;
};

struct cairn_api {
	const struct cairn_app *app;
	size_t body_max;
	bool metrics_public;
	char *socket_path;
	char *static_dir; /* the dashboard's files, or NULL */
	char *cert, *key; /* PEM, TLS on the TCP server */
	struct server unix_srv, tcp_srv;
	pthread_mutex_t lock; /* status, pool, tokens, parked, threads */
	pthread_cond_t idle;  /* parked or threads fell to 0 */
	struct cairn_api_daemon_status status;
	int64_t started;
	struct cairn_state *pool[POOL_MAX];
	size_t npool;
	/* The quick path's tokens (opened on first use; NULL and
	 * tokens_failed: every request takes the full check). */
	struct cairn_token_cache *tokens;
	bool tokens_failed;
	/* The status body last made (cairn_api_status_reply): for this
	 * second and status. */
	char *status_text;
	size_t status_len;
	int64_t status_now;
	struct cairn_api_daemon_status status_of;
	unsigned parked;  /* connections suspended (cairn_api_park) */
	unsigned threads; /* threads of cairn_api_spawn still running */
	volatile bool stopping;
};

/* ---- what handlers use ---- */

struct cairn_state *cairn_api_pool_take(struct cairn_api *a)
{
	struct cairn_state *st = NULL;
	pthread_mutex_lock(&a->lock);
	if (a->npool)
		st = a->pool[--a->npool];
	pthread_mutex_unlock(&a->lock);
	if (!st && cairn_app_state_open(a->app, false, &st) < 0)
		return NULL;
	return st;
}

void cairn_api_pool_give(struct cairn_api *a, struct cairn_state *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&a->lock);
	if (a->npool < POOL_MAX) {
		a->pool[a->npool++] = st;
		st = NULL;
	}
	pthread_mutex_unlock(&a->lock);
	cairn_state_free(st);
}

struct cairn_state *cairn_api_state(struct cairn_api_req *rq)
{
	if (!rq->st)
		rq->st = cairn_api_pool_take(rq->api);
	return rq->st;
}

const struct cairn_app *cairn_api_app(const struct cairn_api_req *rq)
{
	return rq->api->app;
}

const char *cairn_api_query(struct cairn_api_req *rq, const char *key)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

int cairn_api_reply(struct cairn_api_req *rq, unsigned status, json_t *reply)
{
	json_decref(rq->reply);
	rq->status = status;
	rq->reply = reply;
	return 0;
}

int cairn_api_error(struct cairn_api_req *rq, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cairn_api_reply(rq, status, json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg));
}

bool cairn_api_stopping(const struct cairn_api *a)
{
	return a->stopping;
}

bool cairn_api_park(struct cairn_api *a)
{
	pthread_mutex_lock(&a->lock);
	bool ok = !a->stopping;
	if (ok)
		a->parked++;
	pthread_mutex_unlock(&a->lock);
	return ok;
}

void cairn_api_unpark(struct cairn_api *a)
{
	pthread_mutex_lock(&a->lock);
	if (--a->parked == 0)
		pthread_cond_broadcast(&a->idle);
	pthread_mutex_unlock(&a->lock);
}

struct spawned {
	struct cairn_api *a;
	void *(*fn)(void *);
	void *arg;
};

static void *spawned_main(void *p)
{
	struct spawned sp = *(struct spawned *)p;
	free(p);
	sp.fn(sp.arg);
	pthread_mutex_lock(&sp.a->lock);
	if (--sp.a->threads == 0)
		pthread_cond_broadcast(&sp.a->idle);
	pthread_mutex_unlock(&sp.a->lock);
	return NULL;
}

int cairn_api_spawn(struct cairn_api *a, void *(*fn)(void *), void *arg)
{
	struct spawned *sp = malloc(sizeof(*sp));
	if (!sp)
		return cairn_error_nomem();
	*sp = (struct spawned){ a, fn, arg };
	pthread_mutex_lock(&a->lock);
	a->threads++;
	pthread_mutex_unlock(&a->lock);
	int rc = -cairn_thread_detached(spawned_main, sp);
	if (rc != 0) {
		free(sp);
		pthread_mutex_lock(&a->lock);
		if (--a->threads == 0)
			pthread_cond_broadcast(&a->idle);
		pthread_mutex_unlock(&a->lock);
		return cairn_error_errno(rc, "start a thread for the API");
	}
	return 0;
}

void cairn_api_set_status(struct cairn_api *a, const struct cairn_api_daemon_status *s)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->status = *s;
	pthread_mutex_unlock(&a->lock);
}

/* A document as a reply's text: compact, and a newline at the end for
 * people reading with curl.  NULL: no memory. */
static char *json_text(const json_t *j, size_t *ret_len)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : strdup("{}");
	if (!text)
		return NULL;
	size_t len = strlen(text);
	char *t2 = realloc(text, len + 2);
	if (t2) {
		text = t2;
		text[len++] = '\n';
		text[len] = 0;
	}
	*ret_len = len;
	return text;
}

static struct MHD_Response *json_response(char *text, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, mode);
	if (resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	return resp;
}

static bool status_equal(const struct cairn_api_daemon_status *a, const struct cairn_api_daemon_status *b)
{
	return a->running_jobs == b->running_jobs && a->max_jobs == b->max_jobs && a->stopping == b->stopping &&
	       a->last_tick == b->last_tick;
}

int cairn_api_status_reply(struct cairn_api_req *rq, cairn_api_status_render render)
{
	struct cairn_api *a = rq->api;
	int64_t now = (int64_t)time(NULL);
	pthread_mutex_lock(&a->lock);
	if (!a->status_text || a->status_now != now || !status_equal(&a->status_of, &a->status)) {
		json_t *j = render(&a->status, a->started, now);
		size_t len = 0;
		char *text = j ? json_text(j, &len) : NULL;
		json_decref(j);
		if (text) {
			free(a->status_text);
			a->status_text = text;
			a->status_len = len;
			a->status_now = now;
			a->status_of = a->status;
		}
	}
	struct MHD_Response *resp =
		a->status_text ? json_response(a->status_text, a->status_len, MHD_RESPMEM_MUST_COPY) : NULL;
	pthread_mutex_unlock(&a->lock);
	if (!resp)
		return cairn_error_nomem();
	rq->status = 200;
	rq->response = resp;
	return 0;
}

/* ---- errors ---- */

/* A handler's failure (a cairn error code, its message set) as a reply:
 * the HTTP status and the stable code clients test for. */
static void reply_failure(struct cairn_api_req *rq, int r)
{
	static const struct {
		int r;
		unsigned status;
		const char *code;
	} map[] = {
		{ CAIRN_ENOTFOUND, 404, "not_found" },    { CAIRN_EINVAL, 400, "invalid_request" },
		{ CAIRN_EEXIST, 409, "already_exists" },  { CAIRN_EBUSY, 409, "busy" },
		{ CAIRN_EPERM, 403, "forbidden" },        { CAIRN_EUNSUPPORTED, 400, "unsupported" },
		{ CAIRN_ECANCELED, 409, "canceled" },     { CAIRN_ENET, 502, "store_unreachable" },
		{ CAIRN_EAUTH, 502, "store_auth_failed" }, { CAIRN_ENOTREPO, 400, "not_a_repository" },
		{ CAIRN_EPASSPHRASE, 400, "bad_passphrase" }, { CAIRN_ETIMEOUT, 504, "timeout" },
	};
	const char *msg = cairn_error_message();
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].r == r) {
			cairn_api_error(rq, map[i].status, map[i].code, "%s", msg && *msg ? msg : "failed");
			return;
		}
	cairn_log_warn("api: %s %s: %s", rq->method, rq->url, msg);
	cairn_api_error(rq, 500, "internal", "%s", msg && *msg ? msg : "internal error");
}

/* ---- one request ---- */

static enum MHD_Result send_reply(struct cairn_api_req *rq)
{
	struct MHD_Response *resp = rq->response;
	rq->response = NULL;
	if (!resp) {
		size_t len;
		char *text = json_text(rq->reply, &len);
		if (!text)
			return MHD_NO;
		if (!(resp = json_response(text, len, MHD_RESPMEM_MUST_FREE))) {
			free(text);
			return MHD_NO;
		}
	}
	/* The dashboard's files say how they may be cached; nothing else may be. */
	if (!MHD_get_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (rq->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"cairn\"");
	if (rq->status == 405 && rq->m.allow[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rq->m.allow);
	enum MHD_Result ret = MHD_queue_response(rq->conn, rq->status ? rq->status : 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The token of the request's "Authorization: Bearer TOKEN", or NULL. */
static const char *bearer(struct cairn_api_req *rq)
{
	const char *h = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	return tok;
}

static int unauthorized(struct cairn_api_req *rq)
{
	cairn_api_error(rq, 401, "unauthorized", "unknown or revoked token");
	return -1;
}

/* The bearer token of a TCP request: 0 when it may go on (*read_only set),
 * else the error reply is set. */
static int authorize(struct cairn_api_req *rq, bool *read_only)
{
	*read_only = false;
	if (!rq->tcp)
		return 0; /* the socket's 0600 mode is the check */
	if (rq->m.route->auth == CAIRN_API_METRICS && rq->api->metrics_public)
		return 0;
	const char *tok = bearer(rq);
	if (!tok)
		return cairn_api_error(rq, 401, "unauthorized", "this address needs a token: Authorization: Bearer TOKEN "
								 "('cairn token create NAME')"), -1;
	struct cairn_state *st = cairn_api_state(rq);
	if (!st)
		return reply_failure(rq, CAIRN_EIO), -1;
	struct cairn_token t;
	int r = cairn_token_check(st, tok, (int64_t)time(NULL), &t);
	if (r == CAIRN_EAUTH)
		return unauthorized(rq);
	if (r < 0)
		return reply_failure(rq, r), -1;
	*read_only = t.read_only;
	cairn_token_clear(&t);
	return 0;
}

/* The dashboard's files (static_dir, api_static.h): a GET that no route
 * takes and that is not under /api/ names a file there ("/" its
 * index.html).  They hold no data, so no token: the page asks for one. */
static bool serve_static(struct cairn_api_req *rq)
{
	if (!rq->api->static_dir || strncmp(rq->url, "/api/", 5) == 0)
		return false;
	int r = cairn_api_static_serve(rq, rq->api->static_dir);
	if (r < 0 && r != CAIRN_ENOTFOUND)
		reply_failure(rq, r);
	return r != CAIRN_ENOTFOUND;
}

static void handle(struct cairn_api_req *rq)
{
	int r = cairn_api_route_match(cairn_api_routes, cairn_api_nroutes, rq->method, rq->url, &rq->m);
	if (r == CAIRN_ENOTFOUND && serve_static(rq))
		return;
	if (r == CAIRN_ENOTFOUND) {
		cairn_api_error(rq, 404, "not_found", "no such resource: %s", rq->url);
		return;
	}
	if (r < 0) {
		cairn_api_error(rq, 405, "method_not_allowed", "%s takes %s, not %s", rq->url, rq->m.allow, rq->method);
		return;
	}
	bool read_only;
	if (authorize(rq, &read_only) < 0)
		return;
	if (rq->m.route->auth == CAIRN_API_WRITE && read_only) {
		cairn_api_error(rq, 403, "read_only_token", "this token is read-only: it cannot %s %s", rq->method,
				rq->url);
		return;
	}
	if (rq->too_large) {
		cairn_api_error(rq, 413, "body_too_large", "the request body is larger than %zu bytes",
				rq->api->body_max);
		return;
	}
	if (rq->body_len) {
		json_error_t je;
		rq->json = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je);
		if (!rq->json) {
			cairn_api_error(rq, 400, "malformed_json", "the body is not JSON: %s (line %d, column %d)", je.text,
					je.line, je.column);
			return;
		}
		if (!json_is_object(rq->json)) {
			cairn_api_error(rq, 400, "malformed_json", "the body must be a JSON object");
			return;
		}
	}
	cairn_error_clear();
	r = rq->m.route->handler(rq);
	if (r < 0)
		reply_failure(rq, r);
}

/* The token cache of the quick path, opened on first use; NULL when it
 * cannot be (the full check then serves every request). */
static struct cairn_token_cache *token_cache(struct cairn_api *a)
{
	pthread_mutex_lock(&a->lock);
	if (!a->tokens && !a->tokens_failed) {
		struct cairn_state *st = NULL;
		if (cairn_app_state_open(a->app, false, &st) < 0 || cairn_token_cache_new(st, &a->tokens) < 0) {
			cairn_log_warn("api: no token cache (every request reads the tokens): %s", cairn_error_message());
			a->tokens_failed = true;
		}
	}
	struct cairn_token_cache *c = a->tokens;
	pthread_mutex_unlock(&a->lock);
	return c;
}

/* The quick path's token check: 1 when the request may go on, 0 when the
 * full one (authorize) must decide, -1 with the 401 reply set. */
static int authorize_cached(struct cairn_api_req *rq)
{
	if (!rq->tcp)
		return 1;
	const char *tok = bearer(rq);
	struct cairn_token_cache *c = tok ? token_cache(rq->api) : NULL;
	if (!c)
		return 0;
	bool read_only;
	int r = cairn_token_cache_check(c, tok, (int64_t)time(NULL), &read_only);
	if (r == CAIRN_EAUTH)
		return unauthorized(rq);
	if (r <= 0)
		cairn_error_clear();
	return r > 0;
}

/* A request for a quick route (cairn_api_route_quick: a read that needs
 * neither the database nor waiting) whose token the cache vouches for is
 * answered here, on the server's thread: true then. */
static bool handle_quick(struct cairn_api_req *rq)
{
	if (rq->body_len || rq->too_large ||
	    cairn_api_route_match(cairn_api_routes, cairn_api_nroutes, rq->method, rq->url, &rq->m) < 0 ||
	    !cairn_api_route_quick(rq->m.route) || rq->m.route->auth != CAIRN_API_READ)
		return false;
	int r = authorize_cached(rq);
	if (r == 0)
		return false;
	if (r > 0) {
		cairn_error_clear();
		if ((r = rq->m.route->handler(rq)) < 0)
			reply_failure(rq, r);
	}
	return true;
}

/* Runs on a thread of its own (cairn_api_spawn): the request's handler,
 * which may take its time (a repository, a store), while the server's
 * thread serves others.  Resumed, the connection comes back to on_request
 * to send the reply. */
static void *run_handler(void *p)
{
	struct cairn_api_req *rq = p;
	handle(rq);
	rq->handled = true;
	MHD_resume_connection(rq->conn);
	return NULL;
}

/* Hands the request to a thread, the connection suspended meanwhile:
 * false when the server stops (the caller answers it itself). */
static bool hand_off(struct cairn_api_req *rq)
{
	if (!cairn_api_park(rq->api))
		return false;
	MHD_suspend_connection(rq->conn);
	rq->parked = true;
	if (cairn_api_spawn(rq->api, run_handler, rq) < 0) {
		cairn_log_warn("api: %s", cairn_error_message());
		run_handler(rq); /* here, then */
	}
	return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)version;
	struct server *srv = cls;
	struct cairn_api_req *rq = *con_cls;
	if (!rq) {
		if (!(rq = calloc(1, sizeof(*rq))))
			return MHD_NO;
		rq->api = srv->api;
		rq->conn = conn;
		rq->tcp = srv->tcp;
		rq->method = method;
		rq->url = url;
		*con_cls = rq;
		/* A body announced too large is refused before it is read. */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cairn_api_length_too_large(cl, srv->api->body_max)) {
			rq->too_large = true;
			cairn_api_error(rq, 413, "body_too_large", "the request body is larger than %zu bytes",
					srv->api->body_max);
			rq->queued = true;
			return send_reply(rq);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (rq->too_large || !cairn_api_body_fits(rq->body_len, n, rq->api->body_max)) {
			rq->too_large = true; /* the rest is read and dropped */
			return MHD_YES;
		}
		char *b = realloc(rq->body, rq->body_len + n + 1);
		if (!b)
			return MHD_NO;
		memcpy(b + rq->body_len, upload_data, n);
		rq->body = b;
		rq->body_len += n;
		return MHD_YES;
	}
	if (rq->queued) /* answered early (413) */
		return MHD_YES;
	if (rq->parked) {
		rq->parked = false;
		cairn_api_unpark(rq->api);
	}
	if (!rq->handled && !handle_quick(rq)) {
		if (hand_off(rq))
			return MHD_YES; /* back here when its thread is done */
		handle(rq);
	}
	rq->queued = true;
	return send_reply(rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode t)
{
	(void)conn, (void)t;
	struct server *srv = cls;
	struct cairn_api_req *rq = *con_cls;
	if (!rq)
		return;
	if (rq->parked) /* resumed, then closed before on_request saw it */
		cairn_api_unpark(srv->api);
	cairn_api_pool_give(srv->api, rq->st);
	json_decref(rq->json);
	json_decref(rq->reply);
	if (rq->response)
		MHD_destroy_response(rq->response);
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

/* Paths are decoded by the router, segment by segment: "%2F" in a name
 * must not become a '/' that splits it. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls, (void)c;
	return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t l = strlen(msg);
	while (l && msg[l - 1] == '\n')
		msg[--l] = 0;
	cairn_log_debug("api: %s", msg);
}

/* ---- sockets ---- */

static int listen_unix(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return cairn_error_set(CAIRN_EINVAL, "API socket path %s is too long (at most %zu bytes)", path,
				       sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cairn_error_errno(errno, "socket");
	/* A socket file left by a daemon that died: we hold the daemon's
	 * lock, so no live daemon serves it. */
	if (unlink(path) < 0 && errno != ENOENT) {
		int e = errno;
		close(fd);
		return cairn_error_errno(e, "remove stale %s", path);
	}
	/* Made 0600 from the start: no moment where others may connect. */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 128) < 0) {
		e = r < 0 ? e : errno;
		close(fd);
		return cairn_error_errno(e, "API socket %s", path);
	}
	*ret_fd = fd;
	return 0;
}

static int listen_tcp(const char *addr, int *ret_fd)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || !colon[1] || (size_t)(colon - addr) >= sizeof(host))
		return cairn_error_set(CAIRN_EINVAL, "invalid --listen '%s' (HOST:PORT, e.g. 127.0.0.1:8470)", addr);
	size_t hl = (size_t)(colon - addr);
	memcpy(host, addr, hl);
	host[hl] = 0;
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = 0;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai = NULL;
	int g = getaddrinfo(host, colon + 1, &hints, &ai);
	if (g != 0)
		return cairn_error_set(CAIRN_EINVAL, "invalid --listen '%s': %s (a numeric address and port)", addr,
				       gai_strerror(g));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return cairn_error_errno(e, "listen on %s", addr);
	}
	freeaddrinfo(ai);
	*ret_fd = fd;
	return 0;
}

static int read_pem(const char *path, const char *what, char **ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return cairn_error_errno(errno, "%s %s", what, path);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		char *b = realloc(buf, len + n + 1);
		if (!b) {
			free(buf);
			fclose(f);
			return cairn_error_nomem();
		}
		buf = b;
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (buf)
		buf[len] = 0;
	if (!buf || !strstr(buf, "-----BEGIN")) {
		free(buf);
		return cairn_error_set(CAIRN_EINVAL, "%s %s is not a PEM file", what, path);
	}
	*ret = buf;
	return 0;
}

static int serve(struct cairn_api *a, struct server *srv, bool tls)
{
	/* One thread runs the server's event loop (epoll); what may take time
	 * runs on threads of its own (hand_off, the event streams' pollers),
	 * the connection suspended meanwhile.  A thread per connection cost
	 * more than the status request itself (issue 22). */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;
	if (tls)
		flags |= MHD_USE_TLS;
	srv->api = a;
	srv->d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET, srv->fd, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, srv, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
		NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)CONN_MEMORY,
		tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, a->key, MHD_OPTION_HTTPS_MEM_CERT, a->cert,
		MHD_OPTION_END);
	if (!srv->d)
		return cairn_error_set(CAIRN_EIO, "cannot start the API server%s (libmicrohttpd refused; see -vv)",
				       tls ? " with TLS" : "");
	return 0;
}

int cairn_api_start(const struct cairn_api_opts *o, struct cairn_api **ret)
{
	if (!o->app->state_dir)
		return cairn_error_set(CAIRN_EINVAL, "the API needs a state directory");
	if (!!o->tls_cert != !!o->tls_key)
		return cairn_error_set(CAIRN_EINVAL, "--tls-cert and --tls-key go together");
	if (o->tls_cert && !o->listen)
		return cairn_error_set(CAIRN_EINVAL, "--tls-cert is for the TCP address: give --listen HOST:PORT too");
	if (o->tls_cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return cairn_error_set(CAIRN_EUNSUPPORTED, "this libmicrohttpd has no TLS support");
	struct cairn_api *a = calloc(1, sizeof(*a));
	if (!a)
		return cairn_error_nomem();
	a->app = o->app;
	a->body_max = o->body_max ? o->body_max : CAIRN_API_BODY_MAX;
	a->metrics_public = o->metrics_public;
	a->started = (int64_t)time(NULL);
	a->unix_srv.fd = a->tcp_srv.fd = -1;
	a->tcp_srv.tcp = true;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->idle, NULL);
	int r = 0;
	if (o->socket_path)
		a->socket_path = strdup(o->socket_path);
	else if (asprintf(&a->socket_path, "%s/%s", o->app->state_dir, CAIRN_API_SOCKET_NAME) < 0)
		a->socket_path = NULL;
	if (!a->socket_path || (o->static_dir && !(a->static_dir = strdup(o->static_dir))))
		r = cairn_error_nomem();
	if (r >= 0 && o->tls_cert && (r = read_pem(o->tls_cert, "--tls-cert", &a->cert)) >= 0)
		r = read_pem(o->tls_key, "--tls-key", &a->key);
	if (r >= 0 && (r = listen_unix(a->socket_path, &a->unix_srv.fd)) >= 0)
		r = serve(a, &a->unix_srv, false);
	if (r >= 0 && o->listen && (r = listen_tcp(o->listen, &a->tcp_srv.fd)) >= 0)
		r = serve(a, &a->tcp_srv, o->tls_cert != NULL);
	if (r < 0) {
		cairn_api_stop(a);
		return r;
	}
	cairn_log_info("api: serving on %s%s%s%s", a->socket_path, o->listen ? " and " : "",
		       o->listen ? o->listen : "", o->listen ? (o->tls_cert ? " (TLS, tokens)" : " (tokens)") : "");
	*ret = a;
	return 0;
}

void cairn_api_stop(struct cairn_api *a)
{
	if (!a)
		return;
	/* Suspended connections come back first (libmicrohttpd must not stop
	 * with one suspended): handlers finish, event streams end, and
	 * nothing new is suspended once stopping is set. */
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	while (a->parked)
		pthread_cond_wait(&a->idle, &a->lock);
	pthread_mutex_unlock(&a->lock);
	struct server *s[] = { &a->tcp_srv, &a->unix_srv };
	for (size_t i = 0; i < 2; i++) {
		/* A running server closes its listen socket when stopped. */
		if (s[i]->d)
			MHD_stop_daemon(s[i]->d);
		else if (s[i]->fd >= 0)
			close(s[i]->fd);
	}
	if (a->unix_srv.fd >= 0 && a->socket_path)
		unlink(a->socket_path);
	/* The event streams' pollers give their state connections back. */
	pthread_mutex_lock(&a->lock);
	while (a->threads)
		pthread_cond_wait(&a->idle, &a->lock);
	pthread_mutex_unlock(&a->lock);
	cairn_token_cache_free(a->tokens);
	free(a->status_text);
	for (size_t i = 0; i < a->npool; i++)
		cairn_state_free(a->pool[i]);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->idle);
	free(a->socket_path);
	free(a->static_dir);
	if (a->key) {
		explicit_bzero(a->key, strlen(a->key));
		free(a->key);
	}
	free(a->cert);
	free(a);
}
