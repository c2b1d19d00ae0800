/* test_cli_stitch.c - `voxtile stitch TILES.npy --shape Z,Y,X --roi Z,Y,X (-o LABELS | --probabilities VALUES)`:
 * MONAI's and nnU-Net's stitching reproduced bit for bit (tests/data/cli: tiles and results of the tools
 * themselves); random tiles (float32 and float16, 2D and 3D, padded volumes, every grid) against a reference
 * computed here (constant weights, float64 arithmetic: the plain average of the tiles covering each voxel, in
 * tiling order); the plan's defaults (overlap 0.5, softmax); the activations and every label rule against the
 * values of the same run; NIfTI outputs read back as NIfTI with --like's geometry (or an identity geometry);
 * bad tiles, arguments and outputs: one line, a distinct exit status, nothing left behind. The OpenCL group
 * checks that the device writes the CPU's bytes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_test_util.h"

#define DATA VXT_TEST_DATA_DIR "/cli"
#define MONAI_PLAN "--shape 9,20,17 --roi 6,12,10"

/* ---- helpers ----------------------------------------------------------------------------------------------- */

/* Compare a float32 .npy with a reference .npy bit for bit. */
static void assert_same_values(const char *got_path, const char *ref_path)
{
    vxt_npy_info gi, ri;
    float *g = cli_load_npy(got_path, &gi), *r = cli_load_npy(ref_path, &ri);
    assert_int_equal(gi.dtype, VXT_DTYPE_F32);
    assert_int_equal(ri.dtype, VXT_DTYPE_F32);
    assert_int_equal(gi.ndim, ri.ndim);
    assert_memory_equal(gi.shape, ri.shape, (size_t)ri.ndim * sizeof ri.shape[0]);
    for (uint64_t i = 0; i < ri.count; i++)
        if (memcmp(&g[i], &r[i], 4) != 0)
            fail_msg("%s: element %llu is %.9g, reference %.9g", got_path, (unsigned long long)i, (double)g[i],
                     (double)r[i]);
    free(g);
    free(r);
}

/* IEEE half of a float that is exactly representable as a normal half (or zero). */
static uint16_t half_of(float x)
{
    uint32_t b;
    memcpy(&b, &x, 4);
    uint16_t sign = (uint16_t)((b >> 16) & 0x8000u);
    if ((b & 0x7fffffffu) == 0)
        return sign;
    int e = (int)((b >> 23) & 0xff) - 127;
    assert_true(e >= -14 && e <= 15 && (b & 0x1fffu) == 0);
    return (uint16_t)(sign | (uint16_t)((e + 15) << 10) | (uint16_t)((b >> 13) & 0x3ffu));
}

/* One stitching case: a volume, its tiling flags and the tiles (N, C, *ROI) in tiling order. */
typedef struct tcase {
    int dims; /* 2 or 3 */
    int64_t shape[3], roi[3], C, N, pad_lo[3];
    int64_t (*starts)[3]; /* N tile starts, padded coordinates, (z, y, x) with z = 0 in 2D */
    char flags[256];      /* --shape --roi and the grid's flags */
    float *tiles;
} tcase;

static void tcase_free(tcase *t)
{
    free(t->starts);
    free(t->tiles);
}

static void zyx_text(char *buf, size_t n, const int64_t *v, int dims)
{
    if (dims == 2)
        snprintf(buf, n, "%lld,%lld", (long long)v[1], (long long)v[2]);
    else
        snprintf(buf, n, "%lld,%lld,%lld", (long long)v[0], (long long)v[1], (long long)v[2]);
}

/* The tiling from `voxtile tiles` (checked against MONAI's, nnU-Net's and TorchIO's formulas by
 * test_cli_tiles), random tile values: multiples of 1/64 in [-8, 8) (exact in float16 too). */
static void tcase_make(tcase *t, vxt_rng *rng, int dims, const char *grid_flags)
{
    memset(t, 0, sizeof *t);
    t->dims = dims;
    t->shape[0] = t->roi[0] = 1;
    for (int a = 3 - dims; a < 3; a++) {
        t->shape[a] = (a == 0 ? 2 : 5) + vxt_rng_u32(rng) % (a == 0 ? 10 : 22);
        t->roi[a] = 3 + vxt_rng_u32(rng) % 9;
    }
    t->C = 1 + vxt_rng_u32(rng) % 3;
    char s[64], r[64];
    zyx_text(s, sizeof s, t->shape, dims);
    zyx_text(r, sizeof r, t->roi, dims);
    snprintf(t->flags, sizeof t->flags, "--shape %s --roi %s %s", s, r, grid_flags);
    int rc = cli("tiles %s", t->flags);
    if (rc)
        fail_msg("tiles %s: exit %d: %s", t->flags, rc, cli_err);
    cJSON *j = cli_out_json();
    t->N = (int64_t)cli_json_number(j, "tile_count");
    assert_true(cJSON_IsTrue(cli_json(j, "tiles_complete")));
    const cJSON *lo = cli_json(j, "pad_lo"), *tiles = cli_json(j, "tiles");
    for (int a = 3 - dims; a < 3; a++)
        t->pad_lo[a] = (int64_t)cJSON_GetArrayItem(lo, a - (3 - dims))->valuedouble;
    t->starts = calloc((size_t)t->N, sizeof *t->starts);
    assert_non_null(t->starts);
    for (int64_t i = 0; i < t->N; i++)
        for (int a = 3 - dims; a < 3; a++)
            t->starts[i][a] =
                (int64_t)cJSON_GetArrayItem(cJSON_GetArrayItem(tiles, (int)i), a - (3 - dims))->valuedouble;
    cJSON_Delete(j);
    const size_t n = (size_t)(t->N * t->C * t->roi[0] * t->roi[1] * t->roi[2]);
    t->tiles = malloc(n * sizeof(float));
    assert_non_null(t->tiles);
    for (size_t i = 0; i < n; i++)
        t->tiles[i] = (float)((int)(vxt_rng_u32(rng) % 1024) - 512) / 64.0f;
}

