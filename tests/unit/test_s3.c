/* The pure pieces of the S3 driver, without a server: URI and option
 * parsing, URL building, the XML reader, the S3 documents, error mapping. */
#include "helpers.h"

#include "store/s3/s3.h"
#include "util/cleanup.h"

/* ---- configuration ---- */

static void clear_env(void)
{
	static const char *const vars[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
					    "AWS_REGION", "AWS_DEFAULT_REGION", "GOOGLE_HMAC_ACCESS_KEY",
					    "GOOGLE_HMAC_SECRET" };
	for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
		th_unsetenv(vars[i]);
}

static const struct cairn_store_opts keys = { .s3 = { .access_key = "AKIDEXAMPLE", .secret_key = "s3cr3t/Key+" } };

static void parse_ok(const char *uri, const struct cairn_store_opts *o, struct cairn_s3_config *c)
{
	int r = cairn_s3_config_parse(uri, o, c);
	if (r != 0)
		fail_msg("parse '%s' = %s: %s", uri, cairn_error_name(r), cairn_error_message());
}

static void parse_fails(const char *uri, const struct cairn_store_opts *o, int code, const char *msg)
{
	struct cairn_s3_config c;
	int r = cairn_s3_config_parse(uri, o, &c);
	cairn_s3_config_free(&c);
	if (r != code)
		fail_msg("parse '%s' = %s (%s), want %s", uri, cairn_error_name(r), cairn_error_message(),
			 cairn_error_name(code));
	if (msg && !strstr(cairn_error_message(), msg))
		fail_msg("parse '%s': message '%s' lacks '%s'", uri, cairn_error_message(), msg);
}

static void test_config_aws_defaults(void **state)
{
	(void)state;
	struct cairn_s3_config c;
	clear_env();
	parse_ok("s3://bucket", &keys, &c);
	assert_int_equal(c.flavor, CAIRN_S3_FLAVOR_S3);
	assert_string_equal(c.bucket, "bucket");
	assert_string_equal(c.prefix, "");
	assert_string_equal(c.endpoint, "https://s3.us-east-1.amazonaws.com");
	assert_string_equal(c.region, "us-east-1");
	assert_true(c.aws);
	assert_true(c.virtual_host);
	assert_false(c.allow_http);
	assert_true(c.multi_delete);
	assert_int_equal(c.cond, CAIRN_S3_COND_IF_NONE_MATCH);
	assert_int_equal(c.part_size, CAIRN_S3_PART_SIZE_DEFAULT);
	assert_int_equal(c.multipart_threshold, CAIRN_S3_THRESHOLD_DEFAULT);
	assert_int_equal(c.connections, 8);
	assert_int_equal(c.max_keys, 1000);
	assert_string_equal(c.access_key, "AKIDEXAMPLE");
	assert_string_equal(c.secret_key, "s3cr3t/Key+");
	assert_null(c.session_token);
	cairn_s3_config_free(&c);

	/* Prefix slashes are normalised; the region picks the endpoint. */
	parse_ok("s3://bucket//a/b//?region=eu-west-3", &keys, &c);
	assert_string_equal(c.prefix, "a/b/");
	assert_string_equal(c.endpoint, "https://s3.eu-west-3.amazonaws.com");
	cairn_s3_config_free(&c);

	/* Names that cannot be a DNS label stay path-style. */
	parse_ok("s3://my.bucket/p", &keys, &c);
	assert_false(c.virtual_host);
	cairn_s3_config_free(&c);
	parse_ok("s3://My_Bucket/p", &keys, &c);
	assert_false(c.virtual_host);
	cairn_s3_config_free(&c);
}

static void test_config_endpoints(void **state)
{
	(void)state;
	struct cairn_s3_config c;
	clear_env();

	/* An http:// endpoint in the URI is asked for explicitly. */
	parse_ok("s3://b/p?endpoint=http://127.0.0.1:9000/&region=home", &keys, &c);
	assert_string_equal(c.scheme, "http");
	assert_string_equal(c.host, "127.0.0.1:9000");
	assert_string_equal(c.path, "");
	assert_string_equal(c.endpoint, "http://127.0.0.1:9000");
	assert_string_equal(c.region, "home");
	assert_true(c.allow_http);
	assert_false(c.virtual_host);
	assert_false(c.aws);
	cairn_s3_config_free(&c);

	/* From the options: no scheme is https, or http with disable_ssl;
	 * http:// needs disable_ssl. */
	struct cairn_store_opts o = keys;
	o.endpoint = "Minio.Example:9000/s3/";
	parse_ok("s3://b", &o, &c);
	assert_string_equal(c.endpoint, "https://minio.example:9000/s3");
	assert_string_equal(c.path, "/s3");
	assert_false(c.allow_http);
	cairn_s3_config_free(&c);
	o.disable_ssl = true;
	parse_ok("s3://b", &o, &c);
	assert_string_equal(c.endpoint, "http://minio.example:9000/s3");
	assert_true(c.allow_http);
	cairn_s3_config_free(&c);
	o.disable_ssl = false;
	o.endpoint = "http://10.0.0.1:80";
	parse_fails("s3://b", &o, CAIRN_EINVAL, "disable_ssl");
	o.disable_ssl = true;
	parse_ok("s3://b", &o, &c);
	cairn_s3_config_free(&c);
	/* The URI's endpoint wins over the options'. */
	o.endpoint = "https://other.example";
	parse_ok("s3://b?endpoint=https://mine.example", &o, &c);
	assert_string_equal(c.host, "mine.example");
	cairn_s3_config_free(&c);

	/* amazonaws.com endpoints get virtual hosting, others may ask. */
	parse_ok("s3://bucket?endpoint=https://s3.dualstack.us-east-2.amazonaws.com", &keys, &c);
	assert_true(c.virtual_host);
	cairn_s3_config_free(&c);
	parse_ok("s3://bucket?endpoint=https://s3.example&style=virtual", &keys, &c);
	assert_true(c.virtual_host);
	cairn_s3_config_free(&c);
	parse_ok("s3://bucket?style=path", &keys, &c);
	assert_false(c.virtual_host);
	cairn_s3_config_free(&c);
	parse_fails("s3://bucket?endpoint=https://h/x&style=virtual", &keys, CAIRN_EINVAL, "endpoint path");
	parse_fails("s3://a.b?style=virtual", &keys, CAIRN_EINVAL, "DNS label");
	parse_fails("s3://b?style=both", &keys, CAIRN_EINVAL, "style");

	/* No user info (a password) in an endpoint, and it is not echoed. */
	parse_fails("s3://b?endpoint=https://user:pw1234@host", &keys, CAIRN_EINVAL, "scheme://host");
	assert_null(strstr(cairn_error_message(), "pw1234"));
	parse_fails("s3://b?endpoint=ftp://host", &keys, CAIRN_EINVAL, "only http");
	parse_fails("s3://b?endpoint=https://", &keys, CAIRN_EINVAL, "no host");
}

