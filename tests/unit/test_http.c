/* The HTTP layer: backoff schedule, rate limiter and encoding without I/O,
 * then the client against a scripted server on 127.0.0.1 (pgBackRest's
 * harnessServer idea): each request the server reads takes the next step
 * of a script (reply, reset the connection, stall), so retries, stall
 * detection, keep-alive, bodies and counters are checked exactly. */
#include "helpers.h"

#include "http/http.h"
#include "util/cleanup.h"
#include "util/time.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- no I/O ---- */

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(cairn_http_backoff_ms(0, 100, 10000, 12345), 0);
	/* The window doubles from base and stops at cap; rnd picks in it. */
	assert_int_equal(cairn_http_backoff_ms(1, 100, 10000, 100), 100);
	assert_int_equal(cairn_http_backoff_ms(1, 100, 10000, 101), 0);
	assert_int_equal(cairn_http_backoff_ms(2, 100, 10000, 200), 200);
	assert_int_equal(cairn_http_backoff_ms(4, 100, 10000, 800), 800);
	assert_int_equal(cairn_http_backoff_ms(4, 100, 10000, 801), 0);
	assert_int_equal(cairn_http_backoff_ms(8, 100, 10000, 10000), 10000);
	assert_int_equal(cairn_http_backoff_ms(8, 100, 10000, 10001), 0);
	assert_int_equal(cairn_http_backoff_ms(4000000000u, 100, 10000, 10000), 10000);
	/* Full jitter: uniform over the window, so the mean is half of it. */
	uint64_t x = 88172645463325252ull, sum = 0;
	const int n = 20000;
	for (int i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t w = cairn_http_backoff_ms(3, 100, 10000, x);
		assert_true(w <= 400);
		sum += w;
	}
	double mean = (double)sum / n;
	assert_true(mean > 180 && mean < 220);
}

static void test_retryable_codes(void **state)
{
	(void)state;
	assert_true(cairn_http_curl_retryable(CURLE_COULDNT_CONNECT));
	assert_true(cairn_http_curl_retryable(CURLE_RECV_ERROR));
	assert_true(cairn_http_curl_retryable(CURLE_SEND_ERROR));
	assert_true(cairn_http_curl_retryable(CURLE_GOT_NOTHING));
	assert_true(cairn_http_curl_retryable(CURLE_OPERATION_TIMEDOUT));
	assert_true(cairn_http_curl_retryable(CURLE_PARTIAL_FILE));
	assert_false(cairn_http_curl_retryable(CURLE_COULDNT_RESOLVE_HOST));
	assert_false(cairn_http_curl_retryable(CURLE_PEER_FAILED_VERIFICATION));
	assert_false(cairn_http_curl_retryable(CURLE_URL_MALFORMAT));
	assert_false(cairn_http_curl_retryable(CURLE_WRITE_ERROR));
	assert_false(cairn_http_curl_retryable(CURLE_OK));
	/* A plain-http answer to a handshake is not retried; a reset is. */
	assert_true(cairn_http_not_tls(CURLE_SSL_CONNECT_ERROR,
				       "error:0A00010B:SSL routines::wrong version number"));
	assert_false(cairn_http_not_tls(CURLE_SSL_CONNECT_ERROR,
					"OpenSSL SSL_connect: Connection reset by peer in connection to 127.0.0.1:9000"));
	assert_false(cairn_http_not_tls(CURLE_SSL_CONNECT_ERROR, NULL));
	assert_false(cairn_http_not_tls(CURLE_RECV_ERROR, "wrong version number"));
}

/* cairn loads libcurl on first use (http/curl_load.c); the forwarders
 * reach the library's functions. */
static void test_curl_loaded(void **state)
{
	(void)state;
	assert_null(cairn_curl_load_error());
	assert_string_equal(curl_easy_strerror(CURLE_OK), "No error");
	CURL *h = curl_easy_init();
	assert_non_null(h);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_VERBOSE, 0L), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:9/"), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)1 << 40), CURLE_OK);
	/* An option libcurl rejects still reports its error through us. */
	assert_int_equal(curl_easy_setopt(h, CURLOPT_SSLVERSION, 1000L), CURLE_BAD_FUNCTION_ARGUMENT);
	char *url = NULL;
	assert_int_equal(curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url), CURLE_OK);
	curl_easy_cleanup(h);
}

