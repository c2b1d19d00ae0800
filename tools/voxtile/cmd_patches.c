/* cmd_patches.c - `voxtile patches IN --points FILE.csv -o OUT.npy [--index OUT.csv]`: patches of an image around
 * points -- tri-planar 2.5D patches (vxt_extract_triplanar: axial, sagittal and coronal planes through each point,
 * as nodule-candidate classifiers take them) or 3D boxes (vxt_extract_box) -- stacked in .npy files, with an index
 * of what each row is.
 *
 * Points are world mm in RAS+ through the image's affine (vxt_image_info.affine, as nibabel's), or LPS+ (DICOM,
 * ITK, LUNA16's candidates.csv: x and y negated) with --lps, or voxel indices with --voxel; each goes to the
 * nearest voxel centre (round half up), which must lie in the image. Planes and boxes reaching past the volume
 * hold the fill value (--fill; default the image's minimum: air in CT, background in MR). Values are those the
 * file means (its scaling applied), float32. Every output is written through a temporary file and renamed into
 * place with the others (vxt_output_set): a failure leaves existing files untouched. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "points_csv.h"

enum { O_OUT = 1, O_INDEX, O_JSON, O_POINTS, O_VOXEL, O_LPS, O_PLANES, O_BOX, O_SIZE, O_AXIAL, O_SAGITTAL, O_CORONAL,
       O_FILL };

static const cli_flag own[] = {
    {NULL, 0, NULL, 0, "points"},
    {"points", 0, "FILE.csv", O_POINTS, "the positions: x,y,z or id,x,y,z a line (world mm, RAS+), or a header naming "
                                        "x, y, z (also coordX, coordY, coordZ) and id; # comments"},
    {"lps", 0, NULL, O_LPS, "world coordinates are LPS+ (DICOM, ITK, LUNA16): x and y negated"},
    {"voxel", 0, NULL, O_VOXEL, "coordinates are voxel indices: z,y,x a line (id,z,y,x), or a header naming x, y, z "
                                "(or i, j, k)"},
    {NULL, 0, NULL, 0, "patches"},
    {"planes", 0, NULL, O_PLANES, "tri-planar patches: the axial (rows y, columns x), sagittal (rows z, columns y) and "
                                  "coronal (rows z, columns x) planes through each point (the default)"},
    {"box", 0, NULL, O_BOX, "3D boxes around each point instead"},
    {"size", 0, "N|R,C|Z,Y,X", O_SIZE, "planes: N x N or R rows x C columns, odd (centred on the point); box: N^3 or "
                                       "Z x Y x X (an even size reaches one voxel further before the point)"},
    {"axial", 0, "R,C", O_AXIAL, "planes: the axial planes' size (replaces --size for them)"},
    {"sagittal", 0, "R,C", O_SAGITTAL, "planes: the sagittal planes' size"},
    {"coronal", 0, "R,C", O_CORONAL, "planes: the coronal planes' size"},
    {"fill", 0, "V", O_FILL, "the value of voxels beyond the volume (default: the image's minimum)"},
    {NULL, 0, NULL, 0, "output"},
    {"output", 'o', "OUT.npy", O_OUT, "the patches, float32: N x 3 x R x C (planes of one size; N x 3 x channels x R x "
                                      "C for several channels), N x Z x Y x X (boxes); planes of different sizes: "
                                      "OUT_axial.npy, OUT_sagittal.npy, OUT_coronal.npy, N x R x C each"},
    {"index", 0, "OUT.csv", O_INDEX, "what each row is: id, line, the point, the voxel centre used and its RAS "
                                     "position, whether its patch was padded, with which value"},
    {"json", 0, NULL, O_JSON, "print a summary as JSON (files, shapes, fill, padded patches, seconds)"},
    {NULL, 0, NULL, 0, NULL},
};
static const cli_flag *const groups[] = {own, cli_exec_flags, cli_dicom_flags, NULL};
static const cli_command_spec spec = {
    "patches", "patches IN --points FILE.csv -o OUT.npy [--index OUT.csv] [--planes | --box] --size N|R,C|Z,Y,X "
               "[--axial R,C --sagittal R,C --coronal R,C] [--lps | --voxel] [--fill V]",
    "Cuts patches around points of an image: tri-planar 2.5D patches (--planes, the default: the axial, sagittal and\n"
    "coronal planes through each point, in that order) or 3D boxes (--box), stacked in one .npy file, row i the\n"
    "i-th point of FILE.csv. Points are world mm (RAS+ through the image's affine; --lps for LPS+) or voxel indices\n"
    "(--voxel), each taken to the nearest voxel centre, which must be in the image (exit 4 otherwise). Planes and\n"
    "boxes reaching beyond the volume hold --fill. Planes name the volume's axes (axial: z fixed), anatomical for\n"
    "axial scans. Values are those the file means (scaling applied), float32.",
    groups, 1};

/* Library order of the planes (vxt_extract_triplanar). */
static const char *const plane_names[3] = {"axial", "sagittal", "coronal"};

