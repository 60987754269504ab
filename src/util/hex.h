#ifndef CAIRN_UTIL_HEX_H
#define CAIRN_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lowercase hex digits and a NUL to out. */
void cairn_hex_encode(const uint8_t *in, size_t len, char *out);
/* Parses exactly 2*len lower-case hex digits (what encode writes; upper
 * case is refused, so every id has one spelling); 0 or CAIRN_EINVAL. */
int cairn_hex_decode(const char *in, uint8_t *out, size_t len);

#endif
