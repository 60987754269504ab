/* The S3 XML documents the driver reads, each a small state machine over
 * the events of xml.c.  Unknown elements are ignored (servers add their
 * own); a wrong root element, a missing required field or a malformed
 * number is CAIRN_ECORRUPT. */
#include "store/s3/s3.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRONG_ROOT 1

/* Is path the root element `root`, or below it?  Sets *below. */
static bool in_root(const char *path, const char *root, const char **below)
{
	size_t n = strlen(root);
	if (strncmp(path, root, n) != 0 || (path[n] != 0 && path[n] != '/'))
		return false;
	*below = path[n] ? path + n + 1 : "";
	return true;
}

static void copy_text(char *dst, size_t size, const char *text, size_t len)
{
	snprintf(dst, size, "%.*s", (int)MIN(len, size - 1), text);
}

static int parse_u64(const char *s, size_t n, uint64_t *ret)
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

static int corrupt(const char *what)
{
	return cairn_error_set(CAIRN_ECORRUPT, "unexpected reply from the server: %s", what);
}

/* ---- <Error> ---- */

static int fill_error(struct cairn_s3_error *e, const char *below, const char *text, size_t len)
{
	if (!strcmp(below, "Code"))
		copy_text(e->code, sizeof(e->code), text, len);
	else if (!strcmp(below, "Message"))
		copy_text(e->message, sizeof(e->message), text, len);
	else if (!strcmp(below, "BucketName"))
		copy_text(e->bucket, sizeof(e->bucket), text, len);
	else if (!strcmp(below, "Region"))
		copy_text(e->region, sizeof(e->region), text, len);
	else if (!strcmp(below, "Endpoint"))
		copy_text(e->endpoint, sizeof(e->endpoint), text, len);
	return 0;
}

static int on_error(const char *path, const char *text, size_t len, void *ud)
{
	const char *below;
	if (!in_root(path, "Error", &below))
		return WRONG_ROOT;
	return fill_error(ud, below, text, len);
}

int cairn_s3_parse_error(const void *doc, size_t len, struct cairn_s3_error *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (len == 0)
		return corrupt("an empty error body");
	int r = cairn_s3_xml_walk(doc, len, on_error, ret);
	if (r == WRONG_ROOT)
		r = corrupt("the error body is not an <Error> document");
	if (r < 0)
		memset(ret, 0, sizeof(*ret));
	return r;
}

/* ---- <ListBucketResult> ---- */

struct list_ctx {
	struct cairn_s3_list_page *page;
	char *key;
	uint64_t size;
	bool have_size;
};

static int on_list(const char *path, const char *text, size_t len, void *ud)
{
	struct list_ctx *l = ud;
	const char *below;
	if (!in_root(path, "ListBucketResult", &below))
		return WRONG_ROOT;
	if (!strcmp(below, "Contents/Key")) {
		if (len == 0)
			return corrupt("an empty <Key> in a listing");
		free(l->key);
		if (!(l->key = strndup(text, len)))
			return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	} else if (!strcmp(below, "Contents/Size")) {
		if (parse_u64(text, len, &l->size) < 0)
			return corrupt("a bad <Size> in a listing");
		l->have_size = true;
	} else if (!strcmp(below, "Contents")) {
		if (!l->key || !l->have_size)
			return corrupt("a listing entry without <Key> or <Size>");
		struct cairn_s3_list_page *p = l->page;
		if (p->n == p->cap) {
			size_t cap = p->cap ? 2 * p->cap : 64;
			struct cairn_s3_list_entry *v = realloc(p->v, cap * sizeof(*v));
			if (!v)
				return cairn_error_set(CAIRN_ENOMEM, "out of memory");
			p->v = v;
			p->cap = cap;
		}
		p->v[p->n++] = (struct cairn_s3_list_entry){ .key = l->key, .size = l->size };
		l->key = NULL;
		l->have_size = false;
	} else if (!strcmp(below, "IsTruncated")) {
		if (len == 4 && !memcmp(text, "true", 4))
			l->page->truncated = true;
		else if (len == 5 && !memcmp(text, "false", 5))
			l->page->truncated = false;
		else
			return corrupt("a bad <IsTruncated> in a listing");
	} else if (!strcmp(below, "NextContinuationToken")) {
		free(l->page->next_token);
		if (!(l->page->next_token = strndup(text, len)))
			return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	}
	return 0;
}

