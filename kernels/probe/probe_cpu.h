/* probe_cpu.h - the CPU twin of kernels/probe/probe.cl (probe_cpu.c): one function per probe kernel, same
 * arguments, n work-items run as a loop. The determinism probe (runtime/opencl/probe.c) compares their results
 * with the device's bit for bit. Not installed. */
#ifndef VXT_PROBE_CPU_H
#define VXT_PROBE_CPU_H

#include <stddef.h>

#include "vxt_arith.h"

/* vxt_probe_mul_add: out[i] = a[i]*b[i] + c[i], never fused. */
void vxt__probe_cpu_mul_add(const float *a, const float *b, const float *c, float *out, size_t n);

/* vxt_probe_exp_div: out[i] = vxt_exp(x[i]); sig[i] = vxt_sigmoid(x[i]); q[i] = x[i] / d[i]. */
void vxt__probe_cpu_exp_div(const float *x, const float *d, float *out, float *sig, float *q, size_t n);

/* vxt_probe_trilinear: trilinear samples of vol (nz x ny x nx) at coords (z, y, x per sample). */
void vxt__probe_cpu_trilinear(const float *vol, vxt_i64 nz, vxt_i64 ny, vxt_i64 nx, const float *coords, float *out,
                              size_t n);

/* vxt_probe_accumulate: three tiles of size t at starts[0..3) accumulated in order with weights w, normalized. */
void vxt__probe_cpu_accumulate(const float *tiles, const float *w, vxt_i32 t, const vxt_i32 *starts, float *out,
                               vxt_i32 n);

/* vxt_probe_half_ftz: half-precision round trips, and flushing of subnormal inputs. */
void vxt__probe_cpu_half_ftz(const float *x, float *half_out, float *ftz_out, size_t n);

#endif /* VXT_PROBE_CPU_H */
