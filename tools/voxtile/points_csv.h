/* points_csv.h - the points file of `voxtile patches --points FILE`: a CSV of positions, one a line (docs/CLI.md,
 * "voxtile patches"). */
#ifndef VXT_POINTS_CSV_H
#define VXT_POINTS_CSV_H

#include <stddef.h>

typedef struct cli_point {
    /* the coordinates as the file gives them, in a fixed order: world x, y, z (mm); with --voxel z, y, x (the
     * volume's axes, as every per-axis value of voxtile) */
    double c[3];
    char *id;  /* the id column's text ("" when the file has none) */
    long line; /* its line in the file (1 = the first) */
} cli_point;

typedef struct cli_points {
    cli_point *p;
    size_t n;
    int header; /* the file named its columns */
} cli_points;

/* Read a points file. Lines: a header naming the columns (optional: x, y, z -- also coordX, coordY, coordZ as in
 * LUNA16's candidates.csv -- and, with `voxel`, i, j, k; id; others ignored), then one point a line: x,y,z or
 * id,x,y,z without a header (z,y,x and id,z,y,x with `voxel`); fields separated by commas, quoted with "" where they
 * hold one; blank lines and lines starting with # are skipped. An exit status with its one-line message
 * ("FILE:LINE: ..."): 4 for a file that cannot be read, a malformed line or no point; 10 out of memory. */
int points_read(const char *cmd, const char *path, int voxel, cli_points *out);

void points_free(cli_points *pts);

/* Append s to buf as a CSV field (quoted when it holds a comma, a quote or a line break). */
void points_csv_field(char *buf, size_t n, const char *s);

#endif