/* A stored credential's keys (opts.cred set) go only to its endpoint, or
 * AWS's for the region, over TLS unless it disables SSL. */
static void test_config_cred_binding(void **state)
{
	(void)state;
	struct cairn_s3_config c;
	clear_env();
	struct cairn_store_opts o = keys;
	o.cred = "0f0f0f0f-0000-4000-8000-000000000001";
	o.cred_name = "prod";
	o.s3.region = "eu-west-3";

	/* No endpoint of its own: AWS for the region, whichever region. */
	parse_ok("s3://b/p", &o, &c);
	assert_string_equal(c.endpoint, "https://s3.eu-west-3.amazonaws.com");
	cairn_s3_config_free(&c);
	parse_ok("s3://b/p?endpoint=https://S3.eu-west-3.amazonaws.com:443/", &o, &c);
	cairn_s3_config_free(&c);
	parse_ok("s3://b/p?region=us-west-2&endpoint=s3.us-west-2.amazonaws.com", &o, &c);
	assert_string_equal(c.endpoint, "https://s3.us-west-2.amazonaws.com");
	cairn_s3_config_free(&c);
	/* Anywhere else: refused, naming the credential and both endpoints,
	 * and what to do. */
	parse_fails("s3://b/p?endpoint=http://127.0.0.1:9000", &o, CAIRN_EPERM,
		    "credential 0f0f0f0f-0000-4000-8000-000000000001 ('prod') is bound to "
		    "https://s3.eu-west-3.amazonaws.com, but the repository URI names endpoint http://127.0.0.1:9000");
	assert_non_null(strstr(cairn_error_message(), "--s3-endpoint http://127.0.0.1:9000 --s3-disable-ssl"));
	assert_null(strstr(cairn_error_message(), "s3cr3t"));
	parse_fails("s3://b/p?endpoint=https://127.0.0.1:9000", &o, CAIRN_EPERM, "names endpoint https://127.0.0.1:9000");
	/* Plain http to AWS itself. */
	parse_fails("s3://b/p?endpoint=http://s3.eu-west-3.amazonaws.com", &o, CAIRN_EPERM, "is bound to https://");
	parse_fails("s3://b/p?endpoint=https://s3.eu-west-3.amazonaws.com.evil.example", &o, CAIRN_EPERM, NULL);

	/* An endpoint of its own: that host, port and path only. */
	o.endpoint = "Minio.Example:9000/s3";
	parse_ok("s3://b?endpoint=https://minio.example:9000/s3/", &o, &c);
	cairn_s3_config_free(&c);
	parse_fails("s3://b?endpoint=https://minio.example:9001/s3", &o, CAIRN_EPERM, "bound to https://minio.example:9000/s3");
	parse_fails("s3://b?endpoint=https://minio.example:9000/other", &o, CAIRN_EPERM, NULL);
	parse_fails("s3://b?endpoint=https://minio.example.evil:9000/s3", &o, CAIRN_EPERM, NULL);
	parse_fails("s3://b?endpoint=http://minio.example:9000/s3", &o, CAIRN_EPERM, "--s3-disable-ssl");
	/* With disable_ssl: http, or https to the same place. */
	o.disable_ssl = true;
	parse_ok("s3://b?endpoint=http://minio.example:9000/s3", &o, &c);
	assert_true(c.allow_http);
	cairn_s3_config_free(&c);
	parse_ok("s3://b?endpoint=https://minio.example:9000/s3", &o, &c);
	assert_false(c.allow_http);
	cairn_s3_config_free(&c);
	parse_ok("s3://b?endpoint=minio.example:9000/s3", &o, &c);
	cairn_s3_config_free(&c);
	/* Default ports: http://h is port 80, https://h port 443. */
	o.endpoint = "http://h";
	parse_ok("s3://b?endpoint=http://h:80", &o, &c);
	cairn_s3_config_free(&c);
	parse_fails("s3://b?endpoint=https://h", &o, CAIRN_EPERM, NULL);
	o.endpoint = "http://[::1]:9000";
	parse_ok("s3://b?endpoint=http://[::1]:9000/", &o, &c);
	cairn_s3_config_free(&c);
	parse_fails("s3://b?endpoint=http://[::1]:9001", &o, CAIRN_EPERM, NULL);

	/* Google credentials: storage.googleapis.com only. */
	struct cairn_store_opts g = keys;
	g.cred = "0f0f0f0f-0000-4000-8000-000000000002";
	parse_ok("gs://b?endpoint=https://storage.googleapis.com", &g, &c);
	cairn_s3_config_free(&c);
	parse_fails("gs://b?endpoint=http://127.0.0.1:9", &g, CAIRN_EPERM, "reach only Google Cloud Storage");

	/* The same options without a stored credential (keys of the caller's
	 * own choosing) follow the URI as before. */
	o.cred = NULL;
	o.endpoint = NULL;
	o.disable_ssl = false;
	parse_ok("s3://b?endpoint=http://127.0.0.1:9000", &o, &c);
	assert_true(c.allow_http);
	cairn_s3_config_free(&c);
	/* ... and without a scheme that is https. */
	parse_ok("s3://b?endpoint=127.0.0.1:9000", &o, &c);
	assert_false(c.allow_http);
	cairn_s3_config_free(&c);
}

