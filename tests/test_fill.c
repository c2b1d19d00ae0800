/* test_fill.c - the fill kernel (kernels/common/fill.cl, vxt_k_fill_u32, launched by vxt__cl_fill_u32), which
 * stands in for clEnqueueFillBuffer (Oclgrind does not count memory that clEnqueueFillBuffer wrote as
 * initialized). It sets n 32-bit values from element `off` and nothing else: on random backgrounds, at random
 * offsets, lengths and values (lengths around the work-group sizes among them), with the default work-group
 * size and odd ones; every element of the buffer is compared with what the host expects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "vxt_test.h"

enum { NBUF = 5003 }; /* a prime: no length below lines up with it */

/* Fill [off, off + n) of a buffer holding `background` with v on the device, read the whole buffer back and
 * compare it with the expectation; returns the number of elements checked. */
static size_t check_fill(vxt_context *ctx, cl_kernel k, const cl_uint *background, size_t off, size_t n, cl_uint v)
{
    cl_int err = CL_SUCCESS;
    cl_mem m = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, NBUF * sizeof(cl_uint),
                              (void *)background, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_ok(vxt__cl_fill_u32(ctx, k, m, off, n, v, "test fill"));
    cl_uint *got = malloc(NBUF * sizeof(cl_uint));
    assert_non_null(got);
    vxt_poison(got, NBUF * sizeof(cl_uint));
    assert_int_equal(clEnqueueReadBuffer(ctx->queue, m, CL_TRUE, 0, NBUF * sizeof(cl_uint), got, 0, NULL, NULL),
                     CL_SUCCESS);
    for (size_t i = 0; i < NBUF; i++) {
        const cl_uint want = i >= off && i < off + n ? v : background[i];
        if (got[i] != want)
            fail_msg("fill of %zu values from %zu with 0x%08x (work-group %zu): element %zu is 0x%08x, expected "
                     "0x%08x", n, off, (unsigned)v, ctx->wg1d, i, (unsigned)got[i], (unsigned)want);
    }
    free(got);
    clReleaseMemObject(m);
    return NBUF;
}

static void test_fill_random(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    cl_kernel k = NULL;
    assert_ok(vxt__kernel_create(ctx, VXT__PROG_HISTOGRAM, "vxt_k_fill_u32", &k));
    cl_uint *background = malloc(NBUF * sizeof(cl_uint));
    assert_non_null(background);
    vxt_rng r = {20261207u};
    const size_t wg_default = ctx->wg1d, wgs[3] = {wg_default, 7, 64};
    /* lengths: one, around the work-group sizes (1024 on CPU devices, 64 elsewhere; 7), the rest to the end */
    const size_t fixed[][2] = {{0, 1},   {NBUF - 1, 1}, {3, 63},   {3, 64},   {3, 65},  {100, 1023},
                               {1, 1024}, {0, 1025},    {13, 7},   {0, NBUF}, {17, 6}, {4000, NBUF - 4000}};
    size_t checked = 0;
    for (size_t w = 0; w < 3; w++) {
        ctx->wg1d = wgs[w];
        for (size_t c = 0; c < sizeof fixed / sizeof fixed[0] + 8; c++) {
            for (size_t i = 0; i < NBUF; i++)
                background[i] = vxt_rng_u32(&r);
            size_t off, n;
            if (c < sizeof fixed / sizeof fixed[0]) {
                off = fixed[c][0];
                n = fixed[c][1];
            } else {
                off = vxt_rng_u32(&r) % NBUF;
                n = 1 + vxt_rng_u32(&r) % (NBUF - off);
            }
            /* values never equal to the background where they land: a missed element shows */
            cl_uint v = vxt_rng_u32(&r);
            for (size_t i = off; i < off + n; i++)
                if (background[i] == v)
                    background[i] = ~v;
            checked += check_fill(ctx, k, background, off, n, v);
        }
    }
    ctx->wg1d = wg_default;
    /* zero values: nothing launched, nothing changed */
    for (size_t i = 0; i < NBUF; i++)
        background[i] = vxt_rng_u32(&r);
    checked += check_fill(ctx, k, background, 10, 0, 0x12345678u);
    print_message("%zu elements as expected after 3 x 20 fills and an empty one\n", checked);
    free(background);
    clReleaseKernel(k);
    vxt_context_destroy(ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_fill_random),
    };
    const vxt_test_group groups[] = {VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 1);
}
