/* bench_util.c - see bench_util.h. */
#include "bench_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

double vxt_bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double vxt_bench_median(const double *v, int n)
{
    if (n <= 0)
        return 0.0;
    double *c = malloc((size_t)n * sizeof *c);
    if (!c)
        return v[0];
    memcpy(c, v, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, cmp_double);
    double m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return m;
}

typedef struct bw_job {
    float *a, *b, *c;
    size_t begin, end;
    int op; /* 0 copy, 1 triad, 2 read, 3 rmw, 4 touch */
    double sum;
    pthread_barrier_t *barrier;
} bw_job;

static void *bw_worker(void *varg)
{
    bw_job *j = (bw_job *)varg;
    pthread_barrier_wait(j->barrier);
    float *restrict a = j->a, *restrict b = j->b, *restrict c = j->c;
    switch (j->op) {
    case 0:
        memcpy(b + j->begin, a + j->begin, (j->end - j->begin) * sizeof(float));
        break;
    case 1:
        for (size_t i = j->begin; i < j->end; i++)
            a[i] = b[i] + 3.0f * c[i];
        break;
    case 2: {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        size_t i = j->begin;
        for (; i + 8 <= j->end; i += 8) {
            s0 += a[i];
            s1 += a[i + 1];
            s2 += a[i + 2];
            s3 += a[i + 3];
            s4 += a[i + 4];
            s5 += a[i + 5];
            s6 += a[i + 6];
            s7 += a[i + 7];
        }
        for (; i < j->end; i++)
            s0 += a[i];
        j->sum = (double)(s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7);
        break;
    }
    case 3:
        for (size_t i = j->begin; i < j->end; i++)
            a[i] += b[i];
        break;
    default:
        for (size_t i = j->begin; i < j->end; i++) {
            a[i] = (float)(i & 1023) * 0.5f + 1.0f;
            b[i] = (float)(i & 511) * 0.25f + 2.0f;
            c[i] = (float)(i & 255) * 0.125f + 3.0f;
        }
        break;
    }
    return NULL;
}

static double run_op(float *a, float *b, float *c, size_t n, int threads, int op)
{
    pthread_t th[64];
    bw_job jobs[64];
    pthread_barrier_t barrier;
    if (threads > 64)
        threads = 64;
    pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1);
    for (int t = 0; t < threads; t++) {
        jobs[t] = (bw_job){a, b, c, n * (size_t)t / (size_t)threads, n * (size_t)(t + 1) / (size_t)threads, op, 0.0,
                           &barrier};
        pthread_create(&th[t], NULL, bw_worker, &jobs[t]);
    }
    double t0 = vxt_bench_now();
    pthread_barrier_wait(&barrier);
    for (int t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    double dt = vxt_bench_now() - t0;
    pthread_barrier_destroy(&barrier);
    volatile double sink = 0;
    for (int t = 0; t < threads; t++)
        sink += jobs[t].sum;
    (void)sink;
    return dt;
}

int vxt_bench_membw(int threads, size_t elements, int reps, vxt_membw *out)
{
    memset(out, 0, sizeof *out);
    if (threads < 1)
        threads = 1;
    if (threads > 64) /* run_op's most */
        threads = 64;
    float *a = malloc(elements * sizeof(float)), *b = malloc(elements * sizeof(float)),
          *c = malloc(elements * sizeof(float));
    if (!a || !b || !c) {
        free(a);
        free(b);
        free(c);
        return -1;
    }
    run_op(a, b, c, elements, threads, 4); /* first touch, outside the timing */
    double best[4] = {1e30, 1e30, 1e30, 1e30};
    for (int r = 0; r < reps; r++)
        for (int op = 0; op < 4; op++) {
            double dt = run_op(a, b, c, elements, threads, op);
            if (dt < best[op])
                best[op] = dt;
        }
    double e = (double)elements;
    out->threads = threads;
    out->bytes_per_array = elements * sizeof(float);
    out->copy_gbs = 8.0 * e / best[0] * 1e-9;
    out->triad_gbs = 12.0 * e / best[1] * 1e-9;
    out->read_gbs = 4.0 * e / best[2] * 1e-9;
    out->rmw_gbs = 12.0 * e / best[3] * 1e-9;
    free(a);
    free(b);
    free(c);
    return 0;
}

void vxt_bench_fill_uniform(float *p, size_t n, float lo, float hi, uint64_t seed)
{
    uint64_t s = seed ? seed : 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++) {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        uint32_t u = (uint32_t)((s * 0x2545F4914F6CDD1Dull) >> 32);
        p[i] = lo + (hi - lo) * (float)((double)u / 4294967296.0);
    }
}

struct vxt_bench_peak {
    pthread_t thread;
    atomic_int stop;
    int running;
};

static void *peak_main(void *arg)
{
    vxt_bench_peak *p = (vxt_bench_peak *)arg;
    while (!atomic_load(&p->stop)) {
        void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED)
            munmap(m, 4096);
        struct timespec t = {0, 1000000};
        nanosleep(&t, NULL);
    }
    return NULL;
}

vxt_bench_peak *vxt_bench_peak_start(void)
{
    vxt_bench_peak *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
    atomic_init(&p->stop, 0);
    p->running = pthread_create(&p->thread, NULL, peak_main, p) == 0;
    return p;
}

uint64_t vxt_bench_peak_stop(vxt_bench_peak *p)
{
    if (!p)
        return 0;
    if (p->running) {
        atomic_store(&p->stop, 1);
        pthread_join(p->thread, NULL);
    }
    free(p);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return (uint64_t)kb * 1024u;
}
