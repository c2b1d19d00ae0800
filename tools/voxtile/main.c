/* main.c - `voxtile <command> ...`: the commands, messages and exit statuses. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void cli_error(const char *cmd, const char *fmt, ...)
{
    /* One line of printable ASCII whatever the arguments hold (a file name or a value with a newline, an escape
     * sequence or another encoding's bytes in it; found by fuzz_cli_args): those bytes are shown as \n, \t, \r and
     * \xNN, as the library shows text from files. */
    char msg[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, cmd ? "voxtile %s: " : "voxtile: ", cmd);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p == '\n' || *p == '\t' || *p == '\r')
            fprintf(stderr, "\\%c", *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r');
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(stderr, "\\x%02x", *p);
        else
            fputc(*p, stderr);
    }
    fputc('\n', stderr);
}

int cli_exit_of(vxt_status st)
{
    switch (st) {
    case VXT_OK:
        return VXT_EXIT_OK;
    case VXT_ERR_NO_PLATFORM:
    case VXT_ERR_NO_DEVICE:
    case VXT_ERR_PROBE_MISMATCH:
    case VXT_ERR_BUILD:
    case VXT_ERR_OPENCL:
    case VXT_ERR_UNSUPPORTED: /* what remains once inputs, plans and models are read: a device's limits */
        return VXT_EXIT_DEVICE;
    case VXT_ERR_OUT_OF_MEMORY:
    case VXT_ERR_MEMORY_LIMIT:
        return VXT_EXIT_MEMORY;
    case VXT_ERR_IO:
    case VXT_ERR_FORMAT:
    case VXT_ERR_TRUNCATED:
        return VXT_EXIT_INPUT;
    case VXT_ERR_PREDICTOR:
    case VXT_ERR_NONFINITE:
        return VXT_EXIT_MODEL;
    case VXT_ERR_CANCELLED:
        return VXT_EXIT_CANCELLED;
    case VXT_ERR_INVALID_ARGUMENT:
    case VXT_ERR_SHAPE_MISMATCH:
        return VXT_EXIT_PLAN;
    default:
        return VXT_EXIT_INTERNAL;
    }
}

int cli_fail(const char *cmd, const char *what, vxt_status st)
{
    const char *msg = vxt_last_error();
    cli_error(cmd, "%s: %s", what, msg[0] ? msg : vxt_status_string(st));
    return cli_exit_of(st);
}

int cli_input_fail(const char *cmd, const char *what, vxt_status st)
{
    int rc = cli_fail(cmd, what, st);
    return rc == VXT_EXIT_MEMORY || rc == VXT_EXIT_INTERNAL || rc == VXT_EXIT_CANCELLED ? rc : VXT_EXIT_INPUT;
}

int cli_output_fail(const char *cmd, const char *what, vxt_status st)
{
    int rc = cli_fail(cmd, what, st);
    return rc == VXT_EXIT_MEMORY || rc == VXT_EXIT_INTERNAL || rc == VXT_EXIT_CANCELLED ? rc : VXT_EXIT_OUTPUT;
}

int cli_model_fail(const char *cmd, const char *what, vxt_status st)
{
    int rc = cli_fail(cmd, what, st);
    /* a model that cannot be loaded (missing file, symbol, ABI) or initialised is the plugin's problem; one that
     * does not fit the plan is the plan's */
    return st == VXT_ERR_IO || st == VXT_ERR_UNSUPPORTED || st == VXT_ERR_PREDICTOR || st == VXT_ERR_FORMAT
               ? VXT_EXIT_MODEL
               : rc;
}

int cli_run_fail(const char *cmd, const char *what, vxt_status st, int failed_stage)
{
    int rc = cli_fail(cmd, what, st);
    if (st == VXT_ERR_CANCELLED)
        return VXT_EXIT_CANCELLED;
    /* the input's voxels are what orient and rescale cannot take (a voxel type the preprocessing does not read) */
    if ((failed_stage == VXT_STAGE_ORIENT || failed_stage == VXT_STAGE_RESCALE) &&
        (st == VXT_ERR_UNSUPPORTED || st == VXT_ERR_INVALID_ARGUMENT))
        return VXT_EXIT_INPUT;
    return rc;
}

