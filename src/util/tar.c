/* tar headers, pax over ustar (tar.h). */
#include "util/tar.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USTAR_ID_MAX 07777777ull      /* 7 octal digits */
#define USTAR_NUM12_MAX 077777777777ull /* 11 octal digits: sizes under 8 GiB */

struct ustar {
	char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], chksum[8], typeflag, linkname[100];
	char magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8], prefix[155], pad[12];
};
_Static_assert(sizeof(struct ustar) == CAIRN_TAR_BLOCK, "a ustar header is one block");

static void octal(char *field, size_t width, uint64_t v)
{
	/* width - 1 digits and a NUL; callers checked that v fits. */
	snprintf(field, width, "%0*" PRIo64, (int)(width - 1), v);
}

/* Appends one "LEN key=value\n" record; LEN counts itself. */
static int pax_record(struct cairn_buf *b, const char *key, const char *value)
{
	size_t body = strlen(key) + strlen(value) + 3; /* ' ', '=', '\n' */
	size_t len = body + 1;
	for (;;) {
		char digits[24];
		size_t d = (size_t)snprintf(digits, sizeof(digits), "%zu", len);
		if (body + d == len)
			break;
		len = body + d;
	}
	char head[32];
	int n = snprintf(head, sizeof(head), "%zu ", len);
	int r;
	if ((r = cairn_buf_append(b, head, (size_t)n)) < 0 || (r = cairn_buf_append(b, key, strlen(key))) < 0 ||
	    (r = cairn_buf_append(b, "=", 1)) < 0 || (r = cairn_buf_append(b, value, strlen(value))) < 0)
		return r;
	return cairn_buf_append(b, "\n", 1);
}

static int pax_number(struct cairn_buf *b, const char *key, uint64_t v)
{
	char s[24];
	snprintf(s, sizeof(s), "%" PRIu64, v);
	return pax_record(b, key, s);
}

static int pax_time(struct cairn_buf *b, const char *key, int64_t ns)
{
	char s[48];
	uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	snprintf(s, sizeof(s), "%s%" PRIu64 ".%09" PRIu64, ns < 0 ? "-" : "", a / 1000000000u, a % 1000000000u);
	return pax_record(b, key, s);
}

/* Splits path into ustar's prefix and name: false when it cannot. */
static bool split(const char *path, struct ustar *h)
{
	size_t len = strlen(path);
	if (len <= sizeof(h->name)) {
		memcpy(h->name, path, len);
		return true;
	}
	/* The last '/' that leaves a name of at most 100 bytes and a prefix
	 * of at most 155. */
	for (size_t i = len - 1; i > 0; i--) {
		if (path[i] != '/')
			continue;
		if (len - i - 1 > sizeof(h->name))
			break;
		if (i <= sizeof(h->prefix) && len - i - 1 > 0) {
			memcpy(h->prefix, path, i);
			memcpy(h->name, path + i + 1, len - i - 1);
			return true;
		}
	}
	return false;
}

static int64_t seconds(int64_t ns)
{
	/* Floor, so that a time before 1970 with nanoseconds rounds down. */
	return ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000);
}

static void checksum(struct ustar *h)
{
	memset(h->chksum, ' ', sizeof(h->chksum));
	unsigned sum = 0;
	const unsigned char *p = (const unsigned char *)h;
	for (size_t i = 0; i < sizeof(*h); i++)
		sum += p[i];
	snprintf(h->chksum, sizeof(h->chksum), "%06o", sum);
	h->chksum[7] = ' ';
}

static void fill(struct ustar *h, char type, uint32_t mode, uint32_t uid, uint32_t gid, uint64_t size, int64_t mtime)
{
	octal(h->mode, sizeof(h->mode), mode & 07777);
	octal(h->uid, sizeof(h->uid), uid <= USTAR_ID_MAX ? uid : 0);
	octal(h->gid, sizeof(h->gid), gid <= USTAR_ID_MAX ? gid : 0);
	octal(h->size, sizeof(h->size), size <= USTAR_NUM12_MAX ? size : 0);
	octal(h->mtime, sizeof(h->mtime), mtime >= 0 && (uint64_t)mtime <= USTAR_NUM12_MAX ? (uint64_t)mtime : 0);
	h->typeflag = type;
	memcpy(h->magic, "ustar", 6);
	memcpy(h->version, "00", 2);
}

