/* Running n independent parts on a few threads. */
#include "util/parallel.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <pthread.h>
#include <stdlib.h>

struct parallel {
	int (*part)(void *ud, unsigned i);
	void *ud;
	unsigned n;

	pthread_mutex_t lock;
	unsigned next;
	int error;
	char errmsg[1024];
};

static void *parallel_main(void *arg)
{
	struct parallel *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		if (p->error || p->next >= p->n) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		unsigned i = p->next++;
		pthread_mutex_unlock(&p->lock);
		int r = p->part(p->ud, i);
		if (r < 0) {
			pthread_mutex_lock(&p->lock);
			if (!p->error) {
				p->error = r;
				cairn_error_copy(p->errmsg, sizeof(p->errmsg));
			}
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
	}
}

int cairn_parallel(unsigned n, unsigned threads, int (*part)(void *ud, unsigned i), void *ud)
{
	struct parallel p = { .part = part, .ud = ud, .n = n };
	pthread_mutex_init(&p.lock, NULL);

	unsigned nthreads = MIN(n, threads);
	pthread_t *tid = nthreads > 1 ? calloc(nthreads - 1, sizeof(*tid)) : NULL;
	unsigned started = 0;
	for (unsigned i = 0; tid && i + 1 < nthreads; i++)
		if (pthread_create(&tid[i], NULL, parallel_main, &p) == 0)
			started++;
	parallel_main(&p); /* this thread works too, so no thread is fine */
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	free(tid);
	pthread_mutex_destroy(&p.lock);
	/* The message of a part that failed on another thread. */
	return p.error ? cairn_error_set(p.error, "%s", p.errmsg) : 0;
}

int cairn_thread_detached(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc = pthread_attr_init(&attr);
	if (rc != 0)
		return -rc;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return -rc;
}