static void tcase_write(const tcase *t, const char *name, vxt_dtype dtype)
{
    int64_t shape[5] = {t->N, t->C, t->roi[0], t->roi[1], t->roi[2]};
    const size_t n = (size_t)(t->N * t->C * t->roi[0] * t->roi[1] * t->roi[2]);
    if (t->dims == 2) {
        shape[2] = t->roi[1];
        shape[3] = t->roi[2];
    }
    if (dtype == VXT_DTYPE_F32) {
        assert_ok(vxt_npy_write(cli_path(name), dtype, 2 + t->dims, shape, t->tiles));
        return;
    }
    uint16_t *h = malloc(n * sizeof *h);
    assert_non_null(h);
    for (size_t i = 0; i < n; i++)
        h[i] = half_of(t->tiles[i]);
    assert_ok(vxt_npy_write(cli_path(name), VXT_DTYPE_F16, 2 + t->dims, shape, h));
    free(h);
}

/* The reference: every output voxel the average, in double, of the tiles covering it in tiling order (constant
 * weights, float64 arithmetic), rounded to float32 at the end. (C, *shape). */
static float *tcase_average(const tcase *t)
{
    const int64_t vox = t->shape[0] * t->shape[1] * t->shape[2];
    double *sum = calloc((size_t)(vox * t->C), sizeof *sum), *cnt = calloc((size_t)vox, sizeof *cnt);
    float *out = malloc((size_t)(vox * t->C) * sizeof *out);
    assert_true(sum && cnt && out);
    const int64_t tv = t->roi[0] * t->roi[1] * t->roi[2];
    for (int64_t i = 0; i < t->N; i++)
        for (int64_t z = 0; z < t->roi[0]; z++)
            for (int64_t y = 0; y < t->roi[1]; y++)
                for (int64_t x = 0; x < t->roi[2]; x++) {
                    int64_t p[3] = {t->starts[i][0] + z - t->pad_lo[0], t->starts[i][1] + y - t->pad_lo[1],
                                    t->starts[i][2] + x - t->pad_lo[2]};
                    if (p[0] < 0 || p[1] < 0 || p[2] < 0 || p[0] >= t->shape[0] || p[1] >= t->shape[1] ||
                        p[2] >= t->shape[2])
                        continue; /* padding, cropped away */
                    const int64_t v = (p[0] * t->shape[1] + p[1]) * t->shape[2] + p[2],
                                  at = (z * t->roi[1] + y) * t->roi[2] + x;
                    cnt[v] += 1.0;
                    for (int64_t c = 0; c < t->C; c++)
                        sum[c * vox + v] += (double)t->tiles[(i * t->C + c) * tv + at];
                }
    for (int64_t v = 0; v < vox; v++) {
        assert_true(cnt[v] > 0); /* every voxel is covered */
        for (int64_t c = 0; c < t->C; c++)
            out[c * vox + v] = (float)(sum[c * vox + v] / cnt[v]);
    }
    free(sum);
    free(cnt);
    return out;
}

/* ---- MONAI and nnU-Net ---------------------------------------------------------------------------------------- */

