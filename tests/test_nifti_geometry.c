/* test_nifti_geometry.c - geometry: quaternion <-> matrix, affines to geometries (as nibabel's set_qform and
 * set_sform), orientation codes for every signed axis permutation, reorientation against nibabel's
 * as_closest_canonical (voxels by CRC-32, affine) and back, the geometry of resized and respaced grids
 * (checked through the world positions of voxel centres), and the setters' argument checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nifti_internal.h"
#include "nifti_test_util.h"
#include "vxt_test.h"

static void rotation(double ax, double ay, double az, double r[3][3])
{
    double cx = cos(ax), sx = sin(ax), cy = cos(ay), sy = sin(ay), cz = cos(az), sz = sin(az);
    double rx[3][3] = {{1, 0, 0}, {0, cx, -sx}, {0, sx, cx}};
    double ry[3][3] = {{cy, 0, sy}, {0, 1, 0}, {-sy, 0, cy}};
    double rz[3][3] = {{cz, -sz, 0}, {sz, cz, 0}, {0, 0, 1}};
    double t[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            t[i][j] = 0;
            for (int k = 0; k < 3; k++)
                t[i][j] += ry[i][k] * rx[k][j];
        }
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            r[i][j] = 0;
            for (int k = 0; k < 3; k++)
                r[i][j] += rz[i][k] * t[k][j];
        }
}

static void world(double a[4][4], const double v[3], double out[3])
{
    for (int r = 0; r < 3; r++)
        out[r] = a[r][0] * v[0] + a[r][1] * v[1] + a[r][2] * v[2] + a[r][3];
}

static void assert_close(double a, double b, double tol, const char *what)
{
    if (!(fabs(a - b) <= tol))
        fail_msg("%s: %.17g vs %.17g (tolerance %g)", what, a, b, tol);
}

static void assert_mat_close(double a[4][4], double b[4][4], double tol, const char *what)
{
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            assert_close(a[r][c], b[r][c], tol, what);
}

static void test_quaternion_round_trip(void **state)
{
    (void)state;
    vxt_rng rng = {7};
    for (int t = 0; t < 2000; t++) {
        double r[3][3];
        rotation(vxt_rng_uniform(&rng, -3.2f, 3.2f), vxt_rng_uniform(&rng, -3.2f, 3.2f),
                 vxt_rng_uniform(&rng, -3.2f, 3.2f), r);
        if (t % 500 == 0) { /* exact 180 degree rotations: the special case of the spec's decoder */
            double flip[3][3] = {{1, 0, 0}, {0, -1, 0}, {0, 0, -1}};
            memcpy(r, flip, sizeof r);
        }
        double zoom[3] = {vxt_rng_uniform(&rng, 0.2f, 5), vxt_rng_uniform(&rng, 0.2f, 5), vxt_rng_uniform(&rng, 0.2f, 5)};
        int left = t % 2;
        double m[4][4] = {{0}};
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                m[i][j] = r[i][j] * zoom[j] * (left && j == 2 ? -1 : 1);
        m[0][3] = 10.5;
        m[1][3] = -3;
        m[2][3] = 7.25;
        m[3][3] = 1;
        double q[3], off[3], pix[4], back[4][4];
        assert_true(vxt__mat44_to_quatern(m, q, off, pix));
        assert_true(pix[0] == (left ? -1.0 : 1.0));
        vxt__quatern_to_mat44(q, off, pix, back);
        assert_mat_close(m, back, 1e-12 * 5, "quaternion round trip");
        /* the public form */
        vxt_geometry g = {.struct_size = sizeof g};
        assert_ok(vxt_geometry_from_affine(&m[0][0], VXT_NIFTI_XFORM_SCANNER_ANAT, &g));
        assert_mat_close(g.qform, m, 1e-11, "from_affine qform");
        assert_memory_equal(g.sform, m, sizeof m);
        assert_memory_equal(g.affine, m, sizeof m);
        assert_int_equal(g.affine_source, VXT_AFFINE_SFORM);
        for (int i = 0; i < 3; i++)
            assert_close(g.spacing[2 - i], zoom[i], 1e-12, "spacing");
    }
}

