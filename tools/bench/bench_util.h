/* bench_util.h - timing, memory-bandwidth measurement and test-data helpers shared by the benchmark programs
 * and `voxtile bench`. Benchmarks are programs, not timed tests (docs/PERFORMANCE.md). */
#ifndef VXT_BENCH_UTIL_H
#define VXT_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic wall-clock seconds. */
double vxt_bench_now(void);

/* Median of n values (sorts a copy). */
double vxt_bench_median(const double *v, int n);

/* Memory bandwidth of this machine, STREAM conventions (bytes the kernel must move; write-allocate traffic
 * not counted): copy b = a (8 bytes per float element pair), triad a = b + s*c (12 bytes), read sum(a)
 * (4 bytes), read-modify-write a += b (12 bytes). Best of `reps` runs over arrays of `elements` floats each,
 * split over `threads` pthreads; arrays are touched before timing. */
typedef struct vxt_membw {
    int threads;
    size_t bytes_per_array;
    double copy_gbs, triad_gbs, read_gbs, rmw_gbs;
} vxt_membw;
int vxt_bench_membw(int threads, size_t elements, int reps, vxt_membw *out);

/* Deterministic non-trivial data: uniform floats in [lo, hi), never all zeros. */
void vxt_bench_fill_uniform(float *p, size_t n, float lo, float hi, uint64_t seed);

/* The peak resident memory of this process between vxt_bench_peak_start() and vxt_bench_peak_stop(), in bytes.
 * The kernel updates VmHWM only when memory is unmapped, not on page faults, so a peak no unmap follows would be
 * missed: a thread unmaps a page every millisecond meanwhile. start resets VmHWM to the current resident size
 * (/proc/self/clear_refs, Linux 4.0+). 0 where /proc cannot tell. */
typedef struct vxt_bench_peak vxt_bench_peak;
vxt_bench_peak *vxt_bench_peak_start(void);
uint64_t vxt_bench_peak_stop(vxt_bench_peak *p);

#endif
