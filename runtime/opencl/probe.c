/* probe.c - the determinism probe: tiny computations run on the OpenCL device (kernels/probe/probe.cl) and by
 * its CPU twin (kernels/probe/probe_cpu.c) through the same shared functions (kernels/common/vxt_arith.h),
 * compared bit for bit. A device that contracts a*b+c into an fma, has an inexact divide, flushes differently,
 * or rounds its own way shows up here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "probe_cpu.h"
#include "vxt_arith.h"

/* xorshift64* - deterministic inputs, the same on every run */
typedef struct rng {
    uint64_t s;
} rng;

static uint32_t rng_u32(rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (uint32_t)((r->s * 0x2545F4914F6CDD1Dull) >> 32);
}

static float rng_uniform(rng *r, float lo, float hi)
{
    double u = (double)rng_u32(r) / 4294967296.0;
    return (float)(lo + (hi - lo) * u);
}

#define N_MULADD 2048
#define N_EXP 2048
#define VOL_Z 5
#define VOL_Y 6
#define VOL_X 7
#define N_TRI 512
#define TILE 16
#define N_ACC 32
#define N_HALF 1024

typedef struct probe_state {
    vxt_context *ctx;
    vxt_probe_report *rep;
    unsigned groups_failed;
} probe_state;

static void compare(probe_state *ps, const char *group, const float *dev, const float *cpu, size_t n,
                    const float *input)
{
    unsigned bad = 0;
    size_t first = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&dev[i], &cpu[i], sizeof(float)) != 0) {
            if (bad == 0)
                first = i;
            bad++;
        }
    }
    ps->rep->checks += (unsigned)n;
    ps->rep->mismatches += bad;
    if (bad) {
        ps->groups_failed++;
        char in_text[48] = "";
        if (input)
            snprintf(in_text, sizeof in_text, ", input %.9g", (double)input[first]);
        vxt__strlcatf(ps->rep->detail, sizeof ps->rep->detail,
                      "%s%s: %u of %zu differ (first at %zu%s: device %.9g [0x%08x], cpu %.9g [0x%08x])",
                      ps->groups_failed > 1 ? "; " : "", group, bad, n, first, in_text, (double)dev[first],
                      vxt_f2u(dev[first]), (double)cpu[first], vxt_f2u(cpu[first]));
    }
}

/* Run one kernel: args are buffers (in: copied from host; out: read back) or scalars. */
typedef struct karg {
    int kind; /* 0 = input buffer, 1 = output buffer, 2 = scalar */
    const void *host_in;
    void *host_out;
    size_t bytes;
} karg;

static vxt_status run_kernel(vxt_context *ctx, const char *name, karg *args, int nargs, size_t global)
{
    cl_kernel k = NULL;
    cl_mem mems[8] = {0};
    vxt_status st = vxt__kernel_create(ctx, VXT__PROG_PROBE, name, &k);
    if (st != VXT_OK)
        return st;
    cl_int err = CL_SUCCESS;
    for (int i = 0; i < nargs && err == CL_SUCCESS; i++) {
        if (args[i].kind == 2) {
            err = clSetKernelArg(k, (cl_uint)i, args[i].bytes, args[i].host_in);
            continue;
        }
        cl_mem_flags fl = args[i].kind == 0 ? (CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR) : CL_MEM_WRITE_ONLY;
        mems[i] = clCreateBuffer(ctx->cl, fl, args[i].bytes, args[i].kind == 0 ? (void *)(uintptr_t)args[i].host_in
                                                                             : NULL, &err);
        if (err == CL_SUCCESS)
            err = clSetKernelArg(k, (cl_uint)i, sizeof(cl_mem), &mems[i]);
    }
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, NULL, 0, NULL, NULL);
    for (int i = 0; i < nargs && err == CL_SUCCESS; i++)
        if (args[i].kind == 1)
            err = clEnqueueReadBuffer(ctx->queue, mems[i], CL_TRUE, 0, args[i].bytes, args[i].host_out, 0, NULL,
                                      NULL);
    if (err == CL_SUCCESS)
        err = clFinish(ctx->queue);
    for (int i = 0; i < 8; i++)
        if (mems[i])
            clReleaseMemObject(mems[i]);
    clReleaseKernel(k);
    if (err != CL_SUCCESS)
        return vxt__fail(ctx, VXT_ERR_OPENCL, "probe kernel %s failed: %s (%d)", name, vxt__cl_error_name(err), err);
    return VXT_OK;
}

#define IN(p, n) {0, (p), NULL, (n)}
#define OUT(p, n) {1, NULL, (p), (n)}
#define SCALAR(p) {2, (p), NULL, sizeof *(p)}

