/* cmd_header.c - `voxtile header IN [--json] [--stats]`: what fslhd and nib-ls show about an image -- for every
 * format the shape, dtype, spacing, scaling, affine and orientation (vxt_image_info, vxt_geometry); for NIfTI
 * also dims, datatype, byte order, units, the qform and sform codes and matrices, intent, slices and
 * extensions (vxt_nifti_info) -- and with --stats the minimum, maximum, mean, standard deviation and exact sum
 * of the values the file means (scaled when scl_slope applies, as voxtile's AUTO scaling reads them).
 *
 * Exactness: integer values are summed in 128-bit integers; floating-point values (float32 after scaling,
 * stored float32/float64) in a fixed-point superaccumulator (exact_sum.c), so the printed sum is the exact
 * sum of the values, whatever their order or magnitude. The mean is that sum over the count, in long double;
 * the standard deviation (population, as numpy's default) is a second pass over (x - mean)^2 in long double
 * with compensated (Neumaier) summation. NaN and infinities are counted and left out of every statistic. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "exact_sum.h"

typedef struct stats {
    uint64_t count;     /* finite values */
    uint64_t nonfinite; /* NaN and infinities */
    long double min, max, mean, std;
    char sum[1400];      /* exact, decimal */
    long double sum_ld; /* rounded */
} stats;

/* Neumaier's compensated sum. */
typedef struct ksum {
    long double s, c;
} ksum;

static void kadd(ksum *k, long double x)
{
    long double t = k->s + x;
    if (fabsl(k->s) >= fabsl(x))
        k->c += (k->s - t) + x;
    else
        k->c += (x - t) + k->s;
    k->s = t;
}

#define INT_STATS(T)                                                                                         \
    {                                                                                                        \
        const T *p = (const T *)v->data;                                                                     \
        vxt_int128 sum = 0;                                                                                    \
        T lo = p[0], hi = p[0];                                                                              \
        for (size_t i = 0; i < n; i++) {                                                                     \
            sum += p[i];                                                                                     \
            if (p[i] < lo)                                                                                   \
                lo = p[i];                                                                                   \
            if (p[i] > hi)                                                                                   \
                hi = p[i];                                                                                   \
        }                                                                                                    \
        s->count = n;                                                                                        \
        s->min = (long double)lo;                                                                            \
        s->max = (long double)hi;                                                                            \
        s->sum_ld = (long double)sum;                                                                        \
        vxt_int128_format(sum, s->sum, sizeof s->sum);                                                       \
        s->mean = s->sum_ld / (long double)n;                                                                \
        ksum k = {0, 0};                                                                                     \
        for (size_t i = 0; i < n; i++) {                                                                     \
            long double d = (long double)p[i] - s->mean;                                                     \
            kadd(&k, d * d);                                                                                 \
        }                                                                                                    \
        s->std = sqrtl((k.s + k.c) / (long double)n);                                                        \
    }

#define FLOAT_STATS(T)                                                                                       \
    {                                                                                                        \
        const T *p = (const T *)v->data;                                                                     \
        vxt_xsum *xs = malloc(sizeof *xs);                                                                   \
        if (xs == NULL)                                                                                      \
            return 0;                                                                                        \
        vxt_xsum_init(xs);                                                                                   \
        int first = 1;                                                                                       \
        for (size_t i = 0; i < n; i++) {                                                                     \
            double x = (double)p[i];                                                                         \
            if (!isfinite(x)) {                                                                              \
                s->nonfinite++;                                                                              \
                continue;                                                                                    \
            }                                                                                                \
            vxt_xsum_add(xs, x);                                                                             \
            if (first || x < s->min)                                                                         \
                s->min = x;                                                                                  \
            if (first || x > s->max)                                                                         \
                s->max = x;                                                                                  \
            first = 0;                                                                                       \
            s->count++;                                                                                      \
        }                                                                                                    \
        s->sum_ld = vxt_xsum_value(xs);                                                                      \
        vxt_xsum_format(xs, s->sum, sizeof s->sum);                                                          \
        free(xs);                                                                                            \
        if (s->count > 0) {                                                                                  \
            s->mean = s->sum_ld / (long double)s->count;                                                     \
            ksum k = {0, 0};                                                                                 \
            for (size_t i = 0; i < n; i++) {                                                                 \
                if (!isfinite((double)p[i]))                                                                 \
                    continue;                                                                                \
                long double d = (long double)p[i] - s->mean;                                                 \
                kadd(&k, d * d);                                                                             \
            }                                                                                                \
            s->std = sqrtl((k.s + k.c) / (long double)s->count);                                             \
        } else {                                                                                             \
            s->min = s->max = s->mean = s->std = NAN;                                                        \
        }                                                                                                    \
    }

