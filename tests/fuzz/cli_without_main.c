/* cli_without_main.c - the voxtile tool's main.c (its messages, exit statuses and number parsing) without its
 * main(), for the programs that link the tool's code with their own main: the CLI's fuzz target (libFuzzer's main)
 * and the test that replays its inputs. main() is compiled as vxt_cli_main and never called. */
#define main vxt_cli_main
int vxt_cli_main(int argc, char **argv);
#include "main.c"
