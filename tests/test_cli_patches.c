/* test_cli_patches.c - `voxtile patches` end to end, on an image with an oblique, anisotropic affine written here:
 *   - world points (RAS+, and the same as LPS+ with --lps) land on the voxel whose centre is nearest, computed here
 *     from the affine the file holds; voxel points (--voxel, z,y,x) give the same files;
 *   - tri-planar patches equal the volume's slices through that voxel (axial z fixed, sagittal x, coronal y), padded
 *     with the image's minimum (or --fill); planes of different sizes go to one file per plane; 3D boxes (even sizes
 *     included) equal the volume's boxes; several channels get a channel axis;
 *   - the index: one row per point (id, line, the point, the voxel, its RAS centre, padded, fill);
 *   - the points file read robustly (header or none, comments, blank lines, CRLF, a byte order mark, quotes, a
 *     LUNA16-style header with extra columns) and its errors (exit 4 naming the line), a point outside the image
 *     (4), usage errors (2), an output directory that is missing (5): one line, and nothing written -- an existing
 *     output left as it was;
 *   - OpenCL writes the CPU's bytes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_test_util.h"

#define NDATA VXT_TEST_DATA_DIR "/nifti"

enum { NZ = 14, NY = 19, NX = 23 };

/* The test image: int16, values (z * 37 + y * 11 + x * 5) % 900 - 300 (minimum -300), an oblique affine (30 degrees
 * about z, 1.5 x 0.9 x 0.7 mm voxels, an offset). Returns the affine the file holds (float32 in the sform). */
static void write_image(const char *name, double aff_out[4][4])
{
    const int64_t shape[3] = {NZ, NY, NX};
    vxt_image *img = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_I16, 1, shape, NULL, &img));
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    int16_t *p = v.data;
    for (int z = 0; z < NZ; z++)
        for (int y = 0; y < NY; y++)
            for (int x = 0; x < NX; x++)
                p[(z * NY + y) * NX + x] = (int16_t)((z * 37 + y * 11 + x * 5) % 900 - 300);
    const double c = cos(M_PI / 6), s = sin(M_PI / 6), sp[3] = {0.7, 0.9, 1.5}; /* i, j, k */
    double aff[16] = {c * sp[0], -s * sp[1], 0, -12.5, s * sp[0], c * sp[1], 0, 30.25, 0, 0, sp[2], -7.0, 0, 0, 0, 1};
    vxt_geometry g;
    vxt_geometry_init(&g);
    assert_ok(vxt_geometry_from_affine(aff, 1, &g));
    assert_ok(vxt_image_set_geometry(img, &g));
    assert_ok(vxt_nifti_write_file(img, cli_path(name), NULL));
    vxt_image_destroy(img);
    vxt_image *back = cli_read_image(cli_path(name));
    vxt_image_info info = {.struct_size = sizeof info};
    assert_ok(vxt_image_get_info(back, &info));
    memcpy(aff_out, info.affine, sizeof info.affine);
    vxt_image_destroy(back);
}

static float value(int z, int y, int x, float fill)
{
    if (z < 0 || z >= NZ || y < 0 || y >= NY || x < 0 || x >= NX)
        return fill;
    return (float)((z * 37 + y * 11 + x * 5) % 900 - 300);
}

/* The RAS position of voxel (z, y, x) + d (d in voxels, z y x). */
static void world_of(double a[4][4], const double zyx[3], double w[3])
{
    for (int r = 0; r < 3; r++)
        w[r] = a[r][0] * zyx[2] + a[r][1] * zyx[1] + a[r][2] * zyx[0] + a[r][3];
}

/* The points: voxels inside, near each border, a corner; each given off its centre by less than half a voxel. */
enum { NP = 6 };
static const int pts[NP][3] = {{7, 9, 11}, {0, 0, 0}, {13, 18, 22}, {3, 17, 2}, {11, 1, 20}, {6, 10, 0}};
static const double off[NP][3] = {{0.3, -0.2, 0.45}, {-0.4, 0.1, 0}, {0.2, 0.3, -0.3}, {0, 0, 0}, {-0.1, -0.45, 0.2},
                                  {0.49, 0, -0.49}};

