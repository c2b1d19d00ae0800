/* fuzz_plan_check.h - what the plan fuzz targets (fuzz_plan_load.c, fuzz_nnunet_load.c) require of every input: a
 * refusal is one printable line; a plan that loaded is written back (vxt_plan_to_json) and reads again as the same
 * plan. A broken invariant aborts, so libFuzzer reports it like a crash. */
#ifndef VXT_FUZZ_PLAN_CHECK_H
#define VXT_FUZZ_PLAN_CHECK_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voxtile.h"

static inline void fuzz_check(const char *target, int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "%s: invariant broken: %s (%s)\n", target, what, vxt_last_error());
        abort();
    }
}

/* The message of a refusal: not empty, one line of printable ASCII. */
static inline void fuzz_one_line(const char *target, const char *msg)
{
    fuzz_check(target, msg[0] != '\0', "a refusal without a message");
    for (const char *p = msg; *p; p++)
        fuzz_check(target, *p >= 0x20 && *p < 0x7f, "a message that is not one line of printable ASCII");
}

/* What loaded is written, read back into a fresh plan, and written again: the same text. */
static inline void fuzz_plan_round_trip(const char *target, const vxt_plan *plan)
{
    char *text = NULL, *text2 = NULL;
    vxt_plan *again = NULL;
    fuzz_check(target, vxt_plan_to_json(plan, &text) == VXT_OK, "vxt_plan_to_json of a plan that loaded");
    fuzz_check(target, vxt_plan_create(&again) == VXT_OK, "vxt_plan_create");
    fuzz_check(target, vxt_plan_load_json(again, text, strlen(text), "written") == VXT_OK,
               "reading back what was written");
    fuzz_check(target, vxt_plan_to_json(again, &text2) == VXT_OK, "vxt_plan_to_json, second time");
    fuzz_check(target, strcmp(text, text2) == 0, "the plan written back reads as another plan");
    vxt_buffer_free(text);
    vxt_buffer_free(text2);
    vxt_plan_destroy(again);
}

#endif /* VXT_FUZZ_PLAN_CHECK_H */
