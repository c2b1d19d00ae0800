/* nifti_read.c - reading NIfTI images from files (.nii, .nii.gz, .hdr/.img pairs) and from memory.
 *
 * The order of work, for every source:
 *   1. the header (4 bytes say which version and byte order, then the rest), decoded and validated;
 *   2. every size checked against what the source can hold before anything large is allocated: the file's
 *      size for plain data, and 1032 times the compressed size for gzip (the most deflate can expand), so a
 *      forged header cannot make us allocate what the stream cannot contain;
 *   3. the extensions between the header and vox_offset (each one's esize checked against vox_offset);
 *   4. the voxels: straight into the image's buffer (pread for plain files; libdeflate's whole-buffer
 *      decompression for compressed data read whole; zlib's streaming otherwise, and as the fallback that
 *      reports what is wrong with a bad stream); then byte swapping and float32 scaling in place. */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_internal.h"

typedef struct reader {
    const char *func;
    vxt_read_options o;
    uint64_t budget_used; /* bytes counted against o.max_bytes */
} reader;

static vxt_status charge(reader *r, const char *who, uint64_t bytes, const char *what)
{
    if (r->o.max_bytes == 0)
        return VXT_OK;
    if (bytes > r->o.max_bytes || r->budget_used > r->o.max_bytes - bytes)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: %s need %llu bytes, more than max_bytes = %llu allows "
                         "(%llu already used)", who, what, (unsigned long long)bytes,
                         (unsigned long long)r->o.max_bytes, (unsigned long long)r->budget_used);
    r->budget_used += bytes;
    return VXT_OK;
}

/* ---- header and extensions ------------------------------------------------------------------------------ */

static vxt_status read_header(vxt__src *s, vxt__nifti_hdr *h, vxt__nifti_layout *L)
{
    unsigned char buf[VXT__NIFTI_MAX_HDR + 4];
    size_t got = 0;
    vxt_status st = vxt__src_read(s, buf, 4, &got);
    if (st != VXT_OK)
        return st;
    size_t total = got;
    if (got == 4) {
        /* the rest of the header and the extender, sized by sizeof_hdr in either byte order */
        uint32_t le = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 24;
        uint32_t be = (uint32_t)buf[3] | (uint32_t)buf[2] << 8 | (uint32_t)buf[1] << 16 | (uint32_t)buf[0] << 24;
        size_t hsize = (le == VXT__NIFTI2_HDR || be == VXT__NIFTI2_HDR) ? VXT__NIFTI2_HDR : VXT__NIFTI1_HDR;
        if (le == VXT__NIFTI1_HDR || be == VXT__NIFTI1_HDR || le == VXT__NIFTI2_HDR || be == VXT__NIFTI2_HDR) {
            st = vxt__src_read(s, buf + 4, hsize, &got); /* hsize - 4 header bytes + the 4-byte extender */
            if (st != VXT_OK)
                return st;
            total += got;
        }
    }
    return vxt__nifti_decode(buf, total, s->who, h, L);
}

