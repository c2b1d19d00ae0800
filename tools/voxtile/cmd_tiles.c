/* cmd_tiles.c - `voxtile tiles --shape Z,Y,X --roi Z,Y,X`: the tiles a sliding window visits over a volume, as
 * JSON, with the plan's tiling (plan files and the tiling flags, the defaults of every plan). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { O_SHAPE = 1, O_MAX };

static const cli_flag own[] = {
    {NULL, 0, NULL, 0, "volume"},
    {"shape", 0, "Z,Y,X|Y,X|N", O_SHAPE, "the volume's shape (Y,X: a 2D image)"},
    {"max-tiles", 0, "N", O_MAX, "list at most N tiles (default 100000; the count is always exact)"},
    {NULL, 0, NULL, 0, NULL},
};
static const cli_flag *const groups[] = {own, cli_tiling_flags, NULL};
static const cli_command_spec spec = {
    "tiles", "tiles --shape Z,Y,X --roi Z,Y,X [--grid NAME] [--overlap F | --step F | --overlap-voxels N] [...]",
    "Prints the tiling as JSON: padded shape and padding, starts per axis, tile count and every tile's start (in\n"
    "tiling order: first axis outermost, last axis fastest). A 2D volume (--shape Y,X) lists its two axes.",
    groups, 0};

typedef struct tiles_args {
    int64_t shape[3];
    int dims;
    long max_tiles;
    cli_plan_args plan;
} tiles_args;

int cli_shape_flag(const char *cmd, const char *value, int64_t shape[3], int *dims)
{
    long v[3];
    int n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", value);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (n == 3 || !cli_parse_int(t, 1, 1L << 40, &v[n++])) {
            n = 4;
            break;
        }
    if (n < 1 || n > 3) {
        cli_error(cmd, "--shape: expected Z,Y,X (or Y,X for a 2D image, or N for N,N,N) of whole numbers >= 1, got "
                  "'%s'", value);
        return VXT_EXIT_USAGE;
    }
    shape[0] = n == 1 ? v[0] : n == 2 ? 1 : v[0];
    shape[1] = n == 1 ? v[0] : v[n - 2];
    shape[2] = n == 1 ? v[0] : v[n - 1];
    *dims = n == 1 ? 3 : n;
    return 0;
}

static int on_flag(void *user, const cli_flag *f, const char *v)
{
    tiles_args *a = (tiles_args *)user;
    int rc = cli_plan_flag("tiles", &a->plan, f, v);
    if (rc != -2)
        return rc;
    if (f->id == O_SHAPE)
        return cli_shape_flag("tiles", v, a->shape, &a->dims);
    if (!cli_parse_int(v, 0, 1L << 40, &a->max_tiles)) {
        cli_error("tiles", "--max-tiles: expected a non-negative integer, got '%s'", v);
        return VXT_EXIT_USAGE;
    }
    return 0;
}

static cJSON *axes(const int64_t *v, int first)
{
    cJSON *a = cJSON_CreateArray();
    for (int ax = first; ax < 3; ax++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[ax]));
    return a;
}

static int print_tiling(const vxt_tiling *tiling, int first, long max_tiles)
{
    vxt_tiling_info info = {.struct_size = sizeof info};
    vxt_tiling_get_info(tiling, &info);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "grid", vxt_grid_name(info.grid));
    cJSON_AddStringToObject(root, "pad", vxt_pad_name(info.pad));
    cJSON_AddItemToObject(root, "shape", axes(info.shape, first));
    cJSON_AddItemToObject(root, "roi", axes(info.roi, first));
    cJSON_AddItemToObject(root, "padded_shape", axes(info.padded_shape, first));
    cJSON_AddItemToObject(root, "pad_lo", axes(info.pad_lo, first));
    cJSON_AddItemToObject(root, "pad_hi", axes(info.pad_hi, first));
    cJSON_AddItemToObject(root, "tiles_per_axis", axes(info.tiles_per_axis, first));
    cJSON_AddNumberToObject(root, "tile_count", (double)info.tile_count);
    cJSON *starts = cJSON_AddArrayToObject(root, "starts");
    for (int ax = first; ax < 3; ax++) {
        const int64_t *s;
        int64_t n;
        vxt_tiling_axis_starts(tiling, ax, &s, &n);
        cJSON *a = cJSON_CreateArray();
        for (int64_t i = 0; i < n; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber((double)s[i]));
        cJSON_AddItemToArray(starts, a);
    }
    uint64_t listed = info.tile_count < (uint64_t)max_tiles ? info.tile_count : (uint64_t)max_tiles;
    cJSON *tiles = cJSON_AddArrayToObject(root, "tiles");
    for (uint64_t i = 0; i < listed; i++) {
        vxt_tile t;
        vxt_tiling_get_tile(tiling, i, &t);
        cJSON_AddItemToArray(tiles, axes(t.start, first));
    }
    cJSON_AddBoolToObject(root, "tiles_complete", listed == info.tile_count);
    char *text = cJSON_PrintUnformatted(root);
    int ok = text && printf("%s\n", text) > 0;
    cJSON_free(text);
    cJSON_Delete(root);
    return ok ? VXT_EXIT_OK : VXT_EXIT_OUTPUT;
}

static int parse(void *args, int argc, char **argv, const char **pos, int *npos, vxt_plan **plan)
{
    tiles_args *a = (tiles_args *)args;
    a->max_tiles = 100000;
    return cli_start(&spec, argc, argv, on_flag, a, pos, npos, NULL, &a->plan, 0, plan);
}

/* --shape given, and the plan's tiling settings for it; an exit status. (The tiling itself is the work: its starts
 * take memory in proportion to the volume's axes.) */
static int settings(const tiles_args *a, const vxt_plan *plan, vxt_tiling_options *to)
{
    if (!a->dims) {
        cli_error("tiles", "missing --shape Z,Y,X");
        return VXT_EXIT_USAGE;
    }
    vxt_stitch_options so;
    vxt_status st = vxt_plan_stitch_settings(plan, a->shape, 1, to, &so);
    return st != VXT_OK ? cli_fail("tiles", "invalid tiling", st) : 0;
}

int cmd_tiles(int argc, char **argv)
{
    tiles_args a;
    memset(&a, 0, sizeof a);
    const char *pos[1];
    vxt_plan *plan = NULL;
    vxt_tiling *tiling = NULL;
    vxt_tiling_options to;
    int npos = 0, rc = parse(&a, argc, argv, pos, &npos, &plan);
    if (rc)
        return rc < 0 ? VXT_EXIT_OK : rc;
    if ((rc = settings(&a, plan, &to)) == 0) {
        vxt_status st = vxt_tiling_create(&to, &tiling);
        rc = st != VXT_OK ? cli_fail("tiles", "invalid tiling", st) : print_tiling(tiling, 3 - a.dims, a.max_tiles);
    }
    vxt_tiling_destroy(tiling);
    vxt_plan_destroy(plan);
    return rc;
}

static int check(const void *args, const vxt_plan *plan, const char *const *pos, int npos)
{
    vxt_tiling_options to;
    (void)pos, (void)npos;
    return settings((const tiles_args *)args, plan, &to);
}

const cli_command cmd_tiles_parsing = {&spec, sizeof(tiles_args), parse, check};
