/* test_cli.c - the voxtile tool as a whole: its commands and their help (one parser, one vocabulary: every flag a
 * command shares is described in the same words everywhere, with the library's defaults), the resolved plan that
 * --print-plan shows (the same in every command that takes plan flags, for the same flags), the exit statuses
 * and one-line messages each kind of problem gets in every command, and `voxtile info` (what `auto` selects and
 * why; no OpenCL platform). One file per command has the rest (tests/test_cli_<command>.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_test_util.h"

static const char *const commands[] = {"run",    "validate", "stitch",  "tiles", "resample",
                                       "normalize", "header", "phantom", "bench", "info", "convert", "patches"};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* The commands that take plan flags. */
static const char *const plan_commands[] = {"run", "validate", "stitch", "tiles", "normalize"};
#define NPLAN (sizeof plan_commands / sizeof plan_commands[0])

static void test_commands_usage_and_version(void **state)
{
    (void)state;
    assert_int_equal(cli("--help"), 0);
    assert_string_equal(cli_err, "");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char row[64];
        snprintf(row, sizeof row, "\n  %-10s ", commands[i]);
        if (!strstr(cli_out, row))
            fail_msg("voxtile --help does not list '%s':\n%s", commands[i], cli_out);
    }
    assert_null(strstr(cli_out, "\n  plan ")); /* voxtile plan became voxtile tiles */
    assert_non_null(strstr(cli_out, "Per-axis values are Z,Y,X (slowest axis first; for a NIfTI file k,j,i)"));
    char version[64];
    snprintf(version, sizeof version, "voxtile %s\n", vxt_version_string());
    assert_int_equal(cli("--version"), 0);
    assert_string_equal(cli_out, version);
    /* no command, an unknown one: usage on stderr, exit 2 */
    assert_int_equal(cli("%s", ""), 2);
    assert_string_equal(cli_out, "");
    assert_non_null(strstr(cli_err, "usage: voxtile <command>"));
    assert_int_equal(cli("nosuchcommand --help"), 2);
    assert_non_null(strstr(cli_err, "voxtile: unknown command 'nosuchcommand'"));
    assert_string_equal(cli_out, "");
    assert_int_equal(cli("plan --shape 8,8,8 --roi 4"), 2);
    assert_non_null(strstr(cli_err, "unknown command 'plan'"));
}

/* Every command's --help: exit 0, its usage line, nothing on stderr. */
static void test_every_command_has_help(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        int rc = cli("%s --help", commands[i]);
        if (rc != 0 || cli_err[0])
            fail_msg("voxtile %s --help: exit %d, stderr '%s'", commands[i], rc, cli_err);
        char usage[64];
        snprintf(usage, sizeof usage, "usage: voxtile %s", commands[i]);
        if (strncmp(cli_out, usage, strlen(usage)) != 0)
            fail_msg("voxtile %s --help does not start with '%s':\n%.300s", commands[i], usage, cli_out);
        assert_int_equal(cli("%s -h", commands[i]), 0);
        assert_int_equal(strncmp(cli_out, usage, strlen(usage)), 0);
    }
}

/* The help line of flag `flag` ("--overlap") in `help` (the flag's line and its continuation lines), or NULL. */
static const char *flag_help(const char *help, const char *flag, char *buf, size_t n)
{
    char key[64];
    snprintf(key, sizeof key, "\n      %s ", flag);
    const char *p = strstr(help, key);
    if (!p) {
        snprintf(key, sizeof key, "\n      %s\n", flag);
        p = strstr(help, key);
    }
    if (!p)
        return NULL;
    p++;
    const char *end = strchr(p, '\n');
    while (end && !strncmp(end + 1, "                                 ", 33)) /* a continuation */
        end = strchr(end + 1, '\n');
    snprintf(buf, n, "%.*s", end ? (int)(end - p) : (int)strlen(p), p);
    return buf;
}

/* Every plan flag and execution flag means the same in every command: the same help text (generated from one
 * table, with the library's enum names and defaults), and the defaults are those of the library's plan. */
