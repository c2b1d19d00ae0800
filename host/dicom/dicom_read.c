/* dicom_read.c - one series of a scan into an image: each file's pixel data read or decoded (dicom_codec.h), the stored bits kept
 * (BitsStored, PixelRepresentation), the padding marked, each slice rescaled where the output is float32 and put
 * at its place: slice k of the sorted series, rows reversed (dcm2niix's voxel order, docs/DICOM.md); with a gantry
 * tilt corrected, each slice shifted along its column direction first (dicom_tilt.c). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

#include "dicom_internal.h"

/* How a plane's stored values become the image's. */
typedef struct conv {
    int bytes;            /* per stored sample: 1, 2 or 4 */
    int bits;             /* BitsStored */
    int is_signed;        /* PixelRepresentation 1 */
    int has_pad;
    int64_t pad_lo, pad_hi; /* stored values that are padding */
    int64_t pad_stored;   /* what padding becomes in stored output */
    float pad_value;      /* what padding becomes in float32 output */
} conv;

/* Stored sample x (its low `bits` bits, sign-extended when signed). */
static inline int64_t sample(const unsigned char *p, size_t i, const conv *c)
{
    uint32_t u;
    switch (c->bytes) {
    case 1:
        u = p[i];
        break;
    case 2: {
        uint16_t v;
        memcpy(&v, p + 2 * i, 2);
        u = v;
        break;
    }
    default:
        memcpy(&u, p + 4 * i, 4);
        break;
    }
    if (c->bits < 32)
        u &= (1u << c->bits) - 1u;
    if (c->is_signed && c->bits < 64 && (u >> (c->bits - 1)) & 1u)
        return (int64_t)u - ((int64_t)1 << c->bits);
    return (int64_t)u;
}

static void put_stored(void *dst, vxt_dtype t, size_t i, int64_t v)
{
    switch (t) {
    case VXT_DTYPE_U8:
        ((uint8_t *)dst)[i] = (uint8_t)v;
        break;
    case VXT_DTYPE_I8:
        ((int8_t *)dst)[i] = (int8_t)v;
        break;
    case VXT_DTYPE_U16:
        ((uint16_t *)dst)[i] = (uint16_t)v;
        break;
    case VXT_DTYPE_I16:
        ((int16_t *)dst)[i] = (int16_t)v;
        break;
    case VXT_DTYPE_U32:
        ((uint32_t *)dst)[i] = (uint32_t)v;
        break;
    default:
        ((int32_t *)dst)[i] = (int32_t)v;
        break;
    }
}

/* Plane `src` (rows x cols stored samples) as whole values, rows reversed (j = R-1-row). */
static void extract_plane(const unsigned char *src, int64_t rows, int64_t cols, const conv *c, int64_t *dst)
{
    for (int64_t j = 0; j < rows; j++) {
        const size_t si = (size_t)j * (size_t)cols, di = (size_t)(rows - 1 - j) * (size_t)cols;
        for (int64_t i = 0; i < cols; i++)
            dst[di + (size_t)i] = sample(src, si + (size_t)i, c);
    }
}

/* n whole values into the image: stored values, or float32 (float)x * slope then + inter, each rounded to float32
 * (a multiply by 1 and an add of 0 skipped, as vxt__to_float32 does for NIfTI); padding becomes one value. */
static void emit(const int64_t *raw, size_t n, const conv *c, void *dst, vxt_dtype out, int to_float, float slope,
                 float inter)
{
    const int mul = slope != 1.0f, add = inter != 0.0f;
    for (size_t i = 0; i < n; i++) {
        const int64_t x = raw[i];
        const int pad = c->has_pad && x >= c->pad_lo && x <= c->pad_hi;
        if (to_float) {
            float v;
            if (pad) {
                v = c->pad_value;
            } else {
                v = (float)x;
                if (mul)
                    v = v * slope;
                if (add)
                    v = v + inter;
            }
            ((float *)dst)[i] = v;
        } else {
            put_stored(dst, out, i, pad ? c->pad_stored : x);
        }
    }
}

/* Plane `src` of 16-bit samples straight into the image (rows reversed): the common case, one pass that the compiler
 * vectorizes; the same values as extract_plane then emit. */