static void test_ratelimit_math(void **state)
{
	(void)state;
	struct cairn_ratelimit rl;
	cairn_ratelimit_init(&rl, 1000, 0);
	/* The burst (16 KiB minimum) is free, then the rate applies. */
	assert_true(cairn_ratelimit_reserve(&rl, 16384, 0) == 0);
	assert_true(fabs(cairn_ratelimit_reserve(&rl, 1000, 0) - 1.0) < 1e-9);
	/* Debt is shared: the next taker waits behind the first. */
	assert_true(fabs(cairn_ratelimit_reserve(&rl, 1000, 0.5) - 1.5) < 1e-9);
	/* Idle time refills up to the burst only. */
	assert_true(cairn_ratelimit_reserve(&rl, 16384, 1000) == 0);
	assert_true(cairn_ratelimit_reserve(&rl, 500, 1000) > 0.49);
	cairn_ratelimit_destroy(&rl);

	cairn_ratelimit_init(&rl, 0, 0);
	assert_true(cairn_ratelimit_reserve(&rl, 1u << 30, 0) == 0);
	cairn_ratelimit_destroy(&rl);

	/* Pieces are about 1/16 s, within 1 KiB..256 KiB. */
	cairn_ratelimit_init(&rl, 1u << 20, 0);
	assert_int_equal(cairn_ratelimit_piece(&rl), 65536);
	assert_int_equal(rl.burst, 262144);
	cairn_ratelimit_destroy(&rl);
	cairn_ratelimit_init(&rl, 100, 0);
	assert_int_equal(cairn_ratelimit_piece(&rl), 1024);
	cairn_ratelimit_destroy(&rl);
	cairn_ratelimit_init(&rl, 1ull << 40, 0);
	assert_int_equal(cairn_ratelimit_piece(&rl), 262144);
	cairn_ratelimit_destroy(&rl);
}

struct taker {
	struct cairn_ratelimit *rl;
	size_t bytes;
};

static void *take_main(void *arg)
{
	struct taker *t = arg;
	for (size_t done = 0; done < t->bytes; done += 16384)
		cairn_ratelimit_take(t->rl, 16384);
	return NULL;
}

static void test_ratelimit_threads(void **state)
{
	(void)state;
	struct cairn_ratelimit rl;
	/* Four threads take 256 KiB each from one 1 MiB/s bucket with a
	 * 256 KiB burst: together they cannot finish in under 0.75 s. */
	cairn_ratelimit_init(&rl, 1u << 20, cairn_now());
	pthread_t tid[4];
	struct taker t = { &rl, 256u << 10 };
	double t0 = cairn_now();
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&tid[i], NULL, take_main, &t), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(tid[i], NULL);
	double dt = cairn_now() - t0;
	if (dt < 0.7)
		fail_msg("1 MiB through a 1 MiB/s limit took only %.2f s", dt);
	cairn_ratelimit_destroy(&rl);
}

static void test_encoding(void **state)
{
	(void)state;
	struct cairn_buf b = CAIRN_BUF_INIT;
	const char *s = "a b/c~d-e_f.g+h*i%j\xc3\xa9";
	ck_ok(cairn_http_append_encoded(&b, s, strlen(s), true));
	assert_string_equal((char *)b.data, "a%20b/c~d-e_f.g%2Bh%2Ai%25j%C3%A9");
	cairn_buf_clear(&b);
	ck_ok(cairn_http_append_encoded(&b, s, strlen(s), false));
	assert_string_equal((char *)b.data, "a%20b%2Fc~d-e_f.g%2Bh%2Ai%25j%C3%A9");
	cairn_buf_clear(&b);
	ck_ok(cairn_http_append_encoded(&b, "", 0, false));
	assert_string_equal((char *)b.data, "");
	cairn_buf_free(&b);
}

/* ---- a scripted server ---- */

enum act { REPLY, RESET, STALL, REPLY_CLOSE };

struct step {
	enum act act;
	int status;
	const char *headers; /* extra header lines, each ending in \r\n */
	const char *body;
};

struct srv {
	int lfd, port;
	pthread_t tid;
	const struct step *script;
	size_t nsteps;
	pthread_mutex_t lock;
	size_t next;
	int connections, requests;
	char method[16], path[512];
	uint8_t *body;
	size_t body_len;
	char head[4096];
	volatile int quit;
};