static void test_shared_flags_have_one_help(void **state)
{
    (void)state;
    static char help[NPLAN + 2][sizeof cli_out + 1];
    static const char *const cmds[NPLAN + 2] = {"run", "validate", "stitch", "tiles", "normalize", "resample", "info"};
    for (size_t i = 0; i < NPLAN + 2; i++) {
        assert_int_equal(cli("%s --help", cmds[i]), 0);
        help[i][0] = '\n';
        memcpy(help[i] + 1, cli_out, sizeof cli_out);
    }
    static const char *const flags[] = {
        "--plan", "--print-plan", "--nnunet", "--configuration", "--model", "--model-config", "--member", "--ensemble",
        "--orientation", "--transpose", "--spacing", "--anisotropic", "--normalize-first", "--normalization", "--lo",
        "--hi", "--mean", "--std", "--percentiles", "--replace", "--roi", "--grid", "--overlap", "--step", "--overlap-voxels",
        "--pad", "--pad-value", "--importance", "--sigma-scale", "--accumulate", "--batch", "--mirror", "--activation",
        "--label-rule", "--threshold", "--region-labels", "--label-dtype", "--resample-back", "--backend", "--device",
        "--threads"};
    for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
        char first[1024] = "", buf[1024];
        const char *owner = NULL;
        int seen = 0;
        for (size_t i = 0; i < NPLAN + 2; i++) {
            if (i == NPLAN && strcmp(flags[f], "--backend") && strcmp(flags[f], "--device") &&
                strcmp(flags[f], "--threads"))
                continue; /* resample's --spacing is its own (the new grid); info takes the execution flags */
            if (i == NPLAN + 1 && strcmp(flags[f], "--backend") && strcmp(flags[f], "--device") &&
                strcmp(flags[f], "--threads"))
                continue;
            if (!flag_help(help[i], flags[f], buf, sizeof buf))
                continue;
            seen++;
            if (!owner) {
                owner = cmds[i];
                snprintf(first, sizeof first, "%s", buf);
            } else if (strcmp(first, buf) != 0) {
                fail_msg("%s: voxtile %s says\n%s\nvoxtile %s says\n%s", flags[f], owner, first, cmds[i], buf);
            }
        }
        if (!seen)
            fail_msg("%s: in no command's help", flags[f]);
    }
    /* the defaults every command shares: the library's plan */
    static const struct {
        const char *flag, *text;
    } defaults[] = {
        {"--overlap", "(default 0.5)"},         {"--activation", "none|softmax|sigmoid (default softmax)"},
        {"--batch", "(default 1)"},             {"--grid", "monai|nnunet|voxels (default monai)"},
        {"--importance", "(default gaussian)"}, {"--accumulate", "(default float32)"},
        {"--sigma-scale", "(default 0.125)"},   {"--normalization", "(default none)"},
    };
    for (size_t d = 0; d < sizeof defaults / sizeof defaults[0]; d++) {
        char buf[1024];
        if (!flag_help(help[0], defaults[d].flag, buf, sizeof buf) || !strstr(buf, defaults[d].text))
            fail_msg("voxtile run --help: %s does not say '%s'", defaults[d].flag, defaults[d].text);
    }
    /* each command takes the flags of its plan fields, and only those */
    char buf[1024];
    assert_null(flag_help(help[3], "--activation", buf, sizeof buf)); /* tiles: tiling only */
    assert_null(flag_help(help[2], "--model", buf, sizeof buf));      /* stitch: no model */
    assert_null(flag_help(help[2], "--normalization", buf, sizeof buf));
    assert_null(flag_help(help[4], "--roi", buf, sizeof buf)); /* normalize: normalization only */
    assert_non_null(flag_help(help[2], "--activation", buf, sizeof buf));
    assert_non_null(flag_help(help[4], "--percentiles", buf, sizeof buf));
}