static uint32_t rd_u32(const unsigned char *p, int big)
{
    return big ? (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24
               : (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Extensions follow the extender when extender[0] != 0: up to vox_offset in a single file, up to the end
 * of a .hdr. The source is positioned right after the extender. */
static vxt_status read_extensions(reader *r, vxt__src *s, const vxt__nifti_hdr *h, vxt_image *img)
{
    if (h->extender[0] == 0)
        return VXT_OK;
    uint64_t pos = vxt__nifti_hdr_size(h->version) + 4;
    uint64_t limit = h->single_file ? (uint64_t)h->vox_offset : UINT64_MAX;
    size_t index = 0;
    while (pos + 8 <= limit) {
        unsigned char eh[8];
        size_t got = 0;
        vxt_status st = vxt__src_read(s, eh, 8, &got);
        if (st != VXT_OK)
            return st;
        if (got == 0 && !h->single_file)
            break; /* the end of a .hdr */
        if (got < 8)
            return vxt__fail(NULL, VXT_ERR_TRUNCATED, "%s: extension %zu: its esize/ecode fields are cut off at byte "
                             "%llu", s->who, index, (unsigned long long)(pos + got));
        int32_t esize = (int32_t)rd_u32(eh, h->big_endian);
        int32_t ecode = (int32_t)rd_u32(eh + 4, h->big_endian);
        if (esize < 8)
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: extension %zu at byte %llu: esize = %d (must be at least 8, "
                             "and a multiple of 16)", s->who, index, (unsigned long long)pos, esize);
        if (pos + (uint64_t)esize > limit)
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: extension %zu at byte %llu: esize = %d runs past vox_offset = "
                             "%lld", s->who, index, (unsigned long long)pos, esize, (long long)h->vox_offset);
        size_t size = (size_t)esize - 8;
        st = charge(r, s->who, size, "the header extensions");
        if (st != VXT_OK)
            return st;
        unsigned char *content = malloc(size ? size : 1);
        if (content == NULL)
            return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for extension %zu (%zu bytes)", s->who,
                             index, size);
        st = vxt__src_read(s, content, size, &got);
        if (st == VXT_OK && got < size)
            st = vxt__fail(NULL, VXT_ERR_TRUNCATED, "%s: extension %zu at byte %llu: esize = %d but the file ends "
                           "after %zu of its %zu content bytes", s->who, index, (unsigned long long)pos, esize, got,
                           size);
        if (st == VXT_OK)
            st = vxt__image_add_ext(s->who, img, ecode, content, size);
        free(content);
        if (st != VXT_OK)
            return st;
        pos += (uint64_t)esize;
        index++;
    }
    return VXT_OK;
}

/* ---- voxels ------------------------------------------------------------------------------------------- */

typedef struct plan {
    uint64_t voxels;     /* values to read */
    uint64_t skip;       /* bytes from vox_offset to the first one (selected volume) */
    uint64_t bytes;      /* stored bytes to read */
    size_t alloc;        /* voxels * max(stored, result) element size */
    int to_float;        /* convert to float32 */
    int apply;           /* apply scl_slope / scl_inter */
    float slope, inter;
} plan;

/* Byte order and scaling, in place at p. */
static void finish_voxels(const vxt__nifti_hdr *h, const vxt__nifti_layout *L, const plan *pl, void *p)
{
    const uint16_t one = 1;
    unsigned char host_big;
    memcpy(&host_big, &one, 1);
    host_big = host_big == 0;
    if ((int)host_big != h->big_endian && L->elem > 1)
        vxt__swap_bytes(p, (size_t)pl->voxels, L->elem);
    if (pl->to_float)
        vxt__to_float32(p, (size_t)pl->voxels, L->dtype, pl->apply, pl->slope, pl->inter);
}

/* Compressed bytes for libdeflate's whole-buffer decompression: already in memory (vxt_nifti_read_memory),
 * or a compressed file, read whole only once its header has been checked (see load_whole). */
typedef struct file_in file_in;
typedef struct whole {
    const unsigned char *data;
    size_t size;
    file_in *file;
} whole;

static int load_file_whole(reader *r, file_in *f, const vxt__nifti_layout *L, const unsigned char **data,
                           size_t *size);

static int load_whole(reader *r, whole *w, const vxt__nifti_layout *L)
{
    if (w->data == NULL && w->file != NULL && !load_file_whole(r, w->file, L, &w->data, &w->size))
        w->file = NULL; /* stream it instead */
    return w->data != NULL;
}

/* Compressed data held whole in memory: libdeflate straight into one buffer holding everything up to the
 * end of the voxels. Returns VXT_OK with *done = 1 on success, *done = 0 when the stream must be read with
 * zlib instead (which then reports what is wrong with it). */
static vxt_status read_whole_gz(const char *who, const unsigned char *gz, size_t gz_size, const vxt__nifti_hdr *h,
                                const vxt__nifti_layout *L, const plan *pl, vxt_image *img, int *done)
{
    *done = 0;
    size_t off = (size_t)h->vox_offset;
    size_t cap;
    if (!vxt__add_size(off, pl->alloc, &cap))
        return vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: vox_offset + voxel buffer overflows size_t", who);
    unsigned char *buf = vxt__alloc_big(cap, 0);
    if (buf == NULL)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu bytes", who, cap);
    size_t got = 0;
    if (!vxt__gunzip_whole(gz, gz_size, buf, cap, (size_t)L->end, &got) || got < L->end) {
        free(buf);
        return VXT_OK;
    }
    unsigned char *p = buf + off;
    if (off % 16 != 0) { /* keep the voxels aligned for their type */
        memmove(buf, p, (size_t)pl->bytes);
        p = buf;
    }
    finish_voxels(h, L, pl, p);
    img->block = buf;
    img->data = p;
    *done = 1;
    return VXT_OK;
}

static vxt_status read_voxels(reader *r, vxt__src *s, whole *w, const vxt__nifti_hdr *h, const vxt__nifti_layout *L,
                              const plan *pl, vxt_image *img)
{
    vxt_status st = charge(r, s->who, pl->alloc, "the voxels");
    if (st != VXT_OK)
        return st;
    if (s->kind == VXT__SRC_GZ && pl->skip == 0 && pl->bytes == L->data_bytes && load_whole(r, w, L)) {
        int done = 0;
        st = read_whole_gz(s->who, w->data, w->size, h, L, pl, img, &done);
        if (st != VXT_OK || done)
            return st;
    }
    /* position the stream at the first value wanted */
    uint64_t target = (uint64_t)h->vox_offset + pl->skip;
    if (s->pos < target) {
        uint64_t skipped = 0, need = target - s->pos;
        st = vxt__src_skip(s, need, &skipped);
        if (st != VXT_OK)
            return st;
        if (skipped < need) {
            if (s->pos < (uint64_t)h->vox_offset)
                return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: vox_offset = %lld lies beyond the end of the %s (%llu "
                                 "bytes)", s->who, (long long)h->vox_offset,
                                 s->compressed ? "decompressed stream" : "file", (unsigned long long)s->pos);
            return vxt__fail(NULL, VXT_ERR_TRUNCATED, "%s: the voxel data ends early: volume %lld starts at byte "
                             "%llu but the %s ends at byte %llu", s->who, (long long)(pl->skip / (pl->bytes ? pl->bytes : 1)),
                             (unsigned long long)target, s->compressed ? "decompressed stream" : "file",
                             (unsigned long long)s->pos);
        }
    }
    unsigned char *buf = vxt__alloc_big(pl->alloc, 0);
    if (buf == NULL)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu bytes of voxels", s->who, pl->alloc);
    size_t got = 0;
    st = vxt__src_read(s, buf, (size_t)pl->bytes, &got);
    if (st == VXT_OK && got < pl->bytes)
        st = vxt__fail(NULL, VXT_ERR_TRUNCATED, "%s: the voxel data ends early: the %s has %zu of the %llu bytes "
                       "that dim and datatype need from byte %llu", s->who,
                       s->compressed ? "decompressed stream" : "file", got, (unsigned long long)pl->bytes,
                       (unsigned long long)target);
    if (st == VXT_OK && s->kind == VXT__SRC_GZ)
        /* every member's CRC-32 and length, to the end of the stream; but decompression stops soon after the
         * size the header declared: what follows the voxels is at most a little padding */
        st = vxt__gz_finish(s->gz, VXT__GZ_MAX_TAIL, s->who);
    if (st != VXT_OK) {
        free(buf);
        return st;
    }
    finish_voxels(h, L, pl, buf);
    img->block = buf;
    img->data = buf;
    return VXT_OK;
}

/* Checks that need the source's size: done before allocating anything large. */
static vxt_status check_fits(const char *who, const vxt__src *s, const vxt__nifti_hdr *h, const vxt__nifti_layout *L,
                             int header_only)
{
    if (s->kind == VXT__SRC_GZ) {
        uint64_t in = s->fd < 0 ? s->mem_size : s->fd_size; /* compressed bytes */
        uint64_t most = in > (UINT64_MAX - 4096) / VXT__DEFLATE_MAX_RATIO ? UINT64_MAX
                                                                          : in * VXT__DEFLATE_MAX_RATIO + 4096;
        uint64_t need = header_only ? (uint64_t)h->vox_offset : L->end;
        if (need > most)
            return vxt__fail(NULL, VXT_ERR_TRUNCATED, "%s: the header says the data ends at byte %llu, more than a "
                             "gzip stream of %llu bytes can hold (deflate expands at most 1032:1): the file is "
                             "truncated or its header is wrong", who, (unsigned long long)need,
                             (unsigned long long)in);
        return VXT_OK;
    }
    uint64_t size = vxt__src_size(s);
    if ((uint64_t)h->vox_offset > size)
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: vox_offset = %lld lies beyond the end of the file (%llu bytes)", who,
                         (long long)h->vox_offset, (unsigned long long)size);
    if (!header_only && L->end > size)
        return vxt__fail(NULL, VXT_ERR_TRUNCATED, "%s: the voxel data ends early: dim and datatype need %llu bytes "
                         "from vox_offset = %lld, the file has %llu bytes after it", who,
                         (unsigned long long)L->data_bytes, (long long)h->vox_offset,
                         (unsigned long long)(size - (uint64_t)h->vox_offset));
    return VXT_OK;
}

