/* test_plan_json.c - plans as library objects: defaults, the strict JSON reader (every error names its origin and
 * JSON path, and leaves the plan unchanged), round trips through vxt_plan_to_json, the mode rule (a new mode drops
 * the old one's parameters), nnU-Net model folders (every configuration of tests/data/nnunet, transpose_forward,
 * regions_class_order, the reader's reorientation, and their errors), the tiling and stitching settings a plan
 * gives, and vxt_plan_normalize and vxt_plan_rescale (normalization.replace) against the preprocessing calls they
 * stand for. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vxt_test.h"

static vxt_plan *plan_from(const char *json)
{
    vxt_plan *p = NULL;
    assert_ok(vxt_plan_create(&p));
    if (json)
        assert_ok(vxt_plan_load_json(p, json, strlen(json), "test"));
    return p;
}

static vxt_status load(vxt_plan *p, const char *json, const char *origin)
{
    return vxt_plan_load_json(p, json, strlen(json), origin);
}

/* The plan as JSON (caller frees with vxt_buffer_free). */
static char *json_of(const vxt_plan *p)
{
    char *s = NULL;
    assert_ok(vxt_plan_to_json(p, &s));
    assert_non_null(s);
    return s;
}

static cJSON *tree_of(const vxt_plan *p)
{
    char *s = json_of(p);
    cJSON *j = cJSON_Parse(s);
    vxt_buffer_free(s);
    assert_non_null(j);
    return j;
}

static const cJSON *at(const cJSON *j, const char *a, const char *b)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, a);
    return b ? cJSON_GetObjectItemCaseSensitive(o, b) : o;
}

static void assert_same_plans(const vxt_plan *a, const vxt_plan *b)
{
    char *sa = json_of(a), *sb = json_of(b);
    if (strcmp(sa, sb) != 0)
        fail_msg("plans differ:\n%s\n---\n%s", sa, sb);
    vxt_buffer_free(sa);
    vxt_buffer_free(sb);
}

static void test_defaults(void **state)
{
    (void)state;
    vxt_plan *p = plan_from(NULL);
    cJSON *j = tree_of(p);
    assert_int_equal(at(j, "voxtile_plan", NULL)->valueint, 1);
    assert_true(cJSON_IsNull(at(j, "roi", NULL)));
    assert_true(cJSON_IsNull(at(j, "orientation", NULL)));
    assert_true(cJSON_IsNull(at(j, "target_spacing", NULL)));
    assert_string_equal(at(j, "grid", NULL)->valuestring, "monai");
    assert_true(at(j, "overlap", NULL)->valuedouble == 0.5);
    assert_null(at(j, "step", NULL)); /* parameters of other modes are not printed */
    assert_string_equal(at(j, "importance", NULL)->valuestring, "gaussian");
    assert_true(at(j, "sigma_scale", NULL)->valuedouble == 0.125);
    assert_string_equal(at(j, "accumulate", NULL)->valuestring, "float32");
    assert_int_equal(at(j, "batch_size", NULL)->valueint, 1);
    assert_string_equal(at(j, "activation", NULL)->valuestring, "softmax");
    assert_string_equal(at(j, "ensemble", NULL)->valuestring, "logits");
    assert_string_equal(at(j, "labels", "rule")->valuestring, "argmax");
    assert_string_equal(at(j, "output", "label_dtype")->valuestring, "uint8");
    assert_string_equal(at(j, "output", "resample_back")->valuestring, "probabilities");
    assert_string_equal(at(j, "normalization", "scheme")->valuestring, "none");
    cJSON_Delete(j);
    assert_status_msg(vxt_plan_check(p), VXT_ERR_INVALID_ARGUMENT, "$.model: no model");
    vxt_plan_info info = {.struct_size = sizeof info};
    assert_ok(vxt_plan_get_info(p, &info));
    assert_int_equal(info.members, 0);
    assert_int_equal(info.roi[0], 0);
    assert_string_equal(info.origin, "defaults");
    /* a printed default plan reads back as the same plan (roi null: not given) */
    char *s = json_of(p);
    vxt_plan *q = plan_from(s);
    assert_same_plans(p, q);
    vxt_buffer_free(s);
    vxt_plan_destroy(q);
    assert_ok(load(p, "{\"model\": \"identity\"}", "m"));
    assert_status_msg(vxt_plan_check(p), VXT_ERR_INVALID_ARGUMENT, "$.roi: missing");
    assert_ok(load(p, "{\"roi\": 32}", "r"));
    assert_ok(vxt_plan_check(p));
    assert_ok(vxt_plan_get_info(p, &info));
    assert_string_equal(info.origin, "defaults; m; r");
    assert_int_equal(info.roi[2], 32);
    vxt_plan_destroy(p);
}