static int compute_stats(const vxt_volume *v, stats *s)
{
    memset(s, 0, sizeof *s);
    size_t n = (size_t)(v->channels * v->shape[0] * v->shape[1] * v->shape[2]);
    switch (v->dtype) {
    case VXT_DTYPE_U8:
        INT_STATS(uint8_t)
        break;
    case VXT_DTYPE_I8:
        INT_STATS(int8_t)
        break;
    case VXT_DTYPE_U16:
        INT_STATS(uint16_t)
        break;
    case VXT_DTYPE_I16:
        INT_STATS(int16_t)
        break;
    case VXT_DTYPE_U32:
        INT_STATS(uint32_t)
        break;
    case VXT_DTYPE_I32:
        INT_STATS(int32_t)
        break;
    case VXT_DTYPE_U64:
        INT_STATS(uint64_t)
        break;
    case VXT_DTYPE_I64:
        INT_STATS(int64_t)
        break;
    case VXT_DTYPE_F32: /* float16 arrives as float32 (read_image), exactly */
        FLOAT_STATS(float)
        break;
    case VXT_DTYPE_F64:
        FLOAT_STATS(double)
        break;
    default:
        return 0;
    }
    return 1;
}

static const char *slice_code_name(int code)
{
    static const char *names[] = {"unknown", "seq_inc", "seq_dec", "alt_inc", "alt_dec", "alt_inc2", "alt_dec2"};
    return code >= 0 && code <= 6 ? names[code] : "invalid";
}

static cJSON *json_matrix(const double m[4][4])
{
    cJSON *rows = cJSON_CreateArray();
    for (int r = 0; r < 4; r++) {
        cJSON *row = cJSON_CreateArray();
        for (int c = 0; c < 4; c++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber(m[r][c]));
        cJSON_AddItemToArray(rows, row);
    }
    return rows;
}

static cJSON *json_numbers(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, isfinite(v[i]) ? cJSON_CreateNumber(v[i]) : cJSON_CreateNull());
    return a;
}

