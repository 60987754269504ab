#include "engine/engine.h"
#include "engine/tuning.h"
#include "repo/index.h"
#include "repo/lease.h"
#include "util/cleanup.h"

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

int cairn_engine_read_begin(struct cairn_repo *repo, const char *kind, const char *state_dir,
			    struct cairn_activity **ret_activity, struct cairn_index **ret_idx)
{
	_cleanup_(cairn_activity_endp) struct cairn_activity *activity = NULL;
	int r = cairn_activity_begin(repo, kind, &activity);
	if (r < 0)
		return r;
	_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
	if ((r = cairn_index_new(&idx)) < 0 || (r = cairn_index_load_cached(idx, repo, state_dir, NULL)) < 0)
		return r;
	*ret_activity = TAKE_PTR(activity);
	*ret_idx = TAKE_PTR(idx);
	return 0;
}