/* Every kind of error: its status, its message (origin and JSON path), and the plan left as it was. */
static void test_strict_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        vxt_status st;
        const char *msg;
    } bad[] = {
        {"{\"overlapp\": 0.5}", VXT_ERR_INVALID_ARGUMENT, "test: $.overlapp: unknown field"},
        {"{\"overlap\": \"half\"}", VXT_ERR_INVALID_ARGUMENT, "test: $.overlap: expected [z, y, x], [y, x] or a number"},
        {"{\"overlap\": 1.5}", VXT_ERR_INVALID_ARGUMENT, "$.overlap: 1.5 is out of range [0, 1)"},
        {"{\"overlap\": [0.5, 1]}", VXT_ERR_INVALID_ARGUMENT, "$.overlap[1]: 1 is out of range [0, 1)"},
        {"{\"overlap\": [0.5, -0.25, 0.1]}", VXT_ERR_INVALID_ARGUMENT, "$.overlap[1]: -0.25 is out of range [0, 1)"},
        {"{\"overlap\": [0.1, 0.2, 0.3, 0.4]}", VXT_ERR_INVALID_ARGUMENT, "$.overlap: expected [z, y, x]"},
        {"{\"roi\": [64, 64.5, 64]}", VXT_ERR_INVALID_ARGUMENT, "$.roi[1]: 64.5 is not a whole number"},
        {"{\"roi\": [64, 0, 64]}", VXT_ERR_INVALID_ARGUMENT, "$.roi[1]: 0 is out of range"},
        {"{\"voxtile_plan\": 2}", VXT_ERR_INVALID_ARGUMENT, "$.voxtile_plan: unsupported plan version"},
        {"{\"grid\": \"monia\"}", VXT_ERR_INVALID_ARGUMENT, "$.grid: unknown tile placement 'monia' (expected one of: "
                                                           "monai, nnunet, voxels)"},
        {"{\"normalization\": {\"scheme\": \"zscor\"}}", VXT_ERR_INVALID_ARGUMENT,
         "$.normalization.scheme: unknown normalization 'zscor'"},
        {"{\"normalization\": {\"scheme\": \"window\", \"low\": 0}}", VXT_ERR_INVALID_ARGUMENT,
         "$.normalization.low: unknown field"},
        {"{\"normalization\": {\"percentiles\": [1]}}", VXT_ERR_INVALID_ARGUMENT,
         "$.normalization.percentiles: expected [low, high]"},
        {"{\"normalization\": {\"replace\": {\"value\": -2000}}}", VXT_ERR_INVALID_ARGUMENT,
         "$.normalization.replace: missing \"with\""},
        {"{\"normalization\": {\"replace\": {\"with\": -1024}}}", VXT_ERR_INVALID_ARGUMENT,
         "$.normalization.replace: missing \"value\""},
        {"{\"normalization\": {\"replace\": {\"value\": \"pad\", \"with\": 0}}}", VXT_ERR_INVALID_ARGUMENT,
         "$.normalization.replace.value: 'pad': expected a number or \"padding\""},
        {"{\"normalization\": {\"replace\": {\"value\": true, \"with\": 0}}}", VXT_ERR_INVALID_ARGUMENT,
         "$.normalization.replace.value: expected a number"},
        {"{\"normalization\": {\"replace\": {\"value\": -2000, \"with\": \"air\"}}}", VXT_ERR_INVALID_ARGUMENT,
         "$.normalization.replace.with: expected a number"},
        {"{\"normalization\": {\"replace\": {\"value\": 1e31, \"with\": 0}}}", VXT_ERR_INVALID_ARGUMENT,
         "$.normalization.replace.value: 1e+31 is out of range"},
        {"{\"normalization\": {\"replace\": {\"value\": 1, \"with\": 2, \"by\": 3}}}", VXT_ERR_INVALID_ARGUMENT,
         "$.normalization.replace.by: unknown field"},
        {"{\"normalization\": {\"replace\": [-2000, -1024]}}", VXT_ERR_INVALID_ARGUMENT,
         "$.normalization.replace: expected an object with \"value\""},
        {"{\"model\": \"identity\", \"members\": [\"identity\"]}", VXT_ERR_INVALID_ARGUMENT, "not both"},
        {"{\"model\": \"\"}", VXT_ERR_INVALID_ARGUMENT, "$.model: empty model specification"},
        {"{\"model\": {\"config\": \"x\"}}", VXT_ERR_INVALID_ARGUMENT, "$.model: missing \"model\""},
        {"{\"members\": []}", VXT_ERR_INVALID_ARGUMENT, "$.members: expected an array of 1 to"},
        {"{\"members\": [\"identity\", {\"model\": 3}]}", VXT_ERR_INVALID_ARGUMENT,
         "$.members[1].model: expected a string"},
        {"{\"orientation\": \"RAR\"}", VXT_ERR_INVALID_ARGUMENT, "$.orientation: 'RAR' is not an orientation"},
        {"{\"orientation\": \"R\\u0001S\"}", VXT_ERR_INVALID_ARGUMENT, "'R\\x01S' is not an orientation"},
        /* found by fuzz_plan_load: a space (which masks to '\0') was taken for an axis; a key from the file shown raw */
        {"{\"orientation\": \"LA \"}", VXT_ERR_INVALID_ARGUMENT, "'LA ' is not an orientation"},
        {"{\"output\": {\"resample_b\\u00e9\": 1}}", VXT_ERR_INVALID_ARGUMENT, "$.output.resample_b\\xc3\\xa9: unknown field"},
        {"{\"transpose\": [0, 0, 1]}", VXT_ERR_INVALID_ARGUMENT, "$.transpose[1]: axis 0 listed twice"},
        {"{\"transpose\": [0, 1]}", VXT_ERR_INVALID_ARGUMENT, "$.transpose: expected a permutation"},
        {"{\"mirror_axes\": [0, 3]}", VXT_ERR_INVALID_ARGUMENT, "$.mirror_axes[1]: 3 is out of range [0, 2]"},
        {"{\"mirror_axes\": [1, 1]}", VXT_ERR_INVALID_ARGUMENT, "$.mirror_axes[1]: axis 1 listed twice"},
        {"{\"labels\": {\"rule\": \"regions\", \"region_labels\": [1, -2]}}", VXT_ERR_INVALID_ARGUMENT,
         "$.labels.region_labels[1]: -2 is out of range"},
        {"{\"labels\": {\"cutoff\": 0.5}}", VXT_ERR_INVALID_ARGUMENT, "$.labels.cutoff: unknown field"},
        {"{\"output\": {\"label_dtype\": \"float32\"}}", VXT_ERR_INVALID_ARGUMENT,
         "$.output.label_dtype: labels are uint8 or uint16, not float32"},
        {"{\"batch_size\": 0}", VXT_ERR_INVALID_ARGUMENT, "$.batch_size: 0 is out of range"},
        {"{\"normalize_before_resampling\": 1}", VXT_ERR_INVALID_ARGUMENT, "expected true or false"},
        {"{\"class_names\": [\"a\", 2]}", VXT_ERR_INVALID_ARGUMENT, "$.class_names[1]: expected a string"},
        {"{\"batch_size\": 2, \"batch_size\": 3}", VXT_ERR_INVALID_ARGUMENT, "field \"batch_size\" given twice"},
        {"[1, 2]", VXT_ERR_INVALID_ARGUMENT, "$: a plan must be a JSON object"},
        {"{\"batch_size\": 2,\n \"grid\": }", VXT_ERR_FORMAT, "line 2"},
        {"", VXT_ERR_FORMAT, "test"},
    };
    vxt_plan *p = plan_from("{\"model\": \"bands:0.5\", \"roi\": [8, 16, 16], \"overlap\": 0.25, \"class_names\": "
                            "[\"bg\", \"fg\"]}");
    char *before = json_of(p);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_status_msg(vxt_plan_load_json(p, bad[i].json, strlen(bad[i].json), "test"), bad[i].st, bad[i].msg);
        char *after = json_of(p);
        if (strcmp(before, after) != 0)
            fail_msg("'%s' changed the plan although it failed", bad[i].json);
        vxt_buffer_free(after);
    }
    /* the origin defaults to "plan"; text may stop anywhere (no NUL needed) */
    assert_status_msg(vxt_plan_load_json(p, "{\"x\": 1}", 8, NULL), VXT_ERR_INVALID_ARGUMENT, "plan: $.x");
    assert_ok(vxt_plan_load_json(p, "{\"batch_size\": 4}garbage", 17, "t"));
    assert_status_msg(load(p, "{\"batch_size\": 4}\n\n}", "t"), VXT_ERR_FORMAT, "t: text after the JSON document (line 3)");
    assert_ok(load(p, " {\"batch_size\": 4}\r\n\t ", "t"));
    assert_status_msg(vxt_plan_load_json(p, NULL, 3, "t"), VXT_ERR_NULL, "json");
    assert_status_msg(load(NULL, "{}", "t"), VXT_ERR_NULL, "plan");
    assert_status_msg(vxt_plan_load_file(p, "/nonexistent/plan.json"), VXT_ERR_IO, "/nonexistent/plan.json");
    assert_status_msg(vxt_plan_load_file(p, "/tmp"), VXT_ERR_IO, "cannot read '/tmp'");
    char big[] = "/tmp/vxt_bigplan_XXXXXX"; /* 17 MiB (sparse): more than any plan */
    int fd = mkstemp(big);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)17 << 20), 0);
    close(fd);
    assert_status_msg(vxt_plan_load_file(p, big), VXT_ERR_FORMAT, "is larger than 16 MiB: not a plan file");
    unlink(big);
    assert_status_msg(vxt_plan_to_json(p, NULL), VXT_ERR_NULL, "json");
    char *s = (char *)(uintptr_t)1;
    assert_status_msg(vxt_plan_to_json(NULL, &s), VXT_ERR_NULL, "plan");
    assert_null(s);
    vxt_buffer_free(before);
    vxt_plan_destroy(p);
}

