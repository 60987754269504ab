/* Matching requests to the API's routes (api_route.h). */
#include "daemon/api_route.h"
#include "util/error.h"

#include <stdio.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the segment [s, s+len) into out; false when it cannot be a
 * parameter (bad escape, NUL, too long, empty).  A '/' escaped as %2F is
 * part of the parameter (a repository URI). */
static bool decode(const char *s, size_t len, char out[CAIRN_API_PARAM_MAX])
{
	size_t o = 0;
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= len || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0)
				return false;
			c = (char)(h * 16 + l);
			i += 2;
		}
		if (c == 0 || o + 1 >= CAIRN_API_PARAM_MAX)
			return false;
		out[o++] = c;
	}
	out[o] = 0;
	return true;
}

/* Does path match pattern?  Parameters go to m. */
static bool match_path(const char *pattern, const char *path, struct cairn_api_match *m)
{
	const char *p = pattern, *q = path;
	m->nparams = 0;
	for (;;) {
		if (*p != '/' || *q != '/')
			return *p == 0 && *q == 0;
		p++, q++;
		const char *pe = strchrnul(p, '/'), *qe = strchrnul(q, '/');
		size_t plen = (size_t)(pe - p), qlen = (size_t)(qe - q);
		if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
			if (m->nparams >= CAIRN_API_MAX_PARAMS || !decode(q, qlen, m->params[m->nparams]))
				return false;
			m->nparams++;
		} else if (plen != qlen || memcmp(p, q, plen) != 0) {
			return false;
		}
		p = pe, q = qe;
	}
}

int cairn_api_route_match(const struct cairn_api_route *table, size_t n, const char *method, const char *path,
			  struct cairn_api_match *m)
{
	bool path_known = false;
	m->route = NULL;
	m->allow[0] = 0;
	for (size_t i = 0; i < n; i++) {
		struct cairn_api_match t;
		if (!match_path(table[i].pattern, path, &t))
			continue;
		if (strcmp(table[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(table[i].method, "GET") == 0)) {
			*m = t;
			m->route = &table[i];
			return 0;
		}
		size_t l = strlen(m->allow);
		if (!strstr(m->allow, table[i].method))
			snprintf(m->allow + l, sizeof(m->allow) - l, "%s%s", l ? ", " : "", table[i].method);
		path_known = true;
	}
	return path_known ? CAIRN_EUNSUPPORTED : CAIRN_ENOTFOUND;
}