static vxt_status make_plan(reader *r, const char *who, const vxt__nifti_hdr *h, const vxt__nifti_layout *L,
                            plan *pl, vxt_image *img)
{
    memset(pl, 0, sizeof *pl);
    int64_t vol = r->o.volume;
    if (vol != VXT_READ_ALL_VOLUMES && (uint64_t)vol >= L->volumes)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: volume = %lld, but the file has %llu volume%s (dim[0] "
                         "= %lld, dim[4..7] = %lld x %lld x %lld x %lld)", who, (long long)vol,
                         (unsigned long long)L->volumes, L->volumes == 1 ? "" : "s", (long long)h->dim[0],
                         (long long)h->dim[4], (long long)h->dim[5], (long long)h->dim[6], (long long)h->dim[7]);
    int valid = isfinite(h->scl_slope) && h->scl_slope != 0;
    int identity = valid && h->scl_slope == 1 && h->scl_inter == 0;
    vxt_scaling mode = r->o.scaling;
    pl->to_float = mode == VXT_SCALING_FLOAT32 || (mode == VXT_SCALING_AUTO && valid && !identity);
    pl->apply = pl->to_float && valid;
    if (pl->apply) {
        if (!isfinite(h->scl_inter))
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: scl_inter = %g with scl_slope = %g: a valid slope needs a "
                             "finite intercept (nibabel refuses this too); read with VXT_SCALING_RAW for the "
                             "stored values", who, h->scl_inter, h->scl_slope);
        if (fabs(h->scl_slope) > FLT_MAX || fabs(h->scl_inter) > FLT_MAX)
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: scl_slope = %g, scl_inter = %g do not fit float32", who,
                             h->scl_slope, h->scl_inter);
        pl->slope = (float)h->scl_slope;
        pl->inter = (float)h->scl_inter;
    }
    pl->voxels = vol == VXT_READ_ALL_VOLUMES ? L->vol_voxels * L->volumes : L->vol_voxels;
    pl->bytes = pl->voxels * L->elem;
    pl->skip = vol == VXT_READ_ALL_VOLUMES ? 0 : (uint64_t)vol * L->vol_voxels * L->elem;
    size_t out_elem = pl->to_float ? sizeof(float) : L->elem;
    size_t wide = out_elem > L->elem ? out_elem : L->elem;
    if (!vxt__mul_size((size_t)pl->voxels, wide, &pl->alloc))
        return vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: %llu voxels of %zu bytes overflow size_t", who,
                         (unsigned long long)pl->voxels, wide);

    img->format = VXT_FORMAT_NIFTI;
    img->dtype = pl->to_float ? VXT_DTYPE_F32 : L->dtype;
    img->stored_dtype = L->dtype;
    img->scaled = pl->apply;
    img->scl_slope = h->scl_slope;
    img->scl_inter = h->scl_inter;
    vxt__strlcpy(img->description, h->descrip, sizeof img->description);
    img->channels = vol == VXT_READ_ALL_VOLUMES ? (int64_t)L->volumes : 1;
    img->shape[0] = h->dim[3];
    img->shape[1] = h->dim[2];
    img->shape[2] = h->dim[1];
    img->volumes = (int64_t)L->volumes;
    img->volume_index = vol;
    img->bytes = (size_t)pl->voxels * out_elem;
    img->nifti = *h;
    if (vol != VXT_READ_ALL_VOLUMES) {
        if (img->nifti.dim[0] > 3)
            img->nifti.dim[0] = 3;
        for (int i = 4; i < 8; i++)
            img->nifti.dim[i] = 1;
    }
    vxt__geometry_from_hdr(h, &img->geom);
    vxt__image_derive_geometry(img);
    return VXT_OK;
}

