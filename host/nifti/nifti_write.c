/* nifti_write.c - writing images as single-file NIfTI-1 or NIfTI-2 (.nii, .nii.gz) to a path or to memory.
 *
 * A file is written to a temporary file in the target's directory (io/staged_file.c: unnamed where the file
 * system allows), flushed with fsync() and renamed over the target; any failure removes the temporary file and
 * leaves an existing target untouched. */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image_internal.h"

void vxt_nifti_write_options_init(vxt_nifti_write_options *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
    opts->compression_level = 6;
}

static vxt_status check_options(const char *func, const vxt_nifti_write_options *opts, vxt_nifti_write_options *o)
{
    vxt_nifti_write_options_init(o);
    if (opts == NULL)
        return VXT_OK;
    vxt_status st = vxt__check_struct_size(NULL, func, "vxt_nifti_write_options", opts, opts->struct_size,
                                           sizeof *opts, sizeof *opts);
    if (st != VXT_OK)
        return st;
    *o = *opts;
    if (o->nifti_version < 0 || o->nifti_version > 2)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: nifti_version = %d (must be 0, 1 or 2)", func,
                         o->nifti_version);
    if (o->compression_level < 0 || o->compression_level > 9)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: compression_level = %d (must be 0..9)", func,
                         o->compression_level);
    if (o->gzip != 0 && o->gzip != 1)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: gzip = %d (must be 0 or 1)", func, o->gzip);
    return VXT_OK;
}

/* ---- header ----------------------------------------------------------------------------------------- */

/* The first NIfTI-1 field that cannot hold its value, or NULL when all fit. */
static const char *nifti1_misfit(const vxt__nifti_hdr *h, char *why, size_t why_size)
{
    for (int i = 0; i < 8; i++)
        if (h->dim[i] > INT16_MAX) {
            snprintf(why, why_size, "dim[%d] = %lld (NIfTI-1 holds at most 32767)", i, (long long)h->dim[i]);
            return why;
        }
    const struct {
        const char *name;
        int64_t v;
    } ints[] = {{"slice_start", h->slice_start}, {"slice_end", h->slice_end}, {"intent_code", h->intent_code},
                {"qform_code", h->qform_code},   {"sform_code", h->sform_code}, {"slice_code", h->slice_code},
                {"xyzt_units", h->xyzt_units}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int64_t lo = INT16_MIN, hi = INT16_MAX;
        if (!strcmp(ints[i].name, "slice_code") || !strcmp(ints[i].name, "xyzt_units"))
            lo = 0, hi = 255;
        if (ints[i].v < lo || ints[i].v > hi) {
            snprintf(why, why_size, "%s = %lld (NIfTI-1 holds %lld..%lld)", ints[i].name, (long long)ints[i].v,
                     (long long)lo, (long long)hi);
            return why;
        }
    }
    const double *d[] = {h->pixdim, h->quatern, h->qoffset, h->srow[0], h->srow[1], h->srow[2], h->intent_p};
    const int nd[] = {8, 3, 3, 4, 4, 4, 3};
    const char *dn[] = {"pixdim", "quatern", "qoffset", "srow_x", "srow_y", "srow_z", "intent_p"};
    for (size_t k = 0; k < sizeof nd / sizeof nd[0]; k++)
        for (int i = 0; i < nd[k]; i++)
            if (isfinite(d[k][i]) && fabs(d[k][i]) > FLT_MAX) {
                snprintf(why, why_size, "%s[%d] = %g (beyond float32)", dn[k], i, d[k][i]);
                return why;
            }
    const double scalars[] = {h->scl_slope, h->scl_inter, h->cal_min, h->cal_max, h->slice_duration, h->toffset};
    const char *sn[] = {"scl_slope", "scl_inter", "cal_min", "cal_max", "slice_duration", "toffset"};
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++)
        if (isfinite(scalars[i]) && fabs(scalars[i]) > FLT_MAX) {
            snprintf(why, why_size, "%s = %g (beyond float32)", sn[i], scalars[i]);
            return why;
        }
    if ((double)(float)h->vox_offset != (double)h->vox_offset) {
        snprintf(why, why_size, "vox_offset = %lld (not exact in NIfTI-1's float field)", (long long)h->vox_offset);
        return why;
    }
    return NULL;
}

