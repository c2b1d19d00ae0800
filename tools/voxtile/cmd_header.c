/* cmd_header.c - `voxtile header IN [--json] [--stats]`: what fslhd and nib-ls show about an image -- for every
 * format the shape, dtype, spacing, scaling, affine and orientation (vxt_image_info, vxt_geometry); for NIfTI
 * also dims, datatype, byte order, units, the qform and sform codes and matrices, intent, slices and
 * extensions (vxt_nifti_info) -- and with --stats the minimum, maximum, mean, standard deviation and exact sum
 * of the values the file means (scaled when scl_slope applies, as voxtile's AUTO scaling reads them).
 *
 * A DICOM folder or file: every series the scan finds (vxt_dicom_scan_path), readable or not, with why not; and
 * the image header of the one series there is (or the one --series names) when it can be read. Listing series
 * that cannot be read is the command's job: they do not make it fail.
 *
 * Exactness: integer values are summed in 128-bit integers; floating-point values (float32 after scaling,
 * stored float32/float64) in a fixed-point superaccumulator (exact_sum.c), so the printed sum is the exact
 * sum of the values, whatever their order or magnitude. The mean is that sum over the count, in long double;
 * the standard deviation (population, as numpy's default) is a second pass over (x - mean)^2 in long double
 * with compensated (Neumaier) summation. NaN and infinities are counted and left out of every statistic.
 *
 * --histogram [--bins N] [--range LO,HI]: numpy.histogram of the same values (header_histogram.c). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "exact_sum.h"
#include "header_histogram.h"

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
    const header_histogram *h; /* NULL without --histogram */
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

static cJSON *image_json(const header_view *v)
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
    cJSON_AddStringToObject(root, "notes", info->notes ? info->notes : "");
    if (info->has_padding)
        add_number(root, "padding_value", info->padding_value);
    else
        cJSON_AddNullToObject(root, "padding_value");
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
    if (v->h)
        cJSON_AddItemToObject(root, "histogram", header_histogram_json(v->h));
    return root;
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
    if (info->notes && info->notes[0])
        printf("%-16s %s\n", "notes", info->notes);
    if (info->has_padding)
        printf("%-16s %.9g (the voxels outside the scanned field of view)\n", "padding value", info->padding_value);
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
    if (v->h)
        header_histogram_print(v->h);
    return VXT_EXIT_OK;
}

/* ---- DICOM: the series of a folder or file ------------------------------------------------------------- */

/* What a DICOM scan found, and the series whose image header is shown (0: none). */
typedef struct dicom_view {
    const vxt_dicom_series *series;
    int64_t count, skipped, shown;
} dicom_view;

/* 0 when all n values are 0: what the scan could not determine (a series it cannot read). */
static int known(const double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (v[i] != 0)
            return 1;
    return 0;
}

static void text_series(const vxt_dicom_series *d)
{
    char label[32], shape[96];
    snprintf(label, sizeof label, "series %lld", (long long)d->index);
    printf("%-16s %s", label, d->uid);
    if (d->parts > 1)
        printf(" (part %d of %d)", d->part, d->parts);
    printf("\n");
    if (d->number == INT64_MIN)
        printf("  %-14s none\n", "number");
    else
        printf("  %-14s %lld\n", "number", (long long)d->number);
    printf("  %-14s %s\n", "modality", d->modality);
    printf("  %-14s \"%s\"\n", "description", d->description);
    printf("  %-14s %s (slices x rows x columns)\n", "shape", cli_shape_text(shape, sizeof shape, d->shape));
    if (known(d->spacing, 3))
        printf("  %-14s %.9g x %.9g x %.9g mm (between slices, rows, columns)\n", "spacing", d->spacing[0],
               d->spacing[1], d->spacing[2]);
    else
        printf("  %-14s unknown\n", "spacing");
    printf("  %-14s %s\n", "orientation", d->orientation);
    printf("  %-14s %s\n", "transfer", d->transfer_syntaxes);
    printf("  %-14s %lld%s\n", "files", (long long)d->files, d->enhanced ? " (one multi-frame file)" : "");
    if (d->tilt_degrees != 0)
        printf("  %-14s %.6g degrees\n", "gantry tilt", d->tilt_degrees);
    else
        printf("  %-14s none\n", "gantry tilt");
    if (d->readable)
        printf("  %-14s yes\n", "readable");
    else
        printf("  %-14s no: %s\n", "readable", d->problem);
    if (d->notes[0])
        printf("  %-14s %s\n", "notes", d->notes);
}

