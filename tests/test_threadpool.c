/* test_threadpool.c - the CPU backend's thread pool: coverage, determinism of ranges, floating-point
 * environment isolation, concurrent jobs. */
#include <fenv.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xmmintrin.h>

#include "internal.h"
#include "vxt_test.h"

typedef struct cover_arg {
    atomic_int *hits;
    size_t grain;
    atomic_int bad_ranges;
} cover_arg;

static void cover_fn(void *varg, size_t begin, size_t end, int slot)
{
    cover_arg *a = (cover_arg *)varg;
    (void)slot;
    if (begin % a->grain != 0 || end - begin > a->grain || end <= begin)
        atomic_fetch_add(&a->bad_ranges, 1);
    for (size_t i = begin; i < end; i++)
        atomic_fetch_add(&a->hits[i], 1);
}

static void test_every_index_once(void **state)
{
    (void)state;
    const int threads[] = {1, 2, 3, 8};
    const size_t sizes[] = {1, 2, 7, 64, 1000, 4097};
    const size_t grains[] = {1, 3, 64, 5000};
    for (size_t t = 0; t < 4; t++) {
        vxt__pool *p = NULL;
        assert_ok(vxt__pool_create(threads[t], &p));
        assert_int_equal(vxt__pool_threads(p), threads[t]);
        for (size_t s = 0; s < 6; s++)
            for (size_t g = 0; g < 4; g++) {
                atomic_int *hits = calloc(sizes[s], sizeof *hits);
                assert_non_null(hits);
                cover_arg a = {hits, grains[g], 0};
                vxt__pool_for(p, sizes[s], grains[g], cover_fn, &a);
                for (size_t i = 0; i < sizes[s]; i++)
                    assert_int_equal(atomic_load(&hits[i]), 1);
                assert_int_equal(atomic_load(&a.bad_ranges), 0);
                free(hits);
            }
        vxt__pool_for(p, 0, 4, cover_fn, NULL); /* n = 0: fn never called (arg NULL would crash) */
        vxt__pool_destroy(p);
    }
    vxt__pool_destroy(NULL);
}

/* Per-range partial sums combined in range order give the same bits for every thread count. */
typedef struct sum_arg {
    const float *x;
    float *partial;
    size_t grain;
} sum_arg;

static void sum_fn(void *varg, size_t begin, size_t end, int slot)
{
    sum_arg *a = (sum_arg *)varg;
    (void)slot;
    float s = 0.0f;
    for (size_t i = begin; i < end; i++)
        s += a->x[i];
    a->partial[begin / a->grain] = s;
}

static void test_range_reduction_is_thread_independent(void **state)
{
    (void)state;
    const size_t n = 100003, grain = 1024, nr = n / grain + 1;
    float *x = malloc(n * sizeof *x), *partial = malloc(nr * sizeof *partial);
    assert_non_null(x);
    assert_non_null(partial);
    vxt_rng r = {42};
    for (size_t i = 0; i < n; i++)
        x[i] = vxt_rng_uniform(&r, -1000.0f, 1000.0f);
    float ref = 0.0f;
    for (int threads = 1; threads <= 5; threads++) {
        vxt__pool *p = NULL;
        assert_ok(vxt__pool_create(threads, &p));
        sum_arg a = {x, partial, grain};
        vxt__pool_for(p, n, grain, sum_fn, &a);
        float total = 0.0f;
        for (size_t i = 0; i < nr; i++)
            total += partial[i];
        if (threads == 1)
            ref = total;
        assert_memory_equal(&total, &ref, sizeof total);
        vxt__pool_destroy(p);
    }
    free(x);
    free(partial);
}

/* Work runs without flush-to-zero even when the caller turned it on; the caller's mode is restored. */
typedef struct denorm_arg {
    volatile float a, b;
    float out[64];
} denorm_arg;

static void denorm_fn(void *varg, size_t begin, size_t end, int slot)
{
    denorm_arg *d = (denorm_arg *)varg;
    (void)slot;
    for (size_t i = begin; i < end; i++)
        d->out[i] = d->a * d->b; /* 1e-20 * 1e-20 = 1e-40: subnormal unless flushed */
}

static void test_fp_environment_isolated(void **state)
{
    (void)state;
    unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u); /* FTZ | DAZ, as -ffast-math code in the same process might leave it */
    vxt__pool *p = NULL;
    assert_ok(vxt__pool_create(2, &p)); /* workers inherit FTZ from this thread, and must drop it */
    denorm_arg d;
    d.a = 1e-20f;
    d.b = 1e-20f;
    memset(d.out, 0, sizeof d.out);
    vxt__pool_for(p, 64, 1, denorm_fn, &d);
    unsigned after = _mm_getcsr();
    _mm_setcsr(saved); /* before looking at the results: DAZ would make a subnormal compare equal to 0 */
    assert_int_equal(after & 0x8040u, 0x8040u); /* caller's mode restored */
    for (int i = 0; i < 64; i++)
        assert_true(d.out[i] > 0.0f); /* subnormal, not flushed */
    vxt__pool_destroy(p);
}

