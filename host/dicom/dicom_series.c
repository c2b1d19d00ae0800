/* dicom_series.c - DICOM series into images: files found (a folder searched recursively, or a list), their headers
 * read (dicom_gdcm.cpp), slices grouped into series (SeriesInstanceUID, then size and orientation), each series
 * sorted along its slice normal and checked (uniform spacing, no gaps or duplicates, no gantry tilt unless asked),
 * its affine built in RAS as dcm2niix builds it, its pixel data decoded, rescaled per slice and placed.
 * docs/DICOM.md says what is read, what is refused and why. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dicom_internal.h"

/* ---- files ---------------------------------------------------------------------------------------------------- */

/* A file to scan: read at `io`, named `path` in messages (the same but for bytes from memory). */
static vxt_status add_file_as(vxt_dicom_scan *s, const char *path, const char *io)
{
    if (s->nfiles == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        vxt__dcm_entry *e = realloc(s->files, cap * sizeof *e);
        if (!e)
            return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory listing files", s->func);
        s->files = e;
        s->cap = cap;
    }
    vxt__dcm_entry *e = &s->files[s->nfiles];
    memset(e, 0, sizeof *e);
    e->path = strdup(path);
    e->io = e->path && strcmp(path, io) ? strdup(io) : e->path;
    if (!e->path || !e->io) {
        free(e->path);
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory listing files", s->func);
    }
    s->nfiles++;
    return VXT_OK;
}

