/* The S3 XML documents the driver reads, each a small state machine over
 * the events of store/xml.c.  Unknown elements are ignored (servers add
 * their own); a wrong root element, a missing required field or a
 * malformed number is CAIRN_ECORRUPT. */
#include "store/s3/s3.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy_text(char *dst, size_t size, const char *text, size_t len)
{
	snprintf(dst, size, "%.*s", (int)MIN(len, size - 1), text);
}

/* Replaces *dst by a copy of the element's text. */
static int set_text(char **dst, const char *text, size_t len)
{
	free(*dst);
	if (!(*dst = strndup(text, len)))
		return cairn_error_nomem();
	return 0;
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
	if (!cairn_xml_in_root(path, "Error", &below))
		return CAIRN_XML_WRONG_ROOT;
	return fill_error(ud, below, text, len);
}

int cairn_s3_parse_error(const void *doc, size_t len, struct cairn_s3_error *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (len == 0)
		return cairn_xml_corrupt("an empty error body");
	int r = cairn_xml_walk(doc, len, on_error, ret);
	if (r == CAIRN_XML_WRONG_ROOT)
		r = cairn_xml_corrupt("the error body is not an <Error> document");
	if (r < 0)
		memset(ret, 0, sizeof(*ret));
	return r;
}

/* <IsTruncated>: exactly "true" or "false". */
static int parse_truncated(const char *text, size_t len, bool *ret, const char *what)
{
	if (len == 4 && !memcmp(text, "true", 4))
		*ret = true;
	else if (len == 5 && !memcmp(text, "false", 5))
		*ret = false;
	else
		return cairn_xml_corrupt(what);
	return 0;
}

/* ---- <ListBucketResult> ---- */

struct list_ctx {
	struct cairn_httpstore_page *page;
	char *key;
	uint64_t size;
	bool have_size;
	bool truncated;
};

static int on_list(const char *path, const char *text, size_t len, void *ud)
{
	struct list_ctx *l = ud;
	const char *below;
	if (!cairn_xml_in_root(path, "ListBucketResult", &below))
		return CAIRN_XML_WRONG_ROOT;
	if (!strcmp(below, "Contents/Key")) {
		if (len == 0)
			return cairn_xml_corrupt("an empty <Key> in a listing");
		return set_text(&l->key, text, len);
	} else if (!strcmp(below, "Contents/Size")) {
		if (cairn_xml_parse_u64(text, len, &l->size) < 0)
			return cairn_xml_corrupt("a bad <Size> in a listing");
		l->have_size = true;
	} else if (!strcmp(below, "Contents")) {
		if (!l->key || !l->have_size)
			return cairn_xml_corrupt("a listing entry without <Key> or <Size>");
		int r = cairn_httpstore_page_add(l->page, l->key, l->size);
		if (r < 0)
			return r;
		l->key = NULL;
		l->have_size = false;
	} else if (!strcmp(below, "IsTruncated")) {
		return parse_truncated(text, len, &l->truncated, "a bad <IsTruncated> in a listing");
	} else if (!strcmp(below, "NextContinuationToken")) {
		return set_text(&l->page->next, text, len);
	}
	return 0;
}

int cairn_s3_parse_list(const void *doc, size_t len, struct cairn_httpstore_page *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct list_ctx l = { .page = ret };
	int r = cairn_xml_walk(doc, len, on_list, &l);
	free(l.key);
	if (r == CAIRN_XML_WRONG_ROOT)
		r = cairn_xml_corrupt("a listing that is not a <ListBucketResult>");
	if (r == 0 && l.truncated && (!ret->next || !*ret->next))
		r = cairn_xml_corrupt("a truncated listing without a continuation token");
	if (r < 0) {
		cairn_httpstore_page_free(ret);
		return r;
	}
	/* A token on the last page leads nowhere. */
	if (!l.truncated) {
		free(ret->next);
		ret->next = NULL;
	}
	return 0;
}

/* ---- <InitiateMultipartUploadResult> ---- */

static int on_initiate(const char *path, const char *text, size_t len, void *ud)
{
	char **id = ud;
	const char *below;
	if (!cairn_xml_in_root(path, "InitiateMultipartUploadResult", &below))
		return CAIRN_XML_WRONG_ROOT;
	if (!strcmp(below, "UploadId") && len)
		return set_text(id, text, len);
	return 0;
}

int cairn_s3_parse_upload_id(const void *doc, size_t len, char **ret)
{
	char *id = NULL;
	int r = cairn_xml_walk(doc, len, on_initiate, &id);
	if (r == CAIRN_XML_WRONG_ROOT)
		r = cairn_xml_corrupt("a multipart initiation reply that is not an <InitiateMultipartUploadResult>");
	if (r == 0 && !id)
		r = cairn_xml_corrupt("a multipart initiation reply without an <UploadId>");
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
	if (c->kind != 2 && cairn_xml_in_root(path, "CompleteMultipartUploadResult", &below)) {
		c->kind = 1;
		return 0;
	}
	if (c->kind != 1 && cairn_xml_in_root(path, "Error", &below)) {
		c->kind = 2;
		return fill_error(c->err, below, text, len);
	}
	return CAIRN_XML_WRONG_ROOT;
}