typedef struct patches_args {
    const char *out, *index, *points;
    int json, voxel, lps, planes, box;
    double size[3];
    int size_n;
    double plane[3][2]; /* --axial, --sagittal, --coronal: rows, columns */
    int plane_given[3];
    double fill;
    int fill_given;
    cli_exec exec;
    cli_dicom dicom;
} patches_args;

/* What check() settles: the patch sizes, and the output files. */
typedef struct layout {
    int64_t rows[3], cols[3]; /* planes: each plane's */
    int64_t box[3];           /* box: z, y, x */
    int split;                /* planes of different sizes: one file per plane */
    char files[3][4096];      /* the .npy files: one, or one per plane */
    int nfiles;
} layout;

static int on_flag(void *user, const cli_flag *f, const char *v)
{
    patches_args *a = (patches_args *)user;
    int rc = cli_shared_flag("patches", &a->exec, NULL, &a->dicom, f, v);
    if (rc != -2)
        return rc;
    switch (f->id) {
    case O_OUT: a->out = v; return 0;
    case O_INDEX: a->index = v; return 0;
    case O_JSON: a->json = 1; return 0;
    case O_POINTS: a->points = v; return 0;
    case O_VOXEL: a->voxel = 1; return 0;
    case O_LPS: a->lps = 1; return 0;
    case O_PLANES: a->planes = 1; return 0;
    case O_BOX: a->box = 1; return 0;
    case O_SIZE:
        if (!(a->size_n = cli_parse_numbers(v, a->size, 3))) {
            cli_error("patches", "--size: expected N, R,C (planes) or Z,Y,X (box) of whole numbers, got '%s'", v);
            return VXT_EXIT_USAGE;
        }
        return 0;
    case O_FILL:
        if (!cli_parse_double(v, &a->fill)) {
            cli_error("patches", "--fill: expected a number, got '%s'", v);
            return VXT_EXIT_USAGE;
        }
        a->fill_given = 1;
        return 0;
    default: { /* O_AXIAL, O_SAGITTAL, O_CORONAL */
        const int p = f->id == O_AXIAL ? 0 : f->id == O_SAGITTAL ? 1 : 2;
        if (cli_parse_numbers(v, a->plane[p], 2) != 2) {
            cli_error("patches", "--%s: expected R,C (rows, columns), got '%s'", plane_names[p], v);
            return VXT_EXIT_USAGE;
        }
        a->plane_given[p] = 1;
        return 0;
    }
    }
}

static int parse(void *args, int argc, char **argv, const char **pos, int *npos, vxt_plan **plan)
{
    (void)plan;
    patches_args *a = (patches_args *)args;
    return cli_start(&spec, argc, argv, on_flag, a, pos, npos, &a->exec, NULL, 0, NULL);
}

/* A patch side: a whole number from 1 to 2^21 + 1, odd for planes (centred on the point). */
static int side(const char *flag, double v, int odd, int64_t *out)
{
    if (v != floor(v) || v < 1 || v > (double)((1 << 21) + 1) || (odd && fmod(v, 2.0) != 1.0)) {
        cli_error("patches", "%s: %g is not %s from 1 to 2097153%s", flag, v, odd ? "an odd whole number" :
                  "a whole number", odd ? " (a plane is centred on its point)" : "");
        return VXT_EXIT_USAGE;
    }
    *out = (int64_t)v;
    return 0;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && !strcasecmp(s + n - k, suffix);
}

