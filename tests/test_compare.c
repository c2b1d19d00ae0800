/* test_compare.c - the comparison behind `voxtile validate` (tools/voxtile/compare.c): ULP distances, what
 * counts as a difference, tolerances, multi-channel voxel counts, label Dice and swaps. The end-to-end tests
 * (test_cli_validate.c) can only produce differences that the pipeline makes; here every case is built by
 * hand, including the ones a correct pipeline never produces (NaN against a number, -0 against +0). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "vxt_test.h"

static float bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void test_ulp_distance(void **state)
{
    (void)state;
    assert_int_equal(cmp_ulp_distance(1.0f, 1.0f), 0);
    assert_int_equal(cmp_ulp_distance(1.0f, nextafterf(1.0f, 2.0f)), 1);
    assert_int_equal(cmp_ulp_distance(nextafterf(1.0f, 0.0f), nextafterf(1.0f, 2.0f)), 2);
    assert_int_equal(cmp_ulp_distance(0.0f, -0.0f), 0);
    /* across zero: the smallest subnormals on both sides are 2 apart */
    assert_int_equal(cmp_ulp_distance(bits(0x00000001u), bits(0x80000001u)), 2);
    assert_int_equal(cmp_ulp_distance(-1.0f, 1.0f), 2ull * 0x3f800000u);
    assert_int_equal(cmp_ulp_distance(INFINITY, bits(0x7f7fffffu)), 1); /* FLT_MAX to infinity */
    assert_int_equal(cmp_ulp_distance(2.0f, 1.0f), 1u << 23);          /* one binade */
}

static vxt_volume fvol(float *d, int64_t c, int64_t z, int64_t y, int64_t x)
{
    vxt_volume v = {d, VXT_DTYPE_F32, c, {z, y, x}};
    return v;
}

static void test_identical_and_first_difference(void **state)
{
    (void)state;
    enum { N = 40000 }; /* more than one 16384-element block: the fast path and the per-element path */
    float *a = malloc(N * sizeof(float)), *b = malloc(N * sizeof(float));
    vxt_rng r = {7};
    for (int i = 0; i < N; i++)
        a[i] = b[i] = vxt_rng_uniform(&r, -100.0f, 100.0f);
    vxt_volume va = fvol(a, 1, 4, 100, 100), vb = fvol(b, 1, 4, 100, 100);
    cmp_result res;
    char why[256];
    assert_int_equal(cmp_volumes(&va, &vb, NULL, NULL, &res, why, sizeof why), 0);
    assert_int_equal(res.values, N);
    assert_int_equal(res.voxels, N);
    assert_int_equal(res.differing_values, 0);
    assert_int_equal(res.first, -1);
    assert_int_equal(res.within, 1);
    /* one ulp at element 30001, three ulps at 17000: both found, the first one reported, max 3 */
    b[30001] = nextafterf(a[30001], INFINITY);
    b[17000] = nextafterf(nextafterf(nextafterf(a[17000], -INFINITY), -INFINITY), -INFINITY);
    unsigned char *mask = calloc(N, 1);
    assert_int_equal(cmp_volumes(&va, &vb, NULL, mask, &res, why, sizeof why), 0);
    assert_int_equal(res.differing_values, 2);
    assert_int_equal(res.differing_voxels, 2);
    assert_int_equal(res.beyond, 2); /* no tolerance given: every difference is beyond it */
    assert_int_equal(res.max_ulp, 3);
    assert_true(res.max_abs > 0 && res.max_abs == fabs((double)a[17000] - (double)b[17000]));
    assert_int_equal(res.first, 17000);
    assert_true(res.first_a == a[17000] && res.first_b == b[17000]);
    assert_int_equal(res.within, 0);
    int set = 0;
    for (int i = 0; i < N; i++)
        set += mask[i];
    assert_int_equal(set, 2);
    assert_true(mask[17000] && mask[30001]);
    free(mask);
    free(a);
    free(b);
}

static void test_tolerances(void **state)
{
    (void)state;
    float a[4] = {1.0f, 1000.0f, 1e-30f, 5.0f}, b[4];
    memcpy(b, a, sizeof a);
    b[0] = nextafterf(1.0f, 2.0f);                                   /* 1 ulp, 1.2e-7 */
    b[1] = nextafterf(nextafterf(1000.0f, 2000.0f), 2000.0f);        /* 2 ulps, 1.2e-4 */
    b[2] = -1e-30f;                                                  /* ~2e9 ulps, 2e-30 */
    vxt_volume va = fvol(a, 1, 1, 1, 4), vb = fvol(b, 1, 1, 1, 4);
    cmp_result res;
    char why[256];
    cmp_tolerance t;
    memset(&t, 0, sizeof t);
    t.have_ulp = 1;
    t.max_ulp = 2; /* passes the first two only */
    assert_int_equal(cmp_volumes(&va, &vb, &t, NULL, &res, why, sizeof why), 0);
    assert_int_equal(res.differing_values, 3);
    assert_int_equal(res.beyond, 1);
    assert_int_equal(res.within, 0);
    t.have_abs = 1;
    t.max_abs = 1e-20; /* either suffices: the tiny value passes by its absolute difference */
    assert_int_equal(cmp_volumes(&va, &vb, &t, NULL, &res, why, sizeof why), 0);
    assert_int_equal(res.beyond, 0);
    assert_int_equal(res.within, 1);
    t.have_ulp = 0; /* absolute only: 1.2e-4 is beyond 1e-20 */
    assert_int_equal(cmp_volumes(&va, &vb, &t, NULL, &res, why, sizeof why), 0);
    assert_int_equal(res.beyond, 2);
    t.max_abs = 1e-3;
    assert_int_equal(cmp_volumes(&va, &vb, &t, NULL, &res, why, sizeof why), 0);
    assert_int_equal(res.within, 1);
    /* differing bits within the tolerance still count as differing */
    assert_int_equal(res.differing_values, 3);
}

