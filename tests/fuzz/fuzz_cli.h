/* fuzz_cli.h - the voxtile tool's option parsing run on a command line made of any bytes, and what it must give:
 * shared by the fuzz target (fuzz_cli_args.c) and the test that replays the inputs it found (tests/test_cli_args.c).
 *
 * An input is a command line: words separated by NUL bytes (an argument cannot hold a NUL; any other byte can be
 * in a word), the first the command's name (an input naming no command is skipped). A word that begins with
 * "$SRC/" names a file of the source tree: the prefix becomes the source directory, so that the seeds can name the
 * shipped plans and the test data wherever the fuzzer runs. An input that names anything but a regular file or a
 * directory is skipped too -- a word, its value after '=' or after a short flag that is a device, a FIFO, a socket or
 * under /dev, /proc or /sys: reading /dev/stdin or /dev/zero as a plan is a user's right, but a fuzzer must not wait
 * on a terminal or read 16 MiB of zeros.
 *
 * The command line goes through the command's parsing and the checks it makes before its work (cli_parse_only: the
 * flags, the plan built from plan files, an nnU-Net folder and flags, the output directories looked at; for tiles,
 * the plan's tiling settings for the shape, not the tiling, whose starts take memory in proportion to the volume's
 * axes), which write nothing and load no code. Then:
 *   - the exit status is one that parsing gives (tools/voxtile/cli_exit.h): 0, 1, 2, 4, 5, 6 or 10 (out of memory);
 *   - a refusal prints exactly one line on stderr, "voxtile CMD: message", of printable ASCII; success prints none;
 *   - --print-plan prints JSON that reads back as a plan (validate: an object of the two sides' plans);
 *   - no shared library was loaded (a plan's plugin is never opened while parsing).
 * A broken invariant aborts (libFuzzer reports it like a crash); leaks are LeakSanitizer's. stdout and stderr are
 * captured by pointing the stdio streams at memory streams during the call (glibc's stdout and stderr are
 * variables); the sanitizers and libFuzzer write to file descriptor 2 and still reach the terminal. */
#ifndef VXT_FUZZ_CLI_H
#define VXT_FUZZ_CLI_H
#include <cjson/cJSON.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const struct {
    const char *name;
    const cli_command *cmd;
} fuzz_cli_commands[] = {
    {"run", &cmd_run_parsing},           {"validate", &cmd_validate_parsing}, {"stitch", &cmd_stitch_parsing},
    {"tiles", &cmd_tiles_parsing},       {"resample", &cmd_resample_parsing}, {"normalize", &cmd_normalize_parsing},
    {"header", &cmd_header_parsing},     {"phantom", &cmd_phantom_parsing},   {"bench", &cmd_bench_parsing},
    {"info", &cmd_info_parsing},         {"convert", &cmd_convert_parsing},   {"patches", &cmd_patches_parsing},
};

#define FUZZ_CLI_MAX_WORDS 256

static void fuzz_cli_fail(const char *what, const char *cmdline, const char *text)
{
    fprintf(stderr, "fuzz_cli_args: invariant broken: %s\n  command line: %s\n  output: [%s]\n", what, cmdline,
            text ? text : "");
    abort();
}

static int fuzz_cli_count_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)info, (void)size;
    ++*(int *)data;
    return 0;
}

/* The shared objects loaded in this process. */
static int fuzz_cli_objects(void)
{
    int n = 0;
    dl_iterate_phdr(fuzz_cli_count_object, &n);
    return n;
}

/* The words of the input (malloc'd, NULL-terminated) with "$SRC/" replaced; NULL when there are none or too many. */
static char **fuzz_cli_words(const uint8_t *data, size_t size, const char *srcdir, int *argc)
{
    size_t n = 1;
    for (size_t i = 0; i < size; i++)
        n += data[i] == 0;
    if (size == 0 || n > FUZZ_CLI_MAX_WORDS)
        return NULL;
    char **argv = calloc(n + 1, sizeof *argv);
    size_t k = 0, start = 0;
    for (size_t i = 0; argv && i <= size; i++) {
        if (i < size && data[i] != 0)
            continue;
        const size_t len = i - start, pre = len >= 5 && !memcmp(data + start, "$SRC/", 5) ? strlen(srcdir) : 0;
        char *w = malloc(len + pre + 1);
        if (!w)
            abort();
        if (pre) {
            memcpy(w, srcdir, pre);
            memcpy(w + pre, data + start + 4, len - 4);
            w[pre + len - 4] = '\0';
        } else {
            memcpy(w, data + start, len);
            w[len] = '\0';
        }
        argv[k++] = w;
        start = i + 1;
    }
    *argc = (int)k;
    return argv;
}

/* 1 when the word, its value after '=' or after a short flag names something that is not a regular file or a
 * directory, or is under /dev, /proc or /sys. */
static int fuzz_cli_special(const char *w)
{
    const char *eq = strchr(w, '=');
    const char *cand[3] = {w, eq ? eq + 1 : NULL, w[0] == '-' && w[1] && w[1] != '-' ? w + 2 : NULL};
    for (int i = 0; i < 3; i++) {
        struct stat sb;
        char real[PATH_MAX];
        if (!cand[i] || !cand[i][0] || stat(cand[i], &sb) != 0)
            continue;
        if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
            return 1;
        if (realpath(cand[i], real) &&
            (!strncmp(real, "/dev/", 5) || !strncmp(real, "/proc/", 6) || !strncmp(real, "/sys/", 5)))
            return 1;
    }
    return 0;
}

