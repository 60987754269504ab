/* libFuzzer target: every reply body the S3 driver parses (store/xml.c
 * and store/s3/parse.c): listings, errors, multipart replies, delete
 * results, lists of multipart uploads.  The first byte picks the parser, the rest is the document;
 * invariants of what the parsers hand back are checked (abort on
 * violation). */
#include "cairn/error.h"
#include "store/s3/s3.h"

#include <stdlib.h>
#include <string.h>

static int check_event(const char *path, const char *text, size_t len, void *ud)
{
	(void)ud;
	if (strlen(text) != len || len > CAIRN_XML_TEXT_MAX || strlen(path) > CAIRN_XML_PATH_MAX ||
	    !*path || path[0] == '/')
		abort();
	return 0;
}

static void check_error(const struct cairn_s3_error *e)
{
	if (strlen(e->code) >= sizeof(e->code) || strlen(e->message) >= sizeof(e->message) ||
	    strlen(e->bucket) >= sizeof(e->bucket) || strlen(e->region) >= sizeof(e->region) ||
	    strlen(e->endpoint) >= sizeof(e->endpoint))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *doc = (const char *)data + 1;
	size_t len = size - 1;
	struct cairn_s3_error e;
	int r;

	switch (data[0] % 7) {
	case 0:
		(void)cairn_xml_walk(doc, len, check_event, NULL);
		break;
	case 1: {
		struct cairn_httpstore_page p;
		r = cairn_s3_parse_list(doc, len, &p);
		if (r < 0 && (p.n || p.v || p.next))
			abort();
		for (size_t i = 0; r == 0 && i < p.n; i++)
			if (!p.v[i].key || !*p.v[i].key)
				abort();
		/* Truncated pages name their next one; the last names none. */
		if (r == 0 && p.next && !*p.next)
			abort();
		cairn_httpstore_page_free(&p);
		break;
	}
	case 2:
		r = cairn_s3_parse_error(doc, len, &e);
		check_error(&e);
		if (r < 0 && e.code[0])
			abort();
		break;
	case 3: {
		char *id = NULL;
		r = cairn_s3_parse_upload_id(doc, len, &id);
		if (r == 0 && (!id || !*id))
			abort();
		free(id);
		break;
	}
	case 4:
		r = cairn_s3_parse_complete(doc, len, &e);
		check_error(&e);
		if (r != 0 && r != 1 && r != CAIRN_ECORRUPT && r != CAIRN_ENOMEM)
			abort();
		break;
	case 5: {
		char key[64];
		r = cairn_s3_parse_delete(doc, len, &e, key, sizeof(key));
		check_error(&e);
		if (strlen(key) >= sizeof(key))
			abort();
		break;
	}
	case 6: {
		struct cairn_s3_uploads u;
		r = cairn_s3_parse_uploads(doc, len, &u);
		if (r < 0 && (u.n || u.v || u.next_key || u.next_upload_id))
			abort();
		for (size_t i = 0; r == 0 && i < u.n; i++)
			if (!u.v[i].key || !*u.v[i].key || !u.v[i].upload_id || !*u.v[i].upload_id ||
			    u.v[i].initiated < 0)
				abort();
		cairn_s3_uploads_free(&u);
		break;
	}
	}
	return 0;
}