/* Raw values (--activation none) of both tools' stitching, bit for bit; the JSON summary. */
static void matches_monai_and_nnunet(const char *backend)
{
    int rc = cli("stitch " DATA "/monai_tiles.npy --probabilities %s " MONAI_PLAN " --activation none --backend %s "
                 "--json",
                 cli_path("m.npy"), backend);
    if (rc)
        fail_msg("exit %d: %s", rc, cli_err);
    cJSON *j = cli_out_json();
    assert_string_equal(cli_json_string(j, "backend"), backend);
    assert_int_equal((int)cli_json_number(j, "tiles"), 18);
    assert_int_equal((int)cli_json_number(j, "channels"), 2);
    assert_string_equal(cli_json_string(j, "probabilities"), cli_path("m.npy"));
    assert_null(cJSON_GetObjectItem(j, "output"));
    cJSON_Delete(j);
    assert_same_values(cli_path("m.npy"), DATA "/monai_expected.npy");
    /* the overlap MONAI used is the default: the same bytes when it is given */
    rc = cli("stitch " DATA "/monai_tiles.npy --probabilities %s " MONAI_PLAN " --activation none --overlap 0.5 "
             "--backend %s",
             cli_path("m2.npy"), backend);
    assert_int_equal(rc, 0);
    assert_true(cli_same_file(cli_path("m.npy"), cli_path("m2.npy")));
    rc = cli("stitch " DATA "/nnunet_tiles.npy --probabilities %s " MONAI_PLAN " --grid nnunet --step 0.5 "
             "--importance gaussian-nnunet --accumulate float16 --activation none --backend %s",
             cli_path("n.npy"), backend);
    if (rc)
        fail_msg("exit %d: %s", rc, cli_err);
    assert_same_values(cli_path("n.npy"), DATA "/nnunet_expected.npy");
    /* batches of tiles: the same bytes */
    rc = cli("stitch " DATA "/nnunet_tiles.npy --probabilities %s " MONAI_PLAN " --grid nnunet --step 0.5 "
             "--importance gaussian-nnunet --accumulate float16 --activation none --batch 4 --backend %s",
             cli_path("n4.npy"), backend);
    assert_int_equal(rc, 0);
    assert_true(cli_same_file(cli_path("n.npy"), cli_path("n4.npy")));
}

static void test_monai_and_nnunet_cpu(void **state)
{
    (void)state;
    matches_monai_and_nnunet("cpu");
    /* the labels (-o) are the argmax of those values (softmax does not change the order) */
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s " MONAI_PLAN " --backend cpu", cli_path("l.npy")), 0);
    assert_string_equal(cli_out, ""); /* no summary without --json */
    vxt_npy_info li, vi;
    uint8_t *l = cli_load_npy(cli_path("l.npy"), &li);
    float *v = cli_load_npy(cli_path("m.npy"), &vi);
    assert_int_equal(li.dtype, VXT_DTYPE_U8);
    assert_int_equal(li.ndim, 3);
    static const int64_t shape[3] = {9, 20, 17};
    assert_memory_equal(li.shape, shape, sizeof shape);
    size_t vox = (size_t)li.count, diffs = 0, ones = 0;
    for (size_t i = 0; i < vox; i++) {
        diffs += l[i] != (v[vox + i] > v[i] ? 1 : 0);
        ones += l[i] == 1;
    }
    assert_int_equal(diffs, 0);
    assert_true(ones > 0 && ones < vox);
    free(l);
    free(v);
}

static void test_monai_and_nnunet_opencl(void **state)
{
    (void)state;
    matches_monai_and_nnunet("opencl");
}

/* ---- random tiles against the reference ------------------------------------------------------------------- */

static void random_cases(const char *backend, int count)
{
    static const char *const grids[] = {"--overlap 0.5",        "--overlap 0.25",
                                        "--grid nnunet --step 0.5", "--grid voxels --overlap-voxels 1",
                                        "--overlap 0.7",        "--grid nnunet --step 0.8"};
    vxt_rng rng = {314159};
    for (int k = 0; k < count; k++) {
        tcase t;
        tcase_make(&t, &rng, k % 4 == 3 ? 2 : 3, grids[k % 6]);
        tcase_write(&t, "t32.npy", VXT_DTYPE_F32);
        tcase_write(&t, "t16.npy", VXT_DTYPE_F16);
        float *want = tcase_average(&t);
        const char *ref = "--importance constant --accumulate float64 --activation none";
        int rc = cli("stitch %s --probabilities %s %s %s --backend %s", cli_path("t32.npy"), cli_path("v32.npy"),
                     t.flags, ref, backend);
        if (rc)
            fail_msg("case %d (%s): exit %d: %s", k, t.flags, rc, cli_err);
        rc = cli("stitch %s --probabilities %s %s %s --backend %s", cli_path("t16.npy"), cli_path("v16.npy"), t.flags,
                 ref, backend);
        if (rc)
            fail_msg("case %d (%s), float16 tiles: exit %d: %s", k, t.flags, rc, cli_err);
        vxt_npy_info gi;
        float *got = cli_load_npy(cli_path("v32.npy"), &gi);
        assert_int_equal(gi.dtype, VXT_DTYPE_F32);
        assert_int_equal(gi.ndim, 1 + t.dims);
        assert_int_equal(gi.shape[0], t.C);
        for (int a = 0; a < t.dims; a++)
            assert_int_equal(gi.shape[1 + a], t.shape[3 - t.dims + a]);
        for (uint64_t i = 0; i < gi.count; i++)
            if (memcmp(&got[i], &want[i], 4) != 0)
                fail_msg("case %d (%s): value %llu is %.9g, the average of its tiles is %.9g", k, t.flags,
                         (unsigned long long)i, (double)got[i], (double)want[i]);
        /* float16 tiles holding the same values: the same result */
        if (!cli_same_file(cli_path("v32.npy"), cli_path("v16.npy")))
            fail_msg("case %d (%s): float16 tiles of the same values stitch differently", k, t.flags);
        free(got);
        free(want);
        tcase_free(&t);
    }
}

static void test_random_tiles_against_reference_cpu(void **state)
{
    (void)state;
    random_cases("cpu", 16);
}

