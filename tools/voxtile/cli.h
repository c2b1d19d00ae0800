/* cli.h - shared pieces of the voxtile command-line tool: exit codes, messages, option helpers. */
#ifndef VXT_CLI_H
#define VXT_CLI_H

#include <stdio.h>

#include "voxtile.h"

/* Exit codes, distinct per kind of problem (docs/CLI.md lists them). */
enum {
    VXT_EXIT_OK = 0,
    VXT_EXIT_FAILURE = 1,    /* a library call failed for another reason */
    VXT_EXIT_USAGE = 2,      /* unknown command or flag, missing or malformed argument */
    VXT_EXIT_NO_BACKEND = 3, /* no usable backend/device for what was asked */
    VXT_EXIT_INPUT = 4,      /* input file missing, unreadable or malformed */
    VXT_EXIT_OUTPUT = 5,     /* output cannot be written */
    VXT_EXIT_PLAN = 6,       /* plan missing fields or contradictory */
    VXT_EXIT_PLUGIN = 7,     /* predictor plugin cannot be loaded or failed */
    VXT_EXIT_MISMATCH = 8,   /* validation found differences */
    VXT_EXIT_CANCELLED = 9
};

/* Print "voxtile <cmd>: <message>" on stderr (one line). */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "voxtile <cmd>: <what>: <vxt_last_error()>" and map the status to an exit code. */
int cli_fail_status(const char *cmd, const char *what, vxt_status st);

/* Parse integers/doubles strictly (whole string, range); return 0 on failure. */
int cli_parse_int(const char *s, long lo, long hi, long *out);
int cli_parse_double(const char *s, double *out);

typedef int (*cli_command_fn)(int argc, char **argv);

int cmd_info(int argc, char **argv);
int cmd_header(int argc, char **argv);

#endif
