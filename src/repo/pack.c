/* Blob codec and packs (format.h BLOB, PACK). */
#include "repo/pack.h"
#include "repo/objects.h"
#include "repo/record.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"

#include <stdlib.h>
#include <string.h>

int cairn_blob_codec_init(struct cairn_blob_codec *c, const struct cairn_repo *repo)
{
	memset(c, 0, sizeof(*c));
	int r;
	if ((r = cairn_repo_hasher(repo, &c->hasher)) < 0 || (r = cairn_repo_aead(repo, &c->aead)) < 0 ||
	    (r = cairn_comp_new(&repo->compression, &c->comp)) < 0) {
		cairn_blob_codec_free(c);
		return r;
	}
	return 0;
}

void cairn_blob_codec_free(struct cairn_blob_codec *c)
{
	if (!c)
		return;
	cairn_hasher_free(c->hasher);
	cairn_aead_free(c->aead);
	cairn_comp_free(c->comp);
	cairn_buf_free(&c->scratch);
	memset(c, 0, sizeof(*c));
}

int cairn_blob_encode(struct cairn_blob_codec *c, const uint8_t id[CAIRN_ID_LEN], const void *plain, size_t len,
		      bool compress, struct cairn_buf *out, uint8_t *ret_flags, uint32_t *ret_stored)
{
	const void *payload = plain;
	size_t plen = len;
	uint8_t flags = 0;
	int r;
	if (compress) {
		size_t bound = cairn_comp_bound(len), clen = 0;
		enum cairn_comp_used used;
		cairn_buf_clear(&c->scratch);
		if ((r = cairn_buf_reserve(&c->scratch, bound)) < 0)
			return r;
		if ((r = cairn_comp_compress(c->comp, plain, len, c->scratch.data, bound, &clen, &used)) < 0)
			return r;
		if (used != CAIRN_COMP_USED_RAW) {
			payload = c->scratch.data;
			plen = clen;
			flags |= used == CAIRN_COMP_USED_LZ4 ? CAIRN_BLOB_LZ4 : CAIRN_BLOB_ZSTD;
		}
	}
	if ((r = cairn_buf_reserve(out, plen + CAIRN_AEAD_OVERHEAD)) < 0)
		return r;
	uint8_t aad[1 + CAIRN_ID_LEN];
	cairn_blob_aad(aad, id);
	if ((r = cairn_aead_seal(c->aead, aad, sizeof(aad), payload, plen, out->data + out->len)) < 0)
		return r;
	out->len += plen + CAIRN_AEAD_OVERHEAD;
	*ret_flags = flags;
	*ret_stored = (uint32_t)(plen + CAIRN_AEAD_OVERHEAD);
	return 0;
}

static int blob_damaged(const struct cairn_blob_ref *ref, const char *why)
{
	char hex[2 * CAIRN_ID_LEN + 1];
	cairn_hex_encode(ref->id, CAIRN_ID_LEN, hex);
	return cairn_error_set(CAIRN_ECORRUPT, "blob %.16s is damaged: %s", hex, why);
}

int cairn_blob_decode(struct cairn_blob_codec *c, const struct cairn_blob_ref *ref, const uint8_t *sealed,
		      uint8_t *out)
{
	if (ref->stored_len < CAIRN_AEAD_OVERHEAD)
		return blob_damaged(ref, "too short");
	size_t plen = ref->stored_len - CAIRN_AEAD_OVERHEAD;
	uint8_t aad[1 + CAIRN_ID_LEN];
	cairn_blob_aad(aad, ref->id);
	int r;
	if (!cairn_blob_flags_valid(ref->flags))
		return blob_damaged(ref, "unknown flags");
	if (ref->flags & (CAIRN_BLOB_ZSTD | CAIRN_BLOB_LZ4)) {
		cairn_buf_clear(&c->scratch);
		if ((r = cairn_buf_reserve(&c->scratch, plen ? plen : 1)) < 0)
			return r;
		if (cairn_aead_open(c->aead, aad, sizeof(aad), sealed, ref->stored_len, c->scratch.data) < 0)
			return blob_damaged(ref, "authentication failed");
		if (cairn_comp_decompress(c->comp,
					  ref->flags & CAIRN_BLOB_LZ4 ? CAIRN_COMP_USED_LZ4 : CAIRN_COMP_USED_ZSTD,
					  c->scratch.data, plen, out, ref->raw_len) < 0)
			return blob_damaged(ref, "does not decompress");
	} else {
		if (plen != ref->raw_len)
			return blob_damaged(ref, "wrong length");
		if (cairn_aead_open(c->aead, aad, sizeof(aad), sealed, ref->stored_len, out) < 0)
			return blob_damaged(ref, "authentication failed");
	}
	uint8_t id[CAIRN_ID_LEN];
	if ((r = cairn_hasher_id(c->hasher, out, ref->raw_len, id)) < 0)
		return r;
	if (memcmp(id, ref->id, CAIRN_ID_LEN) != 0)
		return blob_damaged(ref, "content does not match its id");
	return 0;
}

