/* cmd_plan.c - `voxtile plan`: the tiles a sliding window visits, as JSON. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(void)
{
    printf("usage: voxtile plan --shape Z,Y,X --roi Z,Y,X [options]\n"
           "Prints the tile plan as JSON: padded shape and padding, starts per axis, tile count and every tile's\n"
           "start (in plan order: first axis outermost, last axis fastest).\n" CLI_PLAN_HELP
           "  --max-tiles N           list at most N tiles (default 100000; the count is always exact)\n");
}

int cmd_plan(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_PLAN_LONGOPTS,
                                             {"max-tiles", required_argument, NULL, 'm'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cli_plan_args pa;
    memset(&pa, 0, sizeof pa);
    long max_tiles = 100000;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (cli_plan_arg(&pa, c, optarg))
            continue;
        switch (c) {
        case 'm':
            if (!cli_parse_int(optarg, 0, 1L << 40, &max_tiles)) {
                cli_error("plan", "--max-tiles: expected a non-negative integer, got '%s'", optarg);
                return VXT_EXIT_USAGE;
            }
            break;
        case 'h':
            help();
            return VXT_EXIT_OK;
        default:
            cli_error("plan", "unknown or incomplete option '%s' (see voxtile plan --help)", argv[optind - 1]);
            return VXT_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("plan", "unexpected argument '%s'", argv[optind]);
        return VXT_EXIT_USAGE;
    }
    vxt_plan *plan = NULL;
    int dims = 3;
    int rc = cli_build_plan("plan", &pa, &plan, &dims);
    if (rc != VXT_EXIT_OK)
        return rc;
    vxt_plan_info info = {.struct_size = sizeof info};
    vxt_plan_get_info(plan, &info);
    int first = 3 - dims; /* a 2D plan lists its two axes */
    cJSON *root = cJSON_CreateObject();
    static const char *grid_names[] = {"monai", "nnunet", "voxels"};
    static const char *pad_names[] = {"constant", "replicate", "reflect", "none"};
    cJSON_AddStringToObject(root, "grid", grid_names[info.grid]);
    cJSON_AddStringToObject(root, "pad", pad_names[info.pad]);
#define AXES(key, arr)                                                                                               \
    do {                                                                                                             \
        cJSON *a_ = cJSON_AddArrayToObject(root, key);                                                               \
        for (int ax = first; ax < 3; ax++)                                                                           \
            cJSON_AddItemToArray(a_, cJSON_CreateNumber((double)(arr)[ax]));                                         \
    } while (0)
    AXES("shape", info.shape);
    AXES("roi", info.roi);
    AXES("padded_shape", info.padded_shape);
    AXES("pad_lo", info.pad_lo);
    AXES("pad_hi", info.pad_hi);
    AXES("tiles_per_axis", info.tiles_per_axis);
    cJSON_AddNumberToObject(root, "tile_count", (double)info.tile_count);
    cJSON *starts = cJSON_AddArrayToObject(root, "starts");
    for (int ax = first; ax < 3; ax++) {
        const int64_t *s;
        int64_t n;
        vxt_plan_axis_starts(plan, ax, &s, &n);
        cJSON *a = cJSON_CreateArray();
        for (int64_t i = 0; i < n; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber((double)s[i]));
        cJSON_AddItemToArray(starts, a);
    }
    uint64_t listed = info.tile_count < (uint64_t)max_tiles ? info.tile_count : (uint64_t)max_tiles;
    cJSON *tiles = cJSON_AddArrayToObject(root, "tiles");
    for (uint64_t i = 0; i < listed; i++) {
        vxt_tile t;
        vxt_plan_get_tile(plan, i, &t);
        cJSON *a = cJSON_CreateArray();
        for (int ax = first; ax < 3; ax++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber((double)t.start[ax]));
        cJSON_AddItemToArray(tiles, a);
    }
    cJSON_AddBoolToObject(root, "tiles_complete", listed == info.tile_count);
    char *text = cJSON_PrintUnformatted(root);
    int ok = text && printf("%s\n", text) > 0;
    free(text);
    cJSON_Delete(root);
    vxt_plan_destroy(plan);
    return ok ? VXT_EXIT_OK : VXT_EXIT_OUTPUT;
}