/* Contradictions are found by vxt_plan_check (a document may be laid over another that changes the mode later). */
static void test_check_contradictions(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *msg;
    } bad[] = {
        {"{\"grid\": \"nnunet\", \"overlap\": 0.3}", "$.overlap: applies to grid \"monai\"; grid \"nnunet\" takes \"step\""},
        {"{\"step\": 0.3}", "$.step: applies to grid \"nnunet\" only"},
        {"{\"overlap_voxels\": 3}", "$.overlap_voxels: applies to grid \"voxels\" only"},
        {"{\"grid\": \"voxels\", \"overlap_voxels\": [2, 8, 2]}", "8 voxels on axis 1 is not less than the ROI"},
        {"{\"importance\": \"hann\", \"sigma_scale\": 0.2}", "$.sigma_scale: applies to importance \"gaussian\" only"},
        {"{\"roi\": [1, 8, 8], \"mirror_axes\": [0]}", "axis 0 (z) cannot be mirrored with a 2D ROI"},
        {"{\"labels\": {\"region_labels\": [1, 2]}}", "$.labels.region_labels: applies to rule \"regions\" only"},
        {"{\"labels\": {\"rule\": \"regions\"}}", "rule \"regions\" needs \"region_labels\""},
        {"{\"labels\": {\"rule\": \"regions\", \"region_labels\": [1, 300]}}", "label 300 does not fit uint8 labels"},
        {"{\"normalization\": {\"scheme\": \"window\", \"lo\": 0}}", "scheme \"window\" needs \"lo\" and \"hi\""},
        {"{\"normalization\": {\"scheme\": \"window\", \"lo\": 5, \"hi\": 5}}", "$.normalization.hi: must be greater"},
        {"{\"normalization\": {\"scheme\": \"ct\", \"lo\": 0, \"hi\": 1}}", "scheme \"ct\" needs"},
        {"{\"normalization\": {\"scheme\": \"ct\", \"lo\": 0, \"hi\": 1, \"mean\": 0, \"std\": -1}}",
         "$.normalization.std: -1: must be >= 0"},
        {"{\"normalization\": {\"scheme\": \"zscore\", \"lo\": 0}}", "scheme \"zscore\" takes no lo/hi/mean/std"},
        {"{\"normalization\": {\"scheme\": \"window\", \"lo\": 0, \"hi\": 1, \"mean\": 3}}",
         "scheme \"window\" takes no mean/std"},
        {"{\"normalization\": {\"scheme\": \"percentile\", \"percentiles\": [90, 10]}}",
         "[90, 10]: the second must be greater"},
        {"{\"normalization\": {\"percentiles\": [1, 99]}}", "applies to scheme \"percentile\" only"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vxt_plan *p = plan_from("{\"model\": \"identity\", \"roi\": [8, 8, 8]}");
        assert_ok(vxt_plan_load_json(p, bad[i].json, strlen(bad[i].json), "t"));
        assert_status_msg(vxt_plan_check(p), VXT_ERR_INVALID_ARGUMENT, bad[i].msg);
        vxt_plan_destroy(p);
    }
}

/* Every field away from its default: printed, read back, printed again: the same text; a clone is the same. */
static void test_round_trip(void **state)
{
    (void)state;
    const char *full =
        "{\"voxtile_plan\": 1, \"description\": \"every field\","
        " \"members\": [{\"model\": \"bands:0.2,0.6\", \"config\": \"sharpness=3\"}, \"identity\"],"
        " \"ensemble\": \"probabilities\", \"orientation\": \"lia\", \"transpose\": [2, 0, 1],"
        " \"target_spacing\": [2.5, 1, 0.75], \"anisotropic_resampling\": \"nnunet\","
        " \"normalize_before_resampling\": true,"
        " \"normalization\": {\"scheme\": \"ct\", \"lo\": -100.5, \"hi\": 900, \"mean\": 40.25, \"std\": 180,"
        " \"replace\": {\"value\": \"padding\", \"with\": -1024}},"
        " \"roi\": [16, 32, 48], \"grid\": \"nnunet\", \"step\": [0.5, 0.25, 0.75], \"pad\": \"reflect\","
        " \"pad_value\": -3, \"importance\": \"gaussian\", \"sigma_scale\": [0.1, 0.2, 0.3],"
        " \"accumulate\": \"float16\", \"batch_size\": 3, \"mirror_axes\": [2, 0], \"activation\": \"sigmoid\","
        " \"labels\": {\"rule\": \"regions\", \"threshold\": 0.4, \"region_labels\": [1, 2, 300]},"
        " \"output\": {\"label_dtype\": \"uint16\", \"resample_back\": \"labels\"},"
        " \"class_names\": [\"bg\", \"organ\", \"tumour\"]}";
    vxt_plan *p = plan_from(full);
    assert_ok(vxt_plan_check(p));
    cJSON *j = tree_of(p);
    assert_string_equal(at(j, "orientation", NULL)->valuestring, "LIA");
    assert_int_equal(cJSON_GetArrayItem(at(j, "transpose", NULL), 0)->valueint, 2);
    assert_int_equal(cJSON_GetArraySize(at(j, "members", NULL)), 2);
    assert_string_equal(at(j, "ensemble", NULL)->valuestring, "probabilities");
    assert_true(cJSON_GetArrayItem(at(j, "step", NULL), 1)->valuedouble == 0.25);
    assert_int_equal(cJSON_GetArraySize(at(j, "mirror_axes", NULL)), 2);
    assert_true(at(j, "labels", "threshold")->valuedouble == 0.4);
    assert_int_equal(cJSON_GetArrayItem(at(j, "labels", "region_labels"), 2)->valueint, 300);
    assert_string_equal(cJSON_GetObjectItem(at(j, "normalization", "replace"), "value")->valuestring, "padding");
    assert_true(cJSON_GetObjectItem(at(j, "normalization", "replace"), "with")->valuedouble == -1024);
    assert_null(at(j, "description", NULL)); /* for people, not kept */
    cJSON_Delete(j);
    char *s = json_of(p);
    vxt_plan *q = plan_from(s);
    assert_same_plans(p, q);
    vxt_plan *c = NULL;
    assert_ok(vxt_plan_clone(p, &c));
    assert_same_plans(p, c);
    vxt_buffer_free(s);
    const char *cfg = NULL;
    assert_string_equal(vxt_plan_member(c, 0, &cfg), "bands:0.2,0.6");
    assert_string_equal(cfg, "sharpness=3");
    assert_string_equal(vxt_plan_member(c, 1, NULL), "identity");
    assert_null(vxt_plan_member(c, 2, &cfg));
    assert_null(vxt_plan_member(c, -1, &cfg));
    assert_string_equal(vxt_plan_class_name(c, 2), "tumour");
    assert_null(vxt_plan_class_name(c, 3));
    assert_null(vxt_plan_member(NULL, 0, NULL));
    vxt_plan_info info = {.struct_size = sizeof info};
    assert_ok(vxt_plan_get_info(c, &info));
    assert_int_equal(info.members, 2);
    assert_int_equal(info.label_dtype, VXT_DTYPE_U16);
    assert_int_equal(info.class_names, 3);
    vxt_plan_info tiny = {.struct_size = 2};
    assert_status_msg(vxt_plan_get_info(c, &tiny), VXT_ERR_STRUCT_SIZE, "vxt_plan_info");
    /* a plan file */
    char path[] = "/tmp/vxt_plan_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, full, strlen(full)), (ssize_t)strlen(full));
    close(fd);
    vxt_plan *f = plan_from(NULL);
    assert_ok(vxt_plan_load_file(f, path));
    assert_same_plans(p, f);
    assert_ok(vxt_plan_get_info(f, &info));
    assert_non_null(strstr(info.origin, path));
    unlink(path);
    vxt_plan_destroy(f);
    vxt_plan_destroy(c);
    vxt_plan_destroy(q);
    vxt_plan_destroy(p);
}

