/* cli_exit.h - the exit statuses of the voxtile tool: one table for every command (docs/CLI.md, "Exit status",
 * is this table; tests/test_cli_exit.c holds every command and the docs to it). */
#ifndef VXT_CLI_EXIT_H
#define VXT_CLI_EXIT_H

/* X(name, status, word, meaning): one per kind of problem, the same for every command. */
#define VXT_EXIT_MAP(X)                                                                                       \
    X(VXT_EXIT_OK, 0, "ok", "done")                                                                           \
    X(VXT_EXIT_INTERNAL, 1, "internal", "a bug in voxtile, or a failure no other row names")                  \
    X(VXT_EXIT_USAGE, 2, "usage", "unknown command or flag, a missing or malformed argument")                 \
    X(VXT_EXIT_DEVICE, 3, "device", "no usable backend or device for what was asked; an OpenCL build, probe or runtime failure") \
    X(VXT_EXIT_INPUT, 4, "input", "an input file missing, unreadable or malformed, or voxels the pipeline cannot read") \
    X(VXT_EXIT_OUTPUT, 5, "output", "an output cannot be written (nothing was replaced)")                     \
    X(VXT_EXIT_PLAN, 6, "plan", "a plan (file, nnU-Net folder or flags) missing fields or contradictory")     \
    X(VXT_EXIT_MODEL, 7, "model", "a model or plugin cannot be loaded or failed while it ran")            \
    X(VXT_EXIT_MISMATCH, 8, "mismatch", "validation found differences")                                      \
    X(VXT_EXIT_CANCELLED, 9, "cancelled", "interrupted (SIGINT, SIGTERM); nothing was written")               \
    X(VXT_EXIT_MEMORY, 10, "memory", "the work needs more memory than --max-memory or the machine allows")

enum {
#define VXT_EXIT_ENUM_(name, value, word, text) name = value,
    VXT_EXIT_MAP(VXT_EXIT_ENUM_)
#undef VXT_EXIT_ENUM_
};

#endif /* VXT_CLI_EXIT_H */
