/* test_cli.c - end-to-end tests of the voxtile command-line tool: each subcommand on small inputs, its JSON,
 * its exit codes, its one-line error messages, and that a failed run leaves no output file behind. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vxt_test.h"

static char tmpdir[256];
static char out_text[1 << 16], err_text[1 << 16];

static void read_all(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(buf, 1, n - 1, f) : 0;
    buf[got] = '\0';
    if (f)
        fclose(f);
}

/* Run `voxtile <args>` (a shell-quoted string); returns its exit status; stdout/stderr in out_text/err_text. */
static int cli(const char *fmt, ...)
{
    char args[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s/stdout' 2>'%s/stderr'", VXT_CLI_PATH, args, tmpdir, tmpdir);
    int rc = system(cmd);
    char p[512];
    snprintf(p, sizeof p, "%s/stdout", tmpdir);
    read_all(p, out_text, sizeof out_text);
    snprintf(p, sizeof p, "%s/stderr", tmpdir);
    read_all(p, err_text, sizeof err_text);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vxt-cli-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Files in the temporary directory other than the captured stdout/stderr. */
static int output_files(void)
{
    int n = 0;
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && strcmp(e->d_name, "stdout") && strcmp(e->d_name, "stderr"))
            n++;
    closedir(d);
    return n;
}

static float *load_npy(const char *path, vxt_npy_info *info)
{
    info->struct_size = sizeof *info;
    assert_ok(vxt_npy_read_info(path, info));
    void *d = malloc(info->count * vxt_dtype_size(info->dtype) + 8);
    assert_ok(vxt_npy_read(path, info, 0, info->count, d));
    return d;
}

#define DATA VXT_TEST_DATA_DIR "/cli"

static void test_plan_json(void **state)
{
    (void)state;
    assert_int_equal(cli("plan --shape 256,512,512 --roi 128 --overlap 0.5"), 0);
    cJSON *j = cJSON_Parse(out_text);
    assert_non_null(j);
    assert_int_equal((int)cJSON_GetObjectItem(j, "tile_count")->valuedouble, 147);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tiles")), 147);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "tiles_complete")));
    cJSON *last = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tiles"), 146);
    assert_int_equal((int)cJSON_GetArrayItem(last, 0)->valuedouble, 128);
    assert_int_equal((int)cJSON_GetArrayItem(last, 2)->valuedouble, 384);
    cJSON_Delete(j);
    /* nnU-Net's round-half-even starts, 2D, padding */
    assert_int_equal(cli("plan --shape 193,300,257 --roi 128 --grid nnunet --step 0.5 --max-tiles 0"), 0);
    assert_non_null(strstr(out_text, "\"starts\":[[0,32,65]"));
    assert_non_null(strstr(out_text, "\"tiles_complete\":false"));
    assert_int_equal(cli("plan --shape 20,30 --roi 32,16 --pad replicate"), 0);
    assert_non_null(strstr(out_text, "\"padded_shape\":[32,30]"));
    assert_non_null(strstr(out_text, "\"pad_lo\":[6,0]"));
    /* errors: plan problems exit 6, usage exit 2, each one line naming the problem */
    assert_int_equal(cli("plan --shape 64,64,64 --roi 32 --overlap 1.5"), 6);
    assert_non_null(strstr(err_text, "overlap[0] (z) is 1.5"));
    assert_int_equal(cli("plan --shape 64,64,64 --roi 128 --pad none"), 6);
    assert_non_null(strstr(err_text, "padding is disabled"));
    assert_int_equal(cli("plan --shape 64,64,64"), 2);
    assert_non_null(strstr(err_text, "--roi"));
    assert_int_equal(cli("plan --shape 64,x,64 --roi 8"), 2);
    assert_int_equal(cli("plan --shape 64,64,64 --roi 8 --grid tiled"), 2);
    assert_non_null(strstr(err_text, "expected one of: monai, nnunet, voxels"));
    assert_int_equal(cli("plan --bogus"), 2);
    assert_non_null(strstr(err_text, "--bogus"));
    assert_int_equal(cli("nosuchcommand"), 2);
}

static void compare_to(const char *got_path, const char *ref_path, double tol, int bitwise)
{
    vxt_npy_info gi, ri;
    float *g = load_npy(got_path, &gi), *r = load_npy(ref_path, &ri);
    assert_int_equal(gi.count, ri.count);
    assert_int_equal(gi.dtype, VXT_DTYPE_F32);
    double mx = 0, worst = 0;
    for (uint64_t i = 0; i < ri.count; i++)
        mx = fabs(r[i]) > mx ? fabs(r[i]) : mx;
    for (uint64_t i = 0; i < ri.count; i++) {
        double d = fabs((double)g[i] - r[i]) / mx;
        worst = d > worst ? d : worst;
        if (bitwise && memcmp(&g[i], &r[i], 4) != 0)
            fail_msg("%s: element %llu is %.9g, reference %.9g", got_path, (unsigned long long)i, (double)g[i], (double)r[i]);
    }
    print_message("%s vs %s: max |diff|/max|ref| %.3g\n", got_path, ref_path, worst);
    assert_true(worst <= tol);
    free(g);
    free(r);
}

static void test_stitch_matches_monai_and_nnunet(void **state)
{
    (void)state;
    const char *backends[] = {"cpu", "opencl"};
    size_t nb = 1;
    size_t ndev = 0;
    if (vxt_opencl_device_count(&ndev) == VXT_OK && ndev > 0)
        nb = 2;
    for (size_t b = 0; b < nb; b++) {
        assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s/m.npy --shape 9,20,17 --roi 6,12,10 --overlap 0.5 "
                             "--backend %s --json",
                             tmpdir, backends[b]),
                         0);
        cJSON *j = cJSON_Parse(out_text);
        assert_non_null(j);
        assert_string_equal(cJSON_GetObjectItem(j, "backend")->valuestring, backends[b]);
        assert_int_equal((int)cJSON_GetObjectItem(j, "tiles")->valuedouble, 18);
        cJSON_Delete(j);
        char p[512];
        snprintf(p, sizeof p, "%s/m.npy", tmpdir);
        compare_to(p, DATA "/monai_expected.npy", 0.0, 1);
        assert_int_equal(cli("stitch " DATA "/nnunet_tiles.npy -o %s/n.npy --shape 9,20,17 --roi 6,12,10 --grid nnunet "
                             "--step 0.5 --importance gaussian-nnunet --accumulate float16 --backend %s",
                             tmpdir, backends[b]),
                         0);
        snprintf(p, sizeof p, "%s/n.npy", tmpdir);
        compare_to(p, DATA "/nnunet_expected.npy", 0.0, 1);
    }
    /* --argmax gives the argmax of the values */
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s/l.npy --shape 9,20,17 --roi 6,12,10 --overlap 0.5 "
                         "--activation softmax --argmax --backend cpu",
                         tmpdir),
                     0);
    char p[512];
    snprintf(p, sizeof p, "%s/l.npy", tmpdir);
    vxt_npy_info li, vi;
    uint8_t *l = (uint8_t *)load_npy(p, &li);
    snprintf(p, sizeof p, "%s/m.npy", tmpdir);
    float *v = load_npy(p, &vi);
    assert_int_equal(li.dtype, VXT_DTYPE_U8);
    assert_int_equal(li.ndim, 3);
    size_t vox = (size_t)li.count, diffs = 0;
    for (size_t i = 0; i < vox; i++)
        diffs += l[i] != (v[vox + i] > v[i] ? 1 : 0);
    assert_int_equal(diffs, 0);
    free(l);
    free(v);
}