static void test_config_gcs(void **state)
{
	(void)state;
	struct cairn_s3_config c;
	clear_env();
	struct cairn_store_opts o = keys;
	o.s3.project_id = "proj-1";
	parse_ok("gs://bucket/backups", &o, &c);
	assert_int_equal(c.flavor, CAIRN_S3_FLAVOR_GCS);
	assert_string_equal(c.endpoint, "https://storage.googleapis.com");
	assert_string_equal(c.region, "auto");
	assert_false(c.virtual_host);
	assert_false(c.multi_delete);
	assert_int_equal(c.cond, CAIRN_S3_COND_GOOG_GENERATION);
	assert_string_equal(c.prefix, "backups/");
	assert_string_equal(c.project_id, "proj-1");
	cairn_s3_config_free(&c);

	/* HMAC keys from the environment, GOOGLE_* first; AWS_REGION is not
	 * GCS's. */
	th_setenv("AWS_REGION", "eu-north-1");
	th_setenv("AWS_ACCESS_KEY_ID", "aws-ak");
	th_setenv("AWS_SECRET_ACCESS_KEY", "aws-sk");
	parse_ok("gs://bucket", NULL, &c);
	assert_string_equal(c.access_key, "aws-ak");
	assert_string_equal(c.region, "auto");
	cairn_s3_config_free(&c);
	th_setenv("GOOGLE_HMAC_ACCESS_KEY", "GOOG1EXAMPLE");
	th_setenv("GOOGLE_HMAC_SECRET", "goog-secret");
	parse_ok("gs://bucket", NULL, &c);
	assert_string_equal(c.access_key, "GOOG1EXAMPLE");
	assert_string_equal(c.secret_key, "goog-secret");
	cairn_s3_config_free(&c);
	clear_env();
}

