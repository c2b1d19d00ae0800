/* threadpool.c - the CPU backend's fixed pool of pthreads running parallel-for jobs.
 *
 * A job splits [0, n) into fixed ranges of `grain` items; threads take ranges from a shared counter. Which
 * thread runs a range never changes a result: work functions write disjoint outputs, and reductions keep one
 * partial result per range, combined afterwards in range order by the caller. */
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

struct vxt__pool {
    int threads; /* including the calling thread */
    pthread_t *workers;
    int started;

    pthread_mutex_t job_lock; /* one job at a time; a second caller runs its job alone */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t done;
    unsigned long generation;
    int shutdown;
    int busy_workers;

    /* the current job */
    vxt__task_fn fn;
    void *arg;
    size_t n, grain, ranges;
    atomic_size_t next;
};

static void run_ranges(vxt__pool *p, int slot)
{
    for (;;) {
        size_t r = atomic_fetch_add(&p->next, 1);
        if (r >= p->ranges)
            break;
        size_t begin = r * p->grain;
        size_t end = begin + p->grain;
        if (end > p->n)
            end = p->n;
        p->fn(p->arg, begin, end, slot);
    }
}

typedef struct worker_arg {
    vxt__pool *pool;
    int slot;
} worker_arg;

static void *worker_main(void *varg)
{
    worker_arg *wa = (worker_arg *)varg;
    vxt__pool *p = wa->pool;
    int slot = wa->slot;
    free(wa);
    vxt__fpenv env;
    vxt__fpenv_enter(&env); /* workers live in the default environment */
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->shutdown && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->shutdown)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->lock);
        run_ranges(p, slot);
        pthread_mutex_lock(&p->lock);
        if (--p->busy_workers == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

vxt_status vxt__pool_create(int threads, vxt__pool **out)
{
    *out = NULL;
    if (threads < 1)
        threads = 1;
    vxt__pool *p = calloc(1, sizeof *p);
    if (!p)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "thread pool: out of memory");
    p->threads = threads;
    pthread_mutex_init(&p->job_lock, NULL);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->next, 0);
    if (threads > 1) {
        p->workers = calloc((size_t)threads - 1, sizeof *p->workers);
        if (!p->workers) {
            vxt__pool_destroy(p);
            return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "thread pool: out of memory");
        }
        for (int i = 0; i < threads - 1; i++) {
            worker_arg *wa = malloc(sizeof *wa);
            if (!wa) {
                vxt__pool_destroy(p);
                return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "thread pool: out of memory");
            }
            wa->pool = p;
            wa->slot = i + 1;
            int rc = pthread_create(&p->workers[i], NULL, worker_main, wa);
            if (rc != 0) {
                free(wa);
                vxt__pool_destroy(p);
                return vxt__fail(NULL, VXT_ERR_THREAD, "thread pool: pthread_create failed for worker %d of %d "
                                 "(error %d)", i + 1, threads - 1, rc);
            }
            p->started++;
        }
    }
    *out = p;
    return VXT_OK;
}

void vxt__pool_destroy(vxt__pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->shutdown = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->workers[i], NULL);
    free(p->workers);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->job_lock);
    free(p);
}

int vxt__pool_threads(const vxt__pool *p)
{
    return p ? p->threads : 1;
}

static void run_alone(size_t n, size_t grain, vxt__task_fn fn, void *arg)
{
    for (size_t begin = 0; begin < n; begin += grain) {
        size_t end = n - begin > grain ? begin + grain : n;
        fn(arg, begin, end, 0);
    }
}

/* Hand [0, n) to the workers (the job lock is held). */
static void publish(vxt__pool *p, size_t n, size_t grain, size_t ranges, vxt__task_fn fn, void *arg)
{
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->grain = grain;
    p->ranges = ranges;
    atomic_store(&p->next, 0);
    p->busy_workers = p->threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
}

/* The caller takes what is left, waits for the workers and gives the pool back. */
static void finish(vxt__pool *p)
{
    run_ranges(p, 0);
    pthread_mutex_lock(&p->lock);
    while (p->busy_workers > 0)
        pthread_cond_wait(&p->done, &p->lock);
    p->fn = NULL;
    p->arg = NULL;
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&p->job_lock);
}

void vxt__pool_start(vxt__pool *p, vxt__pool_job *job, size_t n, size_t grain, vxt__task_fn fn, void *arg)
{
    job->pool = p;
    job->started = 0;
    job->n = n;
    job->grain = grain == 0 ? 1 : grain;
    job->fn = fn;
    job->arg = arg;
    if (n == 0 || !p || p->threads == 1 || pthread_mutex_trylock(&p->job_lock) != 0)
        return;
    job->started = 1;
    publish(p, n, job->grain, n / job->grain + (n % job->grain != 0), fn, arg);
}

void vxt__pool_join(vxt__pool_job *job)
{
    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    if (job->started)
        finish(job->pool);
    else if (job->n > 0)
        run_alone(job->n, job->grain, job->fn, job->arg);
    vxt__fpenv_leave(&env);
    job->started = 0;
    job->n = 0;
}

void vxt__pool_for(vxt__pool *p, size_t n, size_t grain, vxt__task_fn fn, void *arg)
{
    if (n == 0)
        return;
    if (grain == 0)
        grain = 1;
    size_t ranges = n / grain + (n % grain != 0);
    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    if (!p || p->threads == 1 || ranges == 1 || pthread_mutex_trylock(&p->job_lock) != 0) {
        run_alone(n, grain, fn, arg);
        vxt__fpenv_leave(&env);
        return;
    }
    publish(p, n, grain, ranges, fn, arg);
    finish(p);
    vxt__fpenv_leave(&env);
}