static bool wait_readable(struct srv *s, int fd, int ms)
{
	for (int waited = 0; !s->quit && waited < ms; waited += 50) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 50) > 0)
			return true;
	}
	return false;
}

/* Reads one request; false when the client closed. */
static bool read_request(struct srv *s, int fd)
{
	/* One more byte than is read, for the NUL that strstr needs: a full
	 * buffer (headers and the start of a large body in one recv) keeps
	 * its last body byte. */
	char buf[65536 + 1];
	size_t n = 0;
	char *end = NULL;
	while (!end) {
		if (n == sizeof(buf) - 1 || !wait_readable(s, fd, 10000))
			return false;
		ssize_t k = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (k <= 0)
			return false;
		n += (size_t)k;
		buf[n] = 0;
		end = strstr(buf, "\r\n\r\n");
	}
	size_t hlen = (size_t)(end + 4 - buf);
	size_t clen = 0;
	char *cl = strcasestr(buf, "\r\nContent-Length:");
	if (cl && cl < end)
		clen = strtoull(cl + 17, NULL, 10);
	pthread_mutex_lock(&s->lock);
	snprintf(s->head, sizeof(s->head), "%.*s", (int)hlen, buf);
	sscanf(buf, "%15s %511s", s->method, s->path);
	free(s->body);
	s->body = malloc(clen + 1);
	s->body_len = clen;
	size_t have = MIN(n - hlen, clen);
	memcpy(s->body, buf + hlen, have);
	pthread_mutex_unlock(&s->lock);
	while (have < clen) {
		if (!wait_readable(s, fd, 10000))
			return false;
		ssize_t k = recv(fd, s->body + have, clen - have, 0);
		if (k <= 0)
			return false;
		have += (size_t)k;
	}
	return true;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k <= 0)
			return;
		p += k;
		n -= (size_t)k;
	}
}

static void hard_close(int fd)
{
	struct linger l = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	while (!s->quit) {
		if (!wait_readable(s, s->lfd, 100))
			continue;
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_mutex_lock(&s->lock);
		s->connections++;
		pthread_mutex_unlock(&s->lock);
		bool open = true;
		while (open && !s->quit && read_request(s, fd)) {
			pthread_mutex_lock(&s->lock);
			s->requests++;
			struct step st = s->next < s->nsteps ? s->script[s->next++]
							      : (struct step){ REPLY, 599, "", "script exhausted" };
			bool head = !strcmp(s->method, "HEAD");
			pthread_mutex_unlock(&s->lock);
			if (st.act == RESET) {
				hard_close(fd);
				fd = -1;
				break;
			}
			if (st.act == STALL) {
				/* Until the client gives up. */
				char c;
				while (wait_readable(s, fd, 60000) && recv(fd, &c, 1, 0) > 0)
					;
				break;
			}
			char hdr[1024];
			const char *body = st.body ? st.body : "";
			snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d Scripted\r\nContent-Length: %zu\r\n%s%s\r\n", st.status,
				 strlen(body), st.headers ? st.headers : "",
				 st.act == REPLY_CLOSE ? "Connection: close\r\n" : "");
			send_all(fd, hdr, strlen(hdr));
			if (!head)
				send_all(fd, body, strlen(body));
			open = st.act != REPLY_CLOSE;
		}
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

static struct srv *srv_start(const struct step *script, size_t n)
{
	struct srv *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->script = script;
	s->nsteps = n;
	pthread_mutex_init(&s->lock, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 16), 0);
	socklen_t len = sizeof(a);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->tid, NULL, srv_main, s), 0);
	return s;
}

