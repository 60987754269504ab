/* The dashboard's side of the daemon's HTTP API where it is pure: which
 * names the static file server takes (daemon/api_static.h) and how query
 * values are decoded (daemon/api_catalog.h). */
#include "helpers.h"

#include "daemon/api_catalog.h"
#include "daemon/api_static.h"

#include <string.h>

static void test_static_name(void **state)
{
	(void)state;
	const char *type = NULL;
	assert_true(cairn_api_static_name("index.html", &type));
	assert_string_equal(type, "text/html; charset=utf-8");
	assert_true(cairn_api_static_name("app.js", &type));
	assert_string_equal(type, "text/javascript; charset=utf-8");
	assert_true(cairn_api_static_name("app.css", &type));
	assert_string_equal(type, "text/css; charset=utf-8");
	assert_true(cairn_api_static_name("favicon.svg", &type));
	assert_string_equal(type, "image/svg+xml");
	assert_true(cairn_api_static_name("a-b_c.1.png", &type));
	/* Not served: hidden, dot names, escapes, separators, unknown or no
	 * extension, too long, empty. */
	const char *bad[] = { ".hidden.js", "..", ".", "%2e%2e", "a%2Fb.js", "a/b.js", "a\\b.js", "app.exe", "README",
			      "app.js.map", "", "x.html ", "x.html\n", "é.html" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(cairn_api_static_name(bad[i], &type));
	char longname[80];
	memset(longname, 'a', sizeof(longname));
	strcpy(longname + 60, ".html");
	assert_false(cairn_api_static_name(longname, &type));
	/* A directory on the way: a plain name, any extension or none. */
	assert_true(cairn_api_static_name("js", NULL));
	assert_false(cairn_api_static_name("..", NULL));
	assert_false(cairn_api_static_name(".git", NULL));
}

static void test_query_decode(void **state)
{
	(void)state;
	char out[32];
	assert_int_equal(cairn_api_query_decode("%2Fetc%2Fpasswd", out, sizeof(out)), 0);
	assert_string_equal(out, "/etc/passwd");
	assert_int_equal(cairn_api_query_decode("/a+b%20c%2b", out, sizeof(out)), 0);
	assert_string_equal(out, "/a b c+");
	assert_int_equal(cairn_api_query_decode("%c3%A9", out, sizeof(out)), 0);
	assert_string_equal(out, "\xc3\xa9");
	assert_int_equal(cairn_api_query_decode("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* Bad escapes, a NUL, too long: refused. */
	assert_int_equal(cairn_api_query_decode("%zz", out, sizeof(out)), CAIRN_EINVAL);
	assert_int_equal(cairn_api_query_decode("%2", out, sizeof(out)), CAIRN_EINVAL);
	assert_int_equal(cairn_api_query_decode("abc%", out, sizeof(out)), CAIRN_EINVAL);
	assert_int_equal(cairn_api_query_decode("a%00b", out, sizeof(out)), CAIRN_EINVAL);
	assert_int_equal(cairn_api_query_decode("0123456789", out, 10), CAIRN_EINVAL);
	assert_int_equal(cairn_api_query_decode("012345678", out, 10), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_name),
		cmocka_unit_test(test_query_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
