/* test_stitch_blocks.c - the CPU backend's pending blocks (kernels/stitch/stitch_cpu_blocks.h):
 *   - on random cases (volume and ROI sizes, MONAI / nnU-Net / voxel grids, padding, overlaps, batch sizes,
 *     ensembles, mirroring, float16 and float64 accumulation, sinks and output volumes, argmax / threshold labels,
 *     activations), the CPU backend's values and labels equal, bit for bit, those of the OpenCL backend, which
 *     still accumulates into a ring of whole planes: the same sums in the same plan order per voxel;
 *   - the pool is planned exactly: with single tiles per call the most blocks ever pending is the planned count
 *     (never more in any case: a run beyond it would fail with VXT_ERR_INTERNAL);
 *   - vxt__argmax_row (the finalization's vectorized argmax) equals vxt_argmax_strided on ties, NaN and
 *     infinities. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stitch_internal.h"
#include "vxt_arith.h"
#include "vxt_labels.h"
#include "vxt_stitch.h"
#include "stitch_rows_cpu.h"
#include "vxt_test.h"

static uint32_t rng_next(uint32_t *r)
{
    *r = *r * 1664525u + 1013904223u;
    return *r >> 8;
}

static int64_t rnd(uint32_t *r, int64_t lo, int64_t hi) /* in [lo, hi] */
{
    return lo + (int64_t)(rng_next(r) % (uint32_t)(hi - lo + 1));
}

typedef struct pred {
    uint32_t seed;
    int64_t C;
    int f16;
} pred;

/* Outputs that depend on the tile's input and its position in the batch: non-trivial, never zero. */
static void fill_outputs(const pred *p, const vxt_batch *b, void *out)
{
    const size_t roi = (size_t)(b->roi[0] * b->roi[1] * b->roi[2]);
    for (int i = 0; i < b->count; i++)
        for (int64_t c = 0; c < p->C; c++)
            for (size_t v = 0; v < roi; v++) {
                const float in = b->input ? b->input[(size_t)i * (size_t)b->in_channels * roi + v] : 1.0f;
                const float x = in * (float)(c + 1) * 0.37f + (float)((v * 7u + (size_t)c * 13u) % 29u) * 0.11f -
                                (float)b->member * 0.5f + (float)(b->flip & 7u) * 0.03f;
                const size_t j = ((size_t)i * (size_t)p->C + (size_t)c) * roi + v;
                if (p->f16)
                    ((uint16_t *)out)[j] = vxt_float_to_half(x);
                else
                    ((float *)out)[j] = x;
            }
}

typedef struct sink_state {
    float *values;
    void *labels;
    size_t plane, vox, les;
    int64_t C;
} sink_state;

static int sink(void *user, const vxt_slab *s)
{
    sink_state *k = (sink_state *)user;
    const size_t n = (size_t)(s->z1 - s->z0) * k->plane;
    if (s->values)
        for (int64_t c = 0; c < k->C; c++)
            memcpy(k->values + (size_t)c * k->vox + (size_t)s->z0 * k->plane, s->values + (size_t)c * n,
                   n * sizeof(float));
    if (s->labels)
        memcpy((unsigned char *)k->labels + (size_t)s->z0 * k->plane * k->les, s->labels, n * k->les);
    return 0;
}