static void test_from_affine_with_shear(void **state)
{
    (void)state;
    /* nibabel's set_qform drops shears: the qform is the closest rotation, zooms are column lengths */
    const cJSON *e = ntu_entry("sform_only.nii");
    double a[16];
    ntu_matrix(e, "sform", a, 4, 4);
    vxt_geometry g = {.struct_size = sizeof g};
    assert_ok(vxt_geometry_from_affine(a, VXT_NIFTI_XFORM_ALIGNED_ANAT, &g));
    for (int c = 0; c < 3; c++) {
        double len = sqrt(a[c] * a[c] + a[4 + c] * a[4 + c] + a[8 + c] * a[8 + c]);
        assert_close(g.pixdim[c + 1], len, 1e-12, "pixdim");
        double ql = sqrt(g.qform[0][c] * g.qform[0][c] + g.qform[1][c] * g.qform[1][c] + g.qform[2][c] * g.qform[2][c]);
        assert_close(ql, len, 1e-12, "qform column length");
    }
    /* the qform's columns are orthogonal */
    for (int c = 0; c < 3; c++)
        for (int d = c + 1; d < 3; d++) {
            double dot = 0;
            for (int r = 0; r < 3; r++)
                dot += g.qform[r][c] * g.qform[r][d];
            assert_close(dot, 0, 1e-12, "orthogonal qform");
        }
    assert_int_equal(g.xyzt_units, VXT_NIFTI_UNITS_MM);
    /* bad affines */
    double bad[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    assert_status_msg(vxt_geometry_from_affine(bad, 0, &g), VXT_ERR_INVALID_ARGUMENT, "code = 0");
    assert_status_msg(vxt_geometry_from_affine(bad, 6, &g), VXT_ERR_INVALID_ARGUMENT, "code = 6");
    bad[15] = 2;
    assert_status_msg(vxt_geometry_from_affine(bad, 1, &g), VXT_ERR_INVALID_ARGUMENT, "last row");
    bad[15] = 1;
    bad[5] = NAN;
    assert_status_msg(vxt_geometry_from_affine(bad, 1, &g), VXT_ERR_INVALID_ARGUMENT, "affine[1][1] = nan");
    bad[5] = 0;
    assert_status_msg(vxt_geometry_from_affine(bad, 1, &g), VXT_ERR_INVALID_ARGUMENT, "singular");
    double dep[16] = {1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1}; /* columns 0 and 2 are equal */
    assert_status_msg(vxt_geometry_from_affine(dep, 1, &g), VXT_ERR_INVALID_ARGUMENT, "singular");
    assert_status_msg(vxt_geometry_from_affine(NULL, 1, &g), VXT_ERR_NULL, "affine");
    assert_status_msg(vxt_geometry_from_affine(a, 1, NULL), VXT_ERR_NULL, "out");
    g.struct_size = 1;
    assert_status_msg(vxt_geometry_from_affine(a, 1, &g), VXT_ERR_STRUCT_SIZE, "struct_size is 1");
}

static void test_orientation_codes(void **state)
{
    (void)state;
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    static const char pos[] = "RAS", neg[] = "LPI";
    int n = 0;
    for (int p = 0; p < 6; p++)
        for (int s = 0; s < 8; s++) {
            double a[16] = {0};
            char want[4] = {0};
            for (int i = 0; i < 3; i++) { /* voxel axis i runs along world axis perms[p][i] */
                int w = perms[p][i], sign = (s >> i) & 1 ? -1 : 1;
                a[4 * w + i] = sign * (0.5 + i);
                want[i] = sign > 0 ? pos[w] : neg[w];
            }
            a[15] = 1;
            /* a small rotation must not change the code */
            double r[3][3], b[16] = {0};
            rotation(0.1, -0.15, 0.2, r);
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                    for (int k = 0; k < 3; k++)
                        b[4 * i + j] += r[i][k] * a[4 * k + j];
            b[15] = 1;
            char code[4];
            assert_ok(vxt_affine_orientation(a, code));
            assert_string_equal(code, want);
            assert_ok(vxt_affine_orientation(b, code));
            assert_string_equal(code, want);
            n++;
        }
    assert_int_equal(n, 48);
    double z[16] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1};
    char code[4];
    assert_ok(vxt_affine_orientation(z, code));
    assert_string_equal(code, "R?S");
    assert_status_msg(vxt_affine_orientation(NULL, code), VXT_ERR_NULL, "affine");
    assert_status_msg(vxt_affine_orientation(z, NULL), VXT_ERR_NULL, "code");
}

