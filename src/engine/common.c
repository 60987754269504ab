#include "engine/engine.h"
#include "engine/tuning.h"
#include "repo/index.h"
#include "repo/lease.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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


void cairn_engine_compact_index(struct cairn_index *idx, struct cairn_repo *repo)
{
	size_t merged = 0, written = 0;
	if (cairn_index_compact_background(idx, repo, &merged, &written) < 0)
		cairn_log_warn("small index objects not merged: %s", cairn_error_message());
	else if (merged)
		cairn_log_info("merged %zu small index objects into %zu", merged, written);
}

/* Seconds since this process started: its start in /proc/self/stat (field
 * 22, clock ticks after boot) against CLOCK_BOOTTIME; -1 when unknown. */
static double process_age(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *p = strrchr(buf, ')'); /* the command may hold spaces */
	unsigned long long start = 0;
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);
	if (!p || sscanf(p + 1, "%llu", &start) != 1 || hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return -1;
	return (double)ts.tv_sec + ts.tv_nsec / 1e9 - (double)start / (double)hz;
}

void cairn_engine_profile_startup(const char *job)
{
	static atomic_flag done = ATOMIC_FLAG_INIT;
	if (!tuning.profile || atomic_flag_test_and_set(&done))
		return;
	fprintf(stderr, "cairn: profile: %s start-up %.3f s (process start to the first chunk)\n", job,
		process_age());
}
