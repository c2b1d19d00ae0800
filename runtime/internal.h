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
void vxt__tiling_tile(const vxt_tiling *plan, uint64_t index, vxt_tile *tile);
const vxt_tiling_info *vxt__tiling_info(const vxt_tiling *plan);

/* The importance table of `kind` for `roi` into out (roi product floats); `user` for VXT_IMPORTANCE_USER
 * (checked: finite, normal, > 0). */
vxt_status vxt__importance_table(const vxt_context *ctx, vxt_importance kind, const int64_t roi[3],
                                 const double sigma_scale[3], const float *user, float *out);

/* The label rule's arguments for `channels` channels and labels of label_dtype (stitch/labels.c): the rule, a
 * finite threshold, region labels given and in range, the largest label in range. */
vxt_status vxt__check_label_rule(const vxt_context *ctx, const char *func, vxt_label_rule rule, double threshold,
                                 const int32_t *region_labels, int64_t channels, vxt_dtype label_dtype);

#endif /* VXT_INTERNAL_H */