static vxt_image *read_raw(const char *path)
{
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.scaling = VXT_SCALING_RAW;
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_file(path, &o, &img));
    return img;
}

static void test_reorient_vs_nibabel(void **state)
{
    (void)state;
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(ntu_reference(), "files");
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach(e, files)
    {
        const char *file = cJSON_GetObjectItemCaseSensitive(e, "file")->valuestring;
        const cJSON *canon = cJSON_GetObjectItemCaseSensitive(e, "canonical");
        char path[4096];
        snprintf(path, sizeof path, "%s", ntu_data(file));
        vxt_image *img = read_raw(path);
        vxt_image *ras = NULL;
        assert_ok(vxt_image_reorient(img, NULL, &ras));
        vxt_volume v;
        assert_ok(vxt_image_volume(ras, &v));
        if (ntu_crc_raw(&v) != (uint32_t)ntu_num(canon, "raw_crc32"))
            fail_msg("%s: the reoriented voxels differ from nibabel's as_closest_canonical", file);
        vxt_geometry g = {.struct_size = sizeof g}, g0 = {.struct_size = sizeof g0};
        assert_ok(vxt_image_get_geometry(ras, &g));
        assert_ok(vxt_image_get_geometry(img, &g0));
        double want[16];
        ntu_matrix(canon, "affine", want, 4, 4);
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                assert_close(g.affine[r][c], want[4 * r + c], 1e-5 * (1 + fabs(want[4 * r + c])), file);
        assert_string_equal(g.orientation, "RAS");
        /* codes are kept (an uncoded file gets its affine as an "aligned" sform) */
        if (g0.sform_code > 0 || g0.qform_code > 0) {
            assert_int_equal(g.sform_code, g0.sform_code);
            assert_int_equal(g.qform_code, g0.qform_code);
        } else {
            assert_int_equal(g.sform_code, VXT_NIFTI_XFORM_ALIGNED_ANAT);
        }
        /* when both forms are used they still describe the same grid */
        if (g0.qform_code > 0 && g0.sform_code > 0)
            assert_mat_close(g.qform, g.sform, 1e-5, file);
        /* and back to the original orientation: the same voxels, the same affine */
        vxt_image *again = NULL;
        assert_ok(vxt_image_reorient(ras, g0.orientation, &again));
        vxt_volume a, b;
        assert_ok(vxt_image_volume(again, &a));
        assert_ok(vxt_image_volume(img, &b));
        assert_int_equal(ntu_crc_raw(&a), ntu_crc_raw(&b));
        assert_memory_equal(a.shape, b.shape, sizeof a.shape);
        vxt_geometry g2 = {.struct_size = sizeof g2};
        assert_ok(vxt_image_get_geometry(again, &g2));
        assert_mat_close(g2.affine, g0.affine, 1e-9, file);
        for (int i = 1; i <= 3; i++)
            assert_true(g2.pixdim[i] == g0.pixdim[i]);
        vxt_image_destroy(again);
        vxt_image_destroy(ras);
        vxt_image_destroy(img);
        n++;
    }
    assert_true(n >= 25);
}