static void srv_stop(struct srv *s)
{
	s->quit = 1;
	pthread_join(s->tid, NULL);
	close(s->lfd);
	free(s->body);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static char *srv_url(struct srv *s, const char *path)
{
	char *u;
	assert_true(asprintf(&u, "http://127.0.0.1:%d%s", s->port, path) > 0);
	return u;
}

static struct cairn_http_client *client(unsigned attempts, unsigned stall)
{
	/* The environment's settings as the store drivers pass them. */
	struct cairn_http_opts o = { .allow_http = true, .max_attempts = attempts, .stall_seconds = stall,
				     .backoff_base_ms = 5, .backoff_cap_ms = 50, .connections = 2,
				     .env = &cairn_settings_init()->store.http };
	struct cairn_http_client *c = NULL;
	ck_ok(cairn_http_client_new(&o, &c));
	return c;
}

#define SCRIPT(...)                                        \
	static const struct step script[] = { __VA_ARGS__ }; \
	struct srv *srv = srv_start(script, ARRAY_SIZE(script))

static void test_retry_then_ok(void **state)
{
	(void)state;
	/* Resets come on fresh connections: on a reused one libcurl itself
	 * retries once before we see anything. */
	SCRIPT({ REPLY_CLOSE, 503, "", "<Error><Code>SlowDown</Code></Error>" }, { RESET }, { REPLY, 500, "", "" },
	       { REPLY, 200, "ETag: \"abc\"\r\nX-Other: 1\r\n", "hello" });
	struct cairn_http_client *c = client(8, 60);
	_cleanup_free_ char *url = srv_url(srv, "/b/k");
	struct cairn_buf out = CAIRN_BUF_INIT;
	static const char *const want[] = { "etag", "x-missing", NULL };
	struct cairn_http_request rq = { .method = "GET", .url = url, .out = &out, .want_headers = want };
	struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	ck_ok(cairn_http_perform(c, &rq, &rs));
	assert_int_equal(rs.status, 200);
	assert_int_equal(rs.attempts, 4);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.data, "hello", 5);
	assert_string_equal(rs.headers[0], "\"abc\"");
	assert_null(rs.headers[1]);
	struct cairn_http_counters n;
	cairn_http_counters_get(c, &n);
	assert_int_equal(n.requests, 4);
	assert_int_equal(n.retries, 3);
	assert_int_equal(n.failures, 0);
	assert_true(n.bytes_received >= 5);
	cairn_http_response_free(&rs);
	cairn_buf_free(&out);
	cairn_http_client_free(c);
	srv_stop(srv);
}

static void test_no_retry_on_4xx(void **state)
{
	(void)state;
	SCRIPT({ REPLY, 404, "", "<Error><Code>NoSuchKey</Code></Error>" }, { REPLY, 501, "", "no" },
	       { REPLY, 400, "", "RETRY" }, { REPLY, 204, "", "" });
	struct cairn_http_client *c = client(8, 60);
	_cleanup_free_ char *url = srv_url(srv, "/b/k");
	struct cairn_buf out = CAIRN_BUF_INIT;
	struct cairn_http_request rq = { .method = "GET", .url = url, .out = &out };
	struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	ck_ok(cairn_http_perform(c, &rq, &rs));
	assert_int_equal(rs.status, 404);
	assert_int_equal(rs.attempts, 1);
	/* The error body goes to err_body, not to the caller's buffer. */
	assert_int_equal(out.len, 0);
	assert_non_null(strstr((char *)rs.err_body.data, "NoSuchKey"));
	/* 501 Not Implemented will not change. */
	ck_ok(cairn_http_perform(c, &rq, &rs));
	assert_int_equal(rs.status, 501);
	assert_int_equal(rs.attempts, 1);
	cairn_http_response_free(&rs);
	cairn_buf_free(&out);
	cairn_http_client_free(c);
	srv_stop(srv);
}

static bool retry_on_word(long status, const struct cairn_buf *b, void *ud)
{
	(void)ud;
	return status == 400 && b->len == 5 && !memcmp(b->data, "RETRY", 5);
}

static void test_retry_fn(void **state)
{
	(void)state;
	SCRIPT({ REPLY, 400, "", "RETRY" }, { REPLY, 400, "", "FINAL" });
	struct cairn_http_client *c = client(8, 60);
	_cleanup_free_ char *url = srv_url(srv, "/x");
	struct cairn_http_request rq = { .method = "DELETE", .url = url, .retry_fn = retry_on_word };
	struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	ck_ok(cairn_http_perform(c, &rq, &rs));
	assert_int_equal(rs.status, 400);
	assert_int_equal(rs.attempts, 2);
	assert_string_equal(srv->method, "DELETE");
	cairn_http_response_free(&rs);
	cairn_http_client_free(c);
	srv_stop(srv);
}

