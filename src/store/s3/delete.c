/* Batch delete: DeleteObjects, up to 1000 keys a request (fewer with the
 * URI's delete_batch=N), in quiet mode (the reply lists only failures).  Servers without it (GCS's XML API;
 * any server answering 501) get one DELETE per key. */
#include "store/s3/s3.h"
#include "crypto/crypto.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static int xml_escaped(struct cairn_buf *b, const char *s)
{
	for (; *s; s++) {
		const char *e = NULL;
		switch (*s) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&apos;"; break;
		}
		int r = e ? cairn_buf_append(b, e, strlen(e)) : cairn_buf_append(b, s, 1);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add(struct cairn_buf *b, const char *s)
{
	return cairn_buf_append(b, s, strlen(s));
}

static int singles(struct cairn_store *st, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = cairn_store_del(st, keys[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* One DeleteObjects request; 1 when the server does not implement it. */
static int batch(struct s3_store *s, const char *const *keys, size_t n)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT;
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf reply = CAIRN_BUF_INIT;
	int r = add(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>");
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if ((r = cairn_s3_key_check(s, keys[i])) < 0)
			return r;
		if ((r = add(&body, "<Object><Key>")) >= 0 && (r = xml_escaped(&body, s->cfg.prefix)) >= 0 &&
		    (r = xml_escaped(&body, keys[i])) >= 0)
			r = add(&body, "</Key></Object>");
	}
	if (r >= 0)
		r = add(&body, "</Delete>");
	if (r < 0)
		return cairn_error_nomem();

	/* S3 requires Content-MD5 on DeleteObjects. */
	unsigned char md5[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;
	char md5hdr[64], sha[65];
	uint8_t digest[32];
	if (EVP_Digest(body.data, body.len, md5, &mlen, EVP_md5(), NULL) != 1)
		return cairn_error_set(CAIRN_ECRYPTO, "MD5 for DeleteObjects failed");
	memcpy(md5hdr, "Content-MD5: ", 13);
	EVP_EncodeBlock((unsigned char *)md5hdr + 13, md5, (int)mlen);
	if ((r = cairn_sha256(body.data, body.len, digest)) < 0)
		return r;
	cairn_hex_encode(digest, sizeof(digest), sha);
	const char *hdr[] = { md5hdr, "Content-Type: application/xml", NULL };

	struct s3_call c = { .method = "POST", .query = "delete=", .body = body.data, .len = body.len,
			     .sha256 = sha, .headers = hdr, .out = &reply,
			     .out_max = CAIRN_HTTPSTORE_REPLY_MAX };
	if ((r = cairn_s3_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status == 501 || rs.status == 405)
		return 1;
	if (rs.status != 200)
		return cairn_s3_fail(s, "delete", NULL, &rs);
	struct cairn_s3_error e;
	char key[1100];
	int failures = cairn_s3_parse_delete(reply.data, reply.len, &e, key, sizeof(key));
	if (failures < 0)
		return cairn_error_prefix(failures, "delete in %s", s->base.uri);
	if (failures > 0) {
		const char *k = key;
		size_t plen = strlen(s->cfg.prefix);
		if (!strncmp(k, s->cfg.prefix, plen))
			k += plen;
		return cairn_error_set(!strcmp(e.code, "AccessDenied") ? CAIRN_EPERM : CAIRN_EIO,
				       "delete of %d object(s) in %s failed, e.g. %s (%s: %s)", failures, s->base.uri,
				       k, e.code, e.message);
	}
	return 0;
}

int cairn_s3_del_many(struct cairn_store *st, const char *const *keys, size_t n)
{
	struct s3_store *s = to_s3(st);
	/* Locked stores delete by version, after checking each date (lock.c). */
	if (s->lock.seconds > 0)
		return singles(st, keys, n);
	size_t per = s->cfg.delete_batch ? s->cfg.delete_batch : 1000;
	for (size_t i = 0; i < n; i += per) {
		size_t k = MIN(per, n - i);
		if (atomic_load(&s->multi_delete_unsupported))
			return singles(st, keys + i, n - i);
		int r = batch(s, keys + i, k);
		if (r == 1) {
			if (!atomic_exchange(&s->multi_delete_unsupported, true))
				cairn_log_info("%s does not implement DeleteObjects: deleting one by one",
					       s->cfg.endpoint);
			return singles(st, keys + i, n - i);
		}
		if (r < 0)
			return r;
	}
	return 0;
}