/* The sizes and the output names; an exit status. */
static int settle(const patches_args *a, layout *L)
{
    memset(L, 0, sizeof *L);
    int rc = 0;
    if (a->box) {
        if (a->planes) {
            cli_error("patches", "--planes and --box: give one");
            return VXT_EXIT_USAGE;
        }
        for (int p = 0; p < 3; p++)
            if (a->plane_given[p]) {
                cli_error("patches", "--%s sizes the %s planes of --planes, not boxes (--box --size N|Z,Y,X)",
                          plane_names[p], plane_names[p]);
                return VXT_EXIT_USAGE;
            }
        if (a->size_n != 1 && a->size_n != 3) {
            cli_error("patches", a->size_n ? "--size: a box is N or Z,Y,X" : "missing --size N|Z,Y,X (the boxes' size)");
            return VXT_EXIT_USAGE;
        }
        for (int ax = 0; ax < 3 && !rc; ax++)
            rc = side("--size", a->size[a->size_n == 1 ? 0 : ax], 0, &L->box[ax]);
    } else {
        if (a->size_n == 3) {
            cli_error("patches", "--size: planes are N or R,C (Z,Y,X is a box's: give --box)");
            return VXT_EXIT_USAGE;
        }
        for (int p = 0; p < 3 && !rc; p++) {
            char flag[32];
            if (!a->plane_given[p] && !a->size_n) {
                cli_error("patches", "missing --size N|R,C (or --axial, --sagittal and --coronal R,C): the %s planes' "
                          "size", plane_names[p]);
                return VXT_EXIT_USAGE;
            }
            const double *s = a->plane_given[p] ? a->plane[p] : a->size;
            const int two = a->plane_given[p] || a->size_n == 2;
            snprintf(flag, sizeof flag, "--%s", a->plane_given[p] ? plane_names[p] : "size");
            if (!(rc = side(flag, s[0], 1, &L->rows[p])))
                rc = side(flag, s[two ? 1 : 0], 1, &L->cols[p]);
        }
        for (int p = 1; p < 3; p++)
            L->split |= L->rows[p] != L->rows[0] || L->cols[p] != L->cols[0];
    }
    if (rc)
        return rc;
    /* one patch's voxels (a box, or the three planes) must have a size: 2^21 per side would overflow int64 */
    int64_t vox = 0;
    int over = 0;
    if (a->box) {
        vox = L->box[0];
        over = __builtin_mul_overflow(vox, L->box[1], &vox) || __builtin_mul_overflow(vox, L->box[2], &vox);
    } else {
        for (int p = 0; p < 3 && !over; p++) {
            int64_t pv = 0;
            over = __builtin_mul_overflow(L->rows[p], L->cols[p], &pv) || __builtin_add_overflow(vox, pv, &vox);
        }
    }
    if (over || vox > ((int64_t)1 << 32)) {
        cli_error("patches", "--size: a patch of more than 2^32 voxels");
        return VXT_EXIT_USAGE;
    }
    if (!has_suffix(a->out, ".npy")) {
        cli_error("patches", "-o %s: the name must end in .npy", a->out);
        return VXT_EXIT_USAGE;
    }
    L->nfiles = L->split ? 3 : 1;
    snprintf(L->files[0], sizeof L->files[0], "%s", a->out);
    const int stem = (int)strlen(a->out) - 4;
    if (L->split) /* OUT.npy: OUT_axial.npy, OUT_sagittal.npy, OUT_coronal.npy */
        for (int k = 0; k < 3; k++)
            snprintf(L->files[k], sizeof L->files[k], "%.*s_%s.npy", stem, a->out, plane_names[k]);
    if (a->index && !has_suffix(a->index, ".csv")) { /* (so it never names one of the .npy files) */
        cli_error("patches", "--index %s: the name must end in .csv", a->index);
        return VXT_EXIT_USAGE;
    }
    return 0;
}

/* The input, -o, --points, the sizes, the output names and their directories. */
static int check(const void *args, const vxt_plan *plan, const char *const *pos, int npos)
{
    const patches_args *a = (const patches_args *)args;
    (void)plan, (void)pos;
    if (npos != 1 || !a->out || !a->points) {
        cli_error("patches", npos != 1 ? "missing the input image" : !a->out ? "missing -o OUT.npy"
                                                                            : "missing --points FILE.csv");
        return VXT_EXIT_USAGE;
    }
    if (a->voxel && a->lps) {
        cli_error("patches", "--lps says how world coordinates are given; --voxel gives voxel indices: give one");
        return VXT_EXIT_USAGE;
    }
    layout L;
    int rc = settle(a, &L);
    for (int k = 0; !rc && k < L.nfiles; k++)
        rc = cli_check_output("patches", "-o", L.files[k], NULL);
    return rc || !a->index ? rc : cli_check_output("patches", "--index", a->index, NULL);
}