int cairn_tar_header(const struct cairn_tar_member *m, struct cairn_buf *out)
{
	if (!m->path || !*m->path)
		return cairn_error_set(CAIRN_EINVAL, "a tar member needs a path");
	size_t plen = strlen(m->path);
	char *path = malloc(plen + 2);
	if (!path)
		return cairn_error_nomem();
	memcpy(path, m->path, plen + 1);
	if (m->type == CAIRN_TAR_DIR && path[plen - 1] != '/')
		memcpy(path + plen, "/", 2);

	struct ustar h;
	memset(&h, 0, sizeof(h));
	struct cairn_buf pax = CAIRN_BUF_INIT;
	int64_t mtime = seconds(m->mtime_ns);
	int r = 0;
	if (!split(path, &h))
		r = pax_record(&pax, "path", path);
	if (r >= 0 && m->linkname) {
		size_t ll = strlen(m->linkname);
		if (ll > sizeof(h.linkname))
			r = pax_record(&pax, "linkpath", m->linkname);
		else
			memcpy(h.linkname, m->linkname, ll);
	}
	if (r >= 0 && m->size > USTAR_NUM12_MAX)
		r = pax_number(&pax, "size", m->size);
	if (r >= 0 && m->uid > USTAR_ID_MAX)
		r = pax_number(&pax, "uid", m->uid);
	if (r >= 0 && m->gid > USTAR_ID_MAX)
		r = pax_number(&pax, "gid", m->gid);
	if (r >= 0 && (m->mtime_ns % 1000000000 != 0 || mtime < 0 || (uint64_t)mtime > USTAR_NUM12_MAX))
		r = pax_time(&pax, "mtime", m->mtime_ns);
	if (r >= 0 && pax.len && m->atime_ns) /* 0: not known */
		r = pax_time(&pax, "atime", m->atime_ns);

	if (r >= 0 && pax.len) {
		/* The extended header's own name: GNU tar's, which every reader
		 * takes for what it is. */
		struct ustar x;
		memset(&x, 0, sizeof(x));
		memcpy(x.name, "././@PaxHeader", 14);
		fill(&x, 'x', 0644, 0, 0, pax.len, mtime);
		checksum(&x);
		static const char zeros[CAIRN_TAR_BLOCK];
		if ((r = cairn_buf_append(out, &x, sizeof(x))) >= 0 && (r = cairn_buf_append(out, pax.data, pax.len)) >= 0)
			r = cairn_buf_append(out, zeros, (size_t)cairn_tar_padding(pax.len));
		if (r >= 0 && !h.name[0]) {
			/* ustar's name then holds what fits, for readers
			 * without pax. */
			const char *base = strrchr(m->path, '/');
			base = base ? base + 1 : m->path;
			size_t bl = strlen(base);
			memcpy(h.name, base, bl < sizeof(h.name) ? bl : sizeof(h.name));
		}
	}
	if (r >= 0) {
		fill(&h, (char)m->type, m->mode, m->uid, m->gid, m->type == CAIRN_TAR_FILE ? m->size : 0, mtime);
		if (m->type == CAIRN_TAR_CHR || m->type == CAIRN_TAR_BLK) {
			octal(h.devmajor, sizeof(h.devmajor), m->devmajor & USTAR_ID_MAX);
			octal(h.devminor, sizeof(h.devminor), m->devminor & USTAR_ID_MAX);
		}
		checksum(&h);
		r = cairn_buf_append(out, &h, sizeof(h));
	}
	cairn_buf_free(&pax);
	free(path);
	return r;
}

int cairn_tar_end(struct cairn_buf *out)
{
	static const char zeros[2 * CAIRN_TAR_BLOCK];
	return cairn_buf_append(out, zeros, sizeof(zeros));
}
