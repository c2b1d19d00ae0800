/* points_csv.c - the points file of `voxtile patches`: a CSV of positions, read strictly (every malformed line is an
 * error naming the file, the line and the field) and leniently in what does not matter (an optional header, its
 * extra columns, blank lines, # comments, spaces around fields, quoting, a UTF-8 byte order mark, CRLF). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "points_csv.h"

#define MAX_FIELDS 256

/* Split a line into fields in place: commas separate; a field may be quoted ("a, ""b""" is a, "b"); spaces around
 * unquoted fields are dropped. 1, or 0 for a quote that is not closed or text after a closing quote. */
static int split(char *line, char **f, int *n)
{
    char *p = line;
    *n = 0;
    for (;;) {
        if (*n == MAX_FIELDS)
            return 0;
        while (*p == ' ' || *p == '\t')
            p++;
        char sep;
        if (*p == '"') {
            char *start = ++p, *w = p;
            for (;;) {
                if (!*p)
                    return 0;
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p && *p != ',')
                return 0;
            sep = *p;
            *w = '\0'; /* w is behind p: the opening quote is gone */
            f[(*n)++] = start;
        } else {
            char *start = p;
            while (*p && *p != ',')
                p++;
            sep = *p;
            char *e = p;
            while (e > start && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            *e = '\0';
            f[(*n)++] = start;
        }
        if (!sep)
            return 1;
        p++;
    }
}

static int number(const char *s, double *v)
{
    char *end = NULL;
    if (!*s)
        return 0;
    errno = 0;
    *v = strtod(s, &end);
    return !*end && !errno && isfinite(*v);
}

/* The slot of a coordinate column's name (world: x 0, y 1, z 2; voxel: z 0, y 1, x 2), -1 for none; i, j, k (the
 * voxel axes of NIfTI: i is x) only with `voxel`. */
static int slot_of(const char *name, int voxel)
{
    static const char *const names[3][3] = {{"x", "coordx", "i"}, {"y", "coordy", "j"}, {"z", "coordz", "k"}};
    for (int a = 0; a < 3; a++)
        for (int k = 0; k < (voxel ? 3 : 2); k++)
            if (!strcasecmp(name, names[a][k]))
                return voxel ? 2 - a : a;
    return -1;
}

typedef struct layout {
    int header;    /* the first line named the columns */
    int nfields;   /* every line has this many */
    int col[3];    /* the columns of the three slots */
    int id;        /* the id column, -1 for none */
    long at;       /* the line that set nfields */
} layout;

/* "FILE:LINE: message", exit 4. */
static int fail(const char *cmd, const char *path, long line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(const char *cmd, const char *path, long line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_error(cmd, "%s:%ld: %s", path, line, msg);
    return VXT_EXIT_INPUT;
}

/* The first line: a point without a header (3 or 4 fields, the last three numbers), or a header. */
static int first_line(const char *cmd, const char *path, long line, char **f, int n, int voxel, layout *L)
{
    double v;
    L->nfields = n;
    L->at = line;
    if ((n == 3 || n == 4) && number(f[n - 3], &v) && number(f[n - 2], &v) && number(f[n - 1], &v)) {
        L->header = 0;
        L->id = n == 4 ? 0 : -1;
        for (int s = 0; s < 3; s++)
            L->col[s] = n - 3 + s;
        return 0;
    }
    L->header = 1;
    L->id = -1;
    L->col[0] = L->col[1] = L->col[2] = -1;
    int ijk = 0;
    for (int c = 0; c < n; c++) {
        const int s = slot_of(f[c], voxel);
        ijk |= !voxel && slot_of(f[c], 1) >= 0 && s < 0;
        if (s >= 0 && L->col[s] >= 0)
            return fail(cmd, path, line, "column '%s' is named twice", f[c]);
        if (s >= 0)
            L->col[s] = c;
        if (!strcasecmp(f[c], "id")) {
            if (L->id >= 0)
                return fail(cmd, path, line, "column '%s' is named twice", f[c]);
            L->id = c;
        }
    }
    if (L->col[0] >= 0 && L->col[1] >= 0 && L->col[2] >= 0)
        return 0;
    if (ijk)
        return fail(cmd, path, line, "columns i, j, k are voxel indices: give --voxel");
    if (voxel)
        return fail(cmd, path, line, "not a point (z,y,x or id,z,y,x: voxel indices) and not a header naming the "
                    "columns x, y and z (or i, j, k)");
    return fail(cmd, path, line, "not a point (x,y,z or id,x,y,z: world mm) and not a header naming the columns x, y "
                "and z (or coordX, coordY, coordZ)");
}

static int add_point(const char *cmd, const char *path, long line, char **f, int n, const layout *L, cli_points *pts,
                     size_t *cap)
{
    if (n != L->nfields)
        return fail(cmd, path, line, "%d fields, expected %d (as %s %ld)", n, L->nfields,
                    L->header ? "the header on line" : "line", L->at);
    cli_point p = {{0, 0, 0}, NULL, line};
    for (int s = 0; s < 3; s++)
        if (!number(f[L->col[s]], &p.c[s]))
            return fail(cmd, path, line, "field %d is '%.60s', not a finite number", L->col[s] + 1, f[L->col[s]]);
    if (pts->n == *cap) {
        size_t want = *cap ? *cap * 2 : 64;
        cli_point *g = realloc(pts->p, want * sizeof *g);
        if (!g) {
            cli_error(cmd, "%s: out of memory for %zu points", path, want);
            return VXT_EXIT_MEMORY;
        }
        pts->p = g;
        *cap = want;
    }
    if (!(p.id = strdup(L->id >= 0 ? f[L->id] : ""))) {
        cli_error(cmd, "%s: out of memory", path);
        return VXT_EXIT_MEMORY;
    }
    pts->p[pts->n++] = p;
    return 0;
}

int points_read(const char *cmd, const char *path, int voxel, cli_points *out)
{
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        cli_error(cmd, "--points: cannot open '%s': %s", path, strerror(errno));
        return VXT_EXIT_INPUT;
    }
    char *buf = NULL, *f[MAX_FIELDS];
    size_t bufn = 0, cap = 0;
    ssize_t len;
    long line = 0;
    int rc = 0, started = 0;
    layout L;
    memset(&L, 0, sizeof L);
    while (!rc && (len = getline(&buf, &bufn, fp)) >= 0) {
        line++;
        if ((size_t)len != strlen(buf)) {
            rc = fail(cmd, path, line, "a NUL byte: not a text file");
            break;
        }
        char *s = buf;
        if (line == 1 && !strncmp(s, "\xef\xbb\xbf", 3)) /* a UTF-8 byte order mark (spreadsheets write one) */
            s += 3;
        s[strcspn(s, "\r\n")] = '\0';
        const char *t = s + strspn(s, " \t");
        if (!*t || *t == '#')
            continue;
        int n = 0;
        if (!split(s, f, &n)) {
            rc = n == MAX_FIELDS ? fail(cmd, path, line, "more than %d fields", MAX_FIELDS)
                                 : fail(cmd, path, line, "a quote that is not closed, or text after one");
            break;
        }
        if (!started) {
            started = 1;
            if ((rc = first_line(cmd, path, line, f, n, voxel, &L)) || L.header)
                continue;
        }
        rc = add_point(cmd, path, line, f, n, &L, out, &cap);
    }
    if (!rc && ferror(fp)) {
        cli_error(cmd, "--points: cannot read '%s': %s", path, strerror(errno));
        rc = VXT_EXIT_INPUT;
    }
    if (!rc && out->n == 0) {
        cli_error(cmd, "%s: no points (a line x,y,z%s, or a header and such lines)", path, voxel ? " -- z,y,x with --voxel" : "");
        rc = VXT_EXIT_INPUT;
    }
    out->header = L.header;
    free(buf);
    fclose(fp);
    if (rc)
        points_free(out);
    return rc;
}

void points_free(cli_points *pts)
{
    for (size_t i = 0; i < pts->n; i++)
        free(pts->p[i].id);
    free(pts->p);
    memset(pts, 0, sizeof *pts);
}

void points_csv_field(char *buf, size_t n, const char *s)
{
    size_t k = strlen(buf);
    if (!strpbrk(s, ",\"\r\n")) {
        snprintf(buf + k, n > k ? n - k : 0, "%s", s);
        return;
    }
    if (k + 1 < n)
        buf[k++] = '"';
    for (; *s && k + 2 < n; s++) {
        if (*s == '"')
            buf[k++] = '"';
        buf[k++] = *s;
    }
    if (k + 1 < n)
        buf[k++] = '"';
    buf[k < n ? k : n - 1] = '\0';
}