static void test_reorient_every_target(void **state)
{
    (void)state;
    /* permuted_int16 (SLA, qform and sform) to every one of the 48 codes and back; world positions kept */
    vxt_image *img = read_raw(ntu_data("permuted_int16.nii.gz"));
    vxt_geometry g0 = {.struct_size = sizeof g0};
    assert_ok(vxt_image_get_geometry(img, &g0));
    vxt_volume v0;
    assert_ok(vxt_image_volume(img, &v0));
    static const char *axes[3] = {"RL", "AP", "SI"};
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    int count = 0;
    for (int p = 0; p < 6; p++)
        for (int s = 0; s < 8; s++) {
            char target[4];
            for (int i = 0; i < 3; i++)
                target[i] = axes[perms[p][i]][(s >> i) & 1];
            target[3] = '\0';
            if (count % 3 == 0) /* lower case is accepted too */
                for (int i = 0; i < 3; i++)
                    target[i] = (char)(target[i] - 'A' + 'a');
            vxt_image *r = NULL;
            assert_ok(vxt_image_reorient(img, target, &r));
            vxt_geometry g = {.struct_size = sizeof g};
            assert_ok(vxt_image_get_geometry(r, &g));
            for (int i = 0; i < 3; i++)
                assert_int_equal(g.orientation[i], target[i] & ~0x20);
            /* every voxel value sits at the same world position: compare a few through the affines */
            vxt_volume v;
            assert_ok(vxt_image_volume(r, &v));
            int64_t n[3] = {v.shape[2], v.shape[1], v.shape[0]};
            for (int64_t k = 0; k < n[2]; k += 3)
                for (int64_t j = 0; j < n[1]; j += 2)
                    for (int64_t i = 0; i < n[0]; i++) {
                        double idx[3] = {(double)i, (double)j, (double)k}, w[3];
                        world(g.affine, idx, w);
                        /* the old voxel at that world position */
                        int64_t o[3] = {-1, -1, -1};
                        /* solve g0.affine * x = w for the integer voxel x (the affine is a scaled permutation) */
                        for (int c = 0; c < 3; c++)
                            for (int rr = 0; rr < 3; rr++)
                                if (fabs(g0.affine[rr][c]) > 1e-6)
                                    o[c] = (int64_t)llround((w[rr] - g0.affine[rr][3]) / g0.affine[rr][c]);
                        int16_t got = ((const int16_t *)v.data)[(k * n[1] + j) * n[0] + i];
                        int16_t want = ((const int16_t *)v0.data)[(o[2] * v0.shape[1] + o[1]) * v0.shape[2] + o[0]];
                        assert_int_equal(got, want);
                    }
            assert_int_equal(g.qform_code, g0.qform_code);
            assert_mat_close(g.qform, g.sform, 1e-5, "qform and sform agree after reorientation");
            vxt_image_destroy(r);
            count++;
        }
    assert_int_equal(count, 48);
    vxt_image *r = NULL;
    assert_status_msg(vxt_image_reorient(img, "RAX", &r), VXT_ERR_INVALID_ARGUMENT, "\"RAX\" must name");
    assert_status_msg(vxt_image_reorient(img, "RRS", &r), VXT_ERR_INVALID_ARGUMENT, "once");
    assert_status_msg(vxt_image_reorient(img, "RA", &r), VXT_ERR_INVALID_ARGUMENT, "three orientation letters");
    assert_status_msg(vxt_image_reorient(NULL, "RAS", &r), VXT_ERR_NULL, "img");
    assert_status_msg(vxt_image_reorient(img, "RAS", NULL), VXT_ERR_NULL, "out");
    vxt_image_destroy(img);
}

