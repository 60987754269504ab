/* Settings from the environment, read in one place: the front end (main)
 * calls cairn_settings_init() once at start, and every layer below gets
 * its part from here, in its own options (store, HTTP) or through the
 * one setter each layer has for process-wide values (engine tuning, and
 * the test hooks).  No other file below src/cli/ and src/daemon/ reads
 * the environment.
 *
 * The variables keep the meaning README.md and 'cairn help' give them:
 *   CAIRN_THREADS          worker threads (a number > 0; else one per core)
 *   CAIRN_PROFILE          (set) print where a backup's or restore's time went
 *   CAIRN_MAP_SOURCE       1: backups read the source through a mapping; 0 or
 *                          "": with pread(); unset: as engine/tuning.h says
 *   CAIRN_NO_DIRECT_IO     (set) no O_DIRECT writes (local packs, restores)
 *   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
 *   AWS_REGION, AWS_DEFAULT_REGION, GOOGLE_HMAC_ACCESS_KEY,
 *   GOOGLE_HMAC_SECRET, AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY,
 *   AZURE_STORAGE_SAS_TOKEN
 *                          object-store defaults when no credential applies
 *   CAIRN_HTTP_MAX_ATTEMPTS, CAIRN_HTTP_RETRY_SECONDS,
 *   CAIRN_HTTP_STALL_SECONDS, CAIRN_HTTP_BACKOFF_MS,
 *   CAIRN_HTTP_CONNECT_TIMEOUT_MS, CAIRN_HTTP_STATS
 *                          HTTP retries, timeouts and counters
 * and the test hooks, which exist only so that the end-to-end tests can
 * drive the real binary (all isolated in settings.c):
 *   CAIRN_TEST_NOW         the wall clock, in unix seconds
 *   CAIRN_TEST_KDF_LOG2N   10..13: new key objects' scrypt cost below init's
 *                          least (read with CAIRN_KDF_MEMORY, cli/common.c)
 *   CAIRN_TEST_FAULT       fault injection into every store (store/testwrap.h)
 *   CAIRN_TEST_COUNT       a file every store appends its call counts to
 *   CAIRN_TEST_SNAP_HOLD_MS, CAIRN_TEST_FREEZE_HOLD_MS
 *                          hold a snapshot or a freeze that long
 *   CAIRN_TEST_READ_HOLD_MS
 *                          a live read waits that long after the volume's
 *                          first stat (so a test can change it meanwhile)
 *   CAIRN_TEST_JOB_DELAY   milliseconds a job waits at its safe points
 *                          (struct cairn_app's test_job_delay_ms)
 * The front end's own variables (CAIRN_REPO, CAIRN_CRED, the passphrases,
 * ...) stay with it (src/cli/).
 */
#ifndef CAIRN_APP_SETTINGS_H
#define CAIRN_APP_SETTINGS_H

#include "engine/tuning.h"
#include "store/store.h"
#include "store/testwrap.h"

#include <stdbool.h>
#include <stdint.h>

struct cairn_settings {
	struct cairn_engine_tuning engine;
	struct cairn_store_env store; /* HTTP's and the local store's too */
	/* test hooks */
	struct cairn_store_test_hooks store_test;
	bool test_now_set;
	int64_t test_now;
	int64_t object_lock_seconds; /* CAIRN_TEST_OBJECT_LOCK_SECONDS (repo/objlock.h); 0: off */
	long snap_hold_ms, freeze_hold_ms, read_hold_ms;
	unsigned job_delay_ms; /* CAIRN_TEST_JOB_DELAY: struct cairn_app's */
};

/* Reads every variable above into ret.  Strings borrow from the
 * environment, which cairn does not change. */
void cairn_settings_from_env(struct cairn_settings *ret);

/* Hands each layer its part of s, which must stay valid for the life of
 * the process (or until the next apply): the store's environment defaults
 * and test wrappers, the engine's tuning, the clock and holds. */
void cairn_settings_apply(const struct cairn_settings *s);

/* Both, on the process's own settings, which it returns: what main calls
 * first.  Calling it again reads the environment again (unit tests that
 * change it). */
const struct cairn_settings *cairn_settings_init(void);

#endif