/* A points file of the points: world RAS (lps: x, y negated), or voxel z,y,x; with a header and ids, or not. */
static void write_points(const char *name, double a[4][4], int mode, int header)
{
    char text[8192] = "";
    if (header)
        snprintf(text, sizeof text, mode == 2 ? "id,k,j,i\n" : "id,x,y,z\n");
    for (int i = 0; i < NP; i++) {
        double zyx[3] = {pts[i][0] + off[i][0], pts[i][1] + off[i][1], pts[i][2] + off[i][2]}, w[3];
        world_of(a, zyx, w);
        char id[8] = "", line[256];
        if (header) /* ids p0 .. p5 */
            snprintf(id, sizeof id, "p%d,", i);
        if (mode == 2) /* voxel: z, y, x (with the header k, j, i) */
            snprintf(line, sizeof line, "%s%.17g,%.17g,%.17g\n", id, zyx[0], zyx[1], zyx[2]);
        else
            snprintf(line, sizeof line, "%s%.17g,%.17g,%.17g\n", id, mode == 1 ? -w[0] : w[0], mode == 1 ? -w[1] : w[1],
                     w[2]);
        strcat(text, line);
    }
    cli_write_text(name, text);
}

/* The index's rows (after its header): voxel and RAS columns checked against the points; padded flags returned. */
static void check_index(const char *name, double a[4][4], double fill, int *padded)
{
    size_t n = 0;
    char *text = vxt_test_read_file(cli_path(name), &n);
    assert_non_null(text);
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    assert_string_equal(line, "row,id,line,x,y,z,voxel_z,voxel_y,voxel_x,ras_x,ras_y,ras_z,padded,fill");
    for (int i = 0; i < NP; i++) {
        line = strtok_r(NULL, "\n", &save);
        assert_non_null(line);
        int row, ln, vz, vy, vx, pad;
        char id[32];
        double x, y, z, rx, ry, rz, f;
        int got = sscanf(line, "%d,%31[^,],%d,%lf,%lf,%lf,%d,%d,%d,%lf,%lf,%lf,%d,%lf", &row, id, &ln, &x, &y, &z, &vz,
                         &vy, &vx, &rx, &ry, &rz, &pad, &f);
        if (got != 14)
            fail_msg("index row '%s'", line);
        char want_id[8];
        snprintf(want_id, sizeof want_id, "p%d", i);
        assert_int_equal(row, i);
        assert_string_equal(id, want_id);
        assert_int_equal(ln, i + 2);
        assert_int_equal(vz, pts[i][0]);
        assert_int_equal(vy, pts[i][1]);
        assert_int_equal(vx, pts[i][2]);
        const double c[3] = {pts[i][0], pts[i][1], pts[i][2]};
        double w[3];
        world_of(a, c, w);
        assert_true(fabs(rx - w[0]) < 1e-9 && fabs(ry - w[1]) < 1e-9 && fabs(rz - w[2]) < 1e-9);
        assert_true(f == fill);
        padded[i] = pad;
    }
    assert_null(strtok_r(NULL, "\n", &save));
    free(text);
}

/* Patch of plane p (0 axial, 1 sagittal, 2 coronal) of r x c around point i, as this test cuts it. */
static void check_plane(const float *got, int p, int i, int r, int c, float fill)
{
    const int z = pts[i][0], y = pts[i][1], x = pts[i][2];
    for (int a = 0; a < r; a++)
        for (int b = 0; b < c; b++) {
            const int dr = a - r / 2, dc = b - c / 2;
            const float want = p == 0   ? value(z, y + dr, x + dc, fill)
                               : p == 1 ? value(z + dr, y + dc, x, fill)
                                        : value(z + dr, y, x + dc, fill);
            if (got[a * c + b] != want)
                fail_msg("point %d plane %d (%d x %d) at (%d, %d): %g, expected %g", i, p, r, c, a, b,
                         (double)got[a * c + b], (double)want);
        }
}

