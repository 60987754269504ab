/* The engine's process-wide tuning: set once at start by src/app/settings.c
 * (from CAIRN_THREADS, CAIRN_PROFILE, CAIRN_MAP_SOURCE,
 * CAIRN_NO_DIRECT_IO and CAIRN_NO_INDEX_CACHE), before any job runs; the engine never reads the
 * environment.  Until set: all zero (one thread per core, sources read with pread(),
 * O_DIRECT restores, no profile). */
#ifndef CAIRN_ENGINE_TUNING_H
#define CAIRN_ENGINE_TUNING_H

#include <stdbool.h>

struct cairn_engine_tuning {
	unsigned threads;  /* worker threads for CPU work; 0 = one per core */
	bool profile;      /* print where each job's time went */
	bool map_source;   /* map the source instead of pread() into buffers */
	bool no_direct_io; /* restores write through the page cache */
	bool no_index_cache; /* backups, restores, check and diff load the whole index into RAM */
};

void cairn_engine_set_tuning(const struct cairn_engine_tuning *t);
const struct cairn_engine_tuning *cairn_engine_tuning(void);

#endif
