/* cli_plan.c - the tile-plan options shared by `voxtile plan`, `voxtile stitch` and `voxtile run`. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_plan_arg(cli_plan_args *a, int opt, const char *value)
{
    switch (opt) {
    case CLI_OPT_SHAPE: a->shape = value; return 1;
    case CLI_OPT_ROI: a->roi = value; return 1;
    case CLI_OPT_GRID: a->grid = value; return 1;
    case CLI_OPT_OVERLAP: a->overlap = value; return 1;
    case CLI_OPT_STEP: a->step = value; return 1;
    case CLI_OPT_OVERLAP_VOXELS: a->overlap_voxels = value; return 1;
    case CLI_OPT_PAD: a->pad = value; return 1;
    case CLI_OPT_PAD_VALUE: a->pad_value = value; return 1;
    default: return 0;
    }
}

int cli_build_plan(const char *cmd, const cli_plan_args *a, vxt_plan **plan, int *spatial_dims)
{
    vxt_plan_options o;
    vxt_plan_options_init(&o);
    int n = 0;
    if (!a->shape || !cli_parse_axes_i64(a->shape, o.shape, 1, &n) || n == 1) {
        cli_error(cmd, "--shape: expected Z,Y,X (or H,W for a 2D image), got '%s'", a->shape ? a->shape : "(missing)");
        return VXT_EXIT_USAGE;
    }
    *spatial_dims = n;
    int nr = 0;
    if (!a->roi || !cli_parse_axes_i64(a->roi, o.roi, 1, &nr) || (nr != 1 && nr != n)) {
        cli_error(cmd, "--roi: expected %s (or one value for every axis), got '%s'", n == 2 ? "H,W" : "Z,Y,X",
                  a->roi ? a->roi : "(missing)");
        return VXT_EXIT_USAGE;
    }
    if (n == 2)
        o.roi[0] = 1;
    int v;
    if (a->grid) {
        if (!cli_enum_option(cmd, "--grid", a->grid, cli_grids, &v))
            return VXT_EXIT_USAGE;
        o.grid = (vxt_grid)v;
    }
    if (a->pad) {
        if (!cli_enum_option(cmd, "--pad", a->pad, cli_pads, &v))
            return VXT_EXIT_USAGE;
        o.pad = (vxt_pad)v;
    }
    if (a->pad_value) {
        double pv;
        if (!cli_parse_double(a->pad_value, &pv)) {
            cli_error(cmd, "--pad-value: expected a number, got '%s'", a->pad_value);
            return VXT_EXIT_USAGE;
        }
        o.pad_value = (float)pv;
    }
    int k = 0;
    if (a->overlap && (!cli_parse_axes_f64(a->overlap, o.overlap, 0.0, &k) || (k != 1 && k != n))) {
        cli_error(cmd, "--overlap: expected one fraction or one per axis, got '%s'", a->overlap);
        return VXT_EXIT_USAGE;
    }
    if (a->step && (!cli_parse_axes_f64(a->step, o.step, 1.0, &k) || (k != 1 && k != n))) {
        cli_error(cmd, "--step: expected one fraction or one per axis, got '%s'", a->step);
        return VXT_EXIT_USAGE;
    }
    if (a->overlap_voxels && (!cli_parse_axes_i64(a->overlap_voxels, o.overlap_voxels, 0, &k) || (k != 1 && k != n))) {
        cli_error(cmd, "--overlap-voxels: expected one integer or one per axis, got '%s'", a->overlap_voxels);
        return VXT_EXIT_USAGE;
    }
    if (n == 2) { /* the depth axis of a 2D image has one tile */
        o.overlap[0] = 0.0;
        o.step[0] = 1.0;
        o.overlap_voxels[0] = 0;
    }
    vxt_status st = vxt_plan_create(&o, plan);
    if (st != VXT_OK) {
        cli_error(cmd, "invalid plan: %s", vxt_last_error());
        return VXT_EXIT_PLAN;
    }
    return VXT_EXIT_OK;
}
