/* picture.c - PNG pictures for `voxtile validate` and `voxtile run --picture`: the three mid-slices (axial,
 * coronal, sagittal) of a volume side by side, scaled to their physical proportions, in grey levels (1st to
 * 99th percentile of the slices), optionally with a label map drawn over them, or a difference map (voxels
 * that differ in red). Written with libpng into a staged file (vxt_output_set: a temporary, moved into place). */
#include <errno.h>
#include <png.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* A view: the slice of a (nz, ny, nx) volume through the middle, perpendicular to axis `axis`, displayed with
 * rows and columns; physical size rows*sr by cols*sc. */
typedef struct view {
    int axis;
    int64_t rows, cols;
    double sr, sc; /* mm per row / column */
} view;

static void make_views(const int64_t shape[3], const double spacing[3], view v[3])
{
    /* axial: z fixed, rows y, cols x; coronal: y fixed, rows z (top = high z), cols x; sagittal: x fixed, rows z,
     * cols y */
    v[0] = (view){0, shape[1], shape[2], spacing[1], spacing[2]};
    v[1] = (view){1, shape[0], shape[2], spacing[0], spacing[2]};
    v[2] = (view){2, shape[0], shape[1], spacing[0], spacing[1]};
}

static size_t voxel_index(const int64_t shape[3], const view *v, int64_t r, int64_t c)
{
    int64_t z, y, x;
    switch (v->axis) {
    case 0:
        z = shape[0] / 2, y = r, x = c;
        break;
    case 1:
        z = shape[0] - 1 - r, y = shape[1] / 2, x = c;
        break;
    default:
        z = shape[0] - 1 - r, y = c, x = shape[2] / 2;
        break;
    }
    return (size_t)((z * shape[1] + y) * shape[2] + x);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Colours of labels 1..; 0 is transparent. */
static const unsigned char palette[12][3] = {{230, 25, 75},  {60, 180, 75},   {255, 225, 25}, {0, 130, 200},
                                             {245, 130, 48}, {145, 30, 180},  {70, 240, 240}, {240, 50, 230},
                                             {210, 245, 60}, {250, 190, 212}, {0, 128, 128},  {170, 110, 40}};

/* Grey levels from the 1st..99th percentile of the three slices: [*lo, *hi]. 0 when out of memory. */
static int grey_range(const picture_layers *p, const view v[3], float *lo, float *hi)
{
    *lo = 0;
    *hi = 1;
    if (!p->image)
        return 1;
    size_t n = (size_t)(v[0].rows * v[0].cols + v[1].rows * v[1].cols + v[2].rows * v[2].cols), k = 0;
    float *vals = malloc(n * sizeof(float));
    if (!vals)
        return 0;
    for (int i = 0; i < 3; i++)
        for (int64_t r = 0; r < v[i].rows; r++)
            for (int64_t c = 0; c < v[i].cols; c++)
                vals[k++] = p->image[voxel_index(p->shape, &v[i], r, c)];
    qsort(vals, n, sizeof(float), cmp_float);
    *lo = vals[n / 100];
    *hi = vals[n - 1 - n / 100];
    if (!(*hi > *lo))
        *hi = *lo + 1;
    free(vals);
    return 1;
}

/* A projected difference map: per view, whether any voxel along its axis is set. 0 when out of memory. */
static int project_diff(const picture_layers *p, unsigned char *proj[3])
{
    const int64_t nz = p->shape[0], ny = p->shape[1], nx = p->shape[2];
    proj[0] = calloc((size_t)(ny * nx), 1);
    proj[1] = calloc((size_t)(nz * nx), 1);
    proj[2] = calloc((size_t)(nz * ny), 1);
    if (!proj[0] || !proj[1] || !proj[2])
        return 0;
    for (int64_t z = 0; z < nz; z++)
        for (int64_t y = 0; y < ny; y++)
            for (int64_t x = 0; x < nx; x++)
                if (p->diff[(size_t)((z * ny + y) * nx + x)])
                    proj[0][y * nx + x] = proj[1][z * nx + x] = proj[2][z * ny + y] = 1;
    return 1;
}

/* The picture: pixels of each view side by side (4 black pixels between), RGB. */
typedef struct canvas {
    unsigned char *rgb;
    int64_t width, height, pw[3], ph[3];
} canvas;

static void layout(const picture_layers *p, const view v[3], canvas *cv)
{
    /* display scale: the finest spacing becomes one pixel, at most 1024 pixels per view side */
    double mm = p->spacing[0];
    for (int a = 1; a < 3; a++)
        if (p->spacing[a] < mm)
            mm = p->spacing[a];
    cv->width = cv->height = 0;
    for (int i = 0; i < 3; i++) {
        double w = (double)v[i].cols * v[i].sc / mm, h = (double)v[i].rows * v[i].sr / mm;
        double f = w > 1024 || h > 1024 ? 1024.0 / (w > h ? w : h) : 1.0;
        cv->pw[i] = (int64_t)(w * f + 0.5) < 1 ? 1 : (int64_t)(w * f + 0.5);
        cv->ph[i] = (int64_t)(h * f + 0.5) < 1 ? 1 : (int64_t)(h * f + 0.5);
        cv->width += cv->pw[i] + (i ? 4 : 0);
        if (cv->ph[i] > cv->height)
            cv->height = cv->ph[i];
    }
}

static void render(const picture_layers *p, const view v[3], float lo, float hi, unsigned char *const proj[3],
                   canvas *cv)
{
    int64_t x0 = 0;
    for (int i = 0; i < 3; i++) {
        for (int64_t py = 0; py < cv->ph[i]; py++)
            for (int64_t px = 0; px < cv->pw[i]; px++) {
                int64_t r = py * v[i].rows / cv->ph[i], c = px * v[i].cols / cv->pw[i];
                size_t vi = voxel_index(p->shape, &v[i], r, c);
                double g = p->image ? ((double)p->image[vi] - lo) / (hi - lo) : 0.0;
                g = g < 0 ? 0 : g > 1 ? 1 : g;
                double rgb[3] = {g * 255, g * 255, g * 255};
                int label = -1;
                if (p->labels)
                    label = p->label_u16 ? ((const uint16_t *)p->labels)[vi] : ((const uint8_t *)p->labels)[vi];
                if (label > 0)
                    for (int ch = 0; ch < 3; ch++)
                        rgb[ch] = 0.45 * rgb[ch] + 0.55 * palette[(label - 1) % 12][ch];
                int red = p->diff && p->diff[vi];
                if (proj[0]) /* rows and columns of view i: (y, x), (z from the top, x), (z from the top, y) */
                    red = proj[i][i == 0 ? r * v[i].cols + c : (v[i].rows - 1 - r) * v[i].cols + c];
                if (red) {
                    rgb[0] = 255;
                    rgb[1] = rgb[2] = 0;
                }
                unsigned char *o = cv->rgb + ((size_t)py * (size_t)cv->width + (size_t)(x0 + px)) * 3;
                for (int ch = 0; ch < 3; ch++)
                    o[ch] = (unsigned char)(rgb[ch] + 0.5);
            }
        x0 += cv->pw[i] + 4;
    }
}

/* The PNG bytes into f. 1 on success. */
static int png_out(FILE *f, const canvas *cv, const char *title)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *rows = malloc((size_t)cv->height * sizeof *rows);
    int ok = png && info && rows;
    if (ok && setjmp(png_jmpbuf(png)) == 0) {
        png_init_io(png, f);
        png_set_IHDR(png, info, (png_uint_32)cv->width, (png_uint_32)cv->height, 8, PNG_COLOR_TYPE_RGB,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_text text = {0};
        text.compression = PNG_TEXT_COMPRESSION_NONE;
        text.key = (png_charp) "Description";
        text.text = (png_charp)(title ? title : "voxtile");
        png_set_text(png, info, &text, 1);
        png_write_info(png, info);
        for (int64_t r = 0; r < cv->height; r++)
            rows[r] = cv->rgb + (size_t)r * (size_t)cv->width * 3;
        png_write_image(png, rows);
        png_write_end(png, NULL);
    } else {
        ok = 0;
    }
    png_destroy_write_struct(&png, &info);
    free(rows);
    return ok;
}

typedef struct png_job {
    const canvas *cv;
    const char *title;
} png_job;

/* vxt_output_write_fn: the PNG into the staged file's descriptor (a stream over a duplicate of it). */
static int png_to_fd(void *user, int fd)
{
    const png_job *j = (const png_job *)user;
    int d = dup(fd);
    FILE *f = d >= 0 ? fdopen(d, "wb") : NULL;
    if (!f) {
        if (d >= 0)
            close(d);
        return 1;
    }
    int ok = png_out(f, j->cv, j->title);
    ok = fflush(f) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : 1;
}

/* Write the canvas into `set` (a staged file, moved into place with the set's other files), or, without a set, on
 * its own (a set of one). An exit status. */
static int write_png(const char *path, const canvas *cv, const char *title, vxt_output_set *set, char *err, size_t errn)
{
    vxt_output_set *own = NULL;
    vxt_status st = set ? VXT_OK : vxt_output_set_create(&own);
    png_job j = {cv, title};
    if (st == VXT_OK)
        st = vxt_output_set_add_file(set ? set : own, path, png_to_fd, &j);
    if (st == VXT_OK && own)
        st = vxt_output_set_commit(own);
    vxt_output_set_destroy(own);
    if (st != VXT_OK) {
        snprintf(err, errn, "%s", vxt_last_error());
        return st == VXT_ERR_OUT_OF_MEMORY ? VXT_EXIT_MEMORY : VXT_EXIT_OUTPUT;
    }
    return VXT_EXIT_OK;
}

static int write_picture(const char *path, const picture_layers *p, int diff_projected, vxt_output_set *set, char *err,
                         size_t errn)
{
    view v[3];
    make_views(p->shape, p->spacing, v);
    canvas cv;
    layout(p, v, &cv);
    float lo, hi;
    unsigned char *proj[3] = {NULL, NULL, NULL};
    cv.rgb = calloc((size_t)(cv.width * cv.height * 3), 1);
    int ok = cv.rgb && grey_range(p, v, &lo, &hi) && (!p->diff || !diff_projected || project_diff(p, proj));
    if (ok)
        render(p, v, lo, hi, proj, &cv);
    free(proj[0]), free(proj[1]), free(proj[2]);
    int rc = VXT_EXIT_INTERNAL;
    if (!ok)
        snprintf(err, errn, "out of memory");
    else
        rc = write_png(path, &cv, p->title, set, err, errn);
    free(cv.rgb);
    return rc;
}

int picture_write(const char *path, const picture_layers *p, vxt_output_set *set, char *err, size_t errn)
{
    return write_picture(path, p, 0, set, err, errn);
}

int picture_write_projected(const char *path, const picture_layers *p, vxt_output_set *set, char *err, size_t errn)
{
    return write_picture(path, p, 1, set, err, errn);
}
