/* test_cli_exit.c - one exit-status table for every command (tools/voxtile/cli.h, VXT_EXIT_MAP; docs/CLI.md):
 *   - the same kind of failure gives the same status in every command that can meet it: an unknown flag (2), a
 *     missing or corrupt input (4), a plan that does not load (6), a device that is not there (3), an output
 *     that cannot be written (5), a model that cannot be loaded (7), a run above its memory ceiling (10), an
 *     unknown command (2); each with one line on stderr naming the command;
 *   - docs/CLI.md's table is the header's, row for row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_exit.h"
#include "cli_test_util.h"

typedef struct row {
    int status;
    const char *args; /* after "voxtile "; %s stands for the test's folder */
} row;

static const row rows[] = {
    /* usage */
    {VXT_EXIT_USAGE, "frobnicate"},
    {VXT_EXIT_USAGE, "run %s/ct.nii.gz -o %s/o.nii.gz --model identity --roi 8 --bogus"},
    {VXT_EXIT_USAGE, "validate %s/ct.nii.gz --model identity --roi 8 --bogus"},
    {VXT_EXIT_USAGE, "stitch --bogus"},
    {VXT_EXIT_USAGE, "tiles --shape 8,8,8 --roi 4,4,4 --overlap 1.5"},
    {VXT_EXIT_USAGE, "resample %s/ct.nii.gz -o %s/o.nii.gz --bogus"},
    {VXT_EXIT_USAGE, "normalize %s/ct.nii.gz -o %s/o.nii.gz --bogus"},
    {VXT_EXIT_USAGE, "header %s/ct.nii.gz --bogus"},
    {VXT_EXIT_USAGE, "header %s/ct.nii.gz --histogram --bins 0"},
    {VXT_EXIT_USAGE, "normalize %s/ct.nii.gz -o %s/o.nii.gz --clip 2,1"},
    {VXT_EXIT_USAGE, "patches %s/ct.nii.gz --points %s/pts.csv --voxel -o %s/o.npy --size 3 --bogus"},
    {VXT_EXIT_USAGE, "patches %s/ct.nii.gz --points %s/pts.csv --voxel -o %s/o.npy --size 4"},
    {VXT_EXIT_USAGE, "phantom -o %s/x.nii.gz --bogus"},
    {VXT_EXIT_USAGE, "bench --bogus"},
    {VXT_EXIT_USAGE, "info --bogus"},
    {VXT_EXIT_USAGE, "run %s/ct.nii.gz -o %s/o.nii.gz --model identity --roi 8 --max-memory lots"},
    {VXT_EXIT_USAGE, "resample %s/ct.nii.gz -o %s/o.nii.gz --spacing 2 --max-device-buffer 0"},
    /* input: missing, and not an image */
    {VXT_EXIT_INPUT, "run %s/missing.nii.gz -o %s/o.nii.gz --model identity --roi 8"},
    {VXT_EXIT_INPUT, "run %s/bad.nii.gz -o %s/o.nii.gz --model identity --roi 8"},
    {VXT_EXIT_INPUT, "validate %s/missing.nii.gz --model identity --roi 8"},
    {VXT_EXIT_INPUT, "validate %s/bad.nii.gz --model identity --roi 8 --a cpu --b cpu,threads=1"},
    {VXT_EXIT_INPUT, "stitch %s/missing.npy --shape 8,8,8 --roi 4,4,4 -o %s/o.nii.gz"},
    {VXT_EXIT_INPUT, "stitch %s/bad.nii.gz --shape 8,8,8 --roi 4,4,4 -o %s/o.nii.gz"},
    {VXT_EXIT_INPUT, "resample %s/missing.nii.gz -o %s/o.nii.gz --spacing 2"},
    {VXT_EXIT_INPUT, "resample %s/bad.nii.gz -o %s/o.nii.gz --spacing 2"},
    {VXT_EXIT_INPUT, "normalize %s/missing.nii.gz -o %s/o.nii.gz --normalization zscore"},
    {VXT_EXIT_INPUT, "normalize %s/bad.nii.gz -o %s/o.nii.gz --normalization zscore"},
    {VXT_EXIT_INPUT, "header %s/missing.nii.gz"},
    {VXT_EXIT_INPUT, "header %s/bad.nii.gz"},
    {VXT_EXIT_INPUT, "patches %s/missing.nii.gz --points %s/pts.csv --voxel -o %s/o.npy --size 3"},
    {VXT_EXIT_INPUT, "patches %s/bad.nii.gz --points %s/pts.csv --voxel -o %s/o.npy --size 3"},
    {VXT_EXIT_INPUT, "patches %s/ct.nii.gz --points %s/bad.json --voxel -o %s/o.npy --size 3"},
    {VXT_EXIT_INPUT, "patches %s/ct.nii.gz --points %s/missing.csv --voxel -o %s/o.npy --size 3"},
    {VXT_EXIT_INPUT, "patches %s/ct.nii.gz --points %s/far.csv --voxel -o %s/o.npy --size 3"},
    {VXT_EXIT_INPUT, "run %s/ct.nii.gz -o %s/o.nii.gz --plan %s/missing.json"},
    /* plan */
    {VXT_EXIT_PLAN, "run %s/ct.nii.gz -o %s/o.nii.gz --plan %s/bad.json"},
    {VXT_EXIT_PLAN, "validate %s/ct.nii.gz --plan %s/bad.json"},
    {VXT_EXIT_PLAN, "run %s/ct.nii.gz -o %s/o.nii.gz --model identity"},
    {VXT_EXIT_PLAN, "tiles --shape 8,8,8"},
    /* device */
    {VXT_EXIT_DEVICE, "run %s/ct.nii.gz -o %s/o.nii.gz --model identity --roi 8 --backend opencl --device 99"},
    {VXT_EXIT_DEVICE, "validate %s/ct.nii.gz --model identity --roi 8 --device 99"},
    {VXT_EXIT_DEVICE, "resample %s/ct.nii.gz -o %s/o.nii.gz --spacing 2 --backend opencl --device 99"},
    {VXT_EXIT_DEVICE, "normalize %s/ct.nii.gz -o %s/o.nii.gz --normalization zscore --backend opencl --device 99"},
    {VXT_EXIT_DEVICE, "stitch %s/tiles.npy --shape 8,8,8 --roi 8,8,8 -o %s/o.nii.gz --backend opencl --device 99"},
    {VXT_EXIT_DEVICE, "bench --backend opencl --device 99 --size small --runs 2"},
    {VXT_EXIT_DEVICE, "info --backend opencl --device 99"},
    {VXT_EXIT_DEVICE, "patches %s/ct.nii.gz --points %s/pts.csv --voxel -o %s/o.npy --size 3 --backend opencl --device 99"},
    /* output */
    {VXT_EXIT_OUTPUT, "run %s/ct.nii.gz -o %s/nodir/o.nii.gz --model identity --roi 8"},
    {VXT_EXIT_OUTPUT, "resample %s/ct.nii.gz -o %s/nodir/o.nii.gz --spacing 2"},
    {VXT_EXIT_OUTPUT, "normalize %s/ct.nii.gz -o %s/nodir/o.nii.gz --normalization zscore"},
    {VXT_EXIT_OUTPUT, "phantom -o %s/nodir/ct.nii.gz"},
    {VXT_EXIT_OUTPUT, "patches %s/ct.nii.gz --points %s/pts.csv --voxel -o %s/nodir/o.npy --size 3"},
    {VXT_EXIT_OUTPUT, "stitch %s/tiles.npy --shape 8,8,8 --roi 8,8,8 -o %s/nodir/o.nii.gz"},
    /* model */
    {VXT_EXIT_MODEL, "run %s/ct.nii.gz -o %s/o.nii.gz --model plugin:/nonexistent/libmodel.so --roi 8"},
    {VXT_EXIT_MODEL, "validate %s/ct.nii.gz --model plugin:/nonexistent/libmodel.so --roi 8 --a cpu --b cpu,threads=1"},
    /* memory */
    {VXT_EXIT_MEMORY, "run %s/ct.nii.gz -o %s/o.nii.gz --model identity --roi 8 --max-memory 1M"},
    {VXT_EXIT_MEMORY, "validate %s/ct.nii.gz --model identity --roi 8 --a cpu --b cpu,threads=1 --max-memory 1M"},
    {VXT_EXIT_USAGE, "validate %s/ct.nii.gz --model identity --roi 8 --max-memory 12Q"},
};