int cairn_pack_writer_begin(struct cairn_pack_writer *w)
{
	cairn_buf_clear(&w->data);
	w->n = 0;
	return cairn_random(w->id, sizeof(w->id));
}

int cairn_pack_writer_add(struct cairn_pack_writer *w, struct cairn_blob_ref *ref, const uint8_t *sealed)
{
	int r = cairn_array_grow(&w->toc, &w->cap, w->n, sizeof(*w->toc), 512);
	if (r < 0)
		return r;
	ref->offset = (uint32_t)w->data.len;
	r = cairn_buf_append(&w->data, sealed, ref->stored_len);
	if (r < 0)
		return r;
	w->toc[w->n].ref = *ref;
	w->n++;
	return 0;
}

int cairn_pack_writer_finish(struct cairn_pack_writer *w, struct cairn_aead *a)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf toc = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf sealed = CAIRN_BUF_INIT;
	int r = cairn_buf_reserve(&toc, 4 + w->n * CAIRN_TOC_ENTRY_LEN);
	if (r < 0)
		return r;
	cairn_buf_append_le32(&toc, (uint32_t)w->n);
	for (size_t i = 0; i < w->n; i++) {
		const struct cairn_blob_ref *e = &w->toc[i].ref;
		uint8_t rec[CAIRN_REC_LEN];
		cairn_toc_rec_encode(rec, e);
		cairn_buf_append(&toc, rec, sizeof(rec));
	}
	if ((r = cairn_repo_seal(a, CAIRN_AAD_TOC, w->id, sizeof(w->id), toc.data, toc.len, &sealed)) < 0)
		return r;
	if ((r = cairn_buf_append(&w->data, sealed.data, sealed.len)) < 0 ||
	    (r = cairn_buf_append_le32(&w->data, (uint32_t)sealed.len)) < 0 ||
	    (r = cairn_buf_append(&w->data, CAIRN_PACK_MAGIC, CAIRN_MAGIC_LEN)) < 0)
		return r;
	return 0;
}

void cairn_pack_writer_free(struct cairn_pack_writer *w)
{
	if (!w)
		return;
	cairn_buf_free(&w->data);
	free(w->toc);
	w->toc = NULL;
	w->n = w->cap = 0;
}

int cairn_toc_parse(const uint8_t *data, size_t len, uint64_t data_end, struct cairn_toc_entry **ret,
		    size_t *ret_n)
{
	struct cairn_reader rd;
	cairn_reader_init(&rd, data, len);
	uint32_t n = cairn_reader_le32(&rd);
	if (rd.bad || (uint64_t)n * CAIRN_TOC_ENTRY_LEN != rd.left)
		return cairn_error_set(CAIRN_ECORRUPT, "pack table of contents has a wrong length");
	struct cairn_toc_entry *t = calloc(n ? n : 1, sizeof(*t));
	if (!t)
		return cairn_error_nomem();
	for (uint32_t i = 0; i < n; i++) {
		struct cairn_blob_ref *e = &t[i].ref;
		uint64_t off = cairn_toc_rec_decode(cairn_reader_bytes(&rd, CAIRN_REC_LEN), e);
		if (e->type > CAIRN_BLOB_CATALOG || !cairn_blob_flags_valid(e->flags) ||
		    e->stored_len < CAIRN_AEAD_OVERHEAD || off > data_end ||
		    e->stored_len > data_end - off || off > UINT32_MAX) {
			free(t);
			return cairn_error_set(CAIRN_ECORRUPT, "pack table of contents has an invalid entry");
		}
		e->offset = (uint32_t)off;
		e->pack = 0;
	}
	*ret = t;
	*ret_n = n;
	return 0;
}