/* The device's values, bit for bit the CPU's, with the plan's own (Gaussian, float32) arithmetic too. */
static void test_random_tiles_opencl_writes_the_cpu_bytes(void **state)
{
    (void)state;
    random_cases("opencl", 6);
    vxt_rng rng = {2718};
    for (int k = 0; k < 4; k++) {
        tcase t;
        tcase_make(&t, &rng, 3, k % 2 ? "--grid nnunet" : "");
        tcase_write(&t, "t.npy", VXT_DTYPE_F32);
        const char *more = k % 2 ? "--importance gaussian-nnunet --accumulate float16" : "";
        assert_int_equal(cli("stitch %s -o %s --probabilities %s %s %s --backend opencl", cli_path("t.npy"),
                             cli_path("la.npy"), cli_path("pa.npy"), t.flags, more),
                         0);
        assert_int_equal(cli("stitch %s -o %s --probabilities %s %s %s --backend cpu", cli_path("t.npy"),
                             cli_path("lb.npy"), cli_path("pb.npy"), t.flags, more),
                         0);
        assert_true(cli_same_file(cli_path("la.npy"), cli_path("lb.npy")));
        assert_true(cli_same_file(cli_path("pa.npy"), cli_path("pb.npy")));
        tcase_free(&t);
    }
}

/* ---- defaults, activations, label rules --------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    assert_int_equal(cli("stitch --print-plan"), 0);
    cJSON *j = cli_out_json();
    assert_true(cli_json_number(j, "overlap") == 0.5);
    assert_string_equal(cli_json_string(j, "activation"), "softmax");
    assert_string_equal(cli_json_string(j, "grid"), "monai");
    assert_string_equal(cli_json_string(j, "importance"), "gaussian");
    assert_string_equal(cli_json_string(j, "accumulate"), "float32");
    assert_true(cli_json_number(j, "batch_size") == 1);
    cJSON_Delete(j);
    /* no flags give what the defaults spelled out give */
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s --probabilities %s " MONAI_PLAN " --backend cpu",
                         cli_path("a.npy"), cli_path("pa.npy")),
                     0);
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s --probabilities %s " MONAI_PLAN " --overlap 0.5 "
                         "--activation softmax --grid monai --importance gaussian --accumulate float32 --batch 1 "
                         "--label-rule argmax --label-dtype uint8 --backend cpu",
                         cli_path("b.npy"), cli_path("pb.npy")),
                     0);
    assert_true(cli_same_file(cli_path("a.npy"), cli_path("b.npy")));
    assert_true(cli_same_file(cli_path("pa.npy"), cli_path("pb.npy")));
    /* and not what another overlap or activation gives */
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy --probabilities %s " MONAI_PLAN " --overlap 0.25 "
                         "--backend cpu",
                         cli_path("pc.npy")),
                     4); /* 0.25 makes another tiling: these 18 tiles do not fit it */
    cli_assert_one_line_error("expected (8, C, 6, 12, 10)");
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy --probabilities %s " MONAI_PLAN " --activation none "
                         "--backend cpu",
                         cli_path("pc.npy")),
                     0);
    assert_false(cli_same_file(cli_path("pa.npy"), cli_path("pc.npy")));
}

static float sigmoid_ref(float x)
{
    return (float)(1.0 / (1.0 + exp(-(double)x)));
}