int cairn_s3_parse_complete(const void *doc, size_t len, struct cairn_s3_error *err)
{
	memset(err, 0, sizeof(*err));
	struct complete_ctx c = { .err = err };
	int r = cairn_xml_walk(doc, len, on_complete, &c);
	if (r == CAIRN_XML_WRONG_ROOT)
		r = cairn_xml_corrupt("a multipart completion reply of an unknown kind");
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
	if (!cairn_xml_in_root(path, "DeleteResult", &below))
		return CAIRN_XML_WRONG_ROOT;
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
		return cairn_error_nomem();
	d->first = first;
	d->first_key = first_key;
	d->keysize = keysize;
	int r = cairn_xml_walk(doc, len, on_delete, d);
	if (r == CAIRN_XML_WRONG_ROOT)
		r = cairn_xml_corrupt("a delete reply that is not a <DeleteResult>");
	return r < 0 ? r : d->failures;
}

/* ---- <ListMultipartUploadsResult> ---- */

struct uploads_ctx {
	struct cairn_s3_uploads *u;
	struct cairn_s3_upload cur;
	bool have_time, truncated;
};

static int on_uploads(const char *path, const char *text, size_t len, void *ud)
{
	struct uploads_ctx *c = ud;
	const char *below;
	if (!cairn_xml_in_root(path, "ListMultipartUploadsResult", &below))
		return CAIRN_XML_WRONG_ROOT;
	if (!strcmp(below, "Upload/Key") && len)
		return set_text(&c->cur.key, text, len);
	if (!strcmp(below, "Upload/UploadId") && len)
		return set_text(&c->cur.upload_id, text, len);
	if (!strcmp(below, "Upload/Initiated")) {
		if ((c->cur.initiated = cairn_time_parse(text)) < 0)
			return cairn_xml_corrupt("a bad <Initiated> in a list of multipart uploads");
		c->have_time = true;
	} else if (!strcmp(below, "Upload")) {
		if (!c->cur.key || !c->cur.upload_id || !c->have_time)
			return cairn_xml_corrupt("a multipart upload without <Key>, <UploadId> or <Initiated>");
		struct cairn_s3_uploads *u = c->u;
		if (u->n == u->cap) {
			size_t cap = u->cap ? 2 * u->cap : 16;
			void *v = realloc(u->v, cap * sizeof(*u->v));
			if (!v)
				return cairn_error_nomem();
			u->v = v;
			u->cap = cap;
		}
		u->v[u->n++] = c->cur;
		c->cur = (struct cairn_s3_upload){ 0 };
		c->have_time = false;
	} else if (!strcmp(below, "IsTruncated")) {
		return parse_truncated(text, len, &c->truncated, "a bad <IsTruncated> in a list of multipart uploads");
	} else if (!strcmp(below, "NextKeyMarker") && len) {
		return set_text(&c->u->next_key, text, len);
	} else if (!strcmp(below, "NextUploadIdMarker") && len) {
		return set_text(&c->u->next_upload_id, text, len);
	}
	return 0;
}

void cairn_s3_uploads_free(struct cairn_s3_uploads *u)
{
	for (size_t i = 0; i < u->n; i++) {
		free(u->v[i].key);
		free(u->v[i].upload_id);
	}
	free(u->v);
	free(u->next_key);
	free(u->next_upload_id);
	memset(u, 0, sizeof(*u));
}

int cairn_s3_parse_uploads(const void *doc, size_t len, struct cairn_s3_uploads *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct uploads_ctx c = { .u = ret };
	int r = cairn_xml_walk(doc, len, on_uploads, &c);
	free(c.cur.key);
	free(c.cur.upload_id);
	if (r == CAIRN_XML_WRONG_ROOT)
		r = cairn_xml_corrupt("a list of multipart uploads that is not a <ListMultipartUploadsResult>");
	if (r == 0 && c.truncated && !ret->next_key)
		r = cairn_xml_corrupt("a truncated list of multipart uploads without <NextKeyMarker>");
	if (r < 0) {
		cairn_s3_uploads_free(ret);
		return r;
	}
	if (!c.truncated) {
		free(ret->next_key);
		free(ret->next_upload_id);
		ret->next_key = ret->next_upload_id = NULL;
	}
	return 0;
}

/* ---- <CopyObjectResult>, <CopyPartResult> ---- */

struct copy_ctx {
	int kind; /* 1 result, 2 error */
	char *etag;
	size_t etag_size;
};

static int on_copy(const char *path, const char *text, size_t len, void *ud)
{
	struct copy_ctx *c = ud;
	const char *below;
	if (cairn_xml_in_root(path, "CopyObjectResult", &below) || cairn_xml_in_root(path, "CopyPartResult", &below)) {
		c->kind = 1;
		if (!strcmp(below, "ETag") && len < c->etag_size)
			memcpy(c->etag, text, len + 1);
		return 0;
	}
	if (cairn_xml_in_root(path, "Error", &below)) {
		c->kind = 2;
		return 0;
	}
	return CAIRN_XML_WRONG_ROOT;
}

int cairn_s3_parse_copy(const void *doc, size_t len, char *etag, size_t etag_size, struct cairn_s3_error *err)
{
	struct copy_ctx c = { .etag = etag, .etag_size = etag_size };
	memset(err, 0, sizeof(*err));
	if (etag_size)
		etag[0] = 0;
	int r = cairn_xml_walk(doc, len, on_copy, &c);
	if (r == CAIRN_XML_WRONG_ROOT || (r == 0 && c.kind == 0))
		r = cairn_xml_corrupt("a copy reply of an unknown kind");
	if (r < 0)
		return r;
	if (c.kind == 2) {
		int pr = cairn_s3_parse_error(doc, len, err);
		return pr < 0 ? pr : 1;
	}
	return 0;
}