static void test_planes(void **state)
{
    (void)state;
    double a[4][4];
    write_image("img.nii.gz", a);
    write_points("ras.csv", a, 0, 1);
    int rc = cli("patches %s --points %s -o %s --index %s --size 7,9 --backend cpu --json", cli_path("img.nii.gz"),
                 cli_path("ras.csv"), cli_path("p.npy"), cli_path("p.csv"));
    if (rc != 0)
        fail_msg("exit %d: %s", rc, cli_err);
    cJSON *j = cli_out_json();
    assert_true(cli_json_number(j, "count") == NP);
    assert_true(cli_json_number(j, "fill") == -300); /* the image's minimum */
    assert_string_equal(cli_json_string(j, "patches"), "planes");
    assert_string_equal(cli_json_string(j, "coordinates"), "ras");
    const cJSON *o = cJSON_GetArrayItem(cli_json(j, "outputs"), 0);
    assert_string_equal(cli_json_string(o, "file"), cli_path("p.npy"));
    vxt_npy_info ni;
    float *P = cli_load_npy(cli_path("p.npy"), &ni);
    assert_int_equal(ni.dtype, VXT_DTYPE_F32);
    assert_int_equal(ni.ndim, 4);
    const int64_t shape[4] = {NP, 3, 7, 9};
    assert_memory_equal(ni.shape, shape, sizeof shape);
    for (int k = 0; k < 4; k++)
        assert_true(cJSON_GetArrayItem(cli_json(o, "shape"), k)->valuedouble == (double)shape[k]);
    for (int i = 0; i < NP; i++)
        for (int p = 0; p < 3; p++)
            check_plane(P + (i * 3 + p) * 63, p, i, 7, 9, -300.0f);
    int padded[NP], npad = 0;
    check_index("p.csv", a, -300, padded);
    for (int i = 0; i < NP; i++) { /* rows y, x (axial), z, y (sagittal), z, x (coronal): 3 before and after, or 4 */
        const int z = pts[i][0], y = pts[i][1], x = pts[i][2];
        const int want = z - 3 < 0 || z + 3 >= NZ || y - 4 < 0 || y + 4 >= NY || x - 4 < 0 || x + 4 >= NX ||
                         y - 3 < 0 || y + 3 >= NY;
        assert_int_equal(padded[i], want);
        npad += want;
    }
    assert_int_equal(npad, 5); /* only the first point is inside */
    assert_true(cli_json_number(j, "padded") == npad);
    cJSON_Delete(j);
    /* the same points as LPS+ (--lps), as voxel indices (--voxel), without a header: the same bytes */
    write_points("lps.csv", a, 1, 0);
    write_points("vox.csv", a, 2, 0);
    write_points("vox_ijk.csv", a, 2, 1);
    assert_int_equal(cli("patches %s --points %s -o %s --size 7,9 --lps", cli_path("img.nii.gz"), cli_path("lps.csv"),
                         cli_path("lps.npy")),
                     0);
    assert_true(cli_same_file(cli_path("p.npy"), cli_path("lps.npy")));
    assert_int_equal(cli("patches %s --points %s -o %s --size 7,9 --voxel", cli_path("img.nii.gz"), cli_path("vox.csv"),
                         cli_path("vox.npy")),
                     0);
    assert_true(cli_same_file(cli_path("p.npy"), cli_path("vox.npy")));
    assert_int_equal(cli("patches %s --points %s -o %s --size 7,9 --voxel", cli_path("img.nii.gz"),
                         cli_path("vox_ijk.csv"), cli_path("ijk.npy")),
                     0);
    assert_true(cli_same_file(cli_path("p.npy"), cli_path("ijk.npy")));
    /* the LPS points read as RAS land elsewhere (here: outside) */
    assert_int_not_equal(cli("patches %s --points %s -o %s --size 7,9", cli_path("img.nii.gz"), cli_path("lps.csv"),
                             cli_path("x.npy")),
                         0);
    free(P);
    /* --fill; one size for all: N */
    assert_int_equal(cli("patches %s --points %s -o %s --index %s --size 5 --fill 7.5", cli_path("img.nii.gz"),
                         cli_path("ras.csv"), cli_path("f.npy"), cli_path("f.csv")),
                     0);
    P = cli_load_npy(cli_path("f.npy"), &ni);
    const int64_t fshape[4] = {NP, 3, 5, 5};
    assert_memory_equal(ni.shape, fshape, sizeof fshape);
    for (int i = 0; i < NP; i++)
        for (int p = 0; p < 3; p++)
            check_plane(P + (i * 3 + p) * 25, p, i, 5, 5, 7.5f);
    check_index("f.csv", a, 7.5, padded);
    free(P);
}