static void test_activations_and_label_rules(void **state)
{
    (void)state;
    vxt_rng rng = {99};
    tcase t;
    memset(&t, 0, sizeof t);
    do { /* three channels */
        tcase_free(&t);
        tcase_make(&t, &rng, 3, "");
    } while (t.C != 3);
    tcase_write(&t, "t.npy", VXT_DTYPE_F32);
    const char *tiles = "t.npy";
    char tp[1024];
    snprintf(tp, sizeof tp, "%s", cli_path(tiles));
    assert_int_equal(cli("stitch %s --probabilities %s %s --activation none --backend cpu", tp, cli_path("raw.npy"),
                         t.flags),
                     0);
    vxt_npy_info ri;
    float *raw = cli_load_npy(cli_path("raw.npy"), &ri);
    const size_t vox = (size_t)(t.shape[0] * t.shape[1] * t.shape[2]);
    static const struct {
        const char *flags;
        int act;  /* 0 softmax, 1 sigmoid */
        int rule; /* 0 argmax, 1 threshold, 2 regions */
        double threshold;
        int u16;
    } cases[] = {
        {"", 0, 0, 0, 0},
        {"--activation sigmoid --threshold 0.6", 1, 1, 0.6, 0},
        {"--activation sigmoid", 1, 1, 0.5, 0},
        {"--activation sigmoid --label-rule argmax --label-dtype uint16", 1, 0, 0, 1},
        {"--activation sigmoid --label-rule regions --region-labels 3,1,2 --threshold 0.4", 1, 2, 0.4, 0},
        {"--activation softmax --label-rule threshold --threshold 0.45 --label-dtype uint16", 0, 1, 0.45, 1},
    };
    static const int region_labels[3] = {3, 1, 2};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int rc = cli("stitch %s -o %s --probabilities %s %s %s --backend cpu", tp, cli_path("l.npy"),
                     cli_path("p.npy"), t.flags, cases[k].flags);
        if (rc)
            fail_msg("%s: exit %d: %s", cases[k].flags, rc, cli_err);
        vxt_npy_info li, pi;
        void *l = cli_load_npy(cli_path("l.npy"), &li);
        float *p = cli_load_npy(cli_path("p.npy"), &pi);
        assert_int_equal(li.dtype, cases[k].u16 ? VXT_DTYPE_U16 : VXT_DTYPE_U8);
        assert_int_equal(li.count, vox);
        assert_int_equal(pi.count, 3 * vox);
        size_t seen[8] = {0};
        for (size_t v = 0; v < vox; v++) {
            /* the values: the activation of the raw values */
            float s = 0;
            for (int c = 0; c < 3; c++) {
                float want;
                if (cases[k].act == 1) {
                    want = sigmoid_ref(raw[(size_t)c * vox + v]);
                } else {
                    double m = raw[v], e[3], tot = 0;
                    for (int d = 1; d < 3; d++)
                        m = raw[(size_t)d * vox + v] > m ? raw[(size_t)d * vox + v] : m;
                    for (int d = 0; d < 3; d++)
                        tot += e[d] = exp((double)raw[(size_t)d * vox + v] - m);
                    want = (float)(e[c] / tot);
                }
                float got = p[(size_t)c * vox + v];
                if (!(fabsf(got - want) <= 3e-7f))
                    fail_msg("%s: voxel %zu channel %d is %.9g, expected %.9g", cases[k].flags, v, c, (double)got,
                             (double)want);
                s += got;
            }
            if (cases[k].act == 0)
                assert_true(fabsf(s - 1.0f) < 1e-5f);
            /* the labels: the rule applied to those values (comparisons only: exact) */
            const float *x[3] = {&p[v], &p[vox + v], &p[2 * vox + v]};
            int want = 0;
            if (cases[k].rule == 0) {
                for (int c = 1; c < 3; c++)
                    if (*x[c] > *x[want])
                        want = c;
            } else if (cases[k].rule == 1) {
                int best = -1;
                for (int c = 0; c < 3; c++)
                    if (*x[c] > cases[k].threshold && (best < 0 || *x[c] > *x[best]))
                        best = c;
                want = best + 1;
            } else {
                for (int c = 0; c < 3; c++)
                    if (*x[c] > cases[k].threshold)
                        want = region_labels[c];
            }
            int got = cases[k].u16 ? ((const uint16_t *)l)[v] : ((const uint8_t *)l)[v];
            if (got != want)
                fail_msg("%s: voxel %zu has label %d, expected %d (values %.9g %.9g %.9g)", cases[k].flags, v, got,
                         want, (double)*x[0], (double)*x[1], (double)*x[2]);
            seen[want]++;
        }
        int distinct = 0;
        for (int i = 0; i < 8; i++)
            distinct += seen[i] > 0;
        if (distinct < 2)
            fail_msg("%s: only one label: the case does not test the rule", cases[k].flags);
        free(l);
        free(p);
    }
    free(raw);
    tcase_free(&t);
}

/* ---- NIfTI outputs ---------------------------------------------------------------------------------------------- */

static vxt_image *read_any(const char *path)
{
    vxt_read_options ro;
    vxt_read_options_init(&ro);
    ro.scaling = VXT_SCALING_RAW;
    vxt_image *img = NULL;
    assert_ok(vxt_image_read_path(path, &ro, &img));
    return img;
}

/* The NIfTI file holds the .npy file's values (same type, same order, same shape). */
static void assert_nifti_holds_npy(const char *nii, const char *npy, int64_t channels, const int64_t shape[3])
{
    size_t len = 0;
    unsigned char *bytes = vxt_test_read_file(nii, &len);
    assert_true(len > 352);
    if (memcmp(bytes, "\x93NUMPY", 6) == 0)
        fail_msg("%s holds .npy bytes under a NIfTI name", nii);
    size_t nl = strlen(nii);
    if (nl > 3 && !strcmp(nii + nl - 3, ".gz"))
        assert_true(bytes[0] == 0x1f && bytes[1] == 0x8b);
    else
        assert_memory_equal(bytes + 344, "n+1", 4);
    free(bytes);
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_file(nii, NULL, &img));
    vxt_image_info info = {.struct_size = sizeof info};
    assert_ok(vxt_image_get_info(img, &info));
    assert_int_equal(info.format, VXT_FORMAT_NIFTI);
    assert_int_equal(info.channels, channels);
    assert_memory_equal(info.shape, shape, 3 * sizeof shape[0]);
    vxt_nifti_info ni = cli_nifti_info(img);
    assert_int_equal(ni.dim[0], channels > 1 ? 4 : 3);
    assert_int_equal(ni.dim[1], shape[2]);
    assert_int_equal(ni.dim[3], shape[0]);
    if (channels > 1)
        assert_int_equal(ni.dim[4], channels);
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    vxt_npy_info pi;
    void *want = cli_load_npy(npy, &pi);
    assert_int_equal(v.dtype, pi.dtype);
    assert_int_equal((uint64_t)(v.channels * v.shape[0] * v.shape[1] * v.shape[2]), pi.count);
    assert_memory_equal(v.data, want, (size_t)pi.count * vxt_dtype_size(pi.dtype));
    free(want);
    vxt_image_destroy(img);
}

