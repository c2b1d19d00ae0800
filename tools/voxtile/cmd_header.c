/* cmd_header.c - `voxtile header IN [--json] [--stats]`: what fslhd and nib-ls show about a NIfTI file --
 * dims, datatype, byte order, spacing, units, scaling, the qform and sform codes and matrices, the affine in
 * use and where it came from, the orientation code, the description -- and with --stats the minimum,
 * maximum, mean, standard deviation and exact sum of the values the file means (scaled when scl_slope
 * applies, as voxtile's AUTO scaling reads them).
 *
 * Exactness: integer values are summed in 128-bit integers; floating-point values (float32 after scaling,
 * stored float32/float64) in a fixed-point superaccumulator (exact_sum.c), so the printed sum is the exact
 * sum of the values, whatever their order or magnitude. The mean is that sum over the count, in long double;
 * the standard deviation (population, as numpy's default) is a second pass over (x - mean)^2 in long double
 * with compensated (Neumaier) summation. NaN and infinities are counted and left out of every statistic. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "exact_sum.h"

static void print_help(void)
{
    printf("usage: voxtile header IN [--json] [--stats]\n"
           "Shows the NIfTI header of IN (.nii, .nii.gz, .hdr/.img): dims, datatype, byte order, voxel sizes, units,\n"
           "scaling, qform and sform codes and matrices, the affine in use and where it came from, orientation,\n"
           "description, intent, extensions.\n"
           "  --json    machine-readable output\n"
           "  --stats   also read the voxels: count, min, max, mean, std (population) and the exact sum of the\n"
           "            values the file means (scl_slope/scl_inter applied); NaN/Inf are counted and left out\n"
           "Exit status: 0 ok, 2 usage, 4 the file is missing, unreadable or not a valid NIfTI file.\n");
}

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
    case VXT_DTYPE_F32:
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

static cJSON *json_matrix(double m[4][4])
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

static void print_matrix(const char *label, double m[4][4])
{
    for (int r = 0; r < 4; r++)
        printf("%-16s %14.9g %14.9g %14.9g %14.9g\n", r == 0 ? label : "", m[r][0], m[r][1], m[r][2], m[r][3]);
}

int cmd_header(int argc, char **argv)
{
    int json = 0, want_stats = 0;
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
                                             {"stats", no_argument, NULL, 's'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 's':
            want_stats = 1;
            break;
        case 'h':
            print_help();
            return VXT_EXIT_OK;
        default:
            cli_error("header", "unknown option '%s' (see voxtile header --help)", argv[optind - 1]);
            return VXT_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        cli_error("header", optind >= argc ? "missing input file (see voxtile header --help)"
                                           : "exactly one input file expected");
        return VXT_EXIT_USAGE;
    }
    const char *path = argv[optind];

    vxt_nifti_read_options o;
    vxt_nifti_read_options_init(&o);
    if (!want_stats)
        o.flags = VXT_NIFTI_HEADER_ONLY; /* the voxels are neither read nor decompressed */
    vxt_image *img = NULL;
    vxt_status st = vxt_image_read_file(path, &o, &img);
    if (st != VXT_OK) {
        int rc = cli_fail_status("header", "cannot read the image", st);
        return st == VXT_ERR_OUT_OF_MEMORY || st == VXT_ERR_INTERNAL ? rc : VXT_EXIT_INPUT;
    }
    vxt_image_info info = {.struct_size = sizeof info};
    vxt_geometry g = {.struct_size = sizeof g};
    vxt_image_get_info(img, &info);
    vxt_image_get_geometry(img, &g);
    stats s;
    memset(&s, 0, sizeof s);
    if (want_stats) {
        vxt_volume v;
        if (vxt_image_volume(img, &v) != VXT_OK || !compute_stats(&v, &s)) {
            cli_error("header", "out of memory computing statistics");
            vxt_image_destroy(img);
            return VXT_EXIT_FAILURE;
        }
    }
    int spatial = g.xyzt_units & 7, temporal = g.xyzt_units & 56;

    if (json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "file", path);
        cJSON_AddNumberToObject(root, "nifti_version", info.nifti_version);
        cJSON_AddStringToObject(root, "byte_order", info.big_endian ? "big-endian" : "little-endian");
        cJSON_AddBoolToObject(root, "compressed", info.compressed);
        cJSON_AddBoolToObject(root, "single_file", info.single_file);
        cJSON *dim = cJSON_AddArrayToObject(root, "dim");
        for (int i = 0; i < 8; i++)
            cJSON_AddItemToArray(dim, cJSON_CreateNumber((double)info.dim[i]));
        cJSON *shape = cJSON_AddArrayToObject(root, "shape_kji");
        for (int i = 0; i < 3; i++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)info.shape[i]));
        cJSON_AddNumberToObject(root, "channels", (double)info.channels);
        cJSON_AddNumberToObject(root, "datatype", info.datatype);
        cJSON_AddStringToObject(root, "datatype_name", vxt_nifti_datatype_name(info.datatype));
        cJSON_AddNumberToObject(root, "bitpix", info.bitpix);
        cJSON_AddNumberToObject(root, "vox_offset", (double)info.vox_offset);
        cJSON_AddItemToObject(root, "pixdim", json_numbers(g.pixdim, 8));
        cJSON_AddItemToObject(root, "spacing_kji", json_numbers(g.spacing, 3));
        cJSON_AddNumberToObject(root, "xyzt_units", g.xyzt_units);
        cJSON_AddStringToObject(root, "space_units", vxt_nifti_units_name(spatial));
        cJSON_AddStringToObject(root, "time_units", vxt_nifti_units_name(temporal));
        add_number(root, "scl_slope", info.scl_slope);
        add_number(root, "scl_inter", info.scl_inter);
        cJSON_AddBoolToObject(root, "scaling_applies", isfinite(info.scl_slope) && info.scl_slope != 0);
        add_number(root, "cal_min", info.cal_min);
        add_number(root, "cal_max", info.cal_max);
        cJSON_AddNumberToObject(root, "intent_code", info.intent_code);
        cJSON_AddItemToObject(root, "intent_p", json_numbers(info.intent_p, 3));
        cJSON_AddStringToObject(root, "intent_name", info.intent_name);
        cJSON_AddNumberToObject(root, "dim_info", info.dim_info);
        cJSON_AddNumberToObject(root, "slice_code", info.slice_code);
        cJSON_AddNumberToObject(root, "slice_start", (double)info.slice_start);
        cJSON_AddNumberToObject(root, "slice_end", (double)info.slice_end);
        add_number(root, "slice_duration", info.slice_duration);
        add_number(root, "toffset", info.toffset);
        cJSON_AddStringToObject(root, "descrip", info.descrip);
        cJSON_AddStringToObject(root, "aux_file", info.aux_file);
        cJSON_AddNumberToObject(root, "qform_code", g.qform_code);
        cJSON_AddStringToObject(root, "qform_name", vxt_nifti_xform_name(g.qform_code));
        cJSON_AddItemToObject(root, "quatern", json_numbers(g.quatern, 3));
        cJSON_AddItemToObject(root, "qoffset", json_numbers(g.qoffset, 3));
        cJSON_AddNumberToObject(root, "qfac", g.pixdim[0] < 0 ? -1 : 1);
        cJSON_AddItemToObject(root, "qform", json_matrix(g.qform));
        cJSON_AddNumberToObject(root, "sform_code", g.sform_code);
        cJSON_AddStringToObject(root, "sform_name", vxt_nifti_xform_name(g.sform_code));
        cJSON_AddItemToObject(root, "sform", json_matrix(g.sform));
        cJSON_AddItemToObject(root, "affine", json_matrix(g.affine));
        cJSON_AddStringToObject(root, "affine_source", vxt_affine_source_name(g.affine_source));
        cJSON_AddStringToObject(root, "orientation", g.orientation);
        cJSON *exts = cJSON_AddArrayToObject(root, "extensions");
        for (size_t i = 0; i < info.extension_count; i++) {
            int code = 0;
            size_t size = 0;
            vxt_image_get_extension(img, i, &code, NULL, &size);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "ecode", code);
            cJSON_AddNumberToObject(e, "esize", (double)(size + 8));
            cJSON_AddItemToArray(exts, e);
        }
        if (want_stats) {
            cJSON *sj = cJSON_AddObjectToObject(root, "stats");
            cJSON_AddStringToObject(sj, "dtype", vxt_dtype_name(info.dtype));
            cJSON_AddBoolToObject(sj, "scaled", info.scaled);
            cJSON_AddNumberToObject(sj, "count", (double)s.count);
            cJSON_AddNumberToObject(sj, "nonfinite", (double)s.nonfinite);
            add_number(sj, "min", (double)s.min);
            add_number(sj, "max", (double)s.max);
            add_number(sj, "mean", (double)s.mean);
            add_number(sj, "std", (double)s.std);
            add_number(sj, "sum", (double)s.sum_ld);
            cJSON_AddStringToObject(sj, "sum_exact", s.sum);
        }
        char *text = cJSON_Print(root);
        if (text)
            printf("%s\n", text);
        free(text);
        cJSON_Delete(root);
    } else {
        printf("%-16s %s\n", "file", path);
        printf("%-16s NIfTI-%d, %s, %s%s\n", "format", info.nifti_version,
               info.single_file ? "single file" : ".hdr/.img pair", info.big_endian ? "big-endian" : "little-endian",
               info.compressed ? ", gzip-compressed" : "");
        printf("%-16s", "dim");
        for (int i = 0; i < 8; i++)
            printf(" %lld", (long long)info.dim[i]);
        printf("\n%-16s %lld x %lld x %lld (k, j, i), %lld channel%s\n", "shape", (long long)info.shape[0],
               (long long)info.shape[1], (long long)info.shape[2], (long long)info.channels,
               info.channels == 1 ? "" : "s");
        printf("%-16s %s (%d), bitpix %d\n", "datatype", vxt_nifti_datatype_name(info.datatype), info.datatype,
               info.bitpix);
        printf("%-16s %lld\n", "vox_offset", (long long)info.vox_offset);
        printf("%-16s", "pixdim");
        for (int i = 0; i < 8; i++)
            printf(" %.9g", g.pixdim[i]);
        printf("\n%-16s %.9g x %.9g x %.9g (i, j, k; lengths of the affine's columns)\n", "voxel size",
               g.spacing[2], g.spacing[1], g.spacing[0]);
        printf("%-16s space %s, time %s (xyzt_units %d)\n", "units", vxt_nifti_units_name(spatial),
               vxt_nifti_units_name(temporal), g.xyzt_units);
        printf("%-16s slope %.9g, inter %.9g (%s)\n", "scaling", info.scl_slope, info.scl_inter,
               isfinite(info.scl_slope) && info.scl_slope != 0 ? "applied" : "not applied");
        printf("%-16s cal_min %.9g, cal_max %.9g\n", "display", info.cal_min, info.cal_max);
        printf("%-16s code %d, name \"%s\", p %.9g %.9g %.9g\n", "intent", info.intent_code, info.intent_name,
               info.intent_p[0], info.intent_p[1], info.intent_p[2]);
        printf("%-16s freq %d, phase %d, slice %d; slice_code %d (%s), start %lld, end %lld, duration %.9g\n",
               "slices", info.dim_info & 3, (info.dim_info >> 2) & 3, (info.dim_info >> 4) & 3, info.slice_code,
               slice_code_name(info.slice_code), (long long)info.slice_start, (long long)info.slice_end,
               info.slice_duration);
        printf("%-16s %.9g\n", "toffset", info.toffset);
        printf("%-16s \"%s\"\n", "descrip", info.descrip);
        printf("%-16s \"%s\"\n", "aux_file", info.aux_file);
        printf("%-16s %d (%s)%s\n", "qform_code", g.qform_code, vxt_nifti_xform_name(g.qform_code),
               g.qform_code > 0 ? "" : ": not used");
        printf("%-16s b %.9g, c %.9g, d %.9g; offset %.9g %.9g %.9g; qfac %d\n", "quaternion", g.quatern[0],
               g.quatern[1], g.quatern[2], g.qoffset[0], g.qoffset[1], g.qoffset[2], g.pixdim[0] < 0 ? -1 : 1);
        print_matrix("qform", g.qform);
        printf("%-16s %d (%s)%s\n", "sform_code", g.sform_code, vxt_nifti_xform_name(g.sform_code),
               g.sform_code > 0 ? "" : ": not used");
        print_matrix("sform", g.sform);
        char label[32];
        snprintf(label, sizeof label, "affine (%s)", vxt_affine_source_name(g.affine_source));
        print_matrix(label, g.affine);
        printf("%-16s %s\n", "orientation", g.orientation);
        printf("%-16s %zu", "extensions", info.extension_count);
        for (size_t i = 0; i < info.extension_count; i++) {
            int code = 0;
            size_t size = 0;
            vxt_image_get_extension(img, i, &code, NULL, &size);
            printf("%s ecode %d (%zu bytes)", i ? "," : ":", code, size + 8);
        }
        printf("\n");
        if (want_stats) {
            printf("%-16s %s%s\n", "values", vxt_dtype_name(info.dtype),
                   info.scaled ? " (scl_slope and scl_inter applied)" : "");
            printf("%-16s %llu", "count", (unsigned long long)s.count);
            if (s.nonfinite)
                printf(" (+ %llu NaN/Inf left out)", (unsigned long long)s.nonfinite);
            printf("\n%-16s %.17Lg\n", "min", s.min);
            printf("%-16s %.17Lg\n", "max", s.max);
            printf("%-16s %.17Lg\n", "mean", s.mean);
            printf("%-16s %.17Lg\n", "std", s.std);
            printf("%-16s %s\n", "sum", s.sum);
        }
    }
    vxt_image_destroy(img);
    return VXT_EXIT_OK;
}