/* A field that chooses a mode drops the parameters of the mode it replaces; the same mode keeps them. */
static void test_mode_rule(void **state)
{
    (void)state;
    vxt_plan *p = plan_from("{\"model\": \"identity\", \"roi\": 8, \"overlap\": 0.25, \"importance\": \"gaussian\","
                            " \"sigma_scale\": 0.2, \"normalization\": {\"scheme\": \"window\", \"lo\": 0, \"hi\": 9}}");
    assert_ok(load(p, "{\"grid\": \"monai\"}", "same"));
    cJSON *j = tree_of(p);
    assert_true(at(j, "overlap", NULL)->valuedouble == 0.25);
    cJSON_Delete(j);
    assert_ok(load(p, "{\"grid\": \"nnunet\", \"importance\": \"hann\"}", "other"));
    assert_ok(vxt_plan_check(p)); /* the plan file's overlap does not linger under nnunet placement */
    j = tree_of(p);
    assert_null(at(j, "overlap", NULL));
    assert_true(at(j, "step", NULL)->valuedouble == 0.5);
    assert_null(at(j, "sigma_scale", NULL));
    cJSON_Delete(j);
    assert_ok(load(p, "{\"normalization\": {\"replace\": {\"value\": -2000, \"with\": -1024}}}", "r"));
    assert_ok(load(p, "{\"normalization\": {\"scheme\": \"zscore\"}}", "n"));
    assert_ok(vxt_plan_check(p)); /* lo/hi went with window */
    j = tree_of(p); /* the replacement is not a parameter of the scheme: it stays */
    assert_true(cJSON_GetObjectItem(at(j, "normalization", "replace"), "value")->valuedouble == -2000);
    assert_true(cJSON_GetObjectItem(at(j, "normalization", "replace"), "with")->valuedouble == -1024);
    cJSON_Delete(j);
    assert_ok(load(p, "{\"normalization\": {\"replace\": null}}", "none"));
    j = tree_of(p);
    assert_null(at(j, "normalization", "replace"));
    cJSON_Delete(j);
    assert_ok(load(p, "{\"grid\": \"monai\", \"overlap\": [0.1, 0.2, 0.3]}", "both"));
    j = tree_of(p);
    assert_true(cJSON_GetArrayItem(at(j, "overlap", NULL), 2)->valuedouble == 0.3);
    cJSON_Delete(j);
    /* sigmoid models label by threshold unless a rule is given */
    assert_ok(load(p, "{\"activation\": \"sigmoid\"}", "s"));
    j = tree_of(p);
    assert_string_equal(at(j, "labels", "rule")->valuestring, "threshold");
    assert_true(at(j, "labels", "threshold")->valuedouble == 0.5);
    cJSON_Delete(j);
    assert_ok(load(p, "{\"labels\": {\"rule\": \"regions\", \"region_labels\": [3, 1]}}", "r"));
    assert_ok(load(p, "{\"labels\": {\"rule\": \"argmax\"}}", "a"));
    assert_ok(vxt_plan_check(p)); /* the region labels went with the regions rule */
    vxt_plan_destroy(p);
}

/* ---- nnU-Net model folders ------------------------------------------------------------------------------ */

static void test_nnunet_configurations(void **state)
{
    (void)state;
    const char *configs[] = {"2d", "3d_fullres", "3d_cascade_fullres", "3d_fullres_mr"};
    char dir[4096], rel[256];
    snprintf(dir, sizeof dir, "%s/nnunet/Dataset001_Test", vxt_test_data_dir());
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        vxt_plan *got = plan_from(NULL);
        assert_ok(vxt_plan_load_nnunet(got, dir, configs[i]));
        assert_ok(load(got, "{\"model\": \"identity\"}", "model"));
        assert_ok(vxt_plan_check(got));
        snprintf(rel, sizeof rel, "nnunet/expected/%s.json", configs[i]);
        size_t n = 0;
        char *text = vxt_test_read_file(rel, &n);
        vxt_plan *want = plan_from(NULL);
        assert_ok(vxt_plan_load_json(want, text, n, rel));
        free(text);
        assert_same_plans(want, got);
        vxt_plan_info info = {.struct_size = sizeof info};
        assert_ok(vxt_plan_get_info(got, &info));
        assert_non_null(strstr(info.origin, configs[i]));
        vxt_plan_destroy(want);
        vxt_plan_destroy(got);
    }
    vxt_plan *p = plan_from(NULL);
    assert_status_msg(vxt_plan_load_nnunet(p, dir, "3d_highres"), VXT_ERR_INVALID_ARGUMENT,
                      "$.configurations.3d_highres: no such configuration (plans.json has: 2d, 3d_lowres, 3d_fullres");
    assert_status_msg(vxt_plan_load_nnunet(p, "/nonexistent", "3d_fullres"), VXT_ERR_IO, "/nonexistent/plans.json");
    assert_status_msg(vxt_plan_load_nnunet(p, NULL, "3d_fullres"), VXT_ERR_NULL, "dir");
    assert_status_msg(vxt_plan_load_nnunet(p, dir, NULL), VXT_ERR_NULL, "configuration");
    vxt_plan_destroy(p);
}

/* A copy of tests/data/nnunet/Dataset001_Test in a temporary folder, with `edit` applied to plans.json and
 * dataset.json. */
typedef void (*folder_edit)(cJSON *plans, cJSON *dataset);

static void write_json(const char *path, const cJSON *j)
{
    char *s = cJSON_Print(j);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
    free(s);
}

static void make_folder(char *dir, folder_edit edit)
{
    strcpy(dir, "/tmp/vxt_nnunet_XXXXXX");
    assert_non_null(mkdtemp(dir));
    cJSON *plans = vxt_test_load_json("nnunet/Dataset001_Test/plans.json");
    cJSON *dataset = vxt_test_load_json("nnunet/Dataset001_Test/dataset.json");
    edit(plans, dataset);
    char path[4200];
    snprintf(path, sizeof path, "%s/plans.json", dir);
    write_json(path, plans);
    snprintf(path, sizeof path, "%s/dataset.json", dir);
    write_json(path, dataset);
    cJSON_Delete(plans);
    cJSON_Delete(dataset);
}

static void remove_folder(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/plans.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/dataset.json", dir);
    unlink(path);
    rmdir(dir);
}

static void set_array(cJSON *o, const char *key, const int *v, int n)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    cJSON_AddItemToObject(o, key, cJSON_CreateIntArray(v, n));
}

static void edit_transposed_regions(cJSON *plans, cJSON *dataset)
{
    const int f[3] = {2, 0, 1}, b[3] = {1, 2, 0}, regions[3] = {1, 2, 3};
    set_array(plans, "transpose_forward", f, 3);
    set_array(plans, "transpose_backward", b, 3);
    cJSON_DeleteItemFromObjectCaseSensitive(plans, "image_reader_writer");
    cJSON_AddStringToObject(plans, "image_reader_writer", "NibabelIOWithReorient");
    cJSON_DeleteItemFromObjectCaseSensitive(dataset, "labels"); /* regions: background 0, then overlapping regions */
    cJSON *l = cJSON_AddObjectToObject(dataset, "labels");
    cJSON_AddNumberToObject(l, "background", 0);
    const int body[3] = {1, 2, 3}, lungs_bone[2] = {2, 3};
    cJSON_AddItemToObject(l, "body", cJSON_CreateIntArray(body, 3));
    cJSON_AddItemToObject(l, "inner", cJSON_CreateIntArray(lungs_bone, 2));
    cJSON_AddNumberToObject(l, "bone", 3);
    set_array(dataset, "regions_class_order", regions, 3);
}

