/* The shared upload limit: a token bucket that takers may overdraw.
 *
 * A taker that finds too few tokens takes them anyway and sleeps until the
 * bucket would have refilled that far.  Compared with waiting for the
 * tokens to be there first, nobody starves and the lock is held only for
 * arithmetic, never across a sleep. */
#include "http/http.h"
#include "util/cancel.h"
#include "util/time.h"

#include <errno.h>
#include <time.h>

void cairn_ratelimit_init(struct cairn_ratelimit *rl, uint64_t rate, double now)
{
	pthread_mutex_init(&rl->lock, NULL);
	rl->rate = (double)rate;
	rl->burst = rl->rate / 4;
	if (rl->burst < 16384)
		rl->burst = 16384;
	rl->tokens = rl->burst;
	rl->last = now;
}

void cairn_ratelimit_destroy(struct cairn_ratelimit *rl)
{
	pthread_mutex_destroy(&rl->lock);
}

double cairn_ratelimit_reserve(struct cairn_ratelimit *rl, size_t n, double now)
{
	if (rl->rate <= 0)
		return 0;
	pthread_mutex_lock(&rl->lock);
	if (now > rl->last) {
		rl->tokens += (now - rl->last) * rl->rate;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
		rl->last = now;
	}
	rl->tokens -= (double)n;
	double wait = rl->tokens < 0 ? -rl->tokens / rl->rate : 0;
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

void cairn_ratelimit_take(struct cairn_ratelimit *rl, size_t n)
{
	if (rl->rate <= 0)
		return;
	double wait = cairn_ratelimit_reserve(rl, n, cairn_now());
	if (wait <= 0)
		return;
	/* In slices, so that an interrupt is not kept waiting behind a slow
	 * limit; once it is asked for, the rest of the wait is skipped (what is
	 * still sent then is clean-up, not data). */
	double end = cairn_now() + wait;
	for (double left = wait; left > 0 && !cairn_cancel_check(); left = end - cairn_now()) {
		double d = left < 0.1 ? left : 0.1;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)(d * 1e9) };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !cairn_cancel_check())
			;
	}
}

size_t cairn_ratelimit_piece(const struct cairn_ratelimit *rl)
{
	/* About 1/16 s of the rate, between 1 KiB and 256 KiB. */
	double p = rl->rate / 16;
	if (p < 1024)
		p = 1024;
	if (p > 262144)
		p = 262144;
	return (size_t)p;
}
