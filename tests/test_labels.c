/* test_labels.c - vxt_labels(): the three label rules (argmax, sigmoid threshold, nnU-Net regions) on hand-computed
 * cases, against a double-precision reference on random values, and bit for bit between the CPU backend and
 * OpenCL (outputs poisoned first; whole volumes and staged chunks). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "vxt_test.h"

/* The rules as written in docs (double precision; the library compares float32 values, which converts exactly). */
static int ref_label(const float *v, size_t n, int C, vxt_label_rule rule, double t, const int32_t *regions)
{
    if (rule == VXT_LABELS_ARGMAX) {
        int best = -1;
        for (int c = 0; c < C; c++)
            if (!isnan(v[c * n]) && (best < 0 || (double)v[c * n] > (double)v[best * n]))
                best = c;
        return best < 0 ? 0 : best;
    }
    if (rule == VXT_LABELS_THRESHOLD) {
        int best = -1;
        for (int c = 0; c < C; c++)
            if ((double)v[c * n] > (double)(float)t && (best < 0 || (double)v[c * n] > (double)v[best * n]))
                best = c;
        return best + 1;
    }
    int label = 0;
    for (int c = 0; c < C; c++)
        if ((double)v[c * n] > (double)(float)t)
            label = regions[c];
    return label;
}

static int label_at(const vxt_volume *l, size_t i)
{
    return l->dtype == VXT_DTYPE_U8 ? ((const uint8_t *)l->data)[i] : ((const uint16_t *)l->data)[i];
}

/* Sigmoid outputs of a 3-channel multi-label model, 2 x 2 x 2 voxels, worked out by hand. */
static void test_threshold_hand_computed(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 1);
    enum { N = 8, C = 3 };
    /* channel-major: v[c * N + i] */
    const float v[C * N] = {
        /* c0 */ 0.10f, 0.60f, 0.50f, 0.90f, 0.70f, NAN, 0.51f, 0.20f,
        /* c1 */ 0.20f, 0.55f, 0.50f, 0.95f, 0.70f, 0.80f, 0.49f, 0.30f,
        /* c2 */ 0.30f, 0.40f, 0.50f, 0.10f, 0.60f, 0.20f, 0.52f, 0.40f,
    };
    /* threshold 0.5: voxel 0 none above -> 0; 1: c0 0.60 > c1 0.55 -> 1; 2: 0.5 is not above 0.5 -> 0;
     * 3: c1 0.95 -> 2; 4: tie c0 = c1 0.70 -> the lower, 1; 5: NaN never exceeds, c1 0.80 -> 2;
     * 6: c0 0.51 and c2 0.52 -> 3; 7: none -> 0 */
    const int want_threshold[N] = {0, 1, 0, 2, 1, 2, 3, 0};
    /* regions (nnU-Net regions_class_order [1, 2, 3] after the dataset's regions, later channels win):
     * 0: 0; 1: c0, c1 -> 2; 2: 0; 3: c0, c1 -> 2; 4: c0, c1, c2 -> 3; 5: c1 -> 2; 6: c0, c2 -> 3; 7: 0 */
    const int32_t regions[C] = {1, 2, 3};
    const int want_regions[N] = {0, 2, 0, 2, 3, 2, 3, 0};
    /* a lower threshold, 0.45: voxel 1 c2 0.40 stays out; voxel 6 c1 0.49 joins but c2 0.52 is largest */
    const int want_threshold_045[N] = {0, 1, 1, 2, 1, 2, 3, 0};
    uint8_t l8[N];
    uint16_t l16[N];
    vxt_volume vv = {(void *)v, VXT_DTYPE_F32, C, {2, 2, 2}}, lv = {l8, VXT_DTYPE_U8, 1, {2, 2, 2}};
    vxt_volume lw = {l16, VXT_DTYPE_U16, 1, {2, 2, 2}};
    memset(l8, 0xAB, sizeof l8);
    assert_ok(vxt_labels(ctx, &vv, VXT_LABELS_THRESHOLD, 0.5, NULL, &lv));
    for (int i = 0; i < N; i++)
        assert_int_equal(l8[i], want_threshold[i]);
    memset(l16, 0xAB, sizeof l16);
    assert_ok(vxt_labels(ctx, &vv, VXT_LABELS_THRESHOLD, 0.45, NULL, &lw));
    for (int i = 0; i < N; i++)
        assert_int_equal(l16[i], want_threshold_045[i]);
    memset(l8, 0xAB, sizeof l8);
    assert_ok(vxt_labels(ctx, &vv, VXT_LABELS_REGIONS, 0.5, regions, &lv));
    for (int i = 0; i < N; i++)
        assert_int_equal(l8[i], want_regions[i]);
    /* one sigmoid channel: a 0/1 mask (argmax over one channel would label everything 0) */
    vxt_volume one = {(void *)v, VXT_DTYPE_F32, 1, {2, 2, 2}};
    const int mask[N] = {0, 1, 0, 1, 1, 0, 1, 0};
    assert_ok(vxt_labels(ctx, &one, VXT_LABELS_THRESHOLD, 0.5, NULL, &lv));
    for (int i = 0; i < N; i++)
        assert_int_equal(l8[i], mask[i]);
    assert_ok(vxt_labels(ctx, &one, VXT_LABELS_ARGMAX, 0.5, NULL, &lv));
    for (int i = 0; i < N; i++)
        assert_int_equal(l8[i], 0);
    vxt_context_destroy(ctx);
}