/* The nodule-candidate recipe's sizes: planes of different sizes, one file per plane. */
static void test_plane_sizes_differ(void **state)
{
    (void)state;
    double a[4][4];
    write_image("img.nii.gz", a);
    write_points("ras.csv", a, 0, 1);
    int rc = cli("patches %s --points %s -o %s --axial 9,11 --sagittal 5,11 --coronal 5,7 --json",
                 cli_path("img.nii.gz"), cli_path("ras.csv"), cli_path("p.npy"));
    if (rc != 0)
        fail_msg("exit %d: %s", rc, cli_err);
    cJSON *j = cli_out_json();
    static const char *const names[3] = {"p_axial.npy", "p_sagittal.npy", "p_coronal.npy"};
    static const int r[3] = {9, 5, 5}, c[3] = {11, 11, 7};
    for (int p = 0; p < 3; p++) {
        const cJSON *o = cJSON_GetArrayItem(cli_json(j, "outputs"), p);
        assert_string_equal(cli_json_string(o, "file"), cli_path(names[p]));
        vxt_npy_info ni;
        float *P = cli_load_npy(cli_path(names[p]), &ni);
        const int64_t shape[3] = {NP, r[p], c[p]};
        assert_int_equal(ni.ndim, 3);
        assert_memory_equal(ni.shape, shape, sizeof shape);
        for (int i = 0; i < NP; i++)
            check_plane(P + i * r[p] * c[p], p, i, r[p], c[p], -300.0f);
        free(P);
    }
    cJSON_Delete(j);
    assert_int_equal(cli_files(), 5); /* the image, the points, three files: no p.npy */
    /* --size for some planes, a flag for one */
    assert_int_equal(cli("patches %s --points %s -o %s --size 5 --axial 9,11", cli_path("img.nii.gz"),
                         cli_path("ras.csv"), cli_path("q.npy")),
                     0);
    vxt_npy_info ni;
    float *P = cli_load_npy(cli_path("q_coronal.npy"), &ni);
    for (int i = 0; i < NP; i++)
        check_plane(P + i * 25, 2, i, 5, 5, -300.0f);
    free(P);
}

static void test_boxes(void **state)
{
    (void)state;
    double a[4][4];
    write_image("img.nii.gz", a);
    write_points("ras.csv", a, 0, 1);
    int rc = cli("patches %s --points %s -o %s --index %s --box --size 4,5,6 --backend cpu", cli_path("img.nii.gz"),
                 cli_path("ras.csv"), cli_path("b.npy"), cli_path("b.csv"));
    if (rc != 0)
        fail_msg("exit %d: %s", rc, cli_err);
    vxt_npy_info ni;
    float *B = cli_load_npy(cli_path("b.npy"), &ni);
    const int64_t shape[4] = {NP, 4, 5, 6};
    assert_memory_equal(ni.shape, shape, sizeof shape);
    for (int i = 0; i < NP; i++) /* start = centre - size / 2: even sizes reach one voxel further before it */
        for (int z = 0; z < 4; z++)
            for (int y = 0; y < 5; y++)
                for (int x = 0; x < 6; x++) {
                    const float want = value(pts[i][0] - 2 + z, pts[i][1] - 2 + y, pts[i][2] - 3 + x, -300.0f);
                    assert_true(B[((i * 4 + z) * 5 + y) * 6 + x] == want);
                }
    int padded[NP];
    check_index("b.csv", a, -300, padded);
    for (int i = 0; i < NP; i++) {
        const int z = pts[i][0], y = pts[i][1], x = pts[i][2];
        assert_int_equal(padded[i], z - 2 < 0 || z + 1 >= NZ || y - 2 < 0 || y + 2 >= NY || x - 3 < 0 || x + 2 >= NX);
    }
    free(B);
}

