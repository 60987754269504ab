#include "engine/engine.h"
#include "engine/tuning.h"

#include <stdlib.h>
#include <unistd.h>

static struct cairn_engine_tuning tuning;

void cairn_engine_set_tuning(const struct cairn_engine_tuning *t)
{
	tuning = t ? *t : (struct cairn_engine_tuning){ 0 };
}

const struct cairn_engine_tuning *cairn_engine_tuning(void)
{
	return &tuning;
}

unsigned cairn_engine_threads(void)
{
	if (tuning.threads > 0)
		return tuning.threads;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}