static vxt_status build_header(const char *func, const vxt_image *img, const vxt_nifti_write_options *o,
                               vxt__nifti_hdr *h)
{
    if (img->data == NULL)
        return vxt__fail(NULL, VXT_ERR_STATE, "%s: the image was read with VXT_READ_HEADER_ONLY and has no voxels to "
                         "write", func);
    vxt__image_nifti_header(img, h);
    int datatype = vxt__nifti_datatype(img->dtype);
    if (datatype == 0)
        return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "%s: dtype %s has no NIfTI datatype", func,
                         vxt_dtype_name(img->dtype));
    h->datatype = datatype;
    h->bitpix = (int)vxt_dtype_size(img->dtype) * 8;
    /* dims from the voxels held; higher dimensions are kept when they still multiply to the channels */
    uint64_t higher = 1;
    for (int i = 4; i <= h->dim[0] && i < 8; i++)
        higher *= (uint64_t)h->dim[i];
    if (h->dim[1] != img->shape[2] || h->dim[2] != img->shape[1] || h->dim[3] != img->shape[0] ||
        higher != (uint64_t)img->channels || h->dim[0] < 1 || h->dim[0] > 7) {
        h->dim[0] = img->channels > 1 ? 4 : 3;
        h->dim[1] = img->shape[2];
        h->dim[2] = img->shape[1];
        h->dim[3] = img->shape[0];
        h->dim[4] = img->channels;
        for (int i = 5; i < 8; i++)
            h->dim[i] = 1;
    }
    for (int i = (int)h->dim[0] + 1; i < 8; i++)
        h->dim[i] = 1;
    h->single_file = 1;
    const uint16_t one = 1;
    unsigned char lo;
    memcpy(&lo, &one, 1);
    h->big_endian = lo == 0;
    memset(h->extender, 0, sizeof h->extender);
    h->extender[0] = img->n_ext > 0;

    uint64_t ext = 0;
    for (size_t i = 0; i < img->n_ext; i++)
        ext += vxt__nifti_ext_disk_size(img->ext[i].size);
    char why[160];
    int version = o->nifti_version ? o->nifti_version : h->version;
    for (;;) {
        h->version = version;
        h->vox_offset = (int64_t)(vxt__nifti_hdr_size(version) + 4 + ext);
        h->vox_offset_raw = (double)h->vox_offset;
        if (version == 2 || nifti1_misfit(h, why, sizeof why) == NULL)
            break;
        if (o->nifti_version == 1)
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: %s; write it as NIfTI-2 (nifti_version = 0 or 2)",
                             func, why);
        version = 2;
    }
    return VXT_OK;
}

/* ---- output sinks ----------------------------------------------------------------------------------- */

typedef struct sink {
    const char *who;
    int fd;          /* plain file, or -1 */
    vxt__gzw *gz;    /* compressed (file or memory), or NULL */
    unsigned char *mem; /* plain memory */
    size_t mem_pos;
} sink;

static vxt_status sink_write(sink *k, const void *p, size_t n)
{
    if (k->gz)
        return vxt__gzw_write(k->gz, p, n);
    if (k->mem) {
        memcpy(k->mem + k->mem_pos, p, n);
        k->mem_pos += n;
        return VXT_OK;
    }
    if (vxt__write_full(k->fd, p, n) != 0)
        return vxt__fail(NULL, VXT_ERR_IO, "%s: write failed: %s", k->who, strerror(errno));
    return VXT_OK;
}

/* Header, extender and extensions: the vox_offset bytes before the voxels, in a new buffer. */
static vxt_status encode_head(const char *who, const vxt_image *img, const vxt__nifti_hdr *h, unsigned char **out)
{
    unsigned char *b = calloc(1, (size_t)h->vox_offset);
    if (b == NULL)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %lld header bytes", who,
                         (long long)h->vox_offset);
    unsigned char hb[VXT__NIFTI_MAX_HDR + 4];
    size_t pos = vxt__nifti_encode(h, hb);
    memcpy(b, hb, pos);
    for (size_t i = 0; i < img->n_ext; i++) { /* zero padding comes from calloc */
        const vxt__ext *e = &img->ext[i];
        size_t disk = vxt__nifti_ext_disk_size(e->size);
        int32_t eh[2] = {(int32_t)disk, (int32_t)e->ecode};
        memcpy(b + pos, eh, sizeof eh);
        if (e->size)
            memcpy(b + pos + 8, e->data, e->size);
        pos += disk;
    }
    *out = b;
    return VXT_OK;
}

static vxt_status write_all(sink *k, const vxt_image *img, const vxt__nifti_hdr *h)
{
    unsigned char *head = NULL;
    vxt_status st = encode_head(k->who, img, h, &head);
    if (st == VXT_OK)
        st = sink_write(k, head, (size_t)h->vox_offset);
    free(head);
    if (st == VXT_OK)
        st = sink_write(k, img->data, img->bytes);
    return st;
}

/* gzip output: libdeflate over the voxels as they are (the header goes in stored blocks before them), one
 * gzip member. VXT_ERR_OUT_OF_MEMORY lets the caller stream with zlib instead. */
static vxt_status pack_gzip(const char *who, const vxt_image *img, const vxt__nifti_hdr *h, int level,
                            unsigned char **out, size_t *out_size)
{
    unsigned char *head = NULL;
    vxt_status st = encode_head(who, img, h, &head);
    if (st != VXT_OK)
        return st;
    st = vxt__gzip_pack(who, level, head, (size_t)h->vox_offset, img->data, img->bytes, out, out_size);
    free(head);
    return st;
}