#define TOC_READ_AHEAD (16u << 10)

int cairn_pack_read_toc(struct cairn_repo *repo, struct cairn_aead *a, const uint8_t pack_id[CAIRN_PACK_ID_LEN],
			struct cairn_toc_entry **ret, size_t *ret_n, uint64_t *ret_pack_size)
{
	char key[CAIRN_OBJECT_NAME_MAX];
	uint64_t size;
	cairn_pack_key(pack_id, key);
	int r = cairn_store_stat(repo->store, key, &size);
	if (r < 0)
		return r;
	if (size < CAIRN_PACK_TRAILER_LEN + CAIRN_AEAD_OVERHEAD + 4)
		return cairn_error_set(CAIRN_ECORRUPT, "pack %s is truncated (%llu bytes)", key,
				       (unsigned long long)size);
	/* The tail is read with the table of contents it most likely holds
	 * (a 16 MiB pack of 64 KiB chunks has a 13 KiB one): one request
	 * instead of two, which counts when a copy reads two tables per pack
	 * it sends whole.  Not more: 64 KiB tripled the bytes a same-family
	 * copy moved through the host (19 to 51 MiB for 5 GiB). */
	_cleanup_(cairn_buf_freep) struct cairn_buf tail = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT;
	uint64_t ahead = size < TOC_READ_AHEAD ? size : TOC_READ_AHEAD;
	if ((r = cairn_object_get_range(repo, CAIRN_OBJ_PACK, pack_id, size - ahead, ahead, &tail)) < 0)
		return r;
	if (tail.len != ahead)
		return cairn_error_set(CAIRN_ECORRUPT, "pack %s is truncated or damaged (no trailer)", key);
	const uint8_t *trailer = tail.data + tail.len - CAIRN_PACK_TRAILER_LEN;
	if (memcmp(trailer + 4, CAIRN_PACK_MAGIC, CAIRN_MAGIC_LEN) != 0)
		return cairn_error_set(CAIRN_ECORRUPT, "pack %s is truncated or damaged (no trailer)", key);
	uint32_t toclen = cairn_le32(trailer);
	if (toclen < CAIRN_AEAD_OVERHEAD || toclen > size - CAIRN_PACK_TRAILER_LEN)
		return cairn_error_set(CAIRN_ECORRUPT, "pack %s has an invalid trailer", key);
	uint64_t toc_at = size - CAIRN_PACK_TRAILER_LEN - toclen;
	const uint8_t *toc;
	if ((uint64_t)toclen + CAIRN_PACK_TRAILER_LEN <= ahead) {
		toc = trailer - toclen;
	} else {
		if ((r = cairn_object_get_range(repo, CAIRN_OBJ_PACK, pack_id, toc_at, toclen, &tail)) < 0)
			return r;
		if (tail.len != toclen)
			return cairn_error_set(CAIRN_ECORRUPT, "pack %s is truncated", key);
		toc = tail.data;
	}
	if (cairn_repo_unseal(a, CAIRN_AAD_TOC, pack_id, CAIRN_PACK_ID_LEN, toc, toclen, &body) < 0)
		return cairn_error_set(CAIRN_ECORRUPT, "pack %s is damaged (table of contents does not authenticate)",
				       key);
	if ((r = cairn_toc_parse(body.data, body.len, toc_at, ret, ret_n)) < 0)
		return cairn_error_prefix(r, "pack %s", key);
	if (ret_pack_size)
		*ret_pack_size = size;
	return 0;
}

void cairn_pack_key(const uint8_t pack_id[CAIRN_PACK_ID_LEN], char out[80])
{
	cairn_object_name(CAIRN_OBJ_PACK, pack_id, out);
}

int cairn_pack_key_parse(const char *key, uint8_t pack_id[CAIRN_PACK_ID_LEN])
{
	return cairn_object_name_parse(CAIRN_OBJ_PACK, key, pack_id) < 0 ? CAIRN_EINVAL : 0;
}