static void test_nifti_outputs(void **state)
{
    (void)state;
    static const int64_t shape[3] = {9, 20, 17};
    /* a geometry to take: RAS, anisotropic voxels, an offset */
    cli_phantom("like.nii.gz", NULL, "--shape 9,20,17 --spacing 2,1.5,1.25 --orientation RAS");
    char like[1024];
    snprintf(like, sizeof like, "%s", cli_path("like.nii.gz"));
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s --probabilities %s " MONAI_PLAN " --backend cpu",
                         cli_path("l.npy"), cli_path("p.npy")),
                     0);
    int rc = cli("stitch " DATA "/monai_tiles.npy -o %s --probabilities %s " MONAI_PLAN " --like %s --backend cpu "
                 "--json",
                 cli_path("l.nii.gz"), cli_path("p.nii.gz"), like);
    if (rc)
        fail_msg("exit %d: %s", rc, cli_err);
    assert_nifti_holds_npy(cli_path("l.nii.gz"), cli_path("l.npy"), 1, shape);
    assert_nifti_holds_npy(cli_path("p.nii.gz"), cli_path("p.npy"), 2, shape);
    vxt_image *ref = read_any(like), *l = read_any(cli_path("l.nii.gz")), *p = read_any(cli_path("p.nii.gz"));
    cli_assert_same_geometry(ref, l);
    cli_assert_same_geometry(ref, p);
    vxt_geometry g;
    vxt_geometry_init(&g);
    assert_ok(vxt_image_get_geometry(l, &g));
    assert_string_equal(g.orientation, "RAS");
    assert_true(fabs(g.spacing[0] - 2) < 1e-6 && fabs(g.spacing[1] - 1.5) < 1e-6 && fabs(g.spacing[2] - 1.25) < 1e-6);
    vxt_image_destroy(ref);
    vxt_image_destroy(l);
    vxt_image_destroy(p);
    /* without --like: an identity geometry (that of an image made in memory); uncompressed .nii; mixed formats */
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s --probabilities %s " MONAI_PLAN " --backend cpu",
                         cli_path("l.nii"), cli_path("p2.npy")),
                     0);
    assert_nifti_holds_npy(cli_path("l.nii"), cli_path("l.npy"), 1, shape);
    assert_true(cli_same_file(cli_path("p.npy"), cli_path("p2.npy")));
    vxt_image *made = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_U8, 1, shape, NULL, &made));
    l = read_any(cli_path("l.nii"));
    cli_assert_same_geometry(made, l);
    vxt_image_destroy(made);
    vxt_image_destroy(l);
    /* 2D: (H, W) labels as a one-slice NIfTI image */
    vxt_rng rng = {8};
    tcase t;
    tcase_make(&t, &rng, 2, "");
    tcase_write(&t, "t2.npy", VXT_DTYPE_F32);
    assert_int_equal(cli("stitch %s -o %s %s --backend cpu", cli_path("t2.npy"), cli_path("l2.npy"), t.flags), 0);
    assert_int_equal(cli("stitch %s -o %s %s --backend cpu", cli_path("t2.npy"), cli_path("l2.nii.gz"), t.flags), 0);
    vxt_npy_info li;
    free(cli_load_npy(cli_path("l2.npy"), &li));
    assert_int_equal(li.ndim, 2);
    assert_nifti_holds_npy(cli_path("l2.nii.gz"), cli_path("l2.npy"), 1, t.shape);
    tcase_free(&t);
    /* --like problems */
    int before = cli_files();
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s --shape 9,20,18 --roi 6,12,10 --like %s",
                         cli_path("x.nii.gz"), like),
                     2);
    cli_assert_one_line_error("its shape 9 x 20 x 17 is not --shape 9 x 20 x 18");
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s " MONAI_PLAN " --like %s", cli_path("x.npy"), like), 2);
    cli_assert_one_line_error("no output here is NIfTI");
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s " MONAI_PLAN " --like %s", cli_path("x.nii.gz"),
                         cli_path("none.nii.gz")),
                     4);
    cli_assert_one_line_error("none.nii.gz");
    assert_int_equal(cli_files(), before);
}

/* ---- bad input ------------------------------------------------------------------------------------------------- */