static void add_number(cJSON *o, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddStringToObject(o, key, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

static void print_matrix(const char *label, const double m[4][4])
{
    for (int r = 0; r < 4; r++)
        printf("%-16s %14.9g %14.9g %14.9g %14.9g\n", r == 0 ? label : "", m[r][0], m[r][1], m[r][2], m[r][3]);
}

/* What the command shows, read once. */
typedef struct header_view {
    const char *path;
    const vxt_image *img;
    vxt_image_info info;
    vxt_geometry g;
    vxt_nifti_info ni; /* only for NIfTI files */
    int nifti;
    const stats *s;    /* NULL without --stats */
} header_view;

static int applies(double slope)
{
    return isfinite(slope) && slope != 0;
}

static void json_nifti(cJSON *root, const header_view *v)
{
    const vxt_nifti_info *ni = &v->ni;
    const vxt_geometry *g = &v->g;
    cJSON_AddNumberToObject(root, "nifti_version", ni->nifti_version);
    cJSON_AddStringToObject(root, "byte_order", ni->big_endian ? "big-endian" : "little-endian");
    cJSON_AddBoolToObject(root, "single_file", ni->single_file);
    cJSON *dim = cJSON_AddArrayToObject(root, "dim");
    for (int i = 0; i < 8; i++)
        cJSON_AddItemToArray(dim, cJSON_CreateNumber((double)ni->dim[i]));
    cJSON_AddNumberToObject(root, "datatype", ni->datatype);
    cJSON_AddStringToObject(root, "datatype_name", vxt_nifti_datatype_name(ni->datatype));
    cJSON_AddNumberToObject(root, "bitpix", ni->bitpix);
    cJSON_AddNumberToObject(root, "vox_offset", (double)ni->vox_offset);
    cJSON_AddItemToObject(root, "pixdim", json_numbers(g->pixdim, 8));
    cJSON_AddNumberToObject(root, "xyzt_units", g->xyzt_units);
    cJSON_AddStringToObject(root, "space_units", vxt_nifti_units_name(g->xyzt_units & 7));
    cJSON_AddStringToObject(root, "time_units", vxt_nifti_units_name(g->xyzt_units & 56));
    add_number(root, "cal_min", ni->cal_min);
    add_number(root, "cal_max", ni->cal_max);
    cJSON_AddNumberToObject(root, "intent_code", ni->intent_code);
    cJSON_AddItemToObject(root, "intent_p", json_numbers(ni->intent_p, 3));
    cJSON_AddStringToObject(root, "intent_name", ni->intent_name);
    cJSON_AddNumberToObject(root, "dim_info", ni->dim_info);
    cJSON_AddNumberToObject(root, "slice_code", ni->slice_code);
    cJSON_AddNumberToObject(root, "slice_start", (double)ni->slice_start);
    cJSON_AddNumberToObject(root, "slice_end", (double)ni->slice_end);
    add_number(root, "slice_duration", ni->slice_duration);
    add_number(root, "toffset", ni->toffset);
    cJSON_AddStringToObject(root, "aux_file", ni->aux_file);
    cJSON_AddNumberToObject(root, "qform_code", g->qform_code);
    cJSON_AddStringToObject(root, "qform_name", vxt_nifti_xform_name(g->qform_code));
    cJSON_AddItemToObject(root, "quatern", json_numbers(g->quatern, 3));
    cJSON_AddItemToObject(root, "qoffset", json_numbers(g->qoffset, 3));
    cJSON_AddNumberToObject(root, "qfac", g->pixdim[0] < 0 ? -1 : 1);
    cJSON_AddItemToObject(root, "qform", json_matrix(g->qform));
    cJSON_AddNumberToObject(root, "sform_code", g->sform_code);
    cJSON_AddStringToObject(root, "sform_name", vxt_nifti_xform_name(g->sform_code));
    cJSON_AddItemToObject(root, "sform", json_matrix(g->sform));
    cJSON *exts = cJSON_AddArrayToObject(root, "extensions");
    for (size_t i = 0; i < ni->extension_count; i++) {
        int code = 0;
        size_t size = 0;
        vxt_nifti_get_extension(v->img, i, &code, NULL, &size);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "ecode", code);
        cJSON_AddNumberToObject(e, "esize", (double)(size + 8));
        cJSON_AddItemToArray(exts, e);
    }
}

static int print_json(const header_view *v)
{
    const vxt_image_info *info = &v->info;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "file", v->path);
    cJSON_AddStringToObject(root, "format", vxt_format_name(info->format));
    cJSON_AddBoolToObject(root, "compressed", info->compressed);
    cJSON *shape = cJSON_AddArrayToObject(root, "shape");
    for (int i = 0; i < 3; i++)
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)info->shape[i]));
    cJSON_AddNumberToObject(root, "channels", (double)info->channels);
    cJSON_AddNumberToObject(root, "volumes", (double)info->volumes);
    cJSON_AddStringToObject(root, "stored_dtype", vxt_dtype_name(info->stored_dtype));
    cJSON_AddItemToObject(root, "spacing", json_numbers(info->spacing, 3));
    add_number(root, "scl_slope", info->scl_slope);
    add_number(root, "scl_inter", info->scl_inter);
    cJSON_AddBoolToObject(root, "scaling_applies", applies(info->scl_slope));
    cJSON_AddStringToObject(root, "description", info->description);
    cJSON_AddItemToObject(root, "affine", json_matrix(v->g.affine));
    cJSON_AddStringToObject(root, "affine_source", vxt_affine_source_name(v->g.affine_source));
    cJSON_AddStringToObject(root, "orientation", v->g.orientation);
    if (v->nifti)
        json_nifti(root, v);
    if (v->s) {
        const stats *s = v->s;
        cJSON *sj = cJSON_AddObjectToObject(root, "stats");
        cJSON_AddStringToObject(sj, "dtype", vxt_dtype_name(info->dtype));
        cJSON_AddBoolToObject(sj, "scaled", info->scaled);
        cJSON_AddNumberToObject(sj, "count", (double)s->count);
        cJSON_AddNumberToObject(sj, "nonfinite", (double)s->nonfinite);
        add_number(sj, "min", (double)s->min);
        add_number(sj, "max", (double)s->max);
        add_number(sj, "mean", (double)s->mean);
        add_number(sj, "std", (double)s->std);
        add_number(sj, "sum", (double)s->sum_ld);
        cJSON_AddStringToObject(sj, "sum_exact", s->sum);
    }
    return cli_print_json(root);
}

