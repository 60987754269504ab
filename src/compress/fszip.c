/* Compressed file system extents (fszip.h).  btrfs writes one zlib stream
 * (fs/btrfs/zlib.c: zlib header and adler32) or one zstd frame
 * (fs/btrfs/zstd.c: window at most 2^17, streamed so the frame may not
 * state its size) per extent, the sector's rest after it zeros; its own
 * reader stops at the stream's end, and so does this one.  lzo is btrfs's
 * own framing of LZO1X segments (fs/btrfs/lzo.c, below). */
#include "compress/fszip.h"
#include "util/buf.h"
#include "util/error.h"

#include <limits.h>
#include <zlib.h>
#include <zstd.h>
#ifdef CAIRN_HAVE_LZO
#include <lzo/lzo1x.h>
#endif

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

#ifdef CAIRN_HAVE_LZO
/* btrfs's lzo (fs/btrfs/lzo.c): total length u32 (LE, itself included),
 * then segments, each a length u32 and that many bytes of LZO1X data
 * that decompress to at most a sector; a segment's header never crosses
 * a 4 KiB sector: with fewer than 4 bytes left in one, they are zeros
 * and the header starts the next.  The data may cross. */
#define LZO_SECTOR 4096u

static int unzip_lzo(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *ret_len)
{
	if (lzo_init() != LZO_E_OK)
		return cairn_error_set(CAIRN_ECORRUPT, "liblzo2 does not initialise");
	if (in_len < 4)
		return cairn_error_set(CAIRN_ECORRUPT, "an lzo-compressed extent is shorter than its header");
	size_t total = cairn_le32(in);
	if (total < 4 || total > in_len)
		return cairn_error_set(CAIRN_ECORRUPT, "an lzo-compressed extent says it holds %zu of its %zu bytes",
				       total, in_len);
	size_t at = 4, got = 0;
	for (;;) {
		size_t left = LZO_SECTOR - at % LZO_SECTOR;
		if (left < 4)
			at += left; /* padding: no header across a sector */
		if (at >= total)
			break;
		if (total - at < 4)
			return cairn_error_set(CAIRN_ECORRUPT, "an lzo-compressed extent ends inside a segment header");
		size_t seg = cairn_le32(in + at);
		at += 4;
		if (seg == 0 || seg > total - at)
			return cairn_error_set(CAIRN_ECORRUPT, "an lzo-compressed extent has a segment of %zu bytes "
					       "past its end", seg);
		lzo_uint n = out_cap - got;
		int lr = lzo1x_decompress_safe(in + at, seg, out + got, &n, NULL);
		if (lr == LZO_E_OUTPUT_OVERRUN)
			return too_long("lzo", out_cap);
		if (lr != LZO_E_OK)
			return cairn_error_set(CAIRN_ECORRUPT, "an lzo-compressed extent does not decompress (LZO error %d)",
					       lr);
		got += n;
		at += seg;
	}
	*ret_len = got;
	return 0;
}
#endif

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
#ifdef CAIRN_HAVE_LZO
		return unzip_lzo(in, in_len, out, out_cap, ret_len);
#else
		return cairn_error_set(CAIRN_EUNSUPPORTED,
				       "its data is in lzo-compressed extents, which this cairn cannot decompress "
				       "(built without liblzo2)");
#endif
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