/* ---- points to voxels ------------------------------------------------------------------------------------ */

/* Where each point is: its voxel centre (z, y, x) and that centre's RAS position. */
typedef struct where {
    int64_t (*v)[3];
    double (*ras)[3];
} where;

/* The inverse of the affine's 3x3 part (world = M (i, j, k) + t); 0 when it is singular. */
static int invert3(const double a[4][4], double inv[3][3])
{
    const double det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) -
                       a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
                       a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
    double scale = 1;
    for (int c = 0; c < 3; c++)
        scale *= sqrt(a[0][c] * a[0][c] + a[1][c] * a[1][c] + a[2][c] * a[2][c]);
    if (!isfinite(det) || fabs(det) <= 1e-12 * scale)
        return 0;
    inv[0][0] = (a[1][1] * a[2][2] - a[1][2] * a[2][1]) / det;
    inv[0][1] = (a[0][2] * a[2][1] - a[0][1] * a[2][2]) / det;
    inv[0][2] = (a[0][1] * a[1][2] - a[0][2] * a[1][1]) / det;
    inv[1][0] = (a[1][2] * a[2][0] - a[1][0] * a[2][2]) / det;
    inv[1][1] = (a[0][0] * a[2][2] - a[0][2] * a[2][0]) / det;
    inv[1][2] = (a[0][2] * a[1][0] - a[0][0] * a[1][2]) / det;
    inv[2][0] = (a[1][0] * a[2][1] - a[1][1] * a[2][0]) / det;
    inv[2][1] = (a[0][1] * a[2][0] - a[0][0] * a[2][1]) / det;
    inv[2][2] = (a[0][0] * a[1][1] - a[0][1] * a[1][0]) / det;
    return 1;
}

static int locate(const patches_args *a, const cli_points *pts, const vxt_image_info *info, where *w)
{
    double inv[3][3] = {{0}};
    if (!a->voxel && !invert3(info->affine, inv)) {
        cli_error("patches", "%s: the image's affine is singular: world coordinates cannot be placed (give --voxel)",
                  info->source);
        return VXT_EXIT_INPUT;
    }
    for (size_t i = 0; i < pts->n; i++) {
        const double *c = pts->p[i].c;
        double zyx[3];
        if (a->voxel) {
            memcpy(zyx, c, sizeof zyx);
        } else {
            const double p[3] = {(a->lps ? -c[0] : c[0]) - info->affine[0][3], (a->lps ? -c[1] : c[1]) -
                                 info->affine[1][3], c[2] - info->affine[2][3]};
            for (int r = 0; r < 3; r++) /* (i, j, k) = inv p; volume axis z is k */
                zyx[2 - r] = inv[r][0] * p[0] + inv[r][1] * p[1] + inv[r][2] * p[2];
        }
        int inside = 1;
        for (int ax = 0; ax < 3; ax++) {
            const double r = floor(zyx[ax] + 0.5);
            inside &= r >= 0 && r < (double)info->shape[ax];
            w->v[i][ax] = inside ? (int64_t)r : 0;
        }
        if (!inside) {
            char s[96];
            cli_error("patches", "%s:%ld: the point (%.9g, %.9g, %.9g) is at voxel (z, y, x) (%.6g, %.6g, %.6g), "
                      "outside the image's %s voxels", a->points, pts->p[i].line, c[0], c[1], c[2], zyx[0], zyx[1],
                      zyx[2], cli_shape_text(s, sizeof s, info->shape));
            return VXT_EXIT_INPUT;
        }
        for (int r = 0; r < 3; r++) /* the centre's world position, RAS+ */
            w->ras[i][r] = info->affine[r][0] * (double)w->v[i][2] + info->affine[r][1] * (double)w->v[i][1] +
                           info->affine[r][2] * (double)w->v[i][0] + info->affine[r][3];
    }
    return 0;
}