static void test_zero_sign_nan_inf(void **state)
{
    (void)state;
    float a[5] = {0.0f, NAN, 1.0f, INFINITY, 2.0f}, b[5] = {-0.0f, bits(0x7fc00001u), NAN, -INFINITY, 2.0f};
    vxt_volume va = fvol(a, 1, 1, 1, 5), vb = fvol(b, 1, 1, 1, 5);
    cmp_result res;
    char why[256];
    cmp_tolerance t;
    memset(&t, 0, sizeof t);
    t.have_ulp = 1;
    t.max_ulp = 1000;
    t.have_abs = 1;
    t.max_abs = 1e30;
    assert_int_equal(cmp_volumes(&va, &vb, &t, NULL, &res, why, sizeof why), 0);
    /* +0/-0 and the two NaN payloads differ in bits; NaN against 1 and +inf against -inf are beyond any tolerance */
    assert_int_equal(res.differing_values, 4);
    assert_int_equal(res.nan_mismatch, 1);
    assert_int_equal(res.beyond, 2);
    assert_true(isinf(res.max_abs));
    assert_true(res.max_ulp == UINT64_MAX);
    assert_int_equal(res.first, 0);
    assert_int_equal(res.within, 0);
}

static void test_channels_count_voxels_once(void **state)
{
    (void)state;
    /* 3 channels of 2x2x2: voxel 5 differs in channels 0 and 2, voxel 6 in channel 1 */
    float a[24], b[24];
    for (int i = 0; i < 24; i++)
        a[i] = b[i] = (float)i * 0.25f;
    b[0 * 8 + 5] += 1.0f;
    b[2 * 8 + 5] -= 1.0f;
    b[1 * 8 + 6] += 0.5f;
    vxt_volume va = fvol(a, 3, 2, 2, 2), vb = fvol(b, 3, 2, 2, 2);
    cmp_result res;
    char why[256];
    unsigned char mask[8] = {0};
    assert_int_equal(cmp_volumes(&va, &vb, NULL, mask, &res, why, sizeof why), 0);
    assert_int_equal(res.values, 24);
    assert_int_equal(res.voxels, 8);
    assert_int_equal(res.differing_values, 3);
    assert_int_equal(res.differing_voxels, 2);
    assert_true(mask[5] && mask[6] && !mask[0] && !mask[7]);
    assert_int_equal(res.first, 5);
    /* a mask is merged into, not cleared: stages on one grid accumulate */
    unsigned char m2[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(cmp_volumes(&va, &vb, NULL, m2, &res, why, sizeof why), 0);
    assert_true(m2[0] && m2[5] && m2[6]);
}

static void test_layouts_refused(void **state)
{
    (void)state;
    float a[8] = {0}, b[8] = {0};
    double d[8] = {0};
    vxt_volume va = fvol(a, 1, 2, 2, 2), vb = fvol(b, 1, 1, 2, 4);
    cmp_result res;
    char why[256];
    assert_int_equal(cmp_volumes(&va, &vb, NULL, NULL, &res, why, sizeof why), -1);
    assert_non_null(strstr(why, "a is 1x2x2x2 float32, b is 1x1x2x4 float32"));
    vxt_volume vd = {d, VXT_DTYPE_F64, 1, {2, 2, 2}};
    assert_int_equal(cmp_volumes(&vd, &vd, NULL, NULL, &res, why, sizeof why), -1);
    assert_non_null(strstr(why, "cannot compare float64"));
    vxt_volume vn = va;
    vn.data = NULL;
    assert_int_equal(cmp_volumes(&va, &vn, NULL, NULL, &res, why, sizeof why), -1);
}

static void test_integer_volumes(void **state)
{
    (void)state;
    uint16_t a[6] = {0, 1, 2, 3, 65535, 7}, b[6] = {0, 1, 5, 3, 0, 7};
    vxt_volume va = {a, VXT_DTYPE_U16, 1, {1, 2, 3}}, vb = {b, VXT_DTYPE_U16, 1, {1, 2, 3}};
    cmp_result res;
    char why[256];
    cmp_tolerance t;
    memset(&t, 0, sizeof t);
    t.have_ulp = 1;
    t.max_ulp = 1000000; /* float tolerances do not apply to label maps */
    assert_int_equal(cmp_volumes(&va, &vb, &t, NULL, &res, why, sizeof why), 0);
    assert_int_equal(res.differing_values, 2);
    assert_int_equal(res.max_abs, 65535.0);
    assert_int_equal(res.max_ulp, 65535);
    assert_int_equal(res.within, 0);
    t.max_label_voxels = 2;
    assert_int_equal(cmp_volumes(&va, &vb, &t, NULL, &res, why, sizeof why), 0);
    assert_int_equal(res.within, 1);
    t.max_label_voxels = 1;
    assert_int_equal(cmp_volumes(&va, &vb, &t, NULL, &res, why, sizeof why), 0);
    assert_int_equal(res.within, 0);
    int16_t c[2] = {-32768, 32767}, d2[2] = {32767, -32768};
    vxt_volume vc = {c, VXT_DTYPE_I16, 1, {1, 1, 2}}, vd = {d2, VXT_DTYPE_I16, 1, {1, 1, 2}};
    assert_int_equal(cmp_volumes(&vc, &vd, NULL, NULL, &res, why, sizeof why), 0);
    assert_int_equal(res.max_abs, 65535.0);
}

static void test_dice_and_swaps(void **state)
{
    (void)state;
    /* a: 0 0 1 1 1 2 2 5 ; b: 0 1 1 1 2 2 2 5 */
    uint8_t a[8] = {0, 0, 1, 1, 1, 2, 2, 5}, b[8] = {0, 1, 1, 1, 2, 2, 2, 5};
    vxt_volume va = {a, VXT_DTYPE_U8, 1, {1, 1, 8}}, vb = {b, VXT_DTYPE_U8, 1, {1, 1, 8}};
    cmp_labels l;
    char why[256];
    assert_int_equal(cmp_label_maps(&va, &vb, &l, why, sizeof why), 0);
    assert_int_equal(l.differing, 2);
    assert_int_equal(l.nlabels, 4); /* 0, 1, 2, 5: only labels present */
    assert_int_equal(l.label[0].label, 0);
    assert_int_equal(l.label[0].a, 2);
    assert_int_equal(l.label[0].b, 1);
    assert_int_equal(l.label[0].both, 1);
    assert_true(fabs(l.label[0].dice - 2.0 / 3.0) < 1e-15);
    assert_true(fabs(l.label[1].dice - 4.0 / 6.0) < 1e-15); /* label 1: a 3, b 3, both 2 */
    assert_true(fabs(l.label[2].dice - 4.0 / 5.0) < 1e-15); /* label 2: a 2, b 3, both 2 */
    assert_int_equal(l.label[3].label, 5);
    assert_true(l.label[3].dice == 1.0);
    assert_int_equal(l.nswaps, 2);
    assert_int_equal(l.swap[0].voxels, 1);
    /* ties in count are ordered by label: (0 -> 1) before (1 -> 2) */
    assert_int_equal(l.swap[0].a, 0);
    assert_int_equal(l.swap[0].b, 1);
    assert_int_equal(l.swap[1].a, 1);
    assert_int_equal(l.swap[1].b, 2);
    cmp_labels_free(&l);
    /* uint16 with many distinct swaps: the pair table grows */
    enum { N = 5000 };
    uint16_t *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    for (int i = 0; i < N; i++) {
        x[i] = (uint16_t)(i % 1000);
        y[i] = (uint16_t)(i % 7 == 0 ? 60000 + i % 1000 : i % 1000);
    }
    vxt_volume vx = {x, VXT_DTYPE_U16, 1, {1, 1, N}}, vy = {y, VXT_DTYPE_U16, 1, {1, 1, N}};
    assert_int_equal(cmp_label_maps(&vx, &vy, &l, why, sizeof why), 0);
    uint64_t total = 0;
    for (size_t i = 0; i < l.nswaps; i++)
        total += l.swap[i].voxels;
    assert_int_equal(total, l.differing);
    assert_int_equal(l.differing, (N + 6) / 7);
    assert_int_equal(l.nswaps, 715); /* 7k mod 1000 are distinct for k < 1000: every differing voxel its own pair */
    for (size_t i = 1; i < l.nswaps; i++)
        assert_true(l.swap[i - 1].voxels >= l.swap[i].voxels);
    cmp_labels_free(&l);
    free(x);
    free(y);
    /* not label maps */
    float f[2] = {0, 1};
    vxt_volume vf = {f, VXT_DTYPE_F32, 1, {1, 1, 2}};
    assert_int_equal(cmp_label_maps(&vf, &vf, &l, why, sizeof why), -1);
    assert_non_null(strstr(why, "uint8 or uint16"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_ulp_distance),
        cmocka_unit_test(test_identical_and_first_difference),
        cmocka_unit_test(test_tolerances),
        cmocka_unit_test(test_zero_sign_nan_inf),
        cmocka_unit_test(test_channels_count_voxels_once),
        cmocka_unit_test(test_layouts_refused),
        cmocka_unit_test(test_integer_volumes),
        cmocka_unit_test(test_dice_and_swaps),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