static void edit_bad_transpose(cJSON *plans, cJSON *dataset)
{
    (void)dataset;
    const int f[3] = {2, 0, 1}, b[3] = {2, 0, 1};
    set_array(plans, "transpose_forward", f, 3);
    set_array(plans, "transpose_backward", b, 3);
}

static void edit_bad_reader(cJSON *plans, cJSON *dataset)
{
    (void)dataset;
    cJSON_DeleteItemFromObjectCaseSensitive(plans, "image_reader_writer");
    cJSON_AddStringToObject(plans, "image_reader_writer", "SimpleITKIOWithReorient");
}

static void edit_two_channels(cJSON *plans, cJSON *dataset)
{
    (void)dataset;
    cJSON *cfg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(plans, "configurations"),
                                                  "3d_fullres");
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "normalization_schemes");
    const char *two[2] = {"CTNormalization", "ZScoreNormalization"};
    cJSON_AddItemToObject(cfg, "normalization_schemes", cJSON_CreateStringArray(two, 2));
}

/* found by fuzz_nnunet_load: a scheme name from the file went raw into the message */
static void edit_unprintable_scheme(cJSON *plans, cJSON *dataset)
{
    (void)dataset;
    cJSON *cfg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(plans, "configurations"),
                                                  "3d_fullres");
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "normalization_schemes");
    const char *one[1] = {"CT\tNorm\x7f"};
    cJSON_AddItemToObject(cfg, "normalization_schemes", cJSON_CreateStringArray(one, 1));
}

/* found by fuzz_nnunet_load: "configurations" a list, whose items (no names) were listed as configurations */
static void edit_configurations_list(cJSON *plans, cJSON *dataset)
{
    (void)dataset;
    const int v[2] = {1, 3};
    set_array(plans, "configurations", v, 2);
}

static void edit_bad_scheme(cJSON *plans, cJSON *dataset)
{
    (void)dataset;
    cJSON *cfg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(plans, "configurations"),
                                                  "3d_fullres");
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "normalization_schemes");
    const char *one[1] = {"MyOwnNormalization"};
    cJSON_AddItemToObject(cfg, "normalization_schemes", cJSON_CreateStringArray(one, 1));
}

static void edit_no_patch(cJSON *plans, cJSON *dataset)
{
    (void)dataset;
    cJSON *cfg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(plans, "configurations"),
                                                  "3d_fullres");
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "patch_size");
}

static cJSON *data_kwargs(cJSON *plans)
{
    cJSON *cfg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(plans, "configurations"),
                                                  "3d_fullres");
    return cJSON_GetObjectItemCaseSensitive(cfg, "resampling_fn_data_kwargs");
}

static void set_number(cJSON *o, const char *key, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    cJSON_AddNumberToObject(o, key, v);
}

static void edit_order_1(cJSON *plans, cJSON *dataset)
{
    (void)dataset;
    set_number(data_kwargs(plans), "order", 1);
}

static void edit_order_2(cJSON *plans, cJSON *dataset)
{
    (void)dataset;
    set_number(data_kwargs(plans), "order", 2);
}

static void edit_order_z_1(cJSON *plans, cJSON *dataset)
{
    (void)dataset;
    set_number(data_kwargs(plans), "order_z", 1);
}

static void edit_never_separate(cJSON *plans, cJSON *dataset)
{
    (void)dataset;
    cJSON_DeleteItemFromObjectCaseSensitive(data_kwargs(plans), "force_separate_z");
    cJSON_AddFalseToObject(data_kwargs(plans), "force_separate_z");
}

static void edit_always_separate(cJSON *plans, cJSON *dataset)
{
    (void)dataset;
    cJSON_DeleteItemFromObjectCaseSensitive(data_kwargs(plans), "force_separate_z");
    cJSON_AddTrueToObject(data_kwargs(plans), "force_separate_z");
}

static void edit_other_resampling(cJSON *plans, cJSON *dataset)
{
    (void)dataset;
    cJSON *cfg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(plans, "configurations"),
                                                  "3d_fullres");
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "resampling_fn_data");
    cJSON_AddStringToObject(cfg, "resampling_fn_data", "my_resampling");
}

/* nnU-Net's image resampling from its plans: order 3 by default (cubic, the separate axis from the spacings), order
 * 1 linear, force_separate_z false: never a separate axis; what voxtile cannot do is refused by name. */
static void test_nnunet_resampling(void **state)
{
    (void)state;
    static const struct {
        folder_edit edit;
        const char *interp, *aniso;
    } good[] = {{edit_order_1, "linear", "nnunet"}, {edit_never_separate, "cubic", "off"}};
    char dir[64];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        make_folder(dir, good[i].edit);
        vxt_plan *p = plan_from(NULL);
        assert_ok(vxt_plan_load_nnunet(p, dir, "3d_fullres"));
        cJSON *j = tree_of(p);
        assert_string_equal(at(j, "interpolation", NULL)->valuestring, good[i].interp);
        assert_string_equal(at(j, "anisotropic_resampling", NULL)->valuestring, good[i].aniso);
        cJSON_Delete(j);
        vxt_plan_destroy(p);
        remove_folder(dir);
    }
    static const struct {
        folder_edit edit;
        const char *msg;
    } bad[] = {
        {edit_order_2, "$.configurations.3d_fullres.resampling_fn_data_kwargs.order: order other than 1 or 3"},
        {edit_order_z_1, "resampling_fn_data_kwargs.order_z: voxtile takes the nearest slice"},
        {edit_always_separate, "force_separate_z: true: voxtile decides the separate axis from the spacings"},
        {edit_other_resampling, "$.configurations.3d_fullres.resampling_fn_data: voxtile resamples as nnU-Net's"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        make_folder(dir, bad[i].edit);
        vxt_plan *p = plan_from(NULL);
        assert_status_msg(vxt_plan_load_nnunet(p, dir, "3d_fullres"), VXT_ERR_INVALID_ARGUMENT, bad[i].msg);
        vxt_plan_destroy(p);
        remove_folder(dir);
    }
    /* the field itself: linear (default) or cubic, round trip; nearest is not an image's */
    vxt_plan *p = plan_from("{\"interpolation\": \"cubic\"}");
    cJSON *j = tree_of(p);
    assert_string_equal(at(j, "interpolation", NULL)->valuestring, "cubic");
    cJSON_Delete(j);
    assert_status_msg(load(p, "{\"interpolation\": \"nearest\"}", "x"), VXT_ERR_INVALID_ARGUMENT,
                      "$.interpolation: \"nearest\": an image is resampled with \"linear\" or \"cubic\"");
    assert_status_msg(load(p, "{\"interpolation\": \"spline\"}", "x"), VXT_ERR_INVALID_ARGUMENT,
                      "$.interpolation");
    vxt_plan_destroy(p);
    p = plan_from(NULL);
    j = tree_of(p);
    assert_string_equal(at(j, "interpolation", NULL)->valuestring, "linear");
    cJSON_Delete(j);
    vxt_plan_destroy(p);
}

