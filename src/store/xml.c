/* A small XML reader for object-store replies (S3 and Azure Blob): enough
 * of XML 1.0 for what servers send (elements, attributes, character and the
 * five predefined entity references, CDATA, comments, processing
 * instructions), strict about well-formedness, and bounded: no DTD (so no
 * entity expansion), nesting, paths and texts under fixed limits, one pass,
 * no allocation.
 *
 * It reports each element at its end tag with its path and text
 * (cairn_xml_fn in xml.h); the drivers' document parsers (s3/parse.c,
 * azure/parse.c) are small state machines over those events.  Every reply
 * body is untrusted input: tests/fuzz/fuzz_s3_xml.c runs the reader and the
 * S3 documents under libFuzzer, fuzz_azure_xml.c the Azure ones.
 */
#include "store/xml.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

struct xw {
	const char *start, *p, *end;
	cairn_xml_fn fn;
	void *ud;
	char path[CAIRN_XML_PATH_MAX + 1];
	size_t plen;
	size_t mark[CAIRN_XML_DEPTH_MAX + 1];   /* plen before each open element */
	bool had_child[CAIRN_XML_DEPTH_MAX + 1];
	int depth;
	bool root_done;
	char text[CAIRN_XML_TEXT_MAX + 1];
	size_t tlen;
};

static int bad(struct xw *w, const char *why)
{
	return cairn_error_set(CAIRN_ECORRUPT, "malformed XML in the server's reply: %s at byte %zu", why,
			       (size_t)(w->p - w->start));
}

static bool starts(struct xw *w, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(w->end - w->p) >= n && memcmp(w->p, s, n) == 0;
}

/* Moves past the next occurrence of s; false if there is none. */
static bool skip_past(struct xw *w, const char *s)
{
	size_t n = strlen(s);
	for (const char *q = w->p; (size_t)(w->end - q) >= n; q++)
		if (memcmp(q, s, n) == 0) {
			w->p = q + n;
			return true;
		}
	return false;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void skip_spaces(struct xw *w)
{
	while (w->p < w->end && is_space(*w->p))
		w->p++;
}

static bool name_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
}

