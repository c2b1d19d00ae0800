/* test_resample_cubic.c - cubic B-spline resampling (runtime/preproc/resample_cubic.c, kernels/resample/vxt_cubic.h).
 *
 *   references   against scipy.ndimage.zoom / map_coordinates(order=3) in each boundary mode and on both grids,
 *                skimage's resize(order=3) and nnunetv2's resample_data_or_seg (3D, and its separate-z rule) on a
 *                real T1, skimage's anti-aliased resize too (tests/data/resample_cubic,
 *                tools/make_cubic_testdata.py): every voxel within
 *                CUBIC_TOL of the largest input magnitude (scipy computes in float64, voxtile in float32)
 *   properties   interpolation at the samples (corner grid, same shape: the input back), constants kept, ramps
 *                kept on the mirror grids, the clip, each against a double-precision expectation
 *   threads      the same bits for 1 and 3 CPU threads, every input type
 *   bad options  each refused with its message
 *   device bits  (opencl) the device's bits equal the CPU's: every input type, boundary, grid, per-axis mix,
 *                clip, several channels, shared and copied buffers
 */
#include <cjson/cJSON.h>
#include <math.h>

#include "preproc_testutil.h"

/* The tolerance against float64 references, relative to the input's largest magnitude: the float32 prefilter's
 * rounding, amplified by its gain 6 and the spline's overshoot. The largest error measured is printed. */
#define CUBIC_TOL 2e-6

static vxt_volume read_npy(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/resample_cubic/%s", vxt_test_data_dir(), name);
    vxt_image *img = NULL;
    assert_ok(vxt_image_read_path(path, NULL, &img));
    vxt_volume v, c;
    assert_ok(vxt_image_volume(img, &v));
    c = pt_copy(&v);
    vxt_image_destroy(img);
    return c;
}

static double max_abs(const vxt_volume *v)
{
    double m = 0.0;
    for (size_t i = 0; i < pt_elems(v); i++) {
        double d = fabs((double)vxt__pp_load(v, i));
        m = d > m ? d : m;
    }
    return m;
}

static vxt_volume resample(vxt_context *ctx, const vxt_volume *in, const int64_t shape[3], const vxt_resample_options *o)
{
    vxt_volume out = pt_alloc(VXT_DTYPE_F32, in->channels, shape[0], shape[1], shape[2]);
    assert_ok(vxt_resample(ctx, in, &out, o));
    return out;
}

