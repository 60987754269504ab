/* Every environment variable the layers below the front end use, read
 * once (settings.h). */
#include "app/settings.h"
#include "repo/repo.h"
#include "util/time.h"

#include <stdlib.h>
#include <string.h>

static bool is_set(const char *name)
{
	return getenv(name) != NULL;
}

/* Strings are kept as they are, "" included: the drivers and the HTTP
 * client take "" for unset themselves, as they always did. */
void cairn_settings_from_env(struct cairn_settings *ret)
{
	*ret = (struct cairn_settings){ 0 };

	const char *threads = getenv("CAIRN_THREADS");
	if (threads && atoi(threads) > 0)
		ret->engine.threads = (unsigned)atoi(threads);
	ret->engine.profile = is_set("CAIRN_PROFILE");
	const char *map = getenv("CAIRN_MAP_SOURCE");
	ret->engine.source_read = !map ? CAIRN_SOURCE_READ_AUTO
				  : !*map || !strcmp(map, "0") ? CAIRN_SOURCE_READ_PREAD : CAIRN_SOURCE_READ_MAP;
	ret->engine.no_direct_io = is_set("CAIRN_NO_DIRECT_IO");
	ret->engine.no_index_cache = is_set("CAIRN_NO_INDEX_CACHE");

	struct cairn_store_env *s = &ret->store;
	s->aws.access_key_id = getenv("AWS_ACCESS_KEY_ID");
	s->aws.secret_access_key = getenv("AWS_SECRET_ACCESS_KEY");
	s->aws.session_token = getenv("AWS_SESSION_TOKEN");
	s->aws.region = getenv("AWS_REGION");
	s->aws.default_region = getenv("AWS_DEFAULT_REGION");
	s->google.hmac_access_key = getenv("GOOGLE_HMAC_ACCESS_KEY");
	s->google.hmac_secret = getenv("GOOGLE_HMAC_SECRET");
	s->azure.account = getenv("AZURE_STORAGE_ACCOUNT");
	s->azure.key = getenv("AZURE_STORAGE_KEY");
	s->azure.sas_token = getenv("AZURE_STORAGE_SAS_TOKEN");
	s->http.max_attempts = getenv("CAIRN_HTTP_MAX_ATTEMPTS");
	s->http.retry_seconds = getenv("CAIRN_HTTP_RETRY_SECONDS");
	s->http.stall_seconds = getenv("CAIRN_HTTP_STALL_SECONDS");
	s->http.backoff_ms = getenv("CAIRN_HTTP_BACKOFF_MS");
	s->http.connect_timeout_ms = getenv("CAIRN_HTTP_CONNECT_TIMEOUT_MS");
	s->http.stats = getenv("CAIRN_HTTP_STATS");
	s->no_direct_io = ret->engine.no_direct_io;

	/* Test hooks. */
	ret->store_test.fault = getenv("CAIRN_TEST_FAULT");
	ret->store_test.count = getenv("CAIRN_TEST_COUNT");
	const char *now = getenv("CAIRN_TEST_NOW");
	if (now && *now) {
		ret->test_now_set = true;
		ret->test_now = strtoll(now, NULL, 10);
	}
	const char *hold = getenv("CAIRN_TEST_SNAP_HOLD_MS");
	ret->snap_hold_ms = hold ? atol(hold) : 0;
	hold = getenv("CAIRN_TEST_FREEZE_HOLD_MS");
	ret->freeze_hold_ms = hold ? atol(hold) : 0;
	hold = getenv("CAIRN_TEST_READ_HOLD_MS");
	ret->read_hold_ms = hold ? atol(hold) : 0;
	const char *lock = getenv("CAIRN_TEST_OBJECT_LOCK_SECONDS");
	ret->object_lock_seconds = lock && *lock ? strtoll(lock, NULL, 10) : 0;
	const char *delay = getenv("CAIRN_TEST_JOB_DELAY");
	long ms = delay && *delay ? strtol(delay, NULL, 10) : 0;
	ret->job_delay_ms = ms > 0 ? (unsigned)ms : 0;
}

void cairn_settings_apply(const struct cairn_settings *s)
{
	cairn_engine_set_tuning(&s->engine);
	cairn_store_set_env(&s->store);
	cairn_store_set_test_hooks(&s->store_test);
	cairn_time_set_test_now(s->test_now_set, s->test_now);
	cairn_repo_set_test_lock_seconds(s->object_lock_seconds);
	cairn_test_hold_set("CAIRN_TEST_SNAP_HOLD_MS", s->snap_hold_ms);
	cairn_test_hold_set("CAIRN_TEST_FREEZE_HOLD_MS", s->freeze_hold_ms);
	cairn_test_hold_set("CAIRN_TEST_READ_HOLD_MS", s->read_hold_ms);
}

const struct cairn_settings *cairn_settings_init(void)
{
	static struct cairn_settings settings;

	cairn_settings_from_env(&settings);
	cairn_settings_apply(&settings);
	return &settings;
}