static void test_retries_exhausted(void **state)
{
	(void)state;
	SCRIPT({ REPLY, 503, "", "" }, { REPLY, 503, "", "" }, { REPLY_CLOSE, 503, "", "" }, { RESET }, { RESET },
	       { RESET });
	struct cairn_http_client *c = client(3, 60);
	_cleanup_free_ char *url = srv_url(srv, "/x");
	struct cairn_http_request rq = { .method = "GET", .url = url };
	struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	/* A retryable status, exhausted: the reply is the caller's to map. */
	ck_ok(cairn_http_perform(c, &rq, &rs));
	assert_int_equal(rs.status, 503);
	assert_int_equal(rs.attempts, 3);
	/* A transport failure, exhausted: CAIRN_ENET naming the request. */
	assert_int_equal(cairn_http_perform(c, &rq, &rs), CAIRN_ENET);
	assert_non_null(strstr(cairn_error_message(), "GET http://127.0.0.1:"));
	assert_non_null(strstr(cairn_error_message(), "gave up after 3 attempts"));
	struct cairn_http_counters n;
	cairn_http_counters_get(c, &n);
	assert_int_equal(n.requests, 6);
	assert_int_equal(n.retries, 4);
	assert_int_equal(n.failures, 2);
	cairn_http_response_free(&rs);
	cairn_http_client_free(c);
	srv_stop(srv);
}

static void test_stall(void **state)
{
	(void)state;
	SCRIPT({ STALL }, { REPLY, 200, "", "late but fine" });
	struct cairn_http_client *c = client(3, 1);
	_cleanup_free_ char *url = srv_url(srv, "/slow");
	struct cairn_buf out = CAIRN_BUF_INIT;
	struct cairn_http_request rq = { .method = "GET", .url = url, .out = &out };
	struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	ck_ok(cairn_http_perform(c, &rq, &rs));
	assert_int_equal(rs.status, 200);
	assert_int_equal(rs.attempts, 2);
	assert_int_equal(out.len, 13);
	cairn_http_response_free(&rs);
	cairn_buf_free(&out);
	cairn_http_client_free(c);
	srv_stop(srv);
}

/* A server that never answers: cairn's words, naming the server, the
 * time waited over every attempt and the knob. */
static void test_stall_message(void **state)
{
	(void)state;
	SCRIPT({ STALL }, { STALL });
	struct cairn_http_client *c = client(2, 1);
	_cleanup_free_ char *url = srv_url(srv, "/bucket/key");
	struct cairn_buf out = CAIRN_BUF_INIT;
	struct cairn_http_request rq = { .method = "GET", .url = url, .out = &out };
	struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	assert_int_equal(cairn_http_perform(c, &rq, &rs), CAIRN_ENET);
	const char *msg = cairn_error_message();
	char server[64];
	snprintf(server, sizeof(server), "the server 127.0.0.1:%d stopped answering", srv->port);
	assert_non_null(strstr(msg, server));
	assert_non_null(strstr(msg, "CAIRN_HTTP_STALL_SECONDS"));
	assert_non_null(strstr(msg, "nothing for 1 s"));
	assert_non_null(strstr(msg, "over 2 attempts"));
	assert_non_null(strstr(msg, "cairn waited "));
	assert_null(strstr(msg, "too slow"));
	assert_int_equal(rs.attempts, 2);
	cairn_http_response_free(&rs);
	cairn_buf_free(&out);
	cairn_http_client_free(c);
	srv_stop(srv);
	assert_true(cairn_http_stalled(28, "Operation too slow. Less than 1 bytes/sec transferred the last 60 seconds"));
	assert_false(cairn_http_stalled(28, "Connection timed out after 10001 milliseconds"));
	assert_false(cairn_http_stalled(7, "too slow"));
}

/* A reply longer than the range or the caller's limit fails the request
 * without growing the buffer, and is not retried. */