static void test_references(void **state)
{
    (void)state;
    vxt_context *cpu = pt_cpu(2);
    cJSON *m = vxt_test_load_json("resample_cubic/manifest.json");
    const cJSON *c = NULL;
    double worst = 0.0;
    int n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(m, "cases"))
    {
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
        vxt_volume in = read_npy(cJSON_GetObjectItem(c, "input")->valuestring);
        vxt_volume ref = read_npy(cJSON_GetObjectItem(c, "output")->valuestring);
        int64_t shape[3];
        assert_int_equal(vxt_test_json_i64s(cJSON_GetObjectItem(c, "shape"), shape, 3), 3);
        vxt_resample_options o;
        vxt_resample_options_init(&o);
        if (cJSON_GetObjectItem(c, "nnunet")) { /* nnU-Net's own choice of axes from the spacings */
            double sin[3], sout[3];
            for (int a = 0; a < 3; a++) {
                sin[a] = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "in_spacing"), a)->valuedouble;
                sout[a] = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "out_spacing"), a)->valuedouble;
            }
            int64_t want[3];
            assert_ok(vxt_resample_shape_spacing(in.shape, sin, sout, want));
            for (int a = 0; a < 3; a++)
                assert_int_equal(want[a], shape[a]);
            assert_ok(vxt_resample_options_nnunet_order(sin, sout, 3, &o));
        } else {
            for (int a = 0; a < 3; a++)
                assert_ok(vxt_interp_parse(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "interp"), a)->valuestring,
                                           &o.interp[a]));
            assert_ok(vxt_grid_align_parse(cJSON_GetObjectItem(c, "align")->valuestring, &o.align));
            assert_ok(vxt_boundary_parse(cJSON_GetObjectItem(c, "boundary")->valuestring, &o.boundary));
            assert_ok(vxt_resample_clip_parse(cJSON_GetObjectItem(c, "clip")->valuestring, &o.clip));
            o.fill_value = cJSON_GetObjectItem(c, "fill")->valuedouble;
            o.anti_alias = cJSON_IsTrue(cJSON_GetObjectItem(c, "anti_alias"));
        }
        vxt_volume out = resample(cpu, &in, shape, &o);
        const double scale = max_abs(&in);
        double err = 0.0;
        size_t at = 0;
        for (size_t i = 0; i < pt_elems(&out); i++) {
            double d = fabs((double)((float *)out.data)[i] - (double)((float *)ref.data)[i]);
            if (!(d <= err)) {
                err = d;
                at = i;
            }
        }
        if (!(err <= CUBIC_TOL * scale))
            fail_msg("%s: voxel %zu is %.9g, %s gives %.9g: %.3g of the largest input %.6g (tolerance %g)", name, at,
                     (double)((float *)out.data)[at], cJSON_GetObjectItem(c, "made_by")->valuestring,
                     (double)((float *)ref.data)[at], err / scale, scale, CUBIC_TOL);
        worst = err / scale > worst ? err / scale : worst;
        n++;
        pt_free(&in);
        pt_free(&ref);
        pt_free(&out);
    }
    assert_true(n >= 31);
    print_message("%d reference cases (scipy, skimage, nnunetv2): largest error %.3g of the input's largest magnitude "
                  "(tolerance %g)\n", n, worst, CUBIC_TOL);
    cJSON_Delete(m);
    vxt_context_destroy(cpu);
}

/* Properties with exact expectations (double): at the samples themselves a spline interpolates the input; a constant
 * stays constant; on the mirror grids, whose extension of a ramp is not a ramp, only interior samples are kept. */