static void test_stitch_errors_leave_nothing(void **state)
{
    (void)state;
    int before = output_files();
    /* the tiles do not match the plan */
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s/x.npy --shape 9,20,17 --roi 6,12,12", tmpdir), 4);
    assert_non_null(strstr(err_text, "does not match the plan: expected ("));
    assert_non_null(strstr(err_text, ", C, 6, 12, 12) of float32 or float16"));
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s/x.npy --shape 9,20,30 --roi 6,12,10", tmpdir), 4);
    assert_non_null(strstr(err_text, "array (18, 2, 6, 12, 10) of float32 does not match the plan: expected (16, C, 6, 12, 10)"));
    /* missing, truncated, not npy */
    assert_int_equal(cli("stitch %s/nope.npy -o %s/x.npy --shape 9,20,17 --roi 6,12,10", tmpdir, tmpdir), 4);
    assert_non_null(strstr(err_text, "cannot open"));
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "head -c 50000 " DATA "/monai_tiles.npy > %s/trunc.npy && echo this is a text file, not numpy > %s/text.npy", tmpdir,
             tmpdir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cli("stitch %s/trunc.npy -o %s/x.npy --shape 9,20,17 --roi 6,12,10", tmpdir, tmpdir), 4);
    assert_non_null(strstr(err_text, "truncated"));
    assert_int_equal(cli("stitch %s/text.npy -o %s/x.npy --shape 9,20,17 --roi 6,12,10", tmpdir, tmpdir), 4);
    assert_non_null(strstr(err_text, "not an .npy file"));
    /* NaN in tile 3: named, and no output file */
    float *t;
    vxt_npy_info ti;
    t = load_npy(DATA "/monai_tiles.npy", &ti);
    t[3 * 2 * 720 + 100] = NAN;
    char p[512];
    snprintf(p, sizeof p, "%s/nan.npy", tmpdir);
    assert_ok(vxt_npy_write(p, VXT_DTYPE_F32, ti.ndim, ti.shape, t));
    free(t);
    assert_int_equal(cli("stitch %s -o %s/x.npy --shape 9,20,17 --roi 6,12,10 --overlap 0.5", p, tmpdir), 4);
    assert_non_null(strstr(err_text, "NaN for tile 3"));
    /* output directory missing */
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s/no/such/dir/x.npy --shape 9,20,17 --roi 6,12,10 "
                         "--overlap 0.5", tmpdir),
                     5);
    assert_non_null(strstr(err_text, "cannot create"));
    /* usage */
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy --shape 9,20,17 --roi 6,12,10"), 2);
    assert_non_null(strstr(err_text, "missing -o"));
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s/x.npy --shape 9,20,17 --roi 6,12,10 --accumulate half",
                         tmpdir),
                     2);
    assert_int_equal(cli("stitch " DATA "/monai_tiles.npy -o %s/x.npy --shape 9,20,17 --roi 6,12,10 --backend cuda",
                         tmpdir),
                     2);
    /* error messages are one line */
    assert_int_equal(strchr(err_text, '\n'), strrchr(err_text, '\n'));
    /* nothing but the two inputs made above was left behind */
    assert_int_equal(output_files(), before + 3);
}