static void test_body_limits(void **state)
{
	(void)state;
	SCRIPT({ REPLY, 206, "", "abcdef" }, { REPLY, 200, "", "hello" }, { REPLY, 200, "", "hello" },
	       { REPLY, 206, "", "bc" }, { REPLY, 404, "", "a long error body, kept" });
	struct cairn_http_client *c = client(3, 60);
	_cleanup_free_ char *url = srv_url(srv, "/obj");
	struct cairn_buf out = CAIRN_BUF_INIT;
	struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	struct cairn_http_request rq = { .method = "GET", .url = url, .out = &out, .range = true, .range_first = 1,
					 .range_last = 2 };
	assert_int_equal(cairn_http_perform(c, &rq, &rs), CAIRN_EIO);
	assert_non_null(strstr(cairn_error_message(), "sends 6 bytes, more than the 2 asked for"));
	assert_int_equal(out.len, 0);
	assert_int_equal(rs.attempts, 1);
	struct cairn_http_request get = { .method = "GET", .url = url, .out = &out, .out_max = 4 };
	assert_int_equal(cairn_http_perform(c, &get, &rs), CAIRN_EIO);
	assert_non_null(strstr(cairn_error_message(), "more than the 4 asked for"));
	get.out_max = 5;
	ck_ok(cairn_http_perform(c, &get, &rs));
	assert_int_equal(out.len, 5);
	ck_ok(cairn_http_perform(c, &rq, &rs));
	assert_int_equal(out.len, 2);
	/* Error bodies are no part of it (they have their own cap). */
	get.out_max = 1;
	ck_ok(cairn_http_perform(c, &get, &rs));
	assert_int_equal(rs.status, 404);
	cairn_http_response_free(&rs);
	cairn_buf_free(&out);
	cairn_http_client_free(c);
	srv_stop(srv);
}

static void test_keepalive_and_bodies(void **state)
{
	(void)state;
	SCRIPT({ REPLY, 200, "", "1" }, { REPLY, 200, "", "2" }, { REPLY, 200, "", "3" }, { REPLY, 200, "", "" },
	       { REPLY, 200, "", "" }, { REPLY, 200, "Content-Type: x\r\n", "" }, { REPLY_CLOSE, 200, "", "c" },
	       { REPLY, 200, "", "after close" });
	struct cairn_http_client *c = client(3, 60);
	_cleanup_free_ char *url = srv_url(srv, "/k");
	struct cairn_buf out = CAIRN_BUF_INIT;
	struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	for (int i = 0; i < 3; i++) {
		struct cairn_http_request rq = { .method = "GET", .url = url, .out = &out };
		ck_ok(cairn_http_perform(c, &rq, &rs));
		assert_int_equal(out.len, 1);
	}
	/* Three sequential requests, one connection. */
	assert_int_equal(srv->connections, 1);

	/* Bodies arrive intact: a small one (sent with the headers) and a
	 * large one (streamed). */
	const char *small = "<Delete><Object><Key>k</Key></Object></Delete>";
	const char *hdr[] = { "Content-Type: application/xml", "x-amz-content-sha256: abc", NULL };
	struct cairn_http_request post = { .method = "POST", .url = url, .headers = hdr, .body = small,
					   .body_len = strlen(small) };
	ck_ok(cairn_http_perform(c, &post, &rs));
	assert_string_equal(srv->method, "POST");
	assert_int_equal(srv->body_len, strlen(small));
	assert_memory_equal(srv->body, small, strlen(small));
	assert_non_null(strcasestr(srv->head, "x-amz-content-sha256: abc"));
	assert_non_null(strcasestr(srv->head, "Content-Type: application/xml"));

	size_t n = (3u << 20) + 17;
	uint8_t *big = th_data(n, 3);
	struct cairn_http_request put = { .method = "PUT", .url = url, .body = big, .body_len = n };
	ck_ok(cairn_http_perform(c, &put, &rs));
	assert_string_equal(srv->method, "PUT");
	assert_int_equal(srv->body_len, n);
	assert_memory_equal(srv->body, big, n);
	struct cairn_http_request put0 = { .method = "PUT", .url = url, .body = "", .body_len = 0 };
	ck_ok(cairn_http_perform(c, &put0, &rs));
	assert_int_equal(srv->body_len, 0);
	struct cairn_http_counters cn;
	cairn_http_counters_get(c, &cn);
	assert_true(cn.bytes_sent >= n + strlen(small));

	/* The server closing a connection is no error: the next request
	 * opens another. */
	struct cairn_http_request get = { .method = "GET", .url = url, .out = &out };
	ck_ok(cairn_http_perform(c, &get, &rs));
	assert_int_equal(out.len, 1);
	ck_ok(cairn_http_perform(c, &get, &rs));
	assert_int_equal(out.len, 11);
	assert_int_equal(rs.attempts, 1);
	assert_int_equal(srv->connections, 2);
	cairn_http_response_free(&rs);
	cairn_buf_free(&out);
	free(big);
	cairn_http_client_free(c);
	srv_stop(srv);
}