/* Argmax: ties go to the lowest channel, a NaN never wins, all NaN gives 0 (uint8 and uint16 agree). */
static void test_argmax_ties_and_nan(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 3);
    enum { C = 5, N = 7 * 11 * 13 };
    float *v = malloc(C * N * sizeof(float));
    vxt_rng r = {5};
    for (int i = 0; i < C * N; i++)
        v[i] = (float)(vxt_rng_u32(&r) % 7); /* many ties */
    v[3] = NAN;                                /* channel 0, voxel 3: the largest number wins */
    v[2 * N + 4] = NAN;                        /* channel 2, voxel 4 */
    for (int c = 0; c < C; c++)                /* voxel 5: all NaN, label 0 */
        v[c * N + 5] = NAN;
    v[6] = v[N + 6] = NAN;                     /* voxel 6: channels 0 and 1 */
    v[2 * N + 6] = 1.0f, v[3 * N + 6] = 6.0f, v[4 * N + 6] = 6.0f; /* ties to the lowest: 3 */
    uint8_t l8[N];
    uint16_t l16[N];
    vxt_volume vv = {v, VXT_DTYPE_F32, C, {7, 11, 13}}, lv = {l8, VXT_DTYPE_U8, 1, {7, 11, 13}};
    assert_ok(vxt_labels(ctx, &vv, VXT_LABELS_ARGMAX, 0.5, NULL, &lv));
    lv.data = l16;
    lv.dtype = VXT_DTYPE_U16;
    assert_ok(vxt_labels(ctx, &vv, VXT_LABELS_ARGMAX, 0.5, NULL, &lv));
    for (int i = 0; i < N; i++) {
        int best = ref_label(v + i, N, C, VXT_LABELS_ARGMAX, 0.5, NULL);
        assert_int_equal(l8[i], best);
        assert_int_equal(l16[i], best);
    }
    assert_int_equal(l8[6], 3);
    assert_int_equal(l8[5], 0);
    free(v);
    vxt_context_destroy(ctx);
}