/* Two threads sharing one pool: one job runs on the pool, the other alone; both complete correctly. */
typedef struct concurrent_arg {
    vxt__pool *pool;
    int ok;
} concurrent_arg;

static void *concurrent_main(void *varg)
{
    concurrent_arg *c = (concurrent_arg *)varg;
    c->ok = 1;
    for (int rep = 0; rep < 50; rep++) {
        atomic_int *hits = calloc(5000, sizeof *hits);
        cover_arg a = {hits, 7, 0};
        vxt__pool_for(c->pool, 5000, 7, cover_fn, &a);
        for (size_t i = 0; i < 5000; i++)
            if (atomic_load(&hits[i]) != 1)
                c->ok = 0;
        free(hits);
    }
    return NULL;
}

static void test_concurrent_callers(void **state)
{
    (void)state;
    vxt__pool *p = NULL;
    assert_ok(vxt__pool_create(3, &p));
    pthread_t th[3];
    concurrent_arg args[3];
    for (int i = 0; i < 3; i++) {
        args[i].pool = p;
        assert_int_equal(pthread_create(&th[i], NULL, concurrent_main, &args[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_true(args[i].ok);
    }
    vxt__pool_destroy(p);
}

/* A background job: the workers run it while the caller works (here: waits for them, and runs a job of its own,
 * which finds the pool busy and runs alone); the join completes it. Without workers, the join runs it all. */
static int hits_total(atomic_int *hits, size_t n)
{
    int t = 0;
    for (size_t i = 0; i < n; i++)
        t += atomic_load(&hits[i]);
    return t;
}

static void test_background_job(void **state)
{
    (void)state;
    const size_t n = 4097;
    for (int threads = 1; threads <= 3; threads++) {
        vxt__pool *p = NULL;
        assert_ok(vxt__pool_create(threads, &p));
        atomic_int *hits = calloc(n, sizeof *hits), *other = calloc(1000, sizeof *other);
        assert_non_null(hits);
        assert_non_null(other);
        cover_arg a = {hits, 3, 0}, b = {other, 10, 0};
        vxt__pool_job job;
        vxt__pool_start(p, &job, n, 3, cover_fn, &a);
        assert_int_equal(job.started, threads > 1);
        vxt__pool_for(p, 1000, 10, cover_fn, &b); /* the pool is busy: runs on this thread, and completes */
        for (size_t i = 0; i < 1000; i++)
            assert_int_equal(atomic_load(&other[i]), 1);
        if (threads > 1) { /* the workers finish it without the caller (up to 10 s) */
            for (int wait = 0; wait < 10000 && hits_total(hits, n) < (int)n; wait++) {
                struct timespec ts = {0, 1000000L};
                nanosleep(&ts, NULL);
            }
            assert_int_equal(hits_total(hits, n), (int)n);
        } else {
            assert_int_equal(hits_total(hits, n), 0); /* nothing ran before the join */
        }
        vxt__pool_join(&job);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(atomic_load(&hits[i]), 1);
        assert_int_equal(atomic_load(&a.bad_ranges), 0);
        vxt__pool_join(&job); /* a second join does nothing */
        assert_int_equal(hits_total(hits, n), (int)n);
        /* after the join the pool takes jobs again: a started job, joined at once, covers everything once */
        memset(hits, 0, n * sizeof *hits);
        vxt__pool_start(p, &job, n, 64, cover_fn, &a);
        assert_int_equal(job.started, threads > 1);
        vxt__pool_join(&job);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(atomic_load(&hits[i]), 1);
        vxt__pool_start(p, &job, 0, 4, cover_fn, NULL); /* n = 0: never called */
        assert_int_equal(job.started, 0);
        vxt__pool_join(&job);
        free(hits);
        free(other);
        vxt__pool_destroy(p);
    }
    vxt__pool_job none;
    atomic_int h[5] = {0};
    cover_arg c = {h, 2, 0};
    vxt__pool_start(NULL, &none, 5, 2, cover_fn, &c); /* no pool: the join runs it */
    vxt__pool_join(&none);
    assert_int_equal(hits_total(h, 5), 5);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_every_index_once),
        cmocka_unit_test(test_range_reduction_is_thread_independent),
        cmocka_unit_test(test_fp_environment_isolated),
        cmocka_unit_test(test_concurrent_callers),
        cmocka_unit_test(test_background_job),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