static void text_nifti(const header_view *v)
{
    const vxt_nifti_info *ni = &v->ni;
    const vxt_geometry *g = &v->g;
    printf("%-16s NIfTI-%d, %s, %s\n", "nifti", ni->nifti_version, ni->single_file ? "single file" : ".hdr/.img pair",
           ni->big_endian ? "big-endian" : "little-endian");
    printf("%-16s", "dim");
    for (int i = 0; i < 8; i++)
        printf(" %lld", (long long)ni->dim[i]);
    printf("\n%-16s %s (%d), bitpix %d\n", "datatype", vxt_nifti_datatype_name(ni->datatype), ni->datatype,
           ni->bitpix);
    printf("%-16s %lld\n", "vox_offset", (long long)ni->vox_offset);
    printf("%-16s", "pixdim");
    for (int i = 0; i < 8; i++)
        printf(" %.9g", g->pixdim[i]);
    printf("\n%-16s space %s, time %s (xyzt_units %d)\n", "units", vxt_nifti_units_name(g->xyzt_units & 7),
           vxt_nifti_units_name(g->xyzt_units & 56), g->xyzt_units);
    printf("%-16s cal_min %.9g, cal_max %.9g\n", "display", ni->cal_min, ni->cal_max);
    printf("%-16s code %d, name \"%s\", p %.9g %.9g %.9g\n", "intent", ni->intent_code, ni->intent_name,
           ni->intent_p[0], ni->intent_p[1], ni->intent_p[2]);
    printf("%-16s freq %d, phase %d, slice %d; slice_code %d (%s), start %lld, end %lld, duration %.9g\n", "slices",
           ni->dim_info & 3, (ni->dim_info >> 2) & 3, (ni->dim_info >> 4) & 3, ni->slice_code,
           slice_code_name(ni->slice_code), (long long)ni->slice_start, (long long)ni->slice_end, ni->slice_duration);
    printf("%-16s %.9g\n", "toffset", ni->toffset);
    printf("%-16s \"%s\"\n", "aux_file", ni->aux_file);
    printf("%-16s %d (%s)%s\n", "qform_code", g->qform_code, vxt_nifti_xform_name(g->qform_code),
           g->qform_code > 0 ? "" : ": not used");
    printf("%-16s b %.9g, c %.9g, d %.9g; offset %.9g %.9g %.9g; qfac %d\n", "quaternion", g->quatern[0],
           g->quatern[1], g->quatern[2], g->qoffset[0], g->qoffset[1], g->qoffset[2], g->pixdim[0] < 0 ? -1 : 1);
    print_matrix("qform", g->qform);
    printf("%-16s %d (%s)%s\n", "sform_code", g->sform_code, vxt_nifti_xform_name(g->sform_code),
           g->sform_code > 0 ? "" : ": not used");
    print_matrix("sform", g->sform);
    printf("%-16s %zu", "extensions", ni->extension_count);
    for (size_t i = 0; i < ni->extension_count; i++) {
        int code = 0;
        size_t size = 0;
        vxt_nifti_get_extension(v->img, i, &code, NULL, &size);
        printf("%s ecode %d (%zu bytes)", i ? "," : ":", code, size + 8);
    }
    printf("\n");
}

static int print_text(const header_view *v)
{
    const vxt_image_info *info = &v->info;
    char shape[96];
    printf("%-16s %s\n", "file", v->path);
    printf("%-16s %s%s\n", "format", vxt_format_name(info->format), info->compressed ? ", gzip-compressed" : "");
    printf("%-16s %s (z, y, x), %lld channel%s of %lld volume%s\n", "shape", cli_shape_text(shape, sizeof shape,
           info->shape), (long long)info->channels, info->channels == 1 ? "" : "s", (long long)info->volumes,
           info->volumes == 1 ? "" : "s");
    printf("%-16s %s\n", "stored dtype", vxt_dtype_name(info->stored_dtype));
    printf("%-16s %.9g x %.9g x %.9g mm (z, y, x; lengths of the affine's columns k, j, i)\n", "spacing",
           info->spacing[0], info->spacing[1], info->spacing[2]);
    printf("%-16s slope %.9g, inter %.9g (%s)\n", "scaling", info->scl_slope, info->scl_inter,
           applies(info->scl_slope) ? "applied" : "not applied");
    printf("%-16s \"%s\"\n", "description", info->description);
    if (v->nifti)
        text_nifti(v);
    char label[32];
    snprintf(label, sizeof label, "affine (%s)", vxt_affine_source_name(v->g.affine_source));
    print_matrix(label, v->g.affine);
    printf("%-16s %s\n", "orientation", v->g.orientation);
    if (v->s) {
        const stats *s = v->s;
        printf("%-16s %s%s\n", "values", vxt_dtype_name(info->dtype), info->scaled ? " (scaling applied)" : "");
        printf("%-16s %llu", "count", (unsigned long long)s->count);
        if (s->nonfinite)
            printf(" (+ %llu NaN/Inf left out)", (unsigned long long)s->nonfinite);
        printf("\n%-16s %.17Lg\n", "min", s->min);
        printf("%-16s %.17Lg\n", "max", s->max);
        printf("%-16s %.17Lg\n", "mean", s->mean);
        printf("%-16s %.17Lg\n", "std", s->std);
        printf("%-16s %s\n", "sum", s->sum);
    }
    return VXT_EXIT_OK;
}