static void test_properties(void **state)
{
    (void)state;
    vxt_context *cpu = pt_cpu(2);
    static const vxt_boundary bnds[] = {VXT_BOUNDARY_CLAMP, VXT_BOUNDARY_CONSTANT, VXT_BOUNDARY_MIRROR,
                                        VXT_BOUNDARY_GRID_MIRROR};
    double worst = 0.0;
    for (size_t b = 0; b < 4; b++) {
        vxt_resample_options o;
        vxt_resample_options_init(&o);
        for (int a = 0; a < 3; a++)
            o.interp[a] = VXT_INTERP_CUBIC;
        o.boundary = bnds[b];
        o.fill_value = 2.0;
        /* the samples: corner grid, the same shape (also axes of one and two samples) */
        static const int64_t shapes[][3] = {{5, 6, 7}, {1, 4, 9}, {2, 1, 3}};
        for (size_t s = 0; s < 3; s++) {
            vxt_volume in = pt_alloc(VXT_DTYPE_F32, 1, shapes[s][0], shapes[s][1], shapes[s][2]);
            pt_fill(&in, 7 + s, 0);
            o.align = VXT_ALIGN_CORNERS;
            vxt_volume out = resample(cpu, &in, shapes[s], &o);
            const double scale = max_abs(&in);
            for (size_t i = 0; i < pt_elems(&in); i++) {
                double e = fabs((double)((float *)out.data)[i] - (double)((float *)in.data)[i]) / scale;
                worst = e > worst ? e : worst;
                if (!(e <= CUBIC_TOL))
                    fail_msg("boundary %s, shape %lld x %lld x %lld: sample %zu is %.9g, not %.9g", vxt_boundary_name(
                             bnds[b]), (long long)shapes[s][0], (long long)shapes[s][1], (long long)shapes[s][2], i,
                             (double)((float *)out.data)[i], (double)((float *)in.data)[i]);
            }
            pt_free(&out);
            pt_free(&in);
        }
        /* a constant (the fill value too, for the constant boundary) stays itself, up and down, both grids */
        vxt_volume k = pt_alloc(VXT_DTYPE_F32, 1, 4, 5, 6);
        for (size_t i = 0; i < pt_elems(&k); i++)
            ((float *)k.data)[i] = 2.0f;
        static const int64_t outs[][3] = {{7, 9, 11}, {2, 3, 4}};
        for (int g = 0; g < 2; g++)
            for (size_t s = 0; s < 2; s++) {
                o.align = g ? VXT_ALIGN_CORNERS : VXT_ALIGN_HALF_PIXEL;
                vxt_volume out = resample(cpu, &k, outs[s], &o);
                for (size_t i = 0; i < pt_elems(&out); i++) {
                    double e = fabs((double)((float *)out.data)[i] - 2.0) / 2.0;
                    worst = e > worst ? e : worst;
                    assert_true(e <= CUBIC_TOL);
                }
                pt_free(&out);
            }
        pt_free(&k);
    }
    /* the clip: a step's overshoot, clipped to [0, 100] with input-range, not without */
    vxt_volume step = pt_alloc(VXT_DTYPE_F32, 1, 1, 1, 8);
    for (int x = 0; x < 8; x++)
        ((float *)step.data)[x] = x < 4 ? 0.0f : 100.0f;
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    o.interp[2] = VXT_INTERP_CUBIC;
    o.interp[0] = o.interp[1] = VXT_INTERP_NEAREST;
    const int64_t up[3] = {1, 1, 32};
    vxt_volume raw = resample(cpu, &step, up, &o);
    o.clip = VXT_CLIP_INPUT_RANGE;
    vxt_volume clipped = resample(cpu, &step, up, &o);
    float lo = 0.0f, hi = 0.0f;
    for (int x = 0; x < 32; x++) {
        float r = ((float *)raw.data)[x], c = ((float *)clipped.data)[x];
        lo = r < lo ? r : lo;
        hi = r > hi ? r : hi;
        assert_true(c >= 0.0f && c <= 100.0f);
        assert_true(c == (r < 0.0f ? 0.0f : r > 100.0f ? 100.0f : r));
    }
    assert_true(lo < -1.0f && hi > 101.0f); /* the overshoot the clip removes */
    pt_free(&raw);
    pt_free(&clipped);
    pt_free(&step);
    print_message("samples, constants: largest error %.3g of the input's magnitude\n", worst);
    vxt_context_destroy(cpu);
}

/* The cases both backends run. */
typedef struct ccase {
    const char *name;
    vxt_interp interp[3];
    vxt_grid_align align;
    vxt_boundary boundary;
    vxt_resample_clip clip;
    int64_t shape[3];
} ccase;

#define C3 {VXT_INTERP_CUBIC, VXT_INTERP_CUBIC, VXT_INTERP_CUBIC}
static const ccase ccases[] = {
    {"cubic up, clamp", C3, VXT_ALIGN_HALF_PIXEL, VXT_BOUNDARY_CLAMP, VXT_CLIP_NONE, {13, 17, 20}},
    {"cubic down, constant", C3, VXT_ALIGN_HALF_PIXEL, VXT_BOUNDARY_CONSTANT, VXT_CLIP_NONE, {5, 6, 8}},
    {"cubic mixed, mirror, corner", C3, VXT_ALIGN_CORNERS, VXT_BOUNDARY_MIRROR, VXT_CLIP_NONE, {11, 5, 23}},
    {"cubic, grid-mirror, clip", C3, VXT_ALIGN_HALF_PIXEL, VXT_BOUNDARY_GRID_MIRROR, VXT_CLIP_INPUT_RANGE, {8, 20, 9}},
    {"separate z (nnU-Net), clip per slice", {VXT_INTERP_NEAREST, VXT_INTERP_CUBIC, VXT_INTERP_CUBIC},
     VXT_ALIGN_HALF_PIXEL, VXT_BOUNDARY_CLAMP, VXT_CLIP_INPUT_RANGE, {21, 10, 22}},
    {"separate x, constant, clip per slice", {VXT_INTERP_CUBIC, VXT_INTERP_CUBIC, VXT_INTERP_NEAREST},
     VXT_ALIGN_HALF_PIXEL, VXT_BOUNDARY_CONSTANT, VXT_CLIP_INPUT_RANGE, {6, 9, 30}},
    {"cubic z, linear y, nearest x, clip", {VXT_INTERP_CUBIC, VXT_INTERP_LINEAR, VXT_INTERP_NEAREST},
     VXT_ALIGN_CORNERS, VXT_BOUNDARY_CONSTANT, VXT_CLIP_INPUT_RANGE, {12, 7, 16}},
    {"linear, clipped", {VXT_INTERP_LINEAR, VXT_INTERP_LINEAR, VXT_INTERP_LINEAR}, VXT_ALIGN_HALF_PIXEL,
     VXT_BOUNDARY_CONSTANT, VXT_CLIP_INPUT_RANGE, {10, 3, 17}},
};
#define NCC (sizeof ccases / sizeof ccases[0])