static void print_dicom_text(const char *path, const dicom_view *dv, int image_shown)
{
    if (!image_shown) {
        printf("%-16s %s\n", "file", path);
        printf("%-16s dicom\n", "format");
    }
    printf("%-16s %lld series", "dicom", (long long)dv->count);
    if (dv->shown)
        printf(", the header above is series %lld's", (long long)dv->shown);
    else if (dv->count > 1)
        printf(" (--series UID|NUMBER shows one's image header)");
    printf("; %lld file%s skipped (not DICOM, or no image)\n", (long long)dv->skipped, dv->skipped == 1 ? "" : "s");
    for (int64_t i = 0; i < dv->count; i++)
        text_series(&dv->series[i]);
}

static cJSON *series_json(const vxt_dicom_series *d)
{
    cJSON *o = cJSON_CreateObject();
    const double shape[3] = {(double)d->shape[0], (double)d->shape[1], (double)d->shape[2]};
    cJSON_AddNumberToObject(o, "index", (double)d->index);
    cJSON_AddStringToObject(o, "uid", d->uid);
    cJSON_AddNumberToObject(o, "part", d->part);
    cJSON_AddNumberToObject(o, "parts", d->parts);
    if (d->number == INT64_MIN)
        cJSON_AddNullToObject(o, "number");
    else
        cJSON_AddNumberToObject(o, "number", (double)d->number);
    cJSON_AddStringToObject(o, "modality", d->modality);
    cJSON_AddStringToObject(o, "description", d->description);
    cJSON_AddItemToObject(o, "shape", json_numbers(shape, 3));
    /* null: unknown (a series that cannot be read may lack them) */
    cJSON_AddItemToObject(o, "spacing", known(d->spacing, 3) ? json_numbers(d->spacing, 3) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "affine", known(&d->affine[0][0], 16) ? json_matrix(d->affine) : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "orientation", d->orientation);
    cJSON_AddStringToObject(o, "transfer_syntaxes", d->transfer_syntaxes);
    cJSON_AddNumberToObject(o, "files", (double)d->files);
    cJSON_AddBoolToObject(o, "enhanced", d->enhanced);
    add_number(o, "tilt_degrees", d->tilt_degrees);
    cJSON_AddBoolToObject(o, "readable", d->readable);
    cJSON_AddStringToObject(o, "problem", d->problem);
    cJSON_AddStringToObject(o, "notes", d->notes);
    return o;
}

/* The DICOM keys, added to the image's JSON (root) or to a new object (root NULL). */
static cJSON *dicom_json(cJSON *root, const char *path, const dicom_view *dv)
{
    if (!root) {
        root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "file", path);
        cJSON_AddStringToObject(root, "format", "dicom");
    }
    cJSON *list = cJSON_AddArrayToObject(root, "dicom_series");
    for (int64_t i = 0; i < dv->count; i++)
        cJSON_AddItemToArray(list, series_json(&dv->series[i]));
    cJSON_AddNumberToObject(root, "dicom_skipped_files", (double)dv->skipped);
    if (dv->shown)
        cJSON_AddNumberToObject(root, "image_series", (double)dv->shown);
    else
        cJSON_AddNullToObject(root, "image_series");
    return root;
}

/* ---- the command ---------------------------------------------------------------------------------------- */

enum { O_JSON = 1, O_STATS, O_HISTOGRAM, O_BINS, O_RANGE };
static const cli_flag own[] = {
    {"json", 0, NULL, O_JSON, "machine-readable output"},
    {"stats", 0, NULL, O_STATS, "also read the voxels: count, min, max, mean, std (population) and the exact sum of "
                                "the values the file means (scaling applied); NaN/Inf are counted and left out"},
    {"histogram", 0, NULL, O_HISTOGRAM, "also read the voxels: numpy.histogram of the values the file means, every "
                                        "channel together (bin edges and counts; NaN and values outside the range "
                                        "are not counted)"},
    {"bins", 0, "N", O_BINS, "--histogram: N equal bins, 1 .. 1048576 (default 10)"},
    {"range", 0, "LO,HI", O_RANGE, "--histogram: the bins span [LO, HI], LO < HI (default: the values' min and max)"},
    {NULL, 0, NULL, 0, NULL},
};
static const cli_flag *const groups[] = {own, cli_dicom_flags, NULL};
static const cli_command_spec spec = {
    "header", "header IN [--json] [--stats] [--histogram [--bins N] [--range LO,HI]] [--series UID|NUMBER]",
    "Shows what the file says about its image (.nii, .nii.gz, .hdr/.img, .npy): shape, stored dtype, spacing,\n"
    "scaling, the affine in use and where it came from, orientation, description; for NIfTI also dims, datatype,\n"
    "byte order, units, qform and sform codes and matrices, intent, slices, extensions.\n"
    "A DICOM folder or file: every series found (number, SeriesInstanceUID, SeriesNumber, modality, description,\n"
    "shape, spacing, orientation, transfer syntaxes, files, gantry tilt, readable or why not, notes) and the files\n"
    "skipped; with the image header of the only series (or of --series) when it can be read. Series that cannot\n"
    "be read are listed, not an error.\n"
    "Without --stats or --histogram only the header is read.",
    groups, 1};