/* --fill, or the smallest value of every channel (NaN left out); an exit status. */
static int fill_value(vxt_context *ctx, const patches_args *a, const vxt_volume *v, double *fill)
{
    if (a->fill_given) {
        *fill = a->fill;
        return 0;
    }
    const size_t n = (size_t)(v->shape[0] * v->shape[1] * v->shape[2]);
    int any = 0;
    *fill = 0;
    for (int64_t c = 0; c < v->channels; c++) {
        vxt_volume ch = *v;
        ch.channels = 1;
        ch.data = (char *)v->data + (size_t)c * n * vxt_dtype_size(v->dtype);
        vxt_stats s = {.struct_size = sizeof s};
        vxt_status st = vxt_statistics(ctx, &ch, VXT_SELECT_ALL, NULL, &s);
        if (st != VXT_OK)
            return cli_input_fail("patches", "the image's minimum (the default --fill)", st);
        if (s.count && (!any || s.min < *fill))
            *fill = s.min;
        any |= s.count > 0;
    }
    if (!isfinite(*fill)) {
        cli_error("patches", "the image's minimum is %g: give --fill V", *fill);
        return VXT_EXIT_USAGE;
    }
    return 0;
}

/* Voxels the preprocessing does not read (uint32, int64, uint64) as float32 (rounded to nearest, as numpy's astype):
 * *copy holds them and `in` views them. An exit status. */
static int readable(vxt_volume *in, float **copy)
{
    if (in->dtype != VXT_DTYPE_U32 && in->dtype != VXT_DTYPE_I64 && in->dtype != VXT_DTYPE_U64)
        return 0;
    const size_t n = (size_t)(in->channels * in->shape[0] * in->shape[1] * in->shape[2]);
    if (!(*copy = malloc(n * sizeof(float)))) {
        cli_error("patches", "out of memory for the voxels as float32 (%zu MiB)", (n * sizeof(float)) >> 20);
        return VXT_EXIT_MEMORY;
    }
    for (size_t i = 0; i < n; i++)
        (*copy)[i] = in->dtype == VXT_DTYPE_U32   ? (float)((const uint32_t *)in->data)[i]
                     : in->dtype == VXT_DTYPE_I64 ? (float)((const int64_t *)in->data)[i]
                                                  : (float)((const uint64_t *)in->data)[i];
    in->data = *copy;
    in->dtype = VXT_DTYPE_F32;
    return 0;
}

/* ---- extraction ------------------------------------------------------------------------------------------ */

/* Whether [c - lo, c + hi] leaves [0, n). */
static int leaves(int64_t c, int64_t lo, int64_t hi, int64_t n)
{
    return c - lo < 0 || c + hi >= n;
}

static int padded(const layout *L, int box, const int64_t v[3], const int64_t shape[3])
{
    if (box) {
        int out = 0;
        for (int ax = 0; ax < 3; ax++)
            out |= leaves(v[ax], L->box[ax] / 2, L->box[ax] - 1 - L->box[ax] / 2, shape[ax]);
        return out;
    }
    /* axial: rows y, columns x; sagittal: rows z, columns y; coronal: rows z, columns x */
    static const int row_axis[3] = {1, 0, 0}, col_axis[3] = {2, 1, 2};
    int out = 0;
    for (int p = 0; p < 3; p++)
        out |= leaves(v[row_axis[p]], L->rows[p] / 2, L->rows[p] / 2, shape[row_axis[p]]) ||
               leaves(v[col_axis[p]], L->cols[p] / 2, L->cols[p] / 2, shape[col_axis[p]]);
    return out;
}

/* The .npy writers, one per file, with their shapes. */
typedef struct outputs {
    vxt_npy_writer *w[3];
    int64_t shape[3][6];
    int ndim[3];
    uint64_t per_point[3]; /* floats of one point in each file */
} outputs;

static int open_outputs(const layout *L, int box, int64_t n, int64_t channels, outputs *o)
{
    for (int k = 0; k < L->nfiles; k++) {
        int64_t *s = o->shape[k];
        int d = 0;
        s[d++] = n;
        if (!box && !L->split)
            s[d++] = 3;
        if (channels > 1)
            s[d++] = channels;
        if (box) {
            s[d++] = L->box[0], s[d++] = L->box[1], s[d++] = L->box[2];
        } else {
            s[d++] = L->rows[k], s[d++] = L->cols[k];
        }
        o->ndim[k] = d;
        o->per_point[k] = 1;
        for (int i = 1; i < d; i++)
            o->per_point[k] *= (uint64_t)s[i];
        vxt_status st = vxt_npy_writer_open(L->files[k], VXT_DTYPE_F32, d, s, &o->w[k]);
        if (st != VXT_OK)
            return cli_output_fail("patches", L->files[k], st);
    }
    return 0;
}