/* --print-plan: the resolved plan, the same in every command for the same flags; the library's defaults. */
static void test_print_plan_is_one_plan(void **state)
{
    (void)state;
    static const char *const flag_sets[] = {
        "",
        "--roi 16,24,32 --overlap 0.25 --pad replicate",
        "--roi 16 --grid nnunet --step 0.75",
    };
    for (size_t s = 0; s < sizeof flag_sets / sizeof flag_sets[0]; s++) {
        cJSON *first = NULL;
        for (size_t i = 0; i < NPLAN; i++) {
            if (s > 0 && !strcmp(plan_commands[i], "normalize"))
                continue; /* no tiling flags */
            int rc = cli("%s --print-plan %s", plan_commands[i], flag_sets[s]);
            if (rc)
                fail_msg("voxtile %s --print-plan %s: exit %d: %s", plan_commands[i], flag_sets[s], rc, cli_err);
            cJSON *j = cli_out_json();
            if (!strcmp(plan_commands[i], "validate")) { /* side a's plan (side b's only with --b-plan) */
                cJSON *a = cJSON_DetachItemFromObject(j, "a");
                assert_non_null(a);
                assert_null(cJSON_GetObjectItem(j, "b"));
                cJSON_Delete(j);
                j = a;
            }
            if (!first) {
                first = j;
                continue;
            }
            if (!cJSON_Compare(first, j, 1)) {
                char *x = cJSON_PrintUnformatted(first), *y = cJSON_PrintUnformatted(j);
                fail_msg("%s --print-plan %s:\n%s\nrun --print-plan:\n%s", plan_commands[i], flag_sets[s], y, x);
            }
            cJSON_Delete(j);
        }
        if (s == 0) { /* the library's defaults */
            assert_true(cli_json_number(first, "overlap") == 0.5);
            assert_string_equal(cli_json_string(first, "activation"), "softmax");
            assert_true(cli_json_number(first, "batch_size") == 1);
            assert_string_equal(cli_json_string(first, "grid"), "monai");
            assert_string_equal(cli_json_string(first, "importance"), "gaussian");
            assert_string_equal(cli_json_string(first, "accumulate"), "float32");
            assert_string_equal(cli_json_string(cli_json(first, "normalization"), "scheme"), "none");
            assert_string_equal(cli_json_string(cli_json(first, "labels"), "rule"), "argmax");
        } else if (s == 1) {
            assert_true(cli_json_number(first, "overlap") == 0.25);
            assert_string_equal(cli_json_string(first, "pad"), "replicate");
            assert_int_equal(cJSON_GetArraySize(cli_json(first, "roi")), 3);
            assert_true(cJSON_GetArrayItem(cli_json(first, "roi"), 0)->valuedouble == 16);
            assert_true(cJSON_GetArrayItem(cli_json(first, "roi"), 2)->valuedouble == 32);
        } else {
            assert_true(cli_json_number(first, "step") == 0.75);
            assert_null(cJSON_GetObjectItem(first, "overlap")); /* the grid's own parameter only */
        }
        cJSON_Delete(first);
    }
    /* validate's side b takes --b-plan's fields */
    cli_write_text("f16.json", "{\"accumulate\": \"float16\"}\n");
    assert_int_equal(cli("validate --print-plan --b-plan %s", cli_path("f16.json")), 0);
    cJSON *j = cli_out_json();
    assert_string_equal(cli_json_string(cli_json(j, "a"), "accumulate"), "float32");
    assert_string_equal(cli_json_string(cli_json(j, "b"), "accumulate"), "float16");
    cJSON_Delete(j);
    /* --print-plan of a command without plan flags: unknown */
    assert_int_equal(cli("resample --print-plan"), 2);
    cli_assert_one_line_error("unknown option '--print-plan'");
}

/* The same kind of problem gets the same exit status and a one-line message "voxtile <command>: ..." in every
 * command: an unknown flag (2), a missing input file (4), an output directory that does not exist (5). */