/* Refuse non-finite geometry where it is used: the affine in use would be meaningless. */
static vxt_status check_geometry(const char *who, const vxt__nifti_hdr *h)
{
    static const char *qn[3] = {"quatern_b", "quatern_c", "quatern_d"};
    static const char *on[3] = {"qoffset_x", "qoffset_y", "qoffset_z"};
    static const char *rn[3] = {"srow_x", "srow_y", "srow_z"};
    if (h->sform_code >= 1 && h->sform_code <= 5) {
        for (int i = 0; i < 3; i++)
            for (int c = 0; c < 4; c++)
                if (!isfinite(h->srow[i][c]))
                    return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: %s[%d] = %g with sform_code = %d: the sform is not "
                                     "finite", who, rn[i], c, h->srow[i][c], h->sform_code);
        return VXT_OK;
    }
    if (h->qform_code >= 1 && h->qform_code <= 5) {
        for (int i = 0; i < 3; i++) {
            if (!isfinite(h->quatern[i]))
                return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: %s = %g with qform_code = %d: the qform is not finite",
                                 who, qn[i], h->quatern[i], h->qform_code);
            if (!isfinite(h->qoffset[i]))
                return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: %s = %g with qform_code = %d: the qform is not finite",
                                 who, on[i], h->qoffset[i], h->qform_code);
        }
    }
    for (int i = 0; i <= 3; i++)
        if (!isfinite(h->pixdim[i]))
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: pixdim[%d] = %g: the %s uses it and it is not finite", who, i,
                             h->pixdim[i], h->qform_code >= 1 && h->qform_code <= 5 ? "qform" : "fallback affine");
    return VXT_OK;
}

