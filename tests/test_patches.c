/* test_patches.c - box and tri-planar patch extraction: naive references with padding, every input type, copies
 * of the input's type, bad input (cpu); identical bits on the OpenCL device, including slabs (opencl). */
#include "preproc_testutil.h"

static const int64_t starts[][3] = {{-3, 2, -4}, {0, 0, 0}, {5, -7, 9}, {-50, -50, -50}, {2, 3, 4}};
static const int64_t boxes[][3] = {{6, 9, 11}, {7, 12, 13}, {4, 10, 8}, {3, 3, 3}, {1, 1, 1}};

static float ref_value(const vxt_volume *in, int64_t c, int64_t z, int64_t y, int64_t x, float fill)
{
    if (z < 0 || y < 0 || x < 0 || z >= in->shape[0] || y >= in->shape[1] || x >= in->shape[2])
        return fill;
    return vxt__pp_load(in, (size_t)(((c * in->shape[0] + z) * in->shape[1] + y) * in->shape[2] + x));
}

static void test_box_reference(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(3);
    for (size_t t = 0; t < PT_NTYPES; t++) {
        vxt_volume in = pt_alloc(pt_types[t], 2, 7, 12, 13);
        pt_fill(&in, 5 + t, 1);
        for (size_t k = 0; k < sizeof starts / sizeof starts[0]; k++) {
            vxt_volume out = pt_alloc(VXT_DTYPE_F32, 2, boxes[k][0], boxes[k][1], boxes[k][2]);
            assert_ok(vxt_extract_box(ctx, &in, starts[k], -9.5, &out));
            vxt_volume raw = pt_alloc(in.dtype, 2, boxes[k][0], boxes[k][1], boxes[k][2]);
            assert_ok(vxt_extract_box(ctx, &in, starts[k], 7.0, &raw));
            const float *o = (const float *)out.data;
            size_t i = 0;
            for (int64_t c = 0; c < 2; c++)
                for (int64_t z = 0; z < boxes[k][0]; z++)
                    for (int64_t y = 0; y < boxes[k][1]; y++)
                        for (int64_t x = 0; x < boxes[k][2]; x++, i++) {
                            float want = ref_value(&in, c, starts[k][0] + z, starts[k][1] + y, starts[k][2] + x, -9.5f);
                            assert_memory_equal(&want, &o[i], 4);
                            int64_t sz = starts[k][0] + z, sy = starts[k][1] + y, sx = starts[k][2] + x;
                            int inside = sz >= 0 && sy >= 0 && sx >= 0 && sz < 7 && sy < 12 && sx < 13;
                            size_t es = vxt_dtype_size(in.dtype);
                            if (inside && in.dtype == VXT_DTYPE_F32) /* float32 is read as float32: flushed */
                                assert_memory_equal(&want, (char *)raw.data + i * es, 4);
                            else if (inside) /* a plain copy of the element */
                                assert_memory_equal((char *)raw.data + i * es,
                                                    (char *)in.data + (size_t)(((c * 7 + sz) * 12 + sy) * 13 + sx) * es,
                                                    es);
                            else
                                assert_true(vxt__pp_load(&raw, i) == 7.0f);
                        }
            pt_free(&out);
            pt_free(&raw);
        }
        pt_free(&in);
    }
    vxt_context_destroy(ctx);
}

static void test_triplanar_reference(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(2);
    const int64_t centers[] = {3, 4, 5, 0, 0, 0, 6, 11, 12, -2, 5, 20, 100, 100, 100};
    const size_t n = 5;
    const int64_t half[2] = {3, 2};
    const int64_t rows = 7, cols = 5;
    for (size_t t = 0; t < PT_NTYPES; t++) {
        vxt_volume in = pt_alloc(pt_types[t], 2, 7, 12, 13);
        pt_fill(&in, 9 + t, 1);
        size_t count = n * 3 * 2 * (size_t)rows * (size_t)cols;
        float *out = malloc(count * sizeof *out);
        assert_non_null(out);
        vxt_poison(out, count * sizeof *out);
        assert_ok(vxt_extract_triplanar(ctx, &in, centers, n, half, 1.5, out, count));
        for (size_t i = 0; i < n; i++)
            for (int64_t p = 0; p < 3; p++)
                for (int64_t c = 0; c < 2; c++)
                    for (int64_t r = 0; r < rows; r++)
                        for (int64_t q = 0; q < cols; q++) {
                            int64_t cz = centers[3 * i], cy = centers[3 * i + 1], cx = centers[3 * i + 2];
                            int64_t dr = r - half[0], dc = q - half[1], z, y, x;
                            if (p == 0) { /* axial: rows y, columns x */
                                z = cz;
                                y = cy + dr;
                                x = cx + dc;
                            } else if (p == 1) { /* sagittal: rows z, columns y */
                                z = cz + dr;
                                y = cy + dc;
                                x = cx;
                            } else { /* coronal: rows z, columns x */
                                z = cz + dr;
                                y = cy;
                                x = cx + dc;
                            }
                            float want = ref_value(&in, c, z, y, x, 1.5f);
                            size_t o =
                                ((((i * 3 + (size_t)p) * 2 + (size_t)c) * (size_t)rows + (size_t)r) * (size_t)cols) +
                                (size_t)q;
                            assert_memory_equal(&want, &out[o], 4);
                        }
        free(out);
        pt_free(&in);
    }
    vxt_context_destroy(ctx);
}