/* The row's command line with every %s the test's folder. */
static void expand(const char *args, char *out, size_t n)
{
    out[0] = '\0';
    for (const char *p = args; *p;) {
        const char *s = strstr(p, "%s");
        size_t k = s ? (size_t)(s - p) : strlen(p);
        snprintf(out + strlen(out), n - strlen(out), "%.*s%s", (int)k, p, s ? cli_tmp : "");
        p += k + (s ? 2 : 0);
    }
}

/* A tile file for stitch: (1, channels, 8, 8, 8) float32, non-zero values. */
static void write_tiles(const char *name, int channels)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", cli_tmp, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    char hdr[128];
    int len = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, %d, 8, 8, 8), }",
                       channels);
    int pad = 64 - ((10 + len + 1) % 64);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    const unsigned short hl = (unsigned short)(len + pad + 1);
    fwrite(&hl, 2, 1, f);
    fwrite(hdr, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    for (int i = 0; i < 512 * channels; i++) {
        const float v = (float)(i % 5) - 1.5f;
        fwrite(&v, sizeof v, 1, f);
    }
    fclose(f);
}

static void test_every_command(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 8,24,24 --spacing 5,3,3");
    cli_write_text("bad.nii.gz", "not an image\n");
    cli_write_text("bad.json", "{\"roi\": \"x\"}\n");
    write_tiles("tiles.npy", 1);
    cli_write_text("pts.csv", "1,2,3\n");
    cli_write_text("far.csv", "1,2,300\n");
    int bad = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char args[2048];
        expand(rows[i].args, args, sizeof args);
        const int rc = cli("%s", args);
        const char *nl = strchr(cli_err, '\n');
        const int one_line = nl && nl[1] == '\0' && !strncmp(cli_err, "voxtile", 7);
        if (rc != rows[i].status || !one_line) {
            print_error("voxtile %s: exit %d, expected %d; stderr: %s\n", rows[i].args, rc, rows[i].status, cli_err);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* Commands that write several files write them as one set: when a later one cannot be written, the earlier ones
 * that existed keep their contents (phantom's CT beside its labels, stitch's labels beside the probabilities). */
static void test_failures_keep_earlier_files(void **state)
{
    (void)state;
    cli_write_text("ct.nii.gz", "the previous CT\n");
    int rc = cli("phantom -o %s/ct.nii.gz --label-map %s/nodir/labels.nii.gz --shape 4,8,8", cli_tmp, cli_tmp);
    assert_int_equal(rc, VXT_EXIT_OUTPUT);
    size_t n = 0;
    char path[512];
    snprintf(path, sizeof path, "%s/ct.nii.gz", cli_tmp);
    char *text = vxt_test_read_file(path, &n);
    assert_true(n == 16 && !memcmp(text, "the previous CT\n", 16));
    free(text);
    cli_write_text("labels.npy", "the previous labels\n");
    write_tiles("tiles.npy", 2);
    rc = cli("stitch %s/tiles.npy --shape 8,8,8 --roi 8,8,8 -o %s/labels.npy --probabilities %s/nodir/p.npy", cli_tmp,
             cli_tmp, cli_tmp);
    assert_int_equal(rc, VXT_EXIT_OUTPUT);
    snprintf(path, sizeof path, "%s/labels.npy", cli_tmp);
    text = vxt_test_read_file(path, &n);
    assert_true(n == 20 && !memcmp(text, "the previous labels\n", 20));
    free(text);
    /* and when both can be written, both are */
    rc = cli("stitch %s/tiles.npy --shape 8,8,8 --roi 8,8,8 -o %s/labels.npy --probabilities %s/p.npy", cli_tmp, cli_tmp,
             cli_tmp);
    assert_int_equal(rc, 0);
    text = vxt_test_read_file(path, &n);
    assert_true(n > 512 && !memcmp(text, "\x93NUMPY", 6));
    free(text);
}

/* docs/CLI.md's table: one row per status of VXT_EXIT_MAP, with its number and name, in order. */
static void test_docs_table(void **state)
{
    (void)state;
    size_t n = 0;
    char *doc = vxt_test_read_file(VXT_TEST_DATA_DIR "/../../docs/CLI.md", &n);
    assert_non_null(doc);
    const char *p = strstr(doc, "| status | name | meaning |");
    assert_non_null(p);
    int rows_seen = 0;
#define VXT_EXIT_CHECK_(name, value, word, text)                                                                  \
    do {                                                                                                           \
        char want[96];                                                                                             \
        snprintf(want, sizeof want, "\n| %d | `%s` | %s: ", value, #name, word);                                   \
        if (value == 0)                                                                                            \
            snprintf(want, sizeof want, "\n| %d | `%s` | ", value, #name);                                         \
        const char *at = strstr(p, want);                                                                          \
        if (!at)                                                                                                   \
            fail_msg("docs/CLI.md has no row '%s'", want + 1);                                                    \
        p = at + 1;                                                                                                \
        rows_seen++;                                                                                               \
    } while (0);
    VXT_EXIT_MAP(VXT_EXIT_CHECK_)
#undef VXT_EXIT_CHECK_
    assert_int_equal(rows_seen, 11);
    free(doc);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_every_command, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_failures_keep_earlier_files, cli_setup, cli_teardown),
        cmocka_unit_test(test_docs_table),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