/* ---- memory ------------------------------------------------------------------------------------------ */

vxt_status vxt_nifti_write_memory(const vxt_image *img, const vxt_nifti_write_options *opts, void **data,
                                  size_t *size)
{
    VXT_CHECK_NULL(NULL, data);
    VXT_CHECK_NULL(NULL, size);
    *data = NULL;
    *size = 0;
    VXT_CHECK_NULL(NULL, img);
    vxt_nifti_write_options o;
    vxt_status st = check_options(__func__, opts, &o);
    if (st != VXT_OK)
        return st;
    vxt__nifti_hdr h;
    if ((st = build_header(__func__, img, &o, &h)) != VXT_OK)
        return st;
    static const char who[] = "vxt_nifti_write_memory";
    size_t total;
    if (!vxt__add_size((size_t)h.vox_offset, img->bytes, &total))
        return vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: the output size overflows size_t", who);
    sink k = {.who = who, .fd = -1};
    if (o.gzip) {
        unsigned char *packed = NULL;
        st = pack_gzip(who, img, &h, o.compression_level, &packed, size);
        if (st == VXT_OK) {
            *data = packed;
            return VXT_OK;
        }
        if (st != VXT_ERR_OUT_OF_MEMORY)
            return st;
        /* not enough memory for libdeflate's whole-buffer output: zlib, growing its buffer as it goes */
        if ((st = vxt__gzw_open(who, o.compression_level, -1, total, &k.gz)) != VXT_OK)
            return st;
        st = write_all(&k, img, &h);
        if (st != VXT_OK) {
            vxt__gzw_abort(k.gz);
            return st;
        }
        return vxt__gzw_close(k.gz, data, size);
    }
    k.mem = malloc(total);
    if (k.mem == NULL)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu bytes", who, total);
    st = write_all(&k, img, &h);
    if (st != VXT_OK) {
        free(k.mem);
        return st;
    }
    *data = k.mem;
    *size = k.mem_pos;
    return VXT_OK;
}

void vxt_buffer_free(void *data)
{
    free(data);
}

/* ---- files -------------------------------------------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* The image as a NIfTI file into a staged file for `path` (written and flushed; not yet in place). */
vxt_status vxt__nifti_stage(const char *func, const vxt_image *img, const char *path, const vxt_nifti_write_options *opts,
                            vxt__staged *out)
{
    VXT_CHECK_NULL(NULL, img);
    VXT_CHECK_NULL(NULL, path);
    vxt_nifti_write_options o;
    vxt_status st = check_options(func, opts, &o);
    if (st != VXT_OK)
        return st;
    int gz = ends_with(path, ".nii.gz");
    if (!gz && !ends_with(path, ".nii"))
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: path '%s' must end in .nii or .nii.gz", func, path);
    vxt__nifti_hdr h;
    if ((st = build_header(func, img, &o, &h)) != VXT_OK)
        return st;
    char who[4200];
    snprintf(who, sizeof who, "%s: '%s'", func, path);
    vxt__staged f;
    if ((st = vxt__staged_open(who, path, &f)) != VXT_OK)
        return st;
    sink k = {.who = who, .fd = f.fd};
    int done = 0;
    if (gz) {
        unsigned char *packed = NULL;
        size_t packed_size = 0;
        st = pack_gzip(who, img, &h, o.compression_level, &packed, &packed_size);
        if (st == VXT_OK) {
            if (vxt__write_full(f.fd, packed, packed_size) != 0)
                st = vxt__fail(NULL, VXT_ERR_IO, "%s: write failed: %s", who, strerror(errno));
            free(packed);
            done = 1;
        } else if (st == VXT_ERR_OUT_OF_MEMORY) { /* stream with zlib instead */
            st = vxt__gzw_open(who, o.compression_level, f.fd, 0, &k.gz);
        } else {
            done = 1;
        }
    }
    if (st == VXT_OK && !done)
        st = write_all(&k, img, &h);
    if (k.gz) {
        if (st == VXT_OK)
            st = vxt__gzw_close(k.gz, NULL, NULL);
        else
            vxt__gzw_abort(k.gz);
    }
    if (st == VXT_OK)
        st = vxt__staged_finish(who, &f);
    if (st != VXT_OK) {
        vxt__staged_abort(&f);
        return st;
    }
    *out = f;
    return VXT_OK;
}

vxt_status vxt_nifti_write_file(const vxt_image *img, const char *path, const vxt_nifti_write_options *opts)
{
    vxt__staged f;
    vxt_status st = vxt__nifti_stage(__func__, img, path, opts, &f);
    if (st != VXT_OK)
        return st;
    char who[4200];
    snprintf(who, sizeof who, "%s: '%s'", __func__, path);
    st = vxt__staged_commit(who, &f);
    vxt__staged_release(&f);
    return st;
}