/* Header, extensions and voxels from `hs` (header source); the voxels come from `ds` (the same source for a
 * single file, the .img for a pair, NULL when the pair's data file must be opened by the caller). */
typedef vxt_status (*open_data_fn)(void *arg, vxt__src *ds, whole *dw);

static vxt_status read_image(reader *r, vxt__src *hs, whole *hw, open_data_fn open_data, void *open_arg,
                             vxt_image **out)
{
    vxt__nifti_hdr h;
    vxt__nifti_layout L;
    vxt_status st = read_header(hs, &h, &L);
    if (st != VXT_OK)
        return st;
    int header_only = (r->o.flags & VXT_READ_HEADER_ONLY) != 0;
    if (h.single_file && (st = check_fits(hs->who, hs, &h, &L, header_only)) != VXT_OK)
        return st;
    if ((st = check_geometry(hs->who, &h)) != VXT_OK)
        return st;
    vxt_image *img;
    if ((st = vxt__image_alloc(r->func, &img)) != VXT_OK)
        return st;
    plan pl;
    st = make_plan(r, hs->who, &h, &L, &pl, img);
    if (st == VXT_OK)
        st = read_extensions(r, hs, &h, img);
    if (st == VXT_OK && !header_only) {
        if (h.single_file) {
            img->compressed = hs->compressed;
            st = read_voxels(r, hs, hw, &h, &L, &pl, img);
        } else if (open_data == NULL) {
            st = vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "%s: magic \"%s\" says the voxels are in a separate .img file; "
                           "a .hdr/.img pair cannot be read from one memory buffer", hs->who,
                           h.version == 1 ? "ni1" : "ni2");
        } else {
            vxt__src ds;
            memset(&ds, 0, sizeof ds);
            whole dw = {NULL, 0, NULL};
            st = open_data(open_arg, &ds, &dw);
            if (st == VXT_OK) {
                img->compressed = ds.compressed;
                st = check_fits(ds.who, &ds, &h, &L, 0);
                if (st == VXT_OK)
                    st = read_voxels(r, &ds, &dw, &h, &L, &pl, img);
                vxt__src_close(&ds);
            }
        }
    } else if (st == VXT_OK && !h.single_file) {
        img->compressed = 0;
    }
    if (st == VXT_OK && header_only)
        img->compressed = hs->compressed;
    if (st != VXT_OK) {
        vxt_image_destroy(img);
        return st;
    }
    *out = img;
    return VXT_OK;
}