static void test_reorient_channels_and_dim_info(void **state)
{
    (void)state;
    /* 4D: every volume moves alike; dim_info follows the axes */
    vxt_image *src = read_raw(ntu_data("4d_uint16.nii.gz"));
    vxt_geometry g = {.struct_size = sizeof g};
    assert_ok(vxt_image_get_geometry(src, &g));
    assert_ok(vxt_nifti_add_extension(src, 6, "kept", 4));
    /* freq = 1 (i), phase = 2 (j), slice = 3 (k): dim_info has no setter, so it is set in the header bytes of
     * a NIfTI-1 copy (dim_info is byte 39) that is read back */
    vxt_nifti_write_options wo;
    vxt_nifti_write_options_init(&wo);
    wo.nifti_version = 1;
    void *buf = NULL;
    size_t size = 0;
    assert_ok(vxt_nifti_write_memory(src, &wo, &buf, &size));
    assert_true(size > 352);
    ((unsigned char *)buf)[39] = 1 | 2 << 2 | 3 << 4;
    vxt_read_options ro;
    vxt_read_options_init(&ro);
    ro.scaling = VXT_SCALING_RAW;
    vxt_image *img = NULL;
    assert_ok(vxt_nifti_read_memory(buf, size, &ro, &img));
    vxt_buffer_free(buf);
    vxt_image_destroy(src);
    assert_int_equal(ntu_nifti_info(img).dim_info, 1 | 2 << 2 | 3 << 4);
    assert_int_equal(ntu_nifti_info(img).extension_count, 1);
    vxt_image *r = NULL;
    assert_ok(vxt_image_reorient(img, "SPL", &r)); /* i <- k, j <- j flipped, k <- i flipped */
    vxt_nifti_info info = ntu_nifti_info(r);
    assert_int_equal(info.dim_info, 3 | 2 << 2 | 1 << 4);
    assert_int_equal(info.dim[1], 3);
    assert_int_equal(info.dim[3], 5);
    assert_int_equal(info.dim[4], 3);
    assert_int_equal(info.extension_count, 1);
    vxt_volume a, b;
    assert_ok(vxt_image_volume(img, &a));
    assert_ok(vxt_image_volume(r, &b));
    assert_int_equal(b.channels, 3);
    int64_t ni = a.shape[2], nj = a.shape[1], nk = a.shape[0];
    for (int64_t c = 0; c < 3; c++)
        for (int64_t k = 0; k < nk; k++)
            for (int64_t j = 0; j < nj; j++)
                for (int64_t i = 0; i < ni; i++) {
                    uint16_t want = ((const uint16_t *)a.data)[((c * nk + k) * nj + j) * ni + i];
                    /* new (i', j', k') = (k, nj-1-j, ni-1-i); new shape (ni' = nk, nj, nk' = ni) */
                    int64_t ii = k, jj = nj - 1 - j, kk = ni - 1 - i;
                    uint16_t got = ((const uint16_t *)b.data)[((c * ni + kk) * nj + jj) * nk + ii];
                    assert_int_equal(got, want);
                }
    vxt_image_destroy(r);
    vxt_image_destroy(img);

    /* an affine with a zero column has no orientation to reorient */
    int64_t shape[3] = {2, 2, 2};
    assert_ok(vxt_image_create(VXT_DTYPE_U8, 1, shape, NULL, &img));
    vxt_geometry_init(&g);
    g.sform_code = 1;
    g.srow[1][1] = 0; /* the j column is zero */
    assert_ok(vxt_image_set_geometry(img, &g));
    assert_status_msg(vxt_image_reorient(img, NULL, &r), VXT_ERR_STATE, "voxel axis j has no orientation");
    vxt_image_destroy(img);
}

