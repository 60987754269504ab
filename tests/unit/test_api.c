/* The daemon's HTTP API where its logic is pure: the route table's
 * matching (daemon/api_route.h) and the tokens (state/tokens.h: the
 * stored hash, the constant-time compare, create, check, revoke) and the
 * token cache of the daemon's quick path (state/tokencache.h). */
#include "helpers.h"

#include "daemon/api_body.h"
#include "daemon/api_route.h"
#include "state/tokencache.h"
#include "state/tokens.h"

static int h_a(struct cairn_api_req *rq)
{
	(void)rq;
	return 0;
}
static int h_b(struct cairn_api_req *rq)
{
	(void)rq;
	return 1;
}

static const struct cairn_api_route table[] = {
	{ "GET", "/api/v1/policies", h_a, CAIRN_API_READ },
	{ "POST", "/api/v1/policies", h_b, CAIRN_API_WRITE },
	{ "GET", "/api/v1/policies/{name}", h_a, CAIRN_API_READ },
	{ "DELETE", "/api/v1/policies/{name}", h_b, CAIRN_API_WRITE },
	{ "POST", "/api/v1/policies/{name}/run", h_b, CAIRN_API_WRITE },
	{ "GET", "/api/v1/repos/{repo}/backups/{id}", h_a, CAIRN_API_READ },
};
#define N (sizeof(table) / sizeof(table[0]))

static void test_route_match(void **state)
{
	(void)state;
	struct cairn_api_match m;
	assert_int_equal(cairn_api_route_match(table, N, "GET", "/api/v1/policies", &m), 0);
	assert_ptr_equal(m.route, &table[0]);
	assert_int_equal(m.nparams, 0);
	assert_int_equal(cairn_api_route_match(table, N, "POST", "/api/v1/policies", &m), 0);
	assert_ptr_equal(m.route, &table[1]);
	assert_int_equal(cairn_api_route_match(table, N, "POST", "/api/v1/policies/db/run", &m), 0);
	assert_ptr_equal(m.route, &table[4]);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0], "db");
	/* HEAD is GET without a body. */
	assert_int_equal(cairn_api_route_match(table, N, "HEAD", "/api/v1/policies/db", &m), 0);
	assert_ptr_equal(m.route, &table[2]);
	/* Two parameters, percent-decoded: %2F stays inside its segment. */
	assert_int_equal(cairn_api_route_match(table, N, "GET", "/api/v1/repos/s3%3A%2F%2Fb%2Fp/backups/3f2a", &m), 0);
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[0], "s3://b/p");
	assert_string_equal(m.params[1], "3f2a");
}

static void test_route_404_405(void **state)
{
	(void)state;
	struct cairn_api_match m;
	assert_int_equal(cairn_api_route_match(table, N, "GET", "/api/v1/nothing", &m), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_api_route_match(table, N, "GET", "/api/v1/policies/", &m), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_api_route_match(table, N, "GET", "/api/v1/policies/a/b", &m), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_api_route_match(table, N, "GET", "/api/v1/policies//run", &m), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_api_route_match(table, N, "GET", "api/v1/policies", &m), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_api_route_match(table, N, "GET", "", &m), CAIRN_ENOTFOUND);
	/* Bad escapes, and escapes that would be a NUL, match nothing. */
	assert_int_equal(cairn_api_route_match(table, N, "GET", "/api/v1/policies/a%2", &m), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_api_route_match(table, N, "GET", "/api/v1/policies/a%zz", &m), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_api_route_match(table, N, "GET", "/api/v1/policies/a%00b", &m), CAIRN_ENOTFOUND);
	/* Too long for a parameter. */
	char longp[600] = "/api/v1/policies/";
	memset(longp + strlen(longp), 'x', 400);
	assert_int_equal(cairn_api_route_match(table, N, "GET", longp, &m), CAIRN_ENOTFOUND);
	/* The path is known, the method is not: 405 with the methods it takes. */
	assert_int_equal(cairn_api_route_match(table, N, "PUT", "/api/v1/policies", &m), CAIRN_EUNSUPPORTED);
	assert_string_equal(m.allow, "GET, POST");
	assert_int_equal(cairn_api_route_match(table, N, "PATCH", "/api/v1/policies/x", &m), CAIRN_EUNSUPPORTED);
	assert_string_equal(m.allow, "GET, DELETE");
	assert_int_equal(cairn_api_route_match(table, N, "GET", "/api/v1/policies/x/run", &m), CAIRN_EUNSUPPORTED);
	assert_string_equal(m.allow, "POST");
}