static void test_config_env_and_precedence(void **state)
{
	(void)state;
	struct cairn_s3_config c;
	clear_env();

	parse_fails("s3://b", NULL, CAIRN_EAUTH, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
	th_setenv("AWS_ACCESS_KEY_ID", "env-ak");
	parse_fails("s3://b", NULL, CAIRN_EAUTH, "AWS_SECRET_ACCESS_KEY is not");
	th_setenv("AWS_SECRET_ACCESS_KEY", "env-sk");
	th_setenv("AWS_SESSION_TOKEN", "env-token");
	th_setenv("AWS_DEFAULT_REGION", "ap-south-1");
	parse_ok("s3://b", NULL, &c);
	assert_string_equal(c.access_key, "env-ak");
	assert_string_equal(c.secret_key, "env-sk");
	assert_string_equal(c.session_token, "env-token");
	assert_string_equal(c.region, "ap-south-1");
	cairn_s3_config_free(&c);
	th_setenv("AWS_REGION", "sa-east-1");
	parse_ok("s3://b", NULL, &c);
	assert_string_equal(c.region, "sa-east-1");
	cairn_s3_config_free(&c);

	/* Options win over the environment, the URI over both. */
	struct cairn_store_opts o = keys;
	o.s3.region = "us-west-2";
	parse_ok("s3://b", &o, &c);
	assert_string_equal(c.access_key, "AKIDEXAMPLE");
	assert_null(c.session_token); /* the token belongs to the env keys */
	assert_string_equal(c.region, "us-west-2");
	cairn_s3_config_free(&c);
	parse_ok("s3://b?region=eu-central-1", &o, &c);
	assert_string_equal(c.region, "eu-central-1");
	cairn_s3_config_free(&c);

	/* Half a credential is an error, not a fallback. */
	struct cairn_store_opts half = { .s3 = { .access_key = "ak" } };
	parse_fails("s3://b", &half, CAIRN_EAUTH, "no secret key");

	/* Transfers. */
	o.connections = 3;
	o.limit_upload = 1000000;
	parse_ok("s3://b", &o, &c);
	assert_int_equal(c.connections, 3);
	assert_int_equal(c.limit_upload, 1000000);
	cairn_s3_config_free(&c);
	clear_env();
}

static void test_config_knobs(void **state)
{
	(void)state;
	struct cairn_s3_config c;
	clear_env();
	parse_ok("s3://b?part_size=5M", &keys, &c);
	assert_int_equal(c.part_size, 5u << 20);
	assert_int_equal(c.multipart_threshold, 5u << 20);
	cairn_s3_config_free(&c);
	parse_ok("s3://b?part_size=16MiB&multipart_threshold=1G&max_keys=7", &keys, &c);
	assert_int_equal(c.part_size, 16u << 20);
	assert_int_equal(c.multipart_threshold, 1u << 30);
	assert_int_equal(c.max_keys, 7);
	assert_int_equal(c.copy_threshold, 5ull << 30);
	assert_int_equal(c.delete_batch, 1000);
	cairn_s3_config_free(&c);
	parse_ok("s3://b?delete_batch=25", &keys, &c);
	assert_int_equal(c.delete_batch, 25);
	cairn_s3_config_free(&c);
	parse_ok("s3://b?copy_threshold=1M", &keys, &c);
	assert_int_equal(c.copy_threshold, 1u << 20);
	cairn_s3_config_free(&c);
	parse_ok("s3://b?part_size=1048576", &keys, &c);
	assert_int_equal(c.part_size, 1u << 20);
	cairn_s3_config_free(&c);
	parse_ok("s3://b/p%20q?endpoint=http%3A%2F%2F127.0.0.1%3A1", &keys, &c);
	assert_string_equal(c.prefix, "p q/");
	assert_string_equal(c.endpoint, "http://127.0.0.1:1");
	cairn_s3_config_free(&c);

	static const struct {
		const char *uri, *msg;
	} bad[] = {
		{ "s3://b?part_size=100K", "part_size" },
		{ "s3://b?part_size=6G", "part_size" },
		{ "s3://b?part_size=x", "part_size" },
		{ "s3://b?multipart_threshold=1", "multipart_threshold" },
		{ "s3://b?copy_threshold=6G", "copy_threshold" },
		{ "s3://b?max_keys=0", "max_keys" },
		{ "s3://b?max_keys=1001", "max_keys" },
		{ "s3://b?delete_batch=0", "delete_batch" },
		{ "s3://b?delete_batch=1001", "delete_batch" },
		{ "s3://b?delete_batch=x", "delete_batch" },
		{ "s3://b?region=a/b", "region" },
		{ "s3://b?region=", "empty" },
		{ "s3://b?region=x&region=y", "twice" },
		{ "s3://b?novalue", "no value" },
		{ "s3://b?region=%zz", "percent" },
		{ "s3://", "no bucket" },
		{ "s3:///prefix", "no bucket" },
		{ "s3://b!x/p", "bucket name" },
		{ "s3://b/a/../c", "'..'" },
		{ "s3://b/a/./c", "'.'" },
		{ "s3://b/a//c", "empty" },
		{ "s3://b/p%00", "percent" },
		{ "s3://b/p%0a", "control" },
		{ "s3://b/p#frag", "fragment" },
		{ "http://b/p", "s3://" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		parse_fails(bad[i].uri, &keys, CAIRN_EINVAL, bad[i].msg);

	/* Unknown parameters are named, their values never repeated. */
	parse_fails("s3://b?secret_key=TOPSECRET", &keys, CAIRN_EINVAL, "unknown parameter 'secret_key'");
	assert_null(strstr(cairn_error_message(), "TOPSECRET"));
	parse_fails("s3://b!/x?secret_key=TOPSECRET", &keys, CAIRN_EINVAL, "bucket name");
	assert_null(strstr(cairn_error_message(), "TOPSECRET"));
}

/* ---- URLs ---- */

static void test_urls(void **state)
{
	(void)state;
	struct cairn_s3_config c;
	_cleanup_(cairn_buf_freep) struct cairn_buf u = CAIRN_BUF_INIT;
	clear_env();

	parse_ok("s3://bkt/pre/fix?endpoint=http://127.0.0.1:7480", &keys, &c);
	ck_ok(cairn_s3_url(&c, "packs/ab/a b+c=é~_.-", NULL, &u));
	assert_string_equal((char *)u.data, "http://127.0.0.1:7480/bkt/pre/fix/packs/ab/a%20b%2Bc%3D%C3%A9~_.-");
	assert_int_equal(u.len, strlen((char *)u.data));
	ck_ok(cairn_s3_url(&c, NULL, "list-type=2", &u));
	assert_string_equal((char *)u.data, "http://127.0.0.1:7480/bkt?list-type=2");
	cairn_s3_config_free(&c);

	parse_ok("s3://bkt?region=eu-west-1", &keys, &c);
	ck_ok(cairn_s3_url(&c, "config", "", &u));
	assert_string_equal((char *)u.data, "https://bkt.s3.eu-west-1.amazonaws.com/config");
	ck_ok(cairn_s3_url(&c, NULL, "delete=", &u));
	assert_string_equal((char *)u.data, "https://bkt.s3.eu-west-1.amazonaws.com/?delete=");
	cairn_s3_config_free(&c);

	parse_ok("s3://bkt/p?endpoint=https://h.example/base", &keys, &c);
	ck_ok(cairn_s3_url(&c, "k", NULL, &u));
	assert_string_equal((char *)u.data, "https://h.example/base/bkt/p/k");
	cairn_s3_config_free(&c);

	/* Query parameters: appended in the caller's (sorted) order and
	 * encoded as SigV4 wants, '/' included. */
	_cleanup_(cairn_buf_freep) struct cairn_buf q = CAIRN_BUF_INIT;
	ck_ok(cairn_httpstore_query_add(&q, "continuation-token", "1/2+3=="));
	ck_ok(cairn_httpstore_query_add(&q, "list-type", "2"));
	ck_ok(cairn_httpstore_query_add(&q, "prefix", "a/b c"));
	ck_ok(cairn_buf_append_u8(&q, 0));
	assert_string_equal((char *)q.data, "continuation-token=1%2F2%2B3%3D%3D&list-type=2&prefix=a%2Fb%20c");
}

/* ---- XML ---- */

struct events {
	char log[4096];
	int stop_at, n;
};

static int record(const char *path, const char *text, size_t len, void *ud)
{
	struct events *e = ud;
	size_t used = strlen(e->log);
	assert_int_equal(strlen(text), len);
	snprintf(e->log + used, sizeof(e->log) - used, "%s=%s|", path, text);
	if (++e->n == e->stop_at)
		return 42;
	return 0;
}

static int walk(const char *doc, struct events *e)
{
	memset(e->log, 0, sizeof(e->log));
	e->n = 0;
	return cairn_xml_walk(doc, strlen(doc), record, e);
}

static void test_xml_walk(void **state)
{
	(void)state;
	struct events e = { 0 };
	const char *doc =
		"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<!-- a comment -->\n"
		"<s3:Root xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\" a='1 > 0'>\n"
		"  <Key>a &lt;&amp;&gt; &quot;b&apos; &#65;&#x42;&#233;&#x1F600;</Key>\n"
		"  <Empty/><Empty2></Empty2>\n"
		"  <C><![CDATA[<raw> & stuff]]></C>\n"
		"  <Nest><In >x</In ><In>y<!-- c -->z</In></Nest>\n"
		"</s3:Root>\n<?pi after?>\n";
	ck_ok(walk(doc, &e));
	assert_string_equal(e.log, "Root/Key=a <&> \"b' AB\xc3\xa9\xf0\x9f\x98\x80|Root/Empty=|Root/Empty2=|"
				   "Root/C=<raw> & stuff|Root/Nest/In=x|Root/Nest/In=yz|Root/Nest=|Root=|");

	/* A callback's non-zero result stops the walk and comes back. */
	e.stop_at = 2;
	assert_int_equal(walk(doc, &e), 42);
	e.stop_at = 0;

	static const char *const bad[] = {
		"", "   ", "text", "<a>", "<a></b>", "</a>", "<a/><b/>", "x<a/>", "<a/>x", "<a>&foo;</a>",
		"<a>&#0;</a>", "<a>&#x110000;</a>", "<a>&#xD800;</a>", "<a>&#;</a>", "<a>&#x;</a>",
		"<a>&#12a;</a>", "<a>&amp</a>", "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "<a b=c/>",
		"<a b='<'/>", "<a b='1'c='2'/>", "<a b/>", "<a", "<a b='1", "<?xml", "<!-- x", "<a><![CDATA[x</a>",
		"<![CDATA[x]]><a/>", "<1a/>", "<a:/>", "<a></a >junk", "<a>< b/></a>",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = walk(bad[i], &e);
		if (r != CAIRN_ECORRUPT)
			fail_msg("'%s' gave %d (%s), log %s", bad[i], r, cairn_error_message(), e.log);
		assert_non_null(strstr(cairn_error_message(), "malformed XML"));
	}
	/* A NUL byte inside. */
	assert_int_equal(cairn_xml_walk("<a>x\0y</a>", 10, record, &e), CAIRN_ECORRUPT);

	/* Limits: depth, text length. */
	char deep[512] = "";
	for (int i = 0; i < CAIRN_XML_DEPTH_MAX; i++)
		strcat(deep, "<d>");
	for (int i = 0; i < CAIRN_XML_DEPTH_MAX; i++)
		strcat(deep, "</d>");
	ck_ok(walk(deep, &e));
	char deeper[512] = "<d>";
	strcat(deeper, deep);
	strcat(deeper, "</d>");
	assert_int_equal(walk(deeper, &e), CAIRN_ECORRUPT);
	size_t n = CAIRN_XML_TEXT_MAX + 1;
	static char big[CAIRN_XML_TEXT_MAX + 32];
	strcpy(big, "<a>");
	memset(big + 3, 'x', n);
	strcpy(big + 3 + n, "</a>");
	assert_int_equal(cairn_xml_walk(big, strlen(big), record, &e), CAIRN_ECORRUPT);
	/* Whitespace between children does not count as text. */
	memset(big, ' ', n + 15);
	memcpy(big, "<a><b/>", 7);
	memcpy(big + n + 8, "</a>", 5);
	ck_ok(cairn_xml_walk(big, strlen(big), record, &e));
}

/* ---- S3 documents ---- */

static void test_parse_list(void **state)
{
	(void)state;
	struct cairn_httpstore_page p;
	const char *doc =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
		"<Prefix>p/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys><IsTruncated>true</IsTruncated>"
		"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
		"<Contents><Key>p/a</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>"
		"<ETag>&quot;x&quot;</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>"
		"<Contents><Size>18446744073709551615</Size><Key>p/b &amp; c</Key></Contents>"
		"<Contents><Key>p/c</Key><Size>12</Size></Contents></ListBucketResult>";
	ck_ok(cairn_s3_parse_list(doc, strlen(doc), &p));
	assert_int_equal(p.n, 3);
	assert_string_equal(p.v[0].key, "p/a");
	assert_int_equal(p.v[0].size, 0);
	assert_string_equal(p.v[1].key, "p/b & c");
	assert_true(p.v[1].size == UINT64_MAX);
	assert_int_equal(p.v[2].size, 12);
	/* Truncated: the token says where the next page starts. */
	assert_string_equal(p.next, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	cairn_httpstore_page_free(&p);

	const char *last = "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
	ck_ok(cairn_s3_parse_list(last, strlen(last), &p));
	assert_int_equal(p.n, 0);
	assert_null(p.next);
	cairn_httpstore_page_free(&p);
	/* A token on the last page leads nowhere. */
	const char *last_token = "<ListBucketResult><NextContinuationToken>t</NextContinuationToken>"
				 "<IsTruncated>false</IsTruncated></ListBucketResult>";
	ck_ok(cairn_s3_parse_list(last_token, strlen(last_token), &p));
	assert_null(p.next);
	cairn_httpstore_page_free(&p);

	static const char *const bad[] = {
		"<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Size>1x</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Size>18446744073709551616</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Size></Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key></Key><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
		"<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
		"<Error><Code>NoSuchBucket</Code></Error>",
		"<html><body>502 Bad Gateway</body></html>",
		"not xml",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = cairn_s3_parse_list(bad[i], strlen(bad[i]), &p);
		if (r != CAIRN_ECORRUPT)
			fail_msg("'%s' gave %d", bad[i], r);
		assert_int_equal(p.n, 0);
		assert_null(p.v);
	}
}

static void test_parse_uploads(void **state)
{
	(void)state;
	struct cairn_s3_uploads u;
	const char *page = "<ListMultipartUploadsResult><Prefix>r/packs/</Prefix>"
			   "<NextKeyMarker>r/packs/bb/b</NextKeyMarker><NextUploadIdMarker>2~b</NextUploadIdMarker>"
			   "<IsTruncated>true</IsTruncated>"
			   "<Upload><Key>r/packs/aa/a</Key><UploadId>2~a</UploadId>"
			   "<Initiated>2026-12-02T01:02:03.000Z</Initiated></Upload>"
			   "<Upload><Key>r/packs/bb/b</Key><UploadId>2~b</UploadId><Owner><ID>x</ID></Owner>"
			   "<Initiated>2026-12-01T00:00:00Z</Initiated></Upload></ListMultipartUploadsResult>";
	ck_ok(cairn_s3_parse_uploads(page, strlen(page), &u));
	assert_int_equal(u.n, 2);
	assert_string_equal(u.v[0].key, "r/packs/aa/a");
	assert_string_equal(u.v[0].upload_id, "2~a");
	assert_int_equal(u.v[0].initiated, 1796173323);
	assert_int_equal(u.v[1].initiated, 1796083200);
	assert_string_equal(u.next_key, "r/packs/bb/b");
	assert_string_equal(u.next_upload_id, "2~b");
	cairn_s3_uploads_free(&u);
	/* The last page names no next one, whatever markers it repeats. */
	const char *last = "<ListMultipartUploadsResult><NextKeyMarker>x</NextKeyMarker>"
			   "<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>";
	ck_ok(cairn_s3_parse_uploads(last, strlen(last), &u));
	assert_int_equal(u.n, 0);
	assert_null(u.next_key);
	cairn_s3_uploads_free(&u);
	const char *bad[] = {
		"<ListMultipartUploadsResult><IsTruncated>true</IsTruncated></ListMultipartUploadsResult>",
		"<ListMultipartUploadsResult><Upload><Key>k</Key><UploadId>i</UploadId></Upload>"
		"</ListMultipartUploadsResult>",
		"<ListMultipartUploadsResult><Upload><Key>k</Key><UploadId>i</UploadId>"
		"<Initiated>yesterday</Initiated></Upload></ListMultipartUploadsResult>",
		"<ListBucketResult/>",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		assert_int_equal(cairn_s3_parse_uploads(bad[k], strlen(bad[k]), &u), CAIRN_ECORRUPT);
		assert_int_equal(u.n, 0);
		assert_null(u.v);
	}
}

static void test_parse_error_and_mpu(void **state)
{
	(void)state;
	struct cairn_s3_error e;
	const char *doc = "<?xml version=\"1.0\"?><Error><Code>AuthorizationHeaderMalformed</Code>"
			  "<Message>the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message>"
			  "<Region>eu-west-1</Region><BucketName>b</BucketName><RequestId>1</RequestId></Error>";
	ck_ok(cairn_s3_parse_error(doc, strlen(doc), &e));
	assert_string_equal(e.code, "AuthorizationHeaderMalformed");
	assert_string_equal(e.region, "eu-west-1");
	assert_string_equal(e.bucket, "b");
	assert_non_null(strstr(e.message, "expecting"));
	assert_int_equal(cairn_s3_parse_error("<html/>", 7, &e), CAIRN_ECORRUPT);
	assert_string_equal(e.code, "");
	assert_int_equal(cairn_s3_parse_error("", 0, &e), CAIRN_ECORRUPT);
	assert_int_equal(cairn_s3_parse_error(NULL, 0, &e), CAIRN_ECORRUPT);
	/* Long fields are cut, not overflowed. */
	char longdoc[2048];
	char msg[1500];
	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = 0;
	snprintf(longdoc, sizeof(longdoc), "<Error><Code>C</Code><Message>%s</Message></Error>", msg);
	ck_ok(cairn_s3_parse_error(longdoc, strlen(longdoc), &e));
	assert_int_equal(strlen(e.message), sizeof(e.message) - 1);

	char *id = NULL;
	const char *init = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
			   "<UploadId>2~abc/DEF+ghi</UploadId></InitiateMultipartUploadResult>";
	ck_ok(cairn_s3_parse_upload_id(init, strlen(init), &id));
	assert_string_equal(id, "2~abc/DEF+ghi");
	free(id);
	const char *noid = "<InitiateMultipartUploadResult><UploadId></UploadId></InitiateMultipartUploadResult>";
	assert_int_equal(cairn_s3_parse_upload_id(noid, strlen(noid), &id), CAIRN_ECORRUPT);
	assert_int_equal(cairn_s3_parse_upload_id("<Error/>", 8, &id), CAIRN_ECORRUPT);

	const char *done = "<CompleteMultipartUploadResult><Location>x</Location><ETag></ETag>"
			   "</CompleteMultipartUploadResult>";
	assert_int_equal(cairn_s3_parse_complete(done, strlen(done), &e), 0);
	const char *err = "<Error><Code>InternalError</Code><Message>try again</Message></Error>";
	assert_int_equal(cairn_s3_parse_complete(err, strlen(err), &e), 1);
	assert_string_equal(e.code, "InternalError");
	assert_int_equal(cairn_s3_parse_complete("<Other/>", 8, &e), CAIRN_ECORRUPT);
	assert_int_equal(cairn_s3_parse_complete("", 0, &e), CAIRN_ECORRUPT);

	char key[64];
	const char *del = "<DeleteResult><Deleted><Key>p/a</Key></Deleted>"
			  "<Error><Key>p/gone</Key><Code>NoSuchKey</Code></Error>"
			  "<Error><Key>p/b</Key><Code>AccessDenied</Code><Message>no</Message></Error>"
			  "<Error><Key>p/c</Key><Code>InternalError</Code></Error></DeleteResult>";
	assert_int_equal(cairn_s3_parse_delete(del, strlen(del), &e, key, sizeof(key)), 2);
	assert_string_equal(key, "p/b");
	assert_string_equal(e.code, "AccessDenied");
	const char *quiet = "<DeleteResult/>";
	assert_int_equal(cairn_s3_parse_delete(quiet, strlen(quiet), &e, key, sizeof(key)), 0);
	assert_int_equal(cairn_s3_parse_delete("<X/>", 4, &e, key, sizeof(key)), CAIRN_ECORRUPT);
}

/* ---- error mapping ---- */

static void expect_map(const struct cairn_s3_config *c, const char *key, long status, const char *code,
		       unsigned attempts, int want, const char *msg)
{
	struct cairn_s3_error e = { 0 };
	snprintf(e.code, sizeof(e.code), "%s", code);
	snprintf(e.message, sizeof(e.message), "%s", *code ? "the server says so" : "");
	if (!strcmp(code, "AuthorizationHeaderMalformed"))
		snprintf(e.region, sizeof(e.region), "eu-west-1");
	int r = cairn_s3_error_map(c, "s3://bkt/p", "get", key, status, attempts, &e);
	if (r != want)
		fail_msg("%ld %s gave %s (%s), want %s", status, code, cairn_error_name(r), cairn_error_message(),
			 cairn_error_name(want));
	if (msg && !strstr(cairn_error_message(), msg))
		fail_msg("%ld %s: message '%s' lacks '%s'", status, code, cairn_error_message(), msg);
	if (strstr(cairn_error_message(), c->secret_key))
		fail_msg("%ld %s: the message shows the secret: %s", status, code, cairn_error_message());
}

static void test_error_map(void **state)
{
	(void)state;
	struct cairn_s3_config c;
	clear_env();
	parse_ok("s3://bkt/p?endpoint=https://s3.example", &keys, &c);

	expect_map(&c, "config", 403, "SignatureDoesNotMatch", 1, CAIRN_EAUTH, "secret key is wrong for access key 'AKIDEXAMPLE'");
	expect_map(&c, NULL, 400, "SignatureDoesNotMatch", 1, CAIRN_EAUTH, "https://s3.example");
	expect_map(&c, "config", 403, "InvalidAccessKeyId", 1, CAIRN_EAUTH, "does not know access key 'AKIDEXAMPLE'");
	expect_map(&c, "config", 403, "RequestTimeTooSkewed", 1, CAIRN_EAUTH, "clock");
	expect_map(&c, "config", 400, "ExpiredToken", 1, CAIRN_EAUTH, "session token");
	expect_map(&c, "config", 400, "AuthorizationHeaderMalformed", 1, CAIRN_EINVAL, "?region=eu-west-1");
	expect_map(&c, "config", 404, "NoSuchBucket", 1, CAIRN_ENOTREPO, "bucket bkt does not exist at https://s3.example");
	expect_map(&c, NULL, 404, "", 1, CAIRN_ENOTREPO, "does not exist");
	expect_map(&c, "packs/ab/x", 404, "NoSuchKey", 1, CAIRN_ENOTFOUND, "object packs/ab/x not found in s3://bkt/p");
	expect_map(&c, "packs/ab/x", 404, "", 1, CAIRN_ENOTFOUND, "packs/ab/x");
	expect_map(&c, "k", 404, "NoSuchUpload", 1, CAIRN_ENOTFOUND, "multipart upload is gone");
	expect_map(&c, "k", 403, "AccessDenied", 1, CAIRN_EPERM, "denied get of object k");
	expect_map(&c, "k", 403, "", 1, CAIRN_EPERM, "AccessDenied");
	expect_map(&c, "k", 412, "PreconditionFailed", 1, CAIRN_EEXIST, "object k already exists");
	expect_map(&c, "k", 416, "InvalidRange", 1, CAIRN_EINVAL, "range");
	expect_map(&c, "k", 301, "PermanentRedirect", 1, CAIRN_EINVAL, "?region=");
	expect_map(&c, NULL, 409, "BucketAlreadyExists", 1, CAIRN_EPERM, "taken");
	expect_map(&c, "k", 400, "EntityTooSmall", 1, CAIRN_EINVAL, "part_size");
	expect_map(&c, NULL, 400, "InvalidBucketName", 1, CAIRN_EINVAL, "not a valid bucket name");
	expect_map(&c, "k", 501, "NotImplemented", 1, CAIRN_EUNSUPPORTED, "does not implement");
	expect_map(&c, "k", 503, "SlowDown", 8, CAIRN_ENET, "server error 503 (SlowDown: the server says so) (after 8 attempts)");
	expect_map(&c, "k", 500, "", 3, CAIRN_ENET, "server error 500 (after 3 attempts)");
	expect_map(&c, "k", 429, "", 3, CAIRN_ENET, "429");
	expect_map(&c, "k", 400, "InvalidArgument", 1, CAIRN_EIO, "HTTP status 400 (InvalidArgument: the server says so)");
	cairn_s3_config_free(&c);

	/* Which 4xx replies are worth another attempt. */
	struct cairn_buf b = CAIRN_BUF_INIT;
	const char *rt = "<Error><Code>RequestTimeout</Code></Error>";
	ck_ok(cairn_buf_append(&b, rt, strlen(rt)));
	assert_true(cairn_s3_retryable(400, &b, NULL));
	assert_false(cairn_s3_retryable(403, &b, NULL));
	cairn_buf_clear(&b);
	const char *oa = "<Error><Code>OperationAborted</Code></Error>";
	ck_ok(cairn_buf_append(&b, oa, strlen(oa)));
	assert_true(cairn_s3_retryable(409, &b, NULL));
	cairn_buf_clear(&b);
	const char *ia = "<Error><Code>InvalidArgument</Code></Error>";
	ck_ok(cairn_buf_append(&b, ia, strlen(ia)));
	assert_false(cairn_s3_retryable(400, &b, NULL));
	cairn_buf_clear(&b);
	assert_false(cairn_s3_retryable(400, &b, NULL));
	cairn_buf_free(&b);
}

/* CopyObject and UploadPartCopy replies: a result with its ETag, or an
 * <Error> even with status 200. */
static void test_parse_copy(void **state)
{
	(void)state;
	struct cairn_s3_error e;
	char etag[64];
	const char *obj = "<?xml version=\"1.0\"?><CopyObjectResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			  "<LastModified>2026-12-07T15:29:23.789Z</LastModified><ETag>\"764e\"</ETag></CopyObjectResult>";
	assert_int_equal(cairn_s3_parse_copy(obj, strlen(obj), etag, sizeof(etag), &e), 0);
	assert_string_equal(etag, "\"764e\"");
	const char *part = "<CopyPartResult><LastModified>x</LastModified><ETag>&quot;ab&quot;</ETag></CopyPartResult>";
	assert_int_equal(cairn_s3_parse_copy(part, strlen(part), etag, sizeof(etag), &e), 0);
	assert_string_equal(etag, "\"ab\"");
	const char *err = "<Error><Code>SlowDown</Code><Message>reduce your request rate</Message></Error>";
	assert_int_equal(cairn_s3_parse_copy(err, strlen(err), etag, sizeof(etag), &e), 1);
	assert_string_equal(e.code, "SlowDown");
	assert_int_equal(cairn_s3_parse_copy("<Other/>", 8, etag, sizeof(etag), &e), CAIRN_ECORRUPT);
	assert_int_equal(cairn_s3_parse_copy("", 0, etag, sizeof(etag), &e), CAIRN_ECORRUPT);
	/* An ETag too long for the buffer is left out, not cut. */
	assert_int_equal(cairn_s3_parse_copy(obj, strlen(obj), etag, 4, &e), 0);
	assert_string_equal(etag, "");
}

/* SigV4 as computed by sigv4.c (for UploadPartCopy): AWS's documented
 * example (S3 "Signature Calculations for the Authorization Header",
 * GET Object), and the header order libcurl 7.88 gets wrong. */
static void test_sigv4(void **state)
{
	(void)state;
	char auth[512];
	const char *get[] = { "Host: examplebucket.s3.amazonaws.com", "Range: bytes=0-9",
			      "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			      "x-amz-date: 20130524T000000Z", NULL };
	ck_ok(cairn_s3_sigv4("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "GET",
			     "/test.txt", 9, NULL, get,
			     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "20130524T000000Z",
			     auth, sizeof(auth)));
	assert_string_equal(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
				  "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
				  "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");

	const char *part[] = { "x-amz-copy-source-range: bytes=0-1048575", "Host: h:1", "x-amz-date: 20130524T000000Z",
			       "x-amz-content-sha256: UNSIGNED-PAYLOAD", "x-amz-copy-source: /b/k", NULL };
	ck_ok(cairn_s3_sigv4("AK", "s", "us-east-1", "PUT", "/b2/k2", 6, "partNumber=1&uploadId=x", part,
			     "UNSIGNED-PAYLOAD", "20130524T000000Z", auth, sizeof(auth)));
	assert_non_null(strstr(auth, "SignedHeaders=host;x-amz-content-sha256;x-amz-copy-source;"
				     "x-amz-copy-source-range;x-amz-date, "));
	assert_int_equal(cairn_s3_sigv4("AK", "s", "us-east-1", "PUT", "/", 1, NULL, part, "UNSIGNED-PAYLOAD",
					"2013", auth, sizeof(auth)),
			 CAIRN_EINVAL);
}

/* Object Lock: the dates HEAD returns (AWS writes milliseconds, Ceph RGW
 * nanoseconds) and the MD5 header locked puts carry. */
static void test_lock_dates_md5(void **state)
{
	(void)state;
	assert_true(cairn_s3_parse_date("2026-12-09T15:26:43.000Z") == 1796830003);
	assert_true(cairn_s3_parse_date("2026-12-09T15:26:43.000000000Z") == 1796830003);
	assert_true(cairn_s3_parse_date("2026-12-09T15:26:43Z") == 1796830003);
	assert_true(cairn_s3_parse_date("1970-01-01T00:00:00Z") == 0);
	assert_true(cairn_s3_parse_date("") == -1);
	assert_true(cairn_s3_parse_date(NULL) == -1);
	assert_true(cairn_s3_parse_date("2026-12-09") == -1);
	assert_true(cairn_s3_parse_date("Wed, 09 Dec 2026 15:26:43 GMT") == -1);
	char h[64];
	ck_ok(cairn_s3_md5_header("", 0, h));
	assert_string_equal(h, "Content-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==");
	ck_ok(cairn_s3_md5_header("abc", 3, h));
	assert_string_equal(h, "Content-MD5: kAFQmDzST7DWlj99KOF/cg==");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_aws_defaults),
		cmocka_unit_test(test_config_endpoints),
		cmocka_unit_test(test_config_cred_binding),
		cmocka_unit_test(test_config_gcs),
		cmocka_unit_test(test_config_env_and_precedence),
		cmocka_unit_test(test_config_knobs),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_xml_walk),
		cmocka_unit_test(test_parse_list),
		cmocka_unit_test(test_parse_error_and_mpu),
		cmocka_unit_test(test_parse_uploads),
		cmocka_unit_test(test_error_map),
		cmocka_unit_test(test_parse_copy),
		cmocka_unit_test(test_sigv4),
		cmocka_unit_test(test_lock_dates_md5),
	};
	clear_env();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