static void test_exit_statuses_across_commands(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 6,12,12 --spacing 8,8,8");
    char ct[1024];
    snprintf(ct, sizeof ct, "%s", cli_path("ct.nii.gz"));
    const char *tiles = VXT_TEST_DATA_DIR "/cli/monai_tiles.npy";
    static const struct {
        const char *cmd;
        int input;                    /* 0: none, 1: an image, 2: tiles */
        const char *out_flag, *out;   /* an output file, or NULL */
        const char *flags;
    } spec[] = {
        {"run", 1, "-o", "o.nii.gz", "--model identity --roi 8"},
        {"validate", 1, "--report", "r.json", "--model identity --roi 8 --a cpu --b cpu"},
        {"stitch", 2, "-o", "o.npy", "--shape 9,20,17 --roi 6,12,10"},
        {"tiles", 0, NULL, NULL, "--shape 8,8,8 --roi 4"},
        {"resample", 1, "-o", "o.nii.gz", "--scale 2"},
        {"normalize", 1, "-o", "o.nii.gz", "--normalization minmax"},
        {"header", 1, NULL, NULL, ""},
        {"phantom", 0, "-o", "o.nii.gz", "--shape 4,4,4"},
        {"info", 0, NULL, NULL, ""},
    };
    for (size_t i = 0; i < sizeof spec / sizeof spec[0]; i++) {
        const char *input = spec[i].input == 2 ? tiles : spec[i].input ? ct : "";
        char prefix[64], out[1024] = "", missing[1024], nodir[1024] = "";
        snprintf(prefix, sizeof prefix, "voxtile %s: ", spec[i].cmd);
        if (spec[i].out) {
            snprintf(out, sizeof out, "%s '%s/%s'", spec[i].out_flag, cli_tmp, spec[i].out);
            snprintf(nodir, sizeof nodir, "%s '%s/no/such/dir/%s'", spec[i].out_flag, cli_tmp, spec[i].out);
        }
        snprintf(missing, sizeof missing, "%s/none.%s", cli_tmp, spec[i].input == 2 ? "npy" : "nii.gz");
        /* unknown flag */
        int rc = cli("%s %s %s %s --bogus", spec[i].cmd, input, out, spec[i].flags);
        if (rc != 2 || strncmp(cli_err, prefix, strlen(prefix)) || !strstr(cli_err, "unknown option '--bogus'"))
            fail_msg("voxtile %s ... --bogus: exit %d, '%s'; expected 2 and '%sunknown option '--bogus''",
                     spec[i].cmd, rc, cli_err, prefix);
        cli_assert_one_line_error(NULL);
        if (spec[i].input) { /* a missing input */
            rc = cli("%s %s %s %s", spec[i].cmd, missing, out, spec[i].flags);
            if (rc != 4 || strncmp(cli_err, prefix, strlen(prefix)) || !strstr(cli_err, missing))
                fail_msg("voxtile %s %s: exit %d, '%s'; expected 4 naming the file", spec[i].cmd, missing, rc,
                         cli_err);
            cli_assert_one_line_error(NULL);
        }
        if (spec[i].out) { /* an output directory that does not exist */
            rc = cli("%s %s %s %s", spec[i].cmd, input, nodir, spec[i].flags);
            if (rc != 5 || strncmp(cli_err, prefix, strlen(prefix)) || !strstr(cli_err, "does not exist"))
                fail_msg("voxtile %s ... %s: exit %d, '%s'; expected 5, 'does not exist'", spec[i].cmd, nodir, rc,
                         cli_err);
            cli_assert_one_line_error(NULL);
        }
    }
    assert_int_equal(cli_files(), 1); /* the phantom only */
}

/* Flags that would do nothing, or the wrong thing, are refused; failures are classified by what caused them. */
static void test_refusals_and_their_statuses(void **state)
{
    (void)state;
    cli_phantom("ct.nii.gz", NULL, "--shape 6,12,12 --spacing 8,8,8");
    char ct[1024], out[1024], u64[1024];
    snprintf(ct, sizeof ct, "%s", cli_path("ct.nii.gz"));
    snprintf(out, sizeof out, "%s", cli_path("o.nii.gz"));
    snprintf(u64, sizeof u64, "%s/nifti/type_uint64.nii", vxt_test_data_dir());
    const char *tiles = VXT_TEST_DATA_DIR "/cli/monai_tiles.npy";
    cli_write_text("mirror.json", "{\"mirror_axes\": [0]}");
    char mirror[1024];
    snprintf(mirror, sizeof mirror, "%s", cli_path("mirror.json"));
    static const struct {
        const char *args, *needle; /* voxtile run IN -o OUT --model identity --roi 8 ARGS */
        int rc;
    } cases[] = {
        /* --configuration names a configuration of --nnunet's folder */
        {"--configuration 2d", "--configuration names a configuration", 2},
        /* --device names an OpenCL device: not with the CPU backend */
        {"--backend cpu --device 0", "--device names an OpenCL device", 2},
        /* a device index that is not there: no usable device (3), as a name that matches none */
        {"--backend opencl --device 99", "device_index 99 out of range", 3},
        /* a contradiction is one whether the plan is run or printed */
        {"--grid nnunet --overlap 0.25 --print-plan", "$.overlap: applies to grid \"monai\"", 6},
    };
    size_t ndev = 0;
    vxt_opencl_device_count(&ndev);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (strstr(cases[i].args, "--device 99") && ndev == 0)
            continue; /* no OpenCL platform: the index has nothing to be out of range of (exit 3 all the same) */
        int rc = cli("run %s -o %s --model identity --roi 8 %s", ct, out, cases[i].args);
        if (rc != cases[i].rc)
            fail_msg("'%s': exit %d, expected %d: %s", cases[i].args, rc, cases[i].rc, cli_err);
        cli_assert_one_line_error(cases[i].needle);
        assert_string_equal(cli_out, "");
    }
    /* voxels the preprocessing cannot read are a bad input (4), found in the stage that reads them */
    assert_int_equal(cli("run %s -o %s --model identity --roi 4 --backend cpu", u64, out), 4);
    cli_assert_one_line_error("rescale: ");
    /* a tile file holds one output per tile: a plan with mirroring cannot be stitched from it */
    assert_int_equal(cli("stitch %s --shape 9,20,17 --roi 6,12,10 -o %s --plan %s", tiles, cli_path("s.npy"), mirror),
                     6);
    cli_assert_one_line_error("a tile file holds one output per tile");
    assert_int_equal(cli("stitch %s --shape 9,20,17 --roi 6,12,10 -o %s --mirror 0", tiles, cli_path("s.npy")), 2);
    cli_assert_one_line_error("unknown option '--mirror'");
    /* phantom: -o and --label-map naming one file, however written */
    assert_int_equal(cli("phantom -o %s --label-map %s/./o.nii.gz --shape 4,4,4", out, cli_tmp), 2);
    cli_assert_one_line_error("name the same file");
    assert_int_equal(cli_files(), 2); /* the phantom and mirror.json only */
}