/* A 4D image: a channel axis after the plane's (planes) or the point's (boxes); each channel its own values. */
static void test_channels(void **state)
{
    (void)state;
    vxt_image *img = cli_read_image(NDATA "/4d_uint16.nii.gz");
    vxt_volume v;
    assert_ok(vxt_image_volume(img, &v));
    const int64_t C = v.channels, Z = v.shape[0], Y = v.shape[1], X = v.shape[2];
    assert_true(C > 1);
    const uint16_t *u = v.data;
    cli_write_text("v.csv", "# z,y,x\n1,1,1\n\n0,0,0\n");
    assert_int_equal(cli("patches %s --points %s -o %s --voxel --size 3 --fill -1", NDATA "/4d_uint16.nii.gz",
                         cli_path("v.csv"), cli_path("p.npy")),
                     0);
    vxt_npy_info ni;
    float *P = cli_load_npy(cli_path("p.npy"), &ni);
    const int64_t shape[5] = {2, 3, C, 3, 3};
    assert_int_equal(ni.ndim, 5);
    assert_memory_equal(ni.shape, shape, sizeof shape);
    static const int at[2][3] = {{1, 1, 1}, {0, 0, 0}};
    for (int i = 0; i < 2; i++)
        for (int64_t c = 0; c < C; c++)
            for (int r = 0; r < 3; r++)
                for (int k = 0; k < 3; k++) { /* the axial plane: rows y, columns x */
                    const int64_t y = at[i][1] + r - 1, x = at[i][2] + k - 1, z = at[i][0];
                    const float want = y < 0 || x < 0 || y >= Y || x >= X ? -1.0f : (float)u[((c * Z + z) * Y + y) * X + x];
                    assert_true(P[(((i * 3 + 0) * C + c) * 3 + r) * 3 + k] == want);
                }
    free(P);
    assert_int_equal(cli("patches %s --points %s -o %s --voxel --box --size 2", NDATA "/4d_uint16.nii.gz",
                         cli_path("v.csv"), cli_path("b.npy")),
                     0);
    P = cli_load_npy(cli_path("b.npy"), &ni);
    const int64_t bshape[5] = {2, C, 2, 2, 2};
    assert_memory_equal(ni.shape, bshape, sizeof bshape);
    for (int64_t c = 0; c < C; c++) /* point 0 = (1, 1, 1): the box [0, 2) on every axis */
        for (int k = 0; k < 8; k++) {
            const int z = k >> 2, y = (k >> 1) & 1, x = k & 1;
            assert_true(P[c * 8 + k] == (float)u[((c * Z + z) * Y + y) * X + x]);
        }
    free(P);
    vxt_image_destroy(img);
    /* uint32 voxels (which the preprocessing does not read): as float32 */
    img = cli_read_image(NDATA "/type_uint32.nii");
    assert_ok(vxt_image_volume(img, &v));
    assert_int_equal(v.dtype, VXT_DTYPE_U32);
    cli_write_text("c.csv", "1,1,1\n");
    assert_int_equal(cli("patches %s --points %s -o %s --voxel --box --size 1", NDATA "/type_uint32.nii",
                         cli_path("c.csv"), cli_path("u.npy")),
                     0);
    P = cli_load_npy(cli_path("u.npy"), &ni);
    assert_true(P[0] == (float)((const uint32_t *)v.data)[(1 * v.shape[1] + 1) * v.shape[2] + 1]);
    free(P);
    vxt_image_destroy(img);
}