static vxt_volume run_case(vxt_context *ctx, const ccase *k, const vxt_volume *in)
{
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    memcpy(o.interp, k->interp, sizeof o.interp);
    o.align = k->align;
    o.boundary = k->boundary;
    o.clip = k->clip;
    o.fill_value = -7.25;
    return resample(ctx, in, k->shape, &o);
}

static void test_threads(void **state)
{
    (void)state;
    vxt_context *one = pt_cpu(1), *three = pt_cpu(3);
    size_t checked = 0;
    for (size_t t = 0; t < PT_NTYPES; t++) {
        vxt_volume in = pt_alloc(pt_types[t], 2, 7, 9, 11);
        pt_fill(&in, 31 + t, 0);
        vxt_volume keep = pt_copy(&in);
        for (size_t k = 0; k < NCC; k++) {
            vxt_volume a = run_case(one, &ccases[k], &in), b = run_case(three, &ccases[k], &in);
            char what[128];
            snprintf(what, sizeof what, "%s, %s", ccases[k].name, vxt_dtype_name(in.dtype));
            assert_int_equal(pt_diff(a.data, b.data, pt_elems(&a), 4, what), 0);
            checked += pt_elems(&a);
            pt_free(&a);
            pt_free(&b);
        }
        assert_memory_equal(in.data, keep.data, pt_bytes(&in)); /* the input is not touched */
        pt_free(&in);
        pt_free(&keep);
    }
    /* the linear path's bits, before the clip: the B-spline path's linear arithmetic is the linear resampler's */
    vxt_volume in = pt_alloc(VXT_DTYPE_I16, 1, 7, 9, 11);
    pt_fill(&in, 5, 0);
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    const int64_t sh[3] = {10, 3, 17};
    vxt_volume lin = resample(three, &in, sh, &o);
    o.clip = VXT_CLIP_INPUT_RANGE;
    vxt_volume clipped = resample(three, &in, sh, &o);
    assert_int_equal(pt_diff(lin.data, clipped.data, pt_elems(&lin), 4, "linear against linear + clip"), 0);
    pt_free(&lin);
    pt_free(&clipped);
    pt_free(&in);
    print_message("%zu voxels identical on 1 and 3 threads\n", checked);
    vxt_context_destroy(one);
    vxt_context_destroy(three);
}