static void test_range_and_head(void **state)
{
	(void)state;
	SCRIPT({ REPLY, 206, "", "bc" }, { REPLY, 206, "", "z" }, { REPLY, 200, "Content-Length-Extra: 1\r\n", "body" });
	struct cairn_http_client *c = client(3, 60);
	_cleanup_free_ char *url = srv_url(srv, "/obj");
	struct cairn_buf out = CAIRN_BUF_INIT;
	struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	struct cairn_http_request rq = { .method = "GET", .url = url, .out = &out, .range = true, .range_first = 1,
					 .range_last = 2 };
	ck_ok(cairn_http_perform(c, &rq, &rs));
	assert_non_null(strstr(srv->head, "Range: bytes=1-2\r\n"));
	rq.range_first = 7;
	rq.range_last = CAIRN_HTTP_RANGE_END;
	ck_ok(cairn_http_perform(c, &rq, &rs));
	assert_non_null(strstr(srv->head, "Range: bytes=7-\r\n"));
	/* HEAD: the length header, no body. */
	static const char *const want[] = { "Content-Length", NULL };
	struct cairn_http_request head = { .method = "HEAD", .url = url, .want_headers = want };
	ck_ok(cairn_http_perform(c, &head, &rs));
	assert_string_equal(srv->method, "HEAD");
	assert_string_equal(rs.headers[0], "4");
	cairn_http_response_free(&rs);
	cairn_buf_free(&out);
	cairn_http_client_free(c);
	srv_stop(srv);
}

static void test_refusals(void **state)
{
	(void)state;
	struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	struct cairn_http_client *c = NULL;
	/* Plain http must be allowed explicitly. */
	struct cairn_http_opts o = { .max_attempts = 1 };
	ck_ok(cairn_http_client_new(&o, &c));
	struct cairn_http_request rq = { .method = "GET", .url = "http://127.0.0.1:9/x" };
	assert_int_equal(cairn_http_perform(c, &rq, &rs), CAIRN_EINVAL);
	assert_non_null(strstr(cairn_error_message(), "refusing plain http://"));
	cairn_http_client_free(c);

	/* Nothing listening: a connection error, retried, then CAIRN_ENET. */
	c = client(2, 60);
	assert_int_equal(cairn_http_perform(c, &rq, &rs), CAIRN_ENET);
	assert_non_null(strstr(cairn_error_message(), "127.0.0.1"));
	assert_non_null(strstr(cairn_error_message(), "after 2 attempts"));

	/* A URL with a secret in its query (an Azure SAS) is shown as its
	 * log_url, in messages and logs alike. */
	struct cairn_http_request sas = { .method = "GET", .url = "http://127.0.0.1:9/x?sv=1&sig=SECRETSIG",
					  .log_url = "http://127.0.0.1:9/x" };
	assert_int_equal(cairn_http_perform(c, &sas, &rs), CAIRN_ENET);
	assert_non_null(strstr(cairn_error_message(), "GET http://127.0.0.1:9/x:"));
	assert_null(strstr(cairn_error_message(), "SECRETSIG"));
	cairn_http_client_free(c);
	o.allow_http = false;
	ck_ok(cairn_http_client_new(&o, &c));
	assert_int_equal(cairn_http_perform(c, &sas, &rs), CAIRN_EINVAL);
	assert_null(strstr(cairn_error_message(), "SECRETSIG"));
	cairn_http_response_free(&rs);
	cairn_http_client_free(c);
}

static void test_upload_limit(void **state)
{
	(void)state;
	SCRIPT({ REPLY, 200, "", "" }, { REPLY, 200, "", "" });
	struct cairn_http_opts o = { .allow_http = true, .limit_upload = 512u << 10 };
	struct cairn_http_client *c = NULL;
	ck_ok(cairn_http_client_new(&o, &c));
	_cleanup_free_ char *url = srv_url(srv, "/up");
	struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	/* 128 KiB burst, then 512 KiB/s: 256 KiB (small-body path) and
	 * 1.25 MiB (streamed) cannot go up in less than 2.75 s together. */
	size_t n1 = 256u << 10, n2 = 5u << 18;
	uint8_t *d = th_data(n2, 1);
	double t0 = cairn_now();
	struct cairn_http_request rq = { .method = "PUT", .url = url, .body = d, .body_len = n1 };
	ck_ok(cairn_http_perform(c, &rq, &rs));
	rq.body_len = n2;
	ck_ok(cairn_http_perform(c, &rq, &rs));
	double dt = cairn_now() - t0;
	if (dt < (double)(n1 + n2 - (128u << 10)) / (512u << 10) - 0.2)
		fail_msg("1.5 MiB at 512 KiB/s took only %.2f s", dt);
	assert_int_equal(srv->body_len, n2);
	free(d);
	cairn_http_response_free(&rs);
	cairn_http_client_free(c);
	srv_stop(srv);
}