static void test_errors_leave_nothing(void **state)
{
    (void)state;
    cli_write_text("text.npy", "this is a text file, not numpy\n");
    size_t len = 0;
    char *whole = vxt_test_read_file(DATA "/monai_tiles.npy", &len);
    FILE *f = fopen(cli_path("trunc.npy"), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(whole, 1, 50000, f), 50000);
    assert_int_equal(fclose(f), 0);
    free(whole);
    /* NaN in tile 3 */
    vxt_npy_info ti;
    float *t = cli_load_npy(DATA "/monai_tiles.npy", &ti);
    t[3 * 2 * 720 + 100] = NAN;
    assert_ok(vxt_npy_write(cli_path("nan.npy"), VXT_DTYPE_F32, ti.ndim, ti.shape, t));
    free(t);
    cli_write_text("file", "a regular file\n");
    int before = cli_files();
    char x[1024];
    snprintf(x, sizeof x, "%s", cli_path("x.npy"));
    static const struct {
        const char *tiles, *flags, *needle;
        int rc;
    } cases[] = {
        /* the tiles do not match the tiling */
        {DATA "/monai_tiles.npy", "--shape 9,20,17 --roi 6,12,12",
         "array (18, 2, 6, 12, 10) of float32 does not match the tiling: expected (12, C, 6, 12, 12) of float32 or "
         "float16",
         4},
        {DATA "/monai_tiles.npy", "--shape 9,20,30 --roi 6,12,10",
         "array (18, 2, 6, 12, 10) of float32 does not match the tiling: expected (30, C, 6, 12, 10)", 4},
        {DATA "/monai_tiles.npy", "--shape 20,17 --roi 12,10", "expected (9, C, 12, 10)", 4},
        /* missing, truncated, not .npy, NaN */
        {"nope.npy", MONAI_PLAN, "cannot open", 4},
        {"trunc.npy", MONAI_PLAN, "truncated", 4},
        {"text.npy", MONAI_PLAN, "not an .npy file", 4},
        {"nan.npy", MONAI_PLAN, "NaN for tile 3", 4},
        /* usage */
        {DATA "/monai_tiles.npy", "--roi 6,12,10", "missing --shape", 2},
        {DATA "/monai_tiles.npy", MONAI_PLAN " --backend cuda", "--backend", 2},
        {DATA "/monai_tiles.npy", MONAI_PLAN " --argmax", "unknown option '--argmax'", 2},
        {DATA "/monai_tiles.npy", MONAI_PLAN " --model identity", "unknown option '--model'", 2},
        {DATA "/monai_tiles.npy", MONAI_PLAN " extra.npy", "unexpected argument 'extra.npy'", 2},
        {DATA "/monai_tiles.npy", MONAI_PLAN " --threads many", "--threads", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char tiles[1024];
        snprintf(tiles, sizeof tiles, "%s", cases[i].tiles[0] == '/' ? cases[i].tiles : cli_path(cases[i].tiles));
        for (int out = 0; out < 2; out++) { /* labels, then values */
            int rc = cli("stitch %s %s %s %s", tiles, out ? "--probabilities" : "-o", x, cases[i].flags);
            if (rc != cases[i].rc)
                fail_msg("stitch %s %s: exit %d, expected %d: %s", cases[i].tiles, cases[i].flags, rc, cases[i].rc,
                         cli_err);
            cli_assert_one_line_error(cases[i].needle);
            assert_string_equal(cli_out, "");
        }
    }
    /* usage: no output, no tiles, an output name of no known format */
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy " MONAI_PLAN), 2);
    cli_assert_one_line_error("missing -o LABELS or --probabilities VALUES");
    assert_int_equal(cli("stitch -o %s " MONAI_PLAN, x), 2);
    cli_assert_one_line_error("missing TILES.npy");
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s " MONAI_PLAN, cli_path("x.png")), 2);
    cli_assert_one_line_error("the name must end in .nii, .nii.gz or .npy");
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy --probabilities %s " MONAI_PLAN, cli_path("x.txt")), 2);
    cli_assert_one_line_error("--probabilities");
    /* outputs: a missing directory, a parent that is a file (checked before any work) */
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s " MONAI_PLAN, cli_path("no/such/dir/x.npy")), 5);
    cli_assert_one_line_error("does not exist");
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy --probabilities %s " MONAI_PLAN, cli_path("file/p.npy")), 5);
    cli_assert_one_line_error("is not a directory");
    /* the values cannot be written (their name is a directory): the labels written before them are removed */
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "mkdir '%s' '%s'", cli_path("pdir.npy"), cli_path("pdir.nii.gz"));
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s --probabilities %s " MONAI_PLAN " --backend cpu",
                         cli_path("l.npy"), cli_path("pdir.npy")),
                     5);
    cli_assert_one_line_error("pdir.npy");
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s --probabilities %s " MONAI_PLAN " --backend cpu",
                         cli_path("l.nii.gz"), cli_path("pdir.nii.gz")),
                     5);
    cli_assert_one_line_error("pdir.nii.gz");
    /* nothing was left behind but the two directories made above: no output, no temporary file */
    assert_int_equal(cli_files(), before + 2);
}

/* Tiles of a type stitch cannot read (float64, int32) or with no channels (C = 0): exit 4 (an input the command
 * cannot use), a one-line message naming the file, its shape and type and what was expected, and no output. */