/* The points file, read leniently where it does not matter. */
static void test_points_files(void **state)
{
    (void)state;
    double a[4][4];
    write_image("img.nii.gz", a);
    double w[3];
    const double c[3] = {7, 9, 11};
    world_of(a, c, w);
    char text[2048];
    /* LUNA16's candidates.csv: coordX..coordZ among other columns (world LPS), a BOM, CRLF, comments, blank lines */
    snprintf(text, sizeof text,
             "\xef\xbb\xbfseriesuid,coordX,coordY,coordZ,class\r\n# a comment\r\n\r\n1.3.6.1,%.17g,%.17g,%.17g,0\r\n"
             "  \"1.3.6,2\" , %.17g , %.17g , %.17g ,1\r\n",
             -w[0], -w[1], w[2], -w[0], -w[1], w[2]);
    cli_write_text("luna.csv", text);
    int rc = cli("patches %s --points %s --lps -o %s --index %s --size 3", cli_path("img.nii.gz"), cli_path("luna.csv"),
                 cli_path("l.npy"), cli_path("l.csv"));
    if (rc != 0)
        fail_msg("exit %d: %s", rc, cli_err);
    size_t n = 0;
    char *idx = vxt_test_read_file(cli_path("l.csv"), &n);
    assert_non_null(strstr(idx, "\n0,,4,")); /* no id column: an empty id; its line */
    assert_non_null(strstr(idx, ",7,9,11,"));
    assert_non_null(strstr(idx, "\n1,,5,"));
    free(idx);
    /* ids with commas and quotes are quoted in the index */
    snprintf(text, sizeof text, "id,z,x,y\n\"a \"\"b\"\", c\",%.17g,%.17g,%.17g\n", w[2], w[0], w[1]);
    cli_write_text("q.csv", text);
    assert_int_equal(cli("patches %s --points %s -o %s --index %s --size 3", cli_path("img.nii.gz"), cli_path("q.csv"),
                         cli_path("q.npy"), cli_path("qi.csv")),
                     0);
    idx = vxt_test_read_file(cli_path("qi.csv"), &n);
    assert_non_null(strstr(idx, "\n0,\"a \"\"b\"\", c\",2,"));
    assert_non_null(strstr(idx, ",7,9,11,"));
    free(idx);
}

/* Bad points files and points: exit 4 with the line; usage errors: 2; a missing directory: 5. Nothing is written and
 * an existing output stays as it was. */
