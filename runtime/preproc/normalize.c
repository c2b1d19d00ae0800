/* normalize.c - data-dependent normalizations: z-score, min-max, percentile clip. Each is a statistic of the
 * selected voxels (stats.c, percentile.c) followed by the pointwise transform (intensity.c) with parameters
 * rounded to float32 once, on the host, so both backends transform with the same numbers. */
#include <math.h>
#include <string.h>

#include "preproc.h"

static vxt_status check_common(vxt_context *ctx, const char *func, const vxt_volume *in, vxt_select select,
                               const vxt_volume *mask, const vxt_volume *out)
{
    size_t in_bytes = 0, out_bytes = 0;
    vxt_status st = vxt__pp_check_ctx(ctx, func);
    if (st == VXT_OK)
        st = vxt__pp_check_input(ctx, func, "in", in, &in_bytes);
    if (st == VXT_OK)
        st = vxt__pp_check_single_channel(ctx, func, in);
    if (st == VXT_OK)
        st = vxt__pp_check_output(ctx, func, "out", out, VXT_DTYPE_F32, in, &out_bytes);
    if (st == VXT_OK)
        st = vxt__pp_check_overlap(ctx, func, in, in_bytes, out, out_bytes, vxt_dtype_size(in->dtype) == 4);
    if (st == VXT_OK)
        st = vxt__pp_check_select(ctx, func, select, mask, in);
    return st;
}

static vxt_status stats_out(vxt_context *ctx, const char *func, vxt_stats *stats)
{
    if (stats == NULL)
        return VXT_OK;
    return vxt__check_out_struct(ctx, func, "vxt_stats", stats->struct_size, sizeof(vxt_stats));
}

static void copy_stats(const vxt_stats *s, vxt_stats *stats)
{
    if (stats == NULL)
        return;
    vxt_stats c = *s;
    c.struct_size = sizeof c;
    vxt__copy_out_struct(stats, &c, stats->struct_size, sizeof c);
}

static vxt_status zscore_impl(vxt_context *ctx, const vxt_volume *in, vxt_select select, const vxt_volume *mask,
                              vxt_volume *out, vxt_stats *stats)
{
    static const char *const f = "vxt_zscore";
    vxt_status st = check_common(ctx, f, in, select, mask, out);
    if (st == VXT_OK)
        st = stats_out(ctx, f, stats);
    if (st != VXT_OK)
        return st;
    /* the statistics are read completely before the output is written: in place is safe */
    vxt_stats s;
    memset(&s, 0, sizeof s);
    st = vxt__stats_run(ctx, in, (int)select, mask, &s);
    if (st != VXT_OK)
        return st;
    if (s.count == 0)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: no voxel is selected (or every selected voxel is NaN)", f);
    if (!isfinite(s.mean) || !isfinite(s.std))
        return vxt__fail(ctx, VXT_ERR_NONFINITE, "%s: the selected voxels have mean %g and std %g (infinite values?)",
                         f, s.mean, s.std);
    vxt_ipar p;
    vxt__ipar_neutral(&p);
    p.sub = vxt__pp_f32(s.mean);
    p.div = vxt__pp_f32(s.std > 1e-8 ? s.std : 1e-8);
    copy_stats(&s, stats);
    return vxt__intensity_run(ctx, in, mask, out, (int)select, &p, 0);
}