static vxt_status probe_mul_add(probe_state *ps, rng *r)
{
    const size_t n = N_MULADD;
    float *mem = calloc(5 * n, sizeof(float));
    if (!mem)
        return vxt__fail(ps->ctx, VXT_ERR_OUT_OF_MEMORY, "probe: out of memory");
    float *a = mem, *b = a + n, *c = b + n, *dev = c + n, *cpu = dev + n;
    const size_t bytes = n * sizeof(float);
    for (size_t i = 0; i < n; i++) {
        a[i] = rng_uniform(r, -4.0f, 4.0f);
        b[i] = rng_uniform(r, -4.0f, 4.0f);
        /* c close to -a*b: the fused and unfused results differ in most cases */
        c[i] = (i & 1) ? (float)(-(double)a[i] * (double)b[i]) * (1.0f + rng_uniform(r, -1e-6f, 1e-6f))
                       : rng_uniform(r, -16.0f, 16.0f);
        dev[i] = -1.0f;
    }
    vxt__probe_cpu_mul_add(a, b, c, cpu, n);
    karg args[] = {IN(a, bytes), IN(b, bytes), IN(c, bytes), OUT(dev, bytes)};
    vxt_status st = run_kernel(ps->ctx, "vxt_probe_mul_add", args, 4, n);
    if (st == VXT_OK)
        compare(ps, "multiply-add (contraction)", dev, cpu, n, a);
    free(mem);
    return st;
}

static vxt_status probe_exp_div(probe_state *ps, rng *r)
{
    const size_t n = N_EXP;
    float *mem = calloc(8 * n, sizeof(float));
    if (!mem)
        return vxt__fail(ps->ctx, VXT_ERR_OUT_OF_MEMORY, "probe: out of memory");
    float *x = mem, *d = x + n, *e_dev = d + n, *e_cpu = e_dev + n, *s_dev = e_cpu + n, *s_cpu = s_dev + n,
          *q_dev = s_cpu + n, *q_cpu = q_dev + n;
    const size_t bytes = n * sizeof(float);
    const float specials[] = {0.0f,         -0.0f,       1.0f,         -1.0f,      88.7228f, 88.72283f, -87.33654f,
                              -87.3365f,    -87.33655f,  0.5f,         -0.5f,      1e-30f,   -1e-30f,   100.0f,
                              -100.0f,      vxt_u2f(0x7f800000u), vxt_u2f(0xff800000u), vxt_u2f(0x7fc00000u)};
    const size_t ns = sizeof specials / sizeof specials[0];
    for (size_t i = 0; i < n; i++) {
        x[i] = i < ns ? specials[i] : rng_uniform(r, -100.0f, 100.0f);
        d[i] = rng_uniform(r, 0.1f, 10.0f) * ((rng_u32(r) & 1) ? 1.0f : -1.0f);
        e_dev[i] = s_dev[i] = q_dev[i] = -1.0f;
    }
    vxt__probe_cpu_exp_div(x, d, e_cpu, s_cpu, q_cpu, n);
    karg args[] = {IN(x, bytes), IN(d, bytes), OUT(e_dev, bytes), OUT(s_dev, bytes), OUT(q_dev, bytes)};
    vxt_status st = run_kernel(ps->ctx, "vxt_probe_exp_div", args, 5, n);
    if (st == VXT_OK) {
        compare(ps, "exp", e_dev, e_cpu, n, x);
        compare(ps, "sigmoid", s_dev, s_cpu, n, x);
        compare(ps, "division", q_dev, q_cpu, n, x);
    }
    free(mem);
    return st;
}

static vxt_status probe_trilinear(probe_state *ps, rng *r)
{
    const size_t nv = VOL_Z * VOL_Y * VOL_X;
    float *mem = calloc(nv + 5 * N_TRI, sizeof(float));
    if (!mem)
        return vxt__fail(ps->ctx, VXT_ERR_OUT_OF_MEMORY, "probe: out of memory");
    float *vol = mem, *coords = vol + nv, *dev = coords + 3 * N_TRI, *cpu = dev + N_TRI;
    for (size_t i = 0; i < nv; i++)
        vol[i] = rng_uniform(r, -1000.0f, 1000.0f);
    for (size_t i = 0; i < N_TRI; i++) {
        coords[3 * i] = rng_uniform(r, -1.0f, VOL_Z + 1.0f);
        coords[3 * i + 1] = rng_uniform(r, -1.0f, VOL_Y + 1.0f);
        coords[3 * i + 2] = rng_uniform(r, -1.0f, VOL_X + 1.0f);
        dev[i] = -1.0f;
    }
    vxt__probe_cpu_trilinear(vol, VOL_Z, VOL_Y, VOL_X, coords, cpu, N_TRI);
    cl_long nz = VOL_Z, ny = VOL_Y, nx = VOL_X;
    karg args[] = {IN(vol, nv * sizeof(float)), SCALAR(&nz), SCALAR(&ny), SCALAR(&nx),
                   IN(coords, 3 * N_TRI * sizeof(float)), OUT(dev, N_TRI * sizeof(float))};
    vxt_status st = run_kernel(ps->ctx, "vxt_probe_trilinear", args, 6, N_TRI);
    if (st == VXT_OK)
        compare(ps, "trilinear sample", dev, cpu, N_TRI, NULL);
    free(mem);
    return st;
}

