/* The engine's process-wide tuning: set once at start by src/app/settings.c
 * (from CAIRN_THREADS, CAIRN_PROFILE, CAIRN_MAP_SOURCE,
 * CAIRN_NO_DIRECT_IO and CAIRN_NO_INDEX_CACHE), before any job runs; the engine never reads the
 * environment.  Until set: all zero (one thread per core, sources read as
 * CAIRN_SOURCE_READ_AUTO says, O_DIRECT restores, no profile). */
#ifndef CAIRN_ENGINE_TUNING_H
#define CAIRN_ENGINE_TUNING_H

#include <stdbool.h>

/* How a backup reads its source (CAIRN_MAP_SOURCE: unset, 1, 0 or ""). */
enum cairn_source_read {
	/* Mapped when the whole volume is read against a parent's change
	 * tags (an incremental without a change map: most chunks are only
	 * tagged, and copying them into buffers was a third of its CPU);
	 * pread() into reused buffers otherwise (docs/benchmarks.md). */
	CAIRN_SOURCE_READ_AUTO = 0,
	CAIRN_SOURCE_READ_MAP,   /* always mapped */
	CAIRN_SOURCE_READ_PREAD, /* never mapped */
};

struct cairn_engine_tuning {
	unsigned threads;  /* worker threads for CPU work; 0 = one per core */
	bool profile;      /* print where each job's time went */
	enum cairn_source_read source_read;
	bool no_direct_io; /* restores write through the page cache */
	bool no_index_cache; /* backups, restores, check and diff load the whole index into RAM */
};

void cairn_engine_set_tuning(const struct cairn_engine_tuning *t);
const struct cairn_engine_tuning *cairn_engine_tuning(void);

#endif