/* Random values (activated: in [0, 1], some exactly at the threshold) against the double reference, every rule. */
static void test_reference_random(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    enum { C = 6, N = 9 * 10 * 11 };
    float *v = malloc(C * N * sizeof(float));
    uint16_t *l = malloc(N * sizeof(uint16_t));
    vxt_rng r = {77};
    for (int i = 0; i < C * N; i++)
        v[i] = vxt_rng_u32(&r) % 9 == 0 ? 0.375f : vxt_rng_uniform(&r, 0.0f, 1.0f);
    const int32_t regions[C] = {7, 3, 300, 1, 0, 9};
    const vxt_label_rule rules[3] = {VXT_LABELS_ARGMAX, VXT_LABELS_THRESHOLD, VXT_LABELS_REGIONS};
    const double thresholds[3] = {0.5, 0.375, 0.1};
    vxt_volume vv = {v, VXT_DTYPE_F32, C, {9, 10, 11}}, lv = {l, VXT_DTYPE_U16, 1, {9, 10, 11}};
    for (int k = 0; k < 3; k++)
        for (int t = 0; t < 3; t++) {
            vxt_poison(l, N * sizeof(uint16_t));
            assert_ok(vxt_labels(ctx, &vv, rules[k], thresholds[t], rules[k] == VXT_LABELS_REGIONS ? regions : NULL,
                                 &lv));
            for (int i = 0; i < N; i++)
                assert_int_equal(l[i], ref_label(v + i, N, C, rules[k], thresholds[t], regions));
        }
    free(v);
    free(l);
    vxt_context_destroy(ctx);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 1);
    float v[3 * 8];
    for (int i = 0; i < 24; i++)
        v[i] = (float)i / 24.0f;
    uint8_t l[8];
    vxt_volume vv = {v, VXT_DTYPE_F32, 3, {2, 2, 2}}, lv = {l, VXT_DTYPE_U8, 1, {2, 2, 2}};
    const int32_t big[3] = {1, 256, 2}, neg[3] = {1, -1, 2};
    assert_status_msg(vxt_labels(NULL, &vv, VXT_LABELS_ARGMAX, 0.5, NULL, &lv), VXT_ERR_NULL, "ctx");
    assert_status_msg(vxt_labels(ctx, NULL, VXT_LABELS_ARGMAX, 0.5, NULL, &lv), VXT_ERR_NULL, "values");
    assert_status_msg(vxt_labels(ctx, &vv, VXT_LABELS_ARGMAX, 0.5, NULL, NULL), VXT_ERR_NULL, "labels");
    assert_status_msg(vxt_labels(ctx, &vv, (vxt_label_rule)3, 0.5, NULL, &lv), VXT_ERR_INVALID_ARGUMENT,
                      "unknown label rule 3");
    assert_status_msg(vxt_labels(ctx, &vv, VXT_LABELS_THRESHOLD, NAN, NULL, &lv), VXT_ERR_INVALID_ARGUMENT,
                      "finite");
    assert_status_msg(vxt_labels(ctx, &vv, VXT_LABELS_THRESHOLD, 1e300, NULL, &lv), VXT_ERR_INVALID_ARGUMENT,
                      "finite float32");
    assert_status_msg(vxt_labels(ctx, &vv, VXT_LABELS_REGIONS, 0.5, NULL, &lv), VXT_ERR_NULL, "region_labels");
    assert_status_msg(vxt_labels(ctx, &vv, VXT_LABELS_REGIONS, 0.5, big, &lv), VXT_ERR_INVALID_ARGUMENT,
                      "region_labels[1] = 256 does not fit uint8");
    assert_status_msg(vxt_labels(ctx, &vv, VXT_LABELS_REGIONS, 0.5, neg, &lv), VXT_ERR_INVALID_ARGUMENT,
                      "region_labels[1] = -1");
    lv.shape[0] = 3;
    assert_status_msg(vxt_labels(ctx, &vv, VXT_LABELS_ARGMAX, 0.5, NULL, &lv), VXT_ERR_SHAPE_MISMATCH, "1 x 2x2x2");
    lv.shape[0] = 2;
    lv.channels = 2;
    assert_status_msg(vxt_labels(ctx, &vv, VXT_LABELS_ARGMAX, 0.5, NULL, &lv), VXT_ERR_SHAPE_MISMATCH, "1 x 2x2x2");
    lv.channels = 1;
    lv.dtype = VXT_DTYPE_F32;
    assert_status_msg(vxt_labels(ctx, &vv, VXT_LABELS_ARGMAX, 0.5, NULL, &lv), VXT_ERR_INVALID_ARGUMENT,
                      "uint8 or uint16");
    lv.dtype = VXT_DTYPE_U8;
    vv.dtype = VXT_DTYPE_F16;
    assert_status_msg(vxt_labels(ctx, &vv, VXT_LABELS_ARGMAX, 0.5, NULL, &lv), VXT_ERR_INVALID_ARGUMENT, "float32");
    vv.dtype = VXT_DTYPE_F32;
    /* 256 channels: threshold labels reach 256, which uint8 cannot hold; argmax (0..255) fits */
    float *many = malloc(256 * 8 * sizeof(float));
    for (int i = 0; i < 256 * 8; i++)
        many[i] = (float)((i * 37) % 101) / 101.0f;
    vxt_volume mv = {many, VXT_DTYPE_F32, 256, {2, 2, 2}};
    assert_ok(vxt_labels(ctx, &mv, VXT_LABELS_ARGMAX, 0.5, NULL, &lv));
    assert_status_msg(vxt_labels(ctx, &mv, VXT_LABELS_THRESHOLD, 0.5, NULL, &lv), VXT_ERR_INVALID_ARGUMENT,
                      "use uint16");
    free(many);
    /* overflowing shapes */
    vxt_volume huge = {v, VXT_DTYPE_F32, 3, {INT64_MAX / 4, 4, 4}}, hl = {l, VXT_DTYPE_U8, 1, {INT64_MAX / 4, 4, 4}};
    assert_status_msg(vxt_labels(ctx, &huge, VXT_LABELS_ARGMAX, 0.5, NULL, &hl), VXT_ERR_OVERFLOW, "overflow");
    vxt_context_destroy(ctx);
}