static void test_info(void **state)
{
    (void)state;
    assert_int_equal(cli("info"), 0);
    assert_non_null(strstr(cli_out, "CPU backend: available"));
    assert_non_null(strstr(cli_out, "selection (auto): "));
    assert_int_equal(cli("info --json"), 0);
    cJSON *j = cli_out_json();
    assert_string_equal(cli_json_string(j, "version"), vxt_version_string());
    assert_true(cJSON_IsTrue(cli_json(cli_json(j, "cpu"), "available")));
    const cJSON *sel = cli_json(j, "selection");
    assert_true(cJSON_IsTrue(cli_json(sel, "ok")));
    assert_non_null(strstr(cli_json_string(sel, "reason"), "auto: "));
    int usable = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, cli_json(j, "opencl_devices")) usable += cJSON_IsTrue(cli_json(d, "usable"));
    cJSON_Delete(j);
    assert_int_equal(cli("info --backend cpu --threads 1 --json"), 0);
    j = cli_out_json();
    assert_string_equal(cli_json_string(cli_json(j, "selection"), "backend"), "cpu");
    assert_string_equal(cli_json_string(cli_json(j, "selection"), "requested"), "cpu");
    cJSON_Delete(j);
    if (usable > 0) { /* --backend opencl reaches a device that passes the probe, whatever its type */
        assert_int_equal(cli("info --backend opencl --json"), 0);
        j = cli_out_json();
        assert_string_equal(cli_json_string(cli_json(j, "selection"), "backend"), "opencl");
        cJSON_Delete(j);
    }
    assert_int_equal(cli("info --backend cuda"), 2);
    cli_assert_one_line_error("unknown backend 'cuda' (expected one of: auto, opencl, cpu)");
    assert_int_equal(cli("info --threads -1"), 2);
    cli_assert_one_line_error("--threads");
    assert_int_equal(cli("info extra"), 2);
    cli_assert_one_line_error("unexpected argument 'extra'");
    /* no OpenCL platform: auto is the CPU backend (exit 0) and says why; --backend opencl cannot be had (exit 3) */
    char env[1024];
    snprintf(env, sizeof env, "OCL_ICD_VENDORS='%s' OPENCL_VENDOR_PATH='%s'", VXT_NO_ICD_DIR, VXT_NO_ICD_DIR);
    assert_int_equal(cli_env(env, "info"), 0);
    assert_non_null(strstr(cli_out, "selection (auto): cpu"));
    assert_non_null(strstr(cli_out, "no OpenCL platform"));
    assert_int_equal(cli_env(env, "info --backend opencl"), 3);
    cli_assert_one_line_error("not usable");
    assert_int_equal(cli_env(env, "info --json --backend opencl"), 3);
    j = cli_out_json();
    assert_false(cJSON_IsTrue(cli_json(cli_json(j, "selection"), "ok")));
    cJSON_Delete(j);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test_setup_teardown(test_commands_usage_and_version, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_every_command_has_help, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_shared_flags_have_one_help, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_print_plan_is_one_plan, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_exit_statuses_across_commands, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_refusals_and_their_statuses, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_info, cli_setup, cli_teardown),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
