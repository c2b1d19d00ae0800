/* test_cli_dicom.c - the voxtile tool on DICOM inputs, from the series tools/make_dicom_testdata.py makes (its
 * folder is given by the environment variable VXT_DICOM_DATA, which a CTest fixture sets; the test fails when it is
 * not set): `header` lists every series of a folder (readable or not) and exits 0; `convert` writes what the
 * library reads from the folder (shape, affine, voxels, scaling), chooses among several series by --series (number
 * or UID) and refuses without it (exit 4, the series listed); gaps and gantry tilt are refused by default and read
 * with --keep-irregular and --tilt correct; a bad --tilt is a usage error (2); a broken file exits 4 and leaves no
 * output, and a failed conversion leaves an existing output as it was; `run`'s summary names the series; every
 * command that reads an image takes the DICOM flags, described in the same words; `normalize --replace padding=W`
 * replaces the series' PixelPaddingValue. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_test_util.h"

static char data[2048];  /* VXT_DICOM_DATA */
static cJSON *manifest; /* its manifest.json */

/* "<data>/<rel>" in a static buffer (one of four, reused in turn). */
static const char *dpath(const char *rel)
{
    static char buf[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", data, rel);
    return buf[k];
}

/* The manifest's entry of case `name`. */
static const cJSON *manifest_case(const char *name)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(manifest, "cases"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "name");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
            return c;
    }
    fail_msg("manifest.json has no case '%s'", name);
    return NULL;
}

/* Series k (0, 1) of two_series in the manifest. */
static const cJSON *two_series(int k)
{
    const cJSON *s = cJSON_GetArrayItem(cli_json(manifest_case("two_series"), "series"), k);
    assert_non_null(s);
    return s;
}

static void assert_shape(const vxt_image *img, const cJSON *shape)
{
    vxt_image_info i = {.struct_size = sizeof i};
    assert_ok(vxt_image_get_info(img, &i));
    for (int a = 0; a < 3; a++)
        if ((double)i.shape[a] != cJSON_GetArrayItem(shape, a)->valuedouble)
            fail_msg("shape[%d] = %lld, the manifest says %g", a, (long long)i.shape[a],
                     cJSON_GetArrayItem(shape, a)->valuedouble);
}

