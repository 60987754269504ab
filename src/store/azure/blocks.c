/* Large objects: Put Block for each block_size piece, in parallel, then one
 * Put Block List that commits them in order.
 *
 * Until the commit the blocks are uncommitted: no reader sees them, and
 * the service garbage-collects those of an upload that never commits
 * (there is nothing to abort, unlike S3's multipart uploads), so a failed
 * put leaves nothing half-visible.  The commit replaces the blob
 * atomically, or creates it only if it is missing (If-None-Match: *).
 *
 * Block ids are base64 of 24 bytes: 16 hex digits of a random upload id and
 * the block's 8-digit number.  All ids of a blob must have one length, and
 * the random part keeps two writers of one key (each committing its own
 * list) from mixing each other's blocks.
 *
 * Blocks go up from min(blocks, connections) threads, the caller's
 * included (cairn_parallel).  Each block is retried by the HTTP
 * layer; a block that still fails fails the put.
 */
#include "store/azure/azure.h"
#include "crypto/crypto.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/parallel.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_RAW 24
#define ID_B64 32 /* 24 bytes: no padding */

struct upload {
	struct azure_store *s;
	const char *key;
	const uint8_t *data;
	size_t len, block_size;
	unsigned nblocks;
	char nonce[17];
};

static void block_id(const struct upload *u, unsigned i, char out[ID_B64 + 1])
{
	char raw[ID_RAW + 1];
	snprintf(raw, sizeof(raw), "%.16s%08u", u->nonce, i % 100000000u);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)raw, ID_RAW);
}

static int put_block(void *ud, unsigned i)
{
	struct upload *u = ud;
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf q = CAIRN_BUF_INIT;
	char id[ID_B64 + 1];
	int r;

	block_id(u, i, id);
	if ((r = cairn_httpstore_query_add(&q, "comp", "block")) < 0 ||
	    (r = cairn_httpstore_query_add(&q, "blockid", id)) < 0)
		return r;
	size_t off = (size_t)i * u->block_size;
	struct azure_call c = { .method = "PUT",
				.key = u->key,
				.query = (const char *)q.data,
				.body = u->data + off,
				.len = MIN(u->block_size, u->len - off) };
	if ((r = cairn_azure_call(u->s, &c, &rs)) < 0)
		return r;
	if (rs.status != 201 && rs.status != 200) {
		char op[48];
		snprintf(op, sizeof(op), "upload of block %u of", i + 1);
		return cairn_azure_fail(u->s, op, u->key, &rs);
	}
	return 0;
}

/* Is the blob now exactly our bytes?  (A retried commit whose first
 * attempt did commit.)  The size first: a large blob of another size is
 * not worth reading. */
static bool is_ours(struct upload *u)
{
	uint64_t size;
	if (cairn_store_stat(&u->s->base, u->key, &size) < 0 || size != u->len)
		return false;
	return cairn_httpstore_is_ours(&u->s->base, u->key, u->data, u->len);
}

static int commit(struct upload *u, bool create_only)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT;
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	static const char head[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
	char id[ID_B64 + 1];
	int r;

	if (cairn_buf_reserve(&body, sizeof(head) + (size_t)u->nblocks * (ID_B64 + 17) + 16) < 0)
		return cairn_error_nomem();
	r = cairn_buf_append(&body, head, sizeof(head) - 1);
	for (unsigned i = 0; r >= 0 && i < u->nblocks; i++) {
		block_id(u, i, id);
		if ((r = cairn_buf_append(&body, "<Latest>", 8)) >= 0 && (r = cairn_buf_append(&body, id, ID_B64)) >= 0)
			r = cairn_buf_append(&body, "</Latest>", 9);
	}
	if (r >= 0)
		r = cairn_buf_append(&body, "</BlockList>", 12);
	if (r < 0)
		return cairn_error_nomem();

	const char *hdr[3] = { "Content-Type: application/xml", NULL, NULL };
	if (create_only)
		hdr[1] = "If-None-Match: *";
	struct azure_call c = {
		.method = "PUT", .key = u->key, .query = "comp=blocklist", .body = body.data, .len = body.len,
		.headers = hdr,
	};
	if ((r = cairn_azure_call(u->s, &c, &rs)) < 0)
		return r;
	if (rs.status == 201 || rs.status == 200)
		return 0;
	if (create_only && cairn_azure_reply_exists(&rs)) {
		if (rs.attempts > 1 && is_ours(u))
			return 0;
		return cairn_httpstore_exists(&u->s->base, u->key);
	}
	return cairn_azure_fail(u->s, "commit of the blocks of", u->key, &rs);
}

int cairn_azure_put_blocks(struct azure_store *s, const char *key, const uint8_t *data, size_t len,
			   bool create_only)
{
	struct upload u = { .s = s, .key = key, .data = data, .len = len, .block_size = s->cfg.block_size };
	uint8_t rnd[8];
	int r;

	while ((len + u.block_size - 1) / u.block_size > CAIRN_AZURE_MAX_BLOCKS)
		u.block_size *= 2;
	if (u.block_size > CAIRN_AZURE_BLOCK_SIZE_MAX)
		return cairn_error_set(CAIRN_EINVAL, "put of %s in %s: %zu bytes is more than a blob can hold", key,
				       s->base.uri, len);
	u.nblocks = (unsigned)((len + u.block_size - 1) / u.block_size);
	if ((r = cairn_random(rnd, sizeof(rnd))) < 0)
		return r;
	cairn_hex_encode(rnd, sizeof(rnd), u.nonce);

	/* Not uploading what would be refused: the commit's condition stays
	 * the atomic check. */
	if (create_only && (r = cairn_httpstore_absent(&s->base, key)) < 0)
		return r;

	if ((r = cairn_parallel(u.nblocks, s->cfg.connections, put_block, &u)) < 0)
		return r;
	if ((r = commit(&u, create_only)) == 0)
		cairn_log_debug("azure: %s: %zu bytes in %u blocks of %zu", key, len, u.nblocks, u.block_size);
	return r;
}