static void place16(const unsigned char *src, int64_t rows, int64_t cols, const conv *c, void *dst, int to_float,
                    float slope, float inter)
{
    const uint32_t mask = c->bits < 16 ? (1u << c->bits) - 1u : 0xffffu;
    const int sh = 16 - c->bits, sgn = c->is_signed;
    const int mul = slope != 1.0f, add = inter != 0.0f, has_pad = c->has_pad;
    const int32_t lo = (int32_t)c->pad_lo, hi = (int32_t)c->pad_hi, ps = (int32_t)c->pad_stored;
    const float pv = c->pad_value;
    for (int64_t j = 0; j < rows; j++) {
        const uint16_t *restrict s = (const uint16_t *)(const void *)(src + (size_t)j * (size_t)cols * 2u);
        const size_t di = (size_t)(rows - 1 - j) * (size_t)cols;
        if (to_float) {
            float *restrict d = (float *)dst + di;
            for (int64_t i = 0; i < cols; i++) {
                const uint32_t u = s[i] & mask;
                const int32_t x = sgn ? (int32_t)(int16_t)(uint16_t)(u << sh) >> sh : (int32_t)u;
                float v = (float)x;
                if (mul)
                    v = v * slope;
                if (add)
                    v = v + inter;
                d[i] = has_pad && x >= lo && x <= hi ? pv : v;
            }
        } else {
            uint16_t *restrict d = (uint16_t *)dst + di; /* int16 and uint16 alike: the same bits */
            for (int64_t i = 0; i < cols; i++) {
                const uint32_t u = s[i] & mask;
                const int32_t x = sgn ? (int32_t)(int16_t)(uint16_t)(u << sh) >> sh : (int32_t)u;
                d[i] = (uint16_t)(has_pad && x >= lo && x <= hi ? ps : x);
            }
        }
    }
}

/* len bytes of the file at `at` into buf. 0, or -1 with err. */
static int read_at(int fd, uint64_t at, void *buf, size_t len, char *err, size_t errlen)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, (unsigned char *)buf + done, len - done, (off_t)(at + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, errlen, "pixel data (7FE0,0010): %s", r < 0 ? strerror(errno) : "the file ends early");
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

/* Native pixel data (uncompressed, not deflated) read straight from the file at the value's offset, which the walk
 * found (dicom_check.c); big-endian samples swapped. 0, or -1 with err. */