/* An image as the library reads it: stored values, DICOM flags and series as given. */
static vxt_image *read_lib(const char *path, const char *series, unsigned flags)
{
    vxt_read_options ro;
    vxt_read_options_init(&ro);
    ro.scaling = VXT_SCALING_RAW;
    ro.dicom_series = series;
    ro.dicom_flags = flags;
    vxt_image *img = NULL;
    vxt_status st = vxt_image_read_path(path, &ro, &img);
    if (st != VXT_OK)
        fail_msg("vxt_image_read_path(%s): %s", path, vxt_last_error());
    return img;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* cli_out holds `needle`. */
static void assert_out(const char *needle)
{
    if (!strstr(cli_out, needle))
        fail_msg("stdout lacks '%s':\n%s\nstderr: %s", needle, cli_out, cli_err);
}

/* ---- header ------------------------------------------------------------------------------------------------ */

/* Two series: both listed (number, UID, SeriesNumber, description, shape), no image header (neither is the only
 * one), exit 0; the JSON has both in "dicom_series"; --series shows one's image header. */
static void test_header_two_series(void **state)
{
    (void)state;
    const char *dir = dpath("series/two_series");
    assert_int_equal(cli("header %s", dir), 0);
    assert_string_equal(cli_err, "");
    assert_out("dicom            2 series");
    for (int k = 0; k < 2; k++) {
        const cJSON *s = two_series(k);
        char line[256];
        snprintf(line, sizeof line, "series %d         %s\n", k + 1, cli_json_string(s, "series_uid"));
        assert_out(line);
        snprintf(line, sizeof line, "  number         %.0f\n", cli_json_number(s, "series_number"));
        assert_out(line);
        snprintf(line, sizeof line, "  description    \"%s\"\n", cli_json_string(s, "description"));
        assert_out(line);
        const cJSON *shape = cli_json(s, "shape");
        snprintf(line, sizeof line, "  shape          %.0f x %.0f x %.0f (slices x rows x columns)",
                 cJSON_GetArrayItem(shape, 0)->valuedouble, cJSON_GetArrayItem(shape, 1)->valuedouble,
                 cJSON_GetArrayItem(shape, 2)->valuedouble);
        assert_out(line);
    }
    assert_null(strstr(cli_out, "\nshape ")); /* no image header: there is no one series to show */
    assert_null(strstr(cli_out, "readable       no"));
    /* values of which series? --stats and --histogram need one chosen */
    assert_int_equal(cli("header --histogram %s", dir), 2);
    cli_assert_one_line_error("--histogram needs one series");
    assert_int_equal(cli("header --stats %s", dir), 2);
    cli_assert_one_line_error("--stats needs one series");
    assert_int_equal(cli("header --histogram --series 2 %s", dir), 0);

    assert_int_equal(cli("header --json %s", dir), 0);
    cJSON *j = cli_out_json();
    assert_string_equal(cli_json_string(j, "format"), "dicom");
    const cJSON *list = cli_json(j, "dicom_series");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    for (int k = 0; k < 2; k++) {
        const cJSON *got = cJSON_GetArrayItem(list, k), *want = two_series(k);
        assert_true(cli_json_number(got, "index") == k + 1);
        assert_string_equal(cli_json_string(got, "uid"), cli_json_string(want, "series_uid"));
        assert_true(cli_json_number(got, "number") == cli_json_number(want, "series_number"));
        assert_string_equal(cli_json_string(got, "description"), cli_json_string(want, "description"));
        assert_true(cJSON_IsTrue(cli_json(got, "readable")));
        for (int a = 0; a < 3; a++) {
            assert_true(cJSON_GetArrayItem(cli_json(got, "shape"), a)->valuedouble ==
                        cJSON_GetArrayItem(cli_json(want, "shape"), a)->valuedouble);
            assert_true(fabs(cJSON_GetArrayItem(cli_json(got, "spacing"), a)->valuedouble -
                             cJSON_GetArrayItem(cli_json(want, "spacing"), a)->valuedouble) < 1e-6);
        }
    }
    assert_true(cJSON_IsNull(cli_json(j, "image_series")));
    assert_true(cli_json_number(j, "dicom_skipped_files") == 0);
    cJSON_Delete(j);

    /* --series (a number, a UID): that series' image header, then the list */
    assert_int_equal(cli("header %s --series 2", dir), 0);
    char want[256];
    snprintf(want, sizeof want, "description      \"%s\"\n", cli_json_string(two_series(1), "description"));
    assert_out(want);
    assert_out("the header above is series 2's");
    assert_int_equal(cli("header --json %s --series %s", dir, cli_json_string(two_series(0), "series_uid")), 0);
    j = cli_out_json();
    assert_true(cli_json_number(j, "image_series") == 1);
    assert_string_equal(cli_json_string(j, "description"), cli_json_string(two_series(0), "description"));
    assert_int_equal(cJSON_GetArraySize(cli_json(j, "dicom_series")), 2);
    cJSON_Delete(j);
    /* a series that is not there is an error */
    assert_int_equal(cli("header %s --series 3", dir), 4);
    cli_assert_one_line_error("series 3");
}

/* One series: the image header as for NIfTI (what the library reads), then the list; a series that cannot be read
 * (a gap) is listed with why, exit 0, and --keep-irregular reads it. */
static void test_header_one_series(void **state)
{
    (void)state;
    assert_int_equal(cli("header %s", dpath("series/ct_axial")), 0);
    assert_out("format           dicom\n");
    assert_out("shape            20 x 48 x 64 (z, y, x)");
    assert_out("description      \"CT AXIAL HEAD\"\n");
    assert_out("the header above is series 1's");
    assert_out("  readable       yes\n");

    assert_int_equal(cli("header %s", dpath("series/ct_gap")), 0);
    assert_null(strstr(cli_out, "\nshape "));
    assert_out("  readable       no: slice spacing: a gap");
    assert_int_equal(cli("header --json %s", dpath("series/ct_gap")), 0);
    cJSON *j = cli_out_json();
    const cJSON *s = cJSON_GetArrayItem(cli_json(j, "dicom_series"), 0);
    assert_false(cJSON_IsTrue(cli_json(s, "readable")));
    assert_non_null(strstr(cli_json_string(s, "problem"), "gap"));
    cJSON_Delete(j);
    assert_int_equal(cli("header %s --keep-irregular", dpath("series/ct_gap")), 0);
    assert_out("notes            slice spacing has a gap");
    assert_out("  readable       yes\n");

    /* nothing to list: a folder of one broken file, a folder without DICOM */
    assert_int_equal(cli("header %s", dpath("bad/truncated")), 4);
    cli_assert_one_line_error("truncated");
    assert_int_equal(cli("header %s", dpath("bad/not_dicom")), 4);
    cli_assert_one_line_error("DICOM");
}

/* ---- convert ----------------------------------------------------------------------------------------------- */

/* ct_axial to .nii.gz: the file reads back with the folder's shape, affine (float32 in the header), stored voxels
 * and rescale; the summary line names the series and the output. */
static void test_convert_ct_axial(void **state)
{
    (void)state;
    const char *dir = dpath("series/ct_axial"), *out = cli_path("ct.nii.gz");
    assert_int_equal(cli("convert %s -o %s", dir, out), 0);
    assert_string_equal(cli_err, "");
    assert_non_null(strchr(cli_out, '\n'));
    assert_string_equal(strchr(cli_out, '\n'), "\n"); /* one line */
    assert_out("\"CT AXIAL HEAD\"");
    assert_out("20 x 48 x 64");
    assert_out(out);
    vxt_image *a = read_lib(dir, NULL, 0), *b = read_lib(out, NULL, 0);
    vxt_image_info ia = {.struct_size = sizeof ia}, ib = {.struct_size = sizeof ib};
    assert_ok(vxt_image_get_info(a, &ia));
    assert_ok(vxt_image_get_info(b, &ib));
    assert_int_equal(ib.format, VXT_FORMAT_NIFTI);
    assert_memory_equal(ia.shape, ib.shape, sizeof ia.shape);
    assert_shape(b, cli_json(manifest_case("ct_axial"), "shape"));
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            if (fabs(ia.affine[r][c] - ib.affine[r][c]) > 1e-4)
                fail_msg("affine[%d][%d]: %.9g from the folder, %.9g from the file", r, c, ia.affine[r][c],
                         ib.affine[r][c]);
    assert_string_equal(ia.orientation, ib.orientation);
    assert_int_equal(ia.dtype, ib.dtype);
    assert_true(ia.scl_slope == ib.scl_slope && ia.scl_inter == ib.scl_inter);
    vxt_volume va, vb;
    assert_ok(vxt_image_volume(a, &va));
    assert_ok(vxt_image_volume(b, &vb));
    assert_memory_equal(va.data, vb.data, (size_t)(ia.shape[0] * ia.shape[1] * ia.shape[2]) * vxt_dtype_size(ia.dtype));
    vxt_image_destroy(a);
    vxt_image_destroy(b);

    /* --json: the same facts as an object; --quiet: nothing */
    assert_int_equal(cli("convert %s -o %s --json --scaling float32", dir, cli_path("ct.npy")), 0);
    cJSON *j = cli_out_json();
    assert_string_equal(cli_json_string(j, "format"), "dicom");
    assert_string_equal(cli_json_string(j, "description"), "CT AXIAL HEAD");
    assert_string_equal(cli_json_string(j, "dtype"), "float32");
    assert_string_equal(cli_json_string(j, "output"), cli_path("ct.npy"));
    cJSON_Delete(j);
    assert_int_equal(cli("convert %s -o %s --quiet", dir, cli_path("ct2.nii")), 0);
    assert_string_equal(cli_out, "");
    assert_true(exists(cli_path("ct2.nii")));
}

/* Two series: refused without --series (exit 4, both listed), read with a number or a UID. */
static void test_convert_series(void **state)
{
    (void)state;
    const char *dir = dpath("series/two_series");
    assert_int_equal(cli("convert %s -o %s", dir, cli_path("x.nii.gz")), 4);
    cli_assert_one_line_error(cli_json_string(two_series(0), "series_uid"));
    cli_assert_one_line_error(cli_json_string(two_series(1), "series_uid"));
    assert_int_equal(cli_files(), 0);

    assert_int_equal(cli("convert %s -o %s --series 2", dir, cli_path("s2.nii.gz")), 0);
    vxt_image *img = read_lib(cli_path("s2.nii.gz"), NULL, 0);
    assert_shape(img, cli_json(two_series(1), "shape"));
    vxt_image_destroy(img);
    assert_out(cli_json_string(two_series(1), "description"));

    assert_int_equal(cli("convert %s -o %s --series %s", dir, cli_path("s1.nii.gz"),
                         cli_json_string(two_series(0), "series_uid")),
                     0);
    img = read_lib(cli_path("s1.nii.gz"), NULL, 0);
    assert_shape(img, cli_json(two_series(0), "shape"));
    vxt_image_destroy(img);

    assert_int_equal(cli("convert %s -o %s --series 9", dir, cli_path("s9.nii.gz")), 4);
    cli_assert_one_line_error("series 9");
    assert_false(exists(cli_path("s9.nii.gz")));
}

/* A gap: refused by default, read with --keep-irregular (the note says so); a gantry tilt: refused (also with
 * --tilt refuse), read with --tilt correct. */
static void test_convert_gap_and_tilt(void **state)
{
    (void)state;
    assert_int_equal(cli("convert %s -o %s", dpath("series/ct_gap"), cli_path("gap.nii.gz")), 4);
    cli_assert_one_line_error("gap");
    assert_false(exists(cli_path("gap.nii.gz")));
    assert_int_equal(cli("convert %s -o %s --keep-irregular", dpath("series/ct_gap"), cli_path("gap.nii.gz")), 0);
    assert_out("gap");
    vxt_image *img = read_lib(cli_path("gap.nii.gz"), NULL, 0);
    assert_shape(img, cli_json(manifest_case("ct_gap"), "shape"));
    vxt_image_destroy(img);

    for (int explicit_refuse = 0; explicit_refuse < 2; explicit_refuse++) {
        assert_int_equal(cli("convert %s -o %s%s", dpath("series/ct_tilt"), cli_path("tilt.nii.gz"),
                             explicit_refuse ? " --tilt refuse" : ""),
                         4);
        cli_assert_one_line_error("tilt");
        assert_false(exists(cli_path("tilt.nii.gz")));
    }
    assert_int_equal(cli("convert %s -o %s --tilt correct", dpath("series/ct_tilt"), cli_path("tilt.nii.gz")), 0);
    assert_out("corrected");
    img = read_lib(cli_path("tilt.nii.gz"), NULL, 0);
    vxt_image *lib = read_lib(dpath("series/ct_tilt"), NULL, VXT_DICOM_CORRECT_TILT);
    vxt_image_info a = {.struct_size = sizeof a}, b = {.struct_size = sizeof b};
    assert_ok(vxt_image_get_info(img, &a));
    assert_ok(vxt_image_get_info(lib, &b));
    assert_memory_equal(a.shape, b.shape, sizeof a.shape);
    vxt_image_destroy(img);
    vxt_image_destroy(lib);
}

/* Usage errors (2), before anything is read or written: a bad --tilt, an empty --series, a bad --scaling, a
 * missing -o, an output name of no image format. */
static void test_convert_usage(void **state)
{
    (void)state;
    static const struct {
        const char *in, *before, *after, *needle; /* convert DATA/in before OUT after */
    } cases[] = {
        {"series/ct_tilt", "-o ", " --tilt sideways", "--tilt 'sideways'"},
        {"series/ct_tilt", "-o ", " --tilt", "--tilt needs a value"},
        {"series/ct_axial", "-o ", " --series=", "--series"},
        {"series/ct_axial", "-o ", " --scaling half", "--scaling"},
        {"series/ct_axial", "-o ", ".png", "must end in"},
        {"series/ct_axial", "", "", "unexpected argument"},
        {"series/ct_axial", NULL, "", "missing -o"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[4096];
        snprintf(line, sizeof line, "convert %s %s%s%s", dpath(cases[i].in), cases[i].before ? cases[i].before : "",
                 cases[i].before ? cli_path("o.nii.gz") : "", cases[i].after);
        const int rc = cli("%s", line);
        if (rc != 2)
            fail_msg("voxtile %s: exit %d, expected 2: %s", line, rc, cli_err);
        cli_assert_one_line_error(cases[i].needle);
        assert_int_equal(cli_files(), 0);
    }
    assert_int_equal(cli("header %s --tilt sideways", dpath("series/ct_tilt")), 2);
    cli_assert_one_line_error("--tilt 'sideways': expected refuse or correct");
    assert_int_equal(cli("run %s -o %s --model identity --roi 8 --tilt no", dpath("series/ct_tilt"),
                         cli_path("l.nii.gz")),
                     2);
    cli_assert_one_line_error("--tilt 'no'");
}

/* A truncated file: exit 4 and nothing written; an existing output stays as it was when a conversion fails. */
static void test_convert_failures_write_nothing(void **state)
{
    (void)state;
    assert_int_equal(cli("convert %s -o %s", dpath("bad/truncated"), cli_path("t.nii.gz")), 4);
    cli_assert_one_line_error("truncated");
    assert_int_equal(cli_files(), 0);
    assert_int_equal(cli("convert %s -o %s", dpath("bad/not_dicom"), cli_path("t.nii.gz")), 4);
    assert_int_equal(cli_files(), 0);

    cli_write_text("old.nii.gz", "the previous output\n");
    const char *fails[] = {"bad/truncated", "series/two_series", "series/ct_tilt", "series/ct_gap", "bad/nope"};
    for (size_t i = 0; i < sizeof fails / sizeof fails[0]; i++) {
        const int rc = cli("convert %s -o %s", dpath(fails[i]), cli_path("old.nii.gz"));
        if (rc != 4)
            fail_msg("convert %s: exit %d, expected 4: %s", fails[i], rc, cli_err);
        size_t n = 0;
        char *text = vxt_test_read_file(cli_path("old.nii.gz"), &n);
        assert_non_null(text);
        assert_int_equal(n, strlen("the previous output\n"));
        assert_memory_equal(text, "the previous output\n", n);
        free(text);
        assert_int_equal(cli_files(), 1); /* no temporary file left */
    }
}

/* ---- run and the other commands ------------------------------------------------------------------------------ */

/* run's summary names the series: its description, spacing and orientation (text and JSON); the DICOM flags reach
 * its reads (the header read for the memory estimate, and the voxels). */
static void test_run_summary(void **state)
{
    (void)state;
    vxt_image *lib = read_lib(dpath("series/ct_tilt"), NULL, VXT_DICOM_CORRECT_TILT);
    vxt_image_info i = {.struct_size = sizeof i};
    assert_ok(vxt_image_get_info(lib, &i));
    const char *args = "--model identity --roi 8 --backend cpu";
    assert_int_equal(cli("run %s -o %s %s", dpath("series/ct_tilt"), cli_path("l.nii.gz"), args), 4);
    cli_assert_one_line_error("tilt");
    assert_int_equal(cli("run %s -o %s %s --tilt correct", dpath("series/ct_tilt"), cli_path("l.nii.gz"), args), 0);
    char want[512];
    snprintf(want, sizeof want, "  DICOM series \"%s\": spacing %.6g x %.6g x %.6g mm (z, y, x), orientation %s; ",
             i.description, i.spacing[0], i.spacing[1], i.spacing[2], i.orientation);
    assert_out(want);
    assert_out("corrected");
    assert_int_equal(cli("run %s -o %s %s --tilt correct --json", dpath("series/ct_tilt"), cli_path("l.nii.gz"), args),
                     0);
    cJSON *j = cli_out_json();
    const cJSON *s = cli_json(j, "series");
    assert_string_equal(cli_json_string(s, "description"), i.description);
    assert_string_equal(cli_json_string(s, "orientation"), i.orientation);
    for (int a = 0; a < 3; a++)
        assert_true(cJSON_GetArrayItem(cli_json(s, "spacing"), a)->valuedouble == i.spacing[a]);
    assert_non_null(strstr(cli_json_string(s, "notes"), "corrected"));
    cJSON_Delete(j);
    vxt_image_destroy(lib);
    /* a NIfTI input has no such line */
    assert_int_equal(cli("convert %s -o %s --quiet", dpath("series/ct_axial"), cli_path("ct.nii.gz")), 0);
    assert_int_equal(cli("run %s -o %s %s", cli_path("ct.nii.gz"), cli_path("l.nii.gz"), args), 0);
    assert_null(strstr(cli_out, "DICOM series"));
}

/* Every command that reads an image takes the DICOM flags, with the same help; they reach its read. */
static void test_every_reader_takes_the_flags(void **state)
{
    (void)state;
    static const char *const cmds[] = {"run", "header", "normalize", "resample", "stitch", "validate", "convert"};
    char first[1024] = "";
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        assert_int_equal(cli("%s --help", cmds[i]), 0);
        const char *sec = strstr(cli_out, "\nDICOM input");
        if (!sec)
            fail_msg("voxtile %s --help has no DICOM input section:\n%s", cmds[i], cli_out);
        const char *end = strstr(sec, "\nexit status:");
        char text[1024];
        snprintf(text, sizeof text, "%.*s", end ? (int)(end - sec) : 0, sec);
        for (const char *f = "--series\0--keep-irregular\0--drop-duplicates\0--tilt refuse|correct\0"; *f;
             f += strlen(f) + 1)
            if (!strstr(text, f))
                fail_msg("voxtile %s --help: no %s in its DICOM section", cmds[i], f);
        if (!first[0])
            snprintf(first, sizeof first, "%s", text);
        else if (strncmp(text, first, strlen(first)) != 0)
            fail_msg("voxtile %s --help describes the DICOM flags otherwise:\n%s\n---\n%s", cmds[i], text, first);
    }
    for (size_t i = 0; i < 4; i++) /* the commands without an image input do not take them */
        assert_int_equal(cli("%s --series 1", (const char *[]){"tiles", "phantom", "bench", "info"}[i]), 2);
    /* they reach each command's read: refused without, read with */
    const char *tilt = dpath("series/ct_tilt");
    assert_int_equal(cli("resample %s -o %s --spacing 3 --backend cpu", tilt, cli_path("r.nii.gz")), 4);
    assert_int_equal(cli("resample %s -o %s --spacing 3 --backend cpu --tilt correct", tilt, cli_path("r.nii.gz")), 0);
    const char *two = dpath("series/two_series");
    assert_int_equal(cli("normalize %s -o %s --normalization zscore --backend cpu", two, cli_path("n.nii.gz")), 4);
    assert_int_equal(cli("normalize %s -o %s --normalization zscore --backend cpu --series 1", two,
                         cli_path("n.nii.gz")),
                     0);
    vxt_image *img = read_lib(cli_path("n.nii.gz"), NULL, 0);
    assert_shape(img, cli_json(two_series(0), "shape"));
    vxt_image_destroy(img);
    const char *val = "--model identity --roi 8 --a cpu --b cpu,threads=1";
    assert_int_equal(cli("validate %s %s", two, val), 4);
    assert_int_equal(cli("validate %s %s --series 2", two, val), 0);
}

/* normalize --replace padding=W: the voxels the reader reports as padding (PixelPaddingValue, compared on the values
 * the image holds) become W, the others are the rescaled values; --replace with the padding's value in intensity
 * units gives the same voxels; the summary says what "padding" stood for. */
static void test_normalize_replaces_padding(void **state)
{
    (void)state;
    const char *dir = dpath("series/ct_axial");
    vxt_image *img = read_lib(dir, NULL, 0);
    vxt_image_info info = {.struct_size = sizeof info};
    assert_ok(vxt_image_get_info(img, &info));
    assert_true(info.has_padding);
    assert_int_equal(info.stored_dtype, VXT_DTYPE_I16);
    vxt_volume raw;
    assert_ok(vxt_image_volume(img, &raw));
    const size_t n = (size_t)(raw.shape[0] * raw.shape[1] * raw.shape[2]);
    const float slope = (float)info.scl_slope, inter = (float)info.scl_inter;
    const float pad_hu = (float)info.padding_value * slope + inter;
    int rc = cli("normalize %s -o %s --replace padding=-1024 --backend cpu --json", dir, cli_path("pad.nii.gz"));
    if (rc != 0)
        fail_msg("exit %d: %s", rc, cli_err);
    cJSON *j = cli_out_json();
    assert_true(cli_json_number(j, "padding_value") == info.padding_value);
    cJSON_Delete(j);
    char hu[64];
    snprintf(hu, sizeof hu, "%.9g", (double)pad_hu);
    assert_int_equal(cli("normalize %s -o %s --replace %s=-1024 --backend cpu", dir, cli_path("hu.nii.gz"), hu), 0);
    vxt_image *a = read_lib(cli_path("pad.nii.gz"), NULL, 0), *b = read_lib(cli_path("hu.nii.gz"), NULL, 0);
    vxt_volume va, vb;
    assert_ok(vxt_image_volume(a, &va));
    assert_ok(vxt_image_volume(b, &vb));
    assert_int_equal(va.dtype, VXT_DTYPE_F32);
    const int16_t *stored = raw.data;
    const float *got = va.data;
    size_t replaced = 0;
    for (size_t i = 0; i < n; i++) {
        const int pad = stored[i] == (int16_t)info.padding_value;
        const float want = pad ? -1024.0f : (float)stored[i] * slope + inter;
        if (got[i] != want)
            fail_msg("voxel %zu (stored %d): %.9g, expected %.9g", i, stored[i], (double)got[i], (double)want);
        replaced += pad;
    }
    assert_true(replaced > 0 && replaced < n);
    assert_memory_equal(va.data, vb.data, n * sizeof(float));
    vxt_image_destroy(a);
    vxt_image_destroy(b);
    vxt_image_destroy(img);
}

int main(int argc, char **argv)
{
    const char *d = getenv("VXT_DICOM_DATA");
    struct stat sb;
    if (!d || !*d) {
        fprintf(stderr, "test_cli_dicom: VXT_DICOM_DATA is not set: it must name the folder that "
                        "`python3 tools/make_dicom_testdata.py DIR` made (the CTest fixture sets it)\n");
        return 1;
    }
    snprintf(data, sizeof data, "%s", d);
    size_t n = 0;
    char *text = stat(dpath("series"), &sb) == 0 ? vxt_test_read_file(dpath("manifest.json"), &n) : NULL;
    manifest = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!manifest) {
        fprintf(stderr, "test_cli_dicom: VXT_DICOM_DATA=%s holds no series/ and manifest.json made by "
                        "tools/make_dicom_testdata.py\n", d);
        return 1;
    }
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_header_two_series, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_header_one_series, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_convert_ct_axial, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_convert_series, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_convert_gap_and_tilt, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_convert_usage, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_convert_failures_write_nothing, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_run_summary, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_every_reader_takes_the_flags, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_normalize_replaces_padding, cli_setup, cli_teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    const int rc = vxt_test_main(argc, argv, groups, 1);
    cJSON_Delete(manifest);
    return rc;
}