static void test_bad_input(void **state)
{
    (void)state;
    vxt_context *ctx = pt_cpu(2);
    vxt_volume in = pt_alloc(VXT_DTYPE_I16, 1, 5, 6, 7);
    pt_fill(&in, 1, 0);
    vxt_volume keep = pt_copy(&in);
    vxt_volume out = pt_alloc(VXT_DTYPE_F32, 1, 3, 3, 3);
    int64_t s[3] = {0, 0, 0};
    assert_status_msg(vxt_extract_box(NULL, &in, s, 0, &out), VXT_ERR_NULL, "ctx");
    assert_status_msg(vxt_extract_box(ctx, &in, NULL, 0, &out), VXT_ERR_NULL, "start");
    assert_status_msg(vxt_extract_box(ctx, &in, s, 0, NULL), VXT_ERR_NULL, "out");
    s[1] = INT64_MAX;
    assert_status_msg(vxt_extract_box(ctx, &in, s, 0, &out), VXT_ERR_INVALID_ARGUMENT, "start[1]");
    s[1] = 0;
    vxt_volume o8 = pt_alloc(VXT_DTYPE_U8, 1, 3, 3, 3);
    assert_status_msg(vxt_extract_box(ctx, &in, s, 0, &o8), VXT_ERR_INVALID_ARGUMENT, "out.dtype");
    vxt_volume o16 = pt_alloc(VXT_DTYPE_I16, 1, 3, 3, 3);
    assert_status_msg(vxt_extract_box(ctx, &in, s, 0.5, &o16), VXT_ERR_INVALID_ARGUMENT, "fill_value 0.5");
    assert_status_msg(vxt_extract_box(ctx, &in, s, NAN, &out), VXT_ERR_INVALID_ARGUMENT, "fill_value");
    vxt_volume o2 = out;
    o2.channels = 2;
    assert_status_msg(vxt_extract_box(ctx, &in, s, 0, &o2), VXT_ERR_SHAPE_MISMATCH, "channels");
    o2 = out;
    o2.shape[0] = -1;
    assert_status_msg(vxt_extract_box(ctx, &in, s, 0, &o2), VXT_ERR_INVALID_ARGUMENT, "out.shape[0]");
    vxt_volume alias = {in.data, VXT_DTYPE_F32, 1, {1, 1, 2}};
    assert_status_msg(vxt_extract_box(ctx, &in, s, 0, &alias), VXT_ERR_INVALID_ARGUMENT, "overlaps");
    int64_t c[3] = {1, 1, 1}, h[2] = {1, 1};
    float buf[27];
    assert_status_msg(vxt_extract_triplanar(ctx, &in, c, 1, h, 0, buf, 26), VXT_ERR_SHAPE_MISMATCH, "27 floats");
    assert_status_msg(vxt_extract_triplanar(ctx, &in, c, 0, h, 0, buf, 27), VXT_ERR_INVALID_ARGUMENT, "n is 0");
    assert_status_msg(vxt_extract_triplanar(ctx, &in, NULL, 1, h, 0, buf, 27), VXT_ERR_NULL, "centers");
    assert_status_msg(vxt_extract_triplanar(ctx, &in, c, 1, NULL, 0, buf, 27), VXT_ERR_NULL, "half");
    assert_status_msg(vxt_extract_triplanar(ctx, &in, c, 1, h, 0, NULL, 27), VXT_ERR_NULL, "out");
    h[0] = -1;
    assert_status_msg(vxt_extract_triplanar(ctx, &in, c, 1, h, 0, buf, 27), VXT_ERR_INVALID_ARGUMENT, "half[0] is -1");
    h[0] = 1;
    c[2] = INT64_MIN;
    assert_status_msg(vxt_extract_triplanar(ctx, &in, c, 1, h, 0, buf, 27), VXT_ERR_INVALID_ARGUMENT, "centers[2]");
    c[2] = 1;
    assert_status_msg(vxt_extract_triplanar(ctx, &in, c, SIZE_MAX / 2, h, 0, buf, 27), VXT_ERR_OVERFLOW, "n is");
    assert_status_msg(vxt_extract_triplanar(ctx, &in, c, 1, h, INFINITY, buf, 27), VXT_ERR_INVALID_ARGUMENT,
                      "fill_value");
    assert_status_msg(vxt_extract_triplanar(ctx, &in, c, 1, h, 0, (float *)in.data, 27), VXT_ERR_INVALID_ARGUMENT,
                      "overlaps");
    assert_memory_equal(in.data, keep.data, pt_bytes(&in));
    pt_free(&in);
    pt_free(&keep);
    pt_free(&out);
    pt_free(&o8);
    pt_free(&o16);
    vxt_context_destroy(ctx);
}