static int read_native(const vxt__dcm_entry *e, void *buf, size_t need, int sample_bytes, char *err, size_t errlen)
{
    int fd = open(e->io, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    const int r = read_at(fd, e->px.offset, buf, need, err, errlen);
    close(fd);
    if (r == 0 && e->px.big && sample_bytes > 1)
        vxt__swap_bytes(buf, need / (size_t)sample_bytes, (size_t)sample_bytes);
    return r;
}

/* Encapsulated pixel data: the file's bytes from the value's offset (found by the walk) to its end, split into
 * frames and decoded (dicom_decode.c). 0, or -1 with err. */
static int read_encapsulated(const vxt__dcm_entry *e, const conv *c, void *buf, size_t need, char *err,
                             size_t errlen)
{
    const vxt__dcm_codec codec = vxt__dcm_ts_codec(e->h.ts_uid);
    if (!vxt__dcm_codec_decoder(codec)) {
        snprintf(err, errlen, "pixel data (7FE0,0010) is encapsulated, but the transfer syntax (0002,0010) %s is "
                 "not a compressed one voxtile decodes", vxt__dcm_ts_name(e->h.ts_uid));
        return -1;
    }
    int fd = open(e->io, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size < e->px.offset || (uint64_t)st.st_size - e->px.offset > SIZE_MAX / 2) {
        snprintf(err, errlen, "pixel data (7FE0,0010): the file changed since it was scanned");
        close(fd);
        return -1;
    }
    const size_t n = (size_t)((uint64_t)st.st_size - e->px.offset);
    unsigned char *s = malloc(n ? n : 1);
    if (!s) {
        snprintf(err, errlen, "pixel data (7FE0,0010): out of memory for %zu compressed bytes", n);
        close(fd);
        return -1;
    }
    int r = read_at(fd, e->px.offset, s, n, err, errlen);
    close(fd);
    if (r == 0) {
        const vxt__dcm_fmt f = {e->h.rows, e->h.cols, c->bytes, c->bits, c->is_signed};
        r = vxt__dcm_decode_encapsulated(s, n, codec, e->h.enhanced ? e->h.frames : 1, &f, buf, need, err, errlen);
    }
    free(s);
    return r;
}

static int is_native(const char *ts)
{
    return vxt__dcm_ts_codec(ts) == VXT__DCM_CODEC_NATIVE;
}

/* One file's pixel data (every frame) into buf (need bytes): read, or decoded. 0, or -1 with err. */
static int file_pixels(const vxt__dcm_entry *e, const conv *c, void *buf, size_t need, char *err, size_t errlen)
{
    const int native = !e->h.encapsulated && e->px.present && is_native(e->h.ts_uid) && e->px.bytes >= need;
    if (!native && (!e->h.encapsulated || !e->px.present)) {
        snprintf(err, errlen, "pixel data (7FE0,0010) is %s, which transfer syntax (0002,0010) %s does not allow",
                 e->h.encapsulated ? "encapsulated" : "not encapsulated", vxt__dcm_ts_name(e->h.ts_uid));
        return -1;
    }
    return native ? read_native(e, buf, need, c->bytes, err, errlen) : read_encapsulated(e, c, buf, need, err, errlen);
}

/* Slice k of the image from one plane of stored samples (src): masked, padding marked, rescaled where the image is
 * float32, rows reversed. raw: scratch of rows x cols. */
static void place_plane(const unsigned char *src, const vxt__dcm_group *G, const conv *c, const vxt__dcm_frame *f,
                        unsigned char *dst, vxt_dtype dtype, int to_float, int64_t *raw)
{
    if (c->bytes == 2) {
        place16(src, G->rows, G->cols, c, dst, to_float, (float)f->slope, (float)f->inter);
        return;
    }
    extract_plane(src, G->rows, G->cols, c, raw);
    emit(raw, (size_t)G->rows * (size_t)G->cols, c, dst, dtype, to_float, (float)f->slope, (float)f->inter);
}

/* A series of single-frame files, no tilt to correct: the files read and decoded by `threads` threads at once,
 * each taking the next slice (an atomic counter), decoding its file into a buffer of its own and placing it into its
 * slice of the image (slices are disjoint). The failure reported is the one of the first slice that failed, whatever
 * the threads' timing: slices are taken in order, so every slice before a failed one is read to its end. */
typedef struct plane_job {
    const vxt_dicom_scan *s;
    const vxt__dcm_group *G;
    const conv *c;
    unsigned char *out;
    size_t out_slice; /* bytes per image slice */
    vxt_dtype dtype;
    int to_float;
    atomic_size_t next;
    atomic_int failed;
    pthread_mutex_t lock;
    size_t fail_k; /* SIZE_MAX: none */
    int oom;
    char err[320];
} plane_job;

static void plane_fail(plane_job *j, size_t k, int oom, const char *path, const char *why)
{
    pthread_mutex_lock(&j->lock);
    if (k < j->fail_k) {
        j->fail_k = k;
        j->oom = oom;
        snprintf(j->err, sizeof j->err, "'%s': %s", path, why);
    }
    pthread_mutex_unlock(&j->lock);
    atomic_store(&j->failed, 1);
}

static void *plane_worker(void *arg)
{
    plane_job *j = arg;
    const vxt__dcm_group *G = j->G;
    const size_t plane_n = (size_t)G->rows * (size_t)G->cols, plane_bytes = plane_n * (size_t)j->c->bytes;
    unsigned char *buf = malloc(plane_bytes);
    int64_t *raw = j->c->bytes == 2 ? NULL : malloc(plane_n * sizeof *raw);
    char err[256];
    for (;;) {
        const size_t k = atomic_fetch_add(&j->next, 1);
        if (k >= G->nplanes || atomic_load(&j->failed))
            break;
        const vxt__dcm_entry *e = &j->s->files[G->planes[k].file];
        if (!buf || (j->c->bytes != 2 && !raw)) {
            plane_fail(j, k, 1, e->path, "out of memory for one slice's pixel data");
            break;
        }
        if (file_pixels(e, j->c, buf, plane_bytes, err, sizeof err) != 0) {
            plane_fail(j, k, 0, e->path, err);
            break;
        }
        place_plane(buf, G, j->c, &e->h.frame[0], j->out + k * j->out_slice, j->dtype, j->to_float, raw);
    }
    free(buf);
    free(raw);
    return NULL;
}

/* The threads for a series of n files: o->threads, or (0) the CPUs available, at most VXT__DCM_MAX_THREADS; never
 * more than the files. */
static int plane_threads(const vxt_read_options *o, size_t n)
{
    int t = o->threads > 0 ? o->threads : vxt__available_cpus();
    if (t > VXT__DCM_MAX_THREADS)
        t = VXT__DCM_MAX_THREADS;
    if ((size_t)t > n)
        t = (int)n;
    return t < 1 ? 1 : t;
}

static vxt_status read_planes(const vxt_dicom_scan *s, const vxt__dcm_group *G, const conv *c, const vxt_read_options *o,
                              unsigned char *out, size_t out_slice, vxt_dtype dtype, int to_float, const char *func)
{
    plane_job j = {.s = s, .G = G, .c = c, .out = out, .out_slice = out_slice, .dtype = dtype, .to_float = to_float,
                   .fail_k = SIZE_MAX};
    atomic_init(&j.next, 0);
    atomic_init(&j.failed, 0);
    pthread_mutex_init(&j.lock, NULL);
    const int want = plane_threads(o, G->nplanes);
    pthread_t tid[VXT__DCM_MAX_THREADS];
    int started = 0;
    for (int t = 1; t < want; t++) { /* the calling thread is the first worker; fewer threads when some fail to start */
        if (pthread_create(&tid[started], NULL, plane_worker, &j) != 0)
            break;
        started++;
    }
    plane_worker(&j);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&j.lock);
    if (j.fail_k != SIZE_MAX)
        return vxt__fail(NULL, j.oom ? VXT_ERR_OUT_OF_MEMORY : VXT_ERR_FORMAT, "%s: %s", func, j.err);
    return VXT_OK;
}