/* Boxes of points [i0, i1) into buf (one after the other), each read from the input planes it reaches, channel by
 * channel (so that a device is sent only those planes). */
static int boxes(vxt_context *ctx, const layout *L, const vxt_volume *in, int64_t (*v)[3], size_t i0, size_t i1,
                 double fill, float *buf)
{
    const size_t per_ch = (size_t)(L->box[0] * L->box[1] * L->box[2]);
    const size_t plane = (size_t)(in->shape[1] * in->shape[2]), es = vxt_dtype_size(in->dtype);
    for (size_t i = i0; i < i1; i++)
        for (int64_t c = 0; c < in->channels; c++) {
            int64_t start[3];
            for (int ax = 0; ax < 3; ax++)
                start[ax] = v[i][ax] - L->box[ax] / 2;
            int64_t z0 = start[0] < 0 ? 0 : start[0], z1 = start[0] + L->box[0];
            z0 = z0 > in->shape[0] - 1 ? in->shape[0] - 1 : z0;
            z1 = z1 > in->shape[0] ? in->shape[0] : z1 <= z0 ? z0 + 1 : z1;
            vxt_volume slab = {(char *)in->data + ((size_t)c * (size_t)in->shape[0] + (size_t)z0) * plane * es,
                               in->dtype, 1, {z1 - z0, in->shape[1], in->shape[2]}};
            vxt_volume out = {buf + ((i - i0) * (size_t)in->channels + (size_t)c) * per_ch, VXT_DTYPE_F32, 1,
                              {L->box[0], L->box[1], L->box[2]}};
            start[0] -= z0;
            vxt_status st = vxt_extract_box(ctx, &slab, start, fill, &out);
            if (st != VXT_OK)
                return cli_fail("patches", "vxt_extract_box", st);
        }
    return 0;
}

/* Tri-planar patches of points [i0, i1): the library's (n, 3, C, R, Cl) of the largest rows and columns into buf; with
 * planes of different sizes each plane cropped about its centre into part[p] (n, C, r_p, c_p). */
static int planes(vxt_context *ctx, const layout *L, const vxt_volume *in, int64_t (*v)[3], size_t i0, size_t i1,
                  double fill, float *buf, float *part[3])
{
    int64_t half[2] = {0, 0};
    for (int p = 0; p < 3; p++) {
        half[0] = L->rows[p] / 2 > half[0] ? L->rows[p] / 2 : half[0];
        half[1] = L->cols[p] / 2 > half[1] ? L->cols[p] / 2 : half[1];
    }
    const size_t R = (size_t)(2 * half[0] + 1), C = (size_t)(2 * half[1] + 1), n = i1 - i0,
                 ch = (size_t)in->channels;
    vxt_status st = vxt_extract_triplanar(ctx, in, &v[i0][0], n, half, fill, buf, n * 3 * ch * R * C);
    if (st != VXT_OK)
        return cli_fail("patches", "vxt_extract_triplanar", st);
    if (!L->split)
        return 0;
    for (int p = 0; p < 3; p++) {
        const size_t r = (size_t)L->rows[p], c = (size_t)L->cols[p];
        const size_t r0 = (size_t)half[0] - r / 2, c0 = (size_t)half[1] - c / 2;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < ch; k++)
                for (size_t y = 0; y < r; y++)
                    memcpy(part[p] + ((i * ch + k) * r + y) * c, buf + (((i * 3 + (size_t)p) * ch + k) * R + r0 + y) * C + c0,
                           c * sizeof(float));
    }
    return 0;
}

