/* test_cli_args.c - every command's option parsing on its own (cli_parse_only, tools/voxtile/cli.h), as the fuzz
 * target tests/fuzz/fuzz_cli_args.c runs it and with its invariants (tests/fuzz/fuzz_cli.h): the seeds of its corpus,
 * the inputs it found (tests/fuzz/regressions-cli/crash-NNN, each a bug fixed), and the behaviours the target relies
 * on -- parsing that stops before the work, refusals of one printable line, a plugin never loaded while parsing. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz/fuzz_cli.h"
#include "vxt_test.h"

#define FUZZ_DIR VXT_TEST_DATA_DIR "/../fuzz"

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static const size_t cap = 1 << 16;
    unsigned char *b = malloc(cap);
    assert_non_null(b);
    *n = fread(b, 1, cap, f);
    fclose(f);
    return b;
}

/* A command line with words separated by '|' (the fuzz input's NUL), its exit status, its message. */
static int parse_line(const char *line, char *msg, size_t n)
{
    size_t len = strlen(line);
    unsigned char *b = malloc(len + 1);
    assert_non_null(b);
    for (size_t i = 0; i < len; i++)
        b[i] = line[i] == '|' ? 0 : (unsigned char)line[i];
    int rc = fuzz_cli_one(b, len, VXT_SOURCE_DIR, msg, n);
    free(b);
    return rc;
}

/* Every input of the target's corpus keeps its invariants: the seeds (<command>-<hash>, command lines of the tests
 * and docs/CLI.md), each naming a command, and what the fuzzer found (found-*). */
static void test_seeds(void **state)
{
    (void)state;
    DIR *d = opendir(FUZZ_DIR "/corpus/fuzz_cli_args");
    assert_non_null(d);
    struct dirent *e;
    int n = 0, refused = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        size_t size = 0;
        snprintf(path, sizeof path, "%s/corpus/fuzz_cli_args/%s", FUZZ_DIR, e->d_name);
        unsigned char *b = slurp(path, &size);
        assert_non_null(b);
        int rc = fuzz_cli_one(b, size, VXT_SOURCE_DIR, NULL, 0);
        const int found = !strncmp(e->d_name, "found-", 6);
        if (rc < 0 && !found)
            fail_msg("%s: the seed names no command", e->d_name);
        refused += rc > 0 && !found;
        n += !found;
        free(b);
    }
    closedir(d);
    assert_true(n >= 50);
    assert_true(refused > 0 && refused < n); /* the seeds pass and fail */
}

/* The inputs the fuzz target found, each a bug fixed (tests/fuzz/regressions-cli/README.md). */
static void test_regressions(void **state)
{
    (void)state;
    size_t size = 0;
    unsigned char *readme = slurp(FUZZ_DIR "/regressions-cli/README.md", &size); /* the directory is where we look */
    assert_non_null(readme);
    free(readme);
    for (int i = 0;; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/regressions-cli/crash-%03d", FUZZ_DIR, i);
        unsigned char *b = slurp(path, &size);
        if (!b)
            break;
        char msg[8192];
        int rc = fuzz_cli_one(b, size, VXT_SOURCE_DIR, msg, sizeof msg);
        if (rc <= 0)
            fail_msg("crash-%03d: exit %d; every one is a refusal", i, rc);
        free(b);
    }
}

