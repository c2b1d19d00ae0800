/*
 * internal.h - everything the runtime's compute code shares: the common base (common/common.h), the context
 * and its CPU backend (backend/backend.h), OpenCL execution (opencl/opencl_internal.h), and the tiling helpers
 * the stitching engine and its tests use. Not installed. Code that needs less includes less: host/ I/O includes
 * only common.h.
 */
#ifndef VXT_INTERNAL_H
#define VXT_INTERNAL_H

#include "common.h"
#include "backend.h"
#include "opencl_internal.h"

/* ---- tiling (stitch/tiling.c, stitch/importance.c) ----------------------------------------------- */

/* Tile `index` (< tile_count, unchecked). */
void vxt__plan_tile(const vxt_plan *plan, uint64_t index, vxt_tile *tile);
const vxt_plan_info *vxt__plan_info(const vxt_plan *plan);

/* The importance table of `kind` for `roi` into out (roi product floats); `user` for VXT_IMPORTANCE_USER
 * (checked: finite, normal, > 0). */
vxt_status vxt__importance_table(const vxt_context *ctx, vxt_importance kind, const int64_t roi[3],
                                 const double sigma_scale[3], const float *user, float *out);

#endif /* VXT_INTERNAL_H */
