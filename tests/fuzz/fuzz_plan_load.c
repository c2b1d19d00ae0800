/* fuzz_plan_load.c - libFuzzer target for the plan loader (runtime/pipeline/plan_read.c): any bytes as a plan
 * document, laid over the defaults with vxt_plan_load_json.
 *
 * A refusal must come with a message on one line of printable ASCII. A document that loads is then checked
 * (vxt_plan_check: refused or not, never a crash), written back (vxt_plan_to_json) and loaded again into a fresh
 * plan, whose own JSON must be the same text: what the loader accepts, the writer writes, and the loader reads back
 * to the same plan (a mismatch aborts, so libFuzzer reports it like a crash). Seeds: tools/plans, the plans of
 * tests/data and tests/fuzz/corpus/fuzz_plan_load, inputs the fuzzer found (run-fuzz.sh). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_plan_check.h"
#include "voxtile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET "fuzz_plan_load"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vxt_plan *plan = NULL;
    fuzz_check(TARGET, vxt_plan_create(&plan) == VXT_OK, "vxt_plan_create");
    if (vxt_plan_load_json(plan, (const char *)data, size, "fuzz") != VXT_OK) {
        fuzz_one_line(TARGET, vxt_last_error());
        vxt_plan_destroy(plan);
        return 0;
    }
    if (vxt_plan_check(plan) != VXT_OK)
        fuzz_one_line(TARGET, vxt_last_error());
    fuzz_plan_round_trip(TARGET, plan);
    vxt_plan_destroy(plan);
    return 0;
}
