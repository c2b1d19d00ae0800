/* test_status.c - status codes, their strings, version queries, backend names. */
#include <string.h>

#include "vxt_test.h"

static void test_every_status_has_text_and_name(void **state)
{
    (void)state;
    for (int s = 0; s < (int)VXT_STATUS_COUNT_; s++) {
        const char *text = vxt_status_string((vxt_status)s);
        const char *name = vxt_status_name((vxt_status)s);
        assert_non_null(text);
        assert_non_null(name);
        assert_string_not_equal(text, "unknown status");
        assert_true(strncmp(name, "VXT_", 4) == 0);
        for (int t = 0; t < s; t++) /* distinct */
            assert_string_not_equal(vxt_status_string((vxt_status)t), text);
    }
    assert_string_equal(vxt_status_string(VXT_OK), "success");
    assert_string_equal(vxt_status_name(VXT_ERR_OUT_OF_MEMORY), "VXT_ERR_OUT_OF_MEMORY");
    assert_int_equal(VXT_ERR_OUT_OF_MEMORY, 4); /* values are part of the ABI */
}

static void test_unknown_status(void **state)
{
    (void)state;
    assert_string_equal(vxt_status_string((vxt_status)9999), "unknown status");
    assert_string_equal(vxt_status_string((vxt_status)-1), "unknown status");
    assert_string_equal(vxt_status_name((vxt_status)9999), "VXT_ERR_UNKNOWN");
}

static void test_version(void **state)
{
    (void)state;
    assert_int_equal(vxt_version_number(), VXT_VERSION_NUMBER);
    assert_string_equal(vxt_version_string(), VXT_VERSION_STRING);
    assert_int_equal(VXT_VERSION_NUMBER, VXT_VERSION_MAJOR * 10000 + VXT_VERSION_MINOR * 100 + VXT_VERSION_PATCH);
}

static void test_backend_names(void **state)
{
    (void)state;
    vxt_backend b = VXT_BACKEND_CPU;
    assert_ok(vxt_backend_parse("OpenCL", &b));
    assert_int_equal(b, VXT_BACKEND_OPENCL);
    assert_ok(vxt_backend_parse("cpu", &b));
    assert_int_equal(b, VXT_BACKEND_CPU);
    assert_ok(vxt_backend_parse("auto", &b));
    assert_int_equal(b, VXT_BACKEND_AUTO);
    assert_status_msg(vxt_backend_parse("cuda", &b), VXT_ERR_INVALID_ARGUMENT, "'cuda'");
    assert_status_msg(vxt_backend_parse(NULL, &b), VXT_ERR_NULL, "name");
    assert_status_msg(vxt_backend_parse("cpu", NULL), VXT_ERR_NULL, "out");
    assert_string_equal(vxt_backend_name((vxt_backend)42), "unknown");
}

static void test_last_error_is_per_thread_and_sticky(void **state)
{
    (void)state;
    vxt_backend b;
    assert_int_equal(vxt_backend_parse("nope", &b), VXT_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(vxt_last_error(), "nope"));
    assert_ok(vxt_backend_parse("cpu", &b)); /* success does not clear it */
    assert_non_null(strstr(vxt_last_error(), "nope"));
    assert_string_equal(vxt_context_last_error(NULL), "(null context)");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_every_status_has_text_and_name),
        cmocka_unit_test(test_unknown_status),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_backend_names),
        cmocka_unit_test(test_last_error_is_per_thread_and_sticky),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