enum { O_JSON = 1, O_STATS };
static const cli_flag own[] = {
    {"json", 0, NULL, O_JSON, "machine-readable output"},
    {"stats", 0, NULL, O_STATS, "also read the voxels: count, min, max, mean, std (population) and the exact sum of "
                                "the values the file means (scaling applied); NaN/Inf are counted and left out"},
    {NULL, 0, NULL, 0, NULL},
};
static const cli_flag *const groups[] = {own, NULL};
static const cli_command_spec spec = {
    "header", "header IN [--json] [--stats]",
    "Shows what the file says about its image (.nii, .nii.gz, .hdr/.img, .npy): shape, stored dtype, spacing,\n"
    "scaling, the affine in use and where it came from, orientation, description; for NIfTI also dims, datatype,\n"
    "byte order, units, qform and sform codes and matrices, intent, slices, extensions.\n"
    "Without --stats only the header is read.",
    groups, 1};

static int on_flag(void *user, const cli_flag *f, const char *value)
{
    (void)value;
    int *want = (int *)user;
    want[f->id == O_JSON ? 0 : 1] = 1;
    return 0;
}

/* The image: header only, or (--stats) the values the file means; float16 widened to float32 (exactly). */
static int read_image(const char *path, int want_stats, vxt_image **img)
{
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.flags = VXT_READ_HEADER_ONLY;
    int rc = cli_read_image_with("header", path, &o, img);
    if (rc == 0 && want_stats) {
        vxt_image_info info = {.struct_size = sizeof info};
        vxt_image_get_info(*img, &info);
        vxt_image_destroy(*img);
        *img = NULL;
        o.flags = 0;
        o.scaling = info.stored_dtype == VXT_DTYPE_F16 ? VXT_SCALING_FLOAT32 : VXT_SCALING_AUTO;
        rc = cli_read_image_with("header", path, &o, img);
    }
    return rc;
}

/* The arguments: want[0] --json, want[1] --stats. */
static int parse(void *args, int argc, char **argv, const char **pos, int *npos, vxt_plan **plan)
{
    (void)plan;
    return cli_parse(&spec, argc, argv, on_flag, args, pos, npos);
}

static int check(const void *args, const vxt_plan *plan, const char *const *pos, int npos)
{
    (void)args, (void)plan, (void)pos;
    if (npos != 1) {
        cli_error("header", "missing input file (see voxtile header --help)");
        return VXT_EXIT_USAGE;
    }
    return 0;
}

int cmd_header(int argc, char **argv)
{
    int want[2] = {0, 0}, n = 0;
    const char *pos[1];
    int rc = parse(want, argc, argv, pos, &n, NULL);
    if (rc)
        return rc < 0 ? VXT_EXIT_OK : rc;
    if ((rc = check(want, NULL, pos, n)))
        return rc;
    header_view v = {.path = pos[0]};
    vxt_image *img = NULL;
    if ((rc = read_image(v.path, want[1], &img)) != 0)
        return rc;
    v.img = img;
    v.info.struct_size = sizeof v.info;
    v.g.struct_size = sizeof v.g;
    v.ni.struct_size = sizeof v.ni;
    vxt_image_get_info(img, &v.info);
    vxt_image_get_geometry(img, &v.g);
    v.nifti = v.info.format == VXT_FORMAT_NIFTI && vxt_nifti_get_info(img, &v.ni) == VXT_OK;
    stats s;
    if (want[1]) {
        vxt_volume vol;
        if (vxt_image_volume(img, &vol) != VXT_OK || !compute_stats(&vol, &s)) {
            cli_error("header", "out of memory computing statistics");
            vxt_image_destroy(img);
            return VXT_EXIT_INTERNAL;
        }
        v.s = &s;
    }
    rc = want[0] ? print_json(&v) : print_text(&v);
    vxt_image_destroy(img);
    return rc;
}

const cli_command cmd_header_parsing = {&spec, 2 * sizeof(int), parse, check};