static void test_resize_and_respace(void **state)
{
    (void)state;
    static const char *files[] = {"qform_only.nii", "sform_only.nii", "neither.nii", "le_int16_scaled.nii",
                                  "permuted_int16.nii.gz"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        vxt_image *img = read_raw(ntu_data(files[f]));
        vxt_geometry g = {.struct_size = sizeof g};
        assert_ok(vxt_image_get_geometry(img, &g));
        vxt_volume v;
        assert_ok(vxt_image_volume(img, &v));
        int64_t out[3] = {v.shape[0] * 2 + 1, v.shape[1] + 3, (v.shape[2] + 1) / 2};
        for (int conv = 0; conv < 2; conv++) {
            vxt_geometry r = {.struct_size = sizeof r};
            assert_ok(vxt_geometry_resize(&g, v.shape, out, (vxt_grid_align)conv, &r));
            /* new voxel n (NIfTI order) lands where the old grid's continuous coordinate x(n) is */
            int64_t corners[2][3] = {{0, 0, 0}, {out[2] - 1, out[1] - 1, out[0] - 1}};
            for (int c = 0; c < 2; c++) {
                double idx[3], x[3], w_new[3], w_old[3];
                for (int a = 0; a < 3; a++) {
                    double in_n = (double)v.shape[2 - a], out_n = (double)out[2 - a];
                    idx[a] = (double)corners[c][a];
                    x[a] = conv == VXT_ALIGN_HALF_PIXEL ? (idx[a] + 0.5) * in_n / out_n - 0.5
                                                       : idx[a] * (in_n - 1) / (out_n - 1);
                }
                world(r.affine, idx, w_new);
                world(g.affine, x, w_old);
                for (int a = 0; a < 3; a++)
                    assert_close(w_new[a], w_old[a], 1e-9, files[f]);
            }
            /* the qform (when used) and the sform agree with each other as before; codes keep their meaning */
            assert_int_equal(r.qform_code, g.qform_code);
            if (g.qform_code > 0 && g.sform_code > 0)
                assert_mat_close(r.qform, r.sform, 1e-5, "qform and sform still agree");
            if (g.sform_code == 0 && g.qform_code == 0)
                assert_int_equal(r.sform_code, VXT_NIFTI_XFORM_ALIGNED_ANAT);
        }
        /* respace: first voxel centre and directions kept, column lengths = the new spacing */
        double sp[3] = {0.75, 1.25, 3.5};
        vxt_geometry r = {.struct_size = sizeof r};
        assert_ok(vxt_geometry_respace(&g, v.shape, sp, &r));
        for (int a = 0; a < 3; a++) {
            assert_close(r.affine[a][3], g.affine[a][3], 1e-12, "origin");
            assert_close(r.spacing[a], sp[a], 1e-12, "spacing");
            assert_true(r.pixdim[a + 1] == sp[2 - a]);
            for (int row = 0; row < 3; row++)
                assert_close(r.affine[row][a] / sp[2 - a], g.affine[row][a] / g.spacing[2 - a], 1e-12, "direction");
        }
        assert_string_equal(r.orientation, g.orientation);
        /* the new geometry on an image of the new grid writes and reads back */
        int64_t shape2[3] = {7, 8, 9};
        vxt_image *img2 = NULL;
        assert_ok(vxt_image_create(VXT_DTYPE_F32, 1, shape2, NULL, &img2));
        assert_ok(vxt_image_set_geometry(img2, &r));
        vxt_geometry back = {.struct_size = sizeof back};
        assert_ok(vxt_image_get_geometry(img2, &back));
        assert_mat_close(back.affine, r.affine, 0, "set_geometry");
        vxt_image_destroy(img2);
        vxt_image_destroy(img);
    }
}