typedef struct header_args {
    int json, stats;
    int histogram, bins_given;
    header_histogram hist; /* bins and range asked for */
    cli_dicom dicom;
} header_args;

static int on_flag(void *user, const cli_flag *f, const char *value)
{
    header_args *a = (header_args *)user;
    int rc = cli_shared_flag("header", NULL, NULL, &a->dicom, f, value);
    if (rc != -2)
        return rc;
    long bins = 0;
    double r[2];
    switch (f->id) {
    case O_JSON: a->json = 1; return 0;
    case O_STATS: a->stats = 1; return 0;
    case O_HISTOGRAM: a->histogram = 1; return 0;
    case O_BINS:
        if (!cli_parse_int(value, 1, 1L << 20, &bins)) {
            cli_error("header", "--bins: expected a whole number from 1 to 1048576, got '%s'", value);
            return VXT_EXIT_USAGE;
        }
        a->hist.bins = (size_t)bins;
        a->bins_given = 1;
        return 0;
    default: /* O_RANGE */
        if (cli_parse_numbers(value, r, 2) != 2 || !(r[0] < r[1])) {
            cli_error("header", "--range: expected LO,HI, two numbers with LO < HI, got '%s'", value);
            return VXT_EXIT_USAGE;
        }
        a->hist.lo = r[0], a->hist.hi = r[1];
        a->hist.range_given = 1;
        return 0;
    }
}

static int read_fail(vxt_status st, const char *msg)
{
    cli_error("header", "%s", msg);
    return st == VXT_ERR_OUT_OF_MEMORY ? VXT_EXIT_MEMORY : VXT_EXIT_INPUT;
}

/* The values the file means (--stats), read again: scaling applied, float16 widened to float32 (exactly). From a
 * DICOM scan (scan not NULL) its series `series` (NULL: the only one). */
static int read_values(const char *path, const header_args *a, vxt_dicom_scan *scan, const char *series,
                       vxt_image **img)
{
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_image_get_info(*img, &info);
    vxt_image_destroy(*img);
    *img = NULL;
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.scaling = info.stored_dtype == VXT_DTYPE_F16 ? VXT_SCALING_FLOAT32 : VXT_SCALING_AUTO;
    if (!scan)
        return cli_read_image_with("header", path, &o, &a->dicom, img);
    cli_dicom_options(&a->dicom, &o);
    vxt_status st = vxt_dicom_scan_read(scan, series, &o, img);
    return st == VXT_OK ? 0 : read_fail(st, vxt_last_error());
}

/* The arguments: header_args. */
static int parse(void *args, int argc, char **argv, const char **pos, int *npos, vxt_plan **plan)
{
    (void)plan;
    ((header_args *)args)->hist.bins = 10; /* numpy's */
    return cli_parse(&spec, argc, argv, on_flag, args, pos, npos);
}

static int check(const void *args, const vxt_plan *plan, const char *const *pos, int npos)
{
    const header_args *a = (const header_args *)args;
    (void)plan, (void)pos;
    if (npos != 1) {
        cli_error("header", "missing input file (see voxtile header --help)");
        return VXT_EXIT_USAGE;
    }
    if (!a->histogram && (a->bins_given || a->hist.range_given)) {
        cli_error("header", "%s shapes the histogram: give --histogram", a->bins_given ? "--bins" : "--range");
        return VXT_EXIT_USAGE;
    }
    return 0;
}

/* A folder, a DICOM file, or a file that cannot be read as an image but that a DICOM scan reads (one whose series
 * cannot be read: it is listed): *scan. Else *img, the header of an image of another format. An exit status (the
 * read's message printed when neither reads it). */
static int open_input(const char *path, const header_args *a, vxt_dicom_scan **scan, vxt_image **img)
{
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.flags = VXT_READ_HEADER_ONLY;
    cli_dicom_options(&a->dicom, &o);
    struct stat sb;
    vxt_status st = VXT_OK;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        st = vxt_image_read_path(path, &o, img);
        vxt_image_info info = {.struct_size = sizeof info};
        if (st == VXT_OK && vxt_image_get_info(*img, &info) == VXT_OK && info.format != VXT_FORMAT_DICOM)
            return 0;
        vxt_image_destroy(*img);
        *img = NULL;
    }
    char err[2048];
    snprintf(err, sizeof err, "%s", vxt_last_error());
    vxt_status scan_st = vxt_dicom_scan_path(path, &o, scan);
    if (scan_st == VXT_OK)
        return 0;
    return st != VXT_OK ? read_fail(st, err) : read_fail(scan_st, vxt_last_error()); /* not DICOM: the read's word */
}

