/* The read-only secondary endpoint (store/secondary.c, ?secondary=URL):
 * the URI split (no server needed), and on a real S3 server (the first
 * of CAIRN_TEST_S3_SERVERS, as test_store_s3.c reads them) the switch:
 * a primary that refuses connections, stalls, or answers 5xx sends reads
 * to the secondary (the same bucket through the real endpoint), once,
 * with one warning, and writes are refused from then on; a primary that
 * answers 404 or 403, or works, never touches the secondary (counted by
 * the counting wrapper).
 *
 * The misbehaving primaries are local: a closed port, a socket that
 * accepts connections and never answers, and a thread that answers every
 * request with one status.
 */
#include "helpers.h"

#include "store/secondary.h"
#include "store/testwrap.h"
#include "store/uri.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

static int strcmp_p(const char **a, const char **b)
{
	return strcmp(*a, *b);
}

struct server {
	char endpoint[256], access[128], secret[128], region[64];
	char bucket[64];
};
static struct server sv;
static bool have_server;

static void load_server(void)
{
	const char *list = getenv("CAIRN_TEST_S3_SERVERS");
	if (!list || !*list)
		return;
	char name[32], var[96];
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(list, " ,"), list);
	for (char *p = name; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	struct {
		const char *what;
		char *buf;
		size_t size;
	} v[] = {
		{ "ENDPOINT", sv.endpoint, sizeof(sv.endpoint) },
		{ "ACCESS_KEY", sv.access, sizeof(sv.access) },
		{ "SECRET_KEY", sv.secret, sizeof(sv.secret) },
		{ "REGION", sv.region, sizeof(sv.region) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		snprintf(var, sizeof(var), "CAIRN_TEST_%s_%s", name, v[i].what);
		const char *e = getenv(var);
		snprintf(v[i].buf, v[i].size, "%s", e ? e : "");
	}
	if (!sv.region[0])
		snprintf(sv.region, sizeof(sv.region), "us-east-1");
	snprintf(sv.bucket, sizeof(sv.bucket), "cairn-unit-sec-%ld", (long)getpid());
	have_server = sv.endpoint[0] && sv.access[0] && sv.secret[0];
}

/* Short retries and stall timeout: the failing primaries give up in a
 * second or two. */
static struct cairn_store_env quick_env = {
	.http = { .max_attempts = "2", .backoff_ms = "1", .stall_seconds = "1", .connect_timeout_ms = "1000" },
};

static struct cairn_store_opts opts(void)
{
	return (struct cairn_store_opts){ .env = &quick_env,
					  .s3 = { .access_key = sv.access, .secret_key = sv.secret } };
}

/* ---- warnings ---- */

static unsigned warnings;
static char last_warning[1024];

static void sink(int level, const char *line, void *ud)
{
	(void)ud;
	if (level != 0)
		return;
	warnings++;
	snprintf(last_warning, sizeof(last_warning), "%s", line);
}

/* ---- local primaries that fail ---- */

/* A TCP socket on 127.0.0.1, port in *ret_port. */
static int local_socket(unsigned *ret_port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t n = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
	*ret_port = ntohs(a.sin_port);
	return fd;
}

/* A port nothing listens on: connections are refused. */
static unsigned dead_port(void)
{
	unsigned port;
	close(local_socket(&port));
	return port;
}

/* Answers every request with one status, until stopped. */
struct status_server {
	int fd;
	unsigned port;
	int status;
	pthread_t thread;
	unsigned requests;
};

static void *status_serve(void *arg)
{
	struct status_server *s = arg;
	for (;;) {
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			return NULL;
		/* Reads the headers (requests here have no body), then one
		 * answer per connection. */
		char buf[8192];
		size_t got = 0;
		while (got < sizeof(buf) - 1) {
			ssize_t n = read(c, buf + got, sizeof(buf) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			buf[got] = 0;
			if (strstr(buf, "\r\n\r\n"))
				break;
		}
		__atomic_add_fetch(&s->requests, 1, __ATOMIC_RELAXED);
		char rs[256];
		int len = snprintf(rs, sizeof(rs), "HTTP/1.1 %d Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
				   s->status);
		if (write(c, rs, (size_t)len) < 0) {
			/* The client went away: nothing to do. */
		}
		close(c);
	}
}

static void status_start(struct status_server *s, int status)
{
	*s = (struct status_server){ .status = status };
	s->fd = local_socket(&s->port);
	assert_int_equal(listen(s->fd, 16), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, status_serve, s), 0);
}

static void status_stop(struct status_server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	close(s->fd);
	pthread_join(s->thread, NULL);
}

/* ---- fixtures ---- */

#define OBJ_A_LEN (3u << 20)
static uint8_t *obj_a;

static void uri_of(char *buf, size_t size, const char *endpoint, const char *extra)
{
	snprintf(buf, size, "s3://%s/sec?endpoint=%s&region=%s%s%s", sv.bucket, endpoint, sv.region,
		 extra ? "&" : "", extra ? extra : "");
}

/* The bucket with sec/a (3 MiB), sec/b and sec/c/d, through the real
 * endpoint without a secondary. */
static int group_setup(void **state)
{
	(void)state;
	char uri[1024];
	struct cairn_store_opts o = opts();
	struct cairn_store *s = NULL;
	uri_of(uri, sizeof(uri), sv.endpoint, NULL);
	if (cairn_store_open_opts(uri, &o, &s) < 0 || cairn_store_create(s) < 0) {
		fprintf(stderr, "setup: %s\n", cairn_error_message());
		cairn_store_free(s);
		return -1;
	}
	obj_a = th_data(OBJ_A_LEN, 7);
	int r = cairn_store_put(s, "a", obj_a, OBJ_A_LEN, 0);
	if (r >= 0)
		r = cairn_store_put(s, "b", "bee", 3, 0);
	if (r >= 0)
		r = cairn_store_put(s, "c/d", "dee", 3, 0);
	if (r < 0)
		fprintf(stderr, "setup: %s\n", cairn_error_message());
	cairn_store_free(s);
	return r < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char uri[1024];
	struct cairn_store_opts o = opts();
	struct cairn_store *s = NULL;
	uri_of(uri, sizeof(uri), sv.endpoint, NULL);
	if (cairn_store_open_opts(uri, &o, &s) == 0) {
		const char *keys[] = { "a", "b", "c/d" };
		cairn_store_del_many(s, keys, ARRAY_SIZE(keys));
		cairn_store_free(s);
	}
	free(obj_a);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	cairn_store_secondary_reset();
	warnings = 0;
	last_warning[0] = 0;
	cairn_log_set_sink(sink, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cairn_log_set_sink(NULL, NULL);
	return 0;
}

/* ---- the URI (no server) ---- */

static void test_split(void **state)
{
	(void)state;
	struct cairn_uri_secondary s;

	ck_ok(cairn_uri_secondary_split("s3://b/p?endpoint=http://x:1&region=r", true, &s));
	assert_string_equal(s.primary, "s3://b/p?endpoint=http://x:1&region=r");
	assert_null(s.secondary);
	cairn_uri_secondary_free(&s);

	ck_ok(cairn_uri_secondary_split("s3://b/p?endpoint=http://x:1&secondary=http%3A//y:2&region=r", true, &s));
	assert_string_equal(s.primary, "s3://b/p?endpoint=http://x:1&region=r");
	assert_string_equal(s.secondary, "s3://b/p?region=r&endpoint=http%3A//y:2");
	assert_string_equal(s.primary_name, "http://x:1");
	assert_string_equal(s.secondary_name, "http://y:2");
	cairn_uri_secondary_free(&s);

	/* The replica's bucket; alone, the same endpoint. */
	ck_ok(cairn_uri_secondary_split("s3://b/p/q?secondary_bucket=rep&secondary=https://y", true, &s));
	assert_string_equal(s.primary, "s3://b/p/q");
	assert_string_equal(s.secondary, "s3://rep/p/q?endpoint=https://y");
	assert_string_equal(s.primary_name, "s3://b/p/q");
	cairn_uri_secondary_free(&s);
	ck_ok(cairn_uri_secondary_split("gs://b?secondary_bucket=rep&region=r", true, &s));
	assert_string_equal(s.primary, "gs://b?region=r");
	assert_string_equal(s.secondary, "gs://rep?region=r");
	cairn_uri_secondary_free(&s);

	/* Azure: the -secondary host. */
	ck_ok(cairn_uri_secondary_split("azure://acct/cont/p?secondary=https://acct-secondary.blob.core.windows.net",
					false, &s));
	assert_string_equal(s.primary, "azure://acct/cont/p");
	assert_string_equal(s.secondary, "azure://acct/cont/p?endpoint=https://acct-secondary.blob.core.windows.net");
	cairn_uri_secondary_free(&s);

	assert_int_equal(cairn_uri_secondary_split("azure://acct/cont?secondary_bucket=x", false, &s), CAIRN_EINVAL);
	assert_int_equal(cairn_uri_secondary_split("s3://b?secondary=http://a&secondary=http://b", true, &s),
			 CAIRN_EINVAL);
	assert_non_null(strstr(cairn_error_message(), "given twice"));
	assert_int_equal(cairn_uri_secondary_split("s3://b?secondary=", true, &s), CAIRN_EINVAL);
	assert_int_equal(cairn_uri_secondary_split("s3://b?secondary", true, &s), CAIRN_EINVAL);
	assert_int_equal(cairn_uri_secondary_split("s3://b?secondary_bucket=a/b", true, &s), CAIRN_EINVAL);
	assert_null(s.primary);
}

/* The driver still checks the secondary's endpoint; a local path keeps
 * its '?'. */
static void test_open_errors(void **state)
{
	(void)state;
	struct cairn_store *s = NULL;
	struct cairn_store_opts o = { .env = &quick_env, .s3 = { .access_key = "k", .secret_key = "s" } };
	assert_int_equal(cairn_store_open_opts("s3://b?endpoint=http://127.0.0.1:1&secondary=ftp://x", &o, &s),
			 CAIRN_EINVAL);
	assert_non_null(strstr(cairn_error_message(), "secondary endpoint"));
	assert_int_equal(cairn_store_open_opts("s3://b?endpoint=http://127.0.0.1:1&secondary=http://u:p@x", &o, &s),
			 CAIRN_EINVAL);
	assert_null(strstr(cairn_error_message(), "u:p"));
	assert_null(s);

	char dir[256], path[300];
	th_tmpdir(dir, sizeof(dir), "secondary-local");
	snprintf(path, sizeof(path), "%s/x?secondary=http://y", dir);
	ck_ok(cairn_store_open_opts(path, NULL, &s));
	assert_null(cairn_store_secondary_active(s));
	cairn_store_free(s);
	th_rm_rf(dir);
}

/* ---- listings broken off (no server: a scripted primary, a local
 * secondary) ---- */

/* Lists its keys in the given order, then fails with `fail` (0: none);
 * every other call fails with CAIRN_ENET. */
struct scripted {
	struct cairn_store base;
	const char *const *keys;
	size_t n;
	int fail;
};

static int scripted_list(struct cairn_store *s, const char *prefix, cairn_store_list_fn fn, void *ud)
{
	(void)prefix;
	struct scripted *p = (struct scripted *)s;
	for (size_t i = 0; i < p->n; i++) {
		int r = fn(p->keys[i], 1, ud);
		if (r)
			return r;
	}
	return p->fail ? cairn_error_set(p->fail, "scripted failure") : 0;
}

static int scripted_get(struct cairn_store *s, const char *key, uint64_t off, uint64_t len, struct cairn_buf *out)
{
	(void)s, (void)key, (void)off, (void)len, (void)out;
	return cairn_error_set(CAIRN_ENET, "scripted: unreachable");
}

static int scripted_put(struct cairn_store *s, const char *key, const void *data, size_t len, unsigned flags)
{
	(void)s, (void)key, (void)data, (void)len, (void)flags;
	return cairn_error_set(CAIRN_ENET, "scripted: unreachable");
}

static int scripted_stat(struct cairn_store *s, const char *key, uint64_t *ret)
{
	(void)s, (void)key, (void)ret;
	return cairn_error_set(CAIRN_ENET, "scripted: unreachable");
}

static int scripted_del(struct cairn_store *s, const char *key)
{
	(void)s, (void)key;
	return cairn_error_set(CAIRN_ENET, "scripted: unreachable");
}

static void scripted_free(struct cairn_store *s)
{
	free(s->uri);
	free(s);
}

static const struct cairn_store_ops scripted_ops = {
	.name = "scripted",
	.get = scripted_get,
	.put = scripted_put,
	.stat = scripted_stat,
	.del = scripted_del,
	.list = scripted_list,
	.free = scripted_free,
};

/* The wrapper over a scripted primary and a local directory holding
 * a, b, c, d. */
static struct cairn_store *scripted_wrap(const char *const *keys, size_t n, int fail, char *dir, size_t dirsize)
{
	struct scripted *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	p->base.ops = &scripted_ops;
	p->base.uri = strdup("scripted://primary");
	p->keys = keys;
	p->n = n;
	p->fail = fail;
	th_tmpdir(dir, dirsize, "secondary-list");
	struct cairn_store *sec = NULL, *w = NULL;
	ck_ok(cairn_store_local_open(dir, &sec));
	ck_ok(cairn_store_create(sec));
	const char *all[] = { "a", "b", "c", "d" };
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		ck_ok(cairn_store_put(sec, all[i], "x", 1, 0));
	ck_ok(cairn_store_secondary_wrap(&p->base, sec, "scripted://primary?secondary=local", "P", "S", &w));
	return w;
}

static int collect_sorted(const char *key, uint64_t size, void *ud)
{
	(void)size;
	strcat(ud, key);
	strcat(ud, ";");
	return 0;
}

static int stop_at_b(const char *key, uint64_t size, void *ud)
{
	(void)size;
	(void)ud;
	return strcmp(key, "b") == 0 ? 7 : 0;
}

static void test_list_resumes(void **state)
{
	(void)state;
	char dir[256], keys[128];
	struct cairn_store *w;

	/* Broken off after a, b: the secondary gives c, d; nothing twice.
	 * (The local store lists in no set order: collect sorts.) */
	static const char *const ab[] = { "a", "b" };
	w = scripted_wrap(ab, 2, CAIRN_ENET, dir, sizeof(dir));
	struct cairn_key_list l;
	ck_ok(cairn_store_list_keys(w, "", &l));
	assert_int_equal(l.n, 4);
	qsort(l.v, l.n, sizeof(*l.v), (int (*)(const void *, const void *))strcmp_p);
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(strlen(l.v[i]), 1);
		assert_int_equal(l.v[i][0], "abcd"[i]);
	}
	cairn_key_list_free(&l);
	assert_true(cairn_store_secondary_fallen(w));
	assert_int_equal(warnings, 1);
	assert_non_null(strstr(last_warning, "primary endpoint P unreachable (scripted failure): reading from the "
					     "secondary S"));
	cairn_store_free(w);
	th_rm_rf(dir);

	/* Out of order: cannot resume; the listing fails, later ones go to
	 * the secondary. */
	cairn_store_secondary_reset();
	static const char *const ba[] = { "b", "a" };
	w = scripted_wrap(ba, 2, CAIRN_ENET, dir, sizeof(dir));
	keys[0] = 0;
	assert_int_equal(cairn_store_list(w, "", collect_sorted, keys), CAIRN_ENET);
	assert_true(cairn_store_secondary_fallen(w));
	keys[0] = 0;
	ck_ok(cairn_store_list(w, "", collect_sorted, keys));
	assert_int_equal(strlen(keys), 8);
	cairn_store_free(w);
	th_rm_rf(dir);

	/* The callback's own stop, and a failure that is not the
	 * network's: returned as they are, no switch. */
	cairn_store_secondary_reset();
	w = scripted_wrap(ab, 2, CAIRN_ENET, dir, sizeof(dir));
	assert_int_equal(cairn_store_list(w, "", stop_at_b, NULL), 7);
	assert_false(cairn_store_secondary_fallen(w));
	cairn_store_free(w);
	th_rm_rf(dir);
	w = scripted_wrap(ab, 2, CAIRN_EIO, dir, sizeof(dir));
	keys[0] = 0;
	assert_int_equal(cairn_store_list(w, "", collect_sorted, keys), CAIRN_EIO);
	assert_false(cairn_store_secondary_fallen(w));
	cairn_store_free(w);
	th_rm_rf(dir);
}

/* A write the primary cannot take switches reads; the write fails with
 * the primary's error, the next one is refused. */
static void test_write_switches(void **state)
{
	(void)state;
	char dir[256];
	struct cairn_store *w = scripted_wrap(NULL, 0, 0, dir, sizeof(dir));
	assert_int_equal(cairn_store_put(w, "k", "v", 1, 0), CAIRN_ENET);
	assert_string_equal(cairn_error_message(), "scripted: unreachable");
	assert_true(cairn_store_secondary_fallen(w));
	uint64_t size;
	ck_ok(cairn_store_stat(w, "a", &size));
	assert_int_equal(cairn_store_put(w, "k", "v", 1, 0), CAIRN_ENET);
	assert_non_null(strstr(cairn_error_message(), "the secondary S is read-only"));
	assert_int_equal(warnings, 1);
	cairn_store_free(w);
	th_rm_rf(dir);
}

/* ---- the switch ---- */

#define SKIP_WITHOUT_SERVER()                                                                                    \
	do {                                                                                                     \
		if (!have_server)                                                                                \
			skip();                                                                                  \
	} while (0)

static int collect(const char *key, uint64_t size, void *ud)
{
	(void)size;
	char *acc = ud;
	strcat(acc, key);
	strcat(acc, ";");
	return 0;
}

/* Reads through a store whose primary endpoint is `endpoint` (failing)
 * and whose secondary is the real one. */
static void check_fallback(const char *endpoint, const char *reason)
{
	char uri[1024], extra[400];
	struct cairn_store_opts o = opts();
	_cleanup_(cairn_store_freep) struct cairn_store *s = NULL, *s2 = NULL;
	_cleanup_(cairn_buf_freep) struct cairn_buf b = CAIRN_BUF_INIT;

	snprintf(extra, sizeof(extra), "secondary=%s", sv.endpoint);
	uri_of(uri, sizeof(uri), endpoint, extra);
	ck_ok(cairn_store_open_opts(uri, &o, &s));
	assert_false(cairn_store_secondary_fallen(s));

	/* Identical bytes, through the secondary. */
	ck_ok(cairn_store_get(s, "a", 0, CAIRN_STORE_TO_END, &b));
	assert_true(cairn_store_secondary_fallen(s));
	assert_int_equal(b.len, OBJ_A_LEN);
	assert_memory_equal(b.data, obj_a, OBJ_A_LEN);
	assert_int_equal(warnings, 1);
	char want[512];
	snprintf(want, sizeof(want), "primary endpoint %s unreachable (", endpoint);
	assert_non_null(strstr(last_warning, want));
	snprintf(want, sizeof(want), "): reading from the secondary %s", sv.endpoint);
	assert_non_null(strstr(last_warning, want));
	if (reason)
		assert_non_null(strstr(last_warning, reason));

	uint64_t size;
	ck_ok(cairn_store_stat(s, "b", &size));
	assert_int_equal(size, 3);
	ck_ok(cairn_store_get(s, "a", 100, 10, &b));
	assert_memory_equal(b.data, obj_a + 100, 10);
	char keys[256] = "";
	ck_ok(cairn_store_list(s, "", collect, keys));
	assert_string_equal(keys, "a;b;c/d;");
	/* A missing object is the secondary's answer now. */
	assert_int_equal(cairn_store_get(s, "nope", 0, CAIRN_STORE_TO_END, &b), CAIRN_ENOTFOUND);
	assert_int_equal(warnings, 1);

	/* Writes: one line saying what to do. */
	assert_int_equal(cairn_store_put(s, "new", "x", 1, 0), CAIRN_ENET);
	snprintf(want, sizeof(want),
		 "the primary endpoint %s is unreachable; the secondary %s is read-only: copy what you need to a "
		 "new repository with 'cairn copy --to URI'",
		 endpoint, sv.endpoint);
	assert_string_equal(cairn_error_message(), want);
	assert_int_equal(cairn_store_del(s, "b"), CAIRN_ENET);
	const char *del[] = { "b" };
	assert_int_equal(cairn_store_del_many(s, del, 1), CAIRN_ENET);
	assert_int_equal(cairn_store_create(s), CAIRN_ENET);
	struct cairn_store_sweep sw;
	assert_int_equal(cairn_store_sweep(s, 0, &sw), CAIRN_ENET);
	ck_ok(cairn_store_stat(s, "b", &size)); /* still there */

	/* Another store of the same command starts on the secondary, no
	 * second warning, no second wait. */
	ck_ok(cairn_store_open_opts(uri, &o, &s2));
	assert_true(cairn_store_secondary_fallen(s2));
	ck_ok(cairn_store_stat(s2, "c/d", &size));
	assert_int_equal(cairn_store_put(s2, "new", "x", 1, 0), CAIRN_ENET);
	assert_int_equal(warnings, 1);
}

static void test_refused(void **state)
{
	(void)state;
	SKIP_WITHOUT_SERVER();
	char ep[64];
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%u", dead_port());
	check_fallback(ep, NULL);
}

/* Accepts (the kernel's backlog) and never answers: the stall timeout. */
static void test_stalled(void **state)
{
	(void)state;
	SKIP_WITHOUT_SERVER();
	unsigned port;
	int fd = local_socket(&port);
	assert_int_equal(listen(fd, 64), 0);
	char ep[64];
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%u", port);
	check_fallback(ep, NULL);
	close(fd);
}

static void test_server_error(void **state)
{
	(void)state;
	SKIP_WITHOUT_SERVER();
	struct status_server fs;
	status_start(&fs, 503);
	char ep[64];
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%u", fs.port);
	check_fallback(ep, "503");
	/* The driver's retries happened before the switch. */
	assert_true(fs.requests >= 2);
	status_stop(&fs);
}

/* The primary and secondary wrapped in counting stores, then in the
 * secondary wrapper: how many calls reach each. */
static void open_counted(const char *primary_uri, const struct cairn_store_opts *po, struct cairn_store **ret,
			 struct cairn_store **ret_pc, struct cairn_store **ret_sc)
{
	char uri[1024];
	struct cairn_store_opts o = opts();
	struct cairn_store *p = NULL, *sec = NULL, *pc = NULL, *sc = NULL;
	uri_of(uri, sizeof(uri), sv.endpoint, NULL);
	ck_ok(cairn_store_open_opts(primary_uri, po, &p));
	ck_ok(cairn_store_count_wrap(p, &pc));
	ck_ok(cairn_store_open_opts(uri, &o, &sec));
	ck_ok(cairn_store_count_wrap(sec, &sc));
	ck_ok(cairn_store_secondary_wrap(pc, sc, primary_uri, "P", "S", ret));
	*ret_pc = pc;
	*ret_sc = sc;
}

static void assert_untouched(struct cairn_store *sc)
{
	struct cairn_store_counts n;
	cairn_store_count_get(sc, &n);
	assert_int_equal(n.get + n.put + n.stat + n.del + n.list + n.copy_from, 0);
}

/* A working primary: reads, writes, 404s, and the secondary untouched. */
static void test_working_primary(void **state)
{
	(void)state;
	SKIP_WITHOUT_SERVER();
	char uri[1024];
	struct cairn_store_opts o = opts();
	_cleanup_(cairn_store_freep) struct cairn_store *s = NULL;
	struct cairn_store *pc, *sc;
	_cleanup_(cairn_buf_freep) struct cairn_buf b = CAIRN_BUF_INIT;

	uri_of(uri, sizeof(uri), sv.endpoint, NULL);
	open_counted(uri, &o, &s, &pc, &sc);
	ck_ok(cairn_store_get(s, "a", 0, CAIRN_STORE_TO_END, &b));
	assert_memory_equal(b.data, obj_a, OBJ_A_LEN);
	uint64_t size;
	ck_ok(cairn_store_stat(s, "b", &size));
	char keys[256] = "";
	ck_ok(cairn_store_list(s, "", collect, keys));
	assert_string_equal(keys, "a;b;c/d;");
	assert_int_equal(cairn_store_get(s, "nope", 0, CAIRN_STORE_TO_END, &b), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_store_stat(s, "nope", &size), CAIRN_ENOTFOUND);
	ck_ok(cairn_store_put(s, "w", "w", 1, 0));
	ck_ok(cairn_store_del(s, "w"));

	struct cairn_store_counts n;
	cairn_store_count_get(pc, &n);
	assert_int_equal(n.get, 2);
	assert_int_equal(n.stat, 2);
	assert_int_equal(n.list, 1);
	assert_int_equal(n.put, 1);
	assert_untouched(sc);
	assert_false(cairn_store_secondary_fallen(s));
	assert_int_equal(warnings, 0);
}

/* Answers of a reachable primary are not a reason to switch: a 404 (no
 * bucket there) and refused credentials. */
static void test_answers_do_not_switch(void **state)
{
	(void)state;
	SKIP_WITHOUT_SERVER();
	char uri[1024];
	_cleanup_(cairn_buf_freep) struct cairn_buf b = CAIRN_BUF_INIT;
	struct cairn_store *pc, *sc;
	uint64_t size;

	/* A bucket the primary does not have. */
	{
		struct cairn_store_opts o = opts();
		_cleanup_(cairn_store_freep) struct cairn_store *s = NULL;
		snprintf(uri, sizeof(uri), "s3://%s-none/sec?endpoint=%s&region=%s", sv.bucket, sv.endpoint,
			 sv.region);
		open_counted(uri, &o, &s, &pc, &sc);
		/* NoSuchBucket: not a repository (or not found, where the
		 * server does not say which), no reason to switch. */
		int r = cairn_store_get(s, "a", 0, CAIRN_STORE_TO_END, &b);
		assert_true(r == CAIRN_ENOTFOUND || r == CAIRN_ENOTREPO);
		r = cairn_store_stat(s, "a", &size);
		assert_true(r == CAIRN_ENOTFOUND || r == CAIRN_ENOTREPO);
		assert_false(cairn_store_secondary_fallen(s));
		assert_untouched(sc);
	}
	/* A wrong secret. */
	{
		struct cairn_store_opts o = opts();
		o.s3.secret_key = "not-the-secret";
		_cleanup_(cairn_store_freep) struct cairn_store *s = NULL;
		uri_of(uri, sizeof(uri), sv.endpoint, NULL);
		open_counted(uri, &o, &s, &pc, &sc);
		int r = cairn_store_get(s, "a", 0, CAIRN_STORE_TO_END, &b);
		assert_true(r < 0 && r != CAIRN_ENET);
		assert_false(cairn_store_secondary_fallen(s));
		assert_untouched(sc);
	}
	/* 404 and 403 from a server that answers only that. */
	int statuses[] = { 404, 403 };
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++) {
		struct status_server fs;
		status_start(&fs, statuses[i]);
		struct cairn_store_opts o = opts();
		_cleanup_(cairn_store_freep) struct cairn_store *s = NULL;
		char ep[64];
		snprintf(ep, sizeof(ep), "http://127.0.0.1:%u", fs.port);
		uri_of(uri, sizeof(uri), ep, NULL);
		open_counted(uri, &o, &s, &pc, &sc);
		int r = cairn_store_get(s, "a", 0, CAIRN_STORE_TO_END, &b);
		assert_true(r < 0 && r != CAIRN_ENET);
		assert_false(cairn_store_secondary_fallen(s));
		assert_untouched(sc);
		status_stop(&fs);
	}
	assert_int_equal(warnings, 0);
}

int main(void)
{
	const struct CMUnitTest local[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test_setup_teardown(test_list_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_switches, setup, teardown),
	};
	const struct CMUnitTest remote[] = {
		cmocka_unit_test_setup_teardown(test_working_primary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answers_do_not_switch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stalled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_error, setup, teardown),
	};
	th_unsetenv("CAIRN_TEST_FAULT");
	th_unsetenv("CAIRN_TEST_COUNT");
	load_server();
	int failed = cmocka_run_group_tests_name("secondary (uri)", local, NULL, NULL);
	if (!have_server) {
		fprintf(stderr, "test_store_secondary: no S3 server configured (CAIRN_TEST_S3_SERVERS is unset; "
				"scripts/run-tests starts Ceph RGW and sets it): skipping the server tests\n");
		return failed + cmocka_run_group_tests_name("secondary (no server: skipped)", remote, NULL, NULL);
	}
	return failed + cmocka_run_group_tests_name("secondary on a server", remote, group_setup, group_teardown);
}