/* After a read: the image's source, or nothing at all when that fails. */
static vxt_status source_of(vxt_status st, const char *source, vxt_image **out)
{
    if (st == VXT_OK && (st = vxt__image_set_source(*out, source)) != VXT_OK) {
        vxt_image_destroy(*out);
        *out = NULL;
    }
    return st;
}

/* ---- memory ------------------------------------------------------------------------------------------- */

vxt_status vxt_nifti_read_memory(const void *data, size_t size, const vxt_read_options *opts, vxt_image **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, data);
    reader r = {.func = __func__};
    vxt_status st = vxt__read_options_check(__func__, opts, &r.o);
    if (st != VXT_OK)
        return st;
    static const char who[] = "vxt_nifti_read_memory: memory";
    vxt__src s;
    if ((st = vxt__src_mem(&s, who, data, size)) != VXT_OK)
        return st;
    whole w = {(const unsigned char *)data, size, NULL};
    st = read_image(&r, &s, &w, NULL, NULL, out);
    vxt__src_close(&s);
    return source_of(st, "memory", out);
}

/* ---- files -------------------------------------------------------------------------------------------- */

struct file_in {
    int fd;
    uint64_t size;
    unsigned char *whole; /* the compressed file, when read whole */
    char who[4200];
};

static void file_close(file_in *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    free(f->whole);
    f->whole = NULL;
}