static void test_device_bits(void **state)
{
    (void)state;
    vxt_context *cpu = pt_cpu(3), *cl = pt_cl(), *cl_slabs = pt_cl();
    cl_slabs->pp_variant = VXT__PP_COPY; /* copies in and out, as on a discrete GPU */
    const int64_t centers[] = {3, 4, 5, 0, 0, 0, 6, 11, 12, -2, 5, 20, 100, 100, 100, 2, 9, 1};
    const int64_t half[2] = {4, 3};
    for (size_t t = 0; t < PT_NTYPES; t++) {
        vxt_volume in = pt_alloc(pt_types[t], 2, 7, 12, 13);
        pt_fill(&in, 19 + t, 1);
        cl_slabs->pp_chunk_bytes = 3 * 12 * 13 * vxt_dtype_size(in.dtype) + 1000; /* a few planes */
        for (size_t k = 0; k < sizeof starts / sizeof starts[0]; k++)
            for (int raw = 0; raw < 2; raw++) {
                vxt_volume a = pt_alloc(raw ? in.dtype : VXT_DTYPE_F32, 2, boxes[k][0], boxes[k][1], boxes[k][2]);
                vxt_volume b = pt_alloc(a.dtype, 2, boxes[k][0], boxes[k][1], boxes[k][2]);
                vxt_volume c = pt_alloc(a.dtype, 2, boxes[k][0], boxes[k][1], boxes[k][2]);
                assert_ok(vxt_extract_box(cpu, &in, starts[k], 3.0, &a));
                assert_ok(vxt_extract_box(cl, &in, starts[k], 3.0, &b));
                assert_ok(vxt_extract_box(cl_slabs, &in, starts[k], 3.0, &c));
                assert_int_equal(pt_diff(a.data, b.data, pt_elems(&a), vxt_dtype_size(a.dtype), "box"), 0);
                assert_int_equal(pt_diff(a.data, c.data, pt_elems(&a), vxt_dtype_size(a.dtype), "box slabs"), 0);
                pt_free(&a);
                pt_free(&b);
                pt_free(&c);
            }
        const size_t n = 6, count = n * 3 * 2 * 9 * 7;
        float *a = malloc(count * 4), *b = malloc(count * 4), *c = malloc(count * 4);
        assert_true(a && b && c);
        vxt_poison(a, count * 4);
        vxt_poison(b, count * 4);
        vxt_poison(c, count * 4);
        /* a position's planes (2*4+1) fit, the whole input (2 x 7 planes) does not: one position at a time */
        cl_slabs->pp_chunk_bytes = 9 * 12 * 13 * vxt_dtype_size(in.dtype) + 3 * 9 * 7 * 4;
        assert_ok(vxt_extract_triplanar(cpu, &in, centers, n, half, -1.0, a, count));
        assert_ok(vxt_extract_triplanar(cl, &in, centers, n, half, -1.0, b, count));
        assert_ok(vxt_extract_triplanar(cl_slabs, &in, centers, n, half, -1.0, c, count));
        assert_int_equal(pt_diff(a, b, count, 4, "triplanar"), 0);
        assert_int_equal(pt_diff(a, c, count, 4, "triplanar slabs"), 0);
        free(a);
        free(b);
        free(c);
        pt_free(&in);
    }
    vxt_context_destroy(cpu);
    vxt_context_destroy(cl);
    vxt_context_destroy(cl_slabs);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_box_reference),
        cmocka_unit_test(test_triplanar_reference),
        cmocka_unit_test(test_bad_input),
    };
    const struct CMUnitTest opencl[] = {
        cmocka_unit_test(test_device_bits),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0), VXT_GROUP("opencl", opencl, 1)};
    return vxt_test_main(argc, argv, groups, 2);
}