static vxt_status minmax_normalize_impl(vxt_context *ctx, const vxt_volume *in, vxt_select select,
                                        const vxt_volume *mask, vxt_volume *out, vxt_stats *stats)
{
    static const char *const f = "vxt_minmax_normalize";
    vxt_status st = check_common(ctx, f, in, select, mask, out);
    if (st == VXT_OK)
        st = stats_out(ctx, f, stats);
    if (st != VXT_OK)
        return st;
    vxt_stats s;
    memset(&s, 0, sizeof s);
    st = vxt__stats_run(ctx, in, (int)select, mask, &s);
    if (st != VXT_OK)
        return st;
    if (s.count == 0)
        return vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: no voxel is selected (or every selected voxel is NaN)", f);
    if (!isfinite(s.min) || !isfinite(s.max))
        return vxt__fail(ctx, VXT_ERR_NONFINITE, "%s: the selected voxels range over [%g, %g]", f, s.min, s.max);
    /* nnU-Net (RescaleTo01Normalization), in float32: x - min, then / max(max - min, 1e-8); min and max are values
     * of the data, exact as float32 */
    const float mn = (float)s.min, mx = (float)s.max;
    vxt__fpenv env;
    vxt__fpenv_enter(&env);
    float range = vxt_ftz(mx - mn);
    float eps = vxt__pp_f32(1e-8);
    vxt__fpenv_leave(&env);
    if (!vxt_isfinite(range))
        return vxt__fail(ctx, VXT_ERR_NONFINITE, "%s: max - min overflows float32 ([%g, %g])", f, s.min, s.max);
    vxt_ipar p;
    vxt__ipar_neutral(&p);
    p.sub = mn;
    p.div = range > eps ? range : eps;
    copy_stats(&s, stats);
    return vxt__intensity_run(ctx, in, mask, out, (int)select, &p, 0);
}

static vxt_status percentile_clip_impl(vxt_context *ctx, const vxt_volume *in, vxt_select select,
                                       const vxt_volume *mask, double p_lo, double p_hi, vxt_volume *out,
                                       double bounds[2])
{
    static const char *const f = "vxt_percentile_clip";
    vxt_status st = check_common(ctx, f, in, select, mask, out);
    if (st == VXT_OK && !(p_lo >= 0.0 && p_lo <= 100.0))
        st = vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: p_lo is %g (must be in [0, 100])", f, p_lo);
    if (st == VXT_OK && !(p_hi >= 0.0 && p_hi <= 100.0))
        st = vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: p_hi is %g (must be in [0, 100])", f, p_hi);
    if (st == VXT_OK && p_lo > p_hi)
        st = vxt__fail(ctx, VXT_ERR_INVALID_ARGUMENT, "%s: p_lo (%g) > p_hi (%g)", f, p_lo, p_hi);
    if (st != VXT_OK)
        return st;
    double q[2] = {p_lo, p_hi}, v[2];
    st = vxt__percentiles_run(ctx, in, (int)select, mask, q, 2, v);
    if (st != VXT_OK)
        return st;
    if (bounds) {
        bounds[0] = v[0];
        bounds[1] = v[1];
    }
    vxt_ipar p;
    vxt__ipar_neutral(&p);
    p.lo1 = vxt__pp_f32(v[0]);
    p.hi1 = vxt__pp_f32(v[1]);
    /* the clip applies to every voxel (numpy: np.clip(x, lo, hi)); the selection only chose the percentiles */
    return vxt__intensity_run(ctx, in, NULL, out, VXT_SEL_ALL, &p, 0);
}

/* Public entry: host-side arithmetic (parameters rounded to float32, tables, statistics) runs in the default
 * floating-point environment whatever the caller set, like the CPU loops. */
VXT__FPENV_ENTRY(vxt_zscore, zscore_impl, (vxt_context *ctx, const vxt_volume *in, vxt_select select,
                 const vxt_volume *mask, vxt_volume *out, vxt_stats *stats), (ctx, in, select, mask, out, stats))

VXT__FPENV_ENTRY(vxt_minmax_normalize, minmax_normalize_impl, (vxt_context *ctx, const vxt_volume *in,
                 vxt_select select, const vxt_volume *mask, vxt_volume *out, vxt_stats *stats),
                 (ctx, in, select, mask, out, stats))

VXT__FPENV_ENTRY(vxt_percentile_clip, percentile_clip_impl, (vxt_context *ctx, const vxt_volume *in, vxt_select select,
                 const vxt_volume *mask, double p_lo, double p_hi, vxt_volume *out, double bounds[2]),
                 (ctx, in, select, mask, p_lo, p_hi, out, bounds))