static vxt_dtype stored_type(int bits_allocated, int is_signed)
{
    if (bits_allocated == 8)
        return is_signed ? VXT_DTYPE_I8 : VXT_DTYPE_U8;
    if (bits_allocated == 16)
        return is_signed ? VXT_DTYPE_I16 : VXT_DTYPE_U16;
    return is_signed ? VXT_DTYPE_I32 : VXT_DTYPE_U32;
}

/* A stored padding value as the tag gives it, brought into the stored type's range: PixelPaddingValue's VR is
 * US or SS by PixelRepresentation, which an implicit-VR file does not say (GDCM may read -2000 as 63536). */
static int64_t stored_value(double v, int bits_allocated, int is_signed)
{
    int64_t x = (int64_t)llround(v);
    const int64_t full = (int64_t)1 << bits_allocated;
    if (is_signed && x >= full / 2 && x < full)
        x -= full;
    if (!is_signed && x < 0 && x >= -full / 2)
        x += full;
    return x;
}

vxt_status vxt__dicom_read_group(const vxt_dicom_scan *s, size_t g, const vxt_read_options *o, const char *func,
                                 vxt_image **out)
{
    const vxt__dcm_group *G = &s->groups[g];
    if (s->bad)
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: '%s': %s (a DICOM file that cannot be read, in '%s')", func,
                         s->bad->path, s->bad->error, s->source);
    if (G->status != VXT_OK)
        return vxt__fail(NULL, G->status, "%s: %s", func, G->problem);
    const vxt__dcm_file *h0 = &s->files[G->planes[0].file].h;
    const vxt__dcm_frame *f0 = &h0->frame[G->planes[0].frame];
    const int is_signed = h0->pixel_rep == 1;
    const vxt_dtype stored = stored_type(h0->bits_allocated, is_signed);
    const int identity = f0->slope == 1.0 && f0->inter == 0.0;
    const int to_float = G->rescale_varies || o->scaling == VXT_SCALING_FLOAT32 ||
                         (o->scaling == VXT_SCALING_AUTO && !identity);
    const vxt_dtype dtype = to_float ? VXT_DTYPE_F32 : stored;
    int64_t shape[3];
    vxt__dcm_out_shape(G, shape);
    /* sizes: each factor fits (rows, cols <= 65535; planes counted in memory), the product may not */
    uint64_t n = 0, bytes = 0;
    if (__builtin_mul_overflow((uint64_t)shape[0], (uint64_t)shape[1], &n) ||
        __builtin_mul_overflow(n, (uint64_t)shape[2], &n) ||
        __builtin_mul_overflow(n, (uint64_t)vxt_dtype_size(dtype), &bytes) || bytes > (uint64_t)PTRDIFF_MAX)
        return vxt__fail(NULL, VXT_ERR_OVERFLOW, "%s: '%s': %lld slices of %lld x %lld (Rows (0028,0010) x Columns "
                         "(0028,0011)) overflow the size of memory", func, s->source, (long long)shape[0],
                         (long long)shape[1], (long long)shape[2]);
    if (o->max_bytes && bytes > o->max_bytes)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: '%s' needs %llu bytes (%lld slices of %lld x %lld), more "
                         "than max_bytes = %llu", func, s->source, (unsigned long long)bytes, (long long)shape[0],
                         (long long)shape[1], (long long)shape[2], (unsigned long long)o->max_bytes);
    vxt_image *img;
    vxt_status st = vxt__image_alloc(func, &img);
    if (st != VXT_OK)
        return st;
    img->format = VXT_FORMAT_DICOM;
    img->stored_dtype = stored;
    img->dtype = dtype;
    img->channels = 1;
    memcpy(img->shape, shape, sizeof img->shape);
    img->volumes = 1;
    img->volume_index = VXT_READ_ALL_VOLUMES;
    img->scaled = to_float;
    img->scl_slope = G->rescale_varies ? 0.0 : f0->slope; /* per-slice rescales: none that one pair could say */
    img->scl_inter = G->rescale_varies ? 0.0 : f0->inter;
    vxt__strlcpy(img->description, G->description, sizeof img->description);
    vxt__nifti_hdr_default(&img->nifti, dtype, 1, shape);
    img->nifti.xyzt_units = VXT_NIFTI_UNITS_MM;
    conv c = {h0->bits_allocated / 8, h0->bits_stored, is_signed, 0, 0, 0, 0, 0.0f};
    if (h0->has_padding) {
        int64_t a = stored_value(h0->padding, h0->bits_allocated, is_signed);
        int64_t b = h0->has_padding_limit ? stored_value(h0->padding_limit, h0->bits_allocated, is_signed) : a;
        c.has_pad = 1;
        c.pad_lo = a < b ? a : b;
        c.pad_hi = a < b ? b : a;
        c.pad_stored = a;
        float v = (float)a; /* in the first slice's units */
        if ((float)f0->slope != 1.0f)
            v = v * (float)f0->slope;
        if ((float)f0->inter != 0.0f)
            v = v + (float)f0->inter;
        c.pad_value = v;
        img->has_padding = 1;
        img->padding_value = to_float ? (double)v : (double)a;
    }
    vxt_geometry geom = {.struct_size = sizeof geom};
    st = vxt_geometry_from_affine(&G->affine[0][0], 1 /* scanner */, &geom);
    if (st == VXT_OK) {
        img->geom = geom;
        vxt__image_derive_geometry(img);
    } else {
        st = vxt__fail(NULL, VXT_ERR_FORMAT, "%s: '%s': the series' affine cannot be stored (%s)", func, s->source,
                       vxt_last_error());
    }
    if (st == VXT_OK)
        st = vxt__image_set_source(img, s->source);
    if (st == VXT_OK && G->notes[0] && !(img->notes = strdup(G->notes)))
        st = vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", func);
    if (st != VXT_OK || (o->flags & VXT_READ_HEADER_ONLY)) {
        if (st != VXT_OK)
            vxt_image_destroy(img);
        else
            *out = img;
        return st;
    }
    img->bytes = (size_t)bytes;
    img->block = vxt__alloc_big((size_t)bytes, 0);
    if (!img->block) {
        vxt_image_destroy(img);
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %llu bytes of voxels", func,
                         (unsigned long long)bytes);
    }
    img->data = img->block;
    /* planes in sorted order; a file decoded once for all its frames. A tilted series is gathered whole first (its
     * fill value may be its minimum), then each slice is moved and written. */
    const size_t plane_n = (size_t)G->rows * (size_t)G->cols, plane_bytes = plane_n * (size_t)c.bytes;
    const size_t out_plane = (size_t)shape[1] * (size_t)shape[2], es = vxt_dtype_size(dtype);
    unsigned char *buf = NULL;
    size_t buf_cap = 0, cached = SIZE_MAX;
    int64_t *raw = malloc((G->correct ? out_plane : plane_n) * sizeof *raw);
    int32_t *whole = G->correct ? malloc(plane_n * G->nplanes * sizeof *whole) : NULL;
    int32_t *moved = G->correct ? malloc(out_plane * sizeof *moved) : NULL;
    if (!raw || (G->correct && (!whole || !moved)))
        st = vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu slices of %zu voxels", func,
                       G->nplanes, plane_n);
    char err[256];
    int per_file = !G->correct; /* single-frame files, no tilt: read in parallel */
    for (size_t k = 0; k < G->nplanes && per_file; k++)
        per_file = !s->files[G->planes[k].file].h.enhanced;
    if (st == VXT_OK && per_file) {
        st = read_planes(s, G, &c, o, img->data, out_plane * es, dtype, to_float, func);
    }
    for (size_t k = 0; k < G->nplanes && st == VXT_OK && !per_file; k++) {
        const vxt__dcm_plane *p = &G->planes[k];
        const vxt__dcm_entry *e = &s->files[p->file];
        if (p->file != cached) {
            const int64_t frames = e->h.enhanced ? e->h.frames : 1;
            uint64_t need = 0;
            if (__builtin_mul_overflow((uint64_t)plane_bytes, (uint64_t)frames, &need) || need > SIZE_MAX / 2 ||
                (o->max_bytes && need > o->max_bytes)) {
                st = vxt__fail(NULL, o->max_bytes ? VXT_ERR_OUT_OF_MEMORY : VXT_ERR_OVERFLOW, "%s: '%s': %lld frames "
                               "(NumberOfFrames (0028,0008)) of %zu bytes are too many", func, e->path,
                               (long long)frames, plane_bytes);
                break;
            }
            if (need > buf_cap) {
                free(buf);
                buf = malloc((size_t)need);
                buf_cap = buf ? (size_t)need : 0;
                if (!buf) {
                    st = vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory for the pixel data of '%s'", func,
                                   e->path);
                    break;
                }
            }
            if (file_pixels(e, &c, buf, (size_t)need, err, sizeof err) != 0) {
                st = vxt__fail(NULL, VXT_ERR_FORMAT, "%s: '%s': %s", func, e->path, err);
                break;
            }
            cached = p->file;
        }
        const vxt__dcm_frame *f = &e->h.frame[p->frame];
        const unsigned char *src = buf + (size_t)(e->h.enhanced ? p->frame : 0) * plane_bytes;
        if (!G->correct) {
            place_plane(src, G, &c, f, (unsigned char *)img->data + k * out_plane * es, dtype, to_float, raw);
            continue;
        }
        extract_plane(src, G->rows, G->cols, &c, raw);
        for (size_t i = 0; i < plane_n; i++)
            whole[k * plane_n + i] = (int32_t)raw[i];
    }
    if (st == VXT_OK && G->correct) {
        /* outside the moved slices: the padding value, else the smallest value of the series (dcm2niix) */
        int32_t fill = (int32_t)c.pad_stored;
        if (!c.has_pad) {
            fill = whole[0];
            for (size_t i = 1; i < plane_n * G->nplanes; i++)
                fill = whole[i] < fill ? whole[i] : fill;
        }
        for (size_t k = 0; k < G->nplanes; k++) {
            const vxt__dcm_frame *f = &s->files[G->planes[k].file].h.frame[G->planes[k].frame];
            vxt__dcm_untilt_plane(G, (int64_t)k, whole + k * plane_n, moved, shape[1], fill, c.has_pad,
                                  (int32_t)c.pad_stored);
            for (size_t i = 0; i < out_plane; i++)
                raw[i] = moved[i];
            emit(raw, out_plane, &c, (unsigned char *)img->data + k * out_plane * es, dtype, to_float,
                 (float)f->slope, (float)f->inter);
        }
        char t[160];
        snprintf(t, sizeof t, "gantry tilt of %.4g degrees corrected: slices moved along their columns by up to %lld "
                 "rows, linearly (as dcm2niix's _Tilt output)", G->tilt_deg, (long long)(shape[1] - G->rows));
        size_t have = img->notes ? strlen(img->notes) : 0;
        char *nn = realloc(img->notes, have + strlen(t) + 3);
        if (!nn) {
            st = vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", func);
        } else {
            snprintf(nn + have, strlen(t) + 3, "%s%s", have ? "; " : "", t);
            img->notes = nn;
        }
    }
    free(buf);
    free(raw);
    free(whole);
    free(moved);
    if (st != VXT_OK) {
        vxt_image_destroy(img);
        return st;
    }
    *out = img;
    return VXT_OK;
}