static void test_nnunet_transpose_regions(void **state)
{
    (void)state;
    char dir[64];
    make_folder(dir, edit_transposed_regions);
    vxt_plan *p = plan_from(NULL);
    assert_ok(vxt_plan_load_nnunet(p, dir, "3d_fullres"));
    assert_ok(load(p, "{\"model\": \"identity\"}", "m"));
    assert_ok(vxt_plan_check(p));
    cJSON *j = tree_of(p);
    const int want_t[3] = {2, 0, 1};
    for (int i = 0; i < 3; i++)
        assert_int_equal(cJSON_GetArrayItem(at(j, "transpose", NULL), i)->valueint, want_t[i]);
    assert_string_equal(at(j, "orientation", NULL)->valuestring, "RAS"); /* NibabelIOWithReorient */
    assert_string_equal(at(j, "activation", NULL)->valuestring, "sigmoid");
    assert_string_equal(at(j, "labels", "rule")->valuestring, "regions");
    assert_true(at(j, "labels", "threshold")->valuedouble == 0.5);
    assert_int_equal(cJSON_GetArraySize(at(j, "labels", "region_labels")), 3);
    assert_int_equal(cJSON_GetArrayItem(at(j, "labels", "region_labels"), 2)->valueint, 3);
    assert_null(at(j, "class_names", NULL));
    cJSON_Delete(j);
    /* the settings it gives for a 3-channel (region) model: sigmoid, nnU-Net's region labels */
    vxt_tiling_options to;
    vxt_stitch_options so;
    const int64_t shape[3] = {70, 100, 90};
    assert_ok(vxt_plan_stitch_settings(p, shape, 3, &to, &so));
    assert_int_equal(so.activation, VXT_ACTIVATION_SIGMOID);
    assert_int_equal(so.label_rule, VXT_LABELS_REGIONS);
    assert_int_equal(so.region_labels[1], 2);
    assert_status_msg(vxt_plan_stitch_settings(p, shape, 4, &to, &so), VXT_ERR_INVALID_ARGUMENT,
                      "3 labels for 4 channels");
    vxt_plan_destroy(p);
    remove_folder(dir);

    static const struct {
        folder_edit edit;
        vxt_status st;
        const char *msg;
    } bad[] = {
        {edit_bad_transpose, VXT_ERR_INVALID_ARGUMENT, "$.transpose_backward: [2, 0, 1] does not undo transpose_forward"},
        {edit_bad_reader, VXT_ERR_UNSUPPORTED, "'SimpleITKIOWithReorient' is not supported"},
        {edit_two_channels, VXT_ERR_UNSUPPORTED, "2 input channels"},
        {edit_bad_scheme, VXT_ERR_UNSUPPORTED, "normalization scheme 'MyOwnNormalization' is not supported"},
        {edit_unprintable_scheme, VXT_ERR_UNSUPPORTED, "normalization scheme 'CT\\tNorm\\x7f' is not supported"},
        {edit_no_patch, VXT_ERR_INVALID_ARGUMENT, "$.configurations.3d_fullres.patch_size: missing"},
        {edit_configurations_list, VXT_ERR_INVALID_ARGUMENT,
         "plans.json: $.configurations: expected an object of configurations by name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        make_folder(dir, bad[i].edit);
        p = plan_from("{\"batch_size\": 5}");
        char *before = json_of(p);
        assert_status_msg(vxt_plan_load_nnunet(p, dir, "3d_fullres"), bad[i].st, bad[i].msg);
        char *after = json_of(p);
        assert_string_equal(before, after); /* all or nothing */
        vxt_buffer_free(before);
        vxt_buffer_free(after);
        vxt_plan_destroy(p);
        remove_folder(dir);
    }
}

/* ---- what a plan gives ---------------------------------------------------------------------------------- */

static void test_stitch_settings(void **state)
{
    (void)state;
    vxt_plan *p = plan_from("{\"roi\": [1, 32, 48], \"overlap\": [0.3, 0.4, 0.6], \"importance\": \"gaussian\","
                            " \"sigma_scale\": [0.1, 0.2, 0.25], \"accumulate\": \"float64\", \"batch_size\": 6,"
                            " \"mirror_axes\": [2], \"activation\": \"none\", \"pad\": \"replicate\", \"pad_value\": 2,"
                            " \"output\": {\"label_dtype\": \"uint16\"}}");
    vxt_tiling_options to;
    vxt_stitch_options so;
    const int64_t shape[3] = {5, 60, 70};
    assert_ok(vxt_plan_stitch_settings(p, shape, 7, &to, &so));
    assert_memory_equal(to.shape, shape, sizeof to.shape);
    assert_int_equal(to.roi[0], 1);
    assert_int_equal(to.roi[2], 48);
    assert_true(to.overlap[0] == 0.0); /* one-voxel tiles: no overlap */
    assert_true(to.overlap[1] == 0.4 && to.overlap[2] == 0.6);
    assert_int_equal(to.grid, VXT_GRID_MONAI);
    assert_int_equal(to.pad, VXT_PAD_REPLICATE);
    assert_true(to.pad_value == 2.0f);
    assert_int_equal(so.out_channels, 7);
    assert_int_equal(so.importance, VXT_IMPORTANCE_GAUSSIAN);
    assert_true(so.sigma_scale[1] == 0.2);
    assert_int_equal(so.accumulate, VXT_ACCUMULATE_FLOAT64);
    assert_int_equal(so.batch_size, 6);
    assert_int_equal(so.mirror_axes, 4u);
    assert_int_equal(so.members, 1);
    assert_int_equal(so.activation, VXT_ACTIVATION_NONE);
    assert_int_equal(so.label_dtype, VXT_DTYPE_U16);
    assert_int_equal(so.label_rule, VXT_LABELS_ARGMAX);
    assert_null(so.region_labels);
    vxt_tiling *t = NULL; /* and they make a tiling */
    assert_ok(vxt_tiling_create(&to, &t));
    vxt_tiling_destroy(t);
    assert_status_msg(vxt_plan_stitch_settings(p, shape, 0, &to, &so), VXT_ERR_INVALID_ARGUMENT, "classes = 0");
    assert_status_msg(vxt_plan_stitch_settings(p, NULL, 2, &to, &so), VXT_ERR_NULL, "shape");
    assert_status_msg(vxt_plan_stitch_settings(p, shape, 2, NULL, &so), VXT_ERR_NULL, "tiling");
    vxt_plan_destroy(p);
    p = plan_from(NULL);
    assert_status_msg(vxt_plan_stitch_settings(p, shape, 2, &to, &so), VXT_ERR_INVALID_ARGUMENT, "$.roi: missing");
    vxt_plan_destroy(p);
}

/* The least overlap of neighbouring tiles on axis a of a tiling (roi if it has one tile). */
static int64_t least_overlap_of(const vxt_tiling_options *to, int a)
{
    vxt_tiling *t = NULL;
    assert_ok(vxt_tiling_create(to, &t));
    vxt_tiling_info pi = {.struct_size = sizeof pi};
    assert_ok(vxt_tiling_get_info(t, &pi));
    int64_t least = to->roi[a];
    uint64_t stride = a == 0 ? (uint64_t)(pi.tiles_per_axis[1] * pi.tiles_per_axis[2]) : a == 1 ? (uint64_t)pi.tiles_per_axis[2] : 1;
    for (int64_t i = 1; i < pi.tiles_per_axis[a]; i++) {
        vxt_tile prev, cur;
        assert_ok(vxt_tiling_get_tile(t, (uint64_t)(i - 1) * stride, &prev));
        assert_ok(vxt_tiling_get_tile(t, (uint64_t)i * stride, &cur));
        int64_t ov = prev.start[a] + to->roi[a] - cur.start[a];
        least = ov < least ? ov : least;
    }
    vxt_tiling_destroy(t);
    return least;
}

/* A declared receptive field chooses the overlap: the least that overlaps neighbouring tiles by rf - 1 voxels, on
 * every grid and many volume sizes; a given overlap that is not enough, or a field wider than the ROI, is refused
 * by name; the field reads as a number, [y, x] or [z, y, x], null undeclares it, and printed plans read back. */
static void test_receptive_field(void **state)
{
    (void)state;
    static const char *const grids[3] = {"monai", "nnunet", "voxels"};
    const int64_t rois[3][3] = {{128, 128, 128}, {96, 112, 80}, {64, 160, 33}};
    const int64_t rfs[4] = {93, 91, 2, 1};
    char json[256];
    for (int g = 0; g < 3; g++)
        for (int r = 0; r < 3; r++)
            for (int f = 0; f < 4; f++) {
                const int64_t rf = rfs[f] > rois[r][0] || rfs[f] > rois[r][2] ? 33 : rfs[f];
                snprintf(json, sizeof json, "{\"roi\": [%lld, %lld, %lld], \"grid\": \"%s\", \"receptive_field\": %lld}",
                         (long long)rois[r][0], (long long)rois[r][1], (long long)rois[r][2], grids[g], (long long)rf);
                vxt_plan *p = plan_from(json);
                for (int64_t S = 150; S <= 420; S += 37) {
                    const int64_t shape[3] = {S, S + 11, S + 3};
                    vxt_tiling_options to;
                    vxt_stitch_options so;
                    assert_ok(vxt_plan_stitch_settings(p, shape, 2, &to, &so));
                    for (int a = 0; a < 3; a++) {
                        const int64_t least = least_overlap_of(&to, a);
                        if (least < rf - 1)
                            fail_msg("%s, shape %lld: overlap %lld on axis %d < %lld", json, (long long)shape[a],
                                     (long long)least, a, (long long)(rf - 1));
                        /* and not more than needed, where the grid places tiles evenly (not at the volume's end) */
                        if (g != 1 && least_overlap_of(&to, a) > rf - 1) {
                            vxt_tiling_options one = to;
                            one.shape[a] = 3 * to.roi[a] - 2 * (rf - 1); /* three tiles exactly */
                            assert_int_equal(least_overlap_of(&one, a), rf - 1);
                        }
                    }
                }
                /* printed, read back: the same plan, the overlap still derived */
                char *s = json_of(p);
                assert_null(strstr(s, "\"overlap"));
                assert_null(strstr(s, "\"step\""));
                vxt_plan *q = plan_from(s);
                assert_same_plans(p, q);
                vxt_buffer_free(s);
                vxt_plan_destroy(q);
                vxt_plan_destroy(p);
            }

    /* nnU-Net's linspace starts: step chosen so that rounding never overlaps less than rf - 1 */
    vxt_plan *p = plan_from("{\"roi\": [128, 128, 128], \"grid\": \"nnunet\", \"receptive_field\": 93}");
    vxt_tiling_options to;
    vxt_stitch_options so;
    for (int64_t S = 129; S < 700; S += 7) {
        const int64_t shape[3] = {S, 128, 128};
        assert_ok(vxt_plan_stitch_settings(p, shape, 2, &to, &so));
        assert_true(least_overlap_of(&to, 0) >= 92);
    }
    vxt_plan_destroy(p);

    /* a 2D ROI: z is not tiled, [y, x] reads with z = 1 */
    p = plan_from("{\"roi\": [1, 64, 64], \"receptive_field\": [21, 31]}");
    const int64_t shape2[3] = {7, 200, 200};
    assert_ok(vxt_plan_stitch_settings(p, shape2, 2, &to, &so));
    assert_true(to.overlap[0] == 0.0);
    assert_int_equal(least_overlap_of(&to, 1), 20);
    assert_int_equal(least_overlap_of(&to, 2), 30);
    char *s = json_of(p);
    assert_non_null(strstr(s, "\"receptive_field\":\t[21, 31]"));
    vxt_buffer_free(s);
    /* null undeclares it: the default overlap again */
    assert_ok(load(p, "{\"receptive_field\": null}", "undeclare"));
    assert_ok(vxt_plan_stitch_settings(p, shape2, 2, &to, &so));
    assert_true(to.overlap[1] == 0.5);
    vxt_plan_destroy(p);

    /* a given overlap is checked, not replaced */
    p = plan_from("{\"model\": \"identity\", \"roi\": 128, \"receptive_field\": 93, \"overlap\": 0.75}");
    const int64_t shape3[3] = {256, 256, 256};
    assert_ok(vxt_plan_stitch_settings(p, shape3, 2, &to, &so));
    assert_true(to.overlap[0] == 0.75);
    vxt_plan_destroy(p);
    p = plan_from("{\"model\": \"identity\", \"roi\": 128, \"receptive_field\": 93, \"overlap\": 0.5}");
    assert_status_msg(vxt_plan_check(p), VXT_ERR_INVALID_ARGUMENT,
                      "$.receptive_field: overlap 0.5 overlaps tiles by 64 voxels on axis 0 (z); a receptive field of 93 needs 92");
    assert_status_msg(vxt_plan_stitch_settings(p, shape3, 2, &to, &so), VXT_ERR_INVALID_ARGUMENT, "give no overlap");
    vxt_plan_destroy(p);
    p = plan_from("{\"model\": \"identity\", \"roi\": 128, \"grid\": \"nnunet\", \"step\": 0.5, \"receptive_field\": 93}");
    assert_status_msg(vxt_plan_check(p), VXT_ERR_INVALID_ARGUMENT, "step 0.5 overlaps tiles by 64 voxels");
    vxt_plan_destroy(p);
    p = plan_from("{\"model\": \"identity\", \"roi\": 128, \"grid\": \"voxels\", \"overlap_voxels\": 91, \"receptive_field\": 93}");
    assert_status_msg(vxt_plan_check(p), VXT_ERR_INVALID_ARGUMENT, "overlap_voxels 91 overlaps tiles by 91 voxels");
    vxt_plan_destroy(p);
    /* a field wider than the ROI: only for volumes that need one tile on that axis */
    p = plan_from("{\"model\": \"identity\", \"roi\": [64, 128, 128], \"receptive_field\": 93}");
    assert_ok(vxt_plan_check(p));
    const int64_t thin[3] = {64, 300, 300}, deep[3] = {65, 300, 300};
    assert_ok(vxt_plan_stitch_settings(p, thin, 2, &to, &so));
    assert_int_equal(least_overlap_of(&to, 1), 92);
    assert_status_msg(vxt_plan_stitch_settings(p, deep, 2, &to, &so), VXT_ERR_INVALID_ARGUMENT,
                      "$.receptive_field: 93 voxels on axis 0 (z) is more than the ROI (64), and the volume (65) needs "
                      "several tiles on it");
    vxt_plan_destroy(p);

    /* the reader's own errors name the path */
    p = plan_from(NULL);
    assert_status_msg(load(p, "{\"receptive_field\": 0}", "t"), VXT_ERR_INVALID_ARGUMENT, "$.receptive_field");
    assert_status_msg(load(p, "{\"receptive_field\": 4.5}", "t"), VXT_ERR_INVALID_ARGUMENT, "not a whole number");
    assert_status_msg(load(p, "{\"receptive_field\": \"93\"}", "t"), VXT_ERR_INVALID_ARGUMENT, "$.receptive_field");
    assert_status_msg(load(p, "{\"receptive_field\": [1, 2, 3, 4]}", "t"), VXT_ERR_INVALID_ARGUMENT, "[z, y, x]");
    vxt_plan_destroy(p);
}

/* vxt_plan_normalize is the preprocessing call its scheme names, with the plan's parameters: the same bits. */
static void test_plan_normalize(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    enum { N = 11 * 12 * 13 };
    float *src = malloc(N * sizeof(float)), *a = malloc(N * sizeof(float)), *b = malloc(N * sizeof(float));
    vxt_rng r = {11};
    for (int i = 0; i < N; i++)
        src[i] = i % 5 == 0 ? 0.0f : vxt_rng_uniform(&r, -1000.0f, 2000.0f);
    const char *plans[] = {
        "{\"normalization\": {\"scheme\": \"window\", \"lo\": -160, \"hi\": 240}}",
        "{\"normalization\": {\"scheme\": \"ct\", \"lo\": -500, \"hi\": 1200, \"mean\": 80, \"std\": 300}}",
        "{\"normalization\": {\"scheme\": \"zscore\"}}",
        "{\"normalization\": {\"scheme\": \"zscore-nonzero\"}}",
        "{\"normalization\": {\"scheme\": \"minmax\"}}",
        "{\"normalization\": {\"scheme\": \"percentile\", \"percentiles\": [2, 98]}}",
        "{\"normalization\": {\"scheme\": \"none\"}}",
    };
    for (int k = 0; k < 7; k++) {
        vxt_plan *p = plan_from(plans[k]);
        memcpy(a, src, N * sizeof(float));
        memcpy(b, src, N * sizeof(float));
        vxt_volume va = {a, VXT_DTYPE_F32, 1, {11, 12, 13}}, vb = {b, VXT_DTYPE_F32, 1, {11, 12, 13}};
        vxt_stats st = {.struct_size = sizeof st};
        double bounds[2];
        assert_ok(vxt_plan_normalize(ctx, p, &va, &st, bounds));
        switch (k) {
        case 0: assert_ok(vxt_window(ctx, &vb, &vb, -160, 240)); break;
        case 1: assert_ok(vxt_ct_normalize(ctx, &vb, &vb, -500, 1200, 80, 300)); break;
        case 2: assert_ok(vxt_zscore(ctx, &vb, VXT_SELECT_ALL, NULL, &vb, NULL)); break;
        case 3: assert_ok(vxt_zscore(ctx, &vb, VXT_SELECT_NONZERO, NULL, &vb, NULL)); break;
        case 4: assert_ok(vxt_minmax_normalize(ctx, &vb, VXT_SELECT_ALL, NULL, &vb, NULL)); break;
        case 5: assert_ok(vxt_percentile_clip(ctx, &vb, VXT_SELECT_ALL, NULL, 2, 98, &vb, NULL)); break;
        default: break;
        }
        assert_int_equal(vxt_count_bit_diffs(a, b, N, plans[k]), 0);
        if (k == 6)
            assert_memory_equal(a, src, N * sizeof(float));
        vxt_plan_destroy(p);
    }
    vxt_plan *p = plan_from("{\"normalization\": {\"scheme\": \"window\", \"lo\": 1}}");
    vxt_volume v = {a, VXT_DTYPE_F32, 1, {11, 12, 13}};
    assert_status_msg(vxt_plan_normalize(ctx, p, &v, NULL, NULL), VXT_ERR_INVALID_ARGUMENT, "needs \"lo\" and \"hi\"");
    vxt_plan_destroy(p);
    p = plan_from("{\"normalization\": {\"scheme\": \"minmax\"}}");
    v.channels = 2;
    assert_status_msg(vxt_plan_normalize(ctx, p, &v, NULL, NULL), VXT_ERR_INVALID_ARGUMENT, "one float32 channel");
    assert_status_msg(vxt_plan_normalize(ctx, NULL, &v, NULL, NULL), VXT_ERR_NULL, "plan");
    vxt_plan_destroy(p);
    free(src);
    free(a);
    free(b);
    vxt_context_destroy(ctx);
}

/* vxt_plan_rescale is the rescale with the image's scaling, then the plan's replacement: a value in intensity units
 * (after the rescale), or the reader's padding value (none for an image made in memory: only the rescale). */
static void test_plan_rescale(void **state)
{
    (void)state;
    vxt_context *ctx = vxt_test_context(VXT_BACKEND_CPU, 2);
    const int64_t shape[3] = {5, 6, 7};
    enum { N = 5 * 6 * 7 };
    vxt_image *img = NULL;
    assert_ok(vxt_image_create(VXT_DTYPE_I16, 1, shape, NULL, &img));
    vxt_volume raw;
    assert_ok(vxt_image_volume(img, &raw));
    int16_t *s16 = raw.data;
    for (int i = 0; i < N; i++)
        s16[i] = (int16_t)(i % 7 == 0 ? -2000 : i * 13 % 3000);
    assert_ok(vxt_image_set_scaling(img, 1.0, -1024.0)); /* stored -2000 is -3024 HU */
    float *a = malloc(N * sizeof(float)), *b = malloc(N * sizeof(float));
    vxt_volume va = {a, VXT_DTYPE_F32, 1, {5, 6, 7}}, vb = {b, VXT_DTYPE_F32, 1, {5, 6, 7}};
    /* none: the rescale alone */
    vxt_plan *p = plan_from(NULL);
    assert_ok(vxt_plan_rescale(ctx, p, img, &raw, &va));
    assert_ok(vxt_rescale(ctx, &raw, &vb, 1.0, -1024.0));
    assert_int_equal(vxt_count_bit_diffs(a, b, N, "no replacement"), 0);
    vxt_plan_destroy(p);
    /* a value in intensity units: -3024 HU (stored -2000) becomes -1024 */
    p = plan_from("{\"normalization\": {\"replace\": {\"value\": -3024, \"with\": -1024}}}");
    assert_ok(vxt_plan_rescale(ctx, p, img, &raw, &va));
    assert_ok(vxt_replace_value(ctx, &vb, &vb, -3024, -1024));
    assert_int_equal(vxt_count_bit_diffs(a, b, N, "value"), 0);
    int replaced = 0;
    for (int i = 0; i < N; i++) {
        assert_true(a[i] != -3024.0f);
        replaced += s16[i] == -2000 && a[i] == -1024.0f;
    }
    assert_int_equal(replaced, (N + 6) / 7);
    vxt_plan_destroy(p);
    /* "padding": an image without a padding value is only rescaled */
    p = plan_from("{\"normalization\": {\"replace\": {\"value\": \"padding\", \"with\": -1024}}}");
    assert_ok(vxt_plan_rescale(ctx, p, img, &raw, &va));
    assert_ok(vxt_rescale(ctx, &raw, &vb, 1.0, -1024.0));
    assert_int_equal(vxt_count_bit_diffs(a, b, N, "padding unknown"), 0);
    /* errors */
    assert_status_msg(vxt_plan_rescale(ctx, NULL, img, &raw, &va), VXT_ERR_NULL, "plan");
    assert_status_msg(vxt_plan_rescale(ctx, p, NULL, &raw, &va), VXT_ERR_NULL, "image");
    vxt_volume small = {a, VXT_DTYPE_F32, 1, {5, 6, 6}};
    assert_int_equal(vxt_plan_rescale(ctx, p, img, &raw, &small), VXT_ERR_SHAPE_MISMATCH);
    vxt_plan_destroy(p);
    vxt_image_destroy(img);
    free(a);
    free(b);
    vxt_context_destroy(ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_strict_errors),
        cmocka_unit_test(test_check_contradictions),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_mode_rule),
        cmocka_unit_test(test_nnunet_configurations),
        cmocka_unit_test(test_nnunet_transpose_regions),
        cmocka_unit_test(test_nnunet_resampling),
        cmocka_unit_test(test_stitch_settings),
        cmocka_unit_test(test_receptive_field),
        cmocka_unit_test(test_plan_normalize),
        cmocka_unit_test(test_plan_rescale),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
