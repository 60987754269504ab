#include "engine/engine.h"

#include <stdlib.h>
#include <unistd.h>


unsigned cairn_engine_threads(void)
{
	const char *e = getenv("CAIRN_THREADS");
	if (e && atoi(e) > 0)
		return (unsigned)atoi(e);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}