static vxt_status probe_accumulate(probe_state *ps, rng *r)
{
    float tiles[3 * TILE], w[TILE], dev[N_ACC], cpu[N_ACC];
    cl_int starts[3] = {0, TILE / 2, N_ACC - TILE};
    cl_int t = TILE;
    for (size_t i = 0; i < 3 * TILE; i++)
        tiles[i] = rng_uniform(r, -20.0f, 20.0f);
    for (size_t i = 0; i < TILE; i++)
        w[i] = rng_uniform(r, 1e-3f, 1.0f);
    for (int v = 0; v < N_ACC; v++)
        dev[v] = -1.0f;
    vxt__probe_cpu_accumulate(tiles, w, t, starts, cpu, N_ACC);
    karg args[] = {IN(tiles, sizeof tiles), IN(w, sizeof w), SCALAR(&t), IN(starts, sizeof starts),
                   OUT(dev, sizeof dev)};
    vxt_status st = run_kernel(ps->ctx, "vxt_probe_accumulate", args, 5, N_ACC);
    if (st == VXT_OK)
        compare(ps, "three-tile weighted accumulation", dev, cpu, N_ACC, NULL);
    return st;
}

static vxt_status probe_half_ftz(probe_state *ps, rng *r)
{
    float *mem = calloc(5 * N_HALF, sizeof(float));
    if (!mem)
        return vxt__fail(ps->ctx, VXT_ERR_OUT_OF_MEMORY, "probe: out of memory");
    float *x = mem, *h_dev = x + N_HALF, *h_cpu = h_dev + N_HALF, *f_dev = h_cpu + N_HALF, *f_cpu = f_dev + N_HALF;
    const size_t bytes = N_HALF * sizeof(float);
    for (size_t i = 0; i < N_HALF; i++) {
        uint32_t u;
        switch (i % 4) {
        case 0: /* float subnormals */
            u = (rng_u32(r) & 0x807fffffu) | 1u;
            break;
        case 1: /* half-precision range including half subnormals and exact ties */
            u = ((rng_u32(r) & 0x80000000u) | ((100u + rng_u32(r) % 45u) << 23) | (rng_u32(r) & 0x7fe000u)) |
                ((i & 4) ? 0x1000u : 0u);
            break;
        case 2: /* around the largest half */
            u = (rng_u32(r) & 0x80000000u) | 0x477f0000u | (rng_u32(r) & 0x1ffffu);
            break;
        default:
            u = rng_u32(r) & 0xbfffffffu; /* any finite-ish value */
            break;
        }
        x[i] = vxt_u2f(u);
        h_dev[i] = f_dev[i] = -1.0f;
    }
    vxt__probe_cpu_half_ftz(x, h_cpu, f_cpu, N_HALF);
    karg args[] = {IN(x, bytes), OUT(h_dev, bytes), OUT(f_dev, bytes)};
    vxt_status st = run_kernel(ps->ctx, "vxt_probe_half_ftz", args, 3, N_HALF);
    if (st == VXT_OK) {
        compare(ps, "float16 rounding", h_dev, h_cpu, N_HALF, x);
        compare(ps, "denormal flushing", f_dev, f_cpu, N_HALF, x);
    }
    free(mem);
    return st;
}

vxt_status vxt__probe_run(vxt_context *ctx, vxt_probe_report *rep)
{
    memset(rep, 0, sizeof *rep);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    probe_state ps = {ctx, rep, 0};
    rng r = {0x9E3779B97F4A7C15ull};
    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    vxt_status st = probe_mul_add(&ps, &r);
    if (st == VXT_OK)
        st = probe_exp_div(&ps, &r);
    if (st == VXT_OK)
        st = probe_trilinear(&ps, &r);
    if (st == VXT_OK)
        st = probe_accumulate(&ps, &r);
    if (st == VXT_OK)
        st = probe_half_ftz(&ps, &r);
    vxt__fpenv_leave(&env);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rep->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (st != VXT_OK)
        return st;
    rep->ran = 1;
    rep->passed = rep->mismatches == 0;
    if (rep->passed)
        snprintf(rep->detail, sizeof rep->detail, "all %u values identical", rep->checks);
    return VXT_OK;
}
