/* The request body cap (api_body.h). */
#include "daemon/api_body.h"

#include <errno.h>
#include <stdlib.h>

bool cairn_api_length_too_large(const char *cl, size_t max)
{
	if (!cl)
		return false;
	if (*cl < '0' || *cl > '9')
		return true;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(cl, &end, 10);
	return errno != 0 || *end != 0 || v > max;
}

bool cairn_api_body_fits(size_t have, size_t n, size_t max)
{
	return have <= max && n <= max - have;
}