/* Ctrl-C (SIGINT) and SIGTERM during a run: the run is cancelled at its next batch or stage and the command exits
 * with VXT_EXIT_CANCELLED, leaving no partial output; a second signal ends the process at once. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = 1;
    signal(sig, SIG_DFL);
}

void cli_catch_interrupts(void)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
}

int cli_interrupted(void)
{
    return interrupted != 0;
}

/* A crash while a plan's plugin is loaded (docs/DESIGN.md, "Trust"): plugins run in this process (a child process
 * per plugin would copy every tile across a process boundary), so a plugin that dereferences a bad pointer takes
 * voxtile down with it. This handler says so on stderr before the process dies of the signal as it would have:
 * one line, prepared before the run (the handler only write()s it: async-signal-safe), naming the signal and the
 * plugins loaded. The outputs are not written (they are committed only after the run). */
static char crash_pre[64], crash_post[1200];
static volatile sig_atomic_t crash_pre_len, crash_post_len;

static void on_crash(int sig)
{
    if (crash_post_len > 0) {
        char num[3] = {(char)('0' + sig / 10 % 10), (char)('0' + sig % 10), '\0'};
        ssize_t w = write(2, crash_pre, (size_t)crash_pre_len);
        w = write(2, sig >= 10 ? num : num + 1, sig >= 10 ? 2 : 1);
        w = write(2, crash_post, (size_t)crash_post_len);
        (void)w;
    }
    /* SA_RESETHAND: the default action now; the signal is delivered again on return (a fault) or raised */
    raise(sig);
}

void cli_report_crashes(const char *cmd, const char *plugins)
{
    if (!plugins || !*plugins)
        return;
    int n = snprintf(crash_pre, sizeof crash_pre, "voxtile %s: crashed (signal ", cmd);
    crash_pre_len = n > 0 && (size_t)n < sizeof crash_pre ? n : (sig_atomic_t)sizeof crash_pre - 1;
    n = snprintf(crash_post, sizeof crash_post, ") while %s was loaded (native code voxtile does not check); nothing "
                 "was written\n", plugins);
    crash_post_len = n > 0 && (size_t)n < sizeof crash_post ? n : (sig_atomic_t)sizeof crash_post - 1;
    static char alt[1 << 16];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
    (void)sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sa.sa_flags = (int)(SA_RESETHAND | SA_ONSTACK | SA_NODEFER);
    sigemptyset(&sa.sa_mask);
    const int sigs[5] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    for (int i = 0; i < 5; i++)
        (void)sigaction(sigs[i], &sa, NULL);
}

int cli_parse_int(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s)
        return 0;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

int cli_parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return 0;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

int cli_parse_numbers(const char *s, double *out, int most)
{
    int n = 0;
    for (const char *p = s; p && *p && n < most;) {
        char *end = NULL;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || (*end != ',' && *end != '\0') || (*end == ',' && !end[1]))
            return 0;
        out[n++] = v;
        if (!*end)
            return n;
        p = end + 1;
    }
    return 0; /* empty, or more than `most` */
}

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"run", cmd_run, "segment an image: preprocess, sliding window with a model, labels on the input's grid"},
    {"validate", cmd_validate, "run the pipeline on two backends and compare every stage bit for bit"},
    {"stitch", cmd_stitch, "stitch tile outputs another program produced (.npy) into a volume"},
    {"tiles", cmd_tiles, "the tiles a sliding window visits, as JSON"},
    {"resample", cmd_resample, "resample an image to a new spacing, shape or scale, keeping its geometry"},
    {"normalize", cmd_normalize, "normalize the intensities of an image (window, CT, z-score, ...)"},
    {"patches", cmd_patches, "patches around points of an image: tri-planar 2.5D or 3D boxes, into .npy"},
    {"header", cmd_header, "what a file says about its image (NIfTI, .npy, DICOM series): shape, geometry; --stats, --histogram"},
    {"convert", cmd_convert, "convert an image (a DICOM series, NIfTI, .npy) to .nii, .nii.gz or .npy"},
    {"phantom", cmd_phantom, "write a synthetic CT-like volume and its label map"},
    {"bench", cmd_bench, "standard cases with seconds, voxels/s and the fraction of memory bandwidth"},
    {"info", cmd_info, "version, backends, OpenCL devices and their determinism probe"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: voxtile <command> [options]   (voxtile <command> --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nPer-axis values are Z,Y,X (slowest axis first; for a NIfTI file k,j,i) or one value for every "
               "axis.\nvoxtile %s\n", vxt_version_string());
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return VXT_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return VXT_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("voxtile %s\n", vxt_version_string());
        return VXT_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    cli_error(NULL, "unknown command '%s' (voxtile --help lists them)", argv[1]);
    return VXT_EXIT_USAGE;
}