/* Run a session on ctx; values (C x volume) and labels out; the engine's block counts. */
static void run_case(vxt_context *ctx, const vxt_tiling *t, const vxt_stitch_options *so, const vxt_volume *in,
                     int use_sink, float *values, void *labels, uint64_t *planned, uint64_t *seen)
{
    const vxt_tiling_info *pi = vxt__tiling_info(t);
    const size_t plane = (size_t)(pi->shape[1] * pi->shape[2]), vox = (size_t)pi->shape[0] * plane;
    const size_t les = vxt_dtype_size(so->label_dtype);
    vxt_volume vv = {values, VXT_DTYPE_F32, so->out_channels, {pi->shape[0], pi->shape[1], pi->shape[2]}};
    vxt_volume lv = {labels, so->label_dtype, 1, {pi->shape[0], pi->shape[1], pi->shape[2]}};
    sink_state ks = {values, labels, plane, vox, les, so->out_channels};
    vxt_stitch_output out;
    vxt_stitch_output_init(&out);
    if (use_sink) {
        out.sink = sink;
        out.sink_user = &ks;
        out.want_values = 1;
        out.want_labels = 1;
    } else {
        out.values = &vv;
        out.labels = &lv;
    }
    vxt_session *ss = NULL;
    assert_ok(vxt_session_create(ctx, t, so, in, &out, &ss));
    pred p = {7u, so->out_channels, so->tile_dtype == VXT_DTYPE_F16};
    const size_t tile_bytes = (size_t)so->out_channels * (size_t)(pi->roi[0] * pi->roi[1] * pi->roi[2]) *
                              vxt_dtype_size(so->tile_dtype);
    void *buf = malloc((size_t)so->batch_size * tile_bytes);
    assert_non_null(buf);
    for (;;) {
        vxt_batch b;
        int done = 0;
        assert_ok(vxt_session_next_batch(ss, &b, &done));
        if (done)
            break;
        fill_outputs(&p, &b, buf);
        assert_ok(vxt_session_submit(ss, b.id, buf));
    }
    assert_ok(vxt_session_finish(ss));
    const vxt__stitch *s = vxt__session_stitch(ss);
    *planned = s->blocks_planned;
    *seen = s->blocks_seen;
    vxt_session_destroy(ss);
    free(buf);
}

static void test_random_cases_cpu_equals_opencl(void **state)
{
    (void)state;
    vxt_context *cpu = vxt_test_context(VXT_BACKEND_CPU, 2);
    vxt_context *cl = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    cpu->stitch_group = 2; /* calls one at a time: windows of one batch, the planned peak is reached */
    uint32_t r = 20261206u;
    int exact = 0;
    /* vxt_test_small() (Oclgrind): volumes of at most 12 x 30 x 30 voxels, ROIs of at most 16 */
    const int small = vxt_test_small();
    for (int round = 0; round < 36; round++) {
        vxt_tiling_options to;
        vxt_tiling_options_init(&to);
        for (int a = 0; a < 3; a++) {
            to.shape[a] = rnd(&r, 5, a == 0 ? (small ? 12 : 30) : (small ? 30 : 90));
            to.roi[a] = rnd(&r, 3, small ? 16 : 40);
            to.overlap[a] = (double)rnd(&r, 0, 7) / 10.0;
            to.step[a] = (double)rnd(&r, 3, 10) / 10.0;
            to.overlap_voxels[a] = rnd(&r, 0, to.roi[a] - 1);
        }
        to.grid = (vxt_grid)rnd(&r, 0, 2);
        to.pad = (vxt_pad)rnd(&r, 0, 2);
        vxt_tiling *t = NULL;
        if (vxt_tiling_create(&to, &t) != VXT_OK)
            continue; /* e.g. a ROI larger than the volume with padding disabled */
        const vxt_tiling_info *pi = vxt__tiling_info(t);
        vxt_stitch_options so;
        vxt_stitch_options_init(&so);
        so.out_channels = rnd(&r, 1, 6);
        so.batch_size = (int)rnd(&r, 1, 4);
        so.importance = rnd(&r, 0, 3) == 0 ? VXT_IMPORTANCE_CONSTANT : VXT_IMPORTANCE_GAUSSIAN;
        so.members = (int)rnd(&r, 1, 3) == 3 ? 2 : 1;
        so.mirror_axes = rnd(&r, 0, 3) == 0 ? (unsigned)rnd(&r, 1, 7) : 0u;
        const int64_t acc = rnd(&r, 0, 5);
        so.accumulate = acc == 0 ? VXT_ACCUMULATE_FLOAT16 : acc == 1 ? VXT_ACCUMULATE_FLOAT64 : VXT_ACCUMULATE_FLOAT32;
        if (so.accumulate == VXT_ACCUMULATE_FLOAT16)
            so.tile_dtype = VXT_DTYPE_F16;
        so.activation = (vxt_activation)rnd(&r, 0, 2);
        if (so.activation == VXT_ACTIVATION_SIGMOID && rnd(&r, 0, 1)) {
            so.label_rule = VXT_LABELS_THRESHOLD;
            so.label_threshold = 0.6;
        }
        if (so.members > 1)
            so.ensemble = rnd(&r, 0, 1) ? VXT_ENSEMBLE_PROBABILITIES : VXT_ENSEMBLE_LOGITS;
        so.label_dtype = rnd(&r, 0, 1) ? VXT_DTYPE_U16 : VXT_DTYPE_U8;
        const int use_sink = (int)rnd(&r, 0, 1);
        const size_t vox = (size_t)(pi->shape[0] * pi->shape[1] * pi->shape[2]);
        float *in = malloc(vox * sizeof(float));
        assert_non_null(in);
        for (size_t i = 0; i < vox; i++)
            in[i] = (float)(int32_t)(rng_next(&r) % 2001u) / 250.0f - 4.0f + 0.001f;
        vxt_volume vin = {in, VXT_DTYPE_F32, 1, {pi->shape[0], pi->shape[1], pi->shape[2]}};
        const size_t vbytes = (size_t)so.out_channels * vox * sizeof(float), lbytes = vox * vxt_dtype_size(so.label_dtype);
        float *v1 = malloc(vbytes), *v2 = malloc(vbytes);
        void *l1 = malloc(lbytes), *l2 = malloc(lbytes);
        assert_non_null(v1);
        assert_non_null(v2);
        memset(v1, 0xA5, vbytes); /* poisoned: every voxel must be written */
        memset(v2, 0x5A, vbytes);
        memset(l1, 0xA5, lbytes);
        memset(l2, 0x5A, lbytes);
        uint64_t planned = 0, seen = 0, p2, s2;
        run_case(cpu, t, &so, &vin, use_sink, v1, l1, &planned, &seen);
        run_case(cl, t, &so, &vin, use_sink, v2, l2, &p2, &s2);
        if (memcmp(v1, v2, vbytes) != 0 || memcmp(l1, l2, lbytes) != 0)
            fail_msg("round %d: shape %lld %lld %lld, ROI %lld %lld %lld, grid %d, C %lld, batch %d, members %d, "
                     "mirror %u, accumulate %d, activation %d: CPU and OpenCL differ", round, (long long)to.shape[0],
                     (long long)to.shape[1], (long long)to.shape[2], (long long)to.roi[0], (long long)to.roi[1],
                     (long long)to.roi[2], (int)to.grid, (long long)so.out_channels, so.batch_size, so.members,
                     so.mirror_axes, (int)so.accumulate, (int)so.activation);
        assert_true(seen >= 1);
        assert_true(seen <= planned);
        if (so.batch_size == 1 && so.members == 1) {
            assert_int_equal(seen, planned); /* windows of one tile from every tile on: the plan is exact */
            exact++;
        }
        free(in);
        free(v1);
        free(v2);
        free(l1);
        free(l2);
        vxt_tiling_destroy(t);
    }
    print_message("%d cases with single tiles reached exactly the planned peak\n", exact);
    assert_true(exact >= 4);
    vxt_context_destroy(cpu);
    vxt_context_destroy(cl);
}