static void test_bad_options(void **state)
{
    (void)state;
    vxt_context *cpu = pt_cpu(1);
    vxt_volume in = pt_alloc(VXT_DTYPE_F32, 1, 4, 5, 6), out = pt_alloc(VXT_DTYPE_F32, 1, 6, 7, 8);
    pt_fill(&in, 3, 0);
    vxt_volume out_u8 = pt_alloc(VXT_DTYPE_F32, 1, 6, 7, 8);
    out_u8.dtype = VXT_DTYPE_U8;
    vxt_resample_options o;
#define RESET()                                                                                                        \
    do {                                                                                                               \
        vxt_resample_options_init(&o);                                                                                 \
        o.interp[0] = o.interp[1] = o.interp[2] = VXT_INTERP_CUBIC;                                                    \
    } while (0)
    RESET();
    o.scale[1] = 1.5;
    assert_status_msg(vxt_resample(cpu, &in, &out, &o), VXT_ERR_INVALID_ARGUMENT, "takes its ratio from the shapes");
    RESET();
    o.out_z_total = 12;
    assert_status_msg(vxt_resample(cpu, &in, &out, &o), VXT_ERR_INVALID_ARGUMENT, "resample whole volumes");
    RESET();
    o.in_z_total = 8;
    assert_status_msg(vxt_resample(cpu, &in, &out, &o), VXT_ERR_INVALID_ARGUMENT, "resample whole volumes");
    RESET();
    o.interp[1] = VXT_INTERP_LINEAR;
    o.boundary = VXT_BOUNDARY_MIRROR;
    assert_status_msg(vxt_resample(cpu, &in, &out, &o), VXT_ERR_INVALID_ARGUMENT, "every axis cubic or nearest");
    RESET();
    o.interp[0] = o.interp[1] = o.interp[2] = VXT_INTERP_LINEAR;
    o.boundary = VXT_BOUNDARY_GRID_MIRROR;
    assert_status_msg(vxt_resample(cpu, &in, &out, &o), VXT_ERR_INVALID_ARGUMENT, "every axis cubic or nearest");
    RESET();
    o.clip = (vxt_resample_clip)7;
    assert_status_msg(vxt_resample(cpu, &in, &out, &o), VXT_ERR_INVALID_ARGUMENT, "not a vxt_resample_clip");
    RESET();
    o.boundary = (vxt_boundary)9;
    assert_status_msg(vxt_resample(cpu, &in, &out, &o), VXT_ERR_INVALID_ARGUMENT, "not a vxt_boundary");
    RESET();
    o.interp[2] = (vxt_interp)11;
    assert_status_msg(vxt_resample(cpu, &in, &out, &o), VXT_ERR_INVALID_ARGUMENT, "not a vxt_interp");
    RESET();
    assert_status_msg(vxt_resample(cpu, &in, &out_u8, &o), VXT_ERR_INVALID_ARGUMENT, "float32");
    vxt_resample_options_init(&o);
    o.interp[0] = o.interp[1] = o.interp[2] = VXT_INTERP_NEAREST;
    o.clip = VXT_CLIP_INPUT_RANGE;
    assert_status_msg(vxt_resample(cpu, &in, &out_u8, &o), VXT_ERR_INVALID_ARGUMENT, "float32");
    /* an older caller's struct (without clip) gets no clip; nnU-Net order 3 needs the field */
    const double s1[3] = {3.5, 1, 1}, s2[3] = {1, 1, 1};
    vxt_resample_options_init(&o);
    o.struct_size = offsetof(vxt_resample_options, clip);
    assert_status_msg(vxt_resample_options_nnunet_order(s1, s2, 3, &o), VXT_ERR_STRUCT_SIZE, "no clip field");
    assert_ok(vxt_resample_options_nnunet_order(s1, s2, 1, &o));
    vxt_resample_options_init(&o);
    assert_status_msg(vxt_resample_options_nnunet_order(s1, s2, 2, &o), VXT_ERR_INVALID_ARGUMENT, "order 2");
    assert_int_equal(vxt_resample_options_nnunet_order(NULL, s2, 3, &o), VXT_ERR_NULL);
    assert_ok(vxt_resample_options_nnunet_order(s1, s2, 3, &o));
    assert_int_equal(o.interp[0], VXT_INTERP_NEAREST);
    assert_int_equal(o.interp[1], VXT_INTERP_CUBIC);
    assert_int_equal(o.clip, VXT_CLIP_INPUT_RANGE);
    assert_ok(vxt_resample_options_nnunet_order(s2, s2, 3, &o));
    assert_int_equal(o.interp[0], VXT_INTERP_CUBIC);
    /* the slab helper names every input plane for a cubic z axis */
    int64_t z0 = -1, z1 = -1;
    vxt_resample_options_init(&o);
    o.interp[0] = VXT_INTERP_CUBIC;
    assert_ok(vxt_resample_z_sources(&o, 9, 20, 3, 5, &z0, &z1));
    assert_int_equal(z0, 0);
    assert_int_equal(z1, 9);
    /* names */
    vxt_resample_clip cl;
    assert_ok(vxt_resample_clip_parse("Input-Range", &cl));
    assert_int_equal(cl, VXT_CLIP_INPUT_RANGE);
    assert_status_msg(vxt_resample_clip_parse("some", &cl), VXT_ERR_INVALID_ARGUMENT, "none, input-range");
    assert_string_equal(vxt_interp_name(VXT_INTERP_CUBIC), "cubic");
    assert_string_equal(vxt_boundary_name(VXT_BOUNDARY_GRID_MIRROR), "grid-mirror");
    pt_free(&in);
    pt_free(&out);
    out_u8.dtype = VXT_DTYPE_F32;
    pt_free(&out_u8);
    vxt_context_destroy(cpu);
}