/* Every patch, written to the files a chunk of points at a time (at most about 64 MiB of patches in memory). */
static int extract(vxt_context *ctx, const layout *L, int box, const vxt_volume *in, const where *w, size_t n,
                   double fill, outputs *o)
{
    uint64_t lib_point = 0; /* floats of one point in the library's layout */
    if (box) {
        lib_point = o->per_point[0];
    } else {
        int64_t hr = 0, hc = 0;
        for (int p = 0; p < 3; p++)
            hr = L->rows[p] / 2 > hr ? L->rows[p] / 2 : hr, hc = L->cols[p] / 2 > hc ? L->cols[p] / 2 : hc;
        lib_point = 3 * (uint64_t)in->channels * (uint64_t)(2 * hr + 1) * (uint64_t)(2 * hc + 1);
    }
    size_t chunk = (size_t)((16u << 20) / lib_point);
    chunk = chunk < 1 ? 1 : chunk > n ? n : chunk;
    float *buf = malloc(chunk * lib_point * sizeof(float)), *part[3] = {NULL, NULL, NULL};
    int rc = buf ? 0 : VXT_EXIT_MEMORY;
    for (int p = 0; !rc && L->split && p < 3; p++)
        if (!(part[p] = malloc(chunk * o->per_point[p] * sizeof(float))))
            rc = VXT_EXIT_MEMORY;
    if (rc)
        cli_error("patches", "out of memory for %zu patches of %llu values", chunk, (unsigned long long)lib_point);
    for (size_t i0 = 0; !rc && i0 < n; i0 += chunk) {
        const size_t i1 = i0 + chunk < n ? i0 + chunk : n;
        rc = box ? boxes(ctx, L, in, w->v, i0, i1, fill, buf) : planes(ctx, L, in, w->v, i0, i1, fill, buf, part);
        for (int k = 0; !rc && k < L->nfiles; k++) {
            vxt_status st = vxt_npy_writer_write(o->w[k], i0 * o->per_point[k], (i1 - i0) * o->per_point[k],
                                                 L->split ? part[k] : buf);
            if (st != VXT_OK)
                rc = cli_output_fail("patches", L->files[k], st);
        }
    }
    for (int p = 0; p < 3; p++)
        free(part[p]);
    free(buf);
    return rc;
}

/* ---- the index ------------------------------------------------------------------------------------------- */

typedef struct index_text {
    char *text;
    size_t len;
} index_text;

static int write_index(void *user, int fd)
{
    const index_text *t = (const index_text *)user;
    for (size_t off = 0; off < t->len;) {
        ssize_t k = write(fd, t->text + off, t->len - off);
        if (k <= 0)
            return 1;
        off += (size_t)k;
    }
    return 0;
}

/* row,id,line,<the point's three columns>,voxel_z,voxel_y,voxel_x,ras_x,ras_y,ras_z,padded,fill */
static int make_index(const patches_args *a, const layout *L, const cli_points *pts, const where *w,
                      const int64_t shape[3], double fill, index_text *t, size_t *npadded)
{
    size_t cap = 256 + pts->n * 640;
    for (size_t i = 0; i < pts->n; i++)
        cap += 2 * strlen(pts->p[i].id);
    if (!(t->text = malloc(cap))) {
        cli_error("patches", "--index: out of memory");
        return VXT_EXIT_MEMORY;
    }
    t->len = (size_t)snprintf(t->text, cap, "row,id,line,%s,voxel_z,voxel_y,voxel_x,ras_x,ras_y,ras_z,padded,fill\n",
                              a->voxel ? "z,y,x" : "x,y,z");
    *npadded = 0;
    for (size_t i = 0; i < pts->n; i++) {
        char id[1024] = "";
        const int pad = padded(L, a->box, w->v[i], shape);
        const double *c = pts->p[i].c;
        points_csv_field(id, sizeof id, pts->p[i].id[0] ? pts->p[i].id : "");
        *npadded += (size_t)pad;
        int k = snprintf(t->text + t->len, cap - t->len,
                         "%zu,%s,%ld,%.17g,%.17g,%.17g,%lld,%lld,%lld,%.17g,%.17g,%.17g,%d,%.17g\n", i, id,
                         pts->p[i].line, c[0], c[1], c[2], (long long)w->v[i][0], (long long)w->v[i][1],
                         (long long)w->v[i][2], w->ras[i][0], w->ras[i][1], w->ras[i][2], pad, fill);
        t->len += (size_t)k;
    }
    return 0;
}

/* ---- the command ----------------------------------------------------------------------------------------- */

static cJSON *shape_json(const int64_t *s, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)s[i]));
    return a;
}