static void test_rejects_tile_type_and_zero_channels(void **state)
{
    (void)state;
    vxt_npy_info ti;
    float *t = cli_load_npy(DATA "/monai_tiles.npy", &ti); /* (18, 2, 6, 12, 10) float32 */
    double *t64 = malloc(ti.count * sizeof *t64);
    int32_t *t32 = malloc(ti.count * sizeof *t32);
    assert_non_null(t64);
    assert_non_null(t32);
    for (uint64_t i = 0; i < ti.count; i++) {
        t64[i] = t[i];
        t32[i] = (int32_t)t[i];
    }
    char f64[512], i32[512], c0[512];
    snprintf(f64, sizeof f64, "%s", cli_path("f64.npy"));
    snprintf(i32, sizeof i32, "%s", cli_path("i32.npy"));
    snprintf(c0, sizeof c0, "%s", cli_path("c0.npy"));
    assert_ok(vxt_npy_write(f64, VXT_DTYPE_F64, ti.ndim, ti.shape, t64));
    assert_ok(vxt_npy_write(i32, VXT_DTYPE_I32, ti.ndim, ti.shape, t32));
    int64_t zero_c[5] = {18, 0, 6, 12, 10};
    assert_ok(vxt_npy_write(c0, VXT_DTYPE_F32, 5, zero_c, NULL));
    free(t);
    free(t64);
    free(t32);
    const char *plan = MONAI_PLAN " --backend cpu";
    struct {
        const char *path, *msg;
    } cases[] = {
        {f64, "array (18, 2, 6, 12, 10) of float64 does not match the tiling: expected (18, C, 6, 12, 10) of float32 "
              "or float16"},
        {i32, "array (18, 2, 6, 12, 10) of int32 does not match the tiling: expected (18, C, 6, 12, 10) of float32 or "
              "float16"},
        {c0, "array (18, 0, 6, 12, 10) of float32 does not match the tiling: expected (18, C, 6, 12, 10) of float32 "
             "or float16"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (int out = 0; out < 3; out++) {
            static const char *const outs[] = {"-o x.npy", "--probabilities x.npy",
                                               "-o x.nii.gz --probabilities p.npy"};
            char o[1024];
            if (out == 2)
                snprintf(o, sizeof o, "-o %s/x.nii.gz --probabilities %s/p.npy", cli_tmp, cli_tmp);
            else
                snprintf(o, sizeof o, "%s %s/x.npy", out ? "--probabilities" : "-o", cli_tmp);
            int rc = cli("stitch %s %s %s", cases[k].path, o, plan);
            if (rc != 4 || !strstr(cli_err, cases[k].path) || !strstr(cli_err, cases[k].msg))
                fail_msg("stitch %s %s: exit %d, stderr '%s'; expected exit 4 and '%s'", cases[k].path, outs[out], rc,
                         cli_err, cases[k].msg);
            cli_assert_one_line_error(NULL);
            assert_int_equal(cli_out[0], '\0');
            assert_int_equal(cli_files(), 3); /* the three inputs: no output, no temporary file */
        }
    }
}

/* -o and --probabilities naming the same file: one would silently replace the other (phantom refuses -o and
 * --label-map naming one file, exit 2). */
static void test_same_file_for_both_outputs(void **state)
{
    (void)state;
    int rc = cli("stitch " DATA "/monai_tiles.npy -o %s --probabilities %s " MONAI_PLAN " --backend cpu",
                 cli_path("same.npy"), cli_path("same.npy"));
    if (rc != 2)
        fail_msg("-o and --probabilities naming one file: exit %d, expected 2 (usage)", rc);
    cli_assert_one_line_error("the same file");
    assert_int_equal(cli_files(), 0);
}

/* Values of the plan flags that are not one of the names or out of range: malformed arguments (exit 2), like
 * --backend cuda; every case is checked before the test fails, so its message lists each one that does not hold. */
static void test_flag_values_are_usage_errors(void **state)
{
    (void)state;
    static const struct {
        const char *flags, *needle;
    } cases[] = {
        {"--accumulate half", "--accumulate half: $.accumulate: unknown accumulation 'half'"},
        {"--activation relu", "--activation relu"},
        {"--importance gauss", "--importance gauss"},
        {"--sigma-scale -1", "--sigma-scale -1"},
        {"--batch 0", "--batch 0"},
    };
    char bad[4096] = "";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cli("stitch " DATA "/monai_tiles.npy -o %s " MONAI_PLAN " %s", cli_path("x.npy"), cases[i].flags);
        cli_assert_one_line_error(cases[i].needle);
        if (rc != 2)
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  stitch ... %s: exit %d", cases[i].flags, rc);
    }
    assert_int_equal(cli_files(), 0);
    if (bad[0])
        fail_msg("malformed flag values must exit 2 (usage), as --backend cuda does:%s", bad);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_monai_and_nnunet_cpu, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_random_tiles_against_reference_cpu, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_defaults, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_activations_and_label_rules, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_nifti_outputs, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_errors_leave_nothing, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_rejects_tile_type_and_zero_channels, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_same_file_for_both_outputs, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_flag_values_are_usage_errors, cli_setup, cli_teardown),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test_setup_teardown(test_monai_and_nnunet_opencl, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_random_tiles_opencl_writes_the_cpu_bytes, cli_setup, cli_teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
