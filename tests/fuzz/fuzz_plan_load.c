/* fuzz_plan_load.c - libFuzzer target for the plan loader (runtime/pipeline/plan_read.c): any bytes as a plan
 * document, laid over the defaults with vxt_plan_load_json.
 *
 * A refusal must come with a message on one line of printable ASCII. A document that loads is then checked
 * (vxt_plan_check: refused or not, never a crash), written back (vxt_plan_to_json) and loaded again into a fresh
 * plan, whose own JSON must be the same text: what the loader accepts, the writer writes, and the loader reads back
 * to the same plan (a mismatch aborts, so libFuzzer reports it like a crash). Seeds: tools/plans and the plans of
 * tests/data (run-fuzz.sh). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voxtile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_plan_load: invariant broken: %s (%s)\n", what, vxt_last_error());
        abort();
    }
}

static void one_line(const char *msg)
{
    check(msg[0] != '\0', "a refusal without a message");
    for (const char *p = msg; *p; p++)
        check(*p >= 0x20 && *p < 0x7f, "a message that is not one line of printable ASCII");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vxt_plan *plan = NULL;
    check(vxt_plan_create(&plan) == VXT_OK, "vxt_plan_create");
    if (vxt_plan_load_json(plan, (const char *)data, size, "fuzz") != VXT_OK) {
        one_line(vxt_last_error());
        vxt_plan_destroy(plan);
        return 0;
    }
    if (vxt_plan_check(plan) != VXT_OK)
        one_line(vxt_last_error());
    char *text = NULL;
    check(vxt_plan_to_json(plan, &text) == VXT_OK, "vxt_plan_to_json of a plan that loaded");
    vxt_plan *again = NULL;
    check(vxt_plan_create(&again) == VXT_OK, "vxt_plan_create");
    check(vxt_plan_load_json(again, text, strlen(text), "written") == VXT_OK, "reading back what was written");
    char *text2 = NULL;
    check(vxt_plan_to_json(again, &text2) == VXT_OK, "vxt_plan_to_json, second time");
    check(strcmp(text, text2) == 0, "the plan written back reads as another plan");
    vxt_buffer_free(text);
    vxt_buffer_free(text2);
    vxt_plan_destroy(again);
    vxt_plan_destroy(plan);
    return 0;
}