int cairn_s3_parse_list(const void *doc, size_t len, struct cairn_s3_list_page *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct list_ctx l = { .page = ret };
	int r = cairn_s3_xml_walk(doc, len, on_list, &l);
	free(l.key);
	if (r == WRONG_ROOT)
		r = corrupt("a listing that is not a <ListBucketResult>");
	if (r == 0 && ret->truncated && (!ret->next_token || !*ret->next_token))
		r = corrupt("a truncated listing without a continuation token");
	if (r < 0)
		cairn_s3_list_page_free(ret);
	return r;
}

void cairn_s3_list_page_free(struct cairn_s3_list_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].key);
	free(p->v);
	free(p->next_token);
	memset(p, 0, sizeof(*p));
}

/* ---- <InitiateMultipartUploadResult> ---- */

static int on_initiate(const char *path, const char *text, size_t len, void *ud)
{
	char **id = ud;
	const char *below;
	if (!in_root(path, "InitiateMultipartUploadResult", &below))
		return WRONG_ROOT;
	if (!strcmp(below, "UploadId") && len) {
		free(*id);
		if (!(*id = strndup(text, len)))
			return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	}
	return 0;
}

int cairn_s3_parse_upload_id(const void *doc, size_t len, char **ret)
{
	char *id = NULL;
	int r = cairn_s3_xml_walk(doc, len, on_initiate, &id);
	if (r == WRONG_ROOT)
		r = corrupt("a multipart initiation reply that is not an <InitiateMultipartUploadResult>");
	if (r == 0 && !id)
		r = corrupt("a multipart initiation reply without an <UploadId>");
	if (r < 0) {
		free(id);
		return r;
	}
	*ret = id;
	return 0;
}

/* ---- CompleteMultipartUpload ---- */

struct complete_ctx {
	struct cairn_s3_error *err;
	int kind; /* 0 unknown, 1 result, 2 error */
};

static int on_complete(const char *path, const char *text, size_t len, void *ud)
{
	struct complete_ctx *c = ud;
	const char *below;
	if (c->kind != 2 && in_root(path, "CompleteMultipartUploadResult", &below)) {
		c->kind = 1;
		return 0;
	}
	if (c->kind != 1 && in_root(path, "Error", &below)) {
		c->kind = 2;
		return fill_error(c->err, below, text, len);
	}
	return WRONG_ROOT;
}

int cairn_s3_parse_complete(const void *doc, size_t len, struct cairn_s3_error *err)
{
	memset(err, 0, sizeof(*err));
	struct complete_ctx c = { .err = err };
	int r = cairn_s3_xml_walk(doc, len, on_complete, &c);
	if (r == WRONG_ROOT)
		r = corrupt("a multipart completion reply of an unknown kind");
	if (r < 0) {
		memset(err, 0, sizeof(*err));
		return r;
	}
	return c.kind == 2 ? 1 : 0;
}

/* ---- <DeleteResult> ---- */

struct delete_ctx {
	struct cairn_s3_error cur, *first;
	char key[1100];
	char *first_key;
	size_t keysize;
	int failures;
};

static int on_delete(const char *path, const char *text, size_t len, void *ud)
{
	struct delete_ctx *d = ud;
	const char *below;
	if (!in_root(path, "DeleteResult", &below))
		return WRONG_ROOT;
	if (!strcmp(below, "Error/Key")) {
		copy_text(d->key, sizeof(d->key), text, len);
	} else if (!strncmp(below, "Error/", 6)) {
		fill_error(&d->cur, below + 6, text, len);
	} else if (!strcmp(below, "Error")) {
		/* Already gone counts as deleted. */
		if (strcmp(d->cur.code, "NoSuchKey") != 0) {
			if (d->failures++ == 0) {
				*d->first = d->cur;
				if (d->first_key && d->keysize)
					snprintf(d->first_key, d->keysize, "%s", d->key);
			}
		}
		memset(&d->cur, 0, sizeof(d->cur));
		d->key[0] = 0;
	}
	return 0;
}

int cairn_s3_parse_delete(const void *doc, size_t len, struct cairn_s3_error *first, char *first_key,
			  size_t keysize)
{
	memset(first, 0, sizeof(*first));
	if (first_key && keysize)
		first_key[0] = 0;
	_cleanup_free_ struct delete_ctx *d = calloc(1, sizeof(*d));
	if (!d)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	d->first = first;
	d->first_key = first_key;
	d->keysize = keysize;
	int r = cairn_s3_xml_walk(doc, len, on_delete, d);
	if (r == WRONG_ROOT)
		r = corrupt("a delete reply that is not a <DeleteResult>");
	return r < 0 ? r : d->failures;
}