static void test_device_bits(void **state)
{
    (void)state;
    vxt_context *cpu = pt_cpu(3), *cl = pt_cl(), *cl_copy = pt_cl();
    cl_copy->pp_variant = VXT__PP_COPY; /* buffers filled and read back by copies, as on a discrete GPU */
    size_t checked = 0;
    vxt_context *const dev[2] = {cl, cl_copy};
    /* vxt_test_small() (Oclgrind): the types of pt_small_type, the two device variants taking turns over the cases */
    for (size_t t = 0; t < PT_NTYPES; t++) {
        if (!pt_small_type(pt_types[t]))
            continue;
        for (int specials = 0; specials < 2; specials++) {
            if (specials && pt_types[t] != VXT_DTYPE_F32 && pt_types[t] != VXT_DTYPE_F64)
                continue;
            vxt_volume in = pt_alloc(pt_types[t], 2, 7, 9, 11);
            pt_fill(&in, 70 + t, specials);
            for (size_t k = 0; k < NCC; k++) {
                vxt_volume a = run_case(cpu, &ccases[k], &in);
                for (size_t v = 0; v < 2; v++) {
                    if (!vxt_test_small_turn(t + (size_t)specials + k, v, 2))
                        continue;
                    vxt_volume b = run_case(dev[v], &ccases[k], &in);
                    char what[128];
                    snprintf(what, sizeof what, "%s, %s%s%s", ccases[k].name, vxt_dtype_name(in.dtype),
                             specials ? " with NaN and infinities" : "", v ? ", copies" : "");
                    assert_int_equal(pt_diff(a.data, b.data, pt_elems(&a), 4, what), 0);
                    checked += pt_elems(&a);
                    pt_free(&b);
                }
                pt_free(&a);
            }
            pt_free(&in);
        }
    }
    /* a coefficient buffer above the device's buffer limit: refused with VXT_ERR_UNSUPPORTED (the pipeline then
     * runs the stage on the CPU) */
    cl_copy->pp_chunk_bytes = 1024;
    vxt_volume in = pt_alloc(VXT_DTYPE_F32, 1, 8, 8, 8);
    pt_fill(&in, 1, 0);
    vxt_volume out = pt_alloc(VXT_DTYPE_F32, 1, 4, 4, 4);
    vxt_resample_options o;
    vxt_resample_options_init(&o);
    o.interp[0] = o.interp[1] = o.interp[2] = VXT_INTERP_CUBIC;
    assert_status_msg(vxt_resample(cl_copy, &in, &out, &o), VXT_ERR_UNSUPPORTED, "for the B-spline coefficients");
    pt_free(&in);
    pt_free(&out);
    print_message("%zu cubic voxels identical on the device and the CPU\n", checked);
    vxt_context_destroy(cpu);
    vxt_context_destroy(cl);
    vxt_context_destroy(cl_copy);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_references),
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_bad_options),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_device_bits),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