static void test_parse_only(void **state)
{
    (void)state;
    char msg[8192];
    /* parsing and the plan, then nothing: no input is read, no output written */
    assert_int_equal(parse_line("tiles|--shape|8|--roi|4", msg, sizeof msg), 0);
    assert_string_equal(msg, "");
    assert_int_equal(parse_line("run|/nonexistent/in.nii|-o|out.nii.gz|--model|identity|--roi|8", msg, sizeof msg), 0);
    assert_int_equal(access("out.nii.gz", F_OK), -1);
    assert_int_equal(parse_line("run|in.nii|-o|out.nii.gz|--plan|$SRC/tools/plans/demo_mri.json", msg, sizeof msg), 0);
    assert_int_equal(parse_line("validate|--print-plan|--plan|$SRC/tools/plans/demo_mri.json|--b-plan|"
                                "$SRC/tools/plans/deepbet.json", msg, sizeof msg), 0);
    assert_int_equal(parse_line("phantom|-o|ct.nii.gz|--help", msg, sizeof msg), 0);
    /* the checks before the work: statuses and messages */
    assert_int_equal(parse_line("run|--bogus", msg, sizeof msg), VXT_EXIT_USAGE);
    assert_non_null(strstr(msg, "unknown option '--bogus'"));
    assert_int_equal(parse_line("run|in.nii|-o|/nonexistent/dir/o.nii.gz|--model|identity|--roi|8", msg, sizeof msg),
                     VXT_EXIT_OUTPUT);
    assert_int_equal(parse_line("run|in.nii|-o|o.nii.gz|--roi|8", msg, sizeof msg), VXT_EXIT_PLAN);
    assert_int_equal(parse_line("run|in.nii|-o|o.nii.gz|--plan|/nonexistent.json", msg, sizeof msg), VXT_EXIT_INPUT);
    assert_int_equal(parse_line("tiles|--roi|4", msg, sizeof msg), VXT_EXIT_USAGE);
    assert_non_null(strstr(msg, "missing --shape"));
    assert_int_equal(parse_line("validate|in.nii|--model|identity|--roi|8|--a|gpu", msg, sizeof msg), VXT_EXIT_USAGE);
    assert_int_equal(parse_line("normalize|in.nii|-o|o.nii", msg, sizeof msg), VXT_EXIT_USAGE);
    assert_non_null(strstr(msg, "missing --normalization"));
    assert_int_equal(parse_line("resample|in.nii|-o|o.nii|--shape|4|--interp|nearest|--fill|0", msg, sizeof msg),
                     VXT_EXIT_USAGE);
    assert_int_equal(parse_line("header", msg, sizeof msg), VXT_EXIT_USAGE);
    assert_int_equal(parse_line("bench|--runs|1", msg, sizeof msg), VXT_EXIT_USAGE);
    assert_int_equal(parse_line("info|--threads|-1", msg, sizeof msg), VXT_EXIT_USAGE);
    /* not a command */
    assert_int_equal(parse_line("nosuchcommand|--help", msg, sizeof msg), -1);
}

/* A value echoed in a refusal is shown printable, whatever its bytes (crash-000). */
static void test_messages_printable(void **state)
{
    (void)state;
    char msg[8192];
    assert_int_equal(parse_line("phantom|-o|ct.npy|--orientation|\xc5" "AS", msg, sizeof msg), VXT_EXIT_USAGE);
    assert_non_null(strstr(msg, "--orientation: '\\xc5AS' is not an orientation code"));
    assert_int_equal(parse_line("tiles|--shape|8\n\x1b[2J", msg, sizeof msg), VXT_EXIT_USAGE);
    assert_non_null(strstr(msg, "got '8\\n\\x1b[2J'"));
    assert_int_equal(parse_line("run|in.nii|-o|o.nii.gz|--plan|/nonexistent/\t.json", msg, sizeof msg),
                     VXT_EXIT_INPUT);
    assert_non_null(strstr(msg, "'/nonexistent/\\t.json'"));
}

/* A plan file's plugin is refused unless allowed, and allowed it is still not loaded: parsing loads no code (the
 * fuzz target checks that no shared object appeared). */
static void test_plugin_never_loaded(void **state)
{
    (void)state;
    char plan[64] = "/tmp/vxt-cli-args-XXXXXX", line[8192], msg[8192];
    int fd = mkstemp(plan);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fprintf(f, "{\"model\": \"plugin:%s\", \"roi\": 8}", VXT_EXAMPLE_PLUGIN);
    fclose(f);
    snprintf(line, sizeof line, "run|in.nii|-o|o.nii.gz|--plan|%s", plan);
    assert_int_equal(parse_line(line, msg, sizeof msg), VXT_EXIT_PLAN);
    assert_non_null(strstr(msg, "allow it with --allow-plugin"));
    snprintf(line, sizeof line, "run|in.nii|-o|o.nii.gz|--plan|%s|--allow-plugin|%s", plan, VXT_EXAMPLE_PLUGIN);
    assert_int_equal(parse_line(line, msg, sizeof msg), 0);
    snprintf(line, sizeof line, "run|in.nii|-o|o.nii.gz|--model|plugin:%s|--roi|8", VXT_EXAMPLE_PLUGIN);
    assert_int_equal(parse_line(line, msg, sizeof msg), 0);
    unlink(plan);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest cpu[] = {
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_regressions),
        cmocka_unit_test(test_parse_only),
        cmocka_unit_test(test_messages_printable),
        cmocka_unit_test(test_plugin_never_loaded),
    };
    const vxt_test_group groups[] = {VXT_GROUP("cpu", cpu, 0)};
    return vxt_test_main(argc, argv, groups, 1);
}