static void test_bad_input(void **state)
{
    (void)state;
    double a[4][4];
    write_image("img.nii.gz", a);
    cli_write_text("old.npy", "the old output\n");
    cli_write_text("ok.csv", "7,9,11\n");
    static const struct {
        const char *name, *text, *needle;
    } files[] = {
        {"nan.csv", "x,y,z\n1,2,abc\n", "nan.csv:2: field 3 is 'abc', not a finite number"},
        {"inf.csv", "1,2,inf\n", "inf.csv:1: not a point"},
        {"fields.csv", "1,2,3\n4,5,6,7\n", "fields.csv:2: 4 fields, expected 3 (as line 1)"},
        {"hdr_fields.csv", "# pts\nid,x,y,z\na,1,2,3,4\n", "hdr_fields.csv:3: 5 fields, expected 4 (as the header on line 2)"},
        {"noxyz.csv", "name,a,b,c\nq,1,2,3\n", "noxyz.csv:1: not a point (x,y,z or id,x,y,z: world mm) and not a header"},
        {"twice.csv", "x,y,x\n1,2,3\n", "twice.csv:1: column 'x' is named twice"},
        {"ijk.csv", "i,j,k\n1,2,3\n", "ijk.csv:1: columns i, j, k are voxel indices: give --voxel"},
        {"quote.csv", "\"a,1,2,3\n", "quote.csv:1: a quote that is not closed"},
        {"empty.csv", "", "empty.csv: no points"},
        {"comments.csv", "# nothing\n\n   \n", "comments.csv: no points"},
        {"header_only.csv", "x,y,z\n", "header_only.csv: no points"},
        {"outside.csv", "x,y,z\n1e4,0,0\n", "outside.csv:2: the point (10000, 0, 0) is at voxel"},
        {"binary.csv", "1,2,3\n\x01\x02,\xff,3\n", "binary.csv:2: field 1 is '\\x01\\x02', not a finite number"},
        {"short.csv", "1,2,3\n4,5\n", "short.csv:2: 2 fields, expected 3 (as line 1)"},
    };
    int before = cli_files();
    char bad[8192] = "";
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        cli_write_text(files[i].name, files[i].text);
        int rc = cli("patches %s --points %s -o %s --index %s --size 3", cli_path("img.nii.gz"),
                     cli_path(files[i].name), cli_path("old.npy"), cli_path("old.csv"));
        cli_assert_one_line_error(files[i].needle);
        if (rc != 4)
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  %s: exit %d", files[i].name, rc);
    }
    if (bad[0])
        fail_msg("bad points must exit 4:%s", bad);
    assert_int_equal(cli_files(), before + (int)(sizeof files / sizeof files[0]));
    size_t n = 0;
    char *old = vxt_test_read_file(cli_path("old.npy"), &n);
    assert_string_equal(old, "the old output\n");
    free(old);
    /* unreadable points files, a missing image */
    assert_int_equal(cli("patches %s --points %s -o %s --size 3", cli_path("img.nii.gz"), cli_path("none.csv"),
                         cli_path("o.npy")),
                     4);
    cli_assert_one_line_error("--points: cannot open");
    assert_int_equal(cli("patches %s --points %s -o %s --size 3", cli_path("img.nii.gz"), cli_tmp, cli_path("o.npy")), 4);
    cli_assert_one_line_error("--points: cannot read");
    assert_int_equal(cli("patches %s --points %s -o %s --size 3", cli_path("none.nii.gz"), cli_path("ok.csv"),
                         cli_path("o.npy")),
                     4);
    cli_assert_one_line_error("none.nii.gz");
    /* usage */
    static const struct {
        const char *args, *needle;
    } usage[] = {
        {"--size 3", "missing --points FILE.csv"},
        {"--points P", "missing --size N|R,C (or --axial, --sagittal and --coronal R,C)"},
        {"--points P --axial 3,3 --sagittal 3,3", "the coronal planes' size"},
        {"--points P --size 4", "--size: 4 is not an odd whole number"},
        {"--points P --size 3,6", "--size: 6 is not an odd whole number"},
        {"--points P --size 0", "--size: 0 is not an odd whole number"},
        {"--points P --box --size 2097152,2097152,1048576", "--size: a patch of more than 2^32 voxels"},
        {"--points P --size 3,3,3", "--size: planes are N or R,C"},
        {"--points P --size a", "--size: expected N, R,C (planes) or Z,Y,X (box)"},
        {"--points P --size 1,2,3,4", "--size: expected N"},
        {"--points P --box --size 3,3", "--size: a box is N or Z,Y,X"},
        {"--points P --box --size 2.5", "--size: 2.5 is not a whole number"},
        {"--points P --box", "missing --size N|Z,Y,X"},
        {"--points P --box --size 3 --axial 3,3", "--axial sizes the axial planes of --planes, not boxes"},
        {"--points P --box --planes --size 3", "--planes and --box: give one"},
        {"--points P --size 3 --axial 3", "--axial: expected R,C"},
        {"--points P --size 3 --lps --voxel", "--lps says how world coordinates are given"},
        {"--points P --size 3 --fill x", "--fill: expected a number"},
        {"--points P --size 3 --index I.txt", "--index I.txt: the name must end in .csv"},
        {"--points P --size 3 --bogus", "unknown option '--bogus'"},
    };
    memset(bad, 0, sizeof bad);
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        char args[512] = "";
        const char *p = strstr(usage[i].args, "--points P");
        if (p)
            snprintf(args, sizeof args, "--points %s%s", cli_path("ok.csv"), p + 10);
        else
            snprintf(args, sizeof args, "%s", usage[i].args);
        int rc = cli("patches %s -o %s %s", cli_path("img.nii.gz"), cli_path("o.npy"), args);
        cli_assert_one_line_error(usage[i].needle);
        assert_string_equal(cli_out, "");
        if (rc != 2)
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  %s: exit %d", usage[i].args, rc);
    }
    if (bad[0])
        fail_msg("usage errors must exit 2:%s", bad);
    assert_int_equal(cli("patches %s --points %s --size 3", cli_path("img.nii.gz"), cli_path("ok.csv")), 2);
    cli_assert_one_line_error("missing -o OUT.npy");
    assert_int_equal(cli("patches --points %s -o %s --size 3", cli_path("ok.csv"), cli_path("o.npy")), 2);
    cli_assert_one_line_error("missing the input image");
    assert_int_equal(cli("patches %s --points %s -o %s --size 3", cli_path("img.nii.gz"), cli_path("ok.csv"),
                         cli_path("o.nii")),
                     2);
    cli_assert_one_line_error("-o ");
    /* outputs that cannot be written */
    assert_int_equal(cli("patches %s --points %s -o %s --size 3", cli_path("img.nii.gz"), cli_path("ok.csv"),
                         cli_path("nodir/o.npy")),
                     5);
    cli_assert_one_line_error("does not exist");
    assert_int_equal(cli("patches %s --points %s -o %s --index %s --size 3", cli_path("img.nii.gz"), cli_path("ok.csv"),
                         cli_path("o.npy"), cli_path("nodir/i.csv")),
                     5);
    cli_assert_one_line_error("--index");
    assert_int_equal(cli_files(), before + (int)(sizeof files / sizeof files[0]));
    /* the help */
    assert_int_equal(cli("patches --help"), 0);
    assert_non_null(strstr(cli_out, "usage: voxtile patches IN --points FILE.csv -o OUT.npy"));
    assert_int_equal(cli("--help"), 0);
    assert_non_null(strstr(cli_out, "  patches "));
}

