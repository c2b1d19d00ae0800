/* fuzz_cli_args.c - libFuzzer target for the voxtile tool's option parsing, every command's: its flags and their
 * values, the shared groups (execution, plan), the plan built from plan files, an nnU-Net folder and flags, and the
 * checks a command makes of its arguments before its work -- never the work (cli_parse_only, tools/voxtile/cli.h).
 * An input is a command line, words separated by NUL bytes; the invariants and the input's form: fuzz_cli.h.
 * Seeds: tests/fuzz/corpus/fuzz_cli_args (command lines of the tests and docs/CLI.md), with every flag of every
 * command in tests/fuzz/cli.dict; tests/test_cli_args.c replays the inputs kept in tests/fuzz/regressions-cli. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_cli_one(data, size, VXT_SOURCE_DIR, NULL, 0);
    return 0;
}