static int summary(const patches_args *a, const layout *L, const outputs *o, const char *in, size_t n, double fill,
                   size_t npadded, const vxt_image_info *info, vxt_context *ctx, double t0)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "input", in);
    cJSON_AddStringToObject(j, "points", a->points);
    cJSON_AddNumberToObject(j, "count", (double)n);
    cJSON_AddStringToObject(j, "patches", a->box ? "box" : "planes");
    cJSON_AddStringToObject(j, "coordinates", a->voxel ? "voxel" : a->lps ? "lps" : "ras");
    cJSON *files = cJSON_AddArrayToObject(j, "outputs");
    for (int k = 0; k < L->nfiles; k++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "file", L->files[k]);
        if (L->split)
            cJSON_AddStringToObject(f, "plane", plane_names[k]);
        cJSON_AddItemToObject(f, "shape", shape_json(o->shape[k], o->ndim[k]));
        cJSON_AddItemToArray(files, f);
    }
    if (a->index)
        cJSON_AddStringToObject(j, "index", a->index);
    else
        cJSON_AddNullToObject(j, "index");
    cJSON_AddNumberToObject(j, "fill", fill);
    cJSON_AddNumberToObject(j, "padded", (double)npadded);
    cJSON_AddStringToObject(j, "orientation", info->orientation);
    cli_json_context(j, ctx);
    cJSON_AddNumberToObject(j, "seconds", cli_seconds() - t0);
    return cli_print_json(j);
}

int cmd_patches(int argc, char **argv)
{
    patches_args a;
    memset(&a, 0, sizeof a);
    const char *pos[1];
    int npos = 0, rc = parse(&a, argc, argv, pos, &npos, NULL);
    a.dicom.threads = (int)a.exec.threads;
    if (rc)
        return rc < 0 ? VXT_EXIT_OK : rc;
    if ((rc = check(&a, NULL, pos, npos)))
        return rc;
    const double t0 = cli_seconds();
    layout L;
    settle(&a, &L);
    cli_points pts;
    vxt_image *img = NULL;
    vxt_context *ctx = NULL;
    vxt_output_set *set = NULL;
    outputs o;
    memset(&o, 0, sizeof o);
    where w = {NULL, NULL};
    index_text idx = {NULL, 0};
    double fill = 0;
    size_t npadded = 0;
    float *copy = NULL;
    if ((rc = points_read("patches", a.points, a.voxel, &pts)))
        return rc;
    vxt_volume in;
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_status st;
    if ((rc = cli_context("patches", &a.exec, &ctx)) ||
        (rc = cli_read_image("patches", pos[0], VXT_SCALING_AUTO, &a.dicom, &img)))
        goto done;
    vxt_image_volume(img, &in);
    vxt_image_get_info(img, &info);
    if ((rc = readable(&in, &copy)))
        goto done;
    w.v = malloc(pts.n * sizeof *w.v);
    w.ras = malloc(pts.n * sizeof *w.ras);
    if (!w.v || !w.ras) {
        cli_error("patches", "out of memory for %zu points", pts.n);
        rc = VXT_EXIT_MEMORY;
        goto done;
    }
    if ((rc = locate(&a, &pts, &info, &w)) || (rc = fill_value(ctx, &a, &in, &fill)) ||
        (rc = open_outputs(&L, a.box, (int64_t)pts.n, in.channels, &o)) ||
        (rc = extract(ctx, &L, a.box, &in, &w, pts.n, fill, &o)) ||
        (rc = make_index(&a, &L, &pts, &w, in.shape, fill, &idx, &npadded)))
        goto done;
    /* every file complete, then all moved into place together */
    if ((st = vxt_output_set_create(&set)) != VXT_OK) {
        rc = cli_fail("patches", "outputs", st);
        goto done;
    }
    for (int k = 0; k < L.nfiles; k++) {
        st = vxt_output_set_add_npy_writer(set, o.w[k]);
        o.w[k] = NULL; /* taken in every case */
        if (st != VXT_OK) {
            rc = cli_output_fail("patches", L.files[k], st);
            goto done;
        }
    }
    if (a.index && (st = vxt_output_set_add_file(set, a.index, write_index, &idx)) != VXT_OK) {
        rc = cli_output_fail("patches", a.index, st);
        goto done;
    }
    if ((st = vxt_output_set_commit(set)) != VXT_OK) {
        rc = cli_output_fail("patches", "writing the outputs", st);
        goto done;
    }
    if (a.json)
        rc = summary(&a, &L, &o, pos[0], pts.n, fill, npadded, &info, ctx, t0);
done:
    for (int k = 0; k < 3; k++)
        vxt_npy_writer_abort(o.w[k]);
    vxt_output_set_destroy(set);
    free(idx.text);
    free(copy);
    free(w.v);
    free(w.ras);
    points_free(&pts);
    vxt_image_destroy(img);
    vxt_context_destroy(ctx);
    return rc;
}

const cli_command cmd_patches_parsing = {&spec, sizeof(patches_args), parse, check};