static void test_argmax_row(void **state)
{
    (void)state;
    uint32_t r = 99u;
    const int Cs[4] = {1, 2, 8, 104};
    for (int ci = 0; ci < 4; ci++) {
        const int C = Cs[ci];
        const int64_t n = 301;
        const size_t stride = (size_t)n + 5;
        float *v = malloc((size_t)C * stride * sizeof(float)), *b = malloc((size_t)n * sizeof(float));
        int32_t *k = malloc((size_t)n * sizeof(int32_t));
        uint8_t *l8 = malloc((size_t)n);
        uint16_t *l16 = malloc((size_t)n * sizeof(uint16_t));
        for (int round = 0; round < 20; round++) {
            for (int64_t x = 0; x < n; x++)
                for (int c = 0; c < C; c++) {
                    const uint32_t u = rng_next(&r) % 100u;
                    float val = (float)(int32_t)(rng_next(&r) % 7u) - 3.0f; /* many ties */
                    if (u < 6)
                        val = NAN;
                    else if (u < 9)
                        val = u & 1 ? INFINITY : -INFINITY;
                    else if (u < 12)
                        val = -0.0f;
                    v[(size_t)c * stride + (size_t)x] = val;
                }
            vxt__argmax_row(v, stride, n, C, b, k, l8, 0);
            vxt__argmax_row(v, stride, n, C, b, k, l16, 1);
            for (int64_t x = 0; x < n; x++) {
                const int want = vxt_argmax_strided(v + x, (vxt_i64)stride, C);
                assert_int_equal(l8[x], want);
                assert_int_equal(l16[x], want);
            }
        }
        free(v);
        free(b);
        free(k);
        free(l8);
        free(l16);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_argmax_row),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_random_cases_cpu_equals_opencl),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, sizeof groups / sizeof groups[0]);
}