static void test_opencl_writes_the_cpu_bytes(void **state)
{
    (void)state;
    double a[4][4];
    write_image("img.nii.gz", a);
    write_points("ras.csv", a, 0, 1);
    static const char *const sizes[] = {"--size 7,9", "--axial 9,11 --sagittal 5,11 --coronal 5,7", "--box --size 4,5,6"};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(cli("patches %s --points %s -o %s %s --backend cpu", cli_path("img.nii.gz"),
                             cli_path("ras.csv"), cli_path("c.npy"), sizes[k]),
                         0);
        int rc = cli("patches %s --points %s -o %s %s --backend opencl", cli_path("img.nii.gz"), cli_path("ras.csv"),
                     cli_path("g.npy"), sizes[k]);
        if (rc != 0)
            fail_msg("%s: exit %d: %s", sizes[k], rc, cli_err);
        if (k == 1) {
            assert_true(cli_same_file(cli_path("c_axial.npy"), cli_path("g_axial.npy")));
            assert_true(cli_same_file(cli_path("c_sagittal.npy"), cli_path("g_sagittal.npy")));
            assert_true(cli_same_file(cli_path("c_coronal.npy"), cli_path("g_coronal.npy")));
        } else {
            assert_true(cli_same_file(cli_path("c.npy"), cli_path("g.npy")));
        }
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_planes, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_plane_sizes_differ, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_boxes, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_channels, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_points_files, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, cli_setup, cli_teardown),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test_setup_teardown(test_opencl_writes_the_cpu_bytes, cli_setup, cli_teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
