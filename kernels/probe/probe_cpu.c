/* probe_cpu.c - the CPU twin of kernels/probe/probe.cl: the probe kernels' computations on the host through the
 * same shared functions (kernels/common/vxt_arith.h), for the determinism probe in runtime/opencl/probe.c, which
 * makes the inputs and compares the two results bit for bit. */
#include "probe_cpu.h"

void vxt__probe_cpu_mul_add(const float *a, const float *b, const float *c, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = vxt_mul_add(a[i], b[i], c[i]);
}

void vxt__probe_cpu_exp_div(const float *x, const float *d, float *out, float *sig, float *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = vxt_exp(x[i]);
        sig[i] = vxt_sigmoid(x[i]);
        q[i] = vxt_div(x[i], d[i]);
    }
}

void vxt__probe_cpu_trilinear(const float *vol, vxt_i64 nz, vxt_i64 ny, vxt_i64 nx, const float *coords, float *out,
                              size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = vxt_sample_trilinear_f32(vol, nz, ny, nx, coords[3 * i], coords[3 * i + 1], coords[3 * i + 2]);
}

void vxt__probe_cpu_accumulate(const float *tiles, const float *w, vxt_i32 t, const vxt_i32 *starts, float *out,
                               vxt_i32 n)
{
    for (int v = 0; v < n; v++) {
        float acc = 0.0f, cnt = 0.0f;
        for (int k = 0; k < 3; k++) {
            int o = v - starts[k];
            if (o >= 0 && o < t) {
                acc = vxt_weighted_add(acc, tiles[k * t + o], w[o]);
                cnt = vxt_ftz(cnt + w[o]);
            }
        }
        out[v] = vxt_div(acc, cnt);
    }
}

void vxt__probe_cpu_half_ftz(const float *x, float *half_out, float *ftz_out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        half_out[i] = vxt_round_half(x[i]);
        float xi = vxt_ftz(x[i]);
        ftz_out[i] = vxt_mul_add(xi, 1.0e20f, xi);
    }
}
