#include "util/hex.h"
#include "cairn/error.h"

void cairn_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = 0;
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	/* Lower case only: a name read from a store has one spelling, so that
	 * no second object can stand for the same id (format.h OBJECTS). */
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int cairn_hex_decode(const char *in, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = nibble(in[2 * i]);
		if (hi < 0)
			return CAIRN_EINVAL;
		int lo = nibble(in[2 * i + 1]);
		if (lo < 0)
			return CAIRN_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return in[2 * len] == 0 ? 0 : CAIRN_EINVAL;
}