static void fuzz_cli_free_words(char **argv)
{
    for (char **w = argv; w && *w; w++)
        free(*w);
    free(argv);
}

/* The command line as one printable line, for a report. */
static void fuzz_cli_show(int argc, char **argv, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc && k + 8 < n; i++) {
        if (i)
            buf[k++] = ' ';
        buf[k++] = '\'';
        for (const unsigned char *p = (const unsigned char *)argv[i]; *p && k + 8 < n; p++)
            if (*p >= 0x20 && *p < 0x7f && *p != '\'' && *p != '\\')
                buf[k++] = (char)*p;
            else
                k += (size_t)snprintf(buf + k, n - k, "\\x%02x", *p);
        buf[k++] = '\'';
    }
    buf[k < n ? k : n - 1] = '\0';
}

/* What --print-plan printed must read back as a plan. */
static int fuzz_cli_plan_reads(const char *json, size_t n)
{
    vxt_plan *plan = NULL;
    int ok = vxt_plan_create(&plan) == VXT_OK && vxt_plan_load_json(plan, json, n, "printed") == VXT_OK;
    vxt_plan_destroy(plan);
    return ok;
}

static int fuzz_cli_printed_plans(const char *cmd, const char *out)
{
    if (strcmp(cmd, "validate") != 0)
        return fuzz_cli_plan_reads(out, strlen(out));
    cJSON *j = cJSON_Parse(out);
    int ok = cJSON_IsObject(j) && cJSON_GetObjectItemCaseSensitive(j, "a") != NULL;
    for (const cJSON *side = j ? j->child : NULL; ok && side; side = side->next) {
        char *text = cJSON_PrintUnformatted(side);
        ok = text && (!strcmp(side->string, "a") || !strcmp(side->string, "b")) &&
             fuzz_cli_plan_reads(text, strlen(text));
        cJSON_free(text);
    }
    cJSON_Delete(j);
    return ok;
}

/* Run one input and check the invariants (abort when one is broken): its exit status, and what it printed on stderr
 * into message (when not NULL). -1 when the input is skipped (it names no command, or a file that is not a regular
 * file or a directory). */
static int fuzz_cli_one(const uint8_t *data, size_t size, const char *srcdir, char *message, size_t message_n)
{
    int argc = 0;
    char **argv = fuzz_cli_words(data, size, srcdir, &argc);
    const cli_command *c = NULL;
    for (size_t i = 0; argv && i < sizeof fuzz_cli_commands / sizeof fuzz_cli_commands[0]; i++)
        if (!strcmp(argv[0], fuzz_cli_commands[i].name))
            c = fuzz_cli_commands[i].cmd;
    for (int i = 1; c && i < argc; i++)
        if (fuzz_cli_special(argv[i]))
            c = NULL;
    if (!c) {
        fuzz_cli_free_words(argv);
        return -1;
    }
    char *out = NULL, *err = NULL, shown[4096];
    size_t out_n = 0, err_n = 0;
    FILE *real_out = stdout, *real_err = stderr, *mout = open_memstream(&out, &out_n),
         *merr = open_memstream(&err, &err_n);
    if (!mout || !merr)
        abort();
    const int objects = fuzz_cli_objects();
    stdout = mout;
    stderr = merr;
    const int rc = cli_parse_only(c, argc, argv);
    stdout = real_out;
    stderr = real_err;
    fclose(mout);
    fclose(merr);
    fuzz_cli_show(argc, argv, shown, sizeof shown);

    if (fuzz_cli_objects() != objects)
        fuzz_cli_fail("a shared library was loaded while parsing", shown, NULL);
    if (rc != VXT_EXIT_OK && rc != VXT_EXIT_INTERNAL && rc != VXT_EXIT_USAGE && rc != VXT_EXIT_INPUT &&
        rc != VXT_EXIT_OUTPUT && rc != VXT_EXIT_PLAN && rc != VXT_EXIT_MEMORY)
        fuzz_cli_fail("an exit status that parsing does not give", shown, err);
    if (rc == VXT_EXIT_OK && err_n != 0)
        fuzz_cli_fail("a message without a refusal", shown, err);
    if (rc != VXT_EXIT_OK) {
        char prefix[64];
        const size_t np = (size_t)snprintf(prefix, sizeof prefix, "voxtile %s: ", argv[0]);
        if (err_n <= np || strncmp(err, prefix, np) != 0 || err[err_n - 1] != '\n')
            fuzz_cli_fail("a refusal that is not one line \"voxtile CMD: message\"", shown, err);
        for (size_t i = 0; i + 1 < err_n; i++)
            if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] >= 0x7f)
                fuzz_cli_fail("a refusal that is not one line of printable ASCII", shown, err);
    }
    if (rc == VXT_EXIT_OK && out_n > 0 && out[0] == '{' && !fuzz_cli_printed_plans(argv[0], out))
        fuzz_cli_fail("a printed plan that does not read back", shown, out);
    if (message)
        snprintf(message, message_n, "%s", err);
    free(out);
    free(err);
    fuzz_cli_free_words(argv);
    return rc;
}

#endif /* VXT_FUZZ_CLI_H */