/* Tiles of a type stitch cannot read (float64, int32) or with no channels (C = 0): exit 4 (an input the command
 * cannot use), a one-line message naming the file, its shape and type and what was expected, and no output. */
static void test_stitch_rejects_tile_type_and_zero_channels(void **state)
{
    (void)state;
    vxt_npy_info ti;
    float *t = load_npy(DATA "/monai_tiles.npy", &ti); /* (18, 2, 6, 12, 10) float32 */
    double *t64 = malloc(ti.count * sizeof *t64);
    int32_t *t32 = malloc(ti.count * sizeof *t32);
    assert_non_null(t64);
    assert_non_null(t32);
    for (uint64_t i = 0; i < ti.count; i++) {
        t64[i] = t[i];
        t32[i] = (int32_t)t[i];
    }
    char f64[512], i32[512], c0[512];
    snprintf(f64, sizeof f64, "%s/f64.npy", tmpdir);
    snprintf(i32, sizeof i32, "%s/i32.npy", tmpdir);
    snprintf(c0, sizeof c0, "%s/c0.npy", tmpdir);
    assert_ok(vxt_npy_write(f64, VXT_DTYPE_F64, ti.ndim, ti.shape, t64));
    assert_ok(vxt_npy_write(i32, VXT_DTYPE_I32, ti.ndim, ti.shape, t32));
    int64_t zero_c[5] = {18, 0, 6, 12, 10};
    assert_ok(vxt_npy_write(c0, VXT_DTYPE_F32, 5, zero_c, NULL));
    free(t);
    free(t64);
    free(t32);
    const char *plan = "--shape 9,20,17 --roi 6,12,10 --overlap 0.5 --backend cpu";
    struct {
        const char *path, *msg;
    } cases[] = {
        {f64, "array (18, 2, 6, 12, 10) of float64 does not match the plan: expected (18, C, 6, 12, 10) of float32 or "
              "float16"},
        {i32, "array (18, 2, 6, 12, 10) of int32 does not match the plan: expected (18, C, 6, 12, 10) of float32 or "
              "float16"},
        {c0, "array (18, 0, 6, 12, 10) of float32 does not match the plan: expected (18, C, 6, 12, 10) of float32 or "
             "float16"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (int argmax = 0; argmax < 2; argmax++) {
            int rc = cli("stitch %s -o %s/x.npy %s%s", cases[k].path, tmpdir, plan, argmax ? " --argmax" : "");
            if (rc != 4 || !strstr(err_text, cases[k].path) || !strstr(err_text, cases[k].msg))
                fail_msg("stitch %s%s: exit %d, stderr '%s'; expected exit 4 and '%s'", cases[k].path,
                         argmax ? " --argmax" : "", rc, err_text, cases[k].msg);
            assert_int_equal(strchr(err_text, '\n'), strrchr(err_text, '\n')); /* one line */
            assert_int_equal(out_text[0], '\0');
            assert_int_equal(output_files(), 3); /* the three inputs: no x.npy, no temporary file */
        }
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_plan_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stitch_matches_monai_and_nnunet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stitch_errors_leave_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stitch_rejects_tile_type_and_zero_channels, setup, teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