/* The series of the scan, and the image header of the one to show: --series's (a series it does not name is an
 * error), else the only one there is when it can be read. An exit status. */
static int open_series(const header_args *a, vxt_dicom_scan *scan, vxt_dicom_series **list, dicom_view *dv,
                       vxt_image **img)
{
    dv->count = vxt_dicom_scan_count(scan);
    dv->skipped = vxt_dicom_scan_skipped(scan);
    vxt_dicom_series *s = calloc(dv->count > 0 ? (size_t)dv->count : 1, sizeof *s);
    if (!s)
        return read_fail(VXT_ERR_OUT_OF_MEMORY, "out of memory listing the series");
    *list = s;
    dv->series = s;
    for (int64_t i = 0; i < dv->count; i++) {
        s[i].struct_size = sizeof s[i];
        vxt_status st = vxt_dicom_scan_get(scan, i + 1, &s[i]);
        if (st != VXT_OK)
            return read_fail(st, vxt_last_error());
    }
    const char *want = a->dicom.series;
    if (!want && dv->count > 0 && !(dv->count == 1 && s[0].readable))
        return 0;
    vxt_read_options o;
    vxt_read_options_init(&o);
    o.flags = VXT_READ_HEADER_ONLY;
    cli_dicom_options(&a->dicom, &o);
    vxt_status st = vxt_dicom_scan_read(scan, want, &o, img);
    /* --series names none of them; no series at all (a DICOM file that cannot be parsed, and nothing else): the
     * reader's message names the file */
    if (st == VXT_ERR_INVALID_ARGUMENT || st == VXT_ERR_OUT_OF_MEMORY || (st != VXT_OK && dv->count == 0))
        return read_fail(st, vxt_last_error());
    if (st != VXT_OK)
        return 0; /* it cannot be read: the list says why */
    long k = 1; /* the only one, or --series's: its number, or the one series with its UID */
    for (int64_t i = 0; want && !cli_parse_int(want, 1, (long)dv->count, &k) && i < dv->count; i++)
        if (!strcmp(want, s[i].uid))
            k = (long)s[i].index;
    dv->shown = k;
    return 0;
}

int cmd_header(int argc, char **argv)
{
    header_args a;
    memset(&a, 0, sizeof a);
    int n = 0;
    const char *pos[1];
    int rc = parse(&a, argc, argv, pos, &n, NULL);
    if (rc)
        return rc < 0 ? VXT_EXIT_OK : rc;
    if ((rc = check(&a, NULL, pos, n)))
        return rc;
    header_view v = {.path = pos[0]};
    vxt_image *img = NULL;
    vxt_dicom_scan *scan = NULL;
    vxt_dicom_series *list = NULL;
    dicom_view dv = {NULL, 0, 0, 0};
    if ((rc = open_input(v.path, &a, &scan, &img)) || (scan && (rc = open_series(&a, scan, &list, &dv, &img))) ||
        (img && (a.stats || a.histogram) && (rc = read_values(v.path, &a, scan, a.dicom.series, &img))))
        goto done;
    if (!img && (a.stats || a.histogram)) { /* several series and none chosen: no values to describe */
        cli_error("header", "%s needs one series: %s holds several (they are listed with `voxtile header %s`; choose "
                  "one with --series)", a.stats ? "--stats" : "--histogram", v.path, v.path);
        rc = VXT_EXIT_USAGE;
        goto done;
    }
    stats s;
    if (img) {
        v.img = img;
        v.info.struct_size = sizeof v.info;
        v.g.struct_size = sizeof v.g;
        v.ni.struct_size = sizeof v.ni;
        vxt_image_get_info(img, &v.info);
        vxt_image_get_geometry(img, &v.g);
        v.nifti = v.info.format == VXT_FORMAT_NIFTI && vxt_nifti_get_info(img, &v.ni) == VXT_OK;
        if (a.stats) {
            vxt_volume vol;
            if (vxt_image_volume(img, &vol) != VXT_OK || !compute_stats(&vol, &s)) {
                cli_error("header", "out of memory computing statistics");
                rc = VXT_EXIT_INTERNAL;
                goto done;
            }
            v.s = &s;
        }
        if (a.histogram) {
            if ((rc = header_histogram_count(img, &a.hist)))
                goto done;
            v.h = &a.hist;
        }
    }
    if (a.json) {
        cJSON *root = img ? image_json(&v) : NULL;
        rc = cli_print_json(scan ? dicom_json(root, v.path, &dv) : root);
    } else {
        if (img)
            rc = print_text(&v);
        if (scan)
            print_dicom_text(v.path, &dv, img != NULL);
    }
done:
    header_histogram_free(&a.hist);
    free(list);
    vxt_dicom_scan_destroy(scan);
    vxt_image_destroy(img);
    return rc;
}

const cli_command cmd_header_parsing = {&spec, sizeof(header_args), parse, check};