static void test_geometry_arguments(void **state)
{
    (void)state;
    vxt_geometry g, r;
    vxt_geometry_init(&g);
    vxt_geometry_init(NULL);
    assert_int_equal(g.struct_size, sizeof g);
    assert_int_equal(g.affine_source, VXT_AFFINE_FALLBACK);
    r.struct_size = sizeof r;
    int64_t in[3] = {4, 5, 6}, out[3] = {8, 10, 1}, one[3] = {1, 5, 6};
    assert_ok(vxt_geometry_resize(&g, in, out, VXT_ALIGN_CORNERS, &r));
    assert_status_msg(vxt_geometry_resize(&g, one, out, VXT_ALIGN_CORNERS, &r), VXT_ERR_INVALID_ARGUMENT,
                      "axis 0 (k) of 1 voxel over 8 voxels");
    assert_ok(vxt_geometry_resize(&g, one, out, VXT_ALIGN_HALF_PIXEL, &r));
    assert_status_msg(vxt_geometry_resize(&g, in, out, (vxt_grid_align)5, &r), VXT_ERR_INVALID_ARGUMENT,
                      "align = 5");
    int64_t zero[3] = {4, 0, 6};
    assert_status_msg(vxt_geometry_resize(&g, in, zero, VXT_ALIGN_HALF_PIXEL, &r), VXT_ERR_INVALID_ARGUMENT,
                      "out_shape[1] (j) = 0");
    assert_status_msg(vxt_geometry_resize(NULL, in, out, VXT_ALIGN_HALF_PIXEL, &r), VXT_ERR_NULL, "in");
    assert_status_msg(vxt_geometry_resize(&g, NULL, out, VXT_ALIGN_HALF_PIXEL, &r), VXT_ERR_NULL, "in_shape");
    assert_status_msg(vxt_geometry_resize(&g, in, NULL, VXT_ALIGN_HALF_PIXEL, &r), VXT_ERR_NULL, "out_shape");
    assert_status_msg(vxt_geometry_resize(&g, in, out, VXT_ALIGN_HALF_PIXEL, NULL), VXT_ERR_NULL, "out");
    double sp[3] = {1, -1, 1};
    assert_status_msg(vxt_geometry_respace(&g, in, sp, &r), VXT_ERR_INVALID_ARGUMENT, "spacing[1] = -1");
    sp[1] = NAN;
    assert_status_msg(vxt_geometry_respace(&g, in, sp, &r), VXT_ERR_INVALID_ARGUMENT, "spacing[1] = nan");
    sp[1] = 2;
    assert_status_msg(vxt_geometry_respace(&g, NULL, sp, &r), VXT_ERR_NULL, "in_shape");
    r.struct_size = 2;
    assert_status_msg(vxt_geometry_respace(&g, in, sp, &r), VXT_ERR_STRUCT_SIZE, "struct_size is 2");
    r.struct_size = sizeof r;
    g.struct_size = 5;
    assert_status_msg(vxt_geometry_respace(&g, in, sp, &r), VXT_ERR_STRUCT_SIZE, "struct_size is 5");
    vxt_geometry_init(&g);
    g.srow[2][1] = INFINITY;
    assert_status_msg(vxt_geometry_respace(&g, in, sp, &r), VXT_ERR_INVALID_ARGUMENT, "srow_z[1] = inf");

    /* set_geometry: refused values leave the image unchanged */
    vxt_image *img = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_U8, 1, in, NULL, &img));
    vxt_geometry before = {.struct_size = sizeof before}, after = {.struct_size = sizeof after};
    assert_ok(vxt_image_get_geometry(img, &before));
    vxt_geometry_init(&g);
    g.qform_code = 7;
    assert_status_msg(vxt_image_set_geometry(img, &g), VXT_ERR_INVALID_ARGUMENT, "qform_code = 7");
    g.qform_code = 1;
    g.sform_code = -1;
    assert_status_msg(vxt_image_set_geometry(img, &g), VXT_ERR_INVALID_ARGUMENT, "sform_code = -1");
    g.sform_code = 0;
    g.quatern[1] = NAN;
    assert_status_msg(vxt_image_set_geometry(img, &g), VXT_ERR_INVALID_ARGUMENT, "quatern_c = nan");
    g.quatern[1] = 0;
    g.pixdim[5] = INFINITY;
    assert_status_msg(vxt_image_set_geometry(img, &g), VXT_ERR_INVALID_ARGUMENT, "pixdim[5] = inf");
    g.pixdim[5] = 1;
    g.xyzt_units = 300;
    assert_status_msg(vxt_image_set_geometry(img, &g), VXT_ERR_INVALID_ARGUMENT, "xyzt_units = 300");
    g.struct_size = 0;
    assert_status_msg(vxt_image_set_geometry(img, &g), VXT_ERR_STRUCT_SIZE, "struct_size is 0");
    assert_status_msg(vxt_image_set_geometry(img, NULL), VXT_ERR_NULL, "geom");
    assert_status_msg(vxt_image_set_geometry(NULL, &g), VXT_ERR_NULL, "img");
    assert_ok(vxt_image_get_geometry(img, &after));
    assert_memory_equal(&before, &after, sizeof before);
    /* a quaternion slightly longer than 1 and non-positive voxel sizes are read as nibabel/NIfTI do */
    vxt_geometry_init(&g);
    g.qform_code = 1;
    g.quatern[0] = 1.0000001;
    g.pixdim[1] = -2;
    g.pixdim[2] = 0;
    assert_ok(vxt_image_set_geometry(img, &g));
    assert_ok(vxt_image_get_geometry(img, &after));
    assert_close(after.affine[0][0], 2, 1e-12, "qform x");
    assert_close(after.affine[1][1], -1, 1e-12, "qform y (180 degrees about x)");
    assert_close(after.affine[2][2], -1, 1e-12, "qform z");
    vxt_image_destroy(img);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_quaternion_round_trip),
        cmocka_unit_test(test_from_affine_with_shear),
        cmocka_unit_test(test_orientation_codes),
        cmocka_unit_test(test_reorient_vs_nibabel),
        cmocka_unit_test(test_reorient_every_target),
        cmocka_unit_test(test_reorient_channels_and_dim_info),
        cmocka_unit_test(test_resize_and_respace),
        cmocka_unit_test(test_geometry_arguments),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
