/* test_cli_tiles.c - `voxtile tiles --shape Z,Y,X --roi Z,Y,X`: the tiling as JSON. Known cases (MONAI's 147 tiles
 * of a 256x512x512 CT, nnU-Net's round-half-even starts, a padded 2D image), then random tilings of every grid
 * against the formulas of docs/STITCHING.md written out here (MONAI's _get_scan_interval and dense_patch_slices,
 * nnU-Net's compute_steps_for_sliding_window, TorchIO's patch locations), the list of tiles in tiling order, the
 * plan's defaults and plan files, and bad arguments: one line each, a distinct exit status. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_test_util.h"

static int64_t item_i64(const cJSON *array, int i)
{
    const cJSON *v = cJSON_GetArrayItem(array, i);
    if (!cJSON_IsNumber(v))
        fail_msg("item %d is not a number", i);
    return (int64_t)v->valuedouble;
}

/* An array of `n` numbers equal to want[0..n-1]. */
static void assert_axes(const cJSON *o, const char *key, const int64_t *want, int n, const char *what)
{
    const cJSON *a = cli_json(o, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        fail_msg("%s: '%s' is not an array of %d", what, key, n);
    for (int i = 0; i < n; i++)
        if (item_i64(a, i) != want[i])
            fail_msg("%s: %s[%d] is %lld, expected %lld", what, key, i, (long long)item_i64(a, i), (long long)want[i]);
}

static void test_known_tilings(void **state)
{
    (void)state;
    assert_int_equal(cli("tiles --shape 256,512,512 --roi 128 --overlap 0.5"), 0);
    assert_string_equal(cli_err, "");
    cJSON *j = cli_out_json();
    assert_string_equal(cli_json_string(j, "grid"), "monai");
    assert_int_equal((int)cli_json_number(j, "tile_count"), 147);
    assert_int_equal(cJSON_GetArraySize(cli_json(j, "tiles")), 147);
    assert_true(cJSON_IsTrue(cli_json(j, "tiles_complete")));
    const cJSON *last = cJSON_GetArrayItem(cli_json(j, "tiles"), 146);
    assert_int_equal(item_i64(last, 0), 128);
    assert_int_equal(item_i64(last, 1), 384);
    assert_int_equal(item_i64(last, 2), 384);
    static const int64_t per_axis[3] = {3, 7, 7}, shape[3] = {256, 512, 512}, roi[3] = {128, 128, 128};
    assert_axes(j, "tiles_per_axis", per_axis, 3, "256x512x512");
    assert_axes(j, "shape", shape, 3, "256x512x512");
    assert_axes(j, "roi", roi, 3, "256x512x512");
    cJSON_Delete(j);
    /* nnU-Net's round-half-even starts; --max-tiles 0 lists none but counts them all */
    assert_int_equal(cli("tiles --shape 193,300,257 --roi 128 --grid nnunet --step 0.5 --max-tiles 0"), 0);
    assert_non_null(strstr(cli_out, "\"starts\":[[0,32,65]"));
    assert_non_null(strstr(cli_out, "\"tiles_complete\":false"));
    j = cli_out_json();
    assert_int_equal((int)cli_json_number(j, "tile_count"), 3 * 4 * 4);
    assert_int_equal(cJSON_GetArraySize(cli_json(j, "tiles")), 0);
    cJSON_Delete(j);
    /* --max-tiles N lists the first N */
    assert_int_equal(cli("tiles --shape 193,300,257 --roi 128 --grid nnunet --max-tiles 5"), 0);
    j = cli_out_json();
    assert_int_equal(cJSON_GetArraySize(cli_json(j, "tiles")), 5);
    assert_false(cJSON_IsTrue(cli_json(j, "tiles_complete")));
    static const int64_t fifth[3] = {0, 57, 0};
    const cJSON *t4 = cJSON_GetArrayItem(cli_json(j, "tiles"), 4);
    for (int a = 0; a < 3; a++)
        assert_int_equal(item_i64(t4, a), fifth[a]);
    cJSON_Delete(j);
    /* 2D (Y,X): two axes everywhere; padding where the image is smaller than the ROI */
    assert_int_equal(cli("tiles --shape 20,30 --roi 32,16 --pad replicate"), 0);
    assert_non_null(strstr(cli_out, "\"padded_shape\":[32,30]"));
    assert_non_null(strstr(cli_out, "\"pad_lo\":[6,0]"));
    j = cli_out_json();
    static const int64_t hi2[2] = {6, 0}, roi2[2] = {32, 16};
    assert_axes(j, "pad_hi", hi2, 2, "2D");
    assert_axes(j, "roi", roi2, 2, "2D");
    assert_string_equal(cli_json_string(j, "pad"), "replicate");
    cJSON_Delete(j);
}

/* ---- the reference: docs/STITCHING.md's formulas, per axis on the padded size -------------------------- */

typedef struct ref_axis {
    int64_t padded, lo, hi, n, starts[512];
} ref_axis;

static void reference_axis(int grid, int64_t size, int64_t roi, double frac, int64_t ovox, ref_axis *r)
{
    int64_t d = roi > size ? roi - size : 0;
    r->lo = d / 2;
    r->hi = d - d / 2;
    const int64_t S = size + d, R = roi;
    r->padded = S;
    r->n = 0;
    if (grid == 0) { /* MONAI */
        int64_t I = R == S ? R : (int64_t)((double)R * (1.0 - frac));
        if (I < 1)
            I = 1;
        int64_t k = 0;
        while (k * I + R < S)
            k++;
        for (int64_t i = 0; i <= k; i++) {
            int64_t s = i * I;
            r->starts[r->n++] = s + R > S ? S - R : s;
        }
    } else if (grid == 1) { /* nnU-Net */
        double step = (double)R * frac;
        int64_t n = (int64_t)ceil((double)(S - R) / step) + 1;
        double actual = n > 1 ? (double)(S - R) / (double)(n - 1) : 99999999999.0;
        for (int64_t i = 0; i < n; i++)
            r->starts[r->n++] = (int64_t)nearbyint(actual * (double)i); /* round half to even */
    } else { /* TorchIO: 0, step, ... up to S - R, and S - R itself */
        int64_t step = R - ovox;
        for (int64_t s = 0; s <= S - R; s += step)
            r->starts[r->n++] = s;
        if (r->starts[r->n - 1] != S - R)
            r->starts[r->n++] = S - R;
    }
}

/* Tiles listed per case (the output stays well within cli_out). */
#define MAX_LISTED 2000

static void test_random_tilings_match_the_formulas(void **state)
{
    (void)state;
    static const char *const grids[] = {"monai", "nnunet", "voxels"};
    /* fractions with exact binary forms and others (0.3, 0.7, 0.8: MONAI's truncation of R * (1 - o)) */
    static const double fracs[] = {0.5, 0.25, 0.3, 0.7, 0.8, 0.125, 0.6, 0.9, 0.33};
    vxt_rng rng = {20240611};
    for (int c = 0; c < 60; c++) {
        const int grid = c % 3, dims = c % 5 == 4 ? 2 : 3;
        int64_t shape[3], roi[3], ovox[3];
        double frac[3];
        char s_shape[64] = "", s_roi[64] = "", s_par[96] = "";
        for (int a = 3 - dims; a < 3; a++) {
            shape[a] = 1 + vxt_rng_u32(&rng) % 150;
            roi[a] = 2 + vxt_rng_u32(&rng) % 47;
            if (vxt_rng_u32(&rng) % 4 == 0)
                roi[a] = shape[a] + 1 + vxt_rng_u32(&rng) % 9; /* padded */
            frac[a] = grid == 0 ? fracs[vxt_rng_u32(&rng) % 9] : fracs[vxt_rng_u32(&rng) % 8] + 0.05;
            if (grid == 1 && frac[a] > 1)
                frac[a] = 1;
            ovox[a] = roi[a] > 1 ? (int64_t)(vxt_rng_u32(&rng) % (uint32_t)roi[a]) : 0;
            const char *sep = a > 3 - dims ? "," : "";
            snprintf(s_shape + strlen(s_shape), sizeof s_shape - strlen(s_shape), "%s%lld", sep, (long long)shape[a]);
            snprintf(s_roi + strlen(s_roi), sizeof s_roi - strlen(s_roi), "%s%lld", sep, (long long)roi[a]);
            if (grid == 2)
                snprintf(s_par + strlen(s_par), sizeof s_par - strlen(s_par), "%s%lld", sep, (long long)ovox[a]);
            else
                snprintf(s_par + strlen(s_par), sizeof s_par - strlen(s_par), "%s%.17g", sep, frac[a]);
        }
        if (dims == 2) { /* a 2D image: one value of --overlap/--step/--overlap-voxels for both axes */
            frac[2] = frac[1];
            int64_t rmin = roi[1] < roi[2] ? roi[1] : roi[2];
            ovox[1] = ovox[2] = rmin > 1 ? (int64_t)(vxt_rng_u32(&rng) % (uint32_t)rmin) : 0;
            if (grid == 2)
                snprintf(s_par, sizeof s_par, "%lld", (long long)ovox[1]);
            else
                snprintf(s_par, sizeof s_par, "%.17g", frac[1]);
        }
        char what[512];
        snprintf(what, sizeof what, "tiles --shape %s --roi %s --grid %s --%s %s", s_shape, s_roi, grids[grid],
                 grid == 0 ? "overlap" : grid == 1 ? "step" : "overlap-voxels", s_par);
        int rc = cli("%s --max-tiles %d", what, MAX_LISTED);
        if (rc != 0)
            fail_msg("%s: exit %d: %s", what, rc, cli_err);
        cJSON *j = cli_out_json();
        ref_axis r[3];
        int64_t padded[3], lo[3], hi[3], n[3], total = 1;
        for (int a = 3 - dims; a < 3; a++) {
            reference_axis(grid, shape[a], roi[a], frac[a], ovox[a], &r[a]);
            padded[a] = r[a].padded;
            lo[a] = r[a].lo;
            hi[a] = r[a].hi;
            n[a] = r[a].n;
            total *= r[a].n;
        }
        const int f = 3 - dims;
        assert_axes(j, "shape", shape + f, dims, what);
        assert_axes(j, "roi", roi + f, dims, what);
        assert_axes(j, "padded_shape", padded + f, dims, what);
        assert_axes(j, "pad_lo", lo + f, dims, what);
        assert_axes(j, "pad_hi", hi + f, dims, what);
        assert_axes(j, "tiles_per_axis", n + f, dims, what);
        if ((int64_t)cli_json_number(j, "tile_count") != total)
            fail_msg("%s: %lld tiles, expected %lld", what, (long long)cli_json_number(j, "tile_count"),
                     (long long)total);
        const cJSON *starts = cli_json(j, "starts");
        assert_int_equal(cJSON_GetArraySize(starts), dims);
        for (int a = f; a < 3; a++) {
            char axis[600];
            snprintf(axis, sizeof axis, "%s: starts[%d]", what, a - f);
            const cJSON *sa = cJSON_GetArrayItem(starts, a - f);
            assert_int_equal(cJSON_GetArraySize(sa), (int)r[a].n);
            for (int64_t i = 0; i < r[a].n; i++)
                if (item_i64(sa, (int)i) != r[a].starts[i])
                    fail_msg("%s[%lld] is %lld, expected %lld", axis, (long long)i, (long long)item_i64(sa, (int)i),
                             (long long)r[a].starts[i]);
        }
        /* every tile, in tiling order: the first axis outermost, the last fastest */
        const cJSON *tiles = cli_json(j, "tiles");
        const int64_t listed = total < MAX_LISTED ? total : MAX_LISTED;
        assert_int_equal(cJSON_GetArraySize(tiles), (int)listed);
        assert_int_equal(cJSON_IsTrue(cli_json(j, "tiles_complete")), total <= MAX_LISTED);
        int64_t idx[3] = {0, 0, 0};
        for (int64_t t = 0; t < listed; t++) {
            const cJSON *tile = cJSON_GetArrayItem(tiles, (int)t);
            assert_int_equal(cJSON_GetArraySize(tile), dims);
            for (int a = f; a < 3; a++)
                if (item_i64(tile, a - f) != r[a].starts[idx[a]])
                    fail_msg("%s: tile %lld axis %d is %lld, expected %lld", what, (long long)t, a - f,
                             (long long)item_i64(tile, a - f), (long long)r[a].starts[idx[a]]);
            for (int a = 2; a >= f; a--) {
                if (++idx[a] < r[a].n)
                    break;
                idx[a] = 0;
            }
        }
        cJSON_Delete(j);
    }
}

/* The plan's defaults (overlap 0.5, grid monai, constant padding) and plan files, flags laid over them. */
static void test_defaults_and_plan_files(void **state)
{
    (void)state;
    assert_int_equal(cli("tiles --shape 40,50,60 --roi 16,24,32"), 0);
    static char plain[sizeof cli_out];
    memcpy(plain, cli_out, sizeof plain);
    assert_int_equal(cli("tiles --shape 40,50,60 --roi 16,24,32 --overlap 0.5 --grid monai --pad constant"), 0);
    assert_string_equal(cli_out, plain);
    cJSON *j = cJSON_Parse(plain);
    assert_non_null(j);
    assert_string_equal(cli_json_string(j, "grid"), "monai");
    assert_string_equal(cli_json_string(j, "pad"), "constant");
    cJSON_Delete(j);
    assert_int_equal(cli("tiles --shape 40,50,60 --roi 16,24,32 --overlap 0.25"), 0);
    assert_true(strcmp(cli_out, plain) != 0); /* the overlap does change the tiling */
    /* a plan file gives the ROI and the grid; a flag replaces a field of it */
    cli_write_text("p.json", "{\"voxtile_plan\": 1, \"roi\": [16, 24, 32], \"grid\": \"nnunet\", \"step\": 0.25}\n");
    assert_int_equal(cli("tiles --shape 40,50,60 --plan %s", cli_path("p.json")), 0);
    j = cli_out_json();
    assert_string_equal(cli_json_string(j, "grid"), "nnunet");
    static const int64_t per_axis_q[3] = {7, 6, 5}; /* ceil((S - R) / (R / 4)) + 1 */
    assert_axes(j, "tiles_per_axis", per_axis_q, 3, "plan file");
    cJSON_Delete(j);
    assert_int_equal(cli("tiles --shape 40,50,60 --plan %s --step 1 --roi 20", cli_path("p.json")), 0);
    j = cli_out_json();
    static const int64_t per_axis_1[3] = {2, 3, 3}, roi_20[3] = {20, 20, 20};
    assert_axes(j, "tiles_per_axis", per_axis_1, 3, "--step 1 over the plan file");
    assert_axes(j, "roi", roi_20, 3, "--roi 20 over the plan file");
    cJSON_Delete(j);
    /* --print-plan: the plan, not the tiling */
    assert_int_equal(cli("tiles --shape 40,50,60 --plan %s --print-plan", cli_path("p.json")), 0);
    j = cli_out_json();
    assert_string_equal(cli_json_string(j, "grid"), "nnunet");
    assert_true(cli_json_number(j, "step") == 0.25);
    assert_null(cJSON_GetObjectItem(j, "tiles"));
    cJSON_Delete(j);
}

/* One value stands for all three axes, as for every per-axis flag. */
static void test_shape_one_value(void **state)
{
    (void)state;
    assert_int_equal(cli("tiles --shape 10 --roi 4 --overlap 0.25"), 0);
    char *one = strdup(cli_out);
    assert_int_equal(cli("tiles --shape 10,10,10 --roi 4,4,4 --overlap 0.25"), 0);
    assert_string_equal(one, cli_out);
    free(one);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    static const struct {
        const char *args, *needle;
        int rc;
    } cases[] = {
        /* the tiling cannot be made: the plan (exit 6), with the field and the value at fault */
        {"--shape 64,64,64 --roi 128 --pad none", "padding is disabled", 6},
        {"--shape 64,64,64", "$.roi: missing", 6},
        /* usage */
        {"--shape 64,x,64 --roi 8", "--shape: expected Z,Y,X", 2},
        {"--shape 10,10,10,10 --roi 4", "--shape: expected Z,Y,X (or Y,X for a 2D image, or N for N,N,N)", 2},
        {"--shape 0,10,10 --roi 4", "--shape", 2},
        {"--roi 8", "missing --shape", 2},
        {"--shape 8,8,8 --roi 4 --bogus", "unknown option '--bogus'", 2},
        {"--shape 8,8,8 --roi 4 extra", "unexpected argument 'extra'", 2},
        {"--shape 8,8,8 --roi 4 --max-tiles -1", "--max-tiles", 2},
        {"--shape 8,8,8 --roi", "--roi needs a value", 2},
        {"--shape 8,8,8 --roi 4 --activation softmax", "unknown option '--activation'", 2}, /* not a tiling flag */
        /* plan files */
        {"--shape 8,8,8 --plan /nonexistent/p.json", "cannot open", 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cli("tiles %s", cases[i].args);
        if (rc != cases[i].rc)
            fail_msg("tiles %s: exit %d, expected %d: %s", cases[i].args, rc, cases[i].rc, cli_err);
        cli_assert_one_line_error(cases[i].needle);
        assert_string_equal(cli_out, "");
    }
    assert_int_equal(cli("tiles"), 2);
    assert_int_equal(cli("nosuchcommand"), 2);
    assert_non_null(strstr(cli_err, "unknown command 'nosuchcommand'"));
    /* `voxtile plan` is now `voxtile tiles` */
    assert_int_equal(cli("plan --shape 8,8,8 --roi 4"), 2);
    assert_non_null(strstr(cli_err, "unknown command 'plan'"));
}

/* Values of the plan flags that are out of range or not one of the names: malformed arguments (exit 2), the
 * message naming the flag, its value and the field. All cases are checked before the test fails, so that its
 * message lists every one that does not hold. */
static void test_flag_values_are_usage_errors(void **state)
{
    (void)state;
    static const struct {
        const char *args, *needle;
    } cases[] = {
        {"--shape 64,64,64 --roi 32 --overlap 1.5", "--overlap 1.5: $.overlap: 1.5 is out of range"},
        {"--shape 64,64,64 --roi 8 --grid tiled", "expected one of: monai, nnunet, voxels"},
        {"--shape 64,64,64 --roi 8 --pad mirror", "--pad mirror"},
        {"--shape 64,64,64 --roi 8.5", "$.roi: 8.5 is not a whole number"},
        {"--shape 64,64,64 --roi 8 --grid nnunet --step 0", "$.step: 0 is out of range"},
    };
    char bad[4096] = "";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cli("tiles %s", cases[i].args);
        cli_assert_one_line_error(cases[i].needle);
        if (rc != 2)
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  tiles %s: exit %d", cases[i].args, rc);
    }
    if (bad[0])
        fail_msg("malformed flag values must exit 2 (usage), as --shape x and --backend cuda do:%s", bad);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_known_tilings, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_random_tilings_match_the_formulas, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_defaults_and_plan_files, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_shape_one_value, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_flag_values_are_usage_errors, cli_setup, cli_teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