/* Every rule, both label types, on the device and on the CPU: the same labels, with outputs poisoned first; once
 * on whole volumes, once with the device staging the values chunk by chunk. */
static void test_opencl_matches_cpu(void **state)
{
    (void)state;
    vxt_context *cpu = vxt_test_context(VXT_BACKEND_CPU, 3);
    vxt_context *cl = vxt_test_context(VXT_BACKEND_OPENCL, 0);
    enum { C = 4, N = 13 * 17 * 19 };
    float *v = malloc(C * N * sizeof(float));
    uint16_t *a = malloc(N * sizeof(uint16_t)), *b = malloc(N * sizeof(uint16_t));
    vxt_rng r = {2024};
    for (int i = 0; i < C * N; i++)
        v[i] = vxt_rng_u32(&r) % 11 == 0 ? 0.5f : vxt_rng_uniform(&r, -0.25f, 1.25f);
    for (int i = 0; i < N; i += 97)
        v[(i % C) * N + i] = NAN;
    const int32_t regions[C] = {2, 1, 4, 3};
    const vxt_label_rule rules[3] = {VXT_LABELS_ARGMAX, VXT_LABELS_THRESHOLD, VXT_LABELS_REGIONS};
    const vxt_dtype types[2] = {VXT_DTYPE_U8, VXT_DTYPE_U16};
    for (int staged = 0; staged < 2; staged++) {
        cl->pp_chunk_bytes = staged ? 1000 * (C * sizeof(float) + 2) + 7 : 0; /* chunks of about 1000 voxels */
        for (int k = 0; k < 3; k++)
            for (int d = 0; d < 2; d++) {
                vxt_volume vv = {v, VXT_DTYPE_F32, C, {13, 17, 19}};
                vxt_volume la = {a, types[d], 1, {13, 17, 19}}, lb = {b, types[d], 1, {13, 17, 19}};
                vxt_poison(a, N * sizeof(uint16_t));
                vxt_poison(b, N * sizeof(uint16_t));
                const int32_t *rl = rules[k] == VXT_LABELS_REGIONS ? regions : NULL;
                assert_ok(vxt_labels(cpu, &vv, rules[k], 0.5, rl, &la));
                assert_ok(vxt_labels(cl, &vv, rules[k], 0.5, rl, &lb));
                size_t bytes = (size_t)N * vxt_dtype_size(types[d]);
                if (memcmp(a, b, bytes) != 0)
                    fail_msg("rule %s, %s labels, staged %d: the backends differ", vxt_label_rule_name(rules[k]),
                             vxt_dtype_name(types[d]), staged);
                for (int i = 0; i < N; i++) /* and both are right */
                    assert_int_equal(label_at(&la, (size_t)i), ref_label(v + i, N, C, rules[k], 0.5, regions));
            }
    }
    free(v);
    free(a);
    free(b);
    vxt_context_destroy(cl);
    vxt_context_destroy(cpu);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_threshold_hand_computed),
        cmocka_unit_test(test_argmax_ties_and_nan),
        cmocka_unit_test(test_reference_random),
        cmocka_unit_test(test_bad_arguments),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_opencl_matches_cpu),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