static void test_stats_file(void **state)
{
	(void)state;
	SCRIPT({ REPLY, 200, "", "abc" });
	char dir[PATH_MAX], file[PATH_MAX + 16], line[256];
	th_tmpdir(dir, sizeof(dir), "http");
	snprintf(file, sizeof(file), "%s/stats", dir);
	th_setenv("CAIRN_HTTP_STATS", file);
	struct cairn_http_client *c = client(3, 60);
	_cleanup_free_ char *url = srv_url(srv, "/s");
	struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	struct cairn_http_request rq = { .method = "GET", .url = url };
	ck_ok(cairn_http_perform(c, &rq, &rs));
	cairn_http_client_free(c);
	th_unsetenv("CAIRN_HTTP_STATS");
	FILE *f = fopen(file, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "{\"requests\":1,\"retries\":0,\"failures\":0,\"bytes_sent\":0,\"bytes_received\":3}\n");
	cairn_http_response_free(&rs);
	th_rm_rf(dir);
	srv_stop(srv);
}

static void test_opts_env(void **state)
{
	(void)state;
	th_setenv("CAIRN_HTTP_MAX_ATTEMPTS", "3");
	th_setenv("CAIRN_HTTP_RETRY_SECONDS", "7");
	th_setenv("CAIRN_HTTP_STALL_SECONDS", "bogus");
	/* Read once at start (app/settings.c), passed down by the drivers. */
	const struct cairn_http_env *env = &cairn_settings_init()->store.http;
	struct cairn_http_opts o = { .env = env };
	cairn_http_opts_finish(&o);
	assert_int_equal(o.max_attempts, 3);
	assert_int_equal(o.max_retry_ms, 7000);
	assert_int_equal(o.stall_seconds, 60);
	assert_int_equal(o.connections, 8);
	assert_int_equal(o.backoff_base_ms, 100);
	assert_int_equal(o.backoff_cap_ms, 10000);
	assert_int_equal(o.connect_timeout_ms, 10000);
	/* Set fields win over the environment. */
	struct cairn_http_opts p = { .max_attempts = 5, .env = env };
	cairn_http_opts_finish(&p);
	assert_int_equal(p.max_attempts, 5);
	/* Without the settings, the defaults. */
	struct cairn_http_opts q = { 0 };
	cairn_http_opts_finish(&q);
	assert_int_equal(q.max_attempts, 8);
	assert_int_equal(q.max_retry_ms, 120000);
	th_unsetenv("CAIRN_HTTP_MAX_ATTEMPTS");
	th_unsetenv("CAIRN_HTTP_RETRY_SECONDS");
	th_unsetenv("CAIRN_HTTP_STALL_SECONDS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_retryable_codes),
		cmocka_unit_test(test_curl_loaded),
		cmocka_unit_test(test_ratelimit_math),
		cmocka_unit_test(test_ratelimit_threads),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_retry_then_ok),
		cmocka_unit_test(test_no_retry_on_4xx),
		cmocka_unit_test(test_retry_fn),
		cmocka_unit_test(test_retries_exhausted),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_stall_message),
		cmocka_unit_test(test_body_limits),
		cmocka_unit_test(test_keepalive_and_bodies),
		cmocka_unit_test(test_range_and_head),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_upload_limit),
		cmocka_unit_test(test_stats_file),
		cmocka_unit_test(test_opts_env),
	};
	th_unsetenv("CAIRN_HTTP_STATS");
	th_unsetenv("CAIRN_HTTP_MAX_ATTEMPTS");
	th_unsetenv("CAIRN_HTTP_RETRY_SECONDS");
	th_unsetenv("CAIRN_HTTP_STALL_SECONDS");
	th_unsetenv("CAIRN_HTTP_BACKOFF_MS");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
