/* pool.c: chunks encoded on worker threads while the caller reads on.
 *
 * The caller fills jobs in a ring and takes them back, encoded, in the
 * order it gave them, so that what it writes is the same whatever the
 * number of threads.  The workers only encode: every file is written by
 * the caller. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "og.h"

enum { FREE, QUEUED, DONE };

struct og_pool {
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	struct og_job *jobs;
	size_t size;		/* of the ring */
	size_t head, used;	/* the oldest job, and the jobs in the ring */
	size_t next, queued;	/* the next job for a worker, and those left */
};

static void *
worker(void *arg)
{
	struct og_pool *pool = arg;
	struct og_job *j;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (pool->queued == 0)
			pthread_cond_wait(&pool->work, &pool->lock);
		j = &pool->jobs[pool->next];
		pool->next = (pool->next + 1) % pool->size;
		pool->queued--;
		pthread_mutex_unlock(&pool->lock);
		j->out.len = 0;
		og_chunk_encode(&j->out, j->t, j->v, j->n);
		pthread_mutex_lock(&pool->lock);
		j->state = DONE;
		pthread_cond_broadcast(&pool->done);
	}
	return NULL;
}

/* A pool of n workers, n >= 1.  Signals go to the caller's thread: the
 * workers block them all. */
struct og_pool *
og_pool_new(int n)
{
	struct og_pool *pool = og_calloc(1, sizeof *pool);
	sigset_t all, old;
	pthread_t tid;
	int i, err;

	pool->size = 2 * (size_t)n + 2;
	pool->jobs = og_calloc(pool->size, sizeof *pool->jobs);
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->work, NULL);
	pthread_cond_init(&pool->done, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < n; i++) {
		if ((err = pthread_create(&tid, NULL, worker, pool)) != 0) {
			errno = err;
			og_die("cannot start a thread:");
		}
		pthread_detach(tid);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pool;
}

/* The job to fill next, or NULL while the ring is full. */
struct og_job *
og_pool_slot(struct og_pool *pool)
{
	if (pool->used == pool->size)
		return NULL;
	return &pool->jobs[(pool->head + pool->used) % pool->size];
}

/* Gives the job og_pool_slot returned, filled, to the workers. */
void
og_pool_submit(struct og_pool *pool, struct og_job *j)
{
	pthread_mutex_lock(&pool->lock);
	j->state = QUEUED;
	pool->used++;
	pool->queued++;
	pthread_cond_signal(&pool->work);
	pthread_mutex_unlock(&pool->lock);
}

/* The oldest job once it is encoded, waiting for it if wait is set:
 * NULL if there is none, or it is not done and wait is not set. */
struct og_job *
og_pool_head(struct og_pool *pool, int wait)
{
	struct og_job *j = NULL;

	pthread_mutex_lock(&pool->lock);
	if (pool->used > 0) {
		j = &pool->jobs[pool->head];
		while (j->state != DONE && wait)
			pthread_cond_wait(&pool->done, &pool->lock);
		if (j->state != DONE)
			j = NULL;
	}
	pthread_mutex_unlock(&pool->lock);
	return j;
}

/* Frees the oldest job, which og_pool_head returned. */
void
og_pool_pop(struct og_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	pool->jobs[pool->head].state = FREE;
	pool->head = (pool->head + 1) % pool->size;
	pool->used--;
	pthread_mutex_unlock(&pool->lock);
}