static bool name_char(unsigned char c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Reads a name; *ret_local points past any "prefix:". */
static int read_name(struct xw *w, const char **ret, size_t *ret_len, const char **ret_local)
{
	const char *s = w->p;
	if (w->p >= w->end || !name_start((unsigned char)*w->p))
		return bad(w, "expected a name");
	while (w->p < w->end && name_char((unsigned char)*w->p))
		w->p++;
	*ret = s;
	*ret_len = (size_t)(w->p - s);
	const char *local = s;
	for (const char *q = s; q < w->p; q++)
		if (*q == ':')
			local = q + 1;
	if (local == w->p)
		return bad(w, "a name ends with ':'");
	*ret_local = local;
	return 0;
}

static int text_add(struct xw *w, const char *s, size_t n)
{
	/* Text between child elements (indentation) is never reported. */
	if (w->had_child[w->depth])
		return 0;
	if (n > CAIRN_XML_TEXT_MAX - w->tlen)
		return bad(w, "text too long");
	memcpy(w->text + w->tlen, s, n);
	w->tlen += n;
	return 0;
}

static int text_add_utf8(struct xw *w, unsigned long cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return text_add(w, u, n);
}

/* An entity reference at w->p ('&'), decoded into the text. */
static int entity(struct xw *w)
{
	static const struct {
		const char *name;
		char c;
	} named[] = { { "lt", '<' }, { "gt", '>' }, { "amp", '&' }, { "quot", '"' }, { "apos", '\'' } };
	const char *s = w->p + 1;
	const char *semi = memchr(s, ';', (size_t)MIN(w->end - s, 16));
	if (!semi)
		return bad(w, "unterminated entity reference");
	size_t n = (size_t)(semi - s);
	w->p = semi + 1;
	if (n >= 2 && s[0] == '#') {
		unsigned long cp = 0;
		bool hex = s[1] == 'x';
		size_t i = hex ? 2 : 1;
		if (i == n)
			return bad(w, "empty character reference");
		for (; i < n; i++) {
			int d;
			char c = s[i];
			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (hex && c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (hex && c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				return bad(w, "bad character reference");
			cp = cp * (hex ? 16 : 10) + (unsigned long)d;
			if (cp > 0x10ffff)
				return bad(w, "character reference out of range");
		}
		if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
			return bad(w, "character reference out of range");
		return text_add_utf8(w, cp);
	}
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strlen(named[i].name) == n && memcmp(named[i].name, s, n) == 0)
			return text_add(w, &named[i].c, 1);
	return bad(w, "unknown entity (DTD entities are not accepted)");
}

/* Character data up to the next '<'. */
static int chars(struct xw *w)
{
	while (w->p < w->end && *w->p != '<') {
		char c = *w->p;
		if (c == 0)
			return bad(w, "NUL byte");
		if (w->depth == 0) {
			if (!is_space(c))
				return bad(w, "text outside the root element");
			w->p++;
			continue;
		}
		if (c == '&') {
			int r = entity(w);
			if (r < 0)
				return r;
			continue;
		}
		const char *s = w->p;
		while (w->p < w->end && *w->p != '<' && *w->p != '&' && *w->p != 0)
			w->p++;
		int r = text_add(w, s, (size_t)(w->p - s));
		if (r < 0)
			return r;
	}
	return 0;
}

/* Reports the innermost open element and closes it. */
static int close_element(struct xw *w)
{
	bool leaf = !w->had_child[w->depth];
	w->path[w->plen] = 0;
	w->text[leaf ? w->tlen : 0] = 0;
	int r = w->fn(w->path, w->text, leaf ? w->tlen : 0, w->ud);
	if (r != 0)
		return r;
	w->plen = w->mark[w->depth];
	w->path[w->plen] = 0;
	w->depth--;
	w->tlen = 0;
	if (w->depth == 0)
		w->root_done = true;
	return 0;
}

static int start_tag(struct xw *w)
{
	const char *name, *local;
	size_t nlen;
	w->p++; /* '<' */
	int r = read_name(w, &name, &nlen, &local);
	if (r < 0)
		return r;
	if (w->depth == 0 && w->root_done)
		return bad(w, "a second root element");
	if (w->depth == CAIRN_XML_DEPTH_MAX)
		return bad(w, "elements nested too deeply");
	size_t llen = (size_t)(name + nlen - local);
	size_t add = llen + (w->depth ? 1 : 0);
	if (add > CAIRN_XML_PATH_MAX - w->plen)
		return bad(w, "element path too long");
	if (w->depth)
		w->had_child[w->depth] = true;
	w->depth++;
	w->mark[w->depth] = w->plen;
	w->had_child[w->depth] = false;
	if (w->depth > 1)
		w->path[w->plen++] = '/';
	memcpy(w->path + w->plen, local, llen);
	w->plen += llen;
	w->tlen = 0;

	/* Attributes are checked and skipped: nothing we read lives in them. */
	for (;;) {
		bool sp = w->p < w->end && is_space(*w->p);
		skip_spaces(w);
		if (w->p >= w->end)
			return bad(w, "unterminated start tag");
		if (*w->p == '>') {
			w->p++;
			return 0;
		}
		if (starts(w, "/>")) {
			w->p += 2;
			return close_element(w);
		}
		if (!sp)
			return bad(w, "expected a space before an attribute");
		const char *an, *al;
		size_t alen;
		if ((r = read_name(w, &an, &alen, &al)) < 0)
			return r;
		skip_spaces(w);
		if (w->p >= w->end || *w->p != '=')
			return bad(w, "expected '=' after an attribute name");
		w->p++;
		skip_spaces(w);
		if (w->p >= w->end || (*w->p != '"' && *w->p != '\''))
			return bad(w, "expected a quoted attribute value");
		char q = *w->p++;
		while (w->p < w->end && *w->p != q) {
			if (*w->p == '<' || *w->p == 0)
				return bad(w, "bad character in an attribute value");
			w->p++;
		}
		if (w->p >= w->end)
			return bad(w, "unterminated attribute value");
		w->p++;
	}
}

static int end_tag(struct xw *w)
{
	const char *name, *local;
	size_t nlen;
	w->p += 2; /* "</" */
	int r = read_name(w, &name, &nlen, &local);
	if (r < 0)
		return r;
	skip_spaces(w);
	if (w->p >= w->end || *w->p != '>')
		return bad(w, "expected '>' in an end tag");
	w->p++;
	if (w->depth == 0)
		return bad(w, "an end tag without a start tag");
	size_t llen = (size_t)(name + nlen - local);
	size_t at = w->mark[w->depth] + (w->depth > 1 ? 1 : 0);
	if (w->plen - at != llen || memcmp(w->path + at, local, llen) != 0)
		return bad(w, "an end tag that does not match its start tag");
	return close_element(w);
}

int cairn_xml_walk(const void *doc, size_t len, cairn_xml_fn fn, void *ud)
{
	struct xw *w = calloc(1, sizeof(*w));
	if (!w)
		return cairn_error_nomem();
	w->start = w->p = doc;
	w->end = w->p + len;
	w->fn = fn;
	w->ud = ud;
	int r = 0;

	/* A UTF-8 byte order mark is allowed before the declaration. */
	if (starts(w, "\xef\xbb\xbf"))
		w->p += 3;
	while (r == 0 && w->p < w->end) {
		if (*w->p != '<') {
			r = chars(w);
		} else if (starts(w, "<?")) {
			if (!skip_past(w, "?>"))
				r = bad(w, "unterminated processing instruction");
		} else if (starts(w, "<!--")) {
			if (!skip_past(w, "-->"))
				r = bad(w, "unterminated comment");
		} else if (starts(w, "<![CDATA[")) {
			if (w->depth == 0) {
				r = bad(w, "CDATA outside the root element");
				break;
			}
			w->p += 9;
			const char *s = w->p;
			if (!skip_past(w, "]]>")) {
				r = bad(w, "unterminated CDATA section");
				break;
			}
			if (memchr(s, 0, (size_t)(w->p - 3 - s)))
				r = bad(w, "NUL byte");
			else
				r = text_add(w, s, (size_t)(w->p - 3 - s));
		} else if (starts(w, "<!")) {
			r = bad(w, "DTDs and declarations are not accepted");
		} else if (starts(w, "</")) {
			r = end_tag(w);
		} else {
			r = start_tag(w);
		}
	}
	if (r == 0 && w->depth > 0)
		r = bad(w, "the document ends inside an element");
	if (r == 0 && !w->root_done)
		r = bad(w, "no root element");
	free(w);
	return r;
}

bool cairn_xml_in_root(const char *path, const char *root, const char **below)
{
	size_t n = strlen(root);
	if (strncmp(path, root, n) != 0 || (path[n] != 0 && path[n] != '/'))
		return false;
	*below = path[n] ? path + n + 1 : "";
	return true;
}

int cairn_xml_parse_u64(const char *s, size_t n, uint64_t *ret)
{
	uint64_t v = 0;
	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

int cairn_xml_corrupt(const char *what)
{
	return cairn_error_set(CAIRN_ECORRUPT, "unexpected reply from the server: %s", what);
}