static vxt_status add_file(vxt_dicom_scan *s, const char *path)
{
    return add_file_as(s, path, path);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The directories on the way down (device, inode): a link back up is not followed twice. */
typedef struct walk_dir {
    dev_t dev;
    ino_t ino;
} walk_dir;

static vxt_status walk(vxt_dicom_scan *s, const char *dir, walk_dir *up, int depth)
{
    if (depth >= VXT__DCM_MAX_DEPTH)
        return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "%s: '%s': folders nested deeper than %d levels", s->func, dir,
                         VXT__DCM_MAX_DEPTH);
    DIR *d = opendir(dir);
    if (!d)
        return vxt__fail(NULL, VXT_ERR_IO, "%s: cannot open the folder '%s': %s", s->func, dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    vxt_status st = VXT_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                st = vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory listing '%s'", s->func, dir);
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) {
            st = vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory listing '%s'", s->func, dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (st == VXT_OK && n > 1)
        qsort(names, n, sizeof *names, cmp_str); /* the same order on every file system */
    size_t dl = strlen(dir);
    for (size_t i = 0; i < n && st == VXT_OK; i++) {
        size_t pl = dl + 1 + strlen(names[i]) + 1;
        char *p = malloc(pl);
        if (!p) {
            st = vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory listing '%s'", s->func, dir);
            break;
        }
        snprintf(p, pl, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", names[i]);
        struct stat sb;
        if (stat(p, &sb) != 0) {
            s->skipped++; /* a dangling link */
        } else if (S_ISDIR(sb.st_mode)) {
            int seen = 0;
            for (int k = 0; k <= depth; k++)
                seen |= up[k].dev == sb.st_dev && up[k].ino == sb.st_ino;
            if (!seen) {
                up[depth + 1].dev = sb.st_dev;
                up[depth + 1].ino = sb.st_ino;
                st = walk(s, p, up, depth + 1);
            }
        } else if (S_ISREG(sb.st_mode)) {
            st = add_file(s, p);
        }
        free(p);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return st;
}

/* ---- geometry helpers ------------------------------------------------------------------------------------------- */

static double dot3(const double *a, const double *b)
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static void cross3(const double *a, const double *b, double *c)
{
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
}

static int same_iop(const double *a, const double *b)
{
    for (int i = 0; i < 6; i++)
        if (fabs(a[i] - b[i]) > VXT__DCM_IOP_TOL)
            return 0;
    return 1;
}

/* ---- grouping ----------------------------------------------------------------------------------------------------- */

static int cmp_plane(const void *a, const void *b)
{
    const vxt__dcm_plane *p = (const vxt__dcm_plane *)a, *q = (const vxt__dcm_plane *)b;
    if (p->key != q->key)
        return p->key < q->key ? -1 : 1;
    /* ties (duplicates): a fixed order, for messages and for the one kept */
    if (p->instance != q->instance)
        return p->instance < q->instance ? -1 : 1;
    if (p->file != q->file)
        return p->file < q->file ? -1 : 1;
    return p->frame < q->frame ? -1 : p->frame > q->frame;
}

/* The group a plane of file f belongs to (created when new). */
static vxt__dcm_group *group_of(vxt_dicom_scan *s, const vxt__dcm_entry *e, size_t f, const vxt__dcm_frame *fr)
{
    for (size_t g = 0; g < s->ngroups; g++) {
        vxt__dcm_group *G = &s->groups[g];
        const vxt__dcm_entry *e0 = &s->files[G->first_file];
        if (strcmp(e0->h.series_uid, e->h.series_uid) != 0 || G->rows != e->h.rows || G->cols != e->h.cols)
            continue;
        if (G->has_iop != fr->has_iop || (fr->has_iop && !same_iop(G->iop, fr->iop)))
            continue;
        /* a multi-frame file is a volume of its own; classic files never join one */
        if (e->h.enhanced != e0->h.enhanced || (e->h.enhanced && G->first_file != f))
            continue;
        return G;
    }
    if (s->ngroups == s->gcap) {
        size_t cap = s->gcap ? 2 * s->gcap : 8;
        vxt__dcm_group *ng = realloc(s->groups, cap * sizeof *ng);
        if (!ng)
            return NULL;
        s->groups = ng;
        s->gcap = cap;
    }
    vxt__dcm_group *G = &s->groups[s->ngroups++];
    memset(G, 0, sizeof *G);
    G->first_file = f;
    G->rows = e->h.rows;
    G->cols = e->h.cols;
    G->has_iop = fr->has_iop;
    if (fr->has_iop)
        memcpy(G->iop, fr->iop, sizeof G->iop);
    return G;
}

static vxt_status add_plane(vxt_dicom_scan *s, vxt__dcm_group *G, size_t f, int64_t frame)
{
    if (G->nplanes == G->pcap) {
        size_t cap = G->pcap ? 2 * G->pcap : 32;
        vxt__dcm_plane *np = realloc(G->planes, cap * sizeof *np);
        if (!np)
            return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory grouping slices", s->func);
        G->planes = np;
        G->pcap = cap;
    }
    vxt__dcm_plane *p = &G->planes[G->nplanes++];
    memset(p, 0, sizeof *p);
    p->file = f;
    p->frame = frame;
    p->instance = s->files[f].h.instance_number;
    return VXT_OK;
}

static int cmp_group(const void *a, const void *b)
{
    const vxt__dcm_group *g = (const vxt__dcm_group *)a, *h = (const vxt__dcm_group *)b;
    if (g->number != h->number)
        return g->number < h->number ? -1 : 1;
    int c = strcmp(g->uid, h->uid);
    if (c)
        return c;
    return g->first_file < h->first_file ? -1 : g->first_file > h->first_file;
}

/* ---- one series: sorting and checks --------------------------------------------------------------------------- */

/* Record the first problem of a group (later ones are not kept: the first is the one to fix). */
static void problem(vxt__dcm_group *G, vxt_status st, unsigned allow, const char *fmt, ...) VXT_PRINTF(4, 5);
static void problem(vxt__dcm_group *G, vxt_status st, unsigned allow, const char *fmt, ...)
{
    if (G->status != VXT_OK)
        return;
    G->status = st;
    G->allow = allow;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(G->problem, sizeof G->problem, fmt, ap);
    va_end(ap);
    for (char *c = G->problem; *c; c++) /* one line, whatever a file name holds */
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
}

static void note(vxt__dcm_group *G, const char *fmt, ...) VXT_PRINTF(2, 3);
static void note(vxt__dcm_group *G, const char *fmt, ...)
{
    size_t n = strlen(G->notes);
    if (n + 3 >= sizeof G->notes)
        return;
    if (n)
        n += (size_t)snprintf(G->notes + n, sizeof G->notes - n, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(G->notes + n, sizeof G->notes - n, fmt, ap);
    va_end(ap);
}

static const char *base_name(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

static const vxt__dcm_frame *frame_of(const vxt_dicom_scan *s, const vxt__dcm_plane *p)
{
    return &s->files[p->file].h.frame[p->frame];
}

/* Pixel format, spacing and orientation of every plane, against the first. */
static void check_planes(const vxt_dicom_scan *s, vxt__dcm_group *G)
{
    const vxt__dcm_entry *e0 = &s->files[G->planes[0].file];
    const vxt__dcm_file *h0 = &e0->h;
    for (size_t i = 0; i < G->nplanes && G->status == VXT_OK; i++) {
        const vxt__dcm_entry *e = &s->files[G->planes[i].file];
        const vxt__dcm_file *h = &e->h;
        const vxt__dcm_frame *f = frame_of(s, &G->planes[i]);
        if (!h->has_pixels) {
            problem(G, VXT_ERR_FORMAT, 0, "'%s': no pixel data (7FE0,0010)", e->path);
            break;
        }
        if (!vxt__dcm_ts_supported(h->ts_uid)) {
            problem(G, VXT_ERR_UNSUPPORTED, 0, "'%s': transfer syntax (0002,0010) %s (%s) is not read: %s", e->path,
                    h->ts_uid[0] ? h->ts_uid : "(none)", vxt__dcm_ts_name(h->ts_uid), vxt__dcm_ts_why_not(h->ts_uid));
            break;
        }
        if (h->samples != 1) {
            problem(G, VXT_ERR_UNSUPPORTED, 0, "'%s': SamplesPerPixel (0028,0002) = %d: only single-sample "
                    "(grayscale) images are read", e->path, h->samples);
            break;
        }
        if (h->photometric[0] && strcmp(h->photometric, "MONOCHROME1") && strcmp(h->photometric, "MONOCHROME2")) {
            problem(G, VXT_ERR_UNSUPPORTED, 0, "'%s': PhotometricInterpretation (0028,0004) = %s: only MONOCHROME1 "
                    "and MONOCHROME2 are read", e->path, h->photometric);
            break;
        }
        if (h->bits_allocated != 8 && h->bits_allocated != 16 && h->bits_allocated != 32) {
            problem(G, VXT_ERR_UNSUPPORTED, 0, "'%s': BitsAllocated (0028,0100) = %d (8, 16 or 32 are read)", e->path,
                    h->bits_allocated);
            break;
        }
        if (h->bits_stored < 1 || h->bits_stored > h->bits_allocated ||
            (h->high_bit >= 0 && h->high_bit != h->bits_stored - 1)) {
            problem(G, VXT_ERR_UNSUPPORTED, 0, "'%s': BitsStored (0028,0101) = %d with HighBit (0028,0102) = %d and "
                    "BitsAllocated %d (the stored bits must be the low ones)", e->path, h->bits_stored, h->high_bit,
                    h->bits_allocated);
            break;
        }
        if (h->pixel_rep != 0 && h->pixel_rep != 1) {
            problem(G, VXT_ERR_FORMAT, 0, "'%s': PixelRepresentation (0028,0103) = %d (0 or 1)", e->path, h->pixel_rep);
            break;
        }
        if (h->rows < 1 || h->cols < 1 || h->rows > 65535 || h->cols > 65535) {
            problem(G, VXT_ERR_FORMAT, 0, "'%s': Rows (0028,0010) x Columns (0028,0011) = %lld x %lld", e->path,
                    (long long)h->rows, (long long)h->cols);
            break;
        }
        if (!h->enhanced && h->frames > 1) {
            problem(G, VXT_ERR_UNSUPPORTED, 0, "'%s': %lld frames (NumberOfFrames (0028,0008)) without per-frame "
                    "positions (PerFrameFunctionalGroupsSequence (5200,9230)): not a volume voxtile can place", e->path,
                    (long long)h->frames);
            break;
        }
        if (!h->encapsulated) { /* native pixel data must hold every sample the header declares */
            uint64_t need = 0;
            const int over = __builtin_mul_overflow((uint64_t)h->rows * (uint64_t)h->cols, (uint64_t)h->frames, &need) ||
                             __builtin_mul_overflow(need, (uint64_t)(h->bits_allocated / 8), &need);
            if (over || h->pixel_bytes < need) {
                problem(G, VXT_ERR_FORMAT, 0, "'%s': pixel data (7FE0,0010) holds %llu bytes; Rows x Columns x "
                        "NumberOfFrames x BitsAllocated/8 (0028,0010/0011/0008/0100) = %lld x %lld x %lld x %d needs "
                        "%llu", e->path, (unsigned long long)h->pixel_bytes, (long long)h->rows, (long long)h->cols,
                        (long long)h->frames, h->bits_allocated / 8, (unsigned long long)need);
                break;
            }
        }
        if (h->bits_allocated != h0->bits_allocated || h->bits_stored != h0->bits_stored ||
            h->pixel_rep != h0->pixel_rep) {
            problem(G, VXT_ERR_FORMAT, 0, "inconsistent series: '%s' has BitsAllocated/BitsStored/PixelRepresentation "
                    "(0028,0100/0101/0103) %d/%d/%d, '%s' %d/%d/%d", e0->path, h0->bits_allocated, h0->bits_stored,
                    h0->pixel_rep, e->path, h->bits_allocated, h->bits_stored, h->pixel_rep);
            break;
        }
        if (!f->has_spacing) {
            problem(G, VXT_ERR_FORMAT, 0, "'%s': no PixelSpacing (0028,0030)", e->path);
            break;
        }
        if (!(isfinite(f->spacing[0]) && isfinite(f->spacing[1]) && f->spacing[0] > 0 && f->spacing[1] > 0)) {
            problem(G, VXT_ERR_FORMAT, 0, "'%s': PixelSpacing (0028,0030) = %g\\%g (each must be finite and > 0)",
                    e->path, f->spacing[0], f->spacing[1]);
            break;
        }
        const vxt__dcm_frame *f0 = frame_of(s, &G->planes[0]);
        if (fabs(f->spacing[0] - f0->spacing[0]) > 1e-4 * f0->spacing[0] ||
            fabs(f->spacing[1] - f0->spacing[1]) > 1e-4 * f0->spacing[1]) {
            problem(G, VXT_ERR_FORMAT, 0, "inconsistent series: PixelSpacing (0028,0030) is %g\\%g in '%s', %g\\%g in "
                    "'%s'", f0->spacing[0], f0->spacing[1], e0->path, f->spacing[0], f->spacing[1], e->path);
            break;
        }
        if (!f->has_iop || !f->has_ipp) {
            if (G->nplanes > 1) {
                problem(G, VXT_ERR_FORMAT, 0, "'%s': no %s: slices cannot be placed", e->path,
                        !f->has_iop ? "ImageOrientationPatient (0020,0037)" : "ImagePositionPatient (0020,0032)");
                break;
            }
            continue;
        }
        for (int k = 0; k < 3; k++)
            if (!isfinite(f->ipp[k]) || !isfinite(f->iop[k]) || !isfinite(f->iop[k + 3])) {
                problem(G, VXT_ERR_FORMAT, 0, "'%s': ImagePositionPatient (0020,0032) or ImageOrientationPatient "
                        "(0020,0037) is not finite", e->path);
                break;
            }
        const double *r = f->iop, *c = f->iop + 3;
        if (fabs(dot3(r, r) - 1.0) > 1e-2 || fabs(dot3(c, c) - 1.0) > 1e-2 || fabs(dot3(r, c)) > 1e-2)
            problem(G, VXT_ERR_FORMAT, 0, "'%s': ImageOrientationPatient (0020,0037) = %g\\%g\\%g\\%g\\%g\\%g: not two "
                    "orthogonal unit vectors", e->path, r[0], r[1], r[2], c[0], c[1], c[2]);
    }
}

/* Where the sorted planes are: the step between slices as a vector, its part off the normal (gantry tilt, or
 * another shear), the spacing, and the affine (corrected for a tilt only when that is asked for). */
static void place(const vxt_dicom_scan *s, vxt__dcm_group *G, const double *r, const double *c, const double *n)
{
    const vxt__dcm_frame *f0 = frame_of(s, &G->planes[0]);
    const vxt__dcm_entry *e0 = &s->files[G->planes[0].file];
    const size_t m = G->nplanes;
    double sv[3] = {0, 0, 0};
    if (m > 1) {
        const vxt__dcm_frame *fa = frame_of(s, &G->planes[0]), *fb = frame_of(s, &G->planes[m - 1]);
        for (int k = 0; k < 3; k++)
            sv[k] = (fb->ipp[k] - fa->ipp[k]) / (double)(m - 1);
    } else {
        double t = e0->h.thickness > 0 && isfinite(e0->h.thickness) ? e0->h.thickness : 1.0;
        for (int k = 0; k < 3; k++)
            sv[k] = n[k] * t;
    }
    double along = dot3(sv, n), off[3];
    for (int k = 0; k < 3; k++)
        off[k] = sv[k] - along * n[k];
    double shear = sqrt(dot3(off, off));
    G->tilt_deg = atan2(shear, fabs(along)) * (180.0 / 3.14159265358979323846);
    G->tilted = m > 1 && shear > VXT__DCM_TILT_TOL * fabs(along);
    G->correct = G->tilted && (s->o.dicom_flags & VXT_DICOM_CORRECT_TILT);
    G->spacing[0] = m > 1 ? fabs(along) : sqrt(dot3(sv, sv));
    G->spacing[1] = f0->spacing[0];
    G->spacing[2] = f0->spacing[1];
    memcpy(G->step, sv, sizeof sv);
    memcpy(G->normal, n, sizeof G->normal);
    if (f0->has_ipp)
        memcpy(G->origin, frame_of(s, &G->planes[0])->ipp, sizeof G->origin);
    memcpy(G->r, r, sizeof G->r);
    memcpy(G->c, c, sizeof G->c);
    vxt__dcm_affine(G);
}

/* Sort along the normal; find duplicates, gaps, uneven spacing and tilt; build the affine (RAS). */
static void analyse(const vxt_dicom_scan *s, vxt__dcm_group *G)
{
    const vxt__dcm_frame *f0 = frame_of(s, &G->planes[0]);
    const vxt__dcm_entry *e0 = &s->files[G->planes[0].file];
    G->number = e0->h.series_number;
    snprintf(G->uid, sizeof G->uid, "%s", e0->h.series_uid);
    snprintf(G->description, sizeof G->description, "%s", e0->h.description);
    snprintf(G->modality, sizeof G->modality, "%s", e0->h.modality);
    for (size_t i = 0; i < G->nplanes; i++) { /* the transfer syntaxes, each once */
        const char *ts = s->files[G->planes[i].file].h.ts_uid;
        int seen = 0;
        for (int k = 0; k < G->nts; k++)
            seen |= !strcmp(G->ts[k], ts);
        if (!seen && G->nts < VXT__DCM_MAX_TS)
            snprintf(G->ts[G->nts++], sizeof G->ts[0], "%s", ts);
    }
    check_planes(s, G);
    if (G->status != VXT_OK)
        return;
    double r[3] = {1, 0, 0}, c[3] = {0, 1, 0}, n[3];
    if (f0->has_iop) {
        memcpy(r, f0->iop, sizeof r);
        memcpy(c, f0->iop + 3, sizeof c);
    }
    cross3(r, c, n);
    for (size_t i = 0; i < G->nplanes; i++) {
        const vxt__dcm_frame *f = frame_of(s, &G->planes[i]);
        G->planes[i].key = f->has_ipp ? dot3(f->ipp, n) : 0.0;
    }
    qsort(G->planes, G->nplanes, sizeof *G->planes, cmp_plane);
    place(s, G, r, c, n); /* also for a series refused below: the list shows where it is */
    const size_t np = G->nplanes;
    /* duplicates: planes at one position */
    double span = G->planes[np - 1].key - G->planes[0].key;
    const double dup_tol = VXT__DCM_DUP_TOL;
    size_t ndup = 0, first_dup = 0;
    for (size_t i = 1; i < np; i++)
        if (G->planes[i].key - G->planes[i - 1].key <= dup_tol) {
            if (!ndup)
                first_dup = i;
            ndup++;
        }
    if (np > 1 && span <= dup_tol) {
        problem(G, VXT_ERR_FORMAT, 0, "slice spacing: all %zu slices of the series are at one position (%g mm along "
                "the normal): ImagePositionPatient (0020,0032)", np, G->planes[0].key);
        return;
    }
    if (ndup) {
        const vxt__dcm_plane *a = &G->planes[first_dup - 1], *b = &G->planes[first_dup];
        if (!(s->o.dicom_flags & VXT_DICOM_DROP_DUPLICATES)) {
            problem(G, VXT_ERR_FORMAT, VXT_DICOM_DROP_DUPLICATES, "%zu duplicate slice%s: '%s' and '%s' are both at "
                    "%.4f mm along the normal (ImagePositionPatient (0020,0032)); VXT_DICOM_DROP_DUPLICATES "
                    "(voxtile: --drop-duplicates) keeps one", ndup, ndup == 1 ? "" : "s",
                    s->files[a->file].path, s->files[b->file].path, a->key);
            return;
        }
        /* keep the first of each position (lowest InstanceNumber, then the file found first) */
        size_t w = 1;
        for (size_t i = 1; i < np; i++)
            if (G->planes[i].key - G->planes[w - 1].key > dup_tol)
                G->planes[w++] = G->planes[i];
        G->nplanes = w;
        place(s, G, r, c, n);
        note(G, "%zu duplicate slice%s dropped (the first at %.4f mm kept: '%s')", ndup, ndup == 1 ? "" : "s", a->key,
             base_name(s->files[a->file].path));
    }
    const size_t nk = G->nplanes;
    double step = nk > 1 ? (G->planes[nk - 1].key - G->planes[0].key) / (double)(nk - 1) : 0.0;
    /* uniform spacing: every step within 1% of the mean (and at least 0.01 mm: positions are written with
     * a few decimals) */
    if (nk > 2) {
        double dmin = INFINITY, dmax = 0.0;
        size_t at = 0;
        for (size_t i = 1; i < nk; i++) {
            double d = G->planes[i].key - G->planes[i - 1].key;
            if (d < dmin)
                dmin = d;
            if (d > dmax) {
                dmax = d;
                at = i;
            }
        }
        const double tol = fmax(VXT__DCM_STEP_TOL_MM, VXT__DCM_STEP_TOL_REL * step);
        if (dmax - dmin > tol) {
            const int gap = dmax > 1.5 * dmin;
            if (!(s->o.dicom_flags & VXT_DICOM_KEEP_IRREGULAR)) {
                if (gap)
                    problem(G, VXT_ERR_FORMAT, VXT_DICOM_KEEP_IRREGULAR, "slice spacing: a gap of %.4g mm between '%s' "
                            "and '%s' where the other slices are %.4g mm apart (a slice missing?), from "
                            "ImagePositionPatient (0020,0032); VXT_DICOM_KEEP_IRREGULAR (voxtile: --keep-irregular) "
                            "keeps it", dmax, s->files[G->planes[at - 1].file].path,
                            s->files[G->planes[at].file].path, dmin);
                else
                    problem(G, VXT_ERR_FORMAT, VXT_DICOM_KEEP_IRREGULAR, "slice spacing varies from %.4g to %.4g mm "
                            "(ImagePositionPatient (0020,0032)); VXT_DICOM_KEEP_IRREGULAR (voxtile: --keep-irregular) "
                            "keeps it", dmin, dmax);
                return;
            }
            note(G, "slice spacing %s (%.4g to %.4g mm): kept, placed %.6g mm apart (first to last)",
                 gap ? "has a gap" : "varies", dmin, dmax, step);
        }
    }
    if (G->tilted && !(s->o.dicom_flags & VXT_DICOM_CORRECT_TILT)) {
        char tag[64] = "";
        if (e0->h.has_tilt)
            snprintf(tag, sizeof tag, "; GantryDetectorTilt (0018,1120) = %g", e0->h.tilt);
        problem(G, VXT_ERR_UNSUPPORTED, VXT_DICOM_CORRECT_TILT, "gantry tilt of %.3g degrees (slices sheared along "
                "their planes%s): refused, the grid is not orthogonal; VXT_DICOM_CORRECT_TILT (voxtile: --tilt "
                "correct) resamples it as dcm2niix does", G->tilt_deg, tag);
        return;
    }
    if (G->tilted && e0->h.bits_allocated > 16) {
        problem(G, VXT_ERR_UNSUPPORTED, 0, "gantry tilt of %.3g degrees in a series of %d-bit values: corrected only "
                "for 8- and 16-bit values (BitsAllocated (0028,0100))", G->tilt_deg, e0->h.bits_allocated);
        return;
    }
    /* values: the rescale of every plane, one for all or per slice */
    const size_t m = G->nplanes;
    G->rescale_varies = 0;
    for (size_t i = 1; i < m; i++) {
        const vxt__dcm_frame *f = frame_of(s, &G->planes[i]);
        if (f->slope != f0->slope || f->inter != f0->inter)
            G->rescale_varies = 1;
    }
    for (size_t i = 0; i < m; i++) {
        const vxt__dcm_frame *f = frame_of(s, &G->planes[i]);
        if (!isfinite(f->slope) || f->slope == 0.0 || !isfinite(f->inter)) {
            problem(G, VXT_ERR_FORMAT, 0, "'%s': RescaleSlope (0028,1053) = %g, RescaleIntercept (0028,1052) = %g "
                    "(slope finite and non-zero, intercept finite)", s->files[G->planes[i].file].path, f->slope,
                    f->inter);
            return;
        }
    }
}

/* ---- scan --------------------------------------------------------------------------------------------------------- */

static vxt_status scan_files(vxt_dicom_scan *s, int from_folder)
{
    char err[256];
    for (size_t f = 0; f < s->nfiles; f++) {
        vxt__dcm_entry *e = &s->files[f];
        /* lengths first: GDCM allocates what an element declares before it reads it */
        vxt__dcm_pixels px;
        int chk = vxt__dcm_check_file(e->io, &px, err, sizeof err);
        int r = chk == 1 ? VXT__DCM_NOT_DICOM : chk < 0 ? VXT__DCM_ERROR
                                                        : vxt__dcm_scan(e->io, &e->h, err, sizeof err);
        e->px = px;
        if (r == VXT__DCM_OK) { /* the pixel data as the walk found it (GDCM's header read skips it) */
            e->h.has_pixels = px.present;
            e->h.encapsulated = px.encapsulated;
            e->h.pixel_bytes = px.bytes;
        }
        if (r == VXT__DCM_NOT_DICOM) {
            if (!from_folder)
                return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: '%s' is not a DICOM file (no \"DICM\" after the preamble, "
                                 "no first element in group 0002 or 0008)", s->func, e->path);
            e->skip = 1;
            s->skipped++;
            continue;
        }
        if (r != VXT__DCM_OK) {
            /* a file that says it is DICOM but cannot be read: its series is unknown, so every read fails on it
             * (it could be a slice of the one asked for) */
            e->skip = 1;
            if (!s->bad)
                s->bad = e;
            snprintf(e->error, sizeof e->error, "%s", err);
            continue;
        }
        if (!e->h.has_image) {
            e->skip = 1; /* a report, a structure set, a directory (DICOMDIR): not an image */
            s->other++;
            continue;
        }
    }
    /* group the planes */
    for (size_t f = 0; f < s->nfiles; f++) {
        vxt__dcm_entry *e = &s->files[f];
        if (e->skip)
            continue;
        int64_t nf = e->h.enhanced ? e->h.frames : 1;
        for (int64_t k = 0; k < nf; k++) {
            vxt__dcm_group *G = group_of(s, e, f, &e->h.frame[k]);
            if (!G)
                return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory grouping slices", s->func);
            vxt_status st = add_plane(s, G, f, k);
            if (st != VXT_OK)
                return st;
        }
    }
    for (size_t g = 0; g < s->ngroups; g++)
        analyse(s, &s->groups[g]);
    if (s->ngroups > 1)
        qsort(s->groups, s->ngroups, sizeof *s->groups, cmp_group);
    /* parts of one SeriesInstanceUID (sizes or orientations differ) */
    for (size_t g = 0; g < s->ngroups; g++) {
        int parts = 0, part = 0;
        for (size_t h = 0; h < s->ngroups; h++)
            if (!strcmp(s->groups[h].uid, s->groups[g].uid)) {
                parts++;
                if (h < g)
                    part++;
            }
        s->groups[g].part = part + 1;
        s->groups[g].parts = parts;
    }
    return VXT_OK;
}

static vxt_status scan_new(const char *func, const vxt_read_options *opts, vxt_dicom_scan **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    vxt_dicom_scan *s = calloc(1, sizeof *s);
    if (!s)
        return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", func);
    s->func = func;
    vxt_status st = vxt__read_options_check(func, opts, &s->o);
    if (st != VXT_OK) {
        free(s);
        return st;
    }
    s->o.dicom_series = NULL; /* not kept: the caller's string */
    *out = s;
    return VXT_OK;
}

vxt_status vxt__dicom_scan_path(const char *func, const char *path, const vxt_read_options *opts,
                                vxt_dicom_scan **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, path);
    vxt_dicom_scan *s;
    vxt_status st = scan_new(func, opts, &s);
    if (st != VXT_OK)
        return st;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        st = vxt__fail(NULL, VXT_ERR_IO, "%s: cannot read '%s': %s", func, path, strerror(errno));
    } else if (S_ISDIR(sb.st_mode)) {
        walk_dir up[VXT__DCM_MAX_DEPTH + 1];
        up[0].dev = sb.st_dev;
        up[0].ino = sb.st_ino;
        s->folder = 1;
        st = walk(s, path, up, 0);
        if (st == VXT_OK)
            st = scan_files(s, 1);
    } else {
        st = add_file(s, path);
        if (st == VXT_OK)
            st = scan_files(s, 0);
    }
    if (st == VXT_OK && !(s->source = strdup(path)))
        st = vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", func);
    if (st == VXT_OK && s->ngroups == 0 && !s->bad)
        st = vxt__fail(NULL, VXT_ERR_FORMAT, "%s: '%s' holds no DICOM image (%zu file%s: %zu not DICOM, %zu DICOM "
                       "objects without pixel data)", func, path, s->nfiles, s->nfiles == 1 ? "" : "s", s->skipped,
                       s->other);
    if (st != VXT_OK) {
        vxt_dicom_scan_destroy(s);
        return st;
    }
    *out = s;
    return VXT_OK;
}

vxt_status vxt_dicom_scan_path(const char *path, const vxt_read_options *opts, vxt_dicom_scan **out)
{
    if (!vxt__dcm_available()) {
        if (out)
            *out = NULL;
        return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "%s: this voxtile was built without GDCM, so it cannot read "
                         "DICOM (install libgdcm-dev and rebuild)", __func__);
    }
    return vxt__dicom_scan_path(__func__, path, opts, out);
}

vxt_status vxt_dicom_scan_files(const char *const *paths, size_t count, const vxt_read_options *opts,
                                vxt_dicom_scan **out)
{
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    VXT_CHECK_NULL(NULL, paths);
    if (count == 0)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: count = 0 (no files)", __func__);
    for (size_t i = 0; i < count; i++)
        if (!paths[i])
            return vxt__fail(NULL, VXT_ERR_NULL, "%s: paths[%zu] is NULL", __func__, i);
    if (!vxt__dcm_available())
        return vxt__fail(NULL, VXT_ERR_UNSUPPORTED, "%s: this voxtile was built without GDCM, so it cannot read "
                         "DICOM (install libgdcm-dev and rebuild)", __func__);
    vxt_dicom_scan *s;
    vxt_status st = scan_new(__func__, opts, &s);
    for (size_t i = 0; st == VXT_OK && i < count; i++)
        st = add_file(s, paths[i]);
    if (st == VXT_OK)
        st = scan_files(s, 0);
    if (st == VXT_OK) {
        char b[64];
        snprintf(b, sizeof b, "%zu files", count);
        if (!(s->source = strdup(count == 1 ? paths[0] : b)))
            st = vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", __func__);
    }
    if (st == VXT_OK && s->ngroups == 0 && !s->bad)
        st = vxt__fail(NULL, VXT_ERR_FORMAT, "%s: no DICOM image among the %zu files", __func__, count);
    if (st != VXT_OK) {
        vxt_dicom_scan_destroy(s);
        return st;
    }
    *out = s;
    return VXT_OK;
}

vxt_status vxt__dicom_scan_memory(const void *data, size_t size, const vxt_read_options *opts, vxt_dicom_scan **out,
                                  int *fd)
{
    static const char func[] = "vxt_dicom_read_memory";
    VXT_CHECK_NULL(NULL, out);
    *out = NULL;
    *fd = -1;
    VXT_CHECK_NULL(NULL, data);
    /* the bytes as a file of their own (unnamed, in memory): GDCM then reads them as it reads any file, and the
     * same checks apply (a truncated value is seen by seeking past the end) */
    int f = memfd_create("vxt-dicom", MFD_CLOEXEC);
    if (f < 0)
        return vxt__fail(NULL, VXT_ERR_IO, "%s: memfd_create: %s", func, strerror(errno));
    for (size_t done = 0; done < size;) {
        ssize_t w = write(f, (const char *)data + done, size - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(f);
            return vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: cannot hold %zu bytes: %s", func, size, strerror(e));
        }
        done += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", f);
    vxt_dicom_scan *s;
    vxt_status st = scan_new(func, opts, &s);
    if (st == VXT_OK) {
        st = add_file_as(s, "memory", path);
        if (st == VXT_OK)
            st = scan_files(s, 0);
        if (st == VXT_OK && !(s->source = strdup("memory")))
            st = vxt__fail(NULL, VXT_ERR_OUT_OF_MEMORY, "%s: out of memory", func);
        if (st == VXT_OK && s->ngroups == 0 && !s->bad)
            st = vxt__fail(NULL, VXT_ERR_FORMAT, "%s: no DICOM image in memory", func);
        if (st != VXT_OK)
            vxt_dicom_scan_destroy(s);
    }
    if (st != VXT_OK) {
        close(f);
        return st;
    }
    *fd = f;
    *out = s;
    return VXT_OK;
}

void vxt_dicom_scan_destroy(vxt_dicom_scan *s)
{
    if (!s)
        return;
    for (size_t f = 0; f < s->nfiles; f++) {
        if (s->files[f].io != s->files[f].path)
            free(s->files[f].io);
        free(s->files[f].path);
        vxt__dcm_file_free(&s->files[f].h);
    }
    for (size_t g = 0; g < s->ngroups; g++)
        free(s->groups[g].planes);
    free(s->files);
    free(s->groups);
    free(s->source);
    free(s);
}

int64_t vxt_dicom_scan_count(const vxt_dicom_scan *s)
{
    return s ? (int64_t)s->ngroups : 0;
}

vxt_status vxt_dicom_scan_get(const vxt_dicom_scan *s, int64_t index, vxt_dicom_series *out)
{
    VXT_CHECK_NULL(NULL, s);
    VXT_CHECK_NULL(NULL, out);
    vxt_status st = vxt__check_out_struct(NULL, __func__, "vxt_dicom_series", out->struct_size, sizeof *out);
    if (st != VXT_OK)
        return st;
    if (index < 1 || index > (int64_t)s->ngroups)
        return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: index = %lld (the series are numbered 1 to %zu)",
                         __func__, (long long)index, s->ngroups);
    const vxt__dcm_group *G = &s->groups[index - 1];
    vxt_dicom_series r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.index = index;
    snprintf(r.uid, sizeof r.uid, "%s", G->uid);
    r.part = G->part;
    r.parts = G->parts;
    r.number = G->number;
    snprintf(r.description, sizeof r.description, "%s", G->description);
    snprintf(r.modality, sizeof r.modality, "%s", G->modality);
    size_t files = 0;
    for (size_t i = 0; i < G->nplanes; i++)
        files += i == 0 || G->planes[i].file != G->planes[i - 1].file;
    r.files = (int64_t)files;
    r.enhanced = s->files[G->first_file].h.enhanced;
    r.shape[0] = (int64_t)G->nplanes;
    r.shape[1] = G->rows;
    r.shape[2] = G->cols;
    memcpy(r.spacing, G->spacing, sizeof r.spacing);
    if (G->status == VXT_OK || G->affine_ok)
        memcpy(r.affine, G->affine, sizeof r.affine);
    snprintf(r.orientation, sizeof r.orientation, "%s", G->orientation[0] ? G->orientation : "???");
    r.tilt_degrees = G->tilted ? G->tilt_deg : 0.0;
    size_t n = 0;
    for (int k = 0; k < G->nts && n < sizeof r.transfer_syntaxes; k++)
        n += (size_t)snprintf(r.transfer_syntaxes + n, n < sizeof r.transfer_syntaxes ? sizeof r.transfer_syntaxes - n : 0,
                              "%s%s", k ? "; " : "", vxt__dcm_ts_name(G->ts[k]));
    r.readable = G->status == VXT_OK && !s->bad;
    snprintf(r.problem, sizeof r.problem, "%s", G->status != VXT_OK ? G->problem : s->bad ? s->bad->error : "");
    snprintf(r.notes, sizeof r.notes, "%s", G->notes);
    vxt__copy_out_struct(out, &r, out->struct_size, sizeof r);
    return VXT_OK;
}

int64_t vxt_dicom_scan_skipped(const vxt_dicom_scan *s)
{
    return s ? (int64_t)(s->skipped + s->other) : 0;
}

/* ---- choosing a series ------------------------------------------------------------------------------------------ */

static void list_series(const vxt_dicom_scan *s, char *b, size_t n)
{
    size_t k = 0;
    b[0] = '\0';
    for (size_t g = 0; g < s->ngroups && k < n; g++) {
        const vxt__dcm_group *G = &s->groups[g];
        k += (size_t)snprintf(b + k, n - k, "%s%zu: %s%s%s (%zu x %lld x %lld)", g ? "; " : "", g + 1, G->uid,
                              G->description[0] ? " " : "", G->description, G->nplanes, (long long)G->rows,
                              (long long)G->cols);
    }
}

vxt_status vxt__dicom_choose(const vxt_dicom_scan *s, const char *series, const char *func, size_t *index)
{
    char list[700];
    if (series && series[0]) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(series, &end, 10);
        if (end && *end == '\0' && errno == 0 && strchr(series, '.') == NULL) {
            if (v < 1 || v > (long long)s->ngroups)
                return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: series %lld: '%s' holds %zu series, numbered "
                                 "from 1", func, v, s->source, s->ngroups);
            *index = (size_t)(v - 1);
            return VXT_OK;
        }
        size_t found = SIZE_MAX, count = 0;
        for (size_t g = 0; g < s->ngroups; g++)
            if (!strcmp(s->groups[g].uid, series)) {
                if (found == SIZE_MAX)
                    found = g;
                count++;
            }
        if (count == 0) {
            list_series(s, list, sizeof list);
            return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: no series %s in '%s'; it holds %s", func, series,
                             s->source, list);
        }
        if (count > 1) {
            return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: inconsistent series %s: it mixes %s: its slices make %zu "
                             "volumes; choose one by its number (voxtile header lists them)", func, series,
                             vxt__dcm_mix_kind(s, found), count);
        }
        *index = found;
        return VXT_OK;
    }
    if (s->ngroups == 1) {
        *index = 0;
        return VXT_OK;
    }
    /* one SeriesInstanceUID split by size or orientation: say so, the series is inconsistent */
    int one_uid = s->ngroups > 0;
    for (size_t g = 1; g < s->ngroups; g++)
        one_uid &= !strcmp(s->groups[g].uid, s->groups[0].uid);
    list_series(s, list, sizeof list);
    if (one_uid)
        return vxt__fail(NULL, VXT_ERR_FORMAT, "%s: inconsistent series %s in '%s': it mixes %s (%s); choose one part "
                         "by its number to read it", func, s->groups[0].uid, s->source, vxt__dcm_mix_kind(s, 0), list);
    return vxt__fail(NULL, VXT_ERR_INVALID_ARGUMENT, "%s: '%s' holds %zu series; choose one (VXT read option "
                     "dicom_series, voxtile --series UID|NUMBER): %s", func, s->source, s->ngroups, list);
}

const char *vxt__dcm_mix_kind(const vxt_dicom_scan *s, size_t g0)
{
    int sizes = 0, orient = 0;
    const vxt__dcm_group *a = &s->groups[g0];
    for (size_t g = 0; g < s->ngroups; g++) {
        const vxt__dcm_group *b = &s->groups[g];
        if (strcmp(a->uid, b->uid))
            continue;
        sizes |= a->rows != b->rows || a->cols != b->cols;
        orient |= a->has_iop != b->has_iop || (a->has_iop && !same_iop(a->iop, b->iop));
    }
    return sizes && orient ? "image sizes (Rows, Columns) and orientations (ImageOrientationPatient (0020,0037))"
           : sizes         ? "image sizes: Rows (0028,0010) x Columns (0028,0011)"
           : orient        ? "orientations: ImageOrientationPatient (0020,0037)"
                           : "multi-frame files (each its own volume)";
}