static vxt_status file_open(const char *func, const char *path, file_in *f)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    snprintf(f->who, sizeof f->who, "%s: '%s'", func, path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vxt__fail(NULL, VXT_ERR_IO, "%s: cannot open: %s", f->who, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return vxt__fail(NULL, VXT_ERR_IO, "%s: cannot stat: %s", f->who, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return vxt__fail(NULL, VXT_ERR_IO, "%s: is a directory", f->who);
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return vxt__fail(NULL, VXT_ERR_IO, "%s: not a regular file (pipes and devices cannot be read; read the bytes "
                         "into memory and use vxt_nifti_read_memory())", f->who);
    }
    f->fd = fd;
    f->size = (uint64_t)sb.st_size;
    return VXT_OK;
}

/* A compressed file is read whole (for libdeflate) only after its header has been checked, and only when
 * its size is plausible for what the header announces: a gzip file barely exceeds its contents (stored
 * blocks add 5 bytes per 64 KiB), so a much larger one holds something else and is streamed instead -- as it
 * is when the memory (or max_bytes) does not allow it. Returns 1 with the bytes, 0 to stream. */
static int load_file_whole(reader *r, file_in *f, const vxt__nifti_layout *L, const unsigned char **data,
                           size_t *size)
{
    uint64_t plausible = L->end + L->end / 64 + ((uint64_t)1 << 20);
    if (f->size > plausible || f->size > (uint64_t)SIZE_MAX)
        return 0;
    if (r->o.max_bytes != 0 &&
        (f->size > r->o.max_bytes || r->budget_used > r->o.max_bytes - f->size))
        return 0;
    f->whole = vxt__alloc_big((size_t)f->size, 0);
    if (f->whole == NULL)
        return 0;
    int64_t got = vxt__pread_full(f->fd, f->whole, (size_t)f->size, 0);
    if (got < 0 || (uint64_t)got != f->size) { /* the stream reports what is wrong */
        free(f->whole);
        f->whole = NULL;
        return 0;
    }
    r->budget_used += f->size;
    *data = f->whole;
    *size = (size_t)got;
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* Name of the other file of a pair: `from` (".hdr" or ".img") becomes `to`, with a ".gz" suffix when
 * add_gz, in the case of the original suffix. Returns 0 when `path` does not end in `from` or `from`.gz. */
static int pair_name(const char *path, const char *from, const char *to, int add_gz, char *out, size_t out_size)
{
    size_t n = strlen(path);
    size_t stem = ends_with(path, ".gz") ? n - 3 : n;
    if (stem < 4 || strncasecmp(path + stem - 4, from, 4) != 0 || stem + 4 > out_size)
        return 0;
    memcpy(out, path, stem - 4);
    int upper = path[stem - 3] >= 'A' && path[stem - 3] <= 'Z';
    for (size_t i = 0; i < 4; i++) {
        char c = to[i];
        out[stem - 4 + i] = (char)(upper && c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    memcpy(out + stem, add_gz ? (upper ? ".GZ" : ".gz") : "", add_gz ? 4 : 1);
    return 1;
}

/* The existing partner of a pair file: first with the same compression suffix, then with the other; when
 * neither exists, the first name (so that the open error names it). 0 when `path` is not a `from` name. */
static int find_pair(const char *path, const char *from, const char *to, char *out, size_t out_size)
{
    int gz = ends_with(path, ".gz");
    if (!pair_name(path, from, to, gz, out, out_size))
        return 0;
    if (access(out, F_OK) == 0)
        return 1;
    char alt[4096];
    if (pair_name(path, from, to, !gz, alt, sizeof alt) && access(alt, F_OK) == 0)
        vxt__strlcpy(out, alt, out_size);
    return 1;
}

typedef struct pair_arg {
    reader *r;
    const char *hdr_path;
    const char *hdr_who;
    file_in data;
} pair_arg;

static vxt_status open_pair_data(void *arg, vxt__src *ds, whole *dw)
{
    pair_arg *p = (pair_arg *)arg;
    char name[4096];
    memset(ds, 0, sizeof *ds);
    if (!find_pair(p->hdr_path, ".hdr", ".img", name, sizeof name))
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: the magic says the voxels are in a separate .img file, but the "
                         "name does not end in .hdr or .hdr.gz", p->hdr_who);
    vxt_status st = file_open(p->r->func, name, &p->data);
    if (st != VXT_OK)
        return st;
    dw->file = &p->data;
    return vxt__src_fd(ds, p->data.who, p->data.fd, p->data.size);
}

vxt_status vxt_nifti_read_file(const char *path, const vxt_read_options *opts, vxt_image **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, path);
    reader r = {.func = __func__};
    vxt_status st = vxt__read_options_check(__func__, opts, &r.o);
    if (st != VXT_OK)
        return st;
    /* naming the .img of a pair reads its .hdr */
    char hdr_path[4096];
    const char *hp = find_pair(path, ".img", ".hdr", hdr_path, sizeof hdr_path) ? hdr_path : path;
    file_in f;
    if ((st = file_open(__func__, hp, &f)) != VXT_OK) {
        file_close(&f);
        return st;
    }
    vxt__src s;
    memset(&s, 0, sizeof s);
    st = vxt__src_fd(&s, f.who, f.fd, f.size);
    if (st == VXT_OK) {
        pair_arg pa = {.r = &r, .hdr_path = hp, .hdr_who = f.who};
        pa.data.fd = -1;
        whole w = {NULL, 0, &f};
        st = read_image(&r, &s, &w, open_pair_data, &pa, out);
        file_close(&pa.data);
    }
    vxt__src_close(&s);
    file_close(&f);
    return source_of(st, path, out);
}