static void test_body_cap(void **state)
{
	(void)state;
	assert_false(cairn_api_length_too_large(NULL, 100));
	assert_false(cairn_api_length_too_large("0", 100));
	assert_false(cairn_api_length_too_large("100", 100));
	assert_true(cairn_api_length_too_large("101", 100));
	assert_true(cairn_api_length_too_large("99999999999999999999999", 100)); /* overflows */
	assert_true(cairn_api_length_too_large("-1", 100));
	assert_true(cairn_api_length_too_large("", 100));
	assert_true(cairn_api_length_too_large("12abc", 100));
	assert_true(cairn_api_length_too_large(" 5", 100));
	assert_true(cairn_api_body_fits(0, 100, 100));
	assert_true(cairn_api_body_fits(60, 40, 100));
	assert_false(cairn_api_body_fits(60, 41, 100));
	assert_false(cairn_api_body_fits(101, 0, 100));
	/* A chunk length near SIZE_MAX does not wrap around to "fits". */
	assert_false(cairn_api_body_fits(10, (size_t)-5, 100));
}

static void test_token_hash(void **state)
{
	(void)state;
	char a[CAIRN_TOKEN_HASH_LEN + 1], b[CAIRN_TOKEN_HASH_LEN + 1];
	ck_ok(cairn_token_hash("cairn_abc", a));
	ck_ok(cairn_token_hash("cairn_abc", b));
	assert_int_equal(strlen(a), CAIRN_TOKEN_HASH_LEN);
	assert_true(cairn_token_hash_equal(a, b));
	/* SHA-256 of "abc", the FIPS 180-2 example. */
	ck_ok(cairn_token_hash("abc", a));
	assert_string_equal(a, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	strcpy(b, a);
	b[63] = b[63] == '0' ? '1' : '0';
	assert_false(cairn_token_hash_equal(a, b));
	b[63] = a[63];
	b[0] = b[0] == '0' ? '1' : '0';
	assert_false(cairn_token_hash_equal(a, b));
	/* Wrong lengths never match, even as prefixes. */
	assert_false(cairn_token_hash_equal(a, ""));
	b[10] = 0;
	assert_false(cairn_token_hash_equal(a, b));
}

static void test_token_lifecycle(void **state)
{
	struct th_state_fx *f = *state;
	char t1[CAIRN_TOKEN_LEN + 1], t2[CAIRN_TOKEN_LEN + 1];
	ck_ok(cairn_token_create(f->st, "admin", false, t1));
	ck_ok(cairn_token_create(f->st, "view", true, t2));
	assert_int_equal(strlen(t1), CAIRN_TOKEN_LEN);
	assert_memory_equal(t1, CAIRN_TOKEN_PREFIX, strlen(CAIRN_TOKEN_PREFIX));
	assert_string_not_equal(t1, t2);
	ck_err(cairn_token_create(f->st, "admin", false, t2), CAIRN_EEXIST);
	ck_err(cairn_token_create(f->st, "bad name", false, t2), CAIRN_EINVAL);
	struct cairn_token t;
	ck_ok(cairn_token_check(f->st, t1, 1000, &t));
	assert_string_equal(t.name, "admin");
	assert_false(t.read_only);
	assert_int_equal(t.last_used, 1000);
	cairn_token_clear(&t);
	ck_ok(cairn_token_check(f->st, t2, 1000, &t));
	assert_true(t.read_only);
	cairn_token_clear(&t);
	ck_err(cairn_token_check(f->st, "cairn_nope", 1000, NULL), CAIRN_EAUTH);
	ck_err(cairn_token_check(f->st, "", 1000, NULL), CAIRN_EAUTH);
	struct cairn_token *v;
	size_t n;
	ck_ok(cairn_token_list(f->st, &v, &n));
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "admin");
	cairn_tokens_free(v, n);
	ck_ok(cairn_token_revoke(f->st, "admin"));
	ck_err(cairn_token_revoke(f->st, "admin"), CAIRN_ENOTFOUND);
	ck_err(cairn_token_check(f->st, t1, 1001, NULL), CAIRN_EAUTH);
	ck_ok(cairn_token_check(f->st, t2, 1001, NULL));
}

