/* Compressed file system extents (fszip.h).  btrfs writes one zlib stream
 * (fs/btrfs/zlib.c: zlib header and adler32) or one zstd frame
 * (fs/btrfs/zstd.c: window at most 2^17, streamed so the frame may not
 * state its size) per extent, the sector's rest after it zeros; its own
 * reader stops at the stream's end, and so does this one. */
#include "compress/fszip.h"
#include "util/error.h"

#include <limits.h>
#include <zlib.h>
#include <zstd.h>

static int too_long(const char *name, size_t out_cap)
{
	return cairn_error_set(CAIRN_ECORRUPT, "a %s-compressed extent decompresses to more than its %zu bytes", name,
			       out_cap);
}

static int unzip_zlib(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *ret_len)
{
	if (in_len > UINT_MAX || out_cap > UINT_MAX)
		return cairn_error_set(CAIRN_ECORRUPT, "a zlib-compressed extent is too large");
	z_stream z = { 0 };
	if (inflateInit(&z) != Z_OK)
		return cairn_error_nomem();
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)in_len;
	z.next_out = out;
	z.avail_out = (uInt)out_cap;
	int zr;
	/* With the output full, inflate still reads the stream's end (its
	 * adler32); a byte more it would write is an error below. */
	do
		zr = inflate(&z, Z_FINISH);
	while (zr == Z_OK);
	size_t got = out_cap - z.avail_out;
	uint8_t extra;
	if (zr == Z_BUF_ERROR && z.avail_out == 0 && z.avail_in) {
		z.next_out = &extra;
		z.avail_out = 1;
		zr = inflate(&z, Z_FINISH);
		if (z.avail_out == 0) {
			inflateEnd(&z);
			return too_long("zlib", out_cap);
		}
	}
	const char *msg = z.msg;
	int r = 0;
	if (zr == Z_STREAM_END)
		*ret_len = got;
	else if (zr == Z_BUF_ERROR && !z.avail_in)
		r = cairn_error_set(CAIRN_ECORRUPT, "a zlib-compressed extent ends before its stream does");
	else
		r = cairn_error_set(CAIRN_ECORRUPT, "a zlib-compressed extent does not decompress: %s",
				    msg ? msg : zError(zr));
	inflateEnd(&z);
	return r;
}

static int unzip_zstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *ret_len)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	if (!d)
		return cairn_error_nomem();
	ZSTD_inBuffer ib = { in, in_len, 0 };
	ZSTD_outBuffer ob = { out, out_cap, 0 };
	uint8_t extra;
	int r = 0;
	for (;;) {
		size_t before = ib.pos, made = ob.pos;
		size_t zr = ZSTD_decompressStream(d, &ob, &ib);
		if (ZSTD_isError(zr)) {
			r = cairn_error_set(CAIRN_ECORRUPT, "a zstd-compressed extent does not decompress: %s",
					    ZSTD_getErrorName(zr));
			break;
		}
		if (ob.dst == &extra && ob.pos) {
			r = too_long("zstd", out_cap);
			break;
		}
		if (zr == 0) { /* the frame's end */
			*ret_len = ob.dst == out ? ob.pos : out_cap;
			break;
		}
		if (ob.dst == out && ob.pos == ob.size) {
			/* Full: what is left of the frame must write nothing. */
			ob = (ZSTD_outBuffer){ &extra, 1, 0 };
			continue;
		}
		if (ib.pos == ib.size || (ib.pos == before && ob.pos == made)) {
			r = cairn_error_set(CAIRN_ECORRUPT, "a zstd-compressed extent ends before its frame does");
			break;
		}
	}
	ZSTD_freeDCtx(d);
	return r;
}

int cairn_fszip_decompress(enum cairn_cat_compression algorithm, const uint8_t *in, size_t in_len, uint8_t *out,
			   size_t out_cap, size_t *ret_len)
{
	*ret_len = 0;
	switch (algorithm) {
	case CAIRN_CAT_ZLIB:
		return unzip_zlib(in, in_len, out, out_cap, ret_len);
	case CAIRN_CAT_ZSTD:
		return unzip_zstd(in, in_len, out, out_cap, ret_len);
	case CAIRN_CAT_LZO:
		return cairn_error_set(CAIRN_EUNSUPPORTED,
				       "its data is in lzo-compressed extents, which this cairn cannot decompress "
				       "(built without liblzo2)");
	default:
		return cairn_error_set(CAIRN_ECORRUPT, "an extent compressed in an unknown way (%u)",
				       (unsigned)algorithm);
	}
}

const char *cairn_fszip_name(unsigned algorithm)
{
	switch (algorithm) {
	case CAIRN_CAT_PLAIN: return "none";
	case CAIRN_CAT_ZLIB: return "zlib";
	case CAIRN_CAT_LZO: return "lzo";
	case CAIRN_CAT_ZSTD: return "zstd";
	}
	return "?";
}