/* The cache the daemon's quick path checks tokens with: what another
 * connection (the CLI) commits is seen at the next check, whether it is a
 * revoke, a new token or an unrelated write; a use due to be recorded is
 * left to cairn_token_check. */
static void test_token_cache(void **state)
{
	struct th_state_fx *f = *state;
	struct cairn_state *own = NULL;
	ck_ok(cairn_state_open(f->dir, NULL, &own));
	struct cairn_token_cache *c = NULL;
	ck_ok(cairn_token_cache_new(own, &c));
	char t1[CAIRN_TOKEN_LEN + 1], t2[CAIRN_TOKEN_LEN + 1], t3[CAIRN_TOKEN_LEN + 1];
	ck_ok(cairn_token_create(f->st, "admin", false, t1));
	ck_ok(cairn_token_create(f->st, "view", true, t2));
	bool ro = true;
	/* Never used: the full check records the use first. */
	assert_int_equal(cairn_token_cache_check(c, t1, 1000, &ro), 0);
	ck_ok(cairn_token_check(f->st, t1, 1000, NULL));
	ck_ok(cairn_token_check(f->st, t2, 1000, NULL));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cairn_token_cache_check(c, t1, 1030, &ro), 1);
		assert_false(ro);
		assert_int_equal(cairn_token_cache_check(c, t2, 1030, &ro), 1);
		assert_true(ro);
	}
	ck_err(cairn_token_cache_check(c, "cairn_nope", 1030, &ro), CAIRN_EAUTH);
	/* A minute later the use is due again. */
	assert_int_equal(cairn_token_cache_check(c, t1, 1060, &ro), 0);
	/* A write elsewhere in the database changes nothing. */
	ck_ok(cairn_state_exec(f->st, "CREATE TABLE t54 (x); DROP TABLE t54"));
	assert_int_equal(cairn_token_cache_check(c, t1, 1030, &ro), 1);
	/* Revoked through another connection: refused at the next check. */
	ck_ok(cairn_token_revoke(f->st, "admin"));
	ck_err(cairn_token_cache_check(c, t1, 1030, &ro), CAIRN_EAUTH);
	assert_int_equal(cairn_token_cache_check(c, t2, 1030, &ro), 1);
	/* Made after the cache read the table: known at the next check. */
	ck_ok(cairn_token_create(f->st, "late", false, t3));
	ck_ok(cairn_token_check(f->st, t3, 1030, NULL));
	assert_int_equal(cairn_token_cache_check(c, t3, 1030, &ro), 1);
	ck_ok(cairn_token_revoke(f->st, "view"));
	ck_err(cairn_token_cache_check(c, t2, 1030, &ro), CAIRN_EAUTH);
	cairn_token_cache_free(c);
	cairn_token_cache_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_match),
		cmocka_unit_test(test_route_404_405),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_token_hash),
		cmocka_unit_test_setup_teardown(test_token_lifecycle, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_token_cache, th_state_setup, th_state_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
